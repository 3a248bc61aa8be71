"""Mesh validation (clear errors or documented handling), the per-mesh geometry cache, and the
connection's curvature against the Gaussian curvature of spheres and cylinders."""
import math

import pytest
import torch
from torch_geometric.data import Data

from gdl.gauge import (MeshGeometry, MeshValidationError, cached_surface_geometry, clear_geometry_cache,
                       connection_curvature, gaussian_curvature, geometry_cache_stats, surface_geometry, validate_mesh)
from gdl.testing.strategies import triangle_mesh

F64 = torch.float64


def _square():
    pos = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]], dtype=F64)
    return pos, torch.tensor([[0, 1, 2], [1, 3, 2]]).T


def test_a_good_mesh_passes_with_its_report():
    pos, face = _square()
    report = validate_mesh(torch.cat([pos, torch.tensor([[5.0, 5, 5]], dtype=F64)]), face)
    assert report.isolated_vertices == 1 and report.boundary_vertices == 4 and report.duplicate_positions == 0
    closed = triangle_mesh("sphere", subdivisions=1)
    assert validate_mesh(closed.pos, closed.face).boundary_vertices == 0


@pytest.mark.parametrize("case,match", [
    ("no faces", "no faces"),
    ("repeated vertex", "repeat a vertex"),
    ("duplicate vertex", "same position"),
    ("zero area", "zero area"),
    ("non-manifold", "non-manifold edge"),
])
def test_bad_meshes_are_refused_by_name(case, match):
    pos, face = _square()
    if case == "no faces":
        face = torch.zeros(3, 0, dtype=torch.long)
    elif case == "repeated vertex":
        face = torch.cat([face, torch.tensor([[0], [0], [3]])], 1)
    elif case == "duplicate vertex":
        pos = torch.cat([pos, pos[:1]])
        face = torch.cat([face, torch.tensor([[0], [4], [1]])], 1)
    elif case == "zero area":
        pos = torch.cat([pos, torch.tensor([[2.0, 0, 0]], dtype=F64)])
        face = torch.cat([face, torch.tensor([[0], [1], [4]])], 1)
    elif case == "non-manifold":
        pos = torch.cat([pos, torch.tensor([[0.5, 0.5, 1.0], [0.5, 0.5, -1.0]], dtype=F64)])
        face = torch.cat([face, torch.tensor([[1, 1], [2, 2], [4, 5]])], 1)
    with pytest.raises(MeshValidationError, match=match):
        validate_mesh(pos, face)
    with pytest.raises(ValueError, match=match):
        MeshGeometry()(Data(pos=pos, face=face))
    # without validation the geometry is still NaN-free (documented fallbacks)
    if face.shape[1]:
        geo = MeshGeometry(validate=False)(Data(pos=pos, face=face))
        assert all(torch.isfinite(v).all() for k, v in geo.items() if isinstance(v, torch.Tensor) and v.is_floating_point())


def test_duplicate_positions_that_share_no_face_are_allowed_and_counted():
    pos, face = _square()
    two = torch.cat([pos, pos]), torch.cat([face, face + 4], 1)  # two copies (a batch)
    assert validate_mesh(*two).duplicate_positions == 4


def test_geometry_is_cached_per_mesh_and_invalidated_by_in_place_changes():
    clear_geometry_cache()
    mesh = triangle_mesh("sphere", subdivisions=1, geometry=False)
    first = cached_surface_geometry(mesh.pos, mesh.face)
    again = cached_surface_geometry(mesh.pos, mesh.face)
    assert geometry_cache_stats()["hits"] == 1 and torch.equal(first["transport"], again["transport"])
    again["transport"].add_(1.0)  # a hit returns a copy: the cache is not corrupted
    assert torch.equal(cached_surface_geometry(mesh.pos, mesh.face)["transport"], first["transport"])
    mesh.pos.mul_(2.0)  # in place: the version changes, so the entry is stale
    moved = cached_surface_geometry(mesh.pos, mesh.face)
    assert geometry_cache_stats()["misses"] == 2 and torch.allclose(moved["neighbour_radius"], 2 * first["neighbour_radius"])
    other = cached_surface_geometry(mesh.pos.clone(), mesh.face)  # another tensor object: recomputed
    assert geometry_cache_stats()["misses"] == 3 and torch.equal(other["transport"], moved["transport"])
    data = Data(pos=mesh.pos, face=mesh.face)
    t = MeshGeometry()
    assert torch.equal(t(data.clone()).transport, t(data.clone()).transport)


