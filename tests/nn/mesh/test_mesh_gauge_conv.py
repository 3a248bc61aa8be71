"""GaugeEquivariantConv: the solved kernel basis, exact gauge equivariance, the fused form
against the explicit kernel, fixed radial scale, and bad input."""
import pytest
import torch

from gdl.gauge import MeshGeometry
from gdl.groups import SO2, FieldType, FieldTypeError
from gdl.nn.mesh import GaugeEquivariantConv, hat_profile, solve_kernel_basis, solve_self_interaction_basis
from gdl.testing import GaugeSymmetry, check_equivariance
from gdl.testing.strategies import triangle_mesh


def _mesh(subdivisions=1, dtype=torch.float64):
    return MeshGeometry(dtype=dtype)(triangle_mesh("sphere", subdivisions=subdivisions, dtype=dtype))


@pytest.mark.parametrize("m,n,size,freqs", [(0, 0, 1, [0]), (0, 1, 2, [1]), (2, 0, 2, [2]), (1, 1, 4, [0, 2]),
                                            (1, 2, 4, [1, 3]), (2, 2, 4, [0, 4]), (3, 1, 4, [2, 4])])
def test_solved_basis_is_table_1_of_gem_cnn(m, n, size, freqs):
    basis = solve_kernel_basis(m, n)
    assert basis.size == size and basis.frequencies() == freqs
    gen = torch.Generator().manual_seed(1)
    phi, theta = torch.rand(2, 16, generator=gen, dtype=torch.float64) * 6 - 3
    rho_out, rho_in = (SO2().irreps(f"1x{f}").matrix(a) for f, a in ((m, theta), (n, -theta)))
    lhs = basis.evaluate(phi + theta)
    rhs = torch.einsum("spa,sbaq,sqr->sbpr", rho_out, basis.evaluate(phi), rho_in)
    assert (lhs - rhs).abs().max() < 1e-12
    # every solution is fixed by K(0): K(φ) = ρ_out(φ) K(0) ρ_in(−φ) (the fused form)
    fused = torch.einsum("spa,baq,sqr->sbpr", SO2().irreps(f"1x{m}").matrix(phi), basis.at_zero(),
                         SO2().irreps(f"1x{n}").matrix(-phi))
    assert (fused - basis.evaluate(phi)).abs().max() < 1e-12


def test_self_interaction_commutes_with_rotations():
    assert solve_self_interaction_basis(0, 0).shape[0] == 1
    assert solve_self_interaction_basis(2, 2).shape[0] == 2
    assert solve_self_interaction_basis(1, 2).shape[0] == 0 and solve_self_interaction_basis(0, 1).shape[0] == 0


@pytest.mark.parametrize("in_type,out_type", [("2x0+1x1+1x2", "1x0+2x1+1x2"), ("3x1", "2x0+1x2+1x3"),
                                              ("1x2+1x0+1x1+1x0", "1x1+2x0")])
@pytest.mark.parametrize("aggregation", ["mean", "sum"])
def test_gauge_equivariance_float64(in_type, out_type, aggregation):
    torch.manual_seed(0)
    mesh = _mesh()
    conv = GaugeEquivariantConv(in_type, out_type, max_radius=0.6, aggregation=aggregation).double()
    x = torch.randn(mesh.num_nodes, conv.in_type["x"].dim, dtype=torch.float64)
    report = check_equivariance(conv, x, mesh.edge_index, mesh.neighbour_radius, mesh.neighbour_angle, mesh.transport)
    assert report.passed, report
    assert report.per_symmetry["gauge"] <= 1e-10 and report.per_symmetry["node permutation"] <= 1e-10


def test_gauge_equivariance_float32_at_the_measured_tolerance():
    """float32: measured gauge error 2.0e-7 (printed with pytest -s); asserted ≤ 1e-5."""
    torch.manual_seed(0)
    mesh = _mesh(dtype=torch.float32)
    conv = GaugeEquivariantConv("4x0+2x1+2x2", "4x0+2x1+2x2", max_radius=0.6)
    x = torch.randn(mesh.num_nodes, conv.in_type["x"].dim)
    report = check_equivariance(conv, x, mesh.edge_index, mesh.neighbour_radius, mesh.neighbour_angle, mesh.transport,
                                symmetry=GaugeSymmetry())
    print("float32 gauge error", report.max_error)
    assert report.max_error <= 1e-5, report


