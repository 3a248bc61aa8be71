"""Mesh input checks, edges from faces, and area-weighted vertex normals.

A triangle mesh is ``pos`` [V, 3] (vertex positions) and ``face`` [3, F] (PyG's layout:
one column per triangle, vertex indices). Faces are assumed consistently oriented; the
normal of face (a, b, c) is n_f = (x_b − x_a) × (x_c − x_a), of length twice its area.
"""
from __future__ import annotations

import torch

#: The normal given to a vertex whose incident faces have no area, or whose area-weighted
#: face normals cancel (an isolated vertex, a vertex of zero-area faces only, a fold).
FALLBACK_NORMAL = (0.0, 0.0, 1.0)


def check_positions(pos: torch.Tensor, who: str) -> torch.Tensor:
    """Raise a ``ValueError`` unless ``pos`` is a finite floating [V, 3] tensor."""
    if not isinstance(pos, torch.Tensor):
        raise TypeError(f"{who}: expected pos as a torch.Tensor [V, 3], got {type(pos).__name__}")
    if pos.dim() != 2 or pos.shape[1] != 3:
        raise ValueError(f"{who}: expected pos of shape [V, 3], got {list(pos.shape)}")
    if not pos.is_floating_point():
        raise ValueError(f"{who}: expected floating-point pos, got dtype {pos.dtype}")
    if not torch.isfinite(pos).all():
        raise ValueError(f"{who}: pos contains non-finite values (NaN or inf)")
    return pos


def check_faces(face: torch.Tensor, num_nodes: int, who: str) -> torch.Tensor:
    """Raise a ``ValueError`` unless ``face`` is an integer [3, F] tensor of vertex indices."""
    if not isinstance(face, torch.Tensor):
        raise TypeError(f"{who}: expected face as a torch.Tensor [3, F], got {type(face).__name__}")
    if face.dim() != 2 or face.shape[0] != 3:
        raise ValueError(f"{who}: expected triangles as face of shape [3, F] (PyG layout), got {list(face.shape)}")
    if face.dtype not in (torch.int64, torch.int32):
        raise ValueError(f"{who}: expected integer face indices (int64), got dtype {face.dtype}")
    if face.numel() and (int(face.min()) < 0 or int(face.max()) >= num_nodes):
        raise ValueError(
            f"{who}: face indices must lie in [0, {num_nodes}) for {num_nodes} vertices, "
            f"got range [{int(face.min())}, {int(face.max())}]"
        )
    return face.long()


def check_edge_index(edge_index: torch.Tensor, num_nodes: int, who: str) -> torch.Tensor:
    """Raise a ``ValueError`` unless ``edge_index`` is an integer [2, E] tensor of vertex indices."""
    if not isinstance(edge_index, torch.Tensor):
        raise TypeError(f"{who}: expected edge_index as a torch.Tensor [2, E], got {type(edge_index).__name__}")
    if edge_index.dim() != 2 or edge_index.shape[0] != 2:
        raise ValueError(f"{who}: expected edge_index of shape [2, E], got {list(edge_index.shape)}")
    if edge_index.dtype not in (torch.int64, torch.int32):
        raise ValueError(f"{who}: expected integer edge_index (int64), got dtype {edge_index.dtype}")
    if edge_index.numel() and (int(edge_index.min()) < 0 or int(edge_index.max()) >= num_nodes):
        raise ValueError(
            f"{who}: edge_index entries must lie in [0, {num_nodes}) for {num_nodes} vertices, "
            f"got range [{int(edge_index.min())}, {int(edge_index.max())}]"
        )
    return edge_index.long()


def face_edges(face: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """The edges of a triangle mesh, both directions, sorted by (sender, receiver): [2, E].

    Uses PyG's ``FaceToEdge`` (``to_undirected`` coalesces: no duplicates, no self-loops
    unless a face repeats a vertex).
    """
    from torch_geometric.data import Data
    from torch_geometric.transforms import FaceToEdge

    face = check_faces(face, num_nodes, "face_edges")
    return FaceToEdge(remove_faces=False)(Data(face=face, num_nodes=num_nodes)).edge_index


def face_normals(pos: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
    """n_f = (x_b − x_a) × (x_c − x_a) per face (a, b, c): [F, 3], length = twice the face's area."""
    tri = pos[face]  # [3, F, 3]
    return torch.linalg.cross(tri[1] - tri[0], tri[2] - tri[0], dim=-1)


def vertex_normals(pos: torch.Tensor, face: torch.Tensor, return_degenerate: bool = False):
    """Unit vertex normals: the area-weighted sum of the incident faces' normals, normalised.

    n_i = Σ_{f ∋ i} n_f / |Σ_{f ∋ i} n_f| with n_f = (x_b − x_a) × (x_c − x_a) (|n_f| = 2·area).
    (PyG's ``GenerateMeshNormals`` sums *unit* face normals and leaves a zero vector where
    they cancel, so it is not used here.)

    Never NaN: a vertex is **degenerate** when |Σ n_f| ≤ 64·eps·Σ|n_f| (its faces have no area,
    or their normals cancel, e.g. an isolated vertex or a fold); it gets ``FALLBACK_NORMAL``
    = (0, 0, 1). With ``return_degenerate=True`` returns ``(normal, degenerate)`` where
    ``degenerate`` is a boolean [V] mask. Runs in the dtype of ``pos``.
    """
    pos = check_positions(pos, "vertex_normals")
    face = check_faces(face, pos.shape[0], "vertex_normals")
    fn = face_normals(pos, face)
    summed = torch.zeros_like(pos).index_add_(0, face.flatten(), fn.repeat(3, 1))
    total = torch.zeros(pos.shape[0], dtype=pos.dtype, device=pos.device).index_add_(
        0, face.flatten(), fn.norm(dim=-1).repeat(3)
    )
    length = summed.norm(dim=-1)
    degenerate = length <= 64 * torch.finfo(pos.dtype).eps * total
    degenerate = degenerate | (length == 0)
    fallback = torch.tensor(FALLBACK_NORMAL, dtype=pos.dtype, device=pos.device).expand_as(pos)
    normal = torch.where(degenerate[:, None], fallback, summed / length.clamp_min(torch.finfo(pos.dtype).tiny)[:, None])
    return (normal, degenerate) if return_degenerate else normal


def unit_normals(normal: torch.Tensor) -> torch.Tensor:
    """Normalise given normals [V, 3]; zero or non-finite rows become ``FALLBACK_NORMAL``."""
    length = normal.norm(dim=-1, keepdim=True)
    ok = torch.isfinite(normal).all(-1, keepdim=True) & (length > torch.finfo(normal.dtype).tiny)
    fallback = torch.tensor(FALLBACK_NORMAL, dtype=normal.dtype, device=normal.device).expand_as(normal)
    safe = torch.where(ok, normal, fallback)
    return torch.where(ok, safe / torch.where(ok, length, torch.ones_like(length)), fallback)


def boundary_vertices(face: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """Boolean [V] mask of vertices on a boundary edge (an edge used by exactly one face)."""
    und = torch.cat([face[[0, 1]], face[[1, 2]], face[[2, 0]]], 1).sort(0).values  # [2, 3F]
    uniq, counts = torch.unique(und, dim=1, return_counts=True)
    mask = torch.zeros(num_nodes, dtype=torch.bool, device=face.device)
    once = uniq[:, counts == 1]
    mask[once.flatten()] = True
    return mask
