"""LandscapeCallback: the geometry of the training loss, measured every k epochs while a run trains.

Configured by the ``landscape:`` section of the run's YAML (``gdl.train.LandscapeConfig``, off by
default)::

    landscape: {every: 10, batches: 2, top_k: 1, lanczos_iterations: 20, trace_probes: 4, llc: {}}

At the end of every ``every``-th epoch (after validation, before the checkpoint is written, so the numbers
belong to the weights in that epoch's ``last.pt``) it builds a :class:`gdl.thermo.Objective` from the task's
loss on the first ``batches`` **training** batches (fixed, unshuffled: the same samples at every call; the
Hessian estimates use the first ``hessian_batches`` of them, the gradient-noise scale, loss and λ̂ all) and
logs into the epoch's ``metrics.jsonl`` row (and TensorBoard when on):

- ``landscape_lambda_max`` (and ``landscape_lambda_2`` … up to ``top_k``): the top algebraic Hessian
  eigenvalues by Lanczos (``gdl.thermo.landscape.top_hessian_eigenvalues``), ``landscape_lanczos_residual``;
- ``landscape_trace`` ± ``landscape_trace_se``: Hutchinson (``hutchinson_trace``, Rademacher probes);
- ``landscape_noise_scale`` (B_simple = tr Σ / |G|², McCandlish et al. 2018), ``landscape_trace_covariance``,
  ``landscape_grad_norm_sq``;
- ``landscape_sgd_temperature`` = η / (B (1 − μ)) (μ: SGD momentum; 0 for Adam/AdamW),
  ``landscape_loss`` (L on the measured batches), ``landscape_weight_norm``;
- ``landscape_llc`` ± ``landscape_llc_se`` (``gdl.thermo.llc.local_learning_coefficient``) when ``llc`` is set;
- ``time_landscape_s`` (wall time of the call), ``landscape_cost_fraction`` (that time over the training time
  of the last ``every`` epochs), ``landscape_hessian_products``.

Seeds and RNG: the estimators draw from their own ``torch.Generator``s seeded by (``seed``, epoch, stream):
``seed + 1000·epoch + stream`` with stream 0 = Lanczos start vector, 1 = Hutchinson probes, 2 = LLC chains,
so the numbers of epoch e are the same after a resume; everything runs inside ``torch.random.fork_rng``
with the model in ``eval()`` mode (restored after), so enabling the callback leaves the training run's
numbers unchanged bit for bit. The weights are measured as they are (not the EMA average).
"""
from __future__ import annotations

import math
import sys
import time
from typing import Dict, List, Optional

import torch

STREAM_LANCZOS, STREAM_TRACE, STREAM_LLC = 0, 1, 2


def stream_generator(seed: int, epoch: int, stream: int) -> torch.Generator:
    """The generator of one estimator at one epoch: seeded ``seed + 1000·epoch + stream`` (module docstring)."""
    return torch.Generator().manual_seed(int(seed) + 1000 * int(epoch) + int(stream))


