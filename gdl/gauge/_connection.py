"""The log map of neighbours and the Levi-Civita connection (transport angle per edge).

Edge convention (PyG's ``source_to_target`` flow): edge e = (j → i) has
``edge_index[0, e] = j`` (the sender, the neighbour) and ``edge_index[1, e] = i`` (the
receiver, whose tangent plane the quantities are written in).

**Log map** (extrinsic, the chord): d = x_j − x_i. The neighbour's radius is the chord length
r_ij = |d| and its angle the polar angle of d's tangential part in i's frame,

    φ_ij = atan2(d·e_y(i), d·e_x(i)),

so log_i(x_j) ≈ r_ij (cos φ_ij e_x(i) + sin φ_ij e_y(i)). On a plane this is exact; on a
curved surface r is the chord, a second-order approximation of the geodesic distance.
When d is along n_i (no tangential part) φ = atan2(0, 0) = 0; for a self-loop r = 0, φ = 0.

**Transport** (discrete Levi-Civita): the rotation R_ij about n_j × n_i that takes n_j to n_i
(the smallest such rotation) carries j's tangent plane onto i's. The transport angle is the
angle of j's rotated frame in i's frame,

    α_ij = atan2(R_ij e_x(j)·e_y(i), R_ij e_x(j)·e_x(i)),

and ρ(α_ij) x_j writes a feature x_j of vertex j in i's frame. It is antisymmetric
(α_ji = −α_ij) and, on a plane, the difference of the two frames' angles (0 when all frames
agree). With a = n_j × n_i, c = n_j·n_i, Rodrigues' formula is
R v = c v + a × v + a (a·v)/(1 + c), exact and NaN-free while c > −1.
**Antiparallel normals** (c ≤ −1 + √eps, a fold): R is the half-turn about the hinge
u = the tangential part of the edge x_j − x_i at j (fallback: e_x(j)), R v = 2(u·v)u − v,
followed by the (tiny) Rodrigues rotation from −n_j to n_i. Never NaN. Near antiparallel
normals the rotation axis itself is ill-conditioned (its error grows like eps/|n_j × n_i|),
a property of the geometry, not of the formula.
"""
from __future__ import annotations

import torch

from gdl.gauge._frames import _tangential


def log_map(pos: torch.Tensor, edge_index: torch.Tensor, frame_x: torch.Tensor, frame_y: torch.Tensor):
    """``(radius, angle)`` per edge [E]: the chord length |x_j − x_i| and the polar angle φ_ij of
    its tangential part in the receiver i's frame (see the module docstring)."""
    src, dst = edge_index[0], edge_index[1]
    d = pos[src] - pos[dst]
    radius = d.norm(dim=-1)
    angle = torch.atan2((d * frame_y[dst]).sum(-1), (d * frame_x[dst]).sum(-1))
    return radius, angle


def rotate_tangent_vectors(v: torch.Tensor, normal_from: torch.Tensor, normal_to: torch.Tensor, hinge: torch.Tensor):
    """R v for the rotation R taking unit ``normal_from`` to unit ``normal_to`` about their cross
    product (all [E, 3]); v ⊥ normal_from. ``hinge`` (⊥ normal_from up to a projection, any
    length) is the axis of the half-turn used where the normals are (nearly) antiparallel:
    there R = (Rodrigues from −n_from to n_to) ∘ (half-turn about the hinge). The result is
    projected onto n_to's tangent plane (keeping |v|), so it is tangent to rounding."""
    eps = torch.finfo(v.dtype).eps
    tiny = torch.finfo(v.dtype).tiny

    def rodrigues(w, n_from):  # the rotation about n_from × n_to, accurate while n_from·n_to > −1
        a = torch.linalg.cross(n_from, normal_to, dim=-1)
        c = (n_from * normal_to).sum(-1, keepdim=True)
        scale = 1 / torch.where(1 + c > eps**0.5, 1 + c, torch.ones_like(c))
        return c * w + torch.linalg.cross(a, w, dim=-1) + a * (a * w).sum(-1, keepdim=True) * scale

    regular = 1 + (normal_from * normal_to).sum(-1, keepdim=True) > eps**0.5
    u = hinge - (hinge * normal_from).sum(-1, keepdim=True) * normal_from
    u = u / u.norm(dim=-1, keepdim=True).clamp_min(tiny)
    half_turn = 2 * (u * v).sum(-1, keepdim=True) * u - v  # takes normal_from to −normal_from
    moved = torch.where(regular, rodrigues(v, normal_from), rodrigues(half_turn, -normal_from))
    tangent = moved - (moved * normal_to).sum(-1, keepdim=True) * normal_to
    length = tangent.norm(dim=-1, keepdim=True)
    return tangent * (v.norm(dim=-1, keepdim=True) / length.clamp_min(tiny))


def transport_angles(pos: torch.Tensor, edge_index: torch.Tensor, normal: torch.Tensor, frame_x: torch.Tensor,
                     frame_y: torch.Tensor) -> torch.Tensor:
    """α_ij per edge [E] (see the module docstring): ρ(α_ij) x_j is x_j written in i's frame."""
    src, dst = edge_index[0], edge_index[1]
    n_from, n_to = normal[src], normal[dst]
    ex_from = frame_x[src]
    hinge = _tangential(pos[src] - pos[dst], n_from)
    tiny = torch.finfo(pos.dtype).tiny
    hinge = torch.where(hinge.norm(dim=-1, keepdim=True) > tiny ** 0.5, hinge, ex_from)
    moved = rotate_tangent_vectors(ex_from, n_from, n_to, hinge)
    return torch.atan2((moved * frame_y[dst]).sum(-1), (moved * frame_x[dst]).sum(-1))
