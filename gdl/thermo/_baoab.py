r"""Underdamped Langevin dynamics by the BAOAB splitting (Leimkuhler & Matthews, 2013).

    dx = M⁻¹ p dt,   dp = F(x) dt − γ p dt + √(2 γ kT) M^{1/2} dW,   F = −∇E

One step of length dt (one force evaluation, the last force carried over)::

    B: p ← p + (dt/2) F(x)           A: x ← x + (dt/2) M⁻¹ p
    O: p ← c₁ p + √((1 − c₁²) kT M) ξ,   c₁ = exp(−γ dt)
    A: x ← x + (dt/2) M⁻¹ p          B: p ← p + (dt/2) F(x)

The stationary density is close to exp(−(E(x) + ½ pᵀM⁻¹p)/kT): the configurational averages of
BAOAB are accurate to O(dt²) with a small constant (exact for a harmonic potential as γ → ∞), and
the O step alone samples the Maxwell–Boltzmann momenta exactly. Equipartition: ⟨½ pᵀM⁻¹p⟩ =
(d/2) N kT. Symmetry: every sub-step commutes with x ↦ xQᵀ + t, p ↦ pQᵀ when E is E(d)-invariant
and ξ is rotated alike, so a rotated start with rotated noise gives the rotated trajectory.
``baoab_step`` acts on tensors of any shape with a leading replica axis.
"""
from __future__ import annotations

import math
from typing import NamedTuple, Optional

import torch

from gdl.thermo._sampling import (
    BlowUpGuard,
    NoiseTransform,
    Recorder,
    Trajectory,
    check_positive,
    check_start,
    check_steps,
    check_temperature,
    per_replica,
    replica_vector,
    standard_normal,
)


class LangevinState(NamedTuple):
    x: torch.Tensor  # positions [R, N, d]
    p: torch.Tensor  # momenta [R, N, d]
    energy: torch.Tensor  # potential energy [R]
    force: torch.Tensor  # −∇E [R, N, d]


def check_masses(masses, num_atoms: int, x: torch.Tensor) -> torch.Tensor:
    """Masses as a tensor broadcasting against x [R, N, d]: 1 (``None``), a number, or one per atom [N]."""
    if masses is None:
        return torch.ones((), dtype=x.dtype, device=x.device)
    m = torch.as_tensor(masses, dtype=x.dtype, device=x.device)
    if m.dim() > 1 or (m.dim() == 1 and m.shape[0] != num_atoms):
        raise ValueError(f"masses: expected a number or one mass per atom [{num_atoms}], got shape {list(m.shape)}")
    if not bool((m > 0).all()) or not bool(torch.isfinite(m).all()):
        raise ValueError(f"masses must be positive and finite, got {masses!r}")
    return m if m.dim() == 0 else m.view(1, -1, 1)


def kinetic_energy(p: torch.Tensor, masses: torch.Tensor) -> torch.Tensor:
    """½ Σ p²/m per replica [R]."""
    return 0.5 * (p * p / masses).reshape(p.shape[0], -1).sum(-1)


def maxwell_boltzmann(x: torch.Tensor, kT: torch.Tensor, masses: torch.Tensor, generator, noise: NoiseTransform):
    """Momenta p ~ N(0, kT M) shaped like x."""
    return torch.sqrt(kT * masses) * standard_normal(x, generator, noise)


def baoab_step(state: LangevinState, potential, kT: torch.Tensor, dt: float, friction: float, masses: torch.Tensor,
               generator: Optional[torch.Generator] = None, noise: NoiseTransform = None) -> LangevinState:
    """One BAOAB step (module docstring); ``kT`` broadcasts against x (a number or [R, 1, 1])."""
    c1 = math.exp(-friction * dt)
    half = 0.5 * dt
    p = state.p + half * state.force
    x = state.x + half * p / masses
    p = c1 * p + torch.sqrt((1 - c1 * c1) * kT * masses) * standard_normal(x, generator, noise)
    x = x + half * p / masses
    energy, force = potential.energy_and_forces(x)
    p = p + half * force
    return LangevinState(x, p, energy, force)


class BAOAB:
    r"""Underdamped Langevin sampler at temperature kT by the BAOAB splitting (module docstring).

    Args:
        potential: a ``Potential`` (analytic, ``EnergyModel.as_potential``, ASE).
        kT: temperature in energy units (k_B = 1), a number or one per replica [R]; > 0.
        dt: time step (units σ √(m/ε)). friction: γ (1/time), ≥ 0 (0: velocity Verlet, NVE).
        masses: ``None`` (1), a number, or one per atom [N].

    ``run(x0[R, N, d], n_steps, record_every=1, generator=None, v0=None)`` → ``Trajectory`` with
    potential and kinetic energies per frame; momenta start Maxwell–Boltzmann unless ``v0``
    (velocities [R, N, d]) is given. A blow-up (non-finite values, or potential or kinetic energy
    10⁴ · dof · kT above the start) raises ``FloatingPointError`` naming dt.
    """

    def __init__(self, potential, kT, dt: float, friction: float = 1.0, masses=None):
        self.potential = potential
        self.kT = check_temperature(kT)
        self.dt = check_positive(dt, "dt")
        if isinstance(friction, bool) or not isinstance(friction, (int, float)) or not friction >= 0 \
                or friction == float("inf"):
            raise ValueError(f"friction must be a non-negative finite number, got {friction!r}")
        self.friction = float(friction)
        self.masses = masses

    def start(self, x, kT, masses, generator, v0, noise) -> LangevinState:
        energy, force = self.potential.energy_and_forces(x)
        if v0 is None:
            p = maxwell_boltzmann(x, kT, masses, generator, noise)
        else:
            if not isinstance(v0, torch.Tensor) or v0.shape != x.shape:
                raise ValueError(f"v0: expected velocities shaped like x0 {list(x.shape)}, got "
                                 f"{list(v0.shape) if isinstance(v0, torch.Tensor) else type(v0).__name__}")
            p = v0.detach().to(x) * masses
        return LangevinState(x, p, energy, force)

    def run(self, x0: torch.Tensor, n_steps: int, *, record_every: int = 1, generator: Optional[torch.Generator] = None,
            v0: Optional[torch.Tensor] = None, noise: NoiseTransform = None, record_positions: bool = True) -> Trajectory:
        x = check_start(x0, "BAOAB")
        n_steps = check_steps(n_steps)
        masses = check_masses(self.masses, x.shape[1], x)
        kT = per_replica(self.kT, x)
        kT_vec = replica_vector(self.kT, x)
        recorder = Recorder(record_every, n_steps, record_positions)
        state = self.start(x, kT, masses, generator, v0, noise)
        dof = x[0].numel()
        guard = BlowUpGuard("BAOAB", self.dt, state.energy, self.kT, dof)
        kinetic_limit = kinetic_energy(state.p, masses) + 1e4 * dof * kT_vec
        for step in range(1, n_steps + 1):
            state = baoab_step(state, self.potential, kT, self.dt, self.friction, masses, generator, noise)
            kinetic = kinetic_energy(state.p, masses)
            guard.check(step, state.x, state.energy, state.force, kinetic, kinetic_limit)
            if recorder.due(step):
                recorder.add(step, state.x, state.energy, kT_vec, kinetic)
        return recorder.finish(state.x, x.shape[0], final_positions=state.x.detach().clone(),
                               final_velocities=(state.p / masses).detach().clone())

    def __repr__(self) -> str:
        return f"BAOAB(kT={self.kT.tolist()}, dt={self.dt}, friction={self.friction}, potential={self.potential!r})"
