"""Points (the affine action of E(d)), homomorphisms between groups, and ``act`` on hot paths."""
import math

import pytest
import torch

from gdl.groups import (
    O2, O3, SO2, SO3, AffineSum, Cyclic, Dihedral, DirectProduct, Euclidean, FieldType, FieldTypeError,
    GroupHomomorphism, OrthogonalGroup, PointAction, Rep, SpecialEuclidean, Symmetric,
)

TOL = 1e-12


def _elements(group, n=40):
    return group.cat([group.test_elements(dtype=torch.float64), group.sample(n, torch.Generator().manual_seed(4), dtype=torch.float64)])


# -- points ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("group", [Euclidean(2), Euclidean(3), SpecialEuclidean(3)], ids=str)
def test_points_are_an_action_not_a_representation(group):
    points = group.point_action()
    assert isinstance(points, PointAction) and not isinstance(points, Rep)
    assert points == group.standard_rep() and points.dim == group.d and not points.is_linear
    g = _elements(group, 5)
    assert points.affine_matrix(g).shape == (group.batch_size(g), group.d + 1, group.d + 1)
    with pytest.raises(TypeError, match="affine action .* no matrix of size dim .*affine_matrix"):
        points.matrix(g)
    with pytest.raises(TypeError, match="no dual"):
        points.dual()
    with pytest.raises(TypeError, match="no decomposition"):
        points.decompose()


