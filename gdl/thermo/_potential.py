r"""Potentials: energies of replicated configurations x [R, N, d] ↦ E [R], forces F = −∇ₓE.

Units are reduced throughout gdl.thermo: energies in ε, lengths in σ, k_B = 1, so a temperature is
given as ``kT`` in energy units. Every potential here is a smooth function of the pairwise
*squared* distances ‖x_i − x_j‖² (never ``torch.cdist``, which has no double backward, and never a
bare ``‖·‖`` at zero, whose gradient is NaN), so energies are twice differentiable by autograd and
E(d)-invariant: E(xQᵀ + t) = E(x) for every orthogonal Q and translation t, and forces rotate with
the configuration, F(xQᵀ + t) = F(x)Qᵀ (exact up to rounding).
"""
from __future__ import annotations

from typing import Callable, Optional, Tuple

import torch


def check_configurations(x, where: str) -> None:
    """Raise a clear error unless ``x`` is a finite floating tensor [R, N, d] (R replicas of N points)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{where}: expected positions as a tensor [R, N, d], got {type(x).__name__}")
    if x.dim() != 3:
        raise ValueError(f"{where}: expected positions of shape [R, N, d] (replicas, atoms, dimension), "
                         f"got shape {list(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"{where}: expected floating-point positions, got dtype {x.dtype}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{where}: the positions contain NaN or inf")


def pair_indices(num_atoms: int, device=None) -> Tuple[torch.Tensor, torch.Tensor]:
    """(i, j) of every unordered pair i < j: two int64 tensors of length N(N − 1)/2."""
    i, j = torch.triu_indices(num_atoms, num_atoms, offset=1, device=device)
    return i, j


def squared_pair_distances(x: torch.Tensor, i: torch.Tensor, j: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Differences x_i − x_j [R, P, d] and squared distances [R, P] of the pairs (i, j)."""
    diff = x.index_select(1, i) - x.index_select(1, j)
    return diff, (diff * diff).sum(-1)


def safe_distance(r2: torch.Tensor) -> torch.Tensor:
    """√r² with a zero (not NaN) gradient at r² = 0 (the double-``where`` form), twice
    differentiable wherever r² > 0."""
    positive = r2 > 0
    return torch.where(positive, torch.where(positive, r2, torch.ones_like(r2)).sqrt(), torch.zeros_like(r2))


class Potential:
    r"""An energy over replicated configurations: ``energy(x[R, N, d]) -> E[R]``.

    ``energy_and_forces(x) -> (E[R], F[R, N, d])`` defaults to F = −∇ₓE by autograd
    (``create_graph=True`` keeps the graph for a second derivative); subclasses may compute forces
    directly (the Lennard-Jones forces are analytic; ASE calculators return theirs). Samplers
    call only these two methods, so any energy — analytic, an ``EnergyModel`` through
    ``EnergyModel.as_potential``, an ASE calculator — drives every sampler.
    """

    #: dimension d of the points, or ``None`` when any d is accepted
    dim: Optional[int] = None

    def energy(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement energy(x[R, N, d]) -> [R]")

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.energy(x)

    def energy_and_forces(self, x: torch.Tensor, create_graph: bool = False) -> Tuple[torch.Tensor, torch.Tensor]:
        """(E [R], F = −∇ₓE [R, N, d]) by autograd; detached unless ``create_graph``."""
        with torch.enable_grad():
            leaf = x if (x.requires_grad and create_graph) else x.detach().requires_grad_(True)
            energy = self.energy(leaf)
            self._check_energy(energy, x)
            (grad,) = torch.autograd.grad(energy.sum(), leaf, create_graph=create_graph)
        if create_graph:
            return energy, -grad
        return energy.detach(), -grad.detach()

    def forces(self, x: torch.Tensor, create_graph: bool = False) -> torch.Tensor:
        """F = −∇ₓE [R, N, d]."""
        return self.energy_and_forces(x, create_graph=create_graph)[1]

    def _check_input(self, x) -> None:
        check_configurations(x, type(self).__name__)
        if self.dim is not None and x.shape[-1] != self.dim:
            raise ValueError(f"{type(self).__name__}: expected points in {self.dim} dimensions (x[..., {self.dim}]), "
                             f"got x of shape {list(x.shape)}")

    def _check_energy(self, energy, x) -> None:
        if not isinstance(energy, torch.Tensor) or energy.shape != x.shape[:1]:
            shape = list(energy.shape) if isinstance(energy, torch.Tensor) else type(energy).__name__
            raise ValueError(f"{type(self).__name__}.energy must return one energy per replica, shape [{x.shape[0]}]; "
                             f"got {shape}")


class AutogradPotential(Potential):
    r"""A potential from a function ``fn(x[R, N, d]) -> E[R]``; forces by autograd.

    >>> double_well = AutogradPotential(lambda x: ((x[..., 0] ** 2 - 1) ** 2 + 0.5 * x[..., 1] ** 2).sum(-1))
    """

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor], name: Optional[str] = None, dim: Optional[int] = None):
        if not callable(fn):
            raise TypeError(f"AutogradPotential: expected a callable fn(x[R, N, d]) -> E[R], got {type(fn).__name__}")
        self.fn, self.name, self.dim = fn, name or getattr(fn, "__name__", "fn"), dim

    def energy(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        energy = self.fn(x)
        self._check_energy(energy, x)
        return energy

    def __repr__(self) -> str:
        return f"AutogradPotential({self.name})"


class HarmonicBond(Potential):
    r"""Harmonic bonds E = Σ_(i,j)∈pairs ½ k (r_ij − r₀)², r_ij = ‖x_i − x_j‖.

    ``k``, ``r0``: numbers or tensors with one value per pair; ``pairs``: int [P, 2] (atom indices).
    r_ij uses ``safe_distance`` (a zero, finite gradient at coincident atoms). Boltzmann density of
    one bond's separation in d dimensions: p(r) ∝ r^(d−1) exp(−k (r − r₀)² / (2 kT)).
    """

    def __init__(self, k, r0, pairs):
        pairs = torch.as_tensor(pairs, dtype=torch.long)
        if pairs.dim() != 2 or pairs.shape[1] != 2:
            raise ValueError(f"HarmonicBond: expected pairs of shape [P, 2] (atom indices), got {list(pairs.shape)}")
        if bool((pairs[:, 0] == pairs[:, 1]).any()):
            raise ValueError("HarmonicBond: a bond joins an atom to itself (pairs with i == j)")
        self.pairs = pairs
        self.k = torch.as_tensor(k, dtype=torch.float64)
        self.r0 = torch.as_tensor(r0, dtype=torch.float64)
        if bool((self.k <= 0).any()):
            raise ValueError(f"HarmonicBond: the force constant k must be positive, got {k}")
        if bool((self.r0 < 0).any()):
            raise ValueError(f"HarmonicBond: the rest length r0 must be non-negative, got {r0}")

    def energy(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        if self.pairs.numel() and int(self.pairs.max()) >= x.shape[1]:
            raise ValueError(f"HarmonicBond: a bond names atom {int(self.pairs.max())}, but x has {x.shape[1]} atoms")
        pairs = self.pairs.to(x.device)
        _, r2 = squared_pair_distances(x, pairs[:, 0], pairs[:, 1])
        k, r0 = self.k.to(x), self.r0.to(x)
        return (0.5 * k * (safe_distance(r2) - r0) ** 2).sum(-1)

    def __repr__(self) -> str:
        return f"HarmonicBond(k={self.k.tolist()}, r0={self.r0.tolist()}, pairs={self.pairs.shape[0]})"
