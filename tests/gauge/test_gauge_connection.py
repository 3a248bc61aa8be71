"""The log map, the Levi-Civita transport and the curvature of the connection."""
import math

import torch

from gdl.gauge import (
    angle_deficit,
    face_normals,
    rotate_tangent_vectors,
    surface_geometry,
    tangent_frames,
    transport_angles,
)
from gdl.groups import wrap_angle
from gdl.testing.strategies import triangle_mesh

F64 = torch.float64


def random_rotation(seed):
    q, _ = torch.linalg.qr(torch.randn(3, 3, generator=torch.Generator().manual_seed(seed), dtype=F64))
    return q * torch.linalg.det(q)


def reverse_edge(edge_index, num_nodes):
    """For each edge j → i the id of the edge i → j."""
    key = edge_index[0] * num_nodes + edge_index[1]
    order = torch.argsort(key)
    rev_key = edge_index[1] * num_nodes + edge_index[0]
    return order[torch.searchsorted(key[order], rev_key)]


def fan_areas(pos, face):
    area = face_normals(pos, face).norm(dim=1) / 2
    return torch.zeros(pos.shape[0], dtype=F64).index_add_(0, face.flatten(), area.repeat(3))


# -- log map ----------------------------------------------------------------------------------------
def test_log_map_is_exact_on_a_plane():
    """A flat grid moved into a random plane: radius = edge length, angle = atan2 in the frame."""
    mesh = triangle_mesh("grid", rows=4, cols=5, noise=0.0)
    q = random_rotation(0)
    pos = mesh.pos @ q.T + torch.tensor([0.3, -1.0, 2.0], dtype=F64)
    geo = surface_geometry(pos, mesh.face, mesh.edge_index, reference=q[:, 0])  # e_x = Q·x̂, so e_y = Q·ŷ
    src, dst = mesh.edge_index
    d = mesh.pos[src] - mesh.pos[dst]  # in the plane's own coordinates
    assert (geo["frame_x"] - q[:, 0]).abs().max() < 1e-12 and (geo["frame_y"] - q[:, 1]).abs().max() < 1e-12
    assert (geo["neighbour_radius"] - d.norm(dim=1)).abs().max() < 1e-12
    assert wrap_angle(geo["neighbour_angle"] - torch.atan2(d[:, 1], d[:, 0])).abs().max() < 1e-12


def test_log_map_angle_in_the_neighbour_gauge():
    """With e_x towards the first neighbour, that neighbour sits at angle 0, and every angle is
    atan2 of the chord's coordinates in the vertex's own frame."""
    mesh = triangle_mesh("sphere", subdivisions=1, noise=0.1, seed=2)
    geo = surface_geometry(mesh.pos, mesh.face, mesh.edge_index)
    src, dst = mesh.edge_index
    first = torch.full((mesh.num_nodes,), 10**9).scatter_reduce(0, dst, torch.arange(len(dst)), reduce="amin")
    assert geo["neighbour_angle"][first].abs().max() < 1e-12
    d = mesh.pos[src] - mesh.pos[dst]
    x, y = (d * geo["frame_x"][dst]).sum(1), (d * geo["frame_y"][dst]).sum(1)
    assert wrap_angle(geo["neighbour_angle"] - torch.atan2(y, x)).abs().max() < 1e-12
    assert (geo["neighbour_radius"] - d.norm(dim=1)).abs().max() < 1e-12


def test_self_loops_have_zero_radius_angle_and_transport():
    mesh = triangle_mesh("sphere", subdivisions=0)
    loops = torch.arange(mesh.num_nodes).repeat(2, 1)
    geo = surface_geometry(mesh.pos, mesh.face, torch.cat([mesh.edge_index, loops], 1))
    e = mesh.edge_index.shape[1]
    for key in ("neighbour_radius", "neighbour_angle", "transport"):
        assert geo[key][e:].abs().max() < 1e-15
    plain = surface_geometry(mesh.pos, mesh.face, mesh.edge_index)
    assert torch.equal(geo["frame_x"], plain["frame_x"])  # self-loops never serve as the reference neighbour


# -- transport ----------------------------------------------------------------------------------------
def test_transport_is_zero_on_a_plane_with_a_global_reference():
    mesh = triangle_mesh("grid", rows=5, cols=5, noise=0.0)
    q = random_rotation(1)
    geo = surface_geometry(mesh.pos @ q.T, mesh.face, mesh.edge_index, reference=(1.0, 2.0, 3.0))
    assert geo["transport"].abs().max() < 1e-12


def test_transport_on_a_plane_is_the_difference_of_frame_angles():
    mesh = triangle_mesh("grid", rows=4, cols=4, noise=0.0)
    geo = surface_geometry(mesh.pos, mesh.face, mesh.edge_index)  # neighbour gauge: frames differ
    psi = torch.atan2(geo["frame_x"][:, 1], geo["frame_x"][:, 0])  # each frame's angle in the plane
    src, dst = mesh.edge_index
    assert wrap_angle(geo["transport"] - (psi[src] - psi[dst])).abs().max() < 1e-12
    assert (psi[src] != psi[dst]).any()


