r"""Simulated annealing (BAOAB dynamics with a falling temperature) and a FIRE quench to the nearest minimum.

Annealing: kT(t) goes from ``kT_start`` to ``kT_end`` over the run, geometrically
(kT_s = kT_start (kT_end/kT_start)^{s/n}, the default) or linearly; at each step one BAOAB step
at kT(t). Slow cooling lets replicas settle into the deep funnels of the landscape; ``minimize``
then quenches each replica to its local minimum (the inherent structure).

FIRE (Bitzek et al., Phys. Rev. Lett. 97, 170201 (2006)), vectorised over replicas: MD with
velocity mixing v ← (1 − α) v + α ‖v‖ F̂ while the power P = F·v stays positive, the step
growing to ``dt_max``; on P ≤ 0 the velocities are zeroed and the step halved. A replica stops
when max_i ‖F_i‖ < ``fmax``.
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import torch

from gdl.thermo._baoab import BAOAB, baoab_step, check_masses, kinetic_energy
from gdl.thermo._sampling import (
    BlowUpGuard,
    NoiseTransform,
    Recorder,
    Trajectory,
    check_positive,
    check_start,
    check_steps,
    check_temperature,
)


class Minimum(NamedTuple):
    positions: torch.Tensor  # [R, N, d]
    energies: torch.Tensor  # [R]
    max_force: torch.Tensor  # [R]: max_i ‖F_i‖ at the end
    converged: torch.Tensor  # [R] bool
    steps: int


def minimize(potential, x0: torch.Tensor, fmax: float = 1e-6, max_steps: int = 20000, dt: float = 0.005,
             dt_max: float = 0.05, max_move: float = 0.1) -> Minimum:
    """Quench every replica of x0 [R, N, d] to a local minimum of ``potential`` by FIRE (module
    docstring); no atom moves more than ``max_move`` per step (as ASE's ``maxstep``), so a start
    with overlapping atoms does not explode."""
    x = check_start(x0, "minimize")
    check_positive(fmax, "fmax")
    check_positive(dt, "dt")
    check_positive(dt_max, "dt_max")
    check_positive(max_move, "max_move")
    n_min, f_inc, f_dec, alpha_start, f_alpha = 5, 1.1, 0.5, 0.1, 0.99
    R = x.shape[0]
    v = torch.zeros_like(x)
    step_size = torch.full((R, 1, 1), dt, dtype=x.dtype, device=x.device)
    alpha = torch.full((R, 1, 1), alpha_start, dtype=x.dtype, device=x.device)
    positive_steps = torch.zeros(R, dtype=torch.long, device=x.device)
    energy, force = potential.energy_and_forces(x)
    steps = 0
    for steps in range(1, max_steps + 1):
        f_norm = torch.linalg.vector_norm(force, dim=-1).amax(-1)
        active = f_norm >= fmax
        if not bool(active.any()):
            break
        mask = active.view(R, 1, 1)
        power = (force * v).reshape(R, -1).sum(-1)
        v_norm = torch.linalg.vector_norm(v.reshape(R, -1), dim=-1).view(R, 1, 1)
        f_all = torch.linalg.vector_norm(force.reshape(R, -1), dim=-1).view(R, 1, 1).clamp_min(1e-300)
        v = (1 - alpha) * v + alpha * v_norm * force / f_all
        up = (power > 0).view(R, 1, 1)
        grow = up & (positive_steps > n_min).view(R, 1, 1)
        step_size = torch.where(grow, (step_size * f_inc).clamp_max(dt_max), step_size)
        alpha = torch.where(grow, alpha * f_alpha, alpha)
        step_size = torch.where(up, step_size, step_size * f_dec)
        alpha = torch.where(up, alpha, torch.full_like(alpha, alpha_start))
        v = torch.where(up, v, torch.zeros_like(v))
        positive_steps = torch.where(power > 0, positive_steps + 1, torch.zeros_like(positive_steps))
        v = v + step_size * force  # semi-implicit Euler with the mixed velocity
        move = step_size * v
        longest = torch.linalg.vector_norm(move, dim=-1).amax(-1).view(R, 1, 1)
        move = move * (max_move / longest.clamp_min(max_move))
        x = torch.where(mask, x + move, x)
        v = torch.where(mask, v, torch.zeros_like(v))
        energy, force = potential.energy_and_forces(x)
    f_norm = torch.linalg.vector_norm(force, dim=-1).amax(-1)
    return Minimum(x, energy, f_norm, f_norm < fmax, steps)


def annealing_schedule(kT_start: float, kT_end: float, n_steps: int, schedule: str = "geometric") -> torch.Tensor:
    """kT at steps 1…n [n] (float64), from ``kT_start`` (at step 0) to ``kT_end`` (at step n)."""
    s = torch.arange(1, n_steps + 1, dtype=torch.float64) / max(n_steps, 1)
    if schedule == "geometric":
        return kT_start * (kT_end / kT_start) ** s
    if schedule == "linear":
        return kT_start + (kT_end - kT_start) * s
    raise ValueError(f"schedule must be 'geometric' or 'linear', got {schedule!r}")


class SimulatedAnnealing:
    r"""BAOAB dynamics cooled from ``kT_start`` to ``kT_end`` (module docstring).

    Args:
        potential: any ``Potential``. kT_start > kT_end > 0: temperatures in energy units.
        dt, friction, masses: as ``BAOAB``. schedule: "geometric" (default) or "linear".

    ``run(x0[R, N, d], n_steps, record_every=1, generator=None)`` → ``Trajectory`` (``kT`` per
    frame follows the schedule); quench its final positions with ``minimize``.
    """

    def __init__(self, potential, kT_start: float, kT_end: float, dt: float, friction: float = 1.0, masses=None,
                 schedule: str = "geometric"):
        start, end = float(check_temperature(kT_start, "kT_start")), float(check_temperature(kT_end, "kT_end"))
        if not start > end:
            raise ValueError(f"SimulatedAnnealing cools: expected kT_start > kT_end, got {kT_start} and {kT_end}")
        annealing_schedule(start, end, 1, schedule)  # checks the name
        self.potential, self.kT_start, self.kT_end, self.schedule = potential, start, end, schedule
        self.dynamics = BAOAB(potential, start, dt, friction, masses)

    def run(self, x0: torch.Tensor, n_steps: int, *, record_every: int = 1, generator: Optional[torch.Generator] = None,
            v0: Optional[torch.Tensor] = None, noise: NoiseTransform = None, record_positions: bool = True) -> Trajectory:
        x = check_start(x0, "SimulatedAnnealing")
        n_steps = check_steps(n_steps)
        d = self.dynamics
        masses = check_masses(d.masses, x.shape[1], x)
        temperatures = annealing_schedule(self.kT_start, self.kT_end, n_steps, self.schedule).to(x)
        recorder = Recorder(record_every, n_steps, record_positions)
        start_kT = torch.tensor(self.kT_start, dtype=x.dtype, device=x.device)
        state = d.start(x, start_kT, masses, generator, v0, noise)
        dof = x[0].numel()
        guard = BlowUpGuard("SimulatedAnnealing", d.dt, state.energy, start_kT, dof)
        kinetic_limit = kinetic_energy(state.p, masses) + 1e4 * dof * self.kT_start
        for step in range(1, n_steps + 1):
            kT = temperatures[step - 1]
            state = baoab_step(state, self.potential, kT, d.dt, d.friction, masses, generator, noise)
            kinetic = kinetic_energy(state.p, masses)
            guard.check(step, state.x, state.energy, state.force, kinetic, kinetic_limit)
            if recorder.due(step):
                recorder.add(step, state.x, state.energy, kT.expand(x.shape[0]), kinetic)
        return recorder.finish(state.x, x.shape[0], final_positions=state.x.detach().clone(),
                               final_velocities=(state.p / masses).detach().clone())

    def __repr__(self) -> str:
        return (f"SimulatedAnnealing(kT {self.kT_start} → {self.kT_end} ({self.schedule}), dt={self.dynamics.dt}, "
                f"potential={self.potential!r})")
