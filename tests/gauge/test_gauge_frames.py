"""Vertex normals and tangent frames: orthonormal, tangent, right-handed, NaN-free for every input."""
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gdl.gauge import (
    FALLBACK_NORMAL,
    face_edges,
    first_neighbour_reference,
    rotate_frames,
    surface_geometry,
    tangent_frames,
    unit_normals,
    vertex_normals,
)
from gdl.testing.strategies import triangle_mesh, triangle_meshes

F64 = torch.float64


def assert_orthonormal_frames(normal, ex, ey, tol=1e-12):
    for t in (normal, ex, ey):
        assert torch.isfinite(t).all()
    assert ((normal.norm(dim=1) - 1).abs().max()) < tol
    assert ((ex.norm(dim=1) - 1).abs().max()) < tol
    assert ((ey.norm(dim=1) - 1).abs().max()) < tol
    assert (ex * normal).sum(1).abs().max() < tol  # tangent
    assert (ey * normal).sum(1).abs().max() < tol
    assert (ex * ey).sum(1).abs().max() < tol
    assert (torch.linalg.cross(ex, ey, dim=1) - normal).abs().max() < tol  # (e_x, e_y, n) right-handed


def adversarial_normals():
    """Unit normals along and against every axis, nearly along them, and random ones."""
    axes = torch.cat([torch.eye(3, dtype=F64), -torch.eye(3, dtype=F64)])
    nearly = axes + 1e-13 * torch.tensor([[1.0, -1.0, 1.0]], dtype=F64)
    nearly2 = axes + 1e-7 * torch.tensor([[0.3, 0.2, -0.5]], dtype=F64)
    diag = torch.tensor([[1.0, 1.0, 1.0], [-1.0, 1.0, 1.0], [1.0, -1.0, 0.0]], dtype=F64)
    rand = torch.randn(20, 3, generator=torch.Generator().manual_seed(0), dtype=F64)
    n = torch.cat([axes, nearly, nearly2, diag, rand])
    return n / n.norm(dim=1, keepdim=True)


@pytest.mark.parametrize("reference", [(1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0), (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)])
def test_frames_are_orthonormal_and_tangent_for_any_global_reference(reference):
    """A global reference direction parallel (or antiparallel, or nearly) to some normals:
    GEM-CNN's "x" gauge gives NaN there; ours falls back to the least-aligned axis."""
    n = adversarial_normals()
    ex, ey = tangent_frames(n, reference)
    assert_orthonormal_frames(n, ex, ey)


def test_frames_follow_the_reference_where_it_is_usable():
    n = torch.tensor([[0.0, 0.0, 1.0], [0.0, 0.6, 0.8]], dtype=F64)
    ex, ey = tangent_frames(n, (1.0, 0.0, 0.0))
    assert torch.allclose(ex, torch.tensor([[1.0, 0, 0], [1.0, 0, 0]], dtype=F64), atol=1e-15)
    assert torch.allclose(ey, torch.tensor([[0.0, 1, 0], [0.0, 0.8, -0.6]], dtype=F64), atol=1e-15)


def test_reference_parallel_to_the_normal_falls_back_to_the_least_aligned_axis():
    n = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.6, 0.0, 0.8]], dtype=F64)
    ex, _ = tangent_frames(n, n.clone())  # reference = the normal itself: no tangential part
    # least aligned axes: y for (1,0,0), x for (0,0,-1), y for (0.6,0,0.8)
    expected = torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=F64)
    assert torch.allclose(ex, expected, atol=1e-15)


def test_zero_and_non_finite_normals_fall_back():
    bad = torch.tensor([[0.0, 0.0, 0.0], [float("nan"), 0.0, 1.0], [float("inf"), 0.0, 0.0], [0.0, 3.0, 4.0]], dtype=F64)
    n = unit_normals(bad)
    fallback = torch.tensor(FALLBACK_NORMAL, dtype=F64)
    assert torch.equal(n[:3], fallback.expand(3, 3)) and torch.allclose(n[3], torch.tensor([0, 0.6, 0.8], dtype=F64))
    ex, ey = tangent_frames(bad, (0.0, 0.0, 1.0))
    assert_orthonormal_frames(n, ex, ey)


