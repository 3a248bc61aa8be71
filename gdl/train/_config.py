"""Training configuration: nested dataclasses, loaded from YAML/dicts, strict about keys.

A key that does not exist is an error (with the valid keys and a close match), never
silently ignored. ``data`` and ``model_options`` are free-form here and are checked
against the task's dataset and model factories when the run is built.
"""
from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml


class ConfigError(ValueError):
    """A configuration key or value that does not exist or does not fit."""


@dataclass
class OptimizerConfig:
    """Optimizer: ``adam``, ``adamw`` or ``sgd``; ``lr: null`` takes the model's default learning rate."""

    name: str = "adam"
    lr: Optional[float] = None
    weight_decay: Optional[float] = None  # null: the model's default (0 unless the task says otherwise)
    momentum: float = 0.9  # sgd only


@dataclass
class SchedulerConfig:
    """Learning-rate schedule per epoch: ``none``, ``cosine`` (to ``min_lr``) or ``step`` (``gamma`` every ``step_size``)."""

    name: str = "none"
    min_lr: float = 0.0
    step_size: int = 100
    gamma: float = 0.5
    warmup_epochs: int = 0


@dataclass
class EquivarianceConfig:
    """The equivariance monitor: every ``every`` epochs, ``batches`` validation batches, ``elements`` group elements.

    ``tolerance: null`` takes the task's tolerance for the run's dtype; ``action`` is
    ``warn`` or ``stop`` when the max relative error exceeds it. ``every: 0`` turns the
    monitor off during training (the final test-set report still runs unless ``final: false``).
    """

    every: int = 10
    batches: int = 1
    elements: int = 4
    tolerance: Optional[float] = None
    action: str = "warn"
    final: bool = True
    final_batches: int = 4


@dataclass
class LandscapeConfig:
    """Loss-landscape measurements while training (``gdl.train._landscape_callback``); off unless ``every > 0``.

    Every ``every`` epochs, on the first ``batches`` training batches of ``batch_size`` samples (default:
    the run's eval batch size; fixed, unshuffled, the same batches at every call), of which the first
    ``hessian_batches`` carry the Hessian estimates: the ``top_k`` largest Hessian eigenvalues by Lanczos
    (≤ ``lanczos_iterations`` products, stopped at relative residual ``tol``), the Hutchinson trace with
    ``trace_probes`` probes (0 = off); on all ``batches``: the loss, the gradient-noise scale
    (``noise_scale``, needs ``batches ≥ 2``), the SGD temperature η/B, the weight norm, and the local
    learning coefficient when ``llc`` is a non-empty mapping (its keys are passed to
    ``gdl.thermo.llc.local_learning_coefficient``, e.g. ``{gamma: 100, n_steps: 200}``; ``{enabled: true}``
    uses its defaults, ``enabled: false`` switches it off). ``seed`` seeds the callback's own generators (the training RNG is untouched).
    ``plot`` writes ``landscape.png`` at the end; a call that costs more than ``budget`` × the training
    time of the ``every`` epochs it follows is reported once on stderr.
    """

    every: int = 0
    batches: int = 2
    batch_size: Optional[int] = None
    hessian_batches: int = 1
    top_k: int = 1
    lanczos_iterations: int = 20
    tol: float = 1e-3
    trace_probes: int = 4
    noise_scale: bool = True
    seed: int = 0
    plot: bool = True
    budget: float = 0.1
    llc: dict = field(default_factory=dict)


@dataclass
class TrainConfig:
    """Everything a run needs; written to ``config.yaml`` in the run folder."""

    task: str = "nbody"
    model: Optional[str] = None
    seed: int = 0
    epochs: int = 100
    batch_size: int = 100
    eval_batch_size: Optional[int] = None
    device: str = "cpu"
    dtype: str = "float32"
    num_threads: Optional[int] = 1
    eval_every: int = 1
    grad_clip: Optional[float] = None
    ema_decay: Optional[float] = None
    drop_last: bool = True
    progress: bool = True
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    equivariance: EquivarianceConfig = field(default_factory=EquivarianceConfig)
    landscape: LandscapeConfig = field(default_factory=LandscapeConfig)
    data_root: Optional[str] = None  # dataset cache root (default: $GDL_HOME or the task's default)
    data: dict = field(default_factory=dict)
    model_options: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


