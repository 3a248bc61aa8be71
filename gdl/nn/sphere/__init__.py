"""gdl.nn.sphere: spherical CNN layers on spherical-harmonic coefficients.

Features travel between layers as real spherical-harmonic coefficients (e3nn ordering and
normalisation), so SO(3) acts on them by block-diagonal Wigner-D and every linear / spectral
layer is exactly equivariant; only grid nonlinearities are approximate (aliasing, measured).

- ``SphericalHarmonicTransform``: grid ↔ coefficients (Gauss–Legendre, Driscoll–Healy, SOFT grids).
- ``S2Conv`` (S² → S², S² → SO(3)), ``SO3Conv`` (SO(3) → SO(3)): per-degree spectral products (exact).
- ``S2GridActivation`` (grid φ with ``oversampling``, approximate), ``NormActivation``,
  ``GatedActivation`` (exact), ``InvariantReadout`` (l = 0 and per-degree norms, exact),
  ``GramReadout`` (per-degree Gram matrices of projected channels, exact), ``S2GradientNorm`` (|∇f|², exact),
  ``SphericalBatchNorm`` (per-channel, per-degree RMS normalisation, exact).
- ``SO3GridTransform`` (SO(3) features ↔ Euler-grid samples by FFT, no dense D buffer) and
  ``SO3GridActivation`` (grid φ on SO(3) features with ``oversampling``, approximate).
- feature layouts and types: ``s2_type`` / ``so3_type`` (``_features`` documents the layouts).
- ``SphericalGridRep``: SO(3) acting on signals sampled at arbitrary points (interpolating).
"""
from gdl.nn.sphere._activation import ACTIVATIONS, GatedActivation, NormActivation, S2GridActivation
from gdl.nn.sphere._conv import S2Conv, SO3Conv
from gdl.nn.sphere._features import s2_irreps, s2_type, so3_irreps, so3_type
from gdl.nn.sphere._grid_rep import SphericalGridRep
from gdl.nn.sphere._grids import GRIDS, colatitudes_and_weights, grid_points, z_up_to_e3nn
from gdl.nn.sphere._kernels import s2_near_identity_points, so3_near_identity_rotations
from gdl.nn.sphere._legendre import normalized_legendre
from gdl.nn.sphere._norm import SphericalBatchNorm
from gdl.nn.sphere._gradient import S2GradientNorm
from gdl.nn.sphere._readout import GramReadout, InvariantReadout
from gdl.nn.sphere._so3_grid import SO3GridActivation, SO3GridTransform
from gdl.nn.sphere._transform import SphericalHarmonicTransform

__all__ = [
    "S2Conv", "SO3Conv", "S2GridActivation", "NormActivation", "GatedActivation", "InvariantReadout", "GramReadout", "S2GradientNorm", "SphericalBatchNorm", "SO3GridActivation", "SO3GridTransform",
    "s2_irreps", "so3_irreps", "s2_type", "so3_type", "ACTIVATIONS",
    "SphericalHarmonicTransform", "SphericalGridRep", "GRIDS", "colatitudes_and_weights", "grid_points",
    "z_up_to_e3nn", "normalized_legendre", "s2_near_identity_points", "so3_near_identity_rotations",
]