def test_a_conv_without_transport_is_caught():
    """The checker fails a conv fed zero transport (neighbours not moved into i's frame)."""
    torch.manual_seed(0)
    mesh = _mesh()
    conv = GaugeEquivariantConv("1x0+1x1", "1x0+1x1", max_radius=0.6).double()

    class NoTransport(torch.nn.Module):
        in_type, out_type = conv.in_type, conv.out_type

        def forward(self, x, edge_index, neighbour_radius, neighbour_angle, transport):
            return conv(x, edge_index, neighbour_radius, neighbour_angle, torch.zeros_like(transport))

    x = torch.randn(mesh.num_nodes, 3, dtype=torch.float64)
    report = check_equivariance(NoTransport(), x, mesh.edge_index, mesh.neighbour_radius, mesh.neighbour_angle,
                                mesh.transport, symmetry=GaugeSymmetry())
    assert not report.passed and report.max_error > 1e-3


def _explicit(conv, x, mesh):
    """The message K(r, φ) ρ_in(α) x_j with K(φ) = Σ_b w_b K_b(φ) evaluated from the solved
    Fourier coefficients (not the fused form), plus K_self and bias, by plain autograd."""
    lin, lout = conv.layout_in, conv.layout_out
    src, dst = mesh.edge_index
    prof = hat_profile(mesh.neighbour_radius / conv.max_radius, conv.n_rings)
    xg = lin.group(x)
    y = x.new_zeros(x.shape[0], lout.dim)
    for m, n in conv._pairs:
        basis = solve_kernel_basis(m, n)
        q = torch.linalg.qr(basis.at_zero().reshape(basis.size, -1).T)[1]  # the layer orthonormalises K_b(0)
        kern = torch.einsum("ebpq,bc->ecpq", basis.evaluate(mesh.neighbour_angle), torch.linalg.inv(q))  # [E, B, dm, dn]
        w = conv.weight[f"{m}_{n}"]  # [R, cm, cn, B]
        cm, cn = lout.counts[m], lin.counts[n]
        dm, dn = (1 if m == 0 else 2), (1 if n == 0 else 2)
        xn = xg[:, lin.offsets[n]: lin.offsets[n] + dn * cn].reshape(-1, dn, cn)[src]  # [E, dn, cn]
        rot = SO2().irreps(f"1x{n}").matrix(mesh.transport)
        moved = torch.einsum("epq,eqc->epc", rot, xn)
        msg = torch.einsum("er,rocb,ebpq,eqc->epo", prof, w, kern, moved).reshape(-1, dm * cm)
        agg = torch.zeros(x.shape[0], dm * cm, dtype=x.dtype).index_add(0, dst, msg)
        deg = torch.zeros(x.shape[0], dtype=x.dtype).index_add(0, dst, torch.ones_like(prof[:, 0]))
        if conv.aggregation == "mean":
            agg = agg / deg.clamp_min(1)[:, None]
        pad = torch.zeros_like(y)
        pad[:, lout.offsets[m]: lout.offsets[m] + dm * cm] = agg
        y = y + pad
    y = y + xg @ conv.self_weights().T
    y = torch.cat([y[:, : lout.counts[0]] + conv.bias, y[:, lout.counts[0]:]], 1)
    return lout.ungroup(y)


def test_fused_form_equals_the_explicit_kernel_with_gradients():
    torch.manual_seed(0)
    mesh = _mesh()
    conv = GaugeEquivariantConv("2x0+1x1+2x2", "1x0+2x1+1x2", max_radius=0.6, n_rings=3).double()
    with torch.no_grad():
        conv.bias.normal_()
    x = torch.randn(mesh.num_nodes, conv.in_type["x"].dim, dtype=torch.float64, requires_grad=True)
    fused, explicit = conv(x, mesh), _explicit(conv, x, mesh)
    assert (fused - explicit).abs().max() < 1e-12
    probe = torch.randn_like(fused)
    g_fused = torch.autograd.grad((fused * probe).sum(), [x] + list(conv.parameters()))
    g_explicit = torch.autograd.grad((explicit * probe).sum(), [x] + list(conv.parameters()), allow_unused=True)
    for a, b in zip(g_fused, g_explicit):
        assert b is not None and (a - b).abs().max() < 1e-11
    tiny = _mesh(subdivisions=0)
    small = GaugeEquivariantConv("1x0+1x2", "1x1", max_radius=1.2).double()
    assert torch.autograd.gradcheck(lambda x_: small(x_, tiny), (torch.randn(12, 3, dtype=torch.float64, requires_grad=True),))


