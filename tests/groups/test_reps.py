"""Representation axioms: ρ(g∘h) = ρ(g)ρ(h), ρ(g⁻¹) = ρ(g)⁻¹, ρ(e) = I, orthogonality, act = matrix."""
import pytest
import torch

from tests.helpers.groups import GROUPS, REP_CASES, elements_for, reps_of

TOL = 1e-12


def _case(gname, rname):
    g = GROUPS[gname]
    return g, reps_of(gname, g)[rname]


@pytest.mark.parametrize("gname,rname", REP_CASES, ids=[f"{a}-{b}" for a, b in REP_CASES])
def test_homomorphism_inverse_identity(gname, rname):
    g, rep = _case(gname, rname)
    e = elements_for(g)
    n = g.batch_size(e)
    h = g.select(e, torch.randperm(n, generator=torch.Generator().manual_seed(1)))
    m_e, m_h = rep.matrix(e, dtype=torch.float64), rep.matrix(h, dtype=torch.float64)
    m_eh = rep.matrix(g.compose(e, h), dtype=torch.float64)
    assert m_e.shape[-2:] == (rep.matrix(g.identity(1, dtype=torch.float64), dtype=torch.float64).shape[-1],) * 2
    assert (m_eh - m_e @ m_h).abs().max() <= TOL * max(1.0, m_e.abs().max().item() ** 2)
    eye = torch.eye(m_e.shape[-1], dtype=torch.float64)
    assert (rep.matrix(g.inverse(e), dtype=torch.float64) @ m_e - eye).abs().max() <= TOL * max(1.0, m_e.abs().max().item() ** 2)
    assert (rep.matrix(g.identity(1, dtype=torch.float64), dtype=torch.float64)[0] - eye).abs().max() <= TOL


@pytest.mark.parametrize("gname,rname", REP_CASES, ids=[f"{a}-{b}" for a, b in REP_CASES])
def test_orthogonal_where_unitary(gname, rname):
    g, rep = _case(gname, rname)
    if not rep.is_orthogonal:
        pytest.skip(f"{rep} is not orthogonal")
    m = rep.matrix(elements_for(g), dtype=torch.float64)
    eye = torch.eye(m.shape[-1], dtype=torch.float64)
    assert (m @ m.transpose(-1, -2) - eye).abs().max() <= TOL


@pytest.mark.parametrize("gname,rname", REP_CASES, ids=[f"{a}-{b}" for a, b in REP_CASES])
def test_act_matches_matrix(gname, rname):
    """The cheap action equals the dense matrix, batched and broadcast, on any axis."""
    g, rep = _case(gname, rname)
    e = elements_for(g, n_random=20)
    n = g.batch_size(e)
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(n, 7, rep.dim, generator=gen, dtype=torch.float64)
    m = rep.matrix(e, dtype=torch.float64)
    expected = torch.einsum("bij,bkj->bki", m, x)
    assert (rep.act(e, x) - expected).abs().max() <= 1e-12
    # a single element broadcasts over the whole tensor, also on a non-last axis
    one = g.select(e, n - 1)
    single = _single(rep, one, x[n - 1])
    assert (single - expected[n - 1]).abs().max() <= 1e-12
    assert (rep.act(one, x[n - 1]) - single).abs().max() <= 1e-12
    assert (rep.act(one, x[n - 1].transpose(0, 1), axis=0) - single.transpose(0, 1)).abs().max() <= 1e-12


def _single(rep, one, x):
    m = rep.matrix(one, dtype=torch.float64)[0]
    return x @ m.T


def test_restriction_is_a_rep_of_the_subgroup():
    from gdl.groups import O2, SO2, O3, SO3, Cyclic, Dihedral

    cases = [
        (O2().irrep(2), SO2()), (O2().irrep(1), Dihedral(6)), (SO2().irrep(3), Cyclic(8)),
        (Dihedral(6).regular_rep(), Cyclic(6)), (O3().irreps("1o+2e+0o"), SO3()),
    ]
    for rep, sub in cases:
        res = rep.restrict(sub)
        e = sub.cat([sub.test_elements(dtype=torch.float64), sub.sample(50, torch.Generator().manual_seed(0), dtype=torch.float64)])
        h = sub.select(e, torch.randperm(sub.batch_size(e), generator=torch.Generator().manual_seed(5)))
        lhs = res.matrix(sub.compose(e, h), dtype=torch.float64)
        rhs = res.matrix(e, dtype=torch.float64) @ res.matrix(h, dtype=torch.float64)
        assert (lhs - rhs).abs().max() <= 1e-12
    # SO(2) irrep ρ_m restricted to C_n at k equals rotation by 2πmk/n
    res = SO2().irrep(3).restrict(Cyclic(8))
    import math

    m = res.matrix(torch.tensor([1]), dtype=torch.float64)[0]
    assert abs(m[1, 0].item() - math.sin(3 * 2 * math.pi / 8)) < 1e-14
    with pytest.raises(TypeError, match="not a known subgroup"):
        SO3().irreps("1o").restrict(SO2())


def test_tensor_product_and_dual_of_permutation_are_consistent():
    from gdl.groups import Symmetric

    g = Symmetric(4)
    p = g.standard_rep()
    e = g.elements()
    t = p.tensor(p)
    x = torch.randn(24, 4, 4, dtype=torch.float64)
    # ρ⊗ρ acts on matrices as P X Pᵀ
    pm = p.matrix(e, dtype=torch.float64)
    expected = pm @ x @ pm.transpose(1, 2)
    assert (t.act(e, x.reshape(24, 16)).reshape(24, 4, 4) - expected).abs().max() < 1e-14
    assert (p.dual().matrix(e, dtype=torch.float64) - pm).abs().max() == 0  # orthogonal: dual = ρ


def test_direct_sum_arithmetic_and_field_types():
    from gdl.groups import FieldType, SO3, Euclidean

    so3 = SO3()
    r = so3.irreps("2x0e") + so3.irreps("1o") + so3.trivial_rep(1)
    assert r.dim == 6 and str(r) == "2x0e+1x1o+1x0e"
    t = FieldType.irreps(so3, "8x0e+4x1o")
    assert t.dim == 20 and str(t.e3nn_irreps) == "8x0e+4x1o"
    assert (t + t).dim == 40
    assert 3 * so3.standard_rep() == so3.standard_rep() + so3.standard_rep() + so3.standard_rep()
    e3 = Euclidean(3)
    ft = FieldType.irreps(e3, "2x0e+1o")
    assert str(ft.e3nn_irreps) == "2x0e+1x1o"
