"""Bad input gets an error that names the problem."""
import pytest
import torch

from gdl.groups import (
    O2, O3, SO2, SO3, Cyclic, Dihedral, DirectProduct, Euclidean, FieldType, FieldTypeError,
    GroupElementError, SpecialEuclidean, Symmetric,
)


def test_wrong_batch_shape():
    with pytest.raises(GroupElementError, match=r"expected an element batch of shape \[n, 3, 3\].*\[3, 3\]"):
        SO3().compose(torch.eye(3), torch.eye(3))
    with pytest.raises(GroupElementError, match=r"shape \[n\], got shape \[2, 2\]"):
        SO2().inverse(torch.zeros(2, 2))
    with pytest.raises(GroupElementError, match="must be a torch.Tensor"):
        SO3().inverse([[1, 0, 0], [0, 1, 0], [0, 0, 1]])


def test_element_of_another_group():
    reflection = torch.diag(torch.tensor([-1.0, 1.0, 1.0]))[None]
    with pytest.raises(GroupElementError, match="det \\+1"):
        SO3().inverse(reflection)
    with pytest.raises(GroupElementError, match="orthogonal"):
        O3().inverse(2 * torch.eye(3)[None])
    with pytest.raises(GroupElementError, match=r"integers in \[0, 5\)"):
        Cyclic(5).compose(torch.tensor([7]), torch.tensor([1]))
    with pytest.raises(GroupElementError, match="permutation"):
        Symmetric(3).inverse(torch.tensor([[0, 0, 1]]))
    with pytest.raises(GroupElementError, match="integer tensors"):
        Dihedral(4).inverse(torch.zeros(1, 2))
    with pytest.raises(GroupElementError, match="flip component"):
        O2().inverse(torch.tensor([[0.3, 0.5]]))
    with pytest.raises(GroupElementError, match="last row"):
        Euclidean(3).inverse(torch.ones(1, 4, 4))
    g = Euclidean(3).sample(1, torch.Generator().manual_seed(0))
    g = Euclidean(3).from_parts(-torch.eye(3)[None], torch.zeros(1, 3))
    with pytest.raises(GroupElementError, match="det \\+1"):
        SpecialEuclidean(3).inverse(g)
    with pytest.raises(GroupElementError, match="pairs"):
        DirectProduct(SO2(), SO2()).inverse(torch.zeros(3))


def test_non_finite_values():
    with pytest.raises(GroupElementError, match="non-finite"):
        SO2().compose(torch.tensor([float("nan")]), torch.tensor([0.0]))
    rep = SO3().irreps("1o")
    with pytest.raises(FieldTypeError, match="non-finite"):
        rep.act(SO3().identity(1), torch.tensor([[0.0, float("inf"), 1.0]]))


def test_axis_size_mismatch_names_expected_and_actual():
    rep = SO3().irreps("8x0e+4x1o")
    with pytest.raises(FieldTypeError, match=r"8x0e\+4x1o \(dim 20\) on axis -1.*16 channels"):
        rep.act(SO3().identity(1), torch.zeros(5, 16))
    ft = FieldType.irreps(SO3(), "8x0e+4x1o")
    with pytest.raises(FieldTypeError, match=r"expected field type 8x0e\+4x1o \(dim 20\) of SO\(3\) on axis -1, got tensor of shape \[5, 16\] with 16 channels"):
        ft.check(torch.zeros(5, 16))


def test_batch_size_mismatch_is_not_broadcast():
    g = SO3().sample(4, torch.Generator().manual_seed(0))
    with pytest.raises(GroupElementError, match="batch sizes 4 and 3"):
        SO3().compose(g, g[:3])
    with pytest.raises(FieldTypeError, match="batch of 4 group elements"):
        SO3().standard_rep().act(g, torch.zeros(5, 3))


def test_mixing_groups_is_refused():
    with pytest.raises(TypeError, match="different groups"):
        SO3().standard_rep() + O3().standard_rep()
    with pytest.raises(TypeError, match="affine action .* not a linear representation: it has no tensor product"):
        Euclidean(3).standard_rep().tensor(Euclidean(3).vector_rep())
    with pytest.raises(TypeError, match="tensor product needs two linear representations"):
        Euclidean(3).vector_rep().tensor(Euclidean(3).standard_rep())
    with pytest.raises(TypeError, match="infinite"):
        SO3().regular_rep()
    with pytest.raises(TypeError, match="not finite"):
        SO3().elements()
