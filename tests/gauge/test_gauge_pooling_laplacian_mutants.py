"""Coarse levels (farthest-point sampling, the pooling assignment and its transport, radius
graphs), the cotangent Laplacian and the barycentric vertex areas, each checked against values
worked out by hand or by brute force (these functions were reached by no test of the `gauge`
mutation target: ``python -m gdl.benchmarks.mutation gauge``)."""
import math

import pytest
import torch

from gdl.gauge import (cotangent_laplacian, farthest_point_sampling, log_map, pooling_geometry, radius_graph_geometry,
                       rotate_frames, transport_angles, vertex_areas)
from gdl.groups import wrap_angle
from gdl.testing.strategies import triangle_mesh

F64 = torch.float64


def _on_a_line(xs, dtype=F64):
    x = torch.tensor(xs, dtype=dtype)
    return torch.stack([x, torch.zeros_like(x), torch.zeros_like(x)], 1)


def _unit_square():
    """Two right triangles (right angles at vertices 0 and 3), both oriented counter-clockwise."""
    pos = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]], dtype=F64)
    return pos, torch.tensor([[0, 1, 2], [1, 3, 2]]).T.contiguous()


def _flat_frames(pos, theta):
    """Frames of the plane z = 0 (normal +z) turned by −θ_i from the global (e_x, e_y)."""
    v = pos.shape[0]
    normal = torch.tensor([0.0, 0, 1], dtype=F64).expand(v, 3).contiguous()
    ex = torch.tensor([1.0, 0, 0], dtype=F64).expand(v, 3)
    ey = torch.tensor([0.0, 1, 0], dtype=F64).expand(v, 3)
    fx, fy = rotate_frames(ex, ey, theta)
    return normal, fx, fy


# -- farthest-point sampling ------------------------------------------------------------------------
def test_farthest_point_sampling_picks_the_farthest_vertex_each_step():
    pos = _on_a_line([0.0, 1.0, 3.0, 8.0, 10.0])
    # from 0: 10 is farthest; then 3 (9 from the set {0, 10}), then 8 (4), then 1 (1)
    assert farthest_point_sampling(pos, 5).tolist() == [0, 4, 2, 3, 1]
    assert farthest_point_sampling(pos, 3).tolist() == [0, 4, 2]
    # from 8: 0 (64), then 3 (9 from {8, 0}), then 10 (4), then 1
    assert farthest_point_sampling(pos, 5, start=3).tolist() == [3, 0, 2, 4, 1]
    assert farthest_point_sampling(pos, 1, start=4).tolist() == [4]
    assert farthest_point_sampling(pos, 2).dtype == torch.long


@pytest.mark.parametrize("n,start,match", [(0, 0, "1 ≤ n ≤ 5"), (6, 0, "1 ≤ n ≤ 5"), (2, 5, r"in \[0, 5\), got 5"),
                                           (2, -1, r"in \[0, 5\), got -1")])
def test_farthest_point_sampling_refuses_bad_counts_and_starts(n, start, match):
    with pytest.raises(ValueError, match=match):
        farthest_point_sampling(_on_a_line([0.0, 1.0, 3.0, 8.0, 10.0]), n, start=start)


# -- pooling assignment and transport ---------------------------------------------------------------
def test_fine_vertices_pool_to_the_nearest_coarse_vertex_ties_to_the_lower_index():
    pos = _on_a_line([0.0, 0.9, 1.0, 1.1, 2.0, 3.0, 5.0])
    coarse = torch.tensor([4, 0, 6])  # positions 2, 0, 5: coarse ids 0, 1, 2
    normal, fx, fy = _flat_frames(pos, torch.zeros(7, dtype=F64))
    geo = pooling_geometry(pos, normal, fx, fy, coarse)
    # 0.9 → 0 (coarse id 1); 1.0 is as far from 0 as from 2: the lower coarse id (0, the vertex at 2) wins
    assert geo["pool_index"].tolist() == [1, 1, 0, 0, 0, 0, 2]
    assert torch.equal(geo["coarse_index"], coarse) and geo["coarse_index"].dtype == torch.long
    assert torch.equal(geo["pool_transport"], torch.zeros(7, dtype=F64))  # equal frames on a plane


def test_a_coarse_vertex_pools_to_itself_even_when_another_is_as_near():
    pos = _on_a_line([0.0, 0.0, 1.0])  # vertices 0 and 1 at the same place, both coarse
    normal, fx, fy = _flat_frames(pos, torch.tensor([0.0, 0.7, -0.4], dtype=F64))
    geo = pooling_geometry(pos, normal, fx, fy, torch.tensor([0, 1]))
    assert geo["pool_index"].tolist() == [0, 1, 0]
    assert geo["pool_transport"][:2].tolist() == [0.0, 0.0]


