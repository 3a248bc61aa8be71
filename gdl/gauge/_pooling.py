"""Coarse levels of a mesh for pooling: farthest-point sampling, the fine→coarse assignment
with its transport, and the geometry of a radius graph on the coarse vertices.

- ``farthest_point_sampling(pos, n)``: greedy: start at vertex ``start``, repeatedly add the
  vertex farthest (Euclidean) from the chosen set. Plain torch; one vectorised O(V) update
  per chosen vertex (n sequential steps, inherent to the method). Deterministic.
- ``pooling_geometry``: each fine vertex q pools to its nearest coarse vertex p (Euclidean,
  ties to the lower index; a coarse vertex pools to itself), with the Levi-Civita transport
  angle g_{q→p} (``transport_angles``) of the edge q → p. A coarse vertex keeps its fine
  frame, so a gauge change θ acts on the coarse level by θ restricted to the coarse vertices
  and g_{q→p} ↦ g_{q→p} + θ_p − θ_q: pooling y_p = mean_q ρ(g_{q→p}) x_q is gauge equivariant.
- ``radius_graph_geometry``: edges between coarse vertices closer than ``radius`` (at most
  ``max_neighbours`` nearest per receiver), with the log map and transport of ``gdl.gauge``,
  for convolutions on the coarse level.
"""
from __future__ import annotations

from typing import Dict

import torch

from gdl.gauge._connection import log_map, transport_angles


def farthest_point_sampling(pos: torch.Tensor, n: int, start: int = 0) -> torch.Tensor:
    """Indices [n] of ``n`` vertices chosen by farthest-point sampling (module docstring)."""
    v = pos.shape[0]
    if not 1 <= n <= v:
        raise ValueError(f"farthest_point_sampling: expected 1 ≤ n ≤ {v} (the number of vertices), got {n}")
    if not 0 <= start < v:
        raise ValueError(f"farthest_point_sampling: start must be a vertex index in [0, {v}), got {start}")
    chosen = torch.empty(n, dtype=torch.long, device=pos.device)
    chosen[0] = start
    dist = (pos - pos[start]).square().sum(-1)
    for k in range(1, n):
        nxt = torch.argmax(dist)
        chosen[k] = nxt
        dist = torch.minimum(dist, (pos - pos[nxt]).square().sum(-1))
    return chosen


def _nearest(query: torch.Tensor, points: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
    out = []
    for s in range(0, query.shape[0], chunk):
        out.append(torch.cdist(query[s : s + chunk], points).argmin(1))
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.long, device=query.device)


def pooling_geometry(pos: torch.Tensor, normal: torch.Tensor, frame_x: torch.Tensor, frame_y: torch.Tensor,
                     coarse_index: torch.Tensor) -> Dict[str, torch.Tensor]:
    """``{"coarse_index" [C], "pool_index" [V] (the coarse vertex each fine vertex pools to, in
    0..C−1), "pool_transport" [V] (g_{q→p})}`` (module docstring). Computed in float64."""
    p = pos.to(torch.float64)
    coarse_index = coarse_index.long()
    assign = _nearest(p, p[coarse_index])
    assign[coarse_index] = torch.arange(coarse_index.shape[0], device=assign.device)  # a coarse vertex pools to itself
    edges = torch.stack([torch.arange(p.shape[0], device=p.device), coarse_index[assign]])
    n64, fx, fy = normal.to(torch.float64), frame_x.to(torch.float64), frame_y.to(torch.float64)
    transport = transport_angles(p, edges, n64, fx, fy)
    transport = torch.where(edges[0] == edges[1], torch.zeros_like(transport), transport)
    return {"coarse_index": coarse_index, "pool_index": assign, "pool_transport": transport.to(pos.dtype)}


def radius_graph_geometry(pos: torch.Tensor, normal: torch.Tensor, frame_x: torch.Tensor, frame_y: torch.Tensor,
                          radius: float, max_neighbours: int = 32) -> Dict[str, torch.Tensor]:
    """Edges (j → i, both directions where both are within range) between vertices closer than
    ``radius`` (no self-loops; the ``max_neighbours`` nearest per receiver), with
    ``neighbour_radius``, ``neighbour_angle`` and ``transport`` (module docstring)."""
    p = pos.to(torch.float64)
    k = min(max_neighbours, max(p.shape[0] - 1, 0))
    if k == 0:
        empty = torch.zeros(0, dtype=pos.dtype, device=pos.device)
        return {"edge_index": torch.zeros(2, 0, dtype=torch.long, device=pos.device), "neighbour_radius": empty,
                "neighbour_angle": empty, "transport": empty}
    dists, nbrs = [], []
    for s in range(0, p.shape[0], 2048):  # [chunk, V] distances at a time, not [V, V]
        d = torch.cdist(p[s : s + 2048], p)
        rows = torch.arange(d.shape[0], device=p.device)
        d[rows, rows + s] = float("inf")
        dist_c, nbr_c = torch.topk(d, k, dim=1, largest=False)
        dists.append(dist_c)
        nbrs.append(nbr_c)
    dist, nbr = torch.cat(dists), torch.cat(nbrs)
    recv = torch.arange(p.shape[0], device=p.device)[:, None].expand_as(nbr)
    keep = dist <= radius
    edge_index = torch.stack([nbr[keep], recv[keep]])
    n64, fx, fy = normal.to(torch.float64), frame_x.to(torch.float64), frame_y.to(torch.float64)
    r, a = log_map(p, edge_index, fx, fy)
    t = transport_angles(p, edge_index, n64, fx, fy)
    return {"edge_index": edge_index, "neighbour_radius": r.to(pos.dtype), "neighbour_angle": a.to(pos.dtype),
            "transport": t.to(pos.dtype)}
