"""Behaviours of gdl.groups that mutation testing found unguarded
(``python -m gdl.benchmarks.mutation groups``; docs/testing.md, "Mutation testing").

Each test states a documented behaviour — field types compared as values, checked and moved
with membership validation; element batches moved between devices (the ``meta`` device
stands for any other device on a CPU-only machine: a tensor moved there reports it); the
identity of a direct product as a batch; the regular representation on a batch of two
elements; the embedding C_n ⊂ O(2); the refusal of linear-only operations by point actions.
"""
import math

import pytest
import torch

from gdl.groups import (
    O2, O3, SO2, SO3, Cyclic, DirectProduct, Euclidean, FieldType, GroupElementError, GroupHomomorphism,
    SpecialEuclidean, Symmetric,
)

E3 = Euclidean(3)


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


# -- FieldType ------------------------------------------------------------------------------------
def test_field_types_are_equal_when_group_rep_and_axis_are():
    t = FieldType(E3, [E3.vector_rep(), E3.trivial_rep(2)])
    assert t == FieldType(E3, [E3.vector_rep(), E3.trivial_rep(2)]) and hash(t) == hash(FieldType(E3, list(t.reps)))
    assert t != FieldType(E3, [E3.vector_rep(), E3.trivial_rep(2)], axis=-2)  # same group and rep, other axis
    assert t != FieldType(E3, [E3.trivial_rep(2), E3.vector_rep()], axis=-1)  # same group and axis, other rep
    assert FieldType(SO3(), SO3().trivial_rep(2)) != FieldType(O3(), O3().trivial_rep(2))  # other group
    assert FieldType(SO3(), SO3().trivial_rep(2), axis=0) != FieldType(O3(), O3().trivial_rep(2), axis=0)
    assert t != t.rep and t != "FieldType"


def test_an_empty_slice_of_a_field_type_is_the_empty_type():
    t = FieldType(E3, [E3.vector_rep(), E3.trivial_rep(2)])
    empty = t[1:1]
    assert empty.reps == () and len(empty) == 0 and empty.dim == 0 and empty == FieldType(E3, [])
    assert t[1:].reps == (E3.trivial_rep(2),) and t[1:].dim == 2


def test_field_type_transform_validates_the_element_by_default():
    t = FieldType(O3(), O3().standard_rep())
    x = torch.randn(2, 3, generator=_gen(), dtype=torch.float64)
    not_orthogonal = 2 * torch.eye(3, dtype=torch.float64).unsqueeze(0)
    with pytest.raises(GroupElementError):
        t.transform(not_orthogonal, x)
    # validate=False skips the membership test and applies the matrix as given
    assert torch.equal(t.transform(not_orthogonal, x, validate=False), 2 * x)
    q = O3().sample(1, _gen(1), dtype=torch.float64)
    assert torch.allclose(t.transform(q, x), x @ q[0].T, atol=1e-14)


# -- element batches: dtype and device ---------------------------------------------------------------
def _constructors(group, **options):
    made = {"identity": group.identity(2, **options), "sample": group.sample(3, _gen(), **options),
            "generators": group.generators(**options), "grid": group.grid(**options),
            "test_elements": group.test_elements(2, **options)}
    if group.is_finite:
        made["elements"] = group.elements(**options)
    return {name: (x if isinstance(x, tuple) else (x,)) for name, x in made.items()}


def test_every_constructor_puts_elements_on_the_requested_device(group):
    for name, parts in _constructors(group, device="meta").items():
        assert [x.device.type for x in parts] == ["meta"] * len(parts), name


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_every_constructor_makes_float_elements_in_the_requested_dtype(group, dtype):
    for name, parts in _constructors(group, dtype=dtype).items():
        expected = [dtype if x.is_floating_point() else torch.int64 for x in parts]
        assert [x.dtype for x in parts] == expected, name


