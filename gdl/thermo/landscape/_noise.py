"""SGD's temperature and the gradient-noise scale.

**SGD temperature.** Minibatch SGD with learning rate η and batch B is, to first order, Langevin dynamics
dw = −∇L dt + √(2T) Σ^{1/2} dW at temperature T = η / B (Mandt, Hoffman & Blei 2017; Smith & Le 2018;
with heavy-ball momentum μ the effective rate is η/(1 − μ), so T = η / (B(1 − μ))). Only the ratio
matters: doubling both η and B keeps the noise level. For Adam the ratio is logged too, as a
reference number (Adam's preconditioning changes the noise's shape).

**Gradient-noise scale** (McCandlish, Kaplan, Amodei et al. 2018, "An empirical model of large-batch
training", §2.2 and App. A.1): with per-sample gradient covariance Σ and true gradient G,
B_simple = tr(Σ) / |G|² is the batch size above which larger batches stop helping. From the gradients
G_b of the objective's batches (sizes B_b) and the full-objective gradient G_n (n samples), using
E|G_B|² = |G|² + tr(Σ)/B:

    tr(Σ) ≈ (mean_b |G_b|² − |G_n|²) / (mean_b 1/B_b − 1/n),      |G|² ≈ |G_n|² − tr(Σ)/n,

unbiased when the batches are independent draws (the paper's two-batch-size estimator, here with the
batches as the small size and their union as the big one). Both estimates are noisy for few batches
and |G|² can come out ≤ 0 near a minimum (then B_simple is reported as ``inf``); McCandlish et al.
average them over many steps before dividing.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from gdl.thermo._objective import Objective


def sgd_temperature(lr: float, batch_size: int, momentum: float = 0.0) -> float:
    """T = η / (B (1 − μ)): the Langevin temperature of SGD (module docstring)."""
    if lr <= 0:
        raise ValueError(f"learning rate must be > 0, got {lr}")
    if batch_size < 1:
        raise ValueError(f"batch size must be ≥ 1, got {batch_size}")
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum must be in [0, 1), got {momentum}")
    return float(lr) / (batch_size * (1.0 - momentum))


@dataclass
class GradientNoiseScale:
    """``b_simple`` = tr(Σ)/|G|², with ``trace_covariance`` tr(Σ), ``gradient_norm_squared`` |G|², the raw
    ``full_gradient_norm_squared`` |G_n|² and ``mean_batch_gradient_norm_squared`` mean_b |G_b|²."""

    b_simple: float
    trace_covariance: float
    gradient_norm_squared: float
    full_gradient_norm_squared: float
    mean_batch_gradient_norm_squared: float
    n_batches: int


def gradient_noise_scale(objective: Objective) -> GradientNoiseScale:
    """B_simple from the objective's batches (≥ 2, sizes known); see the module docstring."""
    sizes = objective.batch_sizes
    if len(objective.batches) < 2:
        raise ValueError(f"the gradient-noise scale needs ≥ 2 batches (to compare batch and full gradients), "
                         f"got {len(objective.batches)}")
    if any(s is None or s < 1 for s in sizes):
        raise ValueError(f"the gradient-noise scale needs every batch's size; got sizes {sizes}")
    n = float(sum(sizes))
    grads = [objective.batch_grad(i).detach().to(torch.float64) for i in range(len(sizes))]
    weights = torch.tensor(objective.weights, dtype=torch.float64, device=grads[0].device)
    full = (torch.stack(grads) * weights[:, None]).sum(dim=0)
    full_sq = float(full @ full)
    batch_sq = float(torch.stack([g @ g for g in grads]).mean())
    inverse_b = sum(1.0 / s for s in sizes) / len(sizes)
    if inverse_b - 1.0 / n <= 0:
        raise ValueError("the batches must be smaller than their union (mean 1/B_b > 1/n)")
    trace_sigma = (batch_sq - full_sq) / (inverse_b - 1.0 / n)
    g_sq = full_sq - trace_sigma / n
    b_simple = trace_sigma / g_sq if g_sq > 0 else math.inf
    return GradientNoiseScale(b_simple, trace_sigma, g_sq, full_sq, batch_sq, len(sizes))
