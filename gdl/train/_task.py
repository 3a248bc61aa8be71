"""The task registry: a benchmark task = datasets + model factories + loss + metric + symmetry + published numbers.

Tasks register themselves with ``register_task``; later tasks (meshes, spheres) use the
same API::

    register_task(Task(name="mytask", datasets=..., models={"net": ModelSpec(factory, lr=1e-3)},
                       loss=..., metric=Metric("mse", fn), symmetry=...))

``datasets(root=..., **config.data)`` returns ``{"train", "val", "test"}``;
``ModelSpec.factory(**config.model_options)`` returns a module whose forward takes a PyG
``Batch`` (or override ``Task.forward``); ``loss(pred, batch)`` is a scalar mean;
``metric.fn(pred, batch)`` returns ``(sum, count)`` so it can be all-reduced across ranks.
"""
from __future__ import annotations

import difflib
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional, Tuple

import torch

from gdl.train._config import ConfigError


class UnknownNameError(KeyError):
    """An unknown task or model name (the message lists the valid ones)."""

    def __str__(self):  # KeyError quotes its message; keep it readable
        return str(self.args[0])


@dataclass(frozen=True)
class Metric:
    """A metric reduced as a sum over items divided by a count (all-reduce friendly).

    ``fn(pred, batch) -> (sum, count)``; ``higher_is_better`` picks the best-validation epoch.
    """

    name: str
    fn: Callable[[Any, Any], Tuple[torch.Tensor, torch.Tensor]]
    higher_is_better: bool = False

    def better(self, a: float, b: Optional[float]) -> bool:
        """Is ``a`` better than ``b`` (``None`` = no value yet)?"""
        if b is None:
            return True
        return a > b if self.higher_is_better else a < b


@dataclass(frozen=True)
class ModelSpec:
    """A model factory plus its default training hyper-parameters (e.g. the paper's learning rate)."""

    factory: Callable[..., torch.nn.Module]
    lr: float = 1e-3
    weight_decay: Optional[float] = None
    description: str = ""
    defaults: Dict[str, Any] = field(default_factory=dict)  # config overrides (e.g. {"epochs": 1000})
    breaks: Tuple[str, ...] = ()  # symmetries a baseline breaks by design (e.g. ("E(3)",)): measured, not enforced


@dataclass(frozen=True)
class Published:
    """A published number for comparison, with where it comes from."""

    value: float
    source: str = ""
    std: Optional[float] = None


@dataclass
class Task:
    """A benchmark task; see the module docstring for the calling conventions.

    ``symmetry(model)`` returns what ``gdl.testing.check_equivariance`` must check on a
    sample (a ``gdl.testing`` Symmetry or a list, e.g. [EuclideanSymmetry(3), NodePermutation()]
    for N-body); ``None`` lets gdl.testing derive them from the model's declared types.
    ``tolerance`` maps a dtype name to the relative equivariance error the monitor accepts.
    ``target_types`` declares how the targets transform ({attribute: FieldType}, e.g. ``{"y": points}``;
    an empty dict means invariant targets such as class labels).
    """

    name: str
    description: str
    datasets: Callable[..., Dict[str, Any]]
    models: Dict[str, ModelSpec]
    loss: Callable[[Any, Any], torch.Tensor]
    metric: Metric
    symmetry: Optional[Callable[[torch.nn.Module], Any]] = None
    check_equivariance: bool = True
    symmetry_description: str = ""
    published: Dict[str, Published] = field(default_factory=dict)
    default_model: Optional[str] = None
    defaults: Dict[str, Any] = field(default_factory=dict)
    tolerance: Dict[str, float] = field(default_factory=dict)  # dtype name → rtol; default gdl.testing.default_rtol
    target_types: Dict[str, Any] = field(default_factory=dict)  # how targets transform, e.g. {"y": points}
    forward: Optional[Callable[[torch.nn.Module, Any], Any]] = None
    generate: Optional[Callable[..., Any]] = None  # `gdl data TASK`: build/cache the data, return a summary
    notes: str = ""

    def __post_init__(self):
        if not self.models:
            raise ValueError(f"task {self.name!r} needs at least one model")
        if self.default_model is None:
            self.default_model = next(iter(self.models))
        if self.default_model not in self.models:
            raise ValueError(f"task {self.name!r}: default_model {self.default_model!r} is not one of its models")

    def model_spec(self, name: Optional[str]) -> ModelSpec:
        name = name or self.default_model
        if name not in self.models:
            raise UnknownNameError(
                f"unknown model {name!r} for task {self.name!r}{_close(name, self.models)}; "
                f"valid models: {', '.join(self.models)}"
            )
        return self.models[name]

    def build_model(self, name: Optional[str], options: Optional[dict] = None) -> torch.nn.Module:
        spec = self.model_spec(name)
        return spec.factory(**check_kwargs(spec.factory, options or {}, f"model_options for {self.name}/{name}"))

    def build_datasets(self, root=None, options: Optional[dict] = None) -> Dict[str, Any]:
        options = check_kwargs(self.datasets, options or {}, f"data options for task {self.name}", skip=("root",))
        splits = self.datasets(root=root, **options)
        missing = {"train", "val", "test"} - set(splits)
        if missing:
            raise ValueError(f"task {self.name!r}: dataset factory did not return splits {sorted(missing)}")
        return splits

    def run_forward(self, model, batch):
        return self.forward(model, batch) if self.forward is not None else model(batch)


def check_kwargs(fn, options: dict, what: str, skip=()) -> dict:
    """Refuse keyword arguments that ``fn`` does not take (naming the valid ones)."""
    parameters = inspect.signature(fn).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return dict(options)
    valid = [n for n, p in parameters.items() if n not in skip and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]
    for key in options:
        if key not in valid:
            raise ConfigError(f"unknown key {key!r} in {what}{_close(key, valid)}; valid keys: {', '.join(valid) or '(none)'}")
    return dict(options)


def _close(name, valid) -> str:
    close = difflib.get_close_matches(str(name), list(valid), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


_TASKS: Dict[str, Task] = {}
_BUILTIN_LOADED = False


def register_task(task: Task, *, overwrite: bool = False) -> Task:
    """Add a task to the registry (``overwrite=True`` to replace one with the same name)."""
    if task.name in _TASKS and not overwrite:
        raise ValueError(f"a task named {task.name!r} is already registered (pass overwrite=True to replace it)")
    _TASKS[task.name] = task
    return task


def _load_builtin():
    global _BUILTIN_LOADED
    if not _BUILTIN_LOADED:
        _BUILTIN_LOADED = True
        from gdl.train import tasks  # noqa: F401  (registers nbody, csl)


def get_task(name: str) -> Task:
    """The registered task ``name``; an unknown name raises ``UnknownNameError`` listing the valid ones."""
    _load_builtin()
    if name not in _TASKS:
        raise UnknownNameError(f"unknown task {name!r}{_close(name, _TASKS)}; valid tasks: {', '.join(sorted(_TASKS))}")
    return _TASKS[name]


def list_tasks() -> Dict[str, Task]:
    """All registered tasks by name."""
    _load_builtin()
    return dict(sorted(_TASKS.items()))
