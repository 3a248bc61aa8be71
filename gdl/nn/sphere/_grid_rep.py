"""SO(3) acting on signals sampled on a grid of the sphere (an interpolating action).

A grid signal f = (f(x_1), …, f(x_P)) is read as a band-limited function: its spherical
harmonic coefficients are the least-squares fit c = Y⁺ f, with Y[p, (l, m)] = Y_lm(x_p)
(e3nn's real spherical harmonics, lmax = ``lmax``). A rotation acts as (R·f)(x) = f(R⁻¹x),
which on coefficients is c ↦ D(R) c (e3nn's convention Y(Rx) = D(R) Y(x)), so on the grid

    f ↦ Y D(R) Y⁺ f.

This is exact only for signals of bandwidth ≤ lmax on a grid that resolves them (Y⁺Y = I);
otherwise it interpolates. ``approximate = True`` makes every report say so.
"""
from __future__ import annotations

import torch
from e3nn import o3

from gdl.nn.sphere._legendre import real_spherical_harmonics
from gdl.groups import SO3, IrrepsRep, Rep


class SphericalGridRep(Rep):
    """The interpolating action of SO(3) (or O(3)) on signals at ``grid`` points ([P, 3])."""

    approximate = True
    is_orthogonal = False

    def __init__(self, grid: torch.Tensor, lmax: int, group=None):
        group = group or SO3()
        grid = torch.as_tensor(grid, dtype=torch.float64)
        if grid.dim() != 2 or grid.shape[1] != 3:
            raise ValueError(f"SphericalGridRep: grid must be points [P, 3] on the sphere, got shape {list(grid.shape)}")
        super().__init__(group, grid.shape[0], f"S²-grid signal (P={grid.shape[0]}, lmax={lmax})")
        self.lmax = int(lmax)
        self.grid = grid / grid.norm(dim=1, keepdim=True)
        self.irreps = o3.Irreps.spherical_harmonics(self.lmax)
        self.coefficient_rep = IrrepsRep(group, self.irreps)
        self.basis = real_spherical_harmonics(self.lmax, self.grid)  # Y [P, M], e3nn's basis at any degree
        if self.basis.shape[0] < self.basis.shape[1]:
            raise ValueError(f"SphericalGridRep: {grid.shape[0]} grid points cannot resolve lmax={lmax} "
                             f"({self.basis.shape[1]} coefficients)")
        self.projection = torch.linalg.pinv(self.basis)  # Y⁺ [M, P]

    def _key(self):
        return ("SphericalGridRep", self.group, self.dim, self.lmax, tuple(self.grid.flatten().tolist()))

    def to_coefficients(self, f: torch.Tensor) -> torch.Tensor:
        return f @ self.projection.to(f).transpose(0, 1)

    def from_coefficients(self, c: torch.Tensor) -> torch.Tensor:
        return c @ self.basis.to(c).transpose(0, 1)

    def _matrix(self, g, dtype, device):
        d = self.coefficient_rep._matrix(g, dtype, device)
        return self.basis.to(dtype=dtype, device=device) @ d @ self.projection.to(dtype=dtype, device=device)

    def _act_last(self, g, x):
        c = self.to_coefficients(x)
        return self.from_coefficients(self.coefficient_rep._act_last(g, c))
