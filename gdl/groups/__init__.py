"""gdl.groups: groups with batched tensor elements, representations, and field types.

Every group stores a batch of elements as one tensor (a tuple for direct products);
representations map batches to matrices and act cheaply on tensor axes. Representations are
immutable values with arithmetic (direct sum, multiplicity, tensor product, slicing,
``simplify``/``sort``, ``decompose`` into irreps); the affine action of E(d) on points is a
``PointAction``, not a representation.
"""
from gdl.groups._action import Action
from gdl.groups._errors import FieldTypeError, GroupElementError
from gdl.groups._euclidean import Euclidean, SpecialEuclidean
from gdl.groups._field_type import FieldType
from gdl.groups._group import Group, wrap_angle
from gdl.groups._homomorphism import GroupHomomorphism
from gdl.groups._irrep_sum import IrrepSum
from gdl.groups._orthogonal import O3, SO3, IrrepsRep, OrthogonalGroup, wigner_d_from_matrix
from gdl.groups._planar import O2, SO2, Cyclic, Dihedral, rotation_2d
from gdl.groups._planar_irreps import PlanarIrrep, PlanarIrreps
from gdl.groups._points import AffineSum, PointAction
from gdl.groups._product import DirectProduct
from gdl.groups._reps import (
    Decomposition,
    DirectSumRep,
    DualRep,
    MatrixRep,
    PermutationRep,
    PullbackRep,
    RegularRep,
    Rep,
    Sorting,
    TensorProductRep,
    TrivialRep,
    direct_sum,
)
from gdl.groups._symmetric import Symmetric

__all__ = [
    "Group", "Cyclic", "Dihedral", "SO2", "O2", "SO3", "O3", "OrthogonalGroup", "Symmetric",
    "Euclidean", "SpecialEuclidean", "DirectProduct",
    "Rep", "TrivialRep", "MatrixRep", "DirectSumRep", "TensorProductRep", "DualRep", "PullbackRep",
    "PermutationRep", "RegularRep", "IrrepsRep", "IrrepSum", "PlanarIrreps", "PlanarIrrep", "direct_sum",
    "Action", "PointAction", "AffineSum", "GroupHomomorphism", "Decomposition", "Sorting",
    "FieldType", "GroupElementError", "FieldTypeError", "wigner_d_from_matrix", "rotation_2d", "wrap_angle",
]
