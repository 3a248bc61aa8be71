"""Intrinsic geometry: the geodesic log map and the discrete Levi-Civita transport of the
vector heat method (Sharp, Soliman & Crane 2019), through potpourri3d's ``MeshVectorHeatSolver``
(optional extra ``mesh``; ``surface_geometry(..., geometry="intrinsic")``).

- Transport: the solver's vertex connection Laplacian has L_ij = −w_ij r_ij, w_ij the cotan
  weight (``cotangent_laplacian``, computed without intrinsic Delaunay flips so that its
  pattern is the mesh's edges) and r_ij = e^{iα} the rotation from j's tangent plane to i's in
  the solver's frames (b_x, b_y). In gdl's frames, turned by δ_i = the angle of e_x(i) in
  (b_x(i), b_y(i)): α_ij = arg(−L_ij / w_ij) − δ_i + δ_j.
- Log map: ``compute_log_map(i)`` gives log_i(x_j) for every j in i's solver frame; per edge
  the radius is its length (a geodesic distance, not the chord) and the angle φ_ij = its
  polar angle − δ_i. One heat solve per receiving vertex (the solver factorises once): meant
  for meshes up to a few thousand vertices (the 642-vertex icosphere: see docs/meshes.md).
Same conventions and gauge behaviour as the extrinsic geometry (``gdl.gauge._connection``).
On the 642-vertex icosphere the two agree to 9e-4 rad in transport, 8e-4 rad in angle and
0.3% in radius; its intrinsic geometry took 4.8 s (2 loaded cores; docs/meshes.md).
"""
from __future__ import annotations

from typing import Tuple

import torch

from gdl.gauge._connection import rotate_tangent_vectors
from gdl.gauge._laplacian import cotangent_laplacian


def _solver(pos: torch.Tensor, face: torch.Tensor):
    try:
        import potpourri3d as pp
    except ImportError as exc:  # pragma: no cover - the extra is installed in CI
        raise ImportError("geometry='intrinsic' needs potpourri3d: pip install 'gdl[mesh]' (or pip install potpourri3d)") from exc
    v = pos.detach().to(torch.float64).cpu().numpy()
    f = face.detach().long().T.contiguous().cpu().numpy()
    return pp.MeshVectorHeatSolver(v, f, use_intrinsic_delaunay=False)


def intrinsic_log_map_and_transport(pos: torch.Tensor, face: torch.Tensor, edge_index: torch.Tensor, normal: torch.Tensor,
                                    frame_x: torch.Tensor, frame_y: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(radius, angle, transport)`` per edge [E] (module docstring), float64."""
    import numpy as np

    solver = _solver(pos, face)
    bx, by, bn = (torch.as_tensor(b, dtype=torch.float64) for b in solver.get_tangent_frames())
    fx, n = frame_x.to(torch.float64).cpu(), normal.to(torch.float64).cpu()
    # gdl's normal and the solver's differ slightly: carry e_x into the solver's tangent plane by
    # the smallest rotation n → b_n (angle preserving, so a gauge change θ_i moves δ_i by exactly θ_i)
    ex = rotate_tangent_vectors(fx, n, bn / bn.norm(dim=-1, keepdim=True), fx)
    delta = torch.atan2((ex * by).sum(-1), (ex * bx).sum(-1))
    src, dst = edge_index[0].cpu().numpy().copy(), edge_index[1].cpu().numpy().copy()
    conn = solver.get_connection_laplacian().tocsr()
    lap, _ = cotangent_laplacian(pos, face)
    weight = -np.asarray(lap[dst, src]).ravel()
    value = np.asarray(conn[dst, src]).ravel()
    safe = np.where(np.abs(weight) > 0, weight, 1.0)
    rot = torch.as_tensor(np.angle(-value / safe), dtype=torch.float64)
    rot = torch.where(torch.as_tensor(src == dst), torch.zeros_like(rot), rot)
    d_src, d_dst = delta[edge_index[0].cpu()], delta[edge_index[1].cpu()]
    transport = torch.atan2(torch.sin(rot - d_dst + d_src), torch.cos(rot - d_dst + d_src))
    radius = torch.zeros(src.shape[0], dtype=torch.float64)
    angle = torch.zeros(src.shape[0], dtype=torch.float64)
    order = np.argsort(dst, kind="stable")
    bounds = np.searchsorted(dst[order], np.arange(pos.shape[0] + 1))
    for i in np.unique(dst):  # one heat solve per receiving vertex (the solver's API)
        edges = order[bounds[i] : bounds[i + 1]]
        log = torch.as_tensor(solver.compute_log_map(int(i))[src[edges]], dtype=torch.float64)
        radius[edges] = log.norm(dim=-1)
        angle[edges] = torch.atan2(log[:, 1], log[:, 0]) - delta[i]
    angle = torch.where(radius > 0, torch.atan2(torch.sin(angle), torch.cos(angle)), torch.zeros_like(angle))
    device = pos.device
    return radius.to(device), angle.to(device), transport.to(device)
