r"""Overdamped Langevin dynamics and its Metropolis-adjusted form (MALA).

Itô SDE with unit mobility (time in units of σ²/ε): dx = F(x) dt + √(2 kT) dW, F = −∇E. Its
stationary density is the Boltzmann density p(x) ∝ exp(−E(x)/kT). The Euler–Maruyama step

    x' = x + dt F(x) + √(2 kT dt) ξ,   ξ ~ N(0, I)                                   (ULA)

samples it with an O(dt) bias; MALA removes the bias by accepting x' with probability
min(1, exp(−(E(x') − E(x))/kT) q(x | x') / q(x' | x)), q(y | x) ∝ exp(−‖y − x − dt F(x)‖² / (4 kT dt)).

``overdamped_step`` and ``mala_log_ratio`` act on tensors of any shape (the leading axis is the
replica axis), so the same step serves positions [R, N, d] and network parameters (SGLD).

Symmetry: if E is E(d)-invariant, rotating the start and the noise by Q rotates the whole
trajectory by Q (F is equivariant, the step is linear in x, F and ξ): checked to ≤ 1e-12 in
float64 after 500 steps (tests/thermo/test_langevin.py).
"""
from __future__ import annotations

from typing import Optional

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
    uniform,
)


def overdamped_step(x: torch.Tensor, force: torch.Tensor, kT, dt: float, noise: torch.Tensor) -> torch.Tensor:
    """One Euler–Maruyama step x + dt F + √(2 kT dt) ξ of any tensor (kT a number or broadcastable)."""
    return x + dt * force + torch.sqrt(2 * dt * torch.as_tensor(kT, dtype=x.dtype, device=x.device)) * noise


def mala_log_ratio(x, x_new, energy, energy_new, force, force_new, kT, dt: float) -> torch.Tensor:
    r"""log of the MALA acceptance ratio per replica [R] (sums over every axis but the first):
    −(E' − E)/kT + log q(x | x') − log q(x' | x)."""
    kT = torch.as_tensor(kT, dtype=x.dtype, device=x.device)
    axes = tuple(range(1, x.dim()))
    forward = x_new - x - dt * force
    backward = x - x_new - dt * force_new
    log_q = ((forward * forward).sum(axes) - (backward * backward).sum(axes)) / (4 * dt)
    kT_r = kT if kT.dim() == 0 else kT.reshape(-1)
    return (-(energy_new - energy) + log_q) / kT_r


class OverdampedLangevin:
    r"""Overdamped Langevin sampler (ULA), or MALA with ``metropolis=True``, at temperature kT.

    Args:
        potential: a ``Potential`` (``energy_and_forces(x[R, N, d])``): analytic, an
            ``EnergyModel.as_potential(...)``, an ASE calculator.
        kT: temperature in energy units (k_B = 1), a number or one per replica [R]; must be > 0.
        dt: time step (units σ²/ε with unit mobility). metropolis: MALA accept/reject step.

    ``run(x0[R, N, d], n_steps, record_every=1, generator=None)`` → ``Trajectory`` (``acceptance``
    per replica for MALA). A blown-up integration (non-finite values or an energy rise of more
    than 10⁴ · dof · kT) raises ``FloatingPointError`` naming dt.
    """

    def __init__(self, potential, kT, dt: float, metropolis: bool = False):
        self.potential = potential
        self.kT = check_temperature(kT)
        self.dt = check_positive(dt, "dt")
        self.metropolis = bool(metropolis)

    def run(self, x0: torch.Tensor, n_steps: int, *, record_every: int = 1, generator: Optional[torch.Generator] = None,
            noise: NoiseTransform = None, record_positions: bool = True) -> Trajectory:
        name = "MALA" if self.metropolis else "OverdampedLangevin"
        x = check_start(x0, name)
        n_steps = check_steps(n_steps)
        kT = per_replica(self.kT, x)
        kT_vec = replica_vector(self.kT, x)
        recorder = Recorder(record_every, n_steps, record_positions)
        energy, force = self.potential.energy_and_forces(x)
        guard = BlowUpGuard(name, self.dt, energy, self.kT, x[0].numel())
        accepted = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
        for step in range(1, n_steps + 1):
            x_new = overdamped_step(x, force, kT, self.dt, standard_normal(x, generator, noise))
            energy_new, force_new = self.potential.energy_and_forces(x_new)
            if self.metropolis:
                log_ratio = mala_log_ratio(x, x_new, energy, energy_new, force, force_new, kT_vec, self.dt)
                accept = torch.log(uniform(x.shape[:1], x, generator)) < log_ratio
                accepted += accept.to(x.dtype)
                keep = accept.view(-1, *([1] * (x.dim() - 1)))
                x = torch.where(keep, x_new, x)
                force = torch.where(keep, force_new, force)
                energy = torch.where(accept, energy_new, energy)
                guard.check(step, x, energy)  # a rejected non-finite proposal is not a blow-up
            else:
                guard.check(step, x_new, energy_new, force_new)
                x, energy, force = x_new, energy_new, force_new
            if recorder.due(step):
                recorder.add(step, x, energy, kT_vec)
        acceptance = accepted / max(n_steps, 1) if self.metropolis else None
        return recorder.finish(x, x.shape[0], acceptance=acceptance, final_positions=x.detach().clone())

    def __repr__(self) -> str:
        return (f"OverdampedLangevin(kT={self.kT.tolist()}, dt={self.dt}, metropolis={self.metropolis}, "
                f"potential={self.potential!r})")