def test_pool_transport_is_the_levi_civita_angle_of_the_edge_to_the_coarse_vertex():
    gen = torch.Generator().manual_seed(0)
    xy = torch.rand(30, 2, generator=gen, dtype=F64)
    pos = torch.cat([xy, torch.zeros(30, 1, dtype=F64)], 1)
    theta = (torch.rand(30, generator=gen, dtype=F64) * 2 - 1) * math.pi
    normal, fx, fy = _flat_frames(pos, theta)
    coarse = torch.tensor([17, 3, 25, 8, 11])
    geo = pooling_geometry(pos, normal, fx, fy, coarse)
    nearest = torch.cdist(pos, pos[coarse]).argmin(1)
    nearest[coarse] = torch.arange(5)
    assert torch.equal(geo["pool_index"], nearest)
    # on a plane the transport q → p is the difference of the frames' angles, θ_p − θ_q
    expect = wrap_angle(theta[coarse[nearest]] - theta)
    assert wrap_angle(geo["pool_transport"] - expect).abs().max() < 1e-12
    assert (geo["pool_transport"][coarse] == 0).all()
    # on a curved mesh: the same angle as transport_angles along q → p
    mesh = triangle_mesh("sphere", subdivisions=1)
    from gdl.gauge import surface_geometry

    g = surface_geometry(mesh.pos, mesh.face)
    coarse = farthest_point_sampling(mesh.pos, 12)
    geo = pooling_geometry(mesh.pos, g["normal"], g["frame_x"], g["frame_y"], coarse)
    edges = torch.stack([torch.arange(mesh.num_nodes), coarse[geo["pool_index"]]])
    alpha = transport_angles(mesh.pos, edges, g["normal"], g["frame_x"], g["frame_y"])
    alpha[coarse] = 0.0
    assert (geo["pool_transport"] - alpha).abs().max() < 1e-12 and geo["pool_transport"].abs().max() > 1e-3


def test_pooling_geometry_of_an_empty_level_is_empty():
    empty = torch.zeros(0, 3, dtype=F64)
    geo = pooling_geometry(empty, empty, empty, empty, torch.zeros(0, dtype=torch.long))
    assert geo["pool_index"].shape == (0,) and geo["pool_index"].dtype == torch.long
    assert geo["pool_transport"].shape == (0,) and geo["pool_transport"].dtype == F64


def test_pooling_geometry_is_computed_in_float64_and_returned_in_the_positions_dtype():
    gen = torch.Generator().manual_seed(1)
    pos = torch.cat([torch.rand(20, 2, generator=gen, dtype=F64), torch.zeros(20, 1, dtype=F64)], 1)
    theta = torch.rand(20, generator=gen, dtype=F64) * 2
    normal, fx, fy = _flat_frames(pos, theta)
    coarse = torch.tensor([0, 9, 14], dtype=torch.int32)
    exact = pooling_geometry(pos, normal, fx, fy, coarse)
    single = pooling_geometry(pos.float(), normal.float(), fx.float(), fy.float(), coarse)
    assert single["pool_transport"].dtype == torch.float32 and single["coarse_index"].dtype == torch.long
    assert torch.equal(single["pool_index"], exact["pool_index"])
    assert (single["pool_transport"].double() - exact["pool_transport"]).abs().max() < 1e-6


# -- radius graphs on a coarse level ----------------------------------------------------------------
def _brute_force_edges(pos, radius, k):
    d = torch.cdist(pos, pos)
    d.fill_diagonal_(float("inf"))
    order = torch.argsort(d, dim=1)[:, :k]  # [V, k] nearest first
    receiver = torch.arange(pos.shape[0])[:, None].expand_as(order)
    near = d.gather(1, order) <= radius
    return set(zip(order[near].tolist(), receiver[near].tolist()))


@pytest.mark.parametrize("n,radius,k", [(60, 0.35, 32), (60, 0.35, 3), (2100, 0.06, 4)])
def test_radius_graph_keeps_the_nearest_neighbours_within_the_radius(n, radius, k):
    gen = torch.Generator().manual_seed(n + k)
    pos = torch.rand(n, 3, generator=gen, dtype=F64)
    normal = torch.nn.functional.normalize(torch.randn(n, 3, generator=gen, dtype=F64), dim=1)
    from gdl.gauge import tangent_frames

    fx, fy = tangent_frames(normal, (1.0, 0.3, -0.2))
    geo = radius_graph_geometry(pos, normal, fx, fy, radius=radius, max_neighbours=k)
    ei = geo["edge_index"]
    got = set(zip(ei[0].tolist(), ei[1].tolist()))
    assert len(got) == ei.shape[1] and got == _brute_force_edges(pos, radius, k)  # 2100 > one chunk of 2048
    r, a = log_map(pos, ei, fx, fy)
    t = transport_angles(pos, ei, normal, fx, fy)
    assert torch.equal(geo["neighbour_radius"], r) and torch.equal(geo["neighbour_angle"], a)
    assert torch.equal(geo["transport"], t)


