"""GaugeTransform: the group law, g_ij ↦ h_i g_ij h_j⁻¹ for SO(2) and C_N, and consistency with
the geometry (recomputing it in turned frames) and with the checker's GaugeSymmetry."""
import math

import pytest
import torch

from gdl.gauge import GaugeTransform, MeshGeometry, surface_geometry
from gdl.groups import SO2, Cyclic, FieldType, wrap_angle
from gdl.testing import GaugeSymmetry, check_equivariance
from gdl.testing.mutations import GaugeConvolution
from gdl.testing.strategies import triangle_mesh

F64 = torch.float64
GROUPS = [SO2(), Cyclic(6)]


def field_rep(group):
    """ρ_0 ⊕ ρ_1 ⊕ ρ_2 of the group (dim 5)."""
    return group.irrep(0) + group.irrep(1) + group.irrep(2)


def random_connection(group, e, seed):
    return group.sample(e, torch.Generator().manual_seed(seed), dtype=F64)


def assert_same_elements(group, a, b, tol=1e-12):
    if group == SO2():
        assert wrap_angle(a - b).abs().max() < tol
    else:
        assert torch.equal(a, b)


@pytest.mark.parametrize("group", GROUPS, ids=str)
def test_composition_law(group):
    """Acting with h, then h', equals acting with h' ∘ h — on fields, connections, angles, frames."""
    mesh = triangle_mesh("sphere", subdivisions=1, noise=0.1)
    v, ei = mesh.num_nodes, mesh.edge_index
    h = GaugeTransform.random(group, v, torch.Generator().manual_seed(1), dtype=F64)
    h2 = GaugeTransform.random(group, v, torch.Generator().manual_seed(2), dtype=F64)
    both = h2 @ h
    rep = field_rep(group)
    x = torch.randn(v, 3, rep.dim, generator=torch.Generator().manual_seed(0), dtype=F64)
    assert (h2.transform_field(h.transform_field(x, rep), rep) - both.transform_field(x, rep)).abs().max() < 1e-12
    g = random_connection(group, ei.shape[1], 3)
    assert_same_elements(group, h2.transform_connection(h.transform_connection(g, ei), ei), both.transform_connection(g, ei))
    geo = surface_geometry(mesh.pos, mesh.face, ei)
    for fn in ("transform_transport", "transform_neighbour_angle"):
        key = "transport" if fn == "transform_transport" else "neighbour_angle"
        once = getattr(h2, fn)(getattr(h, fn)(geo[key], ei), ei)
        assert wrap_angle(once - getattr(both, fn)(geo[key], ei)).abs().max() < 1e-12
    fx, fy = h2.transform_frames(*h.transform_frames(geo["frame_x"], geo["frame_y"]))
    bx, by = both.transform_frames(geo["frame_x"], geo["frame_y"])
    assert (fx - bx).abs().max() < 1e-12 and (fy - by).abs().max() < 1e-12
    identity = h.inverse() @ h
    assert_same_elements(group, identity.elements, group.identity(v, dtype=F64))


@pytest.mark.parametrize("group", GROUPS, ids=str)
def test_connection_transforms_as_h_i_g_h_j_inverse(group):
    ei = torch.tensor([[0, 1, 2, 3, 0, 2], [1, 2, 0, 0, 3, 2]])  # includes a self-loop 2 → 2
    h = GaugeTransform.random(group, 4, torch.Generator().manual_seed(0), dtype=F64)
    g = random_connection(group, 6, 1)
    out = h.transform_connection(g, ei)
    src, dst = ei
    if group == SO2():
        expected = wrap_angle(h.elements[dst] + g - h.elements[src])
    else:
        expected = torch.remainder(h.elements[dst] + g - h.elements[src], group.n)
    assert_same_elements(group, out, expected)
    # matrix form: ρ(h_i g_ij h_j⁻¹) = ρ(h_i) ρ(g_ij) ρ(h_j)⁻¹
    rho = group.irrep(1)
    lhs = rho.matrix(out.reshape(-1), dtype=F64)
    rhs = rho.matrix(h.elements[dst], dtype=F64) @ rho.matrix(g, dtype=F64) @ rho.matrix(h.elements[src], dtype=F64).transpose(1, 2)
    assert (lhs - rhs).abs().max() < 1e-12
    assert_same_elements(group, out[5:], g[5:])  # a self-loop's connection is conjugated: unchanged in an abelian group


@pytest.mark.parametrize("group", GROUPS, ids=str)
def test_fields_transform_by_their_rep_per_vertex(group):
    rep = field_rep(group)
    h = GaugeTransform.random(group, 7, torch.Generator().manual_seed(4), dtype=F64)
    x = torch.randn(7, 2, rep.dim, generator=torch.Generator().manual_seed(5), dtype=F64)
    expected = torch.einsum("vab,vcb->vca", rep.matrix(h.elements, dtype=F64), x)
    assert (h.transform_field(x, FieldType(group, rep)) - expected).abs().max() < 1e-13
    # the channel axis elsewhere: [V, dim, 2] with axis −2
    xt = x.transpose(1, 2).contiguous()
    assert (h.transform_field(xt, FieldType(group, rep, axis=-2)) - expected.transpose(1, 2)).abs().max() < 1e-13


def test_a_cyclic_gauge_acts_on_geometry_through_its_angles():
    c6 = Cyclic(6)
    k = torch.tensor([0, 1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 0])
    h = GaugeTransform(c6, k)
    rotations = h.as_rotations()
    assert rotations.group == SO2()
    assert wrap_angle(rotations.elements - wrap_angle(k.to(F64) * 2 * math.pi / 6)).abs().max() < 1e-15
    mesh = MeshGeometry()(triangle_mesh("sphere", subdivisions=0, geometry=False))
    assert wrap_angle(h.transform_transport(mesh.transport, mesh.edge_index)
                      - rotations.transform_connection(mesh.transport, mesh.edge_index)).abs().max() == 0


