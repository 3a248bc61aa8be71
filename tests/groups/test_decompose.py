"""Tensor products decompose into irreps with an orthogonal, exact change of basis (float64).

For every pair: Q Qᵀ = I and Q (ρ_a ⊗ ρ_b)(g) Qᵀ = (⊕ ρ_c)(g) to ≤ 1e-12 over the group's
test elements ∪ random samples.
"""
import pytest
import torch
from e3nn import o3
from hypothesis import given, settings
from hypothesis import strategies as st

from gdl.groups import O2, O3, SO2, SO3, Cyclic, Dihedral, Euclidean, PlanarIrrep

TOL = 1e-12


def _elements(group, n_random=60):
    return group.cat([
        group.test_elements(dtype=torch.float64),
        group.sample(n_random, torch.Generator().manual_seed(7), dtype=torch.float64),
    ])


def _assert_exact(product, elements=None):
    group = product.group
    dec = product.decompose()
    q = dec.change_of_basis
    assert q.dtype == torch.float64 and q.shape == (product.dim, product.dim)
    assert dec.irreps.dim == product.dim
    assert (q @ q.T - torch.eye(product.dim, dtype=torch.float64)).abs().max() <= TOL
    g = _elements(group) if elements is None else elements
    lhs = q @ product.matrix(g, dtype=torch.float64) @ q.T
    rhs = dec.irreps.matrix(g, dtype=torch.float64)
    assert (lhs - rhs).abs().max() <= TOL
    return dec


def _labels(rep):
    return [(mul, str(label)) for mul, label in rep.entries]


# -- SO(2) ----------------------------------------------------------------------------------------
PAIRS = [(0, 0), (0, 1), (1, 0), (0, 5), (1, 1), (2, 2), (7, 7), (1, 2), (2, 1), (3, 5), (5, 3), (1, 10), (12, 4)]


def _expected_so2(m, n):
    if m == 0 or n == 0:
        return [(1, str(m + n))]
    if m == n:
        return [(2, "0"), (1, str(2 * m))]
    return [(1, str(abs(m - n))), (1, str(m + n))]


@pytest.mark.parametrize("m,n", PAIRS)
def test_so2_product_rule(m, n):
    so2 = SO2()
    dec = _assert_exact(so2.irrep(m).tensor(so2.irrep(n)))
    assert _labels(dec.irreps) == _expected_so2(m, n)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 20), st.integers(0, 20))
def test_so2_product_rule_property(m, n):
    dec = _assert_exact(SO2().irrep(m).tensor(SO2().irrep(n)), elements=_elements(SO2(), 20))
    assert _labels(dec.irreps) == _expected_so2(m, n)


def test_so2_change_of_basis_of_rho1_squared_is_the_complex_product():
    # x ⊗ y ↦ (x·y, x × y, Re(z_x z_y), Im(z_x z_y)) / √2: the invariant dot and cross products
    q = SO2().irrep(1).tensor(SO2().irrep(1)).decompose().change_of_basis
    s = 2 ** -0.5
    expected = torch.tensor([[s, 0, 0, s], [0, -s, s, 0], [s, 0, 0, -s], [0, s, s, 0]], dtype=torch.float64)
    assert torch.allclose(q, expected, atol=1e-15)


def test_sums_multiplicities_and_nested_products():
    so2 = SO2()
    a, b = so2.irreps("2x0+1x1+2x3"), so2.irreps("1x2+1x0")
    dec = _assert_exact(a.tensor(b))
    assert str(dec.irreps) == "2x0+4x1+2x2+3x3+2x5"  # 0⊗0, 1⊗0, 1⊗2 = 1+3, 3⊗2 = 1+5, …
    dec3 = _assert_exact(so2.irrep(1).tensor(so2.irrep(1)).tensor(so2.irrep(2)))
    assert str(dec3.irreps) == "2x0+2x2+1x4"  # (2x0+2) ⊗ 2