def test_reference_of_wrong_shape_or_non_finite_is_refused():
    n = adversarial_normals()
    with pytest.raises(ValueError, match=r"expected reference of shape \[3\] or \[41, 3\], got \[2, 3\]"):
        tangent_frames(n, torch.zeros(2, 3, dtype=F64))
    with pytest.raises(ValueError, match="non-finite"):
        tangent_frames(n, (float("nan"), 0.0, 0.0))


def test_area_weighted_normals_of_a_sphere_point_outwards():
    mesh = triangle_mesh("sphere", subdivisions=2, noise=0.0)
    n = vertex_normals(mesh.pos, mesh.face)
    radial = mesh.pos / mesh.pos.norm(dim=1, keepdim=True)
    assert (n[:12] - radial[:12]).norm(dim=1).max() < 1e-12  # the icosahedron's vertices: symmetric fans, exactly radial
    assert (n * radial).sum(1).min() > math.cos(0.03)  # the others: within 0.03 rad of radial


def test_area_weighting():
    """A vertex shared by a big face in the xy-plane and a small one in the xz-plane."""
    pos = torch.tensor([[0.0, 0, 0], [2, 0, 0], [0, 2, 0], [0, 0, 1], [1, 0, 0]], dtype=F64)
    face = torch.tensor([[0, 1, 2], [0, 3, 4]]).T  # areas 2 (normal +z) and 0.5 (normal +y... sign by orientation)
    n = vertex_normals(pos, face)
    fn_big = torch.tensor([0.0, 0, 4]) / 1.0  # (x1−x0)×(x2−x0) = (2,0,0)×(0,2,0)
    fn_small = torch.linalg.cross(torch.tensor([0.0, 0, 1]), torch.tensor([1.0, 0, 0]), dim=0)  # (0,1,0)
    expected = (fn_big + fn_small).to(F64)
    assert torch.allclose(n[0], expected / expected.norm(), atol=1e-15)


def test_degenerate_meshes_never_give_nan():
    """Zero-area faces (repeated and collinear vertices), an isolated vertex, a fold whose
    two faces cancel, and a flat mesh with the reference along its normal."""
    pos = torch.tensor([
        [0.0, 0, 0], [1, 0, 0], [0, 1, 0],          # a good triangle 0 1 2
        [5.0, 5, 5], [6, 6, 6], [7, 7, 7],          # collinear: zero area
        [9.0, 9, 9],                                # isolated vertex
        [0.0, 0, 3], [1, 0, 3], [0, 1, 3],          # a fold: the same triangle twice, opposite orientations
    ], dtype=F64)
    face = torch.tensor([[0, 1, 2], [3, 4, 5], [1, 1, 2], [7, 8, 9], [7, 9, 8]]).T
    normal, degenerate = vertex_normals(pos, face, return_degenerate=True)
    assert degenerate.tolist() == [False, False, False, True, True, True, True, True, True, True]
    assert torch.equal(normal[3:], torch.tensor(FALLBACK_NORMAL, dtype=F64).expand(7, 3))
    for reference in ("neighbour", (0.0, 0.0, 1.0), (1.0, 0.0, 0.0)):
        geo = surface_geometry(pos, face, reference=reference, curvature=True)
        for key, value in geo.items():
            if value.is_floating_point():
                assert torch.isfinite(value).all(), (reference, key)
        assert_orthonormal_frames(geo["normal"], geo["frame_x"], geo["frame_y"])


def test_flat_mesh_with_the_reference_along_its_normal():
    mesh = triangle_mesh("grid", rows=4, cols=5, noise=0.0)
    geo = surface_geometry(mesh.pos, mesh.face, reference=(0.0, 0.0, 1.0))
    assert torch.equal(geo["normal"], torch.tensor([0.0, 0, 1], dtype=F64).expand(20, 3))
    assert torch.equal(geo["frame_x"], torch.tensor([1.0, 0, 0], dtype=F64).expand(20, 3))  # fallback: the x axis
    assert geo["transport"].abs().max() == 0


def test_first_neighbour_reference_skips_self_loops_and_isolated_vertices():
    pos = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 2, 0], [5, 5, 5]], dtype=F64)
    ei = torch.tensor([[0, 2, 1, 0, 3], [0, 0, 0, 1, 3]])  # self-loops at 0 and 3; 0 hears 2 first
    ref = first_neighbour_reference(pos, ei)
    assert torch.equal(ref, torch.tensor([[0.0, 2, 0], [-1, 0, 0], [0, 0, 0], [0, 0, 0]], dtype=F64))


