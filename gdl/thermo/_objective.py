"""The training loss as a function of the parameters: the object every landscape and learning-dynamics measure takes.

An :class:`Objective` is the empirical risk of a model on a **fixed** set of batches,

    L(w) = Σ_b ω_b L_b(w),     ω_b = n_b / Σ_b' n_b'   (n_b = samples in batch b; ω_b = 1/#batches if unknown),

so that L is the per-sample mean loss over the union of the batches whenever each ``loss_fn`` is a
mean over its batch. ``loss_fn(model, batch) -> scalar tensor`` takes anything the model takes (a
PyG ``Batch``, a dict, a tensor, a tuple ``(x, y)``); :meth:`Objective.from_task` builds it from a
registered gdl ``Task`` (``task.loss(task.run_forward(model, batch), batch)``).

The parameters w are ``objective.params()`` (the trainable ones, in ``model.parameters()`` order), and
every vector in parameter space is **flat** (``flatten`` / ``unflatten`` / ``assign``); the context
manager ``parameters_restored(params)`` puts the weights back however the block exits, so a measure
that moves the weights (loss slices, SGLD chains) leaves the model exactly as it found it.

The objective neither switches the model to ``eval()`` nor back: callers that must not perturb
training (dropout, batch-norm running statistics) wrap it in ``model_mode(model, training=False)``.
"""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator, List, Optional, Sequence, Tuple

import torch

LossFunction = Callable[[torch.nn.Module, Any], torch.Tensor]