def measure_landscape(objective, *, hessian_objective=None, epoch: int = 0, seed: int = 0, top_k: int = 1, lanczos_iterations: int = 20,
                      tol: float = 1e-3, trace_probes: int = 4, noise_scale: bool = True, lr: Optional[float] = None,
                      batch_size: Optional[int] = None, momentum: float = 0.0, llc: Optional[dict] = None) -> Dict[str, float]:
    """The callback's numbers for one objective (keys as in the module docstring, without the timing keys).

    ``hessian_objective`` (default ``objective``): the objective whose Hessian is measured (the callback's
    first ``hessian_batches`` batches); the loss, weight norm, noise scale and λ̂ use ``objective``.

    Each estimator gets its own generator (:func:`stream_generator`), so calling the standalone functions
    of ``gdl.thermo.landscape`` with those generators reproduces every number.
    """
    from gdl.thermo.landscape import (
        HessianOperator,
        gradient_noise_scale,
        hutchinson_trace,
        parameter_norm,
        sgd_temperature,
        top_hessian_eigenvalues,
    )

    out: Dict[str, float] = {"landscape_loss": float(objective.loss()), "landscape_weight_norm": parameter_norm(objective)}
    hessian_objective = objective if hessian_objective is None else hessian_objective
    operator = HessianOperator(hessian_objective)
    k = min(top_k, hessian_objective.dim)
    eig = top_hessian_eigenvalues(operator, k=k, max_iterations=min(hessian_objective.dim, max(lanczos_iterations, k)), tol=tol,
                                  generator=stream_generator(seed, epoch, STREAM_LANCZOS))
    out["landscape_lambda_max"] = float(eig.eigenvalues[0])
    for i in range(1, eig.eigenvalues.numel()):
        out[f"landscape_lambda_{i + 1}"] = float(eig.eigenvalues[i])
    out["landscape_lanczos_residual"] = float(eig.residuals[0])
    if trace_probes:
        trace = hutchinson_trace(operator, n_probes=trace_probes, generator=stream_generator(seed, epoch, STREAM_TRACE))
        out["landscape_trace"], out["landscape_trace_se"] = trace.value, trace.standard_error
    operator.release()
    out["landscape_hessian_products"] = operator.n_products
    if noise_scale and len(objective.batches) >= 2:
        noise = gradient_noise_scale(objective)
        out["landscape_noise_scale"] = noise.b_simple
        out["landscape_trace_covariance"] = noise.trace_covariance
        out["landscape_grad_norm_sq"] = noise.gradient_norm_squared
    if lr is not None and batch_size is not None:
        out["landscape_sgd_temperature"] = sgd_temperature(lr, batch_size, momentum)
    if llc_enabled(llc):
        out.update(_llc(objective, llc, stream_generator(seed, epoch, STREAM_LLC)))
    return out


def llc_enabled(options: Optional[dict]) -> bool:
    """λ̂ is measured when ``llc`` is a non-empty mapping without ``enabled: false``."""
    return bool(options) and options.get("enabled", True) is not False


def _llc(objective, options: dict, generator: torch.Generator) -> Dict[str, float]:
    try:
        from gdl.thermo.llc import local_learning_coefficient
    except ImportError as exc:  # the llc module arrives with issue #14 part B
        raise ImportError(f"landscape.llc is set but gdl.thermo.llc is not available: {exc}") from None
    options = {k: v for k, v in options.items() if k != "enabled"}
    with objective.restored():  # SGLD moves the weights: put them back whatever the sampler does
        result = local_learning_coefficient(objective, generator=generator, **options)
    value = getattr(result, "llc", None)
    se = getattr(result, "llc_std_error", None)
    out = {"landscape_llc": float(value)}
    if se is not None:
        out["landscape_llc_se"] = float(se)
    for name in ("mala_acceptance", "drift_to_noise"):
        if getattr(result, name, None) is not None:
            out[f"landscape_llc_{name}"] = float(getattr(result, name))
    return out