def _cylinder(radius=1.0, around=48, rows=12, height=2.0):
    theta = 2 * math.pi * torch.arange(around, dtype=F64) / around
    z = torch.linspace(0, height, rows, dtype=F64)
    pos = torch.stack([radius * torch.cos(theta).repeat(rows), radius * torch.sin(theta).repeat(rows),
                       z.repeat_interleave(around)], 1)
    idx = torch.arange(rows * around).reshape(rows, around)
    a, b = idx[:-1], idx[:-1].roll(-1, 1)
    c, d = idx[1:], idx[1:].roll(-1, 1)
    face = torch.cat([torch.stack([a, b, d], -1).reshape(-1, 3), torch.stack([a, d, c], -1).reshape(-1, 3)]).T
    interior = torch.zeros(rows, around, dtype=torch.bool)
    interior[1:-1] = True
    return pos, face.contiguous(), interior.flatten()


def test_curvature_of_a_cylinder_is_zero():
    pos, face, interior = _cylinder()
    geo = surface_geometry(pos, face, curvature=True)
    assert gaussian_curvature(pos, face)[interior].abs().max() < 1e-12  # a prism surface is developable
    hol = connection_curvature(pos, face, geo["normal"], geo["frame_x"], geo["frame_y"])
    assert hol[interior].abs().max() < 1e-10


@pytest.mark.parametrize("radius", [0.5, 2.0])
def test_curvature_of_a_sphere_is_one_over_radius_squared(radius):
    mesh = triangle_mesh("sphere", subdivisions=3, noise=0.0, geometry=False)
    pos = mesh.pos * radius
    geo = surface_geometry(pos, mesh.face)
    k = gaussian_curvature(pos, mesh.face)
    conn = connection_curvature(pos, mesh.face, geo["normal"], geo["frame_x"], geo["frame_y"])
    target = 1 / radius**2
    # measured (R = 1): max relative deviation 0.15 (angle deficit) and 0.11 (holonomy), means 1.005 and 1.006, 642 vertices
    assert ((k - target).abs() / target).max() < 0.2 and abs(float(k.mean()) / target - 1) < 0.02
    assert ((conn - target).abs() / target).max() < 0.2 and abs(float(conn.mean()) / target - 1) < 0.02


def test_intrinsic_geometry_agrees_with_extrinsic_on_a_sphere_and_follows_the_gauge():
    pytest.importorskip("potpourri3d")
    from gdl.gauge import GaugeTransform
    from gdl.groups import SO2, wrap_angle

    mesh = triangle_mesh("sphere", subdivisions=2, noise=0.0, geometry=False)
    ext = surface_geometry(mesh.pos, mesh.face)
    intr = surface_geometry(mesh.pos, mesh.face, geometry="intrinsic")
    # measured on this 162-vertex sphere: transport ≤ 3.3e-3 rad, angle ≤ 3.6e-3 rad, radius ≤ +1.1% (geodesic > chord)
    assert wrap_angle(intr["transport"] - ext["transport"]).abs().max() < 2e-2
    assert wrap_angle(intr["neighbour_angle"] - ext["neighbour_angle"]).abs().max() < 2e-2
    ratio = intr["neighbour_radius"] / ext["neighbour_radius"]
    assert (ratio >= 1 - 1e-6).all() and (ratio < 1.03).all()
    # antisymmetric and gauge covariant like the extrinsic connection
    src, dst = ext["edge_index"]
    key = {(a, b): e for e, (a, b) in enumerate(zip(src.tolist(), dst.tolist()))}
    back = torch.tensor([key[(b, a)] for a, b in zip(src.tolist(), dst.tolist())])
    assert wrap_angle(intr["transport"] + intr["transport"][back]).abs().max() < 1e-10
    h = GaugeTransform.random(SO2(), mesh.num_nodes, torch.Generator().manual_seed(0), dtype=F64)
    turned = surface_geometry(mesh.pos, mesh.face, reference=h.transform_frames(ext["frame_x"], ext["frame_y"])[0],
                              geometry="intrinsic")
    assert wrap_angle(turned["transport"] - h.transform_transport(intr["transport"], ext["edge_index"])).abs().max() < 1e-9
    assert wrap_angle(turned["neighbour_angle"] - h.transform_neighbour_angle(intr["neighbour_angle"], ext["edge_index"])).abs().max() < 1e-9
