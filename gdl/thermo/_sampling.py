"""What every sampler shares: input checks, the trajectory record, the blow-up guard, noise draws."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

import torch

from gdl.thermo._potential import check_configurations

NoiseTransform = Optional[Callable[[torch.Tensor], torch.Tensor]]


@dataclass
class Trajectory:
    r"""Frames recorded every ``record_every`` steps (after steps record_every, 2·record_every, …).

    Shapes (T frames, R replicas — or the leading replica shape of the input, e.g. [C, K] chains ×
    temperatures for replica exchange — N atoms, d dimensions):

    - ``positions`` [T, R, N, d] (``None`` when run with ``record_positions=False``)
    - ``energies`` [T, R] potential energies; ``kinetic_energies`` [T, R] (``None`` for overdamped)
    - ``kT`` [T, R]: the temperature of each replica at each frame (it changes under annealing)
    - ``steps`` [T]: the step number of each frame
    - ``acceptance`` [R]: Metropolis acceptance rate per replica (MALA; ``None`` otherwise)
    - ``swap_acceptance`` [K − 1]: accepted fraction of swaps between temperatures k and k + 1
      (replica exchange; ``None`` otherwise); ``walkers`` [T, C, K]: which walker sits at each temperature
    - ``final_positions``, ``final_velocities``: the state after the last step (to continue a run)
    """

    positions: Optional[torch.Tensor]
    energies: torch.Tensor
    kT: torch.Tensor
    steps: torch.Tensor
    kinetic_energies: Optional[torch.Tensor] = None
    acceptance: Optional[torch.Tensor] = None
    swap_acceptance: Optional[torch.Tensor] = None
    walkers: Optional[torch.Tensor] = None
    final_positions: Optional[torch.Tensor] = None
    final_velocities: Optional[torch.Tensor] = None
    info: Dict[str, float] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.steps.shape[0])


class Recorder:
    """Collects frames; ``finish`` stacks them into a ``Trajectory``."""

    def __init__(self, record_every: int, n_steps: int, record_positions: bool = True):
        if isinstance(record_every, bool) or not isinstance(record_every, int) or record_every < 1:
            raise ValueError(f"record_every must be a positive integer, got {record_every!r}")
        self.record_every, self.record_positions = record_every, bool(record_positions)
        self.frames: Dict[str, List[torch.Tensor]] = {"positions": [], "energies": [], "kT": [], "kinetic": [],
                                                        "walkers": []}
        self.steps: List[int] = []

    def due(self, step: int) -> bool:
        return step % self.record_every == 0

    def add(self, step, x, energy, kT, kinetic=None, walkers=None):
        self.steps.append(step)
        if self.record_positions:
            self.frames["positions"].append(x.detach().clone())
        self.frames["energies"].append(energy.detach().clone())
        self.frames["kT"].append(kT.detach().clone())
        if kinetic is not None:
            self.frames["kinetic"].append(kinetic.detach().clone())
        if walkers is not None:
            self.frames["walkers"].append(walkers.clone())

    def finish(self, example: torch.Tensor, n_replicas: int, **extra) -> Trajectory:
        def stack(name, shape):
            items = self.frames[name]
            if items:
                return torch.stack(items)
            return example.new_zeros((0,) + tuple(shape))

        positions = stack("positions", example.shape) if self.record_positions else None
        return Trajectory(
            positions=positions,
            energies=stack("energies", example.shape[:-2]),
            kT=stack("kT", example.shape[:-2]),
            steps=torch.tensor(self.steps, dtype=torch.long),
            kinetic_energies=torch.stack(self.frames["kinetic"]) if self.frames["kinetic"] else None,
            walkers=torch.stack(self.frames["walkers"]) if self.frames["walkers"] else None,
            **extra,
        )


def check_temperature(kT, name: str = "kT") -> torch.Tensor:
    """kT as a float64 tensor (a number or one value per replica); every value must be > 0 and finite."""
    value = torch.as_tensor(kT, dtype=torch.float64)
    if value.dim() > 1:
        raise ValueError(f"{name}: expected a number or one temperature per replica [R], got shape {list(value.shape)}")
    if value.numel() == 0 or not bool(torch.isfinite(value).all()) or not bool((value > 0).all()):
        raise ValueError(f"{name} must be a positive temperature in energy units (k_B = 1), got {kT!r}: "
                         f"zero or negative temperatures have no Boltzmann distribution")
    return value


def check_positive(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or value != value or value == float("inf"):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def check_steps(n_steps) -> int:
    if isinstance(n_steps, bool) or not isinstance(n_steps, int) or n_steps < 0:
        raise ValueError(f"n_steps must be a non-negative integer, got {n_steps!r}")
    return n_steps


def per_replica(value: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """A number or a per-replica vector [R] as a tensor broadcasting against x [R, ...]."""
    value = value.to(dtype=x.dtype, device=x.device)
    if value.dim() == 0:
        return value
    if value.shape[0] != x.shape[0]:
        raise ValueError(f"expected one temperature per replica ({x.shape[0]} replicas), got {value.shape[0]} values")
    return value.view(-1, *([1] * (x.dim() - 1)))


def replica_vector(value: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """A number or [R] vector expanded to [R] (for the record)."""
    value = value.to(dtype=x.dtype, device=x.device)
    return value.expand(x.shape[0]) if value.dim() == 0 else value


def check_start(x0, where: str) -> torch.Tensor:
    check_configurations(x0, where)
    return x0.detach().clone()


def standard_normal(x: torch.Tensor, generator: Optional[torch.Generator], transform: NoiseTransform) -> torch.Tensor:
    """ξ ~ N(0, 1) shaped like x, drawn from ``generator``; ``transform(ξ)`` when given (e.g. a
    rotation of the noise, to test that rotating start and noise rotates the trajectory)."""
    xi = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    return xi if transform is None else transform(xi)


def uniform(shape, like: torch.Tensor, generator: Optional[torch.Generator]) -> torch.Tensor:
    return torch.rand(shape, generator=generator, dtype=like.dtype, device=like.device)


class BlowUpGuard:
    r"""Detects an integration that has blown up and raises ``FloatingPointError`` naming dt.

    A step is declared blown up when energies (or, checked every 100 steps, forces) are not finite, or when a
    replica's potential energy exceeds its starting value by more than ``factor`` × (degrees of
    freedom) × kT — at equilibrium the energy fluctuates by about √(dof/2) kT, so such a rise is
    only reached when the step dt is too large for the stiffest part of the landscape.
    """

    def __init__(self, where: str, dt: float, start_energy: torch.Tensor, kT: torch.Tensor, dof: int,
                 factor: float = 1e4):
        self.where, self.dt = where, dt
        scale = kT.max() if kT.dim() else kT
        self.limit = start_energy.detach() + factor * max(dof, 1) * float(scale)

    def check(self, step: int, x, energy, forces=None, kinetic=None, kinetic_limit=None) -> None:
        """One reduction per step: NaN/inf positions or forces give a NaN/inf energy for any sane
        potential, and ``not (E <= limit)`` is true for NaN, inf and a rise past the limit alike."""
        bad = ~(energy <= self.limit)
        if kinetic is not None and kinetic_limit is not None:
            bad |= ~(kinetic <= kinetic_limit)
        if bool(bad.any()) or (forces is not None and step % 100 == 0 and not bool(torch.isfinite(forces).all())):
            if not bool(bad.any()):
                bad = ~torch.isfinite(forces.reshape(forces.shape[0], -1)).all(-1)
            r = int(bad.nonzero()[0])
            what = f"potential energy {float(energy[r]):.4g}, blow-up limit {float(self.limit[r]):.4g}"
            if kinetic is not None:
                what += f", kinetic energy {float(kinetic[r]):.4g}"
            raise FloatingPointError(
                f"{self.where}: the integration blew up at step {step} (replica {r}: {what}): the time step "
                f"dt = {self.dt:g} is too large for this potential and temperature; use a smaller dt "
                f"(e.g. dt = {self.dt / 4:g})")
