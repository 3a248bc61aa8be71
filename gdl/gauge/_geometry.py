"""``surface_geometry``: the gauge geometry of a triangle mesh (``MeshGeometry`` writes it onto a PyG ``Data``).

One call computes, vectorised over vertices and edges (no Python loops):

| attribute | shape | meaning |
|---|---|---|
| ``normal`` | [V, 3] | area-weighted unit vertex normal (``vertex_normals``) |
| ``degenerate_normal`` | [V] bool | the normal fell back to (0, 0, 1) (no area, or cancelling faces) |
| ``frame_x``, ``frame_y`` | [V, 3] | the tangent frame (``tangent_frames``): (e_x, e_y, n) right-handed |
| ``neighbour_radius`` | [E] | chord length r_ij = |x_j − x_i| (``log_map``) |
| ``neighbour_angle`` | [E] | log-map angle φ_ij of x_j in the receiver i's frame |
| ``transport`` | [E] | Levi-Civita transport angle α_ij: ρ(α_ij) x_j is x_j in i's frame |
| ``angle_deficit``, ``fan_holonomy`` | [V] | with ``curvature=True`` (see ``gdl.gauge._curvature``) |

Edge e = (j → i): ``edge_index[0, e] = j`` sends, ``edge_index[1, e] = i`` receives. The
names ``transport`` and ``neighbour_angle`` are the ones ``gdl.testing.GaugeSymmetry`` acts on.
"""
from __future__ import annotations

from typing import Dict, Optional, Tuple, Union

import torch

from gdl.gauge._connection import log_map, transport_angles
from gdl.gauge._curvature import angle_deficit, fan_holonomy
from gdl.gauge._frames import first_neighbour_reference, tangent_frames
from gdl.gauge._mesh import check_edge_index, check_faces, check_positions, face_edges, unit_normals, vertex_normals

Reference = Union[str, torch.Tensor, Tuple[float, float, float]]


def surface_geometry(pos: torch.Tensor, face: torch.Tensor, edge_index: Optional[torch.Tensor] = None, *,
                     reference: Reference = "neighbour", normal: Optional[torch.Tensor] = None,
                     curvature: bool = False, dtype: Optional[torch.dtype] = None,
                     geometry: str = "extrinsic") -> Dict[str, torch.Tensor]:
    """The table of ``MeshGeometry`` as a dict of tensors (plus ``edge_index``).

    ``face``: [3, F]; ``edge_index``: [2, E] (default: the faces' edges, both directions,
    ``face_edges``). ``reference``: ``"neighbour"`` (e_x towards the first neighbour,
    ``first_neighbour_reference``: rotates with the mesh) or a direction [3] / per-vertex
    [V, 3] (e.g. ``(1, 0, 0)``; where it is parallel to the normal the frame falls back to the
    least-aligned axis, never NaN). ``normal``: given unit normals [V, 3] instead of the
    area-weighted ones. Computed in float64, returned in ``dtype`` (default: ``pos.dtype``).
    ``geometry``: ``"extrinsic"`` (chord log map, Rodrigues transport; default) or
    ``"intrinsic"`` (geodesic log map and vector-heat transport from potpourri3d,
    ``gdl.gauge._intrinsic``; same frames and conventions).
    """
    if geometry not in ("extrinsic", "intrinsic"):
        raise ValueError(f"surface_geometry: geometry is 'extrinsic' or 'intrinsic', got {geometry!r}")
    who = "surface_geometry"
    pos = check_positions(pos, who)
    out_dtype = dtype or pos.dtype
    p = pos.to(torch.float64)
    face = check_faces(face, p.shape[0], who)
    edge_index = face_edges(face, p.shape[0]) if edge_index is None else check_edge_index(edge_index, p.shape[0], who)
    if normal is None:
        n, degenerate = vertex_normals(p, face, return_degenerate=True)
    else:
        if not isinstance(normal, torch.Tensor) or normal.shape != pos.shape:
            raise ValueError(f"{who}: expected normal of shape {list(pos.shape)}, got "
                             f"{list(normal.shape) if isinstance(normal, torch.Tensor) else type(normal).__name__}")
        raw = normal.to(torch.float64)
        degenerate = ~torch.isfinite(raw).all(-1) | (raw.norm(dim=-1) == 0)
        n = unit_normals(raw)
    if isinstance(reference, str):
        if reference != "neighbour":
            raise ValueError(f"{who}: reference is 'neighbour' or a direction ([3] or [V, 3]), got {reference!r}")
        ref = first_neighbour_reference(p, edge_index)
    else:
        ref = torch.as_tensor(reference, dtype=torch.float64, device=p.device)
    ex, ey = tangent_frames(n, ref)
    if geometry == "intrinsic":
        from gdl.gauge._intrinsic import intrinsic_log_map_and_transport

        radius, angle, transport = intrinsic_log_map_and_transport(p, face, edge_index, n, ex, ey)
    else:
        radius, angle = log_map(p, edge_index, ex, ey)
        transport = transport_angles(p, edge_index, n, ex, ey)
    geo = {
        "edge_index": edge_index,
        "normal": n,
        "degenerate_normal": degenerate,
        "frame_x": ex,
        "frame_y": ey,
        "neighbour_radius": radius,
        "neighbour_angle": angle,
        "transport": transport,
    }
    if curvature:
        geo["angle_deficit"] = angle_deficit(p, face)
        geo["fan_holonomy"] = fan_holonomy(p, face, n, ex, ey)
    return {k: v.to(out_dtype) if v.is_floating_point() else v for k, v in geo.items()}
