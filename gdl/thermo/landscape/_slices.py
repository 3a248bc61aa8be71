"""Filter-normalised 1-D and 2-D loss slices (Li, Xu, Taylor, Studer & Goldstein 2018, arXiv:1712.09913).

A random direction δ (Gaussian, same shapes as the parameters) is rescaled **filter by filter** so each
filter has the norm of the corresponding filter of the weights,

    δ_{i,j} ← δ_{i,j} / ‖δ_{i,j}‖ · ‖w_{i,j}‖       (filter j = the slice along the first axis of tensor i),

which removes the scale symmetry of ReLU-like layers that makes raw sharpness plots incomparable across
networks (Dinh et al. 2017). One-dimensional tensors (biases, norms, e3nn's flattened path weights)
follow ``one_dimensional``: ``"normalize"`` (the whole tensor as one filter, default), ``"zero"`` (left
out, Li et al.'s ``ignore='biasbn'``) or ``"weight"`` (δ = w, Li et al.'s code without ignore).
The slices are L(w + α δ) on a grid of α and L(w + α δ₁ + β δ₂) on an α × β grid; the weights are
restored afterwards (bit for bit).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence

import torch

from gdl.thermo._objective import Objective, flatten

ONE_DIMENSIONAL = ("normalize", "zero", "weight")


def filter_normalized_direction(params: Sequence[torch.Tensor], generator: torch.Generator,
                                one_dimensional: str = "normalize") -> torch.Tensor:
    """A random flat direction with each filter's norm equal to the weights' filter norm (module docstring)."""
    if one_dimensional not in ONE_DIMENSIONAL:
        raise ValueError(f"one_dimensional must be one of {', '.join(ONE_DIMENSIONAL)}, got {one_dimensional!r}")
    pieces: List[torch.Tensor] = []
    for p in params:
        w = p.detach().to(torch.float64).cpu()
        d = torch.randn(w.shape, generator=generator, dtype=torch.float64)
        if w.dim() <= 1:
            if one_dimensional == "zero":
                d = torch.zeros_like(w)
            elif one_dimensional == "weight":
                d = w.clone()
            else:
                d = d * (w.norm() / d.norm().clamp_min(1e-300))
        else:
            w_f, d_f = w.reshape(w.shape[0], -1), d.reshape(d.shape[0], -1)
            scale = w_f.norm(dim=1, keepdim=True) / d_f.norm(dim=1, keepdim=True).clamp_min(1e-300)
            d = (d_f * scale).reshape(w.shape)
        pieces.append(d.reshape(-1))
    return torch.cat(pieces)


@dataclass
class LossSlice:
    """``alphas`` [A] (and ``betas`` [B] for 2-D), ``losses`` [A] or [A, B] (float64), the flat ``directions``,
    and ``center_loss`` = L(w)."""

    alphas: torch.Tensor
    losses: torch.Tensor
    directions: List[torch.Tensor]
    center_loss: float
    betas: Optional[torch.Tensor] = None

    def plot(self, path=None, ax=None, log: bool = False):
        """Line plot (1-D) or contour plot (2-D) with matplotlib; saved to ``path`` when given."""
        import matplotlib

        if ax is None:
            matplotlib.use("Agg", force=False)
            import matplotlib.pyplot as plt

            fig, ax = plt.subplots(figsize=(4.5, 3.5))
        else:
            fig = ax.figure
        values = self.losses.log10() if log else self.losses
        label = "log10 loss" if log else "loss"
        if self.betas is None:
            ax.plot(self.alphas.numpy(), values.numpy())
            ax.set_xlabel("α (filter-normalised direction)")
            ax.set_ylabel(label)
        else:
            a, b = torch.meshgrid(self.alphas, self.betas, indexing="ij")
            contour = ax.contour(a.numpy(), b.numpy(), values.numpy(), levels=20)
            fig.colorbar(contour, ax=ax, label=label)
            ax.set_xlabel("α")
            ax.set_ylabel("β")
        ax.set_title("filter-normalised loss slice")
        if path is not None:
            fig.tight_layout()
            fig.savefig(path, dpi=120)
        return fig


def _generator(generator, seed):
    return generator if generator is not None else torch.Generator().manual_seed(0 if seed is None else int(seed))


def _directions(objective: Objective, n: int, directions, generator, one_dimensional):
    if directions is None:
        return [filter_normalized_direction(objective.params(), generator, one_dimensional) for _ in range(n)]
    directions = [torch.as_tensor(d, dtype=torch.float64).reshape(-1) for d in directions]
    if len(directions) != n or any(d.numel() != objective.dim for d in directions):
        raise ValueError(f"expected {n} flat direction(s) of {objective.dim} entries, got "
                         f"{[tuple(d.shape) for d in directions]}")
    return directions


def loss_slice_1d(objective: Objective, alphas=None, *, direction=None, generator: Optional[torch.Generator] = None,
                  seed: Optional[int] = None, one_dimensional: str = "normalize") -> LossSlice:
    """L(w + α δ) for ``alphas`` (default 41 points in [−1, 1]); δ filter-normalised unless given."""
    alphas = torch.linspace(-1, 1, 41, dtype=torch.float64) if alphas is None else torch.as_tensor(alphas, dtype=torch.float64)
    (delta,) = _directions(objective, 1, None if direction is None else [direction], _generator(generator, seed), one_dimensional)
    losses = torch.zeros(alphas.numel(), dtype=torch.float64)
    with objective.restored() as w0:
        center = float(objective.loss())
        for i, a in enumerate(alphas):
            objective.assign(w0.to(torch.float64) + a * delta.to(w0.device))
            losses[i] = objective.loss().cpu()
    return LossSlice(alphas, losses, [delta], center)


def loss_slice_2d(objective: Objective, alphas=None, betas=None, *, directions=None,
                  generator: Optional[torch.Generator] = None, seed: Optional[int] = None,
                  one_dimensional: str = "normalize") -> LossSlice:
    """L(w + α δ₁ + β δ₂) on ``alphas`` × ``betas`` (default 21 × 21 in [−1, 1]²); δ's filter-normalised unless given."""
    alphas = torch.linspace(-1, 1, 21, dtype=torch.float64) if alphas is None else torch.as_tensor(alphas, dtype=torch.float64)
    betas = torch.linspace(-1, 1, 21, dtype=torch.float64) if betas is None else torch.as_tensor(betas, dtype=torch.float64)
    d1, d2 = _directions(objective, 2, directions, _generator(generator, seed), one_dimensional)
    losses = torch.zeros(alphas.numel(), betas.numel(), dtype=torch.float64)
    with objective.restored() as w0:
        center = float(objective.loss())
        base = w0.to(torch.float64)
        for i, a in enumerate(alphas):
            for j, b in enumerate(betas):
                objective.assign(base + a * d1.to(base.device) + b * d2.to(base.device))
                losses[i, j] = objective.loss().cpu()
    return LossSlice(alphas, losses, [d1, d2], center, betas)


def parameter_norm(objective: Objective) -> float:
    """‖w‖₂ of the objective's parameters (the weight norm tracked next to sharpness)."""
    return float(flatten([p.detach().to(torch.float64) for p in objective.params()]).norm())