def test_so2_and_o2_grids_are_twelve_equally_spaced_angles():
    angles = torch.tensor([2 * math.pi * k / 12 for k in range(12)], dtype=torch.float64)
    angles = torch.where(angles > math.pi + 1e-12, angles - 2 * math.pi, angles)  # in (-π, π]
    so2 = SO2().grid(dtype=torch.float64)
    assert so2.shape == (12,) and torch.allclose(so2, angles, atol=1e-14)
    o2 = O2().grid(dtype=torch.float64)
    assert o2.shape == (24, 2)
    assert torch.allclose(o2[:12, 0], angles, atol=1e-14) and torch.allclose(o2[12:, 0], angles, atol=1e-14)
    assert o2[:12, 1].tolist() == [0.0] * 12 and o2[12:, 1].tolist() == [1.0] * 12


def test_to_moves_and_casts_element_batches():
    g = O3().sample(2, _gen(), dtype=torch.float64)
    assert O3().to(g, device="meta").device.type == "meta"
    assert O3().to(g, dtype=torch.float32).dtype == torch.float32 and O3().to(g).dtype == torch.float64
    p = Symmetric(3).elements()
    assert Symmetric(3).to(p, dtype=torch.float32).dtype == torch.int64  # integer elements keep their dtype
    assert Symmetric(3).to(p, device="meta").device.type == "meta"


def test_direct_product_to_moves_and_casts_every_factor():
    group = DirectProduct(SO2(), Cyclic(3))
    g = group.sample(4, _gen(), dtype=torch.float64)
    cast = group.to(g, dtype=torch.float32)
    assert isinstance(cast, tuple) and len(cast) == 2
    assert cast[0].dtype == torch.float32 and cast[1].dtype == torch.int64
    assert torch.equal(cast[1], g[1]) and torch.allclose(cast[0].double(), g[0], atol=1e-7)
    moved = group.to(g, device="meta")
    assert [x.device.type for x in moved] == ["meta", "meta"]


def test_symmetric_group_lists_its_elements_on_the_requested_device():
    assert Symmetric(3).elements(device="meta").device.type == "meta"
    assert Symmetric(3).elements().shape == (6, 3)


def test_direct_product_identity_is_a_batch_of_n():
    group = DirectProduct(SO2(), Cyclic(3))
    e = group.identity(3, dtype=torch.float64)
    assert [x.shape[0] for x in e] == [3, 3] and group.batch_size(e) == 3
    g = group.sample(3, _gen(), dtype=torch.float64)
    assert group.allclose(group.compose(e, g), g)


def test_distance_of_float32_batches_is_exact_in_float64():
    a = O3().sample(3, _gen(), dtype=torch.float32)
    b = O3().sample(3, _gen(1), dtype=torch.float32)
    d = O3().distance(a, b)
    assert d.dtype == torch.float64
    assert torch.equal(d, (a.double() - b.double()).abs().flatten(1).amax(1))


# -- representations -------------------------------------------------------------------------------
@pytest.mark.parametrize("n_elements", [1, 2, 3])
def test_regular_rep_acts_on_a_batch_like_its_matrices(n_elements):
    group = Cyclic(5)
    rep = group.regular_rep()
    g = torch.tensor([1, 3, 4][:n_elements])
    x = torch.randn(n_elements, 5, generator=_gen(), dtype=torch.float64)
    expected = torch.einsum("bij,bj->bi", rep.matrix(g, dtype=torch.float64), x)
    assert torch.equal(rep.act(g, x), expected)


def test_zero_rep_matrix_is_a_batch_of_empty_matrices():
    group = O3()
    empty = FieldType(group, []).rep
    g = group.sample(4, _gen(), dtype=torch.float64)
    assert empty.dim == 0 and empty.matrix(g).shape == (4, 0, 0)


def test_point_action_refuses_linear_operations_by_name():
    points = E3.point_action()
    g = E3.sample(2, _gen(), dtype=torch.float64)
    with pytest.raises(TypeError, match=r"affine action \(points move by x ↦ Qx \+ t\), not a linear representation: "
                                        r"it has no matrix of size dim .*use the linear part"):
        points.matrix(g)
    with pytest.raises(TypeError, match="it has no dual"):
        points.dual()


