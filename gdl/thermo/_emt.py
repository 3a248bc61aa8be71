"""ASE calculators as gdl ``Potential``s: ``ASEPotential`` (any calculator) and ``EMTPotential`` (ASE's EMT).

Units are ASE's: positions in Å, energies in eV, forces in eV/Å, masses in amu, and time in
ASE's unit Å·√(amu/eV) ≈ 10.18 fs (``ase.units.fs`` = 0.0982 of it). A temperature enters the
samplers as kT in eV: :func:`kelvin_to_kT` (k_B = 8.6173 × 10⁻⁵ eV/K, CODATA 2014 as ASE).

Replicas. ``energy(x)`` and ``energy_and_forces(x)`` take positions [R, N, 3] (or [N, 3]) and loop
over the R replicas, one ``Atoms`` + calculator per replica (kept between calls, so a calculator's
neighbour-list cache follows its own replica). ASE computes forces itself; the energy is still
differentiable once by autograd (``energy(x).sum().backward()`` gives −F in ``x.grad``) through a
small autograd ``Function``, so the ASE energy composes with analytic terms. It is not
differentiable twice (ASE gives no Hessian): use it to sample and to label, not inside a loss.

Symmetry: the EMT energy is E(3)-invariant and permutation-invariant among equal elements; its
forces are E(3)-equivariant vectors (exact up to ASE's float64 rounding, ~1e-14 relative).
"""
from __future__ import annotations

from typing import Callable, List, Sequence, Union

import torch

from gdl.thermo._potential import Potential

__all__ = ["ASEPotential", "EMTPotential", "kelvin_to_kT", "kT_to_kelvin", "EMT_ELEMENTS"]

# Elements with parameters in ase.calculators.emt (the metals of Jacobsen et al. 1996, plus H, C, N, O
# fitted for adsorbates only); kept in sync with ase by tests/thermo/test_emt.py.
EMT_ELEMENTS = ("Ag", "Al", "Au", "C", "Cu", "H", "N", "Ni", "O", "Pd", "Pt")

_COINCIDENT = 1e-6  # Å: closer than this, two atoms are "at the same point"


def kelvin_to_kT(kelvin: float) -> float:
    """kT in eV for a temperature in kelvin (k_B = ``ase.units.kB`` = 8.6173 × 10⁻⁵ eV/K, CODATA 2014 as ASE); T must be > 0."""
    from ase.units import kB

    if isinstance(kelvin, bool) or not isinstance(kelvin, (int, float)) or not kelvin > 0 or kelvin == float("inf"):
        raise ValueError(f"temperature must be a finite number of kelvin > 0, got {kelvin!r}")
    return float(kelvin) * kB


def kT_to_kelvin(kT: float) -> float:
    """The temperature in kelvin of kT in eV (inverse of :func:`kelvin_to_kT`)."""
    from ase.units import kB

    if isinstance(kT, bool) or not isinstance(kT, (int, float)) or not kT > 0 or kT == float("inf"):
        raise ValueError(f"kT must be a finite energy > 0 (eV), got {kT!r}")
    return float(kT) / kB


class _ASEEnergy(torch.autograd.Function):
    """E(x) from ASE with ∂E/∂x = −F (saved from the same call): differentiable once."""

    @staticmethod
    def forward(ctx, x, potential):
        energy, forces = potential._evaluate(x.detach())
        ctx.save_for_backward(forces)
        return energy

    @staticmethod
    def backward(ctx, grad_energy):
        (forces,) = ctx.saved_tensors
        return -grad_energy.reshape(-1, *([1] * (forces.dim() - 1))) * forces, None


