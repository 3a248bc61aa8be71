"""gdl.nn.sphere: spherical CNN layers on spherical-harmonic coefficients.

Features travel between layers as real spherical-harmonic coefficients (e3nn ordering and
normalisation), so SO(3) acts on them by block-diagonal Wigner-D and every linear / spectral
layer is exactly equivariant; only grid nonlinearities are approximate (aliasing, measured).

- ``SphericalHarmonicTransform``: grid ↔ coefficients (Gauss–Legendre, Driscoll–Healy, SOFT grids).
- ``SphericalGridRep``: SO(3) acting on signals sampled at arbitrary points (interpolating).
"""
from gdl.nn.sphere._grid_rep import SphericalGridRep
from gdl.nn.sphere._grids import GRIDS, colatitudes_and_weights, grid_points, z_up_to_e3nn
from gdl.nn.sphere._legendre import normalized_legendre
from gdl.nn.sphere._transform import SphericalHarmonicTransform

__all__ = [
    "SphericalHarmonicTransform", "SphericalGridRep", "GRIDS", "colatitudes_and_weights", "grid_points",
    "z_up_to_e3nn", "normalized_legendre",
]