def test_the_neighbour_gauge_rotates_with_the_mesh():
    """Frames from the first-neighbour reference are covariant: rotating the mesh rotates the
    frames, and every angle stays the same."""
    mesh = triangle_mesh("sphere", subdivisions=1, noise=0.1, seed=3)
    q, _ = torch.linalg.qr(torch.randn(3, 3, generator=torch.Generator().manual_seed(1), dtype=F64))
    q = q * torch.linalg.det(q)  # a rotation
    geo = surface_geometry(mesh.pos, mesh.face, mesh.edge_index)
    moved = surface_geometry(mesh.pos @ q.T + torch.tensor([1.0, -2.0, 0.5], dtype=F64), mesh.face, mesh.edge_index)
    for key in ("normal", "frame_x", "frame_y"):
        assert (moved[key] - geo[key] @ q.T).abs().max() < 1e-12
    for key in ("neighbour_radius", "neighbour_angle", "transport"):
        diff = moved[key] - geo[key]
        diff = torch.remainder(diff + math.pi, 2 * math.pi) - math.pi if key != "neighbour_radius" else diff
        assert diff.abs().max() < 1e-12


def test_rotate_frames_turns_coordinates_by_plus_theta():
    n = adversarial_normals()[:10]
    ex, ey = tangent_frames(n, (1.0, 0.3, -0.2))
    theta = torch.linspace(-3, 3, 10, dtype=F64)
    ex2, ey2 = rotate_frames(ex, ey, theta)
    assert_orthonormal_frames(n, ex2, ey2)
    v = 0.7 * ex - 1.3 * ey  # coordinates (0.7, −1.3) in the old frame
    new = torch.stack([(v * ex2).sum(1), (v * ey2).sum(1)], 1)
    c, s = torch.cos(theta), torch.sin(theta)
    expected = torch.stack([0.7 * c + 1.3 * s, 0.7 * s - 1.3 * c], 1)
    assert (new - expected).abs().max() < 1e-14


def test_face_edges_match_the_mesh_strategy():
    mesh = triangle_mesh("sphere", subdivisions=1)
    assert torch.equal(face_edges(mesh.face, mesh.num_nodes), mesh.edge_index)
    assert mesh.edge_index.shape[1] == 2 * 120  # 42 vertices, 80 faces, 120 edges


def test_bad_mesh_input_is_refused_by_name():
    pos = torch.zeros(4, 3, dtype=F64)
    with pytest.raises(ValueError, match=r"expected pos of shape \[V, 3\], got \[4, 2\]"):
        vertex_normals(torch.zeros(4, 2), torch.zeros(3, 1, dtype=torch.long))
    with pytest.raises(ValueError, match=r"face of shape \[3, F\] \(PyG layout\), got \[2, 3\]"):
        vertex_normals(pos, torch.zeros(2, 3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"face indices must lie in \[0, 4\) for 4 vertices, got range \[0, 7\]"):
        vertex_normals(pos, torch.tensor([[0], [1], [7]]))
    with pytest.raises(ValueError, match="non-finite"):
        vertex_normals(torch.full((4, 3), float("nan")), torch.tensor([[0], [1], [2]]))
    with pytest.raises(ValueError, match=r"integer face indices"):
        vertex_normals(pos, torch.zeros(3, 1))


@settings(max_examples=8)
@given(triangle_meshes(max_subdivisions=2, noise=0.2), st.sampled_from(["neighbour", (1.0, 0.0, 0.0), (0.0, 0.0, 1.0)]))
def test_geometry_of_random_meshes_is_finite_and_orthonormal(mesh, reference):
    geo = surface_geometry(mesh.pos, mesh.face, mesh.edge_index, reference=reference, curvature=True)
    assert_orthonormal_frames(geo["normal"], geo["frame_x"], geo["frame_y"])
    for key in ("neighbour_radius", "neighbour_angle", "transport", "angle_deficit", "fan_holonomy"):
        assert torch.isfinite(geo[key]).all(), key
    assert (geo["neighbour_angle"].abs() <= math.pi).all() and (geo["transport"].abs() <= math.pi).all()