# -- O(2), C_n, D_n -------------------------------------------------------------------------------
def _all_irreps(group):
    if isinstance(group, O2):
        return ["0", "0'", "1", "2", "3"]
    labels = [str(j) for j in range(group.n // 2 + 1)]
    if isinstance(group, Dihedral):
        labels.append("0'")
        if group.n % 2 == 0:
            labels.append(f"{group.n // 2}'")
    return labels


@pytest.mark.parametrize("group", [O2(), Cyclic(1), Cyclic(2), Cyclic(5), Cyclic(6), Cyclic(8), Dihedral(1), Dihedral(2), Dihedral(5), Dihedral(6), Dihedral(8)], ids=str)
def test_planar_products_of_every_pair_of_irreps(group):
    labels = _all_irreps(group)
    elements = _elements(group)
    for a in labels:
        for b in labels:
            dec = _assert_exact(group.irreps(a).tensor(group.irreps(b)), elements)
            assert sum(mul for mul, _ in dec.irreps.entries) >= 1


def test_o2_and_dihedral_split_the_square_into_trivial_and_determinant():
    assert str(O2().irrep(2).tensor(O2().irrep(2)).decompose().irreps) == "1x0+1x0'+1x4"
    assert str(O2().irreps("0'").tensor(O2().irrep(3)).decompose().irreps) == "1x3"
    d6 = Dihedral(6)
    assert str(d6.irrep(1).tensor(d6.irrep(2)).decompose().irreps) == "1x1+1x3+1x3'"  # 1+2 = n/2 splits
    assert str(d6.irrep(2).tensor(d6.irrep(2)).decompose().irreps) == "1x0+1x0'+1x2"  # 4 ≡ −2 (mod 6)
    assert str(Cyclic(6).irrep(2).tensor(Cyclic(6).irrep(2)).decompose().irreps) == "2x0+1x2"


# -- SO(3), O(3) against e3nn ----------------------------------------------------------------------
@pytest.mark.parametrize("group", [SO3(), O3()], ids=str)
@pytest.mark.parametrize("a,b", [("1o", "1o"), ("0e", "2e"), ("2e", "1o"), ("1e+2o", "0o+1o"), ("2x1o+0e", "2e+3o"), ("2x1o", "0e+2e")])
def test_so3_o3_products_match_e3nn(group, a, b):
    ra, rb = group.irreps(a), group.irreps(b)
    dec = _assert_exact(ra.tensor(rb))
    with torch.random.fork_rng():
        default = torch.get_default_dtype()
        torch.set_default_dtype(torch.float64)  # e3nn modules built in float64 (see docs/groups.md)
        try:
            full = o3.FullTensorProduct(o3.Irreps(a), o3.Irreps(b))
        finally:
            torch.set_default_dtype(default)
    assert dec.irreps.irreps == full.irreps_out.sort().irreps.simplify()
    # same coefficients: e3nn's output is Q (x ⊗ y), up to a positive constant per output irrep
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(5, ra.dim, generator=gen, dtype=torch.float64)
    y = torch.randn(5, rb.dim, generator=gen, dtype=torch.float64)
    ours = torch.einsum("ij,bj->bi", dec.change_of_basis, torch.einsum("bi,bj->bij", x, y).reshape(5, -1))
    theirs = full(x, y)[:, torch.cat([torch.arange(s.start, s.stop) for s in _sorted_slices(full.irreps_out)])]
    _assert_proportional_blocks(ours, theirs, full.irreps_out)


def _sorted_slices(irreps):
    slices = irreps.slices()
    return [slices[i] for i in irreps.sort().inv]


def _assert_proportional_blocks(ours, theirs, irreps_out):
    start = 0
    for i in irreps_out.sort().inv:
        mul, ir = irreps_out[i]
        width = mul * ir.dim
        a, b = ours[:, start : start + width], theirs[:, start : start + width]
        ratio = (a * b).sum() / (a * a).sum()
        assert ratio > 0
        assert (b - ratio * a).abs().max() <= 1e-10 * b.abs().max()
        start += width


def test_euclidean_irreps_products_decompose_through_the_projection():
    e3 = Euclidean(3)
    prod = e3.irreps("1o").tensor(e3.irreps("1o"))
    dec = _assert_exact(prod)
    assert dec.irreps.group == e3 and str(dec.irreps.e3nn_irreps) == "1x0e+1x1e+1x2e"


def test_decompose_refuses_reps_without_labelled_irreps():
    from gdl.groups import Symmetric

    p = Symmetric(3).standard_rep()
    with pytest.raises(TypeError, match="sums of labelled irreps"):
        p.tensor(p).decompose()
    with pytest.raises(TypeError, match="decompose\\(\\) needs a sum of labelled irreps"):
        p.decompose()


def test_an_irreps_sum_decomposes_trivially():
    rep = SO2().irreps("2x1+0")
    dec = rep.decompose()
    assert dec.irreps == rep and torch.equal(dec.change_of_basis, torch.eye(5, dtype=torch.float64))
    assert PlanarIrrep(3, 0) in [label for _, label in SO2().irreps("3").entries]
