r"""Replica exchange (parallel tempering) over a temperature ladder, and the heat capacity C_v(T).

K replicas at temperatures kT_1 < … < kT_K (C independent chains of them) each run BAOAB
dynamics; every ``swap_every`` steps neighbouring temperatures k, k + 1 try to exchange their
configurations (even pairs, then odd pairs, alternately), accepted with probability

    min(1, exp((β_k − β_{k+1}) (E_k − E_{k+1}))),   β = 1/kT,

which keeps the product of the Boltzmann distributions stationary. The momenta travel with the
configuration, rescaled by √(kT_new/kT_old) (so they stay Maxwell–Boltzmann at the new
temperature). Hot replicas cross barriers; swaps carry what they find down the ladder.

Heat capacity in the canonical ensemble (k_B = 1), with kinetic part d·N/2:

    C_v / k_B = d N / 2 + (⟨U²⟩ − ⟨U⟩²) / kT²
"""
from __future__ import annotations

from typing import Optional

import torch

from gdl.thermo._baoab import BAOAB, LangevinState, baoab_step, check_masses, kinetic_energy
from gdl.thermo._sampling import (
    BlowUpGuard,
    NoiseTransform,
    Recorder,
    Trajectory,
    check_configurations,
    check_steps,
    check_temperature,
    uniform,
)


def heat_capacity(potential_energies: torch.Tensor, kT, num_atoms: int, dim: int = 3) -> torch.Tensor:
    r"""C_v/k_B = d N/2 + Var(U)/kT² per temperature, from potential energies [T, ..., K] (frames
    first, temperatures last; every other axis, e.g. chains, is pooled)."""
    kT = check_temperature(kT).to(potential_energies)
    u = potential_energies.reshape(-1, potential_energies.shape[-1])
    if kT.dim() and kT.shape[0] != u.shape[-1]:
        raise ValueError(f"heat_capacity: {kT.shape[0]} temperatures for energies with {u.shape[-1]} on the last axis")
    return 0.5 * dim * num_atoms + u.var(0, unbiased=True) / kT ** 2


def geometric_ladder(kT_min: float, kT_max: float, count: int) -> torch.Tensor:
    """K temperatures kT_min · (kT_max/kT_min)^{k/(K−1)} (the ladder with a constant ratio)."""
    if count < 2:
        raise ValueError(f"a temperature ladder needs at least 2 temperatures, got {count}")
    lo, hi = float(check_temperature(kT_min, "kT_min")), float(check_temperature(kT_max, "kT_max"))
    if not hi > lo:
        raise ValueError(f"expected kT_max > kT_min, got {kT_min} and {kT_max}")
    return lo * (hi / lo) ** (torch.arange(count, dtype=torch.float64) / (count - 1))