def test_point_action_affine_matrix_in_the_requested_dtype():
    points = E3.point_action()
    g = E3.sample(2, _gen(), dtype=torch.float64)
    m = points.affine_matrix(g)
    assert m.dtype == torch.float64 and m.shape == (2, 4, 4)
    m32 = points.affine_matrix(g, dtype=torch.float32)
    assert m32.dtype == torch.float32 and torch.allclose(m32.double(), m, atol=1e-6)


def test_cyclic_standard_rep_is_the_irrep_1_from_n_3_and_rotation_by_pi_k_for_n_2():
    for n in (3, 4, 5):
        assert Cyclic(n).standard_rep() == Cyclic(n).irrep(1), n
    c2 = Cyclic(2).standard_rep()
    assert torch.allclose(c2.matrix(torch.tensor([0, 1]), dtype=torch.float64),
                          torch.stack([torch.eye(2), -torch.eye(2)]).double(), atol=1e-15)


def test_planar_standard_reps_are_named_standard():
    assert repr(Cyclic(2).standard_rep()) == "standard"


def test_euclidean_and_special_euclidean_groups_differ():
    assert Euclidean(3) != SpecialEuclidean(3) and Euclidean(3) == Euclidean(3) and Euclidean(2) != Euclidean(3)
    assert hash(SpecialEuclidean(3)) == hash(SpecialEuclidean(3))


def test_linear_rep_of_a_euclidean_group_names_the_wrong_group():
    with pytest.raises(TypeError, match=r"^E\(3\)\.linear_rep expects a rep of O\(3\), got one of SO\(2\)$"):
        E3.linear_rep(SO2().standard_rep())
    vectors = E3.linear_rep(O3().standard_rep())
    assert vectors.dim == 3 and vectors.group == E3


# -- homomorphisms ---------------------------------------------------------------------------------
def test_cyclic_group_embeds_in_o2_as_rotations_by_2_pi_k_over_n():
    group = Cyclic(4)
    phi = group.embedding(O2())
    image = phi(group.elements())
    assert image.dtype == torch.float64 and image.shape == (4, 2)
    angles = torch.tensor([0.0, math.pi / 2, math.pi, -math.pi / 2], dtype=torch.float64)
    assert torch.allclose(image[:, 0], angles, atol=1e-15) and torch.equal(image[:, 1], torch.zeros(4, dtype=torch.float64))
    O2().validate(image)  # members of O(2)
    a, b = torch.tensor([1, 3]), torch.tensor([2, 2])  # a homomorphism: φ(a∘b) = φ(a)∘φ(b)
    assert O2().allclose(phi(group.compose(a, b)), O2().compose(phi(a), phi(b)))


def test_homomorphisms_are_equal_only_with_the_same_source_target_and_key():
    inclusion = SO3().embedding(O3())
    assert inclusion == SO3().embedding(O3()) and hash(inclusion) == hash(SO3().embedding(O3()))
    assert inclusion != GroupHomomorphism.identity(O3()) and inclusion != GroupHomomorphism.identity(SO3())
    assert GroupHomomorphism.identity(O3()) != GroupHomomorphism.identity(SO3())
    keyless = GroupHomomorphism(SO3(), O3(), lambda g: g, "mine")
    assert keyless == keyless and keyless != GroupHomomorphism(SO3(), O3(), lambda g: g, "mine")
    assert inclusion != "SO(3) ⊂ O(3)"


def test_an_unknown_irrep_name_lists_the_available_ones():
    with pytest.raises(ValueError, match=r"^S_?\(?3\)? irreps available: 'trivial', 'sign', 'standard'; got 'bogus'$"):
        Symmetric(3).irrep("bogus")


# -- found by the 2026-12-02 completion of the groups sample ---------------------------------------
def test_a_shape_error_names_the_missing_axis():
    rep = SO3().irreps("1o")
    with pytest.raises(Exception, match=r"tensor of shape \[3\] has no axis 2"):
        rep.act(SO3().identity(1), torch.zeros(3), axis=2)


@pytest.mark.parametrize("group", [Cyclic(5), Symmetric(4)], ids=["C5", "S4"])
def test_integer_groups_keep_int64_elements_whatever_dtype_is_asked(group):
    for elements in (group.identity(2, dtype=torch.float64), group.sample(3, _gen(), dtype=torch.float64),
                     group.test_elements(dtype=torch.float64)):
        assert elements.dtype == torch.int64