def test_action_axioms_of_affine_types(action_case):
    """g·(h·x) = (g∘h)·x, e·x = x, and act equals the affine matrix on homogeneous coordinates."""
    group, action = action_case
    e = _elements(group)
    n = group.batch_size(e)
    h = group.select(e, torch.randperm(n, generator=torch.Generator().manual_seed(1)))
    x = torch.randn(n, 6, action.dim, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    assert (action.act(e, action.act(h, x)) - action.act(group.compose(e, h), x)).abs().max() <= TOL
    assert torch.equal(action.act(group.identity(1, dtype=torch.float64), x), x)
    m = action.affine_matrix(e)
    homogeneous = torch.cat([x, torch.ones(n, 6, 1, dtype=torch.float64)], -1)
    expected = torch.einsum("bij,bkj->bki", m, homogeneous)[..., :-1]
    assert (action.act(e, x) - expected).abs().max() <= TOL
    m_eh = action.affine_matrix(group.compose(e, h))
    assert (m_eh - m @ action.affine_matrix(h)).abs().max() <= TOL
    # a single element on a non-last axis
    one = group.select(e, n - 1)
    assert (action.act(one, x[n - 1].transpose(0, 1), axis=0).transpose(0, 1) - expected[n - 1]).abs().max() <= TOL


def test_a_field_type_of_points_and_vectors_moves_each_block_by_its_action():
    e3 = Euclidean(3)
    ft = FieldType(e3, [e3.point_action(), e3.vector_rep(), e3.irreps("0e+2e")])
    assert isinstance(ft.rep, AffineSum) and not ft.is_linear and ft.dim == 3 + 3 + 6 and len(ft) == 4
    assert ft.e3nn_irreps is None and ft[2:].e3nn_irreps is not None and str(ft[2:].e3nn_irreps) == "1x0e+1x2e"
    q = SO3().sample(4, torch.Generator().manual_seed(0), dtype=torch.float64)
    t = torch.randn(4, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    g = e3.from_parts(q, t)
    x = torch.randn(4, 5, ft.dim, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    y = ft.transform(g, x)
    pos, vel, feat = x[..., :3], x[..., 3:6], x[..., 6:]
    assert (y[..., :3] - (torch.einsum("bij,bnj->bni", q, pos) + t[:, None])).abs().max() <= TOL
    assert (y[..., 3:6] - torch.einsum("bij,bnj->bni", q, vel)).abs().max() <= TOL
    assert (y[..., 6:] - e3.irreps("0e+2e").act(g, feat)).abs().max() <= TOL
    # translations move the points only
    shift = e3.from_parts(torch.eye(3, dtype=torch.float64)[None], torch.tensor([[1.0, 2.0, 3.0]], dtype=torch.float64))
    moved = ft.transform(shift, x)
    assert (moved[..., 3:] - x[..., 3:]).abs().max() <= TOL and torch.allclose(moved[..., :3], x[..., :3] + torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64))
    # slicing and the + of actions
    assert ft[0:1].rep == e3.point_action() and ft[1:2].is_linear and ft.channels(slice(1, 3)) == slice(3, 7)  # vector, 0e
    assert e3.point_action() + e3.vector_rep() == AffineSum([e3.point_action(), e3.vector_rep()])
    assert (e3.vector_rep() + e3.point_action()).dim == 6 and isinstance(2 * e3.point_action(), AffineSum)


def test_points_refuse_tensor_products_with_a_clear_error():
    e3 = Euclidean(3)
    with pytest.raises(TypeError, match="affine action .* no tensor product"):
        e3.point_action() @ e3.vector_rep()
    with pytest.raises(TypeError, match="different groups"):
        e3.point_action() + Euclidean(2).vector_rep()
    with pytest.raises(TypeError, match="needs a Euclidean group"):
        PointAction(SO3())


# -- homomorphisms ----------------------------------------------------------------------------------
@pytest.mark.parametrize("group", [Euclidean(2), Euclidean(3), SpecialEuclidean(2), SpecialEuclidean(3)], ids=str)
def test_projection_to_orthogonal_is_a_homomorphism(group):
    phi = group.projection_to_orthogonal()
    assert isinstance(phi, GroupHomomorphism) and phi.source == group and phi.target == group.linear_group
    e = _elements(group)
    n = group.batch_size(e)
    h = group.select(e, torch.randperm(n, generator=torch.Generator().manual_seed(0)))
    target = phi.target
    assert target.allclose(phi(group.compose(e, h)), target.compose(phi(e), phi(h)), TOL)
    assert target.allclose(phi(group.identity(1, dtype=torch.float64)), target.identity(1, dtype=torch.float64), 0.0)
    assert target.allclose(phi(group.inverse(e)), target.inverse(phi(e)), TOL)
    target.validate(phi(e))
    assert torch.equal(phi(e), group.linear_part(e))
    assert phi == group.projection_to_orthogonal() and hash(phi) == hash(group.projection_to_orthogonal())


def test_homomorphism_to_finds_the_canonical_maps():
    e3, se3 = Euclidean(3), SpecialEuclidean(3)
    assert e3.homomorphism_to(O3()) == e3.projection_to_orthogonal()
    assert e3.homomorphism_to(SO3()) is None  # no homomorphism E(3) → SO(3)
    composite = se3.homomorphism_to(O3())
    g = se3.sample(5, torch.Generator().manual_seed(0), dtype=torch.float64)
    O3().validate(composite(g))
    assert torch.equal(composite(g), se3.linear_part(g))
    assert SO2().homomorphism_to(SO2()).is_identity
    assert Cyclic(6).homomorphism_to(SO2()) is not None and SO2().homomorphism_to(Cyclic(6)) is None
    assert Symmetric(3).homomorphism_to(SO3()) is None
    with pytest.raises(TypeError, match="not a known subgroup"):
        SO3().embedding(SO2())


def test_restriction_through_an_embedding_is_a_value():
    a, b = O2().irrep(2).restrict(SO2()), O2().irrep(2).restrict(SO2())
    assert a == b and hash(a) == hash(b)
    p = DirectProduct(SO2(), Cyclic(3))
    assert p.factor_rep(0, SO2().irrep(1)) == p.factor_rep(0, SO2().irrep(1))
    assert p.projection(1)((torch.zeros(2), torch.tensor([1, 2]))).tolist() == [1, 2]


# -- act on hot paths ---------------------------------------------------------------------------------
def _hot_cases():
    e3, s4, d6 = Euclidean(3), Symmetric(4), Dihedral(6)
    return [
        (SO3(), SO3().irreps("4x0e+4x1o+2x2e")), (O3(), O3().irreps("2x0o+1x1e+1x3o")),
        (SO2(), SO2().irreps("2x0+1x1+3x2")), (d6, d6.irreps("0'+3'+2x1+2")), (s4, s4.standard_rep()),
        (d6, d6.regular_rep()), (s4, s4.standard_rep().tensor(s4.standard_rep())),
        (e3, e3.point_action() + e3.irreps("0e+1o")), (OrthogonalGroup(4), OrthogonalGroup(4).det_rep()),
    ]


@pytest.mark.parametrize("case", range(len(_hot_cases())))
def test_act_without_validation_gives_the_same_result_and_never_syncs(case, monkeypatch):
    group, action = _hot_cases()[case]
    g = group.sample(6, torch.Generator().manual_seed(0), dtype=torch.float64)
    x = torch.randn(6, 5, action.dim, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    expected = action.act(g, x)

    def sync(*_):
        raise AssertionError("host sync (a tensor read on the host) in act(validate=False)")

    monkeypatch.setattr(torch.Tensor, "__bool__", sync)
    monkeypatch.setattr(torch.Tensor, "item", sync)
    monkeypatch.setattr(torch.Tensor, "tolist", sync)
    fast = action.act(g, x, validate=False)
    monkeypatch.undo()
    assert torch.equal(fast, expected)


def test_act_without_validation_still_checks_shapes_but_not_values():
    rep = SO3().irreps("1o")
    bad_rotation = 2 * torch.eye(3, dtype=torch.float64)[None]
    with pytest.raises(Exception, match="orthogonal"):
        rep.act(bad_rotation, torch.zeros(1, 3, dtype=torch.float64))
    rep.act(bad_rotation, torch.zeros(1, 3, dtype=torch.float64), validate=False)  # the caller vouched for it
    rep.act(SO3().identity(1), torch.full((1, 3), math.nan), validate=False)
    with pytest.raises(FieldTypeError, match=r"1x1o \(dim 3\) on axis -1.*4 channels"):
        rep.act(SO3().identity(1), torch.zeros(2, 4), validate=False)
    with pytest.raises(FieldTypeError, match="batch of 2 group elements"):
        rep.act(SO3().identity(2), torch.zeros(3, 3), validate=False)
