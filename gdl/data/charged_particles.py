"""Charged-particle simulator of the EGNN "nbody_small" benchmark, vectorised over trajectories.

Protocol (Satorras et al. 2021, after Kipf et al. 2018's NRI ``ChargedParticlesSim``):

- n = 5 particles in d = 3, charges q_i ∈ {−1, +1} with probability ½ each;
- x_i(0) ~ N(0, σ²) with σ = (n/5)^{1/3}; v_i(0) ~ N(0, I) rescaled to speed exactly 0.5;
- the state is reflected into the box [−5, 5]^d once, at t = 0 (no box afterwards);
- force F_i = k Σ_{j≠i} q_i q_j (x_i − x_j) / ‖x_i − x_j‖³ with k = 1 (like charges repel),
  each Cartesian component clipped to ±100 (= 0.1 / dt);
- semi-implicit (symplectic) Euler with dt = 0.001: an initial kick v ← v + dt F(x), then per
  step x ← x + dt v, v ← v + dt F(x);
- frame k is the state after (k + 1) · 100 steps (the reference stores every 100th step and
  overwrites its t = 0 entry), so the task's input frame 30 is step 3100, target frame 40 is
  step 4100, i.e. one time unit later.

Symmetry: the dynamics is E(3)-equivariant (rotations, reflections, translations) except
for the per-component force clip, which only commutes with signed permutations of the axes
(it acts only in close encounters; the initial box reflection acts at |x| > 5, probability
~10⁻⁶ per coordinate).

Initial conditions come from numpy's legacy ``RandomState`` drawn per trajectory in the
reference generator's order (charges, positions, velocities, then the two unused noise
arrays of its 49 saved frames), so a seeded stream reproduces the reference trajectories
(see ``datasets/nbody_charged.md`` for the measured agreement). Integration is in numpy
float64, all trajectories at once, with the reference's floating-point operations.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Dict, Sequence, Tuple

import numpy as np
import torch
from tqdm.auto import tqdm

__all__ = [
    "ChargedParticlesConfig", "draw_initial_conditions", "coulomb_forces", "simulate_charged_particles",
    "integrate_charged_particles",
]


@dataclass(frozen=True)
class ChargedParticlesConfig:
    """Physical and sampling parameters; the defaults are the EGNN "nbody_small" protocol."""

    num_particles: int = 5
    dim: int = 3
    position_std: float = 1.0  # scaled by (num_particles / 5)^(1/3), as in the reference
    initial_speed: float = 0.5
    interaction_strength: float = 1.0
    max_force: float = 100.0  # per component, 0.1 / dt
    dt: float = 0.001
    box_size: float = 5.0  # reflection at t = 0 only
    sample_every: int = 100  # steps between saved frames
    num_steps: int = 5000  # reference trajectory length (fixes the RNG draws of its unused noise)

    @property
    def num_saved_frames(self) -> int:
        return self.num_steps // self.sample_every - 1

    def frame_step(self, frame: int) -> int:
        """Number of integration steps before saved frame ``frame``: (frame + 1) · sample_every."""
        if not 0 <= frame < self.num_saved_frames:
            raise ValueError(f"frame must be in [0, {self.num_saved_frames}), got {frame}")
        return (frame + 1) * self.sample_every

    def as_dict(self) -> Dict[str, float]:
        return asdict(self)


def draw_initial_conditions(
    rng: np.random.RandomState, num_trajectories: int, config: ChargedParticlesConfig = ChargedParticlesConfig()
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Draw ``num_trajectories`` initial states from ``rng`` in the reference generator's order.

    Per trajectory: charges (``choice`` over {−1, 0, +1} with p = (½, 0, ½)), positions
    randn(d, n) · σ, velocities randn(d, n) rescaled to the initial speed, then two randn
    arrays of shape (saved frames, d, n) that the reference multiplies by its zero noise.

    Returns float64 tensors ``charges`` [T, n, 1], ``pos`` [T, n, d], ``vel`` [T, n, d]
    (before the t = 0 box reflection).
    """
    n, d = config.num_particles, config.dim
    sigma = config.position_std * (n / 5.0) ** (1.0 / 3.0)
    noise_shape = (config.num_saved_frames, d, n)
    charges = np.empty((num_trajectories, n, 1))
    pos = np.empty((num_trajectories, d, n))
    vel = np.empty((num_trajectories, d, n))
    for t in range(num_trajectories):
        charges[t] = rng.choice(np.array([-1.0, 0.0, 1.0]), size=(n, 1), p=[0.5, 0.0, 0.5])
        pos[t] = rng.randn(d, n) * sigma
        v = rng.randn(d, n)
        vel[t] = v * config.initial_speed / np.sqrt((v**2).sum(axis=0, keepdims=True))
        rng.randn(*noise_shape)  # unused observation noise (variance 0): keeps the stream aligned
        rng.randn(*noise_shape)
    as_tensor = lambda a: torch.from_numpy(a).to(torch.float64)  # noqa: E731
    return as_tensor(charges), as_tensor(pos).transpose(1, 2).contiguous(), as_tensor(vel).transpose(1, 2).contiguous()