def test_test_elements_default_seed_is_0():
    for group in (SO3(), O2(), Symmetric(4)):
        assert torch.equal(group.test_elements(), group.test_elements(seed=0))
        assert not torch.equal(group.test_elements(), group.test_elements(seed=1))


def test_planar_irreps_act_in_float64_at_float64_precision():
    g = SO2().sample(6, _gen(3), dtype=torch.float64)
    rep = SO2().irreps("0+1+2+3")
    x = torch.randn(6, 4, rep.dim, generator=_gen(4), dtype=torch.float64)
    expected = torch.einsum("bij,bkj->bki", rep.matrix(g, dtype=torch.float64), x)
    assert (rep.act(g, x) - expected).abs().max() <= 1e-13  # float32-built blocks would leave ~1e-7


@pytest.mark.parametrize("group", [Cyclic(8), O2()], ids=["C8", "O2"])
def test_planar_irreps_of_integer_and_reflection_groups_act_in_float64(group):
    g = group.sample(6, _gen(5), dtype=torch.float64)
    rep = group.irreps("0+1+2+3")
    x = torch.randn(6, 4, rep.dim, generator=_gen(6), dtype=torch.float64)
    expected = torch.einsum("bij,bkj->bki", rep.matrix(g, dtype=torch.float64), x)
    out = rep.act(g, x)
    assert out.dtype == torch.float64 and (out - expected).abs().max() <= 1e-13


def test_orthogonal_generators_are_in_the_asked_dtype_and_so1_has_none():
    from gdl.groups import OrthogonalGroup

    gens = OrthogonalGroup(3).generators(dtype=torch.float64)
    assert gens.dtype == torch.float64 and gens.shape == (4, 3, 3)  # two plane rotations, a reflection, -I
    assert torch.equal(gens[-1], -torch.eye(3, dtype=torch.float64))
    none = OrthogonalGroup(1, special=True).generators(dtype=torch.float64)
    assert none.shape == (0, 1, 1) and none.dtype == torch.float64  # SO(1) is trivial: no generators


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_orthogonality_is_checked_at_ten_times_the_dtype_tolerance(dtype):
    from gdl.groups._group import tolerance

    group = SO3()
    r = group.sample(1, _gen(7), dtype=torch.float64)
    for factor, accepted in ((3.0, True), (30.0, False)):
        # g = R (1 + ε): |g gᵀ − I| = 2ε + ε² ≈ factor · tolerance
        g = (r * (1 + factor * tolerance(dtype) / 2)).to(dtype)
        if accepted:
            assert group.validate(g) is g
        else:
            with pytest.raises(GroupElementError, match="must be orthogonal matrices"):
                group.validate(g)


def test_a_dihedral_element_with_a_rotation_index_out_of_range_is_refused():
    from gdl.groups import Dihedral

    group = Dihedral(4)
    group.validate(torch.tensor([[3, 1], [0, 0]]))
    for bad in ([[4, 0]], [[4, 1]], [[-1, 0]], [[0, 2]]):
        with pytest.raises(GroupElementError):
            group.validate(torch.tensor(bad))


def test_matrix_reps_without_a_key_are_told_apart_by_name():
    from gdl.groups._reps import MatrixRep

    group = SO2()
    flip = MatrixRep(group, 1, "sign", lambda g, dtype, device: -torch.ones(g.shape[0], 1, 1, dtype=dtype, device=device))
    same = MatrixRep(group, 1, "sign", lambda g, dtype, device: -torch.ones(g.shape[0], 1, 1, dtype=dtype, device=device))
    one = MatrixRep(group, 1, "one", lambda g, dtype, device: torch.ones(g.shape[0], 1, 1, dtype=dtype, device=device))
    assert flip == same and flip != one  # the name is the identity of a keyless rep
    assert MatrixRep(group, 1, "a", flip._fn, key="k") == MatrixRep(group, 1, "b", one._fn, key="k")  # an explicit key wins