def _suggest(key: str, valid) -> str:
    close = difflib.get_close_matches(key, list(valid), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _build(cls, values: dict, prefix: str):
    if not isinstance(values, dict):
        raise ConfigError(f"config section '{prefix or 'top level'}' must be a mapping, got {type(values).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if key not in fields:
            raise ConfigError(
                f"unknown config key '{name}'{_suggest(key, fields)}; valid keys{' in ' + prefix[:-1] if prefix else ''}: "
                + ", ".join(fields)
            )
        default = getattr(cls(), key)
        if dataclasses.is_dataclass(default):
            kwargs[key] = _build(type(default), value if value is not None else {}, name + ".")
        else:
            kwargs[key] = _coerce(name, value, default, fields[key].type)
    return cls(**kwargs)


def _coerce(name, value, default, annotation):
    optional = "Optional" in str(annotation)
    if value is None:
        if optional:
            return None
        raise ConfigError(f"config key '{name}' may not be null")
    kind = type(default) if default is not None else {"float": float, "int": int, "str": str}.get(
        str(annotation).replace("Optional[", "").rstrip("]"), object
    )
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"config key '{name}' expects true/false, got {value!r}")
        return value
    if kind is float and isinstance(value, (int, float, str)) and not isinstance(value, bool):
        try:
            return float(value)
        except ValueError:
            raise ConfigError(f"config key '{name}' expects a number, got {value!r}") from None
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"config key '{name}' expects an integer, got {value!r}")
        return value
    if kind is str and not isinstance(value, str):
        raise ConfigError(f"config key '{name}' expects a string, got {value!r}")
    if kind is dict and not isinstance(value, dict):
        raise ConfigError(f"config key '{name}' expects a mapping, got {value!r}")
    return value


def config_from_dict(values: dict) -> TrainConfig:
    """A validated ``TrainConfig`` from a (nested) dict; unknown keys raise ``ConfigError``."""
    config = _build(TrainConfig, dict(values or {}), "")
    validate_config(config)
    return config


def read_config_file(path) -> dict:
    """The YAML file as a dict of config keys (validated when resolved, so task defaults still apply)."""
    path = Path(path)
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ConfigError(f"config file {path} must hold a mapping of config keys, got {type(values).__name__}")
    return values


def load_config(path) -> TrainConfig:
    """Read a YAML file into a validated ``TrainConfig``."""
    values = read_config_file(path)
    try:
        return config_from_dict(values)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def merge(base: dict, overrides: dict) -> dict:
    """Recursive dict merge: ``overrides`` win, nested mappings merge key by key."""
    out = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def parse_override(text: str) -> dict:
    """``"optimizer.lr=1e-3"`` → ``{"optimizer": {"lr": 0.001}}`` (value parsed as YAML)."""
    if "=" not in text:
        raise ConfigError(f"an override must look like KEY=VALUE (e.g. optimizer.lr=1e-3), got {text!r}")
    key, raw = text.split("=", 1)
    value = yaml.safe_load(raw) if raw.strip() else None
    if isinstance(value, str):  # YAML reads 1e-3 as a string; accept plain floats
        try:
            value = float(value)
        except ValueError:
            pass
    out: Any = value
    for part in reversed(key.strip().split(".")):
        out = {part: out}
    return out


