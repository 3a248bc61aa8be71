"""Documented behaviour of gdl.gauge that the `gauge` mutation target showed untested
(``python -m gdl.benchmarks.mutation gauge``): the zero-area threshold of ``validate_mesh``,
the errors naming their caller and the offending faces, the cache keyed on the options,
``transform_data`` on partial geometry, and dtypes of constructed transforms."""
import pytest
import torch
from torch_geometric.data import Data

from gdl.gauge import (GaugeTransform, MeshGeometry, MeshValidationError, angle_deficit, cached_surface_geometry,
                       clear_geometry_cache, geometry_cache_stats, surface_geometry, validate_mesh)
from gdl.groups import SO2, Cyclic
from gdl.testing.strategies import triangle_mesh

F64 = torch.float64
EPS = torch.finfo(F64).eps


def _thin_triangle(height, longest_side):
    """Base (0,0)–(4,0), apex (2, height): double area 4·height, longest edge 4 (the base), with the
    base as the edge between corners ``longest_side`` and ``longest_side + 1`` (mod 3)."""
    corners = torch.tensor([[0.0, 0, 0], [4, 0, 0], [2, height, 0]], dtype=F64)
    order = [(-longest_side + k) % 3 for k in range(3)]  # corner k of the face is vertex order[k]
    return corners, torch.tensor(order).reshape(3, 1)


@pytest.mark.parametrize("longest_side", [0, 1, 2])
def test_zero_area_threshold_is_64_eps_times_the_longest_edge_squared(longest_side):
    threshold = 64 * EPS * 4.0**2  # |n_f| ≤ 64·eps·(longest edge)² is "zero area"
    flat = _thin_triangle(0.7 * threshold / 4, longest_side)
    with pytest.raises(MeshValidationError, match="1 face\\(s\\) have zero area"):
        validate_mesh(*flat)
    report = validate_mesh(*_thin_triangle(1.4 * threshold / 4, longest_side))
    assert report.faces == 1 and report.vertices == 3 and report.boundary_vertices == 3


def test_validation_errors_name_the_caller_and_the_offending_faces():
    pos = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 0]], dtype=F64)
    face = torch.tensor([[0, 1, 2], [1, 3, 2], [0, 4, 1]]).T  # face 2 joins vertex 0 and its duplicate 4
    with pytest.raises(MeshValidationError, match=r"^validate_mesh: 1 face\(s\) have two distinct vertices at the same "
                                                  r"position \(duplicate vertices; faces 2, e\.g\. vertices \[0, 4, 1\]\)"):
        validate_mesh(pos, face)
    with pytest.raises(MeshValidationError, match=r"^MeshGeometry: 1 face\(s\) have two distinct vertices"):
        MeshGeometry()(Data(pos=pos, face=face))
    with pytest.raises(MeshValidationError, match=r"^mine: the mesh has no faces \(5 vertices"):
        validate_mesh(pos, torch.zeros(3, 0, dtype=torch.long), who="mine")
    with pytest.raises(ValueError, match=r"^angle_deficit: face indices must lie in \[0, 5\)"):
        angle_deficit(pos, torch.tensor([[0], [1], [7]]))


def test_the_cache_tells_meshes_and_options_apart():
    clear_geometry_cache()
    a = triangle_mesh("sphere", subdivisions=0, geometry=False)
    b = triangle_mesh("sphere", subdivisions=0, seed=1, geometry=False)
    plain = cached_surface_geometry(a.pos, a.face)
    with_curvature = cached_surface_geometry(a.pos, a.face, curvature=True)  # same tensors, other options
    assert "angle_deficit" not in plain and "angle_deficit" in with_curvature
    turned = cached_surface_geometry(a.pos, a.face, reference=(1.0, 0.0, 0.0))
    assert not torch.equal(turned["frame_x"], plain["frame_x"])
    other = cached_surface_geometry(b.pos, b.face)
    assert geometry_cache_stats() == {"hits": 0, "misses": 4, "entries": 4}
    # every entry stays: asking again for each one hits
    assert torch.equal(cached_surface_geometry(a.pos, a.face)["transport"], plain["transport"])
    assert "angle_deficit" in cached_surface_geometry(a.pos, a.face, curvature=True)
    assert torch.equal(cached_surface_geometry(b.pos, b.face)["transport"], other["transport"])
    assert geometry_cache_stats() == {"hits": 3, "misses": 4, "entries": 4}
    clear_geometry_cache()
    assert geometry_cache_stats() == {"hits": 0, "misses": 0, "entries": 0}


def test_transform_data_changes_only_the_geometry_present():
    mesh = triangle_mesh("sphere", subdivisions=0)
    geo = surface_geometry(mesh.pos, mesh.face)
    h = GaugeTransform.random(SO2(), mesh.num_nodes, torch.Generator().manual_seed(0), dtype=F64)
    only_transport = Data(pos=mesh.pos, edge_index=geo["edge_index"], transport=geo["transport"])
    out = h.transform_data(only_transport)
    assert torch.equal(out.transport, h.transform_transport(geo["transport"], geo["edge_index"]))
    assert getattr(out, "frame_x", None) is None and getattr(out, "neighbour_angle", None) is None
    one_frame = Data(pos=mesh.pos, frame_x=geo["frame_x"])  # frames are changed only as a pair
    assert torch.equal(h.transform_data(one_frame).frame_x, geo["frame_x"])
    both = h.transform_data(Data(pos=mesh.pos, frame_x=geo["frame_x"], frame_y=geo["frame_y"]))
    expect = h.transform_frames(geo["frame_x"], geo["frame_y"])
    assert torch.equal(both.frame_x, expect[0]) and torch.equal(both.frame_y, expect[1])


def test_identity_and_random_transforms_have_the_requested_dtype():
    for dtype in (torch.float32, F64):
        assert GaugeTransform.identity(SO2(), 5, dtype=dtype).elements.dtype == dtype
        assert GaugeTransform.random(SO2(), 5, torch.Generator().manual_seed(0), dtype=dtype).elements.dtype == dtype
    ident = GaugeTransform.identity(Cyclic(4), 3)
    assert ident.elements.tolist() == [0, 0, 0] and ident.num_nodes == 3 and ident.copies == ()


def test_edge_index_with_a_copy_axis_needs_stacked_copies():
    single = GaugeTransform(SO2(), torch.zeros(4, dtype=F64))
    stacked_edges = torch.zeros(1, 2, 3, dtype=torch.long)
    with pytest.raises(ValueError, match=r"expected edge_index of shape \[2, E\] \(or \[K, 2, E\] for no copies\), "
                                         r"got \[1, 2, 3\]"):
        single.transform_transport(torch.zeros(3, dtype=F64), stacked_edges)
    stacked = GaugeTransform(SO2(), torch.zeros(2, 4, dtype=F64))
    with pytest.raises(ValueError, match=r"for \(2,\) copies\), got \[3, 2, 3\]"):
        stacked.transform_transport(torch.zeros(2, 3, dtype=F64), torch.zeros(3, 2, 3, dtype=torch.long))


def test_mesh_helpers_name_themselves_in_errors():
    from gdl.gauge import vertex_normals

    pos = torch.zeros(3, 3, dtype=F64)
    with pytest.raises(ValueError, match=r"^vertex_normals: expected triangles as face of shape \[3, F\]"):
        vertex_normals(pos, torch.zeros(2, 1, dtype=torch.long))
    with pytest.raises(TypeError, match=r"^vertex_normals: expected face as a torch.Tensor \[3, F\], got list"):
        vertex_normals(pos, [[0], [1], [2]])
