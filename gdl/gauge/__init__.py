"""gdl.gauge: local symmetry on surfaces — tangent frames, the log map of neighbours, the
Levi-Civita connection (a transport angle per edge), curvature, and gauge transformations.

A global symmetry is a constant gauge field; a gauge transformation is one group element per
vertex (a change of every tangent frame). ``MeshGeometry`` computes the geometry of a
triangle mesh as a PyG transform; ``GaugeTransform`` changes the gauge of fields (through
their reps of ``SO2()`` or ``Cyclic(N)``), of the connection (g_ij ↦ h_i g_ij h_j⁻¹) and of
the geometry. Imports only ``gdl.groups`` (and torch / PyG).

>>> import torch
>>> from gdl.gauge import MeshGeometry, GaugeTransform
>>> from gdl.groups import SO2
"""
from gdl.gauge._cache import cached_surface_geometry, clear_geometry_cache, geometry_cache_stats
from gdl.gauge._connection import log_map, rotate_tangent_vectors, transport_angles
from gdl.gauge._curvature import (angle_deficit, connection_curvature, corner_angles, fan_holonomy, gaussian_curvature,
                                  vertex_areas)
from gdl.gauge._frames import first_neighbour_reference, least_aligned_axis, rotate_frames, tangent_frames
from gdl.gauge._geometry import surface_geometry
from gdl.gauge._pooling import farthest_point_sampling, pooling_geometry, radius_graph_geometry
from gdl.gauge._laplacian import cotangent_laplacian
from gdl.gauge._mesh import FALLBACK_NORMAL, boundary_vertices, face_edges, face_normals, unit_normals, vertex_normals
from gdl.gauge._transform import GaugeTransform
from gdl.gauge._validation import MeshReport, MeshValidationError, validate_mesh

__all__ = [
    "MeshGeometry", "surface_geometry", "GaugeTransform",
    "vertex_normals", "face_normals", "unit_normals", "face_edges", "boundary_vertices", "FALLBACK_NORMAL",
    "tangent_frames", "first_neighbour_reference", "least_aligned_axis", "rotate_frames",
    "log_map", "transport_angles", "rotate_tangent_vectors",
    "angle_deficit", "corner_angles", "fan_holonomy", "gaussian_curvature", "connection_curvature", "vertex_areas",
    "cached_surface_geometry", "clear_geometry_cache", "geometry_cache_stats",
    "cotangent_laplacian", "validate_mesh", "MeshValidationError", "MeshReport",
    "farthest_point_sampling", "pooling_geometry", "radius_graph_geometry",
]


def __getattr__(name):
    # MeshGeometry subclasses PyG's BaseTransform: import torch_geometric only when it is used
    if name == "MeshGeometry":
        from gdl.gauge._mesh_geometry import MeshGeometry

        return MeshGeometry
    raise AttributeError(f"module 'gdl.gauge' has no attribute {name!r}")
