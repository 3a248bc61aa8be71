"""gdl.thermo.landscape: the geometry of the training loss around the current weights.

Every measure takes an :class:`~gdl.thermo.Objective` (the loss of any gdl model on fixed batches: PyG
batches, dicts, tensors; ``Objective.from_task`` for a registered task) and works with Hessian-vector
products only (d parameters, never a d × d matrix except in :func:`dense_hessian`):

- ``HessianOperator(objective, method="double_backward" | "func")``, ``hessian_vector_product``, ``dense_hessian``;
- ``top_hessian_eigenvalues`` / ``bottom_hessian_eigenvalues`` / ``hessian_eigenvalues`` (Lanczos with full
  reorthogonalisation: top **algebraic** eigenvalues), ``lanczos``, and ``power_iteration`` (largest
  **magnitude**: shown for contrast);
- ``hutchinson_trace`` and ``hutchpp_trace`` (tr H ± standard error), ``probe_vectors``;
- ``spectral_density`` (stochastic Lanczos quadrature, Gaussian-broadened on a grid);
- ``filter_normalized_direction``, ``loss_slice_1d``, ``loss_slice_2d`` (Li et al. 2018, with ``.plot()``);
- ``sgd_temperature`` (η/B), ``gradient_noise_scale`` (McCandlish et al. 2018, B_simple = tr Σ / |G|²).

Seeds: every stochastic estimator takes a ``torch.Generator`` (or ``seed``) and never touches the global
RNG, so measuring during training leaves the training run unchanged.
"""
from gdl.thermo.landscape._density import SpectralDensity, gaussian_broadening, spectral_density
from gdl.thermo.landscape._hessian import HessianOperator, dense_hessian, hessian_vector_product
from gdl.thermo.landscape._lanczos import (
    EigenResult,
    LanczosState,
    PowerIterationResult,
    bottom_hessian_eigenvalues,
    hessian_eigenvalues,
    lanczos,
    power_iteration,
    top_hessian_eigenvalues,
)
from gdl.thermo.landscape._noise import GradientNoiseScale, gradient_noise_scale, sgd_temperature
from gdl.thermo.landscape._slices import LossSlice, filter_normalized_direction, loss_slice_1d, loss_slice_2d, parameter_norm
from gdl.thermo.landscape._trace import TraceEstimate, hutchinson_trace, hutchpp_trace, probe_vectors

__all__ = [
    "HessianOperator", "hessian_vector_product", "dense_hessian",
    "hessian_eigenvalues", "top_hessian_eigenvalues", "bottom_hessian_eigenvalues", "lanczos", "power_iteration",
    "EigenResult", "LanczosState", "PowerIterationResult",
    "hutchinson_trace", "hutchpp_trace", "probe_vectors", "TraceEstimate",
    "spectral_density", "gaussian_broadening", "SpectralDensity",
    "filter_normalized_direction", "loss_slice_1d", "loss_slice_2d", "LossSlice", "parameter_norm",
    "sgd_temperature", "gradient_noise_scale", "GradientNoiseScale",
]
