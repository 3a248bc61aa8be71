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
import re
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
    # prepare_model(model, splits): fit data statistics into the freshly built model (e.g. reference energies)
    # once the datasets exist, before the first step; its values live in the model's state dict
    prepare_model: Optional[Callable[[torch.nn.Module, Dict[str, Any]], Any]] = None
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
        """``factory(**options)``; an option the model does not take is a ``ConfigError`` naming the valid ones,
        also when the factory or the model forwards ``**kwargs`` to a layer (see :func:`check_kwargs`)."""
        spec = self.model_spec(name)
        what = f"model_options for {self.name}/{name or self.default_model}"
        options = check_kwargs(spec.factory, options or {}, what)
        try:
            return spec.factory(**options)
        except TypeError as exc:  # a **kwargs chain check_kwargs could not follow: still name the key
            match = re.search(r"unexpected keyword argument '(\w+)'", str(exc))
            if match and match.group(1) in options:
                raise ConfigError(f"unknown key {match.group(1)!r} in {what}: {exc}") from None
            raise

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
    """Refuse keyword arguments that ``fn`` does not take (naming the valid ones).

    When ``fn`` takes ``**kwargs`` and passes them on to one callee it names (e.g. a model's
    ``**conv_options`` → ``EGNNConv(..., **conv_options)``), the callee's keywords that the call does
    not fix already are valid too, followed recursively; a ``**kwargs`` that cannot be followed that
    way (passed to ``super()``, to a variable, to several callees) accepts any key.
    """
    valid = accepted_keywords(fn, skip)
    if valid is None:
        return dict(options)
    for key in options:
        if key not in valid:
            raise ConfigError(f"unknown key {key!r} in {what}{_close(key, valid)}; valid keys: {', '.join(valid) or '(none)'}")
    return dict(options)


def accepted_keywords(fn, skip=(), depth: int = 0) -> Optional[list]:
    """The keyword names ``fn`` accepts, following a ``**kwargs`` it forwards; ``None`` when any name may be valid."""
    try:
        parameters = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return None
    own = [n for n, p in parameters.items() if n not in skip and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]
    var_kw = next((n for n, p in parameters.items() if p.kind is inspect.Parameter.VAR_KEYWORD), None)
    if var_kw is None:
        return own
    if depth >= 4:
        return None
    forwarded = _forwarded_to(fn, var_kw)
    if forwarded is None:
        return None
    callee, fixed_positional, fixed_keywords = forwarded
    target = callee.__init__ if inspect.isclass(callee) else callee
    inner = accepted_keywords(target, ("self",), depth + 1)
    if inner is None:
        return None
    try:
        callee_params = [n for n in inspect.signature(target).parameters if n != "self"]
    except (TypeError, ValueError):
        return None
    taken = set(callee_params[:fixed_positional]) | set(fixed_keywords)
    return own + [n for n in inner if n not in taken and n not in own]


def _forwarded_to(fn, var_kw: str):
    """``(callee, number of positional arguments, fixed keyword names)`` of the one call in ``fn`` that
    receives ``**var_kw``, the callee resolved in ``fn``'s globals; ``None`` if there is not exactly one."""
    import ast
    import textwrap

    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return None
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)
             and any(k.arg is None and isinstance(k.value, ast.Name) and k.value.id == var_kw for k in node.keywords)]
    if len(calls) != 1 or not isinstance(calls[0].func, ast.Name):
        return None
    call = calls[0]
    function = getattr(fn, "__func__", fn)
    callee = getattr(function, "__globals__", {}).get(call.func.id)
    if callee is None or any(isinstance(a, ast.Starred) for a in call.args):
        return None
    return callee, len(call.args), [k.arg for k in call.keywords if k.arg is not None]


def _close(name, valid) -> str:
    close = difflib.get_close_matches(str(name), list(valid), n=1) or [v for v in valid if str(v).startswith(str(name))][:1]
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
