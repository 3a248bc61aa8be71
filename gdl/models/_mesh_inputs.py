"""Reading a batch of triangle meshes, and rotation-invariant per-vertex shape descriptors.

A mesh batch is a PyG ``Batch`` of ``Data(pos [V, 3], face [3, F])`` (PyG offsets ``face`` by the
vertex counts when it batches). ``read_mesh`` checks it once, with errors that name the attribute.

``invariant_vertex_features`` (the inputs of ``InvariantFeatureMLP``): for each vertex i, with n_i
the area-weighted normal, ℓ the mesh's mean edge length, A the uniform neighbourhood average
(x ↦ mean of the neighbours' x) and s ∈ ``scales``:

- d_s(i) = ((Aˢ x)_i − x_i) · n_i / ℓ: how far the surface around i, smoothed s times, lies above
  or below it along the normal (a multi-scale mean curvature; for s = 1 the umbrella operator);
- m_s(i) = |(Aˢ x)_i − x_i| / ℓ;
- κ_i / (A_i / ℓ²), the angle deficit per barycentric area (Gaussian curvature × ℓ²), and
  log(A_i / mean A).

Every quantity is built from differences of positions, lengths and dot products with normals, so it
is invariant to rotations and translations (SE(3), exactly up to rounding) and, divided by ℓ, to
scale; relabelling vertices (faces relabelled too) permutes it. A reflection Q (det Q = −1) with
the faces kept turns the normals into −Q n, so d_s **changes sign** under reflections: the
descriptors are SE(3)-, not E(3)-invariant (a mirror image is a different surface orientation).
"""
from __future__ import annotations

from typing import NamedTuple, Sequence

import torch

from gdl.gauge import angle_deficit, face_edges, face_normals, vertex_normals
from gdl.groups import FieldType
from gdl.nn import check_batch
from gdl.nn._types import euclidean_group

__all__ = ["MeshInputs", "read_mesh", "invariant_vertex_features", "mesh_point_type", "mesh_scalar_type",
           "scatter_mean"]


class MeshInputs(NamedTuple):
    pos: torch.Tensor  # [V, 3]
    face: torch.Tensor  # [3, F]
    edge_index: torch.Tensor  # [2, E], both directions, from the faces
    batch: torch.Tensor  # [V]
    num_graphs: int


def mesh_point_type() -> FieldType:
    """Vertex positions: points of E(3)."""
    E = euclidean_group(3)
    return FieldType(E, E.standard_rep())


def mesh_scalar_type(channels: int) -> FieldType:
    """Per-vertex invariant channels (logits, regression outputs): scalars of E(3)."""
    E = euclidean_group(3)
    return FieldType(E, E.trivial_rep(channels))


def read_mesh(data, who: str) -> MeshInputs:
    """Check a mesh batch and return its positions, faces, face edges and batch vector."""
    for key in ("pos", "face"):
        if getattr(data, key, None) is None:
            raise ValueError(f"{who}: expected a mesh batch with data.{key} (pos [V, 3], face [3, F]); "
                             f"got keys {sorted(data.keys())}")
    pos, face = data.pos, data.face
    if not isinstance(pos, torch.Tensor) or pos.dim() != 2 or pos.shape[1] != 3 or not pos.is_floating_point():
        raise ValueError(f"{who}: expected data.pos as a float tensor [V, 3], got "
                         f"{list(pos.shape) if isinstance(pos, torch.Tensor) else type(pos).__name__}")
    if not torch.isfinite(pos).all():
        raise ValueError(f"{who}: data.pos contains non-finite values (NaN or inf)")
    if not isinstance(face, torch.Tensor) or face.dim() != 2 or face.shape[0] != 3 or face.is_floating_point():
        raise ValueError(f"{who}: expected data.face as an integer tensor [3, F], got "
                         f"{list(face.shape) if isinstance(face, torch.Tensor) else type(face).__name__}")
    if face.shape[1] == 0:
        raise ValueError(f"{who}: the mesh has no faces; expected triangles in data.face [3, F]")
    num_nodes = pos.shape[0]
    if int(face.min()) < 0 or int(face.max()) >= num_nodes:
        raise ValueError(f"{who}: data.face indices must lie in [0, {num_nodes}), got [{int(face.min())}, {int(face.max())}]")
    batch = getattr(data, "batch", None)
    if batch is None:
        batch = torch.zeros(num_nodes, dtype=torch.long, device=pos.device)
    else:
        check_batch(batch, num_nodes, "data.batch")
    num_graphs = int(batch.max()) + 1 if num_nodes else 0
    return MeshInputs(pos, face.long(), face_edges(face.long(), num_nodes), batch, num_graphs)


def scatter_mean(values: torch.Tensor, index: torch.Tensor, size: int) -> torch.Tensor:
    """Mean of the rows of ``values`` per group ``index`` ([size, ...]; empty groups give 0)."""
    total = torch.zeros((size,) + values.shape[1:], dtype=values.dtype, device=values.device).index_add_(0, index, values)
    count = torch.zeros(size, dtype=values.dtype, device=values.device).index_add_(
        0, index, torch.ones_like(index, dtype=values.dtype))
    return total / count.clamp_min(1).reshape((size,) + (1,) * (values.dim() - 1))


def invariant_vertex_features(mesh: MeshInputs, scales: Sequence[int] = (1, 4, 16, 64)) -> torch.Tensor:
    """The descriptors of the module docstring, [V, 2·len(scales) + 2], in the dtype of ``pos``."""
    pos, face, edge_index, batch, num_graphs = mesh
    num_nodes = pos.shape[0]
    source, target = edge_index
    length = (pos[source] - pos[target]).norm(dim=-1)
    edge_graph = batch[target]
    ell = scatter_mean(length, edge_graph, num_graphs)[batch].clamp_min(torch.finfo(pos.dtype).tiny)  # [V]
    normal = vertex_normals(pos, face)
    degree = torch.zeros(num_nodes, dtype=pos.dtype, device=pos.device).index_add_(
        0, target, torch.ones_like(length)).clamp_min(1)
    columns_d, columns_m = [], []
    smoothed, step, wanted = pos, 0, sorted(set(int(s) for s in scales))
    for s in wanted:
        while step < s:
            smoothed = torch.zeros_like(pos).index_add_(0, target, smoothed[source]) / degree[:, None]
            step += 1
        offset = smoothed - pos
        columns_d.append((offset * normal).sum(-1) / ell)
        columns_m.append(offset.norm(dim=-1) / ell)
    area = face_normals(pos, face).norm(dim=-1) / 2
    vertex_area = torch.zeros(num_nodes, dtype=pos.dtype, device=pos.device).index_add_(
        0, face.flatten(), area.repeat(3) / 3).clamp_min(torch.finfo(pos.dtype).tiny)
    gaussian = angle_deficit(pos, face) / (vertex_area / ell ** 2)
    log_area = torch.log(vertex_area / scatter_mean(vertex_area, batch, num_graphs)[batch])
    return torch.stack(columns_d + columns_m + [gaussian, log_area], dim=1)