class ReplicaExchange:
    r"""Parallel tempering with BAOAB replicas (module docstring).

    Args:
        potential: any ``Potential``. kTs: increasing temperatures [K] (energy units, all > 0).
        dt, friction, masses: the BAOAB dynamics of every replica. swap_every: steps between swap attempts.

    ``run(x0, n_steps, record_every=1, generator=None)``: ``x0`` is [K, N, d] (one chain) or
    [C, K, N, d] (C independent chains); the ``Trajectory`` keeps that leading shape:
    ``energies`` [T, (C,) K] ordered by temperature, ``swap_acceptance`` [K − 1], ``walkers``
    [T, C, K] (which starting replica sits at each temperature).
    """

    def __init__(self, potential, kTs, dt: float, swap_every: int = 10, friction: float = 1.0, masses=None):
        kTs = check_temperature(kTs, "kTs")
        if kTs.dim() != 1 or kTs.shape[0] < 2:
            raise ValueError(f"kTs: expected at least 2 temperatures [K], got {kTs.tolist()}")
        if not bool((kTs[1:] > kTs[:-1]).all()):
            raise ValueError(f"kTs must increase strictly, got {kTs.tolist()}")
        if isinstance(swap_every, bool) or not isinstance(swap_every, int) or swap_every < 1:
            raise ValueError(f"swap_every must be a positive integer, got {swap_every!r}")
        self.potential, self.kTs, self.swap_every = potential, kTs, swap_every
        self.dynamics = BAOAB(potential, kTs, dt, friction, masses)

    def run(self, x0: torch.Tensor, n_steps: int, *, record_every: int = 1, generator: Optional[torch.Generator] = None,
            noise: NoiseTransform = None, record_positions: bool = True) -> Trajectory:
        if not isinstance(x0, torch.Tensor) or x0.dim() not in (3, 4):
            raise ValueError(f"ReplicaExchange: expected x0 of shape [K, N, d] or [C, K, N, d], got "
                             f"{list(x0.shape) if isinstance(x0, torch.Tensor) else type(x0).__name__}")
        K = self.kTs.shape[0]
        lead = tuple(x0.shape[:-2])
        if lead[-1] != K:
            raise ValueError(f"ReplicaExchange: x0 has {lead[-1]} replicas on its temperature axis, the ladder has {K}")
        C = lead[0] if len(lead) == 2 else 1
        N, dim = x0.shape[-2:]
        x = x0.detach().reshape(C * K, N, dim).clone()
        check_configurations(x, "ReplicaExchange")
        n_steps = check_steps(n_steps)
        d = self.dynamics
        masses = check_masses(d.masses, N, x)
        kT_vec = self.kTs.to(x).repeat(C)  # replica c·K + k is at temperature k
        kT = kT_vec.view(-1, 1, 1)
        recorder = Recorder(record_every, n_steps, record_positions)
        state = d.start(x, kT, masses, generator, None, noise)
        dof = x[0].numel()
        guard = BlowUpGuard("ReplicaExchange", d.dt, state.energy, self.kTs, dof)
        kinetic_limit = kinetic_energy(state.p, masses) + 1e4 * dof * float(self.kTs.max())
        walkers = torch.arange(K).repeat(C, 1)
        tried = torch.zeros(K - 1, dtype=torch.float64)
        accepted = torch.zeros(K - 1, dtype=torch.float64)
        beta = 1 / self.kTs.to(x)
        parity = 0
        for step in range(1, n_steps + 1):
            state = baoab_step(state, self.potential, kT, d.dt, d.friction, masses, generator, noise)
            kinetic = kinetic_energy(state.p, masses)
            guard.check(step, state.x, state.energy, state.force, kinetic, kinetic_limit)
            if step % self.swap_every == 0:
                state, walkers, acc = self._swap(state, walkers, beta, C, K, parity, generator)
                pairs = torch.arange(parity, K - 1, 2)
                tried[pairs] += C
                accepted += acc
                parity = 1 - parity
            if recorder.due(step):
                recorder.add(step, state.x.view(*lead, N, dim), state.energy.view(lead), kT_vec.view(lead),
                             kinetic_energy(state.p, masses).view(lead), walkers.view(C, K))
        rate = torch.where(tried > 0, accepted / tried.clamp_min(1), torch.full_like(tried, float("nan")))
        traj = recorder.finish(x0, C * K, swap_acceptance=rate,
                               final_positions=state.x.view(*lead, N, dim).detach().clone(),
                               final_velocities=(state.p / masses).view(*lead, N, dim).detach().clone())
        return traj

    def _swap(self, state: LangevinState, walkers, beta, C, K, parity, generator):
        """Try the swaps (k, k+1) for k = parity, parity + 2, …; returns the new state, walkers and
        accepted counts per pair [K − 1]."""
        x, p, energy, force = (t.view(C, K, *t.shape[1:]) for t in state)
        lower = torch.arange(parity, K - 1, 2, device=x.device)
        upper = lower + 1
        if lower.numel() == 0:
            return state, walkers, torch.zeros(K - 1, dtype=torch.float64)
        log_ratio = (beta[lower] - beta[upper]) * (energy[:, lower] - energy[:, upper])
        accept = torch.log(uniform(log_ratio.shape, x, generator)) < log_ratio  # [C, pairs]
        perm = torch.arange(K, device=x.device).repeat(C, 1)
        low_idx = lower.expand(C, -1)
        up_idx = upper.expand(C, -1)
        perm.scatter_(1, low_idx, torch.where(accept, up_idx, low_idx))
        perm.scatter_(1, up_idx, torch.where(accept, low_idx, up_idx))
        rows = torch.arange(C, device=x.device).unsqueeze(1)
        ladder = 1 / beta
        scale = torch.sqrt(ladder.unsqueeze(0) / ladder[perm])  # √(kT_new / kT_old) for the momenta
        x, energy, force = x[rows, perm], energy[rows, perm], force[rows, perm]
        p = p[rows, perm] * scale.view(C, K, 1, 1).to(p)
        walkers = walkers[rows.cpu(), perm.cpu()]
        counts = torch.zeros(K - 1, dtype=torch.float64)
        counts[lower.cpu()] = accept.sum(0).to(torch.float64).cpu()
        new = LangevinState(x.reshape(C * K, *x.shape[2:]), p.reshape(C * K, *p.shape[2:]), energy.reshape(-1),
                            force.reshape(C * K, *force.shape[2:]))
        return new, walkers, counts

    def __repr__(self) -> str:
        return (f"ReplicaExchange(kTs={[round(v, 4) for v in self.kTs.tolist()]}, dt={self.dynamics.dt}, "
                f"swap_every={self.swap_every}, potential={self.potential!r})")