def test_transport_matches_the_rotation_matrix_and_is_antisymmetric():
    """α_ij from an independent construction: R = exp(ω [k]×) with k = (n_j × n_i)/|·| and
    ω = the angle between the normals; and α_ji = −α_ij."""
    mesh = triangle_mesh("sphere", subdivisions=1, noise=0.2, seed=5)
    geo = surface_geometry(mesh.pos, mesh.face, mesh.edge_index)
    src, dst = mesh.edge_index
    nj, ni = geo["normal"][src], geo["normal"][dst]
    axis = torch.linalg.cross(nj, ni, dim=1)
    omega = torch.atan2(axis.norm(dim=1), (nj * ni).sum(1))
    k = axis / axis.norm(dim=1, keepdim=True)
    zero = torch.zeros_like(omega)
    skew = torch.stack([torch.stack([zero, -k[:, 2], k[:, 1]], 1), torch.stack([k[:, 2], zero, -k[:, 0]], 1),
                        torch.stack([-k[:, 1], k[:, 0], zero], 1)], 1)
    rot = torch.linalg.matrix_exp(omega[:, None, None] * skew)
    assert (torch.einsum("eab,eb->ea", rot, nj) - ni).abs().max() < 1e-12
    moved = torch.einsum("eab,eb->ea", rot, geo["frame_x"][src])
    expected = torch.atan2((moved * geo["frame_y"][dst]).sum(1), (moved * geo["frame_x"][dst]).sum(1))
    assert wrap_angle(geo["transport"] - expected).abs().max() < 1e-12
    rev = reverse_edge(mesh.edge_index, mesh.num_nodes)
    assert wrap_angle(geo["transport"] + geo["transport"][rev]).abs().max() < 1e-12


def test_rotation_of_tangent_vectors_at_equal_nearly_and_exactly_opposite_normals():
    z = torch.tensor([[0.0, 0.0, 1.0]], dtype=F64)
    x, y = torch.tensor([[1.0, 0, 0]], dtype=F64), torch.tensor([[0.0, 1, 0]], dtype=F64)
    assert torch.equal(rotate_tangent_vectors(y, z, z, x), y)  # equal normals: the identity
    assert torch.allclose(rotate_tangent_vectors(y, z, -z, x), -y, atol=1e-15)  # a half-turn about the hinge x
    assert torch.allclose(rotate_tangent_vectors(x, z, -z, x), x, atol=1e-15)
    for tilt in (1e-20, 1e-9, 1e-6, 1e-3):  # nearly opposite: finite, unit, tangent at the target
        target = torch.tensor([[tilt, 0.0, -1.0]], dtype=F64)
        target = target / target.norm()
        for v in (x, y):
            out = rotate_tangent_vectors(v, z, target, x)
            assert torch.isfinite(out).all() and abs(out.norm() - 1) < 1e-12 and (out * target).sum().abs() < 1e-12


def test_a_fold_gives_finite_transport():
    """Two triangles folded flat onto each other: antiparallel normals across the shared edge."""
    pos = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0.2, 1, 0]], dtype=F64)
    face = torch.tensor([[0, 1, 2], [1, 0, 3]]).T  # the second triangle lies on the first, facing down
    normal = torch.tensor([[0.0, 0, 1], [0, 0, 1], [0, 0, 1], [0, 0, -1]], dtype=F64)
    geo = surface_geometry(pos, face, normal=normal)
    assert torch.isfinite(geo["transport"]).all()
    ex, ey = tangent_frames(normal, (1.0, 0.0, 0.0))
    alpha = transport_angles(pos, torch.tensor([[3], [2]]), normal, ex, ey)
    # 3 → 2 across the fold: the half-turn about the hinge (the chord x_3 − x_2 = (0.2, 0, 0)) keeps e_x
    assert alpha.abs().max() < 1e-15


# -- curvature ------------------------------------------------------------------------------------------
def test_angle_deficit_satisfies_gauss_bonnet():
    for kind, chi in (("sphere", 2), ("grid", 1)):
        mesh = triangle_mesh(kind, subdivisions=2, rows=4, cols=6, noise=0.1, seed=4)
        assert abs(angle_deficit(mesh.pos, mesh.face).sum() - 2 * math.pi * chi) < 1e-12


def test_fan_holonomy_on_a_sphere_is_the_enclosed_curvature():
    """Smoke check: on a sphere of radius R (K = 1/R²) the holonomy around each vertex's fan
    is ≈ K·(fan area) (within 12% on an icosphere, whose fans are uneven) and ≈ 3 × the angle
    deficit on average; its sum is exactly 3·2πχ = 12π (the wrapped fan holonomies of a
    closed mesh sum to a multiple of 2π because the transport is antisymmetric)."""
    radius = 2.0
    mesh = triangle_mesh("sphere", subdivisions=2, noise=0.0)
    pos = radius * mesh.pos
    geo = surface_geometry(pos, mesh.face, curvature=True)
    hol = geo["fan_holonomy"]
    ratio = hol / (fan_areas(pos, mesh.face) / radius**2)
    assert ratio.min() > 0.88 and ratio.max() < 1.08
    assert abs((hol / (3 * geo["angle_deficit"])).mean() - 1) < 0.01
    assert abs(hol.sum() - 12 * math.pi) < 1e-12
    bumpy = triangle_mesh("sphere", subdivisions=2, noise=0.05, seed=1)
    assert abs(surface_geometry(bumpy.pos, bumpy.face, curvature=True)["fan_holonomy"].sum() - 12 * math.pi) < 1e-12


def test_fan_holonomy_is_gauge_invariant_and_zero_on_a_plane():
    mesh = triangle_mesh("sphere", subdivisions=1, noise=0.1, seed=7)
    a = surface_geometry(mesh.pos, mesh.face, curvature=True)
    b = surface_geometry(mesh.pos, mesh.face, reference=(0.0, 0.0, 1.0), curvature=True)
    assert (a["fan_holonomy"] - b["fan_holonomy"]).abs().max() < 1e-12
    assert a["fan_holonomy"].abs().min() > 0.1
    flat = triangle_mesh("grid", rows=5, cols=5, noise=0.0)
    hol = surface_geometry(flat.pos, flat.face, curvature=True)["fan_holonomy"]
    assert hol.abs().max() < 1e-12  # interior: flat; boundary: defined as 0
