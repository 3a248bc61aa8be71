"""Representations as values: the multiplicity syntax, equality, slicing, simplify, sort,
E(3) irreps kept in sums, and the dim contract."""
import pytest
import torch
from e3nn import o3
from hypothesis import given, settings
from hypothesis import strategies as st

from gdl.groups import (
    O2, O3, SO2, SO3, Cyclic, Dihedral, Euclidean, FieldType, PlanarIrrep, SpecialEuclidean, Symmetric,
)

PLANAR = [SO2(), O2(), Cyclic(5), Cyclic(6), Dihedral(5), Dihedral(6)]


def _labels_of(group):
    if isinstance(group, (SO2, O2)):
        labels = [PlanarIrrep(m) for m in range(6)]
        return labels + ([PlanarIrrep(0, 1)] if isinstance(group, O2) else [])
    labels = [PlanarIrrep(j) for j in range(group.n // 2 + 1)]
    if isinstance(group, Dihedral):
        labels.append(PlanarIrrep(0, 1))
        if group.n % 2 == 0:
            labels.append(PlanarIrrep(group.n // 2, 1))
    return labels


def _entries(group):
    return st.lists(st.tuples(st.integers(0, 4), st.sampled_from(_labels_of(group))), min_size=1, max_size=6)


def _x(rep, batch=3, seed=0):
    return torch.randn(batch, 4, rep.dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# -- the multiplicity syntax -------------------------------------------------------------------
def test_multiplicity_syntax():
    rep = SO2().irreps("4x0+2x1+1x2")
    assert rep.dim == 4 + 4 + 2 and str(rep) == "4x0+2x1+1x2"
    assert rep.entries == ((4, PlanarIrrep(0)), (2, PlanarIrrep(1)), (1, PlanarIrrep(2)))
    assert str(O2().irreps("0' + 3x1")) == "1x0'+3x1"
    assert str(Dihedral(6).irreps("3'+2x1+0'")) == "1x3'+2x1+1x0'"
    assert O2().irreps("0'") == O2().irrep(0, 1) and Dihedral(6).irreps("3'") == Dihedral(6).irrep(3, 1)
    assert SO2().irreps("") .dim == 0


@pytest.mark.parametrize("group", PLANAR, ids=str)
def test_str_parse_round_trip(group):
    @settings(max_examples=30, deadline=None)
    @given(_entries(group))
    def check(entries):
        from gdl.groups import PlanarIrreps

        rep = PlanarIrreps(group, entries)
        again = group.irreps(str(rep))
        assert again.entries == rep.entries and str(again) == str(rep) and again == rep
        assert rep.dim == sum(mul * (1 if l.freq == 0 or 2 * l.freq == getattr(group, "n", -1) else 2) for mul, l in entries)

    check()


@pytest.mark.parametrize("group,text,message", [
    (SO2(), "4y0+1", r"cannot parse '4y0' in '4y0\+1': expected terms 'MULxLABEL'"),
    (SO2(), "x1", r"cannot parse 'x1'"),
    (SO2(), "1+", r"cannot parse ''"),
    (SO2(), "-1", r"cannot parse '-1'"),
    (SO2(), "1'", r"SO\(2\) has no irrep 1': irreps are 0, 1, 2, … \(m ≥ 0\)"),
    (O2(), "2'", r"O\(2\) has no irrep 2': irreps are 0, 1, 2, … \(m ≥ 0\), and 0' \(the determinant\)"),
    (Cyclic(6), "4", r"C6 has no irrep 4: frequencies are 0 ≤ j ≤ 3"),
    (Dihedral(6), "2'", r"D6 has no irrep 2': irreps are 0 … 3 and 0', 3' \(times the determinant\)"),
    (Dihedral(5), "0''", r"cannot parse"),
])
def test_bad_syntax_names_the_problem(group, text, message):
    with pytest.raises(ValueError, match=message):
        group.irreps(text)


def test_bad_e3nn_syntax_names_the_problem():
    with pytest.raises(ValueError, match=r"SO\(3\) irreps: cannot parse '1q' as e3nn Irreps"):
        SO3().irreps("1q")
    with pytest.raises(ValueError, match="multiplicities are ≥ 0"):
        from gdl.groups import PlanarIrreps

        PlanarIrreps(SO2(), [(-1, PlanarIrrep(1))])


# -- values: +, *, equality, hash --------------------------------------------------------------
def test_direct_sum_and_multiplicity_follow_e3nn():
    so2 = SO2()
    assert so2.irrep(0) + so2.irrep(1) + so2.irrep(2) == so2.irreps("0+1+2")
    assert str(3 * so2.irrep(2)) == "3x2" and str(so2.irrep(2) * 3) == "3x2"
    assert str(2 * so2.irreps("0+1")) == "1x0+1x1+1x0+1x1"  # as e3nn: Irreps * 2 repeats
    assert str(so2.trivial_rep(2) + so2.irrep(1)) == "2x0+1x1"
    assert str(3 * SO3().irrep(1)) == "3x1e" and str(O3().irreps("1o") + O3().trivial_rep(2)) == "1x1o+2x0e"


def test_equal_actions_are_equal_values():
    so2 = SO2()
    assert so2.irreps("1x0+1x0+0x3") == so2.irreps("2x0") == so2.trivial_rep(2)
    assert hash(so2.irreps("1x0+1x0")) == hash(so2.trivial_rep(2))
    assert so2.irreps("1+2") != so2.irreps("2+1")
    assert O3().irreps("1x0e+1x0e") == O3().irreps("2x0e") == O3().trivial_rep(2)
    assert SO3().irreps("1o") != O3().irreps("1o")
    assert Cyclic(6).irreps("1") != SO2().irreps("1")
    assert len({so2.irreps("2x1"), so2.irreps("1+1"), so2.irreps("1")}) == 2


# -- slicing, simplify, sort --------------------------------------------------------------------
@pytest.mark.parametrize("group", PLANAR + [SO3(), O3()], ids=str)
def test_slicing_acts_on_the_slice(group):
    rep = group.irreps("2x0e+1x1o+3x2e+0x1e+1x0o") if isinstance(group, (SO3, O3)) else None
    if rep is None:
        rep = group.irreps("+".join(f"{i + 1}x{label}" for i, label in enumerate(_labels_of(group))))
    g = group.sample(3, torch.Generator().manual_seed(1), dtype=torch.float64)
    x = _x(rep)
    full = rep.act(g, x)
    n = len(rep)
    for key in [0, n - 1, slice(1, 3), slice(0, n), slice(2, None), slice(None, -1), slice(3, 3)]:
        sub, ch = rep[key], rep.channels(key)
        assert sub.dim == ch.stop - ch.start
        if sub.dim:
            assert (sub.act(g, x[..., ch]) - full[..., ch]).abs().max() <= 1e-12
    assert sum(s.dim for s in rep.summands) == rep.dim and len(rep.slices()) == n
    with pytest.raises(TypeError, match="step 1"):
        rep[::2]


@settings(max_examples=30, deadline=None)
@given(_entries(Dihedral(6)), st.integers(0, 6), st.integers(0, 6))
def test_slice_then_act_is_act_then_slice_property(entries, start, stop):
    from gdl.groups import PlanarIrreps

    group = Dihedral(6)
    rep = PlanarIrreps(group, entries)
    g = group.sample(3, torch.Generator().manual_seed(2))
    x = _x(rep)
    sub, ch = rep[start:stop], rep.channels(slice(start, stop))
    assert sub.dim == ch.stop - ch.start
    if sub.dim:
        assert (sub.act(g, x[..., ch]) - rep.act(g, x)[..., ch]).abs().max() <= 1e-12
    # the pieces put back together are the whole
    assert rep[:start] + rep[start:] == rep if 0 < start < len(rep) else True


def test_simplify():
    so2 = SO2()
    rep = so2.irreps("1x0+2x0+0x3+1x1+1x1+1x0")
    simple = rep.simplify()
    assert str(simple) == "3x0+2x1+1x0" and simple == rep
    g = so2.sample(3, torch.Generator().manual_seed(0), dtype=torch.float64)
    x = _x(rep)
    assert torch.equal(simple.act(g, x), rep.act(g, x))
    assert str(O3().irreps("1x1o+2x1o+0x2e").simplify()) == str(o3.Irreps("1x1o+2x1o+0x2e").simplify())


@pytest.mark.parametrize("text", ["1o+0e+2e+0o", "2x1e+3x0e+1x1o+2x0e", "0e"])
def test_sort_matches_e3nn(text):
    ours, theirs = O3().irreps(text).sort(), o3.Irreps(text).sort()
    assert ours.rep.e3nn_irreps == theirs.irreps and ours.p == theirs.p and ours.inv == theirs.inv


@pytest.mark.parametrize("group", PLANAR + [O3()], ids=str)
def test_sort_permutes_channels_equivariantly(group):
    rep = group.irreps("1o+0e+2x2e+0o+1x1o") if isinstance(group, O3) else group.irreps(
        "+".join(f"{i % 3 + 1}x{label}" for i, label in reversed(list(enumerate(_labels_of(group)))))
    )
    s = rep.sort()
    assert [label for _, label in s.rep.entries] == sorted(
        [label for _, label in s.rep.entries], key=lambda l: (l.l, l.p) if isinstance(group, O3) else tuple(l)
    )
    assert sorted(s.channels.tolist()) == list(range(rep.dim)) and s.rep.dim == rep.dim
    g = group.sample(3, torch.Generator().manual_seed(3), dtype=torch.float64)
    x = _x(rep)
    assert (s.rep.act(g, x[..., s.channels]) - rep.act(g, x)[..., s.channels]).abs().max() <= 1e-12
    assert all(s.inv[s.p[i]] == i for i in range(len(rep)))


def test_sort_of_a_sum_of_other_reps():
    s3 = Symmetric(3)
    rep = s3.standard_rep() + s3.irrep("sign") + s3.standard_rep()
    s = rep.sort()
    assert s.rep == s3.irrep("sign") + s3.standard_rep() + s3.standard_rep()
    g = s3.elements()
    x = torch.randn(6, rep.dim, dtype=torch.float64)
    assert torch.allclose(s.rep.act(g, x[..., s.channels]), rep.act(g, x)[..., s.channels], atol=1e-14)


# -- E(3): irreps survive sums ---------------------------------------------------------------------
@pytest.mark.parametrize("group", [Euclidean(3), SpecialEuclidean(3)], ids=str)
def test_euclidean_irreps_are_kept_when_combined(group):
    combined = group.irreps("1o") + group.trivial_rep(2)
    assert str(combined.e3nn_irreps) == "1x1o+2x0e" and combined.group == group
    assert str((group.trivial_rep(2) + group.irreps("1o")).e3nn_irreps) == "2x0e+1x1o"
    ft = FieldType(group, [group.irreps("1o"), group.trivial_rep(2), group.irreps("2e")])
    assert str(ft.e3nn_irreps) == "1x1o+2x0e+1x2e"
    assert str((FieldType.irreps(group, "1o") + FieldType(group, group.trivial_rep(3))).e3nn_irreps) == "1x1o+3x0e"
    assert str(ft[1:].e3nn_irreps) == "2x0e+1x2e" and ft.channels(slice(1, None)) == slice(3, 10)
    # the combined type acts as the pieces do
    g = group.sample(2, torch.Generator().manual_seed(0), dtype=torch.float64)
    x = _x(ft.rep, batch=2)
    parts = [group.irreps("1o"), group.trivial_rep(2), group.irreps("2e")]
    expected = torch.cat([p.act(g, piece) for p, piece in zip(parts, x.split([3, 2, 5], -1))], -1)
    assert (ft.transform(g, x) - expected).abs().max() <= 1e-12


# -- contracts ------------------------------------------------------------------------------------
def test_dim_is_the_matrix_size(rep_case):
    group, rep = rep_case
    g = group.test_elements(n_random=2, dtype=torch.float64)
    m = rep.matrix(g, dtype=torch.float64)
    assert m.shape == (group.batch_size(g), rep.dim, rep.dim)
    assert rep.is_linear


def test_order_is_readable_on_every_group(group):
    import math

    order = group.order
    if group.is_finite:
        assert isinstance(order, int) and order == group.batch_size(group.elements())
    else:
        assert order == math.inf and math.isinf(order)