def test_radius_graph_includes_the_radius_itself_and_handles_one_vertex():
    pos = _on_a_line([0.0, 1.0, 2.5])
    normal, fx, fy = _flat_frames(pos, torch.zeros(3, dtype=F64))
    geo = radius_graph_geometry(pos, normal, fx, fy, radius=1.0)
    assert sorted(zip(*geo["edge_index"].tolist())) == [(0, 1), (1, 0)]
    assert geo["neighbour_radius"].tolist() == [1.0, 1.0]
    single = radius_graph_geometry(pos[:1].float(), normal[:1].float(), fx[:1].float(), fy[:1].float(), radius=1.0)
    assert single["edge_index"].shape == (2, 0) and single["edge_index"].dtype == torch.long
    for key in ("neighbour_radius", "neighbour_angle", "transport"):
        assert single[key].shape == (0,) and single[key].dtype == torch.float32
    # an infinite radius still never pairs a vertex with itself
    alone = radius_graph_geometry(pos[:1], normal[:1], fx[:1], fy[:1], radius=math.inf)
    assert alone["edge_index"].shape == (2, 0)
    wide = radius_graph_geometry(pos.float(), normal.float(), fx.float(), fy.float(), radius=5.0)
    assert wide["edge_index"].shape == (2, 6) and wide["transport"].dtype == torch.float32
    assert wide["neighbour_radius"].dtype == torch.float32 and wide["neighbour_angle"].dtype == torch.float32


# -- cotangent Laplacian and vertex areas -----------------------------------------------------------
def test_cotangent_laplacian_of_two_right_triangles_by_hand():
    pos, face = _unit_square()
    lap, mass = cotangent_laplacian(pos, face)
    # the diagonal 1–2 faces right angles on both sides (cot 90° = 0); the sides face 45° (cot = 1)
    expect = torch.tensor([[1.0, -0.5, -0.5, 0.0], [-0.5, 1.0, 0.0, -0.5], [-0.5, 0.0, 1.0, -0.5],
                           [0.0, -0.5, -0.5, 1.0]], dtype=F64)
    assert torch.allclose(torch.as_tensor(lap.toarray()), expect, atol=1e-15)
    assert torch.allclose(torch.as_tensor(mass.toarray()), torch.diag(torch.tensor([1 / 6, 1 / 3, 1 / 3, 1 / 6],
                                                                                   dtype=F64)), atol=1e-15)
    # an isolated last vertex keeps its (empty) row and column: the matrices are [V, V]
    lap, mass = cotangent_laplacian(torch.cat([pos, torch.tensor([[3.0, 3, 3]], dtype=F64)]), face)
    assert lap.shape == (5, 5) and mass.shape == (5, 5) and abs(lap[4]).sum() == 0


def test_cotangent_laplacian_is_symmetric_positive_semi_definite_and_linearly_precise():
    mesh = triangle_mesh("sphere", subdivisions=1, geometry=False)
    lap, mass = cotangent_laplacian(mesh.pos, mesh.face)
    dense = torch.as_tensor(lap.toarray())
    assert torch.allclose(dense, dense.T, atol=1e-14) and dense.sum(1).abs().max() < 1e-12
    assert torch.linalg.eigvalsh(dense).min() > -1e-12
    assert abs(mass.diagonal().sum() - float(vertex_areas(mesh.pos, mesh.face).sum())) < 1e-12
    # on a flat mesh L annihilates linear functions at interior vertices (Σ_j w_ij (x_j − x_i) = 0)
    grid = triangle_mesh("grid", rows=5, cols=5, noise=0.0, geometry=False)
    lap, _ = cotangent_laplacian(grid.pos, grid.face)
    linear = torch.as_tensor(lap @ (2.0 * grid.pos[:, 0] - 3.0 * grid.pos[:, 1] + 1.0).numpy())
    interior = torch.tensor([r * 5 + c for r in range(1, 4) for c in range(1, 4)])
    assert linear[interior].abs().max() < 1e-12 and linear.abs().max() > 1e-3  # boundary rows do not vanish


def test_vertex_areas_are_a_third_of_the_incident_faces_and_zero_when_isolated():
    pos, face = _unit_square()
    pos = torch.cat([pos, torch.tensor([[4.0, 4.0, 4.0]], dtype=F64)])
    areas = vertex_areas(pos, face)
    assert torch.allclose(areas, torch.tensor([1 / 6, 1 / 3, 1 / 3, 1 / 6, 0.0], dtype=F64), atol=1e-15)
    tilted = torch.tensor([[0.0, 0, 0], [2, 0, 0], [0, 0, 3]], dtype=F64)  # area 3
    assert torch.allclose(vertex_areas(tilted, torch.tensor([[0], [1], [2]])), torch.full((3,), 1.0, dtype=F64))
