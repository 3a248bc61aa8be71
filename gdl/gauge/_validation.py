"""Checks of a triangle mesh before its geometry is computed, with clear errors.

``validate_mesh(pos, face)`` raises a ``MeshValidationError`` (a ``ValueError``) naming the
problem, how many elements have it, the first offending indices, and what to do:

| problem | why it matters | handling |
|---|---|---|
| no faces (F = 0) | no normals, no tangent planes: a point cloud or a graph | error |
| a face repeating a vertex | a zero-length edge and an undefined corner angle | error |
| zero-area face (collinear corners) | no normal, undefined corner angles | error: |n_f| ≤ 64·eps·(longest edge)² |
| zero-length edge between distinct vertices (duplicate vertices in one face) | r = 0 and no log-map angle | error |
| non-manifold edge (in more than two faces) | no consistent tangent plane / fan around it | error |
| isolated vertex (in no face) | no neighbours | allowed: fallback normal (0, 0, 1), frame from the least-aligned axis; a convolution gives it its self-interaction only |
| boundary (an edge in one face) | open fan | allowed: angle deficit π − Σ, fan holonomy 0 there |
| duplicate positions of vertices not sharing a face (a seam, or meshes batched together) | none for the geometry | allowed, counted in the report |

It returns a ``MeshReport`` (counts of isolated and boundary vertices and of duplicate
positions). Vectorised over faces and edges (sorting and ``unique``), no loops over vertices.
Geometry is NaN-free even without validation (``gdl.gauge._frames``, ``_connection``);
validation turns silent fallbacks into errors where the geometry would be meaningless.
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from gdl.gauge._mesh import boundary_vertices, check_faces, check_positions, face_normals


class MeshValidationError(ValueError):
    """A triangle mesh that has no meaningful tangent geometry (see ``validate_mesh``)."""


class MeshReport(NamedTuple):
    vertices: int
    faces: int
    isolated_vertices: int
    boundary_vertices: int
    duplicate_positions: int


def _first(idx: torch.Tensor, k: int = 5) -> str:
    items = idx.flatten().tolist()[:k]
    return ", ".join(map(str, items)) + (", …" if idx.numel() > k else "")


def validate_mesh(pos: torch.Tensor, face: torch.Tensor, who: str = "validate_mesh") -> MeshReport:
    """Raise ``MeshValidationError`` for a mesh without tangent geometry, else a ``MeshReport``
    (module docstring). ``pos`` [V, 3], ``face`` [3, F]."""
    pos = check_positions(pos, who)
    v = pos.shape[0]
    face = check_faces(face, v, who)
    f = face.shape[1]
    if f == 0:
        raise MeshValidationError(f"{who}: the mesh has no faces ({v} vertices, face of shape {list(face.shape)}); "
                                  f"a mesh needs triangles for normals and tangent planes (a point cloud or graph "
                                  f"has no gauge geometry)")
    repeated = (face[0] == face[1]) | (face[1] == face[2]) | (face[2] == face[0])
    if repeated.any():
        bad = repeated.nonzero().flatten()
        raise MeshValidationError(f"{who}: {bad.numel()} face(s) repeat a vertex (faces {_first(bad)}, e.g. "
                                  f"{face[:, bad[0]].tolist()}); remove them")
    p = pos.to(torch.float64)
    tri = p[face]
    longest = torch.stack([(tri[1] - tri[0]).norm(dim=-1), (tri[2] - tri[1]).norm(dim=-1),
                           (tri[0] - tri[2]).norm(dim=-1)]).amax(0)
    short = torch.stack([(tri[1] - tri[0]).norm(dim=-1), (tri[2] - tri[1]).norm(dim=-1),
                         (tri[0] - tri[2]).norm(dim=-1)]).amin(0)
    if (short == 0).any():
        bad = (short == 0).nonzero().flatten()
        raise MeshValidationError(f"{who}: {bad.numel()} face(s) have two distinct vertices at the same position "
                                  f"(duplicate vertices; faces {_first(bad)}, e.g. vertices {face[:, bad[0]].tolist()}); "
                                  f"merge the duplicates and drop the faces they collapse")
    double_area = face_normals(p, face).norm(dim=-1)
    eps = torch.finfo(torch.float64).eps
    flat = double_area <= 64 * eps * longest**2
    if flat.any():
        bad = flat.nonzero().flatten()
        raise MeshValidationError(f"{who}: {bad.numel()} face(s) have zero area (collinear corners; faces "
                                  f"{_first(bad)}); remove them or perturb their vertices")
    und = torch.cat([face[[0, 1]], face[[1, 2]], face[[2, 0]]], 1).sort(0).values
    uniq, counts = torch.unique(und, dim=1, return_counts=True)
    if (counts > 2).any():
        bad = uniq[:, counts > 2]
        raise MeshValidationError(f"{who}: {bad.shape[1]} non-manifold edge(s) lie in more than two faces "
                                  f"(edges {[tuple(e) for e in bad[:, :5].T.tolist()]}); a surface mesh needs at most two "
                                  f"faces per edge")
    used = torch.zeros(v, dtype=torch.bool, device=face.device)
    used[face.flatten()] = True
    rounded = torch.unique(p, dim=0)
    return MeshReport(v, f, int((~used).sum()), int(boundary_vertices(face, v).sum()), v - rounded.shape[0])
