"""Discrete curvature: the angle deficit and the holonomy of the connection around each fan.

- ``angle_deficit``: κ_i = 2π − Σ_{corners at i} (interior angle), the discrete Gaussian
  curvature of vertex i (integrated over its barycentric area A_i = Σ_{f ∋ i} area_f / 3,
  so κ_i ≈ K(x_i)·A_i). Boundary vertices get π − Σ (the boundary's turning angle). Discrete
  Gauss–Bonnet: Σ_i κ_i = 2π χ exactly (χ = V − E + F), e.g. 4π for a closed sphere mesh.
- ``fan_holonomy``: the rotation a tangent vector picks up when transported (``transport_angles``)
  once around the loop through i's neighbours, counter-clockwise about the normal (faces
  oriented counter-clockwise). For a smooth surface it approaches the curvature enclosed by
  the loop, K·(area of i's fan), about 3·κ_i. In SO(2) the order of the factors does not
  matter: hol_i = wrap(Σ_{faces (i, b, c)} α_{c←b}). Boundary vertices (open fans) get 0.
  Gauge invariant (a loop's holonomy is conjugated, and SO(2) is abelian).
"""
from __future__ import annotations

import math

import torch

from gdl.gauge._connection import transport_angles
from gdl.gauge._mesh import boundary_vertices, check_faces, check_positions
from gdl.groups import wrap_angle


def corner_angles(pos: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
    """Interior angle at each corner [3, F] (corner k of face f is vertex face[k, f]), by
    atan2(|u × v|, u·v): NaN-free, 0 for zero-length edges."""
    tri = pos[face]  # [3, F, 3]
    u = tri[[1, 2, 0]] - tri
    v = tri[[2, 0, 1]] - tri
    return torch.atan2(torch.linalg.cross(u, v, dim=-1).norm(dim=-1), (u * v).sum(-1))


def angle_deficit(pos: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
    """κ_i = 2π − Σ corner angles at i (π − Σ on the boundary; 0 for a vertex in no face): [V]."""
    pos = check_positions(pos, "angle_deficit")
    face = check_faces(face, pos.shape[0], "angle_deficit")
    n = pos.shape[0]
    total = torch.zeros(n, dtype=pos.dtype, device=pos.device).index_add_(0, face.flatten(), corner_angles(pos, face).flatten())
    used = torch.zeros(n, dtype=torch.bool, device=pos.device)
    used[face.flatten()] = True
    full = torch.where(boundary_vertices(face, n), torch.full_like(total, math.pi), torch.full_like(total, 2 * math.pi))
    return torch.where(used, full - total, torch.zeros_like(total))


def fan_holonomy(pos: torch.Tensor, face: torch.Tensor, normal: torch.Tensor, frame_x: torch.Tensor,
                 frame_y: torch.Tensor) -> torch.Tensor:
    """Holonomy angle of the transport around each vertex's fan, in (−π, π]: [V] (0 on the
    boundary and for vertices in no face). See the module docstring."""
    n = pos.shape[0]
    a, b, c = face[0], face[1], face[2]
    corner = torch.cat([a, b, c])
    ring = torch.stack([torch.cat([b, c, a]), torch.cat([c, a, b])])  # the opposite edge, sender → receiver
    alpha = transport_angles(pos, ring, normal, frame_x, frame_y)
    total = torch.zeros(n, dtype=pos.dtype, device=pos.device).index_add_(0, corner, alpha)
    closed = ~boundary_vertices(face, n)
    used = torch.zeros(n, dtype=torch.bool, device=pos.device)
    used[corner] = True
    return torch.where(closed & used, wrap_angle(total), torch.zeros_like(total))


def vertex_areas(pos: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
    """Barycentric area A_i = Σ_{f ∋ i} area_f / 3 per vertex [V] (0 for a vertex in no face)."""
    tri = pos[face]
    area = torch.linalg.cross(tri[1] - tri[0], tri[2] - tri[0], dim=-1).norm(dim=-1) / 2
    return torch.zeros(pos.shape[0], dtype=pos.dtype, device=pos.device).index_add_(0, face.flatten(), area.repeat(3) / 3)


def gaussian_curvature(pos: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
    """Pointwise discrete Gaussian curvature K_i = κ_i / A_i (angle deficit over barycentric
    area) [V]; 0 where A_i = 0. On a sphere of radius R it approaches 1/R², on a cylinder 0."""
    kappa = angle_deficit(pos, face)
    area = vertex_areas(pos, face)
    return torch.where(area > 0, kappa / torch.where(area > 0, area, torch.ones_like(area)), torch.zeros_like(area))


def connection_curvature(pos: torch.Tensor, face: torch.Tensor, normal: torch.Tensor, frame_x: torch.Tensor,
                         frame_y: torch.Tensor) -> torch.Tensor:
    """The connection's curvature density: fan holonomy over the fan's area (3 A_i) [V]; it
    approaches the Gaussian curvature K (0 on boundaries and where A_i = 0)."""
    hol = fan_holonomy(pos, face, normal, frame_x, frame_y)
    fan = 3 * vertex_areas(pos, face)
    return torch.where(fan > 0, hol / torch.where(fan > 0, fan, torch.ones_like(fan)), torch.zeros_like(fan))
