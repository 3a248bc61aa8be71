"""Tangent frames: one orthonormal basis (e_x, e_y) of each vertex's tangent plane.

Given a unit normal n_i and a reference direction r_i, the frame is

    e_x = (r − (r·n) n) / |r − (r·n) n|,      e_y = n × e_x,

so (e_x, e_y, n) is right-handed. A frame is a *gauge*: any other choice differs by a
rotation of the tangent plane, and a gauge-equivariant model does not care which one is
used (``GaugeTransform`` says how everything changes).

Never NaN. When r_i has no tangential part (|r − (r·n)n| ≤ √eps·|r|: r parallel to n, or
r = 0, e.g. an isolated vertex with the "neighbour" reference), r_i falls back to the
coordinate axis least aligned with n_i (the smallest |n_k|, first such k), whose tangential
part has length ≥ √(2/3). A zero or non-finite normal is replaced by ``FALLBACK_NORMAL``.
"""
from __future__ import annotations

from typing import Tuple, Union

import torch

from gdl.gauge._mesh import unit_normals


def first_neighbour_reference(pos: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
    """r_i = x_k − x_i for the first neighbour k of i: the sender of the edge with the smallest
    id among the edges received by i (``edge_index[1] == i``), self-loops ignored. Rows of
    vertices that receive no edge are zero (``tangent_frames`` then falls back to an axis).

    This gauge rotates with the mesh (so geometry computed from it is invariant to rigid
    motions) but depends on the edge order.
    """
    src, dst = edge_index[0], edge_index[1]
    n_edges = src.shape[0]
    eid = torch.arange(n_edges, device=src.device)
    eid = torch.where(src == dst, torch.full_like(eid, n_edges), eid)  # self-loops never come first
    first = torch.full((pos.shape[0],), n_edges, dtype=torch.long, device=src.device)
    first = first.scatter_reduce(0, dst, eid, reduce="amin")
    has = first < n_edges
    sender = src[first.clamp_max(max(n_edges - 1, 0))] if n_edges else torch.zeros_like(first)
    ref = pos[sender] - pos
    return torch.where(has[:, None], ref, torch.zeros_like(ref))


def least_aligned_axis(normal: torch.Tensor) -> torch.Tensor:
    """The coordinate axis e_k with the smallest |n_k| (first such k), per row: [V, 3]."""
    k = normal.abs().argmin(dim=-1)
    return torch.nn.functional.one_hot(k, 3).to(normal.dtype)


def _tangential(v: torch.Tensor, normal: torch.Tensor) -> torch.Tensor:
    return v - (v * normal).sum(-1, keepdim=True) * normal


def tangent_frames(normal: torch.Tensor, reference: Union[torch.Tensor, Tuple[float, float, float]]):
    """Orthonormal tangent frames ``(frame_x, frame_y)``, each [V, 3], from normals [V, 3] and a
    reference direction: [V, 3] per vertex, or [3] / a 3-tuple shared by all vertices.

    e_x = the normalised tangential part of the reference (fallback: the least-aligned axis,
    see the module docstring), projected twice so e_x·n = O(eps) even for a nearly normal
    reference; e_y = n × e_x. NaN-free for every input with finite entries.
    """
    normal = unit_normals(normal)
    reference = torch.as_tensor(reference, dtype=normal.dtype, device=normal.device)
    if reference.shape == (3,):
        reference = reference.expand_as(normal)
    if reference.shape != normal.shape:
        raise ValueError(f"tangent_frames: expected reference of shape [3] or {list(normal.shape)}, got {list(reference.shape)}")
    if not torch.isfinite(reference).all():
        raise ValueError("tangent_frames: reference contains non-finite values (NaN or inf)")
    eps = torch.finfo(normal.dtype).eps
    tiny = torch.finfo(normal.dtype).tiny
    ref_len = reference.norm(dim=-1, keepdim=True)
    tang = _tangential(reference, normal)
    usable = tang.norm(dim=-1, keepdim=True) > eps**0.5 * ref_len
    usable = usable & (ref_len > tiny)
    tang = torch.where(usable, tang, _tangential(least_aligned_axis(normal), normal))
    ex = tang / tang.norm(dim=-1, keepdim=True).clamp_min(tiny)
    ex = _tangential(ex, normal)  # second Gram-Schmidt pass
    ex = ex / ex.norm(dim=-1, keepdim=True).clamp_min(tiny)
    ey = torch.linalg.cross(normal, ex, dim=-1)
    return ex, ey


def rotate_frames(frame_x: torch.Tensor, frame_y: torch.Tensor, theta: torch.Tensor):
    """Turn each frame by −θ_i in its tangent plane (the gauge change h_i = θ_i):

        e_x' = cos θ e_x − sin θ e_y,     e_y' = sin θ e_x + cos θ e_y,

    so the coordinates of a fixed tangent vector turn by +θ_i: (a', b') = R(θ_i)(a, b).
    ``theta`` has the leading shape of the frames without the last axis.
    """
    c, s = torch.cos(theta)[..., None], torch.sin(theta)[..., None]
    return c * frame_x - s * frame_y, s * frame_x + c * frame_y