class LandscapeCallback:
    """Runs :func:`measure_landscape` every ``config.every`` epochs for a Trainer (module docstring)."""

    def __init__(self, config):
        self.config = config
        self.enabled = config.every > 0
        self._batches: Optional[List] = None
        self._warned = False

    def check(self, trainer) -> None:
        """Refuse (``ConfigError``) a training split too small for the configured batches, before any epoch runs."""
        if not self.enabled:
            return
        from gdl.train._config import ConfigError

        if llc_enabled(self.config.llc):  # a misspelt λ̂ option fails now, not at the first measurement
            from gdl.thermo.llc import local_learning_coefficient
            from gdl.train._task import check_kwargs

            check_kwargs(local_learning_coefficient, {k: v for k, v in self.config.llc.items() if k != "enabled"},
                         "landscape.llc", skip=("objective_or_model", "loss_fn", "batches", "generator"))
        size = self._batch_size(trainer)
        available = min(self.config.batches, math.ceil(len(trainer.splits["train"]) / size))
        if self.config.noise_scale and available < 2:
            raise ConfigError(f"landscape.noise_scale needs ≥ 2 training batches of {size} samples; the training split "
                              f"({len(trainer.splits['train'])} items) gives {available} — lower landscape.batch_size "
                              "or set landscape.noise_scale: false")

    def _batch_size(self, trainer) -> int:
        return self.config.batch_size or trainer.config.eval_batch_size or trainer.config.batch_size

    def due(self, epoch: int) -> bool:
        """Is epoch ``epoch`` (1-based, just finished) a measurement epoch?"""
        return self.enabled and epoch % self.config.every == 0

    def batches(self, trainer) -> List:
        """The first ``batches`` training batches (unshuffled, on the run's device and dtype), built once."""
        if self._batches is None:
            from torch_geometric.loader import DataLoader

            from gdl.train._trainer import move_batch

            size = self._batch_size(trainer)
            loader = DataLoader(trainer.splits["train"], batch_size=size, shuffle=False)
            out = []
            for i, batch in enumerate(loader):
                if i >= self.config.batches:
                    break
                out.append(move_batch(batch, trainer.device, trainer.dtype))
            self._batches = out
        return self._batches

    def objectives(self, trainer):
        """(objective on all ``batches``, objective on the first ``hessian_batches``)."""
        from gdl.thermo import Objective

        batches = self.batches(trainer)
        full = Objective.from_task(trainer.task, trainer.model, batches)
        if self.config.hessian_batches >= len(batches):
            return full, full
        return full, Objective.from_task(trainer.task, trainer.model, batches[: self.config.hessian_batches])

    def measure(self, trainer, epoch: int) -> Dict[str, float]:
        """The row entries of epoch ``epoch`` (1-based); the training RNG and the model's mode are untouched."""
        from gdl.thermo import model_mode

        cfg = self.config
        t0 = time.perf_counter()
        optimizer = trainer.config.optimizer
        momentum = optimizer.momentum if optimizer.name == "sgd" else 0.0
        with torch.random.fork_rng(devices=_devices(trainer.device)), model_mode(trainer.model, training=False):
            objective, hessian_objective = self.objectives(trainer)
            row = measure_landscape(
                objective, hessian_objective=hessian_objective, epoch=epoch, seed=cfg.seed, top_k=cfg.top_k, lanczos_iterations=cfg.lanczos_iterations,
                tol=cfg.tol, trace_probes=cfg.trace_probes, noise_scale=cfg.noise_scale,
                lr=trainer.optimizer.param_groups[0]["lr"], batch_size=trainer.config.batch_size, momentum=momentum,
                llc=cfg.llc,
            )
        seconds = time.perf_counter() - t0
        train_seconds = self._train_seconds(trainer)
        row["time_landscape_s"] = seconds
        row["landscape_cost_fraction"] = seconds / train_seconds if train_seconds > 0 else math.inf
        if row["landscape_cost_fraction"] > cfg.budget and not self._warned and trainer.dist.is_main:
            self._warned = True
            print(f"warning: the landscape measurements took {seconds:.2f} s = {row['landscape_cost_fraction']:.0%} of the "
                  f"training time of the last {cfg.every} epoch(s) (budget {cfg.budget:.0%}); raise landscape.every or "
                  "lower batches / lanczos_iterations / trace_probes", file=sys.stderr)
        return row

    def _train_seconds(self, trainer) -> float:
        """Training time of the ``every`` epochs up to now (this epoch's from ``trainer._epoch_train_seconds``)."""
        previous = [row.get("time_train_s", 0.0) for row in trainer.history[-(self.config.every - 1):]] if self.config.every > 1 else []
        return float(sum(previous)) + float(getattr(trainer, "_epoch_train_seconds", 0.0))


def _devices(device: torch.device) -> list:
    return [device] if device.type == "cuda" else []


def plot_landscape(history, run_dir) -> Optional[str]:
    """``landscape.png``: λ_max, trace ± se, noise scale and λ̂ against the epoch (only the series that exist)."""
    rows = [r for r in history if "landscape_lambda_max" in r]
    if not rows:
        return None
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    from pathlib import Path

    panels = [("landscape_lambda_max", "λ_max (top Hessian eigenvalue)", None),
              ("landscape_trace", "tr H (Hutchinson)", "landscape_trace_se"),
              ("landscape_noise_scale", "gradient-noise scale B_simple", None),
              ("landscape_llc", "local learning coefficient λ̂", "landscape_llc_se")]
    panels = [p for p in panels if any(p[0] in r for r in rows)]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.0), dpi=100, squeeze=False)
    for ax, (key, label, err) in zip(axes[0], panels):
        points = [r for r in rows if key in r]
        x = [r["epoch"] for r in points]
        y = [r[key] for r in points]
        if err is not None and all(err in r for r in points):
            ax.errorbar(x, y, yerr=[r[err] for r in points], marker=".", capsize=2)
        else:
            ax.plot(x, y, marker=".")
        ax.set_xlabel("epoch")
        ax.set_title(label, fontsize=9)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    path = Path(run_dir) / "landscape.png"
    fig.savefig(path)
    plt.close(fig)
    return str(path)
