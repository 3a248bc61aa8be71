r"""The Lennard-Jones potential of a cluster, in reduced units, with an optional confining wall.

    E(x) = Σ_{i<j} 4ε [(σ/r_ij)¹² − (σ/r_ij)⁶]            (+ shift, if truncated at r_c)
           + ε Σ_i (‖x_i − x̄‖ / R_c)²⁰                      (if ``confine_radius`` R_c is given)

x̄ is the centre of mass. The wall (a smooth constraining potential, as cluster simulations use
to keep the canonical ensemble of a finite cluster defined) keeps an evaporated atom from
leaving: it is < 1e-6 ε per atom inside 0.5 R_c and grows steeply beyond R_c; unlike a hard
sphere it has finite forces, so dynamics (BAOAB) can feel it.

Everything is a polynomial in r_ij² and ‖x_i − x̄‖²: no square root, twice differentiable,
E(d)-invariant (translations, rotations, reflections) and invariant under permutations of the
atoms. Reference minima (Cambridge Cluster Database, ε = σ = 1): LJ₁₃ −44.326801 (Mackay
icosahedron), LJ₃₈ −173.928427 (fcc truncated octahedron).
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch

from gdl.thermo._potential import Potential, pair_indices, squared_pair_distances

#: Global minima of LJ_N clusters (Cambridge Cluster Database), in units of ε.
LJ_GLOBAL_MINIMA = {13: -44.326801, 38: -173.928427}


class CoincidentAtomsError(ValueError):
    """Two atoms of a configuration sit at the same point, where the energy is infinite."""


class LennardJones(Potential):
    r"""Lennard-Jones cluster energy E(x[R, N, d]) -> [R] (see the module docstring for the formula).

    Args:
        epsilon, sigma: well depth ε and length σ (defaults: reduced units, 1 and 1).
        cutoff: truncate pairs at r_c (in the same units as x) and shift so E is continuous there
            (``None``: every pair counts, as for clusters).
        confine_radius: radius R_c of the smooth wall ε (‖x_i − x̄‖/R_c)²⁰ around the centre of mass
            (``None``: no wall).

    Forces are analytic (``energy_and_forces``; ``energy`` alone stays twice differentiable by
    autograd). Coincident atoms (r_ij = 0) raise ``CoincidentAtomsError`` naming the replica and atoms.
    """

    def __init__(self, epsilon: float = 1.0, sigma: float = 1.0, cutoff: Optional[float] = None,
                 confine_radius: Optional[float] = None):
        for name, value in (("epsilon", epsilon), ("sigma", sigma)):
            if not float(value) > 0:
                raise ValueError(f"LennardJones: {name} must be positive, got {value}")
        if cutoff is not None and not float(cutoff) > 0:
            raise ValueError(f"LennardJones: cutoff must be positive (or None), got {cutoff}")
        if confine_radius is not None and not float(confine_radius) > 0:
            raise ValueError(f"LennardJones: confine_radius must be positive (or None), got {confine_radius}")
        self.epsilon, self.sigma = float(epsilon), float(sigma)
        self.cutoff = None if cutoff is None else float(cutoff)
        self.confine_radius = None if confine_radius is None else float(confine_radius)
        self._pairs = {}

    def pairs(self, num_atoms: int, device) -> Tuple[torch.Tensor, torch.Tensor]:
        key = (num_atoms, str(device))
        if key not in self._pairs:
            self._pairs[key] = pair_indices(num_atoms, device)
        return self._pairs[key]

    def _inverse_powers(self, x):
        """diff [R, P, d], s6 = (σ²/r²)³ and s12 [R, P], after the coincident-atom check."""
        i, j = self.pairs(x.shape[1], x.device)
        diff, r2 = squared_pair_distances(x, i, j)
        if r2.numel() and not bool((r2 > 0).all()):
            r, p = [int(v) for v in (r2 <= 0).nonzero()[0]]
            raise CoincidentAtomsError(
                f"LennardJones: atoms {int(i[p])} and {int(j[p])} of replica {r} are at the same point "
                f"({x[r, int(i[p])].tolist()}): the energy is infinite there; separate the atoms (e.g. random "
                f"starts with a minimum distance, or a smaller step dt)")
        s6 = (self.sigma ** 2 / r2) ** 3
        return diff, r2, s6, s6 * s6

    def _cut(self, r2):
        if self.cutoff is None:
            return None, 0.0
        sc6 = (self.sigma / self.cutoff) ** 6
        return r2 < self.cutoff ** 2, 4 * self.epsilon * (sc6 * sc6 - sc6)

    def wall_energy(self, x: torch.Tensor) -> torch.Tensor:
        """ε Σ_i (‖x_i − x̄‖/R_c)²⁰ per replica [R] (zeros without a wall)."""
        if self.confine_radius is None:
            return x.new_zeros(x.shape[0])
        d = x - x.mean(1, keepdim=True)
        u = (d * d).sum(-1) / self.confine_radius ** 2
        return self.epsilon * (u ** 10).sum(-1)

    def energy(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        _, r2, s6, s12 = self._inverse_powers(x)
        pair = 4 * self.epsilon * (s12 - s6)
        inside, shift = self._cut(r2)
        if inside is not None:
            pair = torch.where(inside, pair - shift, torch.zeros_like(pair))
        return pair.sum(-1) + self.wall_energy(x)

    def energy_and_forces(self, x: torch.Tensor, create_graph: bool = False):
        if create_graph:
            return super().energy_and_forces(x, create_graph=True)
        self._check_input(x)
        x = x.detach()
        i, j = self.pairs(x.shape[1], x.device)
        diff, r2, s6, s12 = self._inverse_powers(x)
        pair = 4 * self.epsilon * (s12 - s6)
        # −dE/dr · (1/r) for each pair: F_i = Σ_j 24ε (2 s12 − s6) / r² (x_i − x_j)
        magnitude = 24 * self.epsilon * (2 * s12 - s6) / r2
        inside, shift = self._cut(r2)
        if inside is not None:
            pair = torch.where(inside, pair - shift, torch.zeros_like(pair))
            magnitude = torch.where(inside, magnitude, torch.zeros_like(magnitude))
        pair_force = magnitude.unsqueeze(-1) * diff  # force on i from j; j gets the opposite
        forces = torch.zeros_like(x)
        forces.index_add_(1, i, pair_force)
        forces.index_add_(1, j, -pair_force)
        energy = pair.sum(-1)
        if self.confine_radius is not None:
            d = x - x.mean(1, keepdim=True)
            u = (d * d).sum(-1) / self.confine_radius ** 2
            u2 = u * u
            u8 = (u2 * u2) ** 2
            u9 = u8 * u
            energy = energy + self.epsilon * (u9 * u).sum(-1)
            g = (20 * self.epsilon / self.confine_radius ** 2) * u9.unsqueeze(-1) * d  # ∂U/∂d_i
            forces = forces - (g - g.mean(1, keepdim=True))  # d_i = x_i − x̄: subtract the mean part
        return energy, forces

    def __repr__(self) -> str:
        return (f"LennardJones(epsilon={self.epsilon}, sigma={self.sigma}, cutoff={self.cutoff}, "
                f"confine_radius={self.confine_radius})")


def random_cluster(num_replicas: int, num_atoms: int, radius: float, min_distance: float = 0.8, dim: int = 3,
                   generator: Optional[torch.Generator] = None, dtype=torch.float64, max_tries: int = 10000) -> torch.Tensor:
    """Random starts [R, N, d]: points uniform in a ball of ``radius``, added one at a time and
    redrawn until every pair is at least ``min_distance`` apart (so no start has overlapping atoms)."""
    if num_atoms < 1 or num_replicas < 1:
        raise ValueError(f"random_cluster: need at least one replica and one atom, got {num_replicas}, {num_atoms}")
    x = torch.zeros(num_replicas, num_atoms, dim, dtype=dtype)
    for r in range(num_replicas):
        placed = 0
        for _ in range(max_tries * num_atoms):
            direction = torch.randn(dim, generator=generator, dtype=dtype)
            u = torch.rand((), generator=generator, dtype=dtype) ** (1.0 / dim)
            point = radius * u * direction / direction.norm()
            if placed == 0 or bool(((x[r, :placed] - point) ** 2).sum(-1).min() >= min_distance ** 2):
                x[r, placed] = point
                placed += 1
                if placed == num_atoms:
                    break
        if placed < num_atoms:
            raise ValueError(f"random_cluster: could not place {num_atoms} atoms {min_distance} apart in a ball of "
                             f"radius {radius}; use a larger radius or a smaller min_distance")
    return x