# ---------------------------------------------------------------------------- flat vectors
def flatten(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    """Concatenate ``tensors`` (parameters, gradients, directions) into one flat vector."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("flatten: expected at least one tensor, got an empty sequence")
    return torch.cat([t.reshape(-1) for t in tensors])


def unflatten(vector: torch.Tensor, like: Sequence[torch.Tensor]) -> List[torch.Tensor]:
    """Split a flat ``vector`` into tensors shaped like ``like`` (the inverse of :func:`flatten`)."""
    like = list(like)
    total = sum(t.numel() for t in like)
    if vector.dim() != 1 or vector.numel() != total:
        raise ValueError(f"expected a flat vector of {total} entries (the parameters' size), got shape {tuple(vector.shape)}")
    out, start = [], 0
    for t in like:
        out.append(vector[start:start + t.numel()].view_as(t))
        start += t.numel()
    return out


@torch.no_grad()
def assign(params: Sequence[torch.Tensor], vector: torch.Tensor) -> None:
    """Write the flat ``vector`` into ``params`` in place (cast to each parameter's dtype and device)."""
    params = list(params)
    for p, value in zip(params, unflatten(vector, params)):
        p.copy_(value.to(device=p.device, dtype=p.dtype))


@contextlib.contextmanager
def parameters_restored(params: Sequence[torch.Tensor]) -> Iterator[torch.Tensor]:
    """Save ``params``; yield their flat copy; restore them bit for bit on exit (also after an exception)."""
    params = list(params)
    saved = [p.detach().clone() for p in params]
    try:
        yield flatten(saved).clone()
    finally:
        with torch.no_grad():
            for p, s in zip(params, saved):
                p.copy_(s)


@contextlib.contextmanager
def model_mode(model: torch.nn.Module, training: bool = False):
    """Put ``model`` (and every submodule) in train / eval mode for the block; restore each module's own flag after."""
    flags = [(m, m.training) for m in model.modules()]
    model.train(training)
    try:
        yield model
    finally:
        for m, flag in flags:
            m.training = flag


def batch_size(batch: Any) -> Optional[int]:
    """The number of samples in ``batch`` when it can be read off: PyG ``num_graphs``, a tensor's first axis,
    the first entry of a tuple/list, the ``"y"`` (else first tensor) entry of a dict; ``None`` otherwise."""
    if hasattr(batch, "num_graphs"):
        return int(batch.num_graphs)
    if isinstance(batch, torch.Tensor):
        return int(batch.shape[0]) if batch.dim() > 0 else None
    if isinstance(batch, (tuple, list)) and batch:
        return batch_size(batch[0])
    if isinstance(batch, dict) and batch:
        if "y" in batch:
            return batch_size(batch["y"])
        tensors = [v for v in batch.values() if isinstance(v, torch.Tensor)]
        return batch_size(tensors[0]) if tensors else None
    return None


# ---------------------------------------------------------------------------- the objective
class Objective:
    """L(w) = Σ_b ω_b loss_fn(model, batch_b) on fixed ``batches`` (see the module docstring).

    ``model``: a ``torch.nn.Module``. ``loss_fn(model, batch) -> scalar tensor``: the mean loss on one batch.
    ``batches``: a non-empty sequence (kept as given; move it to the model's device/dtype first).
    ``n_samples``: the number of samples n behind L (the LLC's n); default Σ_b n_b when every batch's
    size can be read off (:func:`batch_size`), else ``None``. ``params``: the parameters w (default: the
    model's trainable ones). ``weights``: ω_b explicitly (must sum to 1).

    Symmetry: L is exactly invariant when the same symmetry acts on every batch and the model and loss are
    invariant under it (e.g. a global rotation of an E(n)-equivariant model's data), so are its gradient's
    norm and its Hessian's spectrum.
    """

    def __init__(self, model: torch.nn.Module, loss_fn: LossFunction, batches: Sequence[Any], *,
                 n_samples: Optional[int] = None, params: Optional[Sequence[torch.Tensor]] = None,
                 weights: Optional[Sequence[float]] = None):
        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"Objective: expected a torch.nn.Module as model, got {type(model).__name__}")
        if not callable(loss_fn):
            raise TypeError(f"Objective: expected loss_fn(model, batch) -> scalar tensor, got {type(loss_fn).__name__}")
        if isinstance(batches, (torch.Tensor, dict)) or hasattr(batches, "num_graphs"):
            batches = [batches]  # one batch given bare
        batches = list(batches)
        if not batches:
            raise ValueError("Objective: expected at least one batch, got none")
        self.model = model
        self.loss_fn = loss_fn
        self.batches = batches
        self._params = list(params) if params is not None else [p for p in model.parameters() if p.requires_grad]
        if not self._params:
            raise ValueError("Objective: the model has no trainable parameters")
        sizes = [batch_size(b) for b in batches]
        self.batch_sizes: List[Optional[int]] = sizes
        if weights is not None:
            weights = [float(w) for w in weights]
            if len(weights) != len(batches):
                raise ValueError(f"Objective: expected {len(batches)} weights (one per batch), got {len(weights)}")
            if abs(sum(weights) - 1.0) > 1e-9 or min(weights) < 0:
                raise ValueError(f"Objective: weights must be non-negative and sum to 1, got sum {sum(weights)}")
            self.weights = weights
        elif all(s is not None and s > 0 for s in sizes):
            total = float(sum(sizes))
            self.weights = [s / total for s in sizes]
        else:
            self.weights = [1.0 / len(batches)] * len(batches)
        if n_samples is None and all(s is not None for s in sizes):
            n_samples = int(sum(sizes))
        if n_samples is not None and n_samples <= 0:
            raise ValueError(f"Objective: n_samples must be positive, got {n_samples}")
        self.n_samples: Optional[int] = n_samples

    @classmethod
    def from_task(cls, task, model: torch.nn.Module, batches: Sequence[Any], **options) -> "Objective":
        """The objective of a gdl ``Task`` (``task.loss(task.run_forward(model, batch), batch)``) on ``batches``.

        ``task`` is a ``gdl.train.Task`` object (look a name up with ``gdl.train.get_task`` first);
        ``options`` go to :class:`Objective` (``n_samples``, ``params``, ``weights``).
        """
        if not (hasattr(task, "loss") and hasattr(task, "run_forward")):
            raise TypeError(f"Objective.from_task: expected a gdl Task (with .loss and .run_forward), got {type(task).__name__}"
                            " — pass gdl.train.get_task(name) for a registered name")

        def task_loss(m, batch):
            return task.loss(task.run_forward(m, batch), batch)

        return cls(model, task_loss, batches, **options)

    # ------------------------------------------------------------------ parameters
    def params(self) -> List[torch.Tensor]:
        """The parameters w (trainable ones, in ``model.parameters()`` order)."""
        return list(self._params)

    @property
    def dim(self) -> int:
        """d = number of scalar parameters."""
        return sum(p.numel() for p in self._params)

    @property
    def dtype(self) -> torch.dtype:
        return self._params[0].dtype

    @property
    def device(self) -> torch.device:
        return self._params[0].device

    def parameter_vector(self) -> torch.Tensor:
        """A detached flat copy of w."""
        return flatten([p.detach() for p in self._params]).clone()

    def assign(self, vector: torch.Tensor) -> None:
        """Set w to the flat ``vector`` in place."""
        assign(self._params, vector)

    def restored(self):
        """Context manager: the weights are put back on exit (see :func:`parameters_restored`)."""
        return parameters_restored(self._params)

    # ------------------------------------------------------------------ losses and gradients
    def batch_loss(self, index: int) -> torch.Tensor:
        """L_b(w) for batch ``index``, differentiable (with the autograd graph)."""
        loss = self.loss_fn(self.model, self.batches[index])
        if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
            shape = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
            raise ValueError(f"loss_fn must return a scalar tensor (mean loss over the batch), got {shape}")
        return loss.reshape(())

    def terms(self) -> Iterator[Tuple[float, torch.Tensor]]:
        """Yield ``(ω_b, L_b(w))`` per batch, each loss differentiable: accumulate per batch to keep memory flat."""
        for index, weight in enumerate(self.weights):
            yield weight, self.batch_loss(index)

    def loss(self) -> torch.Tensor:
        """L(w) as a detached 0-d tensor, accumulated in float64 (whatever the model's dtype)."""
        total = torch.zeros((), dtype=torch.float64, device=self.device)
        with torch.no_grad():
            for weight, value in self.terms():
                total += weight * value.detach().to(torch.float64)
        return total

    def batch_grad(self, index: int, create_graph: bool = False) -> torch.Tensor:
        """∇L_b(w) of batch ``index`` as a flat vector (in the parameters' dtype)."""
        grads = torch.autograd.grad(self.batch_loss(index), self._params, create_graph=create_graph, allow_unused=True)
        return flatten([torch.zeros_like(p) if g is None else g for p, g in zip(self._params, grads)])

    def grad(self) -> torch.Tensor:
        """∇L(w) = Σ_b ω_b ∇L_b(w) as a detached flat vector (in the parameters' dtype)."""
        total = torch.zeros(self.dim, dtype=self.dtype, device=self.device)
        for index, weight in enumerate(self.weights):
            total += weight * self.batch_grad(index).detach()
        return total

    def loss_and_grad(self) -> Tuple[torch.Tensor, torch.Tensor]:
        """(L(w) in float64, ∇L(w)) in one pass over the batches."""
        loss = torch.zeros((), dtype=torch.float64, device=self.device)
        grad = torch.zeros(self.dim, dtype=self.dtype, device=self.device)
        for index, weight in enumerate(self.weights):
            value = self.batch_loss(index)
            grads = torch.autograd.grad(value, self._params, allow_unused=True)
            grad += weight * flatten([torch.zeros_like(p) if g is None else g for p, g in zip(self._params, grads)])
            loss += weight * value.detach().to(torch.float64)
        return loss, grad

    def loss_at(self, vector: torch.Tensor) -> torch.Tensor:
        """L(w') at the flat parameter vector w' (the weights are restored afterwards)."""
        with self.restored():
            self.assign(vector)
            return self.loss()

    def __repr__(self):
        return (f"Objective(model={type(self.model).__name__}, batches={len(self.batches)}, "
                f"n_samples={self.n_samples}, dim={self.dim})")