def reweighted_heat_capacity(potential_energies: torch.Tensor, kTs, kT_grid, num_atoms: int, dim: int = 3,
                             iterations: int = 2000, tolerance: float = 1e-10) -> torch.Tensor:
    r"""C_v/k_B on any temperatures ``kT_grid`` from replica-exchange energies [T, ..., K], by the
    multiple-histogram method (Ferrenberg & Swendsen 1989; the MBAR equations on energies).

    The samples of all K temperatures are pooled; the reduced free energies f_k solve
    f_k = −log Σ_n exp(−β_k U_n) / Σ_l N_l exp(f_l − β_l U_n), and at β = 1/kT a sample weighs
    w_n ∝ exp(−β U_n) / Σ_l N_l exp(f_l − β_l U_n). Then C_v/k_B = d N/2 + β² (⟨U²⟩ − ⟨U⟩²).
    Between the ladder's temperatures this interpolates smoothly (where neighbouring histograms
    overlap, as they must for swaps to be accepted)."""
    kTs = check_temperature(kTs, "kTs").to(torch.float64)
    grid = check_temperature(kT_grid, "kT_grid").to(torch.float64).reshape(-1)
    u = potential_energies.detach().to(torch.float64)
    K = u.shape[-1]
    if kTs.dim() != 1 or kTs.shape[0] != K:
        raise ValueError(f"reweighted_heat_capacity: {kTs.numel()} temperatures for energies with {K} on the last axis")
    samples = u.reshape(-1, K)  # every frame and chain, per temperature
    counts = torch.full((K,), float(samples.shape[0]), dtype=torch.float64)
    pooled = samples.T.reshape(-1)  # [K · n]
    shift = pooled.min()
    pooled = pooled - shift  # energies from the lowest one: better conditioned exponents
    beta = 1 / kTs
    log_counts = counts.log()
    f = torch.zeros(K, dtype=torch.float64)
    for _ in range(iterations):
        log_denominator = torch.logsumexp(log_counts[:, None] + f[:, None] - beta[:, None] * pooled[None, :], 0)
        f_new = -torch.logsumexp(-beta[:, None] * pooled[None, :] - log_denominator[None, :], 1)
        f_new = f_new - f_new[0]
        done = float((f_new - f).abs().max()) < tolerance
        f = f_new
        if done:
            break
    log_denominator = torch.logsumexp(log_counts[:, None] + f[:, None] - beta[:, None] * pooled[None, :], 0)
    log_w = -(1 / grid)[:, None] * pooled[None, :] - log_denominator[None, :]
    w = torch.softmax(log_w, 1)
    mean = (w * pooled).sum(1)
    var = (w * (pooled - mean[:, None]) ** 2).sum(1)
    return 0.5 * dim * num_atoms + var / grid ** 2