def skip_trajectories(
    rng: np.random.RandomState, num_trajectories: int, config: ChargedParticlesConfig = ChargedParticlesConfig()
) -> None:
    """Advance ``rng`` past ``num_trajectories`` trajectories' draws (as :func:`draw_initial_conditions`), cheaply.

    Per trajectory the draws are n uniforms (the charges) then 2 d n + 2 · frames · d n normals;
    the legacy normal generator yields the same sequence however the normals are chunked.
    """
    n, d = config.num_particles, config.dim
    normals = 2 * d * n + 2 * config.num_saved_frames * d * n
    for _ in range(num_trajectories):
        rng.random_sample(n)
        rng.standard_normal(normals)


def reflect_into_box(pos: torch.Tensor, vel: torch.Tensor, box_size: float) -> Tuple[torch.Tensor, torch.Tensor]:
    """Elastic reflection at the walls ±box_size: x > L ↦ 2L − x with v ↦ −|v|; x < −L ↦ −2L − x with v ↦ |v|."""
    over, under = pos > box_size, pos < -box_size
    pos = torch.where(over, 2 * box_size - pos, pos)
    vel = torch.where(over, -vel.abs(), vel)
    pos = torch.where(under, -2 * box_size - pos, pos)
    vel = torch.where(under, vel.abs(), vel)
    return pos, vel


def coulomb_forces(pos: np.ndarray, charge_products: np.ndarray, config: ChargedParticlesConfig) -> np.ndarray:
    """F_i = k Σ_{j≠i} q_i q_j (x_i − x_j) / ‖x_i − x_j‖³, each component clipped to ±max_force.

    The arithmetic follows the reference operation for operation (‖x_i − x_j‖² as
    ‖x_i‖² + ‖x_j‖² − 2 x_i·x_j through a batched matmul, then ``power(·, 1.5)``, then a
    sum over j in order), which makes seeded trajectories bit-identical to the reference
    files. The expanded form loses ~1e-16 · ‖x‖² of accuracy, far below the force clip.

    Args:
        pos: float64 [T, n, d]; charge_products: [T, n, n] = q_i q_j.
    Returns:
        float64 [T, n, d].
    """
    sq_norm = (pos**2).sum(axis=2)
    dist2 = sq_norm[:, :, None] + sq_norm[:, None, :] - 2 * np.matmul(pos, pos.transpose(0, 2, 1))
    with np.errstate(invalid="ignore", divide="ignore"):  # the diagonal (i = j) is reset below
        magnitude = config.interaction_strength * charge_products / np.power(dist2, 1.5)
    diagonal = np.arange(pos.shape[1])
    magnitude[:, diagonal, diagonal] = 0.0
    diff = pos[:, :, None, :] - pos[:, None, :, :]  # x_i − x_j, [T, n, n, d]
    force = (magnitude[..., None] * diff).sum(axis=2)
    return np.clip(force, -config.max_force, config.max_force, out=force)