class ASEPotential(Potential):
    """Any ASE calculator as a gdl ``Potential`` over positions [R, N, 3] (Å → eV, eV/Å).

    Args:
        calculator_factory: a callable returning a fresh calculator (e.g. ``ase.calculators.emt.EMT``);
            called once per replica.
        atoms: an ``ase.Atoms`` giving the atomic numbers, cell and pbc (its positions and any attached
            calculator are ignored).
    """

    def __init__(self, calculator_factory: Callable, atoms):
        super().__init__()
        from ase import Atoms

        if not callable(calculator_factory):
            raise TypeError(f"calculator_factory must be a callable returning an ASE calculator, got {calculator_factory!r}")
        if not isinstance(atoms, Atoms):
            raise TypeError(f"atoms must be an ase.Atoms, got {type(atoms).__name__}")
        if len(atoms) == 0:
            raise ValueError("atoms must hold at least one atom")
        self.calculator_factory = calculator_factory
        self.template = Atoms(numbers=atoms.get_atomic_numbers(), positions=atoms.get_positions(),
                              cell=atoms.get_cell(), pbc=atoms.get_pbc())
        self._replicas: List = []

    dim = 3

    @property
    def num_atoms(self) -> int:
        return len(self.template)

    @property
    def symbols(self) -> str:
        return self.template.get_chemical_formula(mode="reduce") if len(self.template) else ""

    @property
    def masses(self) -> torch.Tensor:
        """Atomic masses [N] in amu (ASE's defaults), float64: the ``masses`` of the BAOAB sampler."""
        return torch.as_tensor(self.template.get_masses(), dtype=torch.float64)

    @property
    def atomic_numbers(self) -> torch.Tensor:
        return torch.as_tensor(self.template.get_atomic_numbers(), dtype=torch.long)

    def _replica(self, r: int):
        while len(self._replicas) <= r:
            atoms = self.template.copy()
            atoms.calc = self.calculator_factory()
            self._replicas.append(atoms)
        return self._replicas[r]

    def _read(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            raise TypeError(f"{type(self).__name__}: expected a floating-point tensor of positions [R, N, 3] (Å), "
                            f"got {type(x).__name__ if not isinstance(x, torch.Tensor) else x.dtype}")
        n = self.num_atoms
        if x.dim() not in (2, 3) or tuple(x.shape[-2:]) != (n, 3):
            raise ValueError(f"{type(self).__name__} ({self.symbols}): expected positions of shape [R, {n}, 3] or "
                             f"[{n}, 3], got {list(x.shape)}")
        if not torch.isfinite(x).all():
            raise ValueError(f"{type(self).__name__}: positions hold NaN or inf (did the integration blow up? lower dt)")
        return x

    def _check_separated(self, x: torch.Tensor) -> None:
        if self.num_atoms < 2:
            return
        diff = x[:, :, None, :] - x[:, None, :, :]
        dist2 = (diff * diff).sum(-1)
        dist2 = dist2 + torch.eye(self.num_atoms, dtype=dist2.dtype, device=dist2.device) * 1e30
        closest = dist2.flatten(1).min(1)
        if bool((closest.values < _COINCIDENT**2).any()):
            r = int((closest.values < _COINCIDENT**2).nonzero()[0])
            i, j = divmod(int(closest.indices[r]), self.num_atoms)
            raise ValueError(f"{type(self).__name__}: atoms {i} and {j} of replica {r} are at the same point "
                             f"(distance {float(closest.values[r]) ** 0.5:.3g} Å < {_COINCIDENT:g} Å); the energy is "
                             "not defined there")

    def _evaluate(self, x: torch.Tensor):
        """(E [R], F [R, N, 3]) in x's dtype and device, from one ASE call per replica."""
        squeeze = x.dim() == 2
        x3 = x.unsqueeze(0) if squeeze else x
        self._check_separated(x3)
        positions = x3.detach().to("cpu", torch.float64).numpy()
        energies, forces = [], []
        for r in range(x3.shape[0]):
            atoms = self._replica(r)
            atoms.set_positions(positions[r])
            energies.append(float(atoms.get_potential_energy()))
            forces.append(torch.as_tensor(atoms.get_forces(), dtype=torch.float64))
        energy = torch.tensor(energies, dtype=torch.float64).to(x.device, x.dtype)
        force = torch.stack(forces).to(x.device, x.dtype)
        return (energy[0], force[0]) if squeeze else (energy, force)

    def energy(self, x: torch.Tensor) -> torch.Tensor:
        """E [R] (eV) of positions [R, N, 3] (Å); differentiable once (the gradient is −F from the same call)."""
        x = self._read(x)
        if torch.is_grad_enabled() and x.requires_grad:
            return _ASEEnergy.apply(x, self)
        return self._evaluate(x)[0]

    def energy_and_forces(self, x: torch.Tensor, create_graph: bool = False):
        """(E [R] in eV, F [R, N, 3] in eV/Å) from the calculator (no autograd: ASE computes F itself).

        ``create_graph=True`` (forces to be differentiated again, as in a force loss) is refused: ASE's
        forces carry no derivative."""
        if create_graph:
            raise ValueError(f"{type(self).__name__}: ASE's forces cannot be differentiated (create_graph=True); "
                             "train a gdl EnergyModel on its labels instead")
        return self._evaluate(self._read(x))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.energy(x)

    def __repr__(self) -> str:
        name = getattr(self.calculator_factory, "__name__", repr(self.calculator_factory))
        return f"{type(self).__name__}({name}, {self.symbols})"


class EMTPotential(ASEPotential):
    """ASE's effective-medium-theory potential (``ase.calculators.emt.EMT``) for the atoms ``symbols``.

    Args:
        symbols: a chemical formula (``"Cu13"``, ``"Cu12Au"``), a list of symbols, or an ``ase.Atoms``
            (its numbers, cell and pbc are used). Every element must have EMT parameters
            (:data:`EMT_ELEMENTS`: Ag, Al, Au, Cu, Ni, Pd, Pt and, for adsorbates, H, C, N, O); any other
            element raises a ``ValueError`` naming it and the supported ones.

    EMT (Jacobsen, Stoltze & Nørskov 1996, Surf. Sci. 366, 394) is a many-body potential for fcc metals;
    its energy is relative to the perfect fcc crystal (so a cluster has E > 0 and an isolated atom
    E = its cohesive energy). Forces come from ASE analytically (float64).
    """

    def __init__(self, symbols: Union[str, Sequence[str], "object"]):
        from ase import Atoms
        from ase.calculators.emt import EMT, parameters

        if isinstance(symbols, Atoms):
            atoms = symbols
        else:
            try:
                atoms = Atoms(symbols)
            except (KeyError, ValueError) as exc:
                raise ValueError(f"EMTPotential: cannot read chemical symbols {symbols!r} ({exc})") from None
        unknown = sorted(set(atoms.get_chemical_symbols()) - set(parameters))
        if unknown:
            raise ValueError(f"EMTPotential: ASE's EMT has no parameters for {', '.join(unknown)} (in {symbols!r}); "
                             f"supported elements: {', '.join(sorted(parameters))}")
        super().__init__(EMT, atoms)