@pytest.mark.parametrize("group", GROUPS, ids=str)
def test_changing_the_gauge_equals_recomputing_the_geometry_in_turned_frames(group):
    """transform_data(MeshGeometry(mesh)) == MeshGeometry with the frames turned by −θ_i as the
    reference: the gauge action and the geometry agree (to 1e-12)."""
    mesh = MeshGeometry()(triangle_mesh("sphere", subdivisions=1, noise=0.1, seed=3, geometry=False))
    h = GaugeTransform.random(group, mesh.num_nodes, torch.Generator().manual_seed(8), dtype=F64)
    moved = h.transform_data(mesh)
    turned, _ = h.transform_frames(mesh.frame_x, mesh.frame_y)
    again = surface_geometry(mesh.pos, mesh.face, mesh.edge_index, reference=turned)
    for key in ("frame_x", "frame_y"):
        assert (moved[key] - again[key]).abs().max() < 1e-12
    for key in ("transport", "neighbour_angle"):
        assert wrap_angle(moved[key] - again[key]).abs().max() < 1e-12
    for key in ("normal", "neighbour_radius", "pos"):
        assert torch.equal(moved[key], mesh[key])
    assert not torch.equal(moved.transport, mesh.transport)


def test_the_checker_uses_this_action():
    """GaugeSymmetry's action on a sample == GaugeTransform.transform_data on the same element,
    and a gauge convolution on MeshGeometry output passes the checker."""
    torch.manual_seed(0)
    mesh = MeshGeometry()(triangle_mesh("sphere", subdivisions=1, geometry=False))
    model = GaugeConvolution().double()
    x = torch.randn(mesh.num_nodes, 5, dtype=F64)
    from gdl.testing._sample import build_sample

    args = (x, mesh.edge_index, mesh.transport, mesh.neighbour_angle)
    sample = build_sample(model, args, model.in_type, dtype=F64, device="cpu")
    theta = GaugeSymmetry().elements(sample, n_grid=2, n_random=2, seed=0, device="cpu").values
    acted = GaugeSymmetry().act_inputs(theta, sample, sample.copies(theta.shape[0]))
    for k in range(theta.shape[0]):
        h = GaugeTransform(SO2(), theta[k])
        mesh.x = x
        moved = h.transform_data(mesh, {"x": model.in_type["x"]})
        assert torch.equal(acted["x"][k], moved.x)
        assert torch.equal(acted["transport"][k], moved.transport)
        assert torch.equal(acted["neighbour_angle"][k], moved.neighbour_angle)
        # equivariance by hand: f(h·mesh) = h·f(mesh)
        with torch.no_grad():
            out = model(moved.x, moved.edge_index, moved.transport, moved.neighbour_angle)
            ref = h.transform_field(model(*args), model.out_type)
        assert (out - ref).abs().max() < 1e-12 * max(1.0, float(ref.abs().max()))
    assert check_equivariance(model, *args).passed


def test_stacked_copies_act_copy_by_copy():
    """[K, V] elements act on [K, V, ...] tensors and [K, 2, E] edge indices as K separate transforms."""
    mesh = triangle_mesh("sphere", subdivisions=0)
    theta = SO2().sample(3 * mesh.num_nodes, torch.Generator().manual_seed(0), dtype=F64).reshape(3, -1)
    stacked = GaugeTransform(SO2(), theta)
    rep = field_rep(SO2())
    x = torch.randn(3, mesh.num_nodes, rep.dim, generator=torch.Generator().manual_seed(1), dtype=F64)
    ei = mesh.edge_index.expand(3, 2, -1)
    t = mesh.transport.expand(3, -1)
    for k in range(3):
        single = GaugeTransform(SO2(), theta[k])
        assert torch.equal(stacked.transform_field(x, rep)[k], single.transform_field(x[k], rep))
        assert torch.equal(stacked.transform_transport(t, ei)[k], single.transform_transport(mesh.transport, mesh.edge_index))
        assert torch.equal(stacked.transform_transport(t, mesh.edge_index)[k], single.transform_transport(mesh.transport, mesh.edge_index))


def test_bad_input_is_refused_by_name():
    h = GaugeTransform(SO2(), torch.zeros(4, dtype=F64))
    with pytest.raises(ValueError, match=r"expected elements of shape \[V\] or \[K, V\], got \[2, 2, 2\]"):
        GaugeTransform(SO2(), torch.zeros(2, 2, 2, dtype=F64))
    with pytest.raises(TypeError, match=r"cannot act on a field of C4"):
        h.transform_field(torch.zeros(4, 2, dtype=F64), Cyclic(4).irrep(1))
    with pytest.raises(ValueError, match=r"leading shape \[4\] \(copies, vertices\)"):
        h.transform_field(torch.zeros(5, 2, dtype=F64), SO2().irrep(1))
    with pytest.raises(ValueError, match=r"expected edge_index of shape \[2, E\]"):
        h.transform_transport(torch.zeros(3, dtype=F64), torch.zeros(3, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="one sample"):
        GaugeTransform(SO2(), torch.zeros(2, 4, dtype=F64)).transform_data(triangle_mesh("sphere"))
    with pytest.raises(ValueError, match="the data has no field 'h'"):
        h.transform_data(triangle_mesh("sphere"), {"h": SO2().irrep(1)})
    with pytest.raises(TypeError, match="cannot combine"):
        h @ GaugeTransform(Cyclic(3), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match=r"elements are integers in \[0, 3\)"):
        GaugeTransform(Cyclic(3), torch.tensor([0, 5]))
