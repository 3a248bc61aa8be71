r"""The local learning coefficient λ̂ of a trained model (Lau et al. 2023, arXiv:2308.12108; Watanabe 2009).

Singular learning theory: near a local minimum w* of the empirical loss L_n (the mean negative
log-likelihood of n samples), the local free energy grows as n L_n(w*) + λ log n, and the
*learning coefficient* λ measures the minimum's effective dimension: λ = d/2 for a regular model
with d parameters, λ < d/2 when directions are flat or degenerate (every exactly flat direction
removes ½; singular points remove more). Its estimator (Lau et al. eq. 5)

    λ̂(w*) = nβ (E_β^γ[L_n(w)] − L_n(w*)),        nβ = n / log n  (β* = 1/log n, the WBIC temperature)

takes the expectation over the *localised tempered posterior*

    p(w) ∝ exp(−nβ L_n(w) − γ/2 ‖w − w*‖²),

which is the Boltzmann density at kT = 1 of the potential U(w) = nβ L_n(w) + γ/2 ‖w − w*‖²: γ keeps
the chain near w* (it adds a bias of order γ / (nβ h) on a direction of curvature h). We sample it
by SGLD (Welling & Teh 2011), which here is the overdamped Langevin step ``gdl.thermo.overdamped_step``
on the parameters (the same function that moves atoms), with the force F = −(nβ ∇L_B(w) + γ (w − w*))
from a minibatch B and time step dt = ``step_size``:

    w' = w − ε (nβ ∇L_B(w) + γ (w − w*)) + √(2ε) ξ,    ξ ~ N(0, I).

(Lau et al. write the step as ε'/2 · (…) + N(0, ε'): their ε' is 2 × our ε.)

Diagnostics of the chain (``LLCResult``): the per-step loss trace (a trace plot, ``plot_trace``); the
MALA acceptance probability of the proposals (Lau et al. §C / devinterp's step-size check: every
``check_every`` steps the Metropolis–Hastings ratio of the proposal is computed on the same minibatch;
a mean well below 1 means ε is too large and λ̂ biased); the ratio of the drift to the injected noise
‖ε F‖ / ‖√(2ε) ξ‖; the fraction of the post-burn-in steps whose loss fell below L_n(w*) (many such steps
mean w* is not a local minimum). Symmetry: λ̂ depends on the loss only, so a reparametrisation that
leaves the loss invariant and is an isometry of parameter space (a permutation of hidden units, a
global rotation of an equivariant model's data) leaves its distribution unchanged.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence

import torch

from gdl.thermo._langevin import mala_log_ratio, overdamped_step

LossFn = Callable[[torch.nn.Module, Any], torch.Tensor]


@dataclass
class LLCResult:
    r"""The estimate and its diagnostics.

    - ``llc``: λ̂, the mean over chains; ``llc_std_error``: the standard error over chains
      (std / √n_chains; ``nan`` for one chain); ``llc_per_chain`` [C].
    - ``loss_trace`` [C, n_burnin + n_steps]: the minibatch loss L_B(w_t) at every step of every chain.
    - ``init_loss``: L_n(w*) over all batches; ``n``, ``n_beta`` (= nβ), ``gamma``, ``step_size``.
    - ``mala_acceptance``: the mean MALA acceptance probability min(1, exp(log α)) of the checked
      proposals (``nan`` when none were checked); ``drift_to_noise``: mean ‖ε F‖ / ‖√(2ε) ξ‖;
      ``below_init_fraction``: the fraction of sampled steps with L_B(w) < L_n(w*).
    """

    llc: float
    llc_std_error: float
    llc_per_chain: torch.Tensor
    loss_trace: torch.Tensor
    init_loss: float
    n: int
    n_beta: float
    gamma: float
    step_size: float
    n_burnin: int
    mala_acceptance: float
    drift_to_noise: float
    below_init_fraction: float
    info: Dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> Dict[str, float]:
        """The scalar fields (for a metrics log)."""
        return {"llc": self.llc, "llc_std_error": self.llc_std_error, "llc_init_loss": self.init_loss,
                "llc_n_beta": self.n_beta, "llc_mala_acceptance": self.mala_acceptance,
                "llc_drift_to_noise": self.drift_to_noise, "llc_below_init_fraction": self.below_init_fraction}

    def plot_trace(self, path=None, ax=None):
        """Trace plot of nβ (L_B(w_t) − L_n(w*)) per chain (burn-in shaded) with λ̂; needs matplotlib.
        Saves to ``path`` when given; returns the matplotlib axes."""
        import matplotlib

        if ax is None:
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            fig, ax = plt.subplots(figsize=(6, 3.5))
        scaled = self.n_beta * (self.loss_trace - self.init_loss)
        for chain in scaled:
            ax.plot(chain.numpy(), lw=0.6, alpha=0.8)
        ax.axvspan(0, self.n_burnin, color="0.9", label="burn-in")
        ax.axhline(self.llc, color="k", ls="--", label=f"λ̂ = {self.llc:.3g} ± {self.llc_std_error:.2g}")
        ax.set_xlabel("SGLD step")
        ax.set_ylabel("nβ (L_B(w) − L_n(w*))")
        ax.legend(loc="best", fontsize=8)
        if path is not None:
            ax.figure.tight_layout()
            ax.figure.savefig(path, dpi=120)
        return ax


def _check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer ≥ {minimum}, got {value!r}")
    return value


def _check_number(value, name: str, allow_zero: bool = False) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        bound = "≥ 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
    return float(value)


def _unpack(objective_or_model, loss_fn, batches, n):
    """(model, loss_fn, batches, n, weights) from an ``Objective`` (attributes model, loss_fn, batches,
    n_samples, weights) or from a model plus ``loss_fn`` and ``batches`` (weights: None = equal)."""
    weights = None
    if isinstance(objective_or_model, torch.nn.Module):
        model = objective_or_model
        if loss_fn is None or batches is None:
            raise TypeError("local_learning_coefficient(model, ...) needs loss_fn=(model, batch) -> scalar mean loss "
                            "and batches=[batch, ...] (or pass a gdl.thermo Objective)")
    else:
        objective = objective_or_model
        missing = [a for a in ("model", "loss_fn", "batches") if not hasattr(objective, a)]
        if missing:
            raise TypeError(f"expected a torch.nn.Module or an Objective with attributes model, loss_fn, batches; "
                            f"got {type(objective).__name__} without {', '.join(missing)}")
        model, loss_fn, batches = objective.model, objective.loss_fn, objective.batches
        if n is None:
            n = getattr(objective, "n_samples", None)
        weights = getattr(objective, "weights", None)
    batches = list(batches)
    if not batches:
        raise ValueError("batches is empty: λ̂ needs at least one batch of data")
    if n is None:
        raise ValueError("n (the number of training samples behind the loss) is required: nβ = n / log n")
    if weights is not None:
        weights = [float(w) for w in weights]
        if len(weights) != len(batches):
            raise ValueError(f"expected one weight per batch ({len(batches)}), got {len(weights)}")
        if max(weights) - min(weights) <= 1e-12:
            weights = None  # equal weights: visit the batches in shuffled passes
    return model, loss_fn, batches, _check_int(n, "n", 2), weights


def local_learning_coefficient(
    objective_or_model,
    loss_fn: Optional[LossFn] = None,
    batches: Optional[Sequence[Any]] = None,
    *,
    n: Optional[int] = None,
    beta: Optional[float] = None,
    gamma: float = 100.0,
    step_size: float = 1e-4,
    n_chains: int = 4,
    n_steps: int = 200,
    n_burnin: int = 100,
    check_every: int = 10,
    vectorize="auto",
    generator: Optional[torch.Generator] = None,
) -> LLCResult:
    r"""λ̂ = nβ (E[L] − L(w*)) at the model's current parameters w*, by SGLD on exp(−nβ L − γ/2 ‖w − w*‖²).

    Args:
        objective_or_model: a ``gdl.thermo`` ``Objective`` (its ``model``, ``loss_fn``, ``batches`` and
            ``n_samples`` are used) or a ``torch.nn.Module`` with ``loss_fn`` and ``batches``.
        loss_fn: ``loss_fn(model, batch) -> scalar`` mean negative log-likelihood of the batch (for a
            Gaussian likelihood of unit variance that is ½ · mean squared error; cross-entropy for classes).
        batches: the training data as a list of batches (any type ``loss_fn`` takes: tensors, dicts, PyG
            batches); SGLD visits them in a fresh random order every pass (an Objective's batches of unequal
            weights ω_b are drawn with probability ω_b, and L(w*) = Σ ω_b L_b). One batch = full-batch Langevin.
        n: the number of samples behind the loss (default: the objective's ``n_samples``).
        beta: inverse temperature β (default 1 / log n, so nβ = n / log n).
        gamma: localisation strength γ ≥ 0. step_size: ε (the Langevin time step, see the module docstring).
        n_chains, n_steps, n_burnin: chains, sampled steps per chain, discarded steps before them.
        check_every: compute the MALA acceptance of every ``check_every``-th proposal (0: never; each
            check costs one extra loss + gradient).
        vectorize: run the chains as one batch with ``torch.func.vmap`` (``"auto"``: when the model allows).
        generator: seeds the batch order and the noise (same generator state → same λ̂).

    The model is evaluated in ``eval()`` mode (no dropout; batch-norm statistics frozen) and its
    parameters and mode are restored afterwards, also when the chain fails. A chain whose loss becomes
    non-finite raises ``FloatingPointError`` naming the step size.
    """
    model, loss_fn, batches, n, weights = _unpack(objective_or_model, loss_fn, batches, n)
    gamma = _check_number(gamma, "gamma", allow_zero=True)
    step_size = _check_number(step_size, "step_size")
    n_chains = _check_int(n_chains, "n_chains", 1)
    n_steps = _check_int(n_steps, "n_steps", 1)
    n_burnin = _check_int(n_burnin, "n_burnin", 0)
    check_every = _check_int(check_every, "check_every", 0)
    if beta is None:
        beta = 1.0 / math.log(n)
    beta = _check_number(beta, "beta")
    n_beta = n * beta

    named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    if not named:
        raise ValueError(f"{type(model).__name__} has no parameters that require grad: λ̂ is undefined")
    params = [p for _, p in named]
    w_star = torch.nn.utils.parameters_to_vector(params).detach().clone()
    was_training = model.training
    model.eval()
    evaluate = _Evaluator(model, loss_fn, named, vectorize)

    def potential(w, batch):
        """(L_B [C], U [C], F [C, P]): U = nβ L_B + γ/2 ‖w − w*‖², F = −∇U, for C chains at once."""
        loss, grad = evaluate(w, batch)
        delta = w - w_star
        energy = n_beta * loss + 0.5 * gamma * (delta * delta).sum(-1)
        return loss, energy, -(n_beta * grad + gamma * delta)

    total = n_burnin + n_steps
    trace = torch.empty(n_chains, total, dtype=torch.float64)
    acceptances: List[torch.Tensor] = []
    drift_ratios: List[torch.Tensor] = []
    try:
        with torch.no_grad():
            losses = [float(_check_scalar(loss_fn(model, b))) for b in batches]
            init_loss = (sum(losses) / len(losses) if weights is None else sum(w * l for w, l in zip(weights, losses)))
        if not math.isfinite(init_loss):
            raise FloatingPointError(f"the loss at w* is {init_loss}: λ̂ needs a finite loss at the minimum")
        order: List[int] = []
        w = w_star.expand(n_chains, -1).clone()  # [C, P]: the chains are the replica axis of the Langevin step
        for step in range(total):
            if weights is not None:  # batches of unequal weight ω_b (an Objective's): draw b with probability ω_b
                batch = batches[int(torch.multinomial(torch.tensor(weights), 1, generator=generator))]
            else:
                if not order:
                    order = torch.randperm(len(batches), generator=generator).tolist()
                batch = batches[order.pop()]
            loss, energy, force = potential(w, batch)
            if not bool(torch.isfinite(loss).all()):
                chain = int((~torch.isfinite(loss)).nonzero()[0])
                raise FloatingPointError(
                    f"SGLD chain {chain} reached a non-finite loss at step {step}: step_size = {step_size:g} is "
                    f"too large for nβ = {n_beta:.4g} and this loss (try step_size = {step_size / 10:g})")
            trace[:, step] = loss.to(torch.float64)
            xi = torch.randn(w.shape, generator=generator, dtype=w.dtype, device=w.device)
            w_new = overdamped_step(w, force, 1.0, step_size, xi)
            drift_ratios.append((step_size * force).norm(dim=-1) / (math.sqrt(2 * step_size) * xi.norm(dim=-1)))
            if check_every and step % check_every == 0:
                _, energy_new, force_new = potential(w_new, batch)
                log_ratio = mala_log_ratio(w, w_new, energy, energy_new, force, force_new, 1.0, step_size)
                acceptances.append(torch.nan_to_num(log_ratio.clamp(max=0.0).exp(), nan=0.0))
            w = w_new
        info = {"vectorized": float(evaluate.vectorized)}
    finally:
        _copy_into(params, w_star)
        model.train(was_training)

    sampled = trace[:, n_burnin:]
    per_chain = n_beta * (sampled.mean(dim=1) - init_loss)
    llc = float(per_chain.mean())
    std_error = float(per_chain.std(unbiased=True) / math.sqrt(n_chains)) if n_chains > 1 else float("nan")
    return LLCResult(
        llc=llc,
        llc_std_error=std_error,
        llc_per_chain=per_chain,
        loss_trace=trace,
        init_loss=init_loss,
        n=n,
        n_beta=n_beta,
        gamma=gamma,
        step_size=step_size,
        n_burnin=n_burnin,
        mala_acceptance=float(torch.stack(acceptances).mean()) if acceptances else float("nan"),
        drift_to_noise=float(torch.stack(drift_ratios).mean()),
        below_init_fraction=float((sampled < init_loss).to(torch.float64).mean()),
        info=info,
    )


class _LossModule(torch.nn.Module):
    """``loss_fn(model, batch)`` as a module, so ``torch.func.functional_call`` can swap the model's parameters."""

    def __init__(self, model, loss_fn):
        super().__init__()
        self.model, self.loss_fn = model, loss_fn

    def forward(self, batch):
        return self.loss_fn(self.model, batch)


class _Evaluator:
    """(loss [C], gradient [C, P]) of C parameter vectors on one batch.

    Vectorised over chains with ``torch.func.vmap(grad_and_value(functional_call(...)))`` when the model
    allows it (``vectorize="auto"`` tries once and falls back to a loop over chains, e.g. for models
    with data-dependent control flow or in-place updates that ``vmap`` refuses); ``True`` requires it,
    ``False`` always loops.
    """

    def __init__(self, model, loss_fn, named, vectorize):
        if vectorize not in ("auto", True, False):
            raise ValueError(f"vectorize must be 'auto', True or False, got {vectorize!r}")
        self.model, self.loss_fn, self.mode = model, loss_fn, vectorize
        self.names = ["model." + name for name, _ in named]
        self.params = [p for _, p in named]
        self.shapes = [p.shape for p in self.params]
        self.sizes = [p.numel() for p in self.params]
        self.vectorized = vectorize is not False
        wrapper = _LossModule(model, loss_fn)

        def loss_of(flat, batch):
            pieces = flat.split(self.sizes)
            tensors = {name: piece.view(shape) for name, piece, shape in zip(self.names, pieces, self.shapes)}
            return _check_scalar(torch.func.functional_call(wrapper, tensors, (batch,), strict=False))

        self._batched = torch.func.vmap(torch.func.grad_and_value(loss_of), in_dims=(0, None))

    def __call__(self, w, batch):
        if self.vectorized:
            try:
                grad, loss = self._batched(w, batch)
                return loss.detach(), grad.detach()
            except (RuntimeError, NotImplementedError, ValueError):
                if self.mode is True:
                    raise
                self.vectorized = False
        losses, grads = [], []
        for row in w:
            _copy_into(self.params, row)
            loss = self.loss_fn(self.model, batch)
            _check_scalar(loss)
            g = torch.autograd.grad(loss, self.params, allow_unused=True)
            grads.append(torch.cat([(gi if gi is not None else torch.zeros_like(p)).reshape(-1)
                                    for gi, p in zip(g, self.params)]))
            losses.append(loss.detach())
        return torch.stack(losses), torch.stack(grads)


def _copy_into(params, flat: torch.Tensor) -> None:
    """Write a flat parameter vector into the parameters in place (no aliasing of ``flat``)."""
    with torch.no_grad():
        for p, piece in zip(params, flat.split([p.numel() for p in params])):
            p.copy_(piece.view_as(p))


class _LossShapeError(TypeError):
    pass


def _check_scalar(loss):
    if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
        raise _LossShapeError(f"loss_fn must return a scalar tensor (the mean loss of the batch), got "
                              f"{type(loss).__name__} of shape {list(getattr(loss, 'shape', []))}")
    return loss