def validate_config(config: TrainConfig) -> None:
    """Value checks that do not need the task (names, ranges)."""
    def need(ok, message):
        if not ok:
            raise ConfigError(message)

    need(0 <= config.seed < 2**63, f"seed must be in [0, 2**63) (torch's and numpy's generators take 64-bit seeds, "
                                   f"and epoch e of the data order uses seed + e), got {config.seed}")
    need(config.epochs >= 0, f"epochs must be ≥ 0, got {config.epochs}")
    need(config.batch_size >= 1, f"batch_size must be ≥ 1, got {config.batch_size}")
    need(config.eval_every >= 1, f"eval_every must be ≥ 1, got {config.eval_every}")
    need(config.dtype in ("float32", "float64"), f"dtype must be float32 or float64, got {config.dtype!r}")
    need(config.optimizer.name in ("adam", "adamw", "sgd"), f"optimizer.name must be adam, adamw or sgd, got {config.optimizer.name!r}")
    need(config.optimizer.lr is None or config.optimizer.lr > 0, f"optimizer.lr must be > 0, got {config.optimizer.lr}")
    need(config.eval_batch_size is None or config.eval_batch_size >= 1,
         f"eval_batch_size must be ≥ 1 or null, got {config.eval_batch_size}")
    need(config.num_threads is None or config.num_threads >= 1, f"num_threads must be ≥ 1 or null, got {config.num_threads}")
    need(config.scheduler.name in ("none", "cosine", "step"), f"scheduler.name must be none, cosine or step, got {config.scheduler.name!r}")
    need(config.scheduler.step_size >= 1,
         f"scheduler.step_size must be ≥ 1 epoch (the lr is multiplied by gamma every step_size epochs), got {config.scheduler.step_size}")
    need(config.scheduler.gamma > 0, f"scheduler.gamma must be > 0, got {config.scheduler.gamma}")
    need(config.scheduler.warmup_epochs >= 0, f"scheduler.warmup_epochs must be ≥ 0, got {config.scheduler.warmup_epochs}")
    need(config.scheduler.min_lr >= 0, f"scheduler.min_lr must be ≥ 0, got {config.scheduler.min_lr}")
    need(config.optimizer.weight_decay is None or config.optimizer.weight_decay >= 0,
         f"optimizer.weight_decay must be ≥ 0 or null, got {config.optimizer.weight_decay}")
    need(config.equivariance.action in ("warn", "stop"), f"equivariance.action must be warn or stop, got {config.equivariance.action!r}")
    need(config.equivariance.every >= 0, "equivariance.every must be ≥ 0 (0 = off)")
    need(config.equivariance.batches >= 1,
         f"equivariance.batches must be ≥ 1 (with 0 nothing would be checked; turn the monitor off with "
         f"equivariance.every: 0), got {config.equivariance.batches}")
    need(config.equivariance.final_batches >= 1,
         f"equivariance.final_batches must be ≥ 1 (turn the final report off with equivariance.final: false), "
         f"got {config.equivariance.final_batches}")
    need(config.equivariance.elements >= 0, f"equivariance.elements must be ≥ 0, got {config.equivariance.elements}")
    need(config.equivariance.tolerance is None or config.equivariance.tolerance > 0,
         f"equivariance.tolerance must be > 0 or null, got {config.equivariance.tolerance}")
    land = config.landscape
    need(land.every >= 0, f"landscape.every must be ≥ 0 (0 = off), got {land.every}")
    need(land.batches >= 1, f"landscape.batches must be ≥ 1 (turn the measurements off with landscape.every: 0), got {land.batches}")
    need(land.batch_size is None or land.batch_size >= 1, f"landscape.batch_size must be ≥ 1 or null, got {land.batch_size}")
    need(1 <= land.hessian_batches <= land.batches,
         f"landscape.hessian_batches must be in [1, batches = {land.batches}], got {land.hessian_batches}")
    need(land.top_k >= 1, f"landscape.top_k must be ≥ 1, got {land.top_k}")
    need(land.lanczos_iterations >= land.top_k,
         f"landscape.lanczos_iterations must be ≥ top_k ({land.top_k}), got {land.lanczos_iterations}")
    need(land.tol > 0, f"landscape.tol must be > 0, got {land.tol}")
    need(land.trace_probes == 0 or land.trace_probes >= 2,
         f"landscape.trace_probes must be 0 (off) or ≥ 2 (a standard error needs two probes), got {land.trace_probes}")
    need(not (land.noise_scale and land.every and land.batches < 2),
         f"landscape.noise_scale needs landscape.batches ≥ 2 (batch vs full gradients), got batches {land.batches}; "
         "set noise_scale: false or more batches")
    need(land.budget > 0, f"landscape.budget must be > 0, got {land.budget}")
    need(config.grad_clip is None or config.grad_clip > 0, f"grad_clip must be > 0 or null, got {config.grad_clip}")
    need(config.ema_decay is None or 0 < config.ema_decay < 1, f"ema_decay must be in (0, 1) or null, got {config.ema_decay}")
    need(config.device == "cpu" or config.device.startswith("cuda"), f"device must be cpu or cuda[:N], got {config.device!r}")