def simulate_charged_particles(
    charges: torch.Tensor,
    pos: torch.Tensor,
    vel: torch.Tensor,
    frames: Sequence[int],
    config: ChargedParticlesConfig = ChargedParticlesConfig(),
    progress: bool = True,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Simulate all trajectories at once from t = 0 and return the states at the saved ``frames``.

    Args:
        charges: [T, n, 1]; pos, vel: [T, n, d] initial state (the t = 0 box reflection is applied here).
        frames: saved-frame indices (frame k = state after (k + 1) · sample_every steps).
        progress: show a tqdm progress bar over the integration steps.

    Returns:
        ``pos`` and ``vel`` at the requested frames, float64 [T, len(frames), n, d].
    """
    pos, vel = reflect_into_box(pos.to(torch.float64), vel.to(torch.float64), config.box_size)
    return integrate_charged_particles(charges, pos, vel, [config.frame_step(f) for f in frames], config, progress)


def integrate_charged_particles(
    charges: torch.Tensor,
    pos: torch.Tensor,
    vel: torch.Tensor,
    steps: Sequence[int],
    config: ChargedParticlesConfig = ChargedParticlesConfig(),
    progress: bool = True,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Semi-implicit Euler from the state (x, v), whose v does not yet hold the kick dt F(x).

    Both the initial state and every saved frame are such states, so continuing from frame 30
    for 1000 steps reproduces frame 40 bit for bit. No box.

    Args:
        charges: [T, n, 1]; pos, vel: [T, n, d].
        steps: numbers of steps (>= 1) after which to record the state.

    Returns:
        ``pos`` and ``vel`` after each of ``steps``, float64 [T, len(steps), n, d].
    """
    if any(int(s) < 1 for s in steps):
        raise ValueError(f"steps must be >= 1, got {list(steps)}")
    pos = pos.to(torch.float64).numpy().copy()
    vel = vel.to(torch.float64).numpy().copy()
    q = charges.to(torch.float64).reshape(pos.shape[0], -1).numpy()
    # Trajectories are independent: integrate chunks in threads (numpy releases the GIL in its
    # array loops; measured 1.85x on 2 cores for 2000 trajectories), bit-identical to one chunk.
    workers = max(1, min(os.cpu_count() or 1, 8, pos.shape[0] // 256))
    bounds = np.linspace(0, pos.shape[0], workers + 1).astype(int)
    chunks = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]
    if workers == 1:
        parts = [_integrate_chunk(q, pos, vel, steps, config, progress)]
    else:
        with ThreadPoolExecutor(workers) as pool:
            parts = list(pool.map(
                lambda ic: _integrate_chunk(q[ic[1]], pos[ic[1]], vel[ic[1]], steps, config, progress and ic[0] == 0),
                enumerate(chunks),
            ))
    out_pos = np.concatenate([p for p, _ in parts])
    out_vel = np.concatenate([v for _, v in parts])
    return torch.from_numpy(out_pos), torch.from_numpy(out_vel)


def _integrate_chunk(q, pos, vel, steps, config, progress):
    """The integration loop of :func:`integrate_charged_particles` on numpy arrays (modified in place)."""
    charge_products = q[:, :, None] * q[:, None, :]
    record: Dict[int, list] = {}
    for i, s in enumerate(steps):
        record.setdefault(int(s), []).append(i)
    out_pos = np.empty((pos.shape[0], len(steps)) + pos.shape[1:])
    out_vel = np.empty_like(out_pos)
    last = max(record) if record else 0

    dt = config.dt
    vel += dt * coulomb_forces(pos, charge_products, config)  # the kick at the starting position
    bar = tqdm(total=last, desc="simulating charged particles", unit="step", disable=not progress, mininterval=0.5)
    for step in range(1, last + 1):
        pos += dt * vel
        if step in record:
            out_pos[:, record[step]] = pos[:, None]
            out_vel[:, record[step]] = vel[:, None]
        vel += dt * coulomb_forces(pos, charge_products, config)
        if step % 100 == 0 or step == last:
            bar.update(step - bar.n)
    bar.close()
    return out_pos, out_vel
