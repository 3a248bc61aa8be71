"""gdl.testing: one equivariance checker for rotations, translations, permutations and gauge
transformations, plus hypothesis strategies and a pytest plugin.

>>> from gdl.testing import check_equivariance
>>> report = check_equivariance(model, batch)        # doctest: +SKIP
>>> report.passed, report.max_error                   # doctest: +SKIP
"""
from gdl.testing._check import assert_equivariant, check_equivariance, transformed_samples
from gdl.testing._dtype import default_dtype, float32_constants
from gdl.testing._report import ElementResult, EquivarianceReport
from gdl.testing._sample import EquivarianceSetupError
from gdl.nn.sphere import SphericalGridRep
from gdl.testing._symmetries import (
    Elements,
    EuclideanSymmetry,
    GraphRelabelling,
    GaugeSymmetry,
    GlobalSymmetry,
    NodePermutation,
    SphereRotation,
    Symmetry,
    derive_symmetries,
)
from gdl.testing._tolerances import default_rtol
from gdl.testing import adapters  # noqa: E402 - the adapters use the names above

__all__ = [
    "check_equivariance", "assert_equivariant", "transformed_samples", "EquivarianceReport", "ElementResult", "EquivarianceSetupError",
    "Symmetry", "GlobalSymmetry", "EuclideanSymmetry", "NodePermutation", "GaugeSymmetry", "SphereRotation",
    "SphericalGridRep", "Elements", "GraphRelabelling", "derive_symmetries", "default_rtol",
    "default_dtype", "float32_constants", "adapters",
]