def test_radial_scale_is_fixed_not_taken_from_the_batch():
    """Adding a far-away second mesh to the batch does not change the first mesh's output
    (GEM-CNN divides radii by the batch's largest one)."""
    torch.manual_seed(0)
    small, big = _mesh(), _mesh()
    big.pos = big.pos * 5
    big = MeshGeometry()(big.__class__(pos=big.pos, face=big.face))
    conv = GaugeEquivariantConv("1x0+1x1", "1x0+1x1", max_radius=0.6).double()
    n = small.num_nodes
    x = torch.randn(2 * n, 3, dtype=torch.float64)
    ei = torch.cat([small.edge_index, big.edge_index + n], 1)
    cat = lambda k: torch.cat([small[k], big[k]])  # noqa: E731
    both = conv(x, ei, cat("neighbour_radius"), cat("neighbour_angle"), cat("transport"))
    alone = conv(x[:n], small)
    assert (both[:n] - alone).abs().max() < 1e-14


def test_self_loops_in_edge_index_are_the_self_interaction():
    torch.manual_seed(0)
    mesh = _mesh()
    conv = GaugeEquivariantConv("1x0+1x1", "1x0+1x1", max_radius=0.6).double()
    x = torch.randn(mesh.num_nodes, 3, dtype=torch.float64)
    loops = torch.arange(mesh.num_nodes).repeat(2, 1)
    ei = torch.cat([mesh.edge_index, loops], 1)
    z = torch.zeros(mesh.num_nodes, dtype=torch.float64)
    out = conv(x, ei, torch.cat([mesh.neighbour_radius, z]), torch.cat([mesh.neighbour_angle, z + 1.3]),
               torch.cat([mesh.transport, z]))
    assert (out - conv(x, mesh)).abs().max() < 1e-14


def test_isolated_vertex_gets_its_self_interaction_only():
    conv = GaugeEquivariantConv("1x0+1x1", "1x1", max_radius=1.0, bias=False).double()
    x = torch.randn(3, 3, dtype=torch.float64)
    ei = torch.tensor([[0, 1], [1, 0]])
    e = torch.ones(2, dtype=torch.float64)
    out = conv(x, ei, e, e, e)
    assert torch.isfinite(out).all()
    assert (out[2] - (conv.layout_out.ungroup(conv.layout_in.group(x) @ conv.self_weights().T))[2]).abs().max() < 1e-15


def test_bad_input_is_refused_by_name():
    mesh = _mesh()
    conv = GaugeEquivariantConv("1x0+1x1", "1x0", max_radius=0.6).double()
    x = torch.randn(mesh.num_nodes, 3, dtype=torch.float64)
    with pytest.raises(FieldTypeError, match="dim 3"):
        conv(x[:, :2], mesh)
    with pytest.raises(ValueError, match="MeshGeometry"):
        conv(x, mesh.__class__(pos=mesh.pos, face=mesh.face, edge_index=mesh.edge_index))
    with pytest.raises(ValueError, match="neighbour_angle"):
        conv(x, mesh.edge_index, mesh.neighbour_radius, mesh.neighbour_angle[:-1], mesh.transport)
    with pytest.raises(ValueError, match="non-finite"):
        conv(x, mesh.edge_index, mesh.neighbour_radius, mesh.neighbour_angle * float("nan"), mesh.transport)
    with pytest.raises(ValueError, match="max_radius"):
        GaugeEquivariantConv("1x0", "1x0", max_radius=0.0)
    with pytest.raises(ValueError, match="aggregation"):
        GaugeEquivariantConv("1x0", "1x0", max_radius=1.0, aggregation="max")
    with pytest.raises(ValueError, match="SO\\(2\\)"):
        GaugeEquivariantConv(FieldType.irreps(__import__("gdl.groups", fromlist=["SO3"]).SO3(), "1x0e"), "1x0", max_radius=1.0)


def test_the_checker_feeds_a_mesh_data_by_name():
    """check_equivariance(layer, data) with data.x and the MeshGeometry attributes."""
    torch.manual_seed(0)
    data = _mesh()
    conv = GaugeEquivariantConv("4x0+2x1+1x2", "2x0+2x1", max_radius=0.6).double()
    data.x = torch.randn(data.num_nodes, 10, dtype=torch.float64)
    report = check_equivariance(conv, data)
    assert report.passed and report.symmetries == ["gauge", "node permutation"]
    assert torch.equal(conv(data.x, data), conv(data.x, data.edge_index, data.neighbour_radius, data.neighbour_angle,
                                                data.transport))
