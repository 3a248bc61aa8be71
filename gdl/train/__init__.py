"""gdl.train: benchmark tasks that verify equivariance while they train.

- ``Task`` / ``register_task`` / ``get_task`` / ``list_tasks``: the task registry (dataset + model
  factories + loss + metric + declared symmetry + published numbers); built in: ``nbody``, ``csl``.
- ``Trainer`` / ``train``: epochs with validation, best-val selection, checkpoints, exact resume, DDP.
- ``EquivarianceMonitor``: ``gdl.testing.check_equivariance`` on validation batches every k epochs.
- ``LandscapeCallback`` (the ``landscape:`` config section, off by default): Hessian top eigenvalues, trace,
  gradient-noise scale, SGD temperature (and λ̂) on fixed training batches every k epochs; ``measure_landscape``.
- ``TrainConfig`` / ``load_config``: strict configuration (unknown keys are errors).
"""
from gdl.train._checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from gdl.train._config import (
    ConfigError,
    EquivarianceConfig,
    LandscapeConfig,
    OptimizerConfig,
    SchedulerConfig,
    TrainConfig,
    config_from_dict,
    load_config,
)
from gdl.train._landscape_callback import LandscapeCallback, measure_landscape
from gdl.train._monitor import EquivarianceMonitor
from gdl.train._run_dir import RunDirError, prepare_run_dir, read_metrics
from gdl.train._task import Metric, ModelSpec, Published, Task, UnknownNameError, get_task, list_tasks, register_task
from gdl.train._trainer import Trainer, TrainingStopped, resolve_config, train

__all__ = [
    "Task", "ModelSpec", "Metric", "Published", "register_task", "get_task", "list_tasks", "UnknownNameError",
    "Trainer", "train", "resolve_config", "TrainingStopped", "EquivarianceMonitor",
    "TrainConfig", "OptimizerConfig", "SchedulerConfig", "EquivarianceConfig", "config_from_dict", "load_config",
    "ConfigError", "CheckpointError", "load_checkpoint", "save_checkpoint", "RunDirError", "prepare_run_dir",
    "read_metrics", "LandscapeConfig", "LandscapeCallback", "measure_landscape",
]
