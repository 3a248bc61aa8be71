"""The Trainer: epochs, validation, best-val selection, checkpoints, resume, DDP, equivariance monitoring.

Protocol (as in the EGNN/SEGNN papers): train for ``epochs``, evaluate on validation every
``eval_every`` epochs, keep the model of the best validation metric (``best.pt``) and
report the **test metric at the best-validation epoch**. Everything that decides the
numbers is seeded: the data order of epoch e is a permutation seeded by (seed, e)
(``DistributedSampler``), and the torch/numpy/python RNG states travel in ``last.pt``,
so a run killed at any moment and resumed from its run folder ends with the same metrics
as an uninterrupted run (on CPU; tested in float64).
"""
from __future__ import annotations

import math
import os
import sys
import time
from pathlib import Path
from typing import Optional, Sequence, Union

import torch
from torch.utils.data import DistributedSampler

from gdl.train._checkpoint import CheckpointError, load_checkpoint, rng_state, save_checkpoint, seed_everything, set_rng_state
from gdl.train._config import ConfigError, TrainConfig, config_from_dict, merge, read_config_file
from gdl.train._distributed import DistributedContext, ShardSampler, init_distributed
from gdl.train._ema import ExponentialMovingAverage
from gdl.train._report import plot_history, results_markdown
from gdl.train._run_dir import (
    MetricsLogger,
    RunDirError,
    RunLock,
    append_jsonl,
    check_run_dir_free,
    claim_run_dir,
    create_default_run_dir,
    prepare_run_dir,
    remove_stale_temporary_files,
    write_text_atomic,
)
from gdl.train._task import Task, get_task


class TrainingStopped(RuntimeError):
    """Raised by the equivariance monitor with ``action: stop`` when the error exceeds the tolerance."""


def _dtype(name: str) -> torch.dtype:
    return {"float32": torch.float32, "float64": torch.float64}[name]


def move_batch(batch, device, dtype):
    """Move a batch to ``device``; floating-point tensors are cast to ``dtype``."""
    if hasattr(batch, "apply"):
        return batch.apply(lambda t: t.to(device=device, dtype=dtype) if t.is_floating_point() else t.to(device))
    if isinstance(batch, torch.Tensor):
        return batch.to(device=device, dtype=dtype) if batch.is_floating_point() else batch.to(device)
    if isinstance(batch, (list, tuple)):
        return type(batch)(move_batch(b, device, dtype) for b in batch)
    if isinstance(batch, dict):
        return {k: move_batch(v, device, dtype) for k, v in batch.items()}
    return batch


def detach_outputs(pred):
    """``pred`` without autograd history: a tensor, or the tensors inside a dict / tuple / list (e.g. the
    ``{"energy", "forces"}`` of a force-field model, whose forces keep their graph while training)."""
    if isinstance(pred, torch.Tensor):
        return pred.detach()
    if isinstance(pred, dict):
        return {k: detach_outputs(v) for k, v in pred.items()}
    if isinstance(pred, (list, tuple)):
        return type(pred)(detach_outputs(v) for v in pred)
    return pred


def resolve_config(values: dict, task: Optional[Task] = None) -> TrainConfig:
    """TrainConfig defaults ← the task's defaults ← the model's defaults ← ``values`` (a validated config).

    ``values`` may leave out ``task``/``model`` (the default task/model) and any other key.
    """
    values = dict(values or {})
    task = task if task is not None else get_task(values.get("task") or TrainConfig.task)
    model = values.get("model") or task.default_model
    spec = task.model_spec(model)
    merged = merge(merge(dict(task.defaults), dict(spec.defaults)), values)
    merged["task"], merged["model"] = task.name, model
    return config_from_dict(merged)


class Trainer:
    """Train one model on one task into a run folder.

    >>> trainer = Trainer({"task": "nbody", "model": "egnn", "epochs": 2})   # doctest: +SKIP
    >>> results = trainer.fit()                                               # doctest: +SKIP

    ``config``: a ``TrainConfig``, a dict, or a YAML path. ``task``: a ``Task`` object to use
    instead of the registry entry named in the config. ``callbacks``: objects with any of
    ``on_step_end(trainer, epoch, step, loss)``, ``on_epoch_end(trainer, row)``.
    ``run_dir``: the run folder (default: a new ``runs/TASK-MODEL-sSEED-TIMESTAMP-XXXXXX``); a folder
    that holds another run is refused (``RunDirError``) unless ``overwrite=True``, which replaces it.
    Use ``Trainer.resume(run_dir)`` to continue a run.
    """

    def __init__(
        self,
        config: Union[TrainConfig, dict, str, Path, None] = None,
        *,
        run_dir=None,
        task: Optional[Task] = None,
        callbacks: Sequence = (),
        datasets: Optional[dict] = None,
        overwrite: bool = False,
        _resume_state: Optional[dict] = None,
        _run_lock: Optional[RunLock] = None,
    ):
        self._run_lock = _run_lock
        try:
            self._build(config, run_dir, task, callbacks, datasets, overwrite, _resume_state)
        except BaseException:  # a refused or failed start gives the folder's lock back at once
            if self._run_lock is not None:
                self._run_lock.release()
            raise

    def _build(self, config, run_dir, task, callbacks, datasets, overwrite, _resume_state):
        if config is None:
            config = {}
        if isinstance(config, (str, Path)):
            config = read_config_file(config)
        if isinstance(config, dict):
            config = resolve_config(config, task)
        self.task = task if task is not None else get_task(config.task)
        if task is not None and config.task != task.name:
            config.task = task.name
        spec = self.task.model_spec(config.model)  # unknown model → error listing the valid ones
        config.model = config.model or self.task.default_model
        self.config = config
        self.callbacks = list(callbacks)

        if config.num_threads:
            torch.set_num_threads(config.num_threads)
        if config.device.startswith("cuda") and not torch.cuda.is_available():
            raise ConfigError(f"device {config.device!r} requested but CUDA is not available")
        self.dist: DistributedContext = init_distributed(config.device)
        device = config.device
        if self.dist.enabled and device.startswith("cuda"):
            device = f"cuda:{self.dist.local_rank}"
        self.device = torch.device(device)
        self.dtype = _dtype(config.dtype)
        if config.batch_size % self.dist.world_size:
            raise ConfigError(f"batch_size {config.batch_size} is not divisible by the {self.dist.world_size} ranks")

        # run folder first: fail before any expensive work (a folder holding another run is refused here)
        resuming = _resume_state is not None
        # one process trains in a folder: locked before it is checked, cleared (overwrite) or written
        if self._run_lock is None and run_dir is not None and self.dist.is_main:
            self._run_lock = RunLock(run_dir)
        if run_dir is not None and not resuming and not overwrite:
            self.dist.run_on_main(lambda: check_run_dir_free(run_dir), (RunDirError,))
        seed_everything(config.seed)
        from gdl.testing import default_dtype

        with default_dtype(self.dtype):  # built in the run's dtype: constants (e3nn Clebsch-Gordan, …) keep its precision
            self.model = self.task.build_model(config.model, config.model_options).to(self.device, self.dtype)
        n_bytes = sum(p.numel() * p.element_size() for p in self.model.parameters())
        required = 8 * n_bytes + 16 * 2**20  # last + best (model, 2 Adam moments, EMA) + plots/logs
        # rank 0 creates (or replaces, with overwrite) and probes the folder; every rank uses the folder it chose
        self.run_dir = Path(self.dist.run_on_main(
            lambda: prepare_run_dir(self._choose_run_dir(run_dir, overwrite, resuming), required), (RunDirError,)))
        if self.dist.is_main and (self._run_lock is None or not self._run_lock.held):  # a folder created just now
            self._run_lock = RunLock(self.run_dir)
        self.logger = MetricsLogger(self.run_dir, enabled=self.dist.is_main)

        self.splits = datasets if datasets is not None else self.task.build_datasets(
            root=config.data_root, options=config.data
        )
        for split in ("train", "val", "test"):
            if len(self.splits[split]) == 0:
                raise ValueError(f"task {self.task.name!r}: the {split} split is empty")
        if self.task.prepare_model is not None and not resuming:  # a resumed run loads the fitted values
            self.task.prepare_model(self.model, self.splits)

        self.ddp_model = self.model
        if self.dist.enabled:
            self.ddp_model = torch.nn.parallel.DistributedDataParallel(
                self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None
            )
        self.lr = config.optimizer.lr if config.optimizer.lr is not None else spec.lr
        weight_decay = config.optimizer.weight_decay
        if weight_decay is None:
            weight_decay = spec.weight_decay or 0.0
        params = [p for p in self.model.parameters() if p.requires_grad]
        if not params:
            raise ValueError(f"model {config.model!r} has no trainable parameters")
        if config.optimizer.name == "adam":
            self.optimizer = torch.optim.Adam(params, lr=self.lr, weight_decay=weight_decay)
        elif config.optimizer.name == "adamw":
            self.optimizer = torch.optim.AdamW(params, lr=self.lr, weight_decay=weight_decay)
        else:
            self.optimizer = torch.optim.SGD(params, lr=self.lr, weight_decay=weight_decay, momentum=config.optimizer.momentum)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, self._lr_factor)
        self.ema = ExponentialMovingAverage(self.model, config.ema_decay) if config.ema_decay else None

        self.train_sampler = DistributedSampler(
            self.splits["train"], num_replicas=self.dist.world_size, rank=self.dist.rank, shuffle=True, seed=config.seed
        )
        self.train_loader = self._loader(self.splits["train"], config.batch_size // self.dist.world_size,
                                         self.train_sampler, config.drop_last)
        if len(self.train_loader) == 0:
            raise ConfigError(
                f"batch_size {config.batch_size} is larger than the training split ({len(self.splits['train'])} items) "
                "with drop_last: true — no training step would run"
            )
        eval_bs = config.eval_batch_size or config.batch_size
        self.eval_loaders = {
            split: self._loader(self.splits[split], eval_bs, ShardSampler(len(self.splits[split]), self.dist.rank, self.dist.world_size), False)
            for split in ("val", "test")
        }
        from gdl.train._monitor import EquivarianceMonitor

        self.monitor = EquivarianceMonitor(self.task, config.equivariance, config.dtype, breaks=spec.breaks)
        from gdl.train._landscape_callback import LandscapeCallback

        self.landscape = LandscapeCallback(config.landscape)
        self.landscape.check(self)

        self.epoch = 0  # number of finished epochs
        self.best_metric: Optional[float] = None
        self.best_epoch: Optional[int] = None
        self.history: list = []
        self.train_seconds = self.train_cpu_seconds = 0.0
        self.monitor_seconds = self.monitor_cpu_seconds = 0.0
        self.landscape_seconds = 0.0
        if _resume_state is not None:
            self._load_state(_resume_state)
            if self.dist.is_main:  # --epochs / --set may have changed keys (logged in overrides.jsonl)
                write_text_atomic(self.run_dir / "config.yaml", config.to_yaml())
        else:
            self.dist.run_on_main(lambda: claim_run_dir(self.run_dir, config.to_yaml()), (RunDirError,))
            if self.dist.is_main:
                self.logger.rewrite([])

    # ---------------------------------------------------------------- construction helpers
    def _choose_run_dir(self, run_dir, overwrite: bool, resuming: bool) -> Path:
        """(rank 0) A new unique default folder, or ``run_dir`` checked not to hold another run."""
        config = self.config
        if run_dir is None:
            return create_default_run_dir(config.task, config.model, config.seed)
        path = Path(run_dir)
        if not resuming:
            check_run_dir_free(path, overwrite)
        remove_stale_temporary_files(path)
        return path

    def _loader(self, dataset, batch_size, sampler, drop_last):
        from torch_geometric.loader import DataLoader

        return DataLoader(dataset, batch_size=batch_size, sampler=sampler, drop_last=drop_last, num_workers=0)

    def _lr_factor(self, epoch: int) -> float:
        s = self.config.scheduler
        warm = s.warmup_epochs
        if warm and epoch < warm:
            return (epoch + 1) / warm
        if s.name == "cosine":
            span = max(1, self.config.epochs - warm)
            t = min(1.0, (epoch - warm) / span)
            floor = s.min_lr / self.lr
            return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * t))
        if s.name == "step":
            return s.gamma ** ((epoch - warm) // s.step_size)
        return 1.0

    @classmethod
    def resume(cls, run_dir, *, epochs: Optional[int] = None, overrides: Optional[dict] = None,
               task: Optional[Task] = None, callbacks=(), datasets=None):
        """Continue the run in ``run_dir`` from ``last.pt`` with its saved config.

        ``epochs`` extends the run; ``overrides`` (a nested dict of config keys, e.g. from ``--set``)
        changes keys explicitly; both are logged in ``RUN_DIR/overrides.jsonl``. Refused with a clear
        error: a ``config.yaml`` edited by hand since ``last.pt`` was written (the changed keys are
        listed), a folder with a metrics history but no ``last.pt``, and overrides of ``task``,
        ``model``, ``model_options`` or ``seed`` (the checkpoint belongs to them).
        """
        from gdl.train._resume import plan_resume

        run_dir = Path(run_dir)
        # rank 0 (torchrun's RANK) locks the folder before reading it: a second --resume of a live run is refused
        lock = RunLock(run_dir) if int(os.environ.get("RANK", "0")) == 0 and run_dir.is_dir() else None
        try:
            plan = plan_resume(run_dir, epochs=epochs, overrides=overrides)
            context = init_distributed(plan.config.device)
            if context.is_main and plan.changes:
                append_jsonl(run_dir / "overrides.jsonl", plan.log_row())
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        return cls(plan.config, run_dir=run_dir, task=task, callbacks=callbacks, datasets=datasets,
                   _resume_state=plan.state, _run_lock=lock)

    # ---------------------------------------------------------------- state
    def state_dict(self) -> dict:
        return {
            "epoch": self.epoch,
            "config": self.config.to_dict(),
            "task": self.task.name,
            "model_name": self.config.model,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "ema": self.ema.state_dict() if self.ema else None,
            "rng": rng_state(),
            "best_metric": self.best_metric,
            "best_epoch": self.best_epoch,
            "history": self.history,
            "train_seconds": self.train_seconds,
            "monitor_seconds": self.monitor_seconds,
            "train_cpu_seconds": self.train_cpu_seconds,
            "monitor_cpu_seconds": self.monitor_cpu_seconds,
            "landscape_seconds": self.landscape_seconds,
        }

    def _load_state(self, state: dict):
        if not state:  # resumed before the first epoch finished: start over, keep the folder
            self.logger.rewrite([])
            return
        try:
            self.model.load_state_dict(state["model"])
        except RuntimeError as exc:
            raise CheckpointError(f"checkpoint does not fit model {self.config.model!r}: {exc}") from None
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if self.ema is not None and state.get("ema"):
            self.ema.load_state_dict(state["ema"])
        elif self.ema is not None:  # EMA switched on at resume: average from the resumed weights, not the initial ones
            self.ema = ExponentialMovingAverage(self.model, self.config.ema_decay)
        self.epoch = state["epoch"]
        self.best_metric, self.best_epoch = state["best_metric"], state["best_epoch"]
        self.history = list(state["history"])
        self.train_seconds = state.get("train_seconds", 0.0)
        self.monitor_seconds = state.get("monitor_seconds", 0.0)
        self.train_cpu_seconds = state.get("train_cpu_seconds", 0.0)
        self.monitor_cpu_seconds = state.get("monitor_cpu_seconds", 0.0)
        self.landscape_seconds = state.get("landscape_seconds", 0.0)
        set_rng_state(state["rng"])
        self.logger.rewrite(self.history)

    # ---------------------------------------------------------------- steps
    def forward(self, batch, model=None):
        return self.task.run_forward(model if model is not None else self.ddp_model, batch)

    def compute_gradients(self, batch) -> torch.Tensor:
        """Zero the gradients, run forward + loss + backward on one (per-rank) batch; returns the loss."""
        self.optimizer.zero_grad(set_to_none=True)
        pred = self.forward(batch)
        loss = self.task.loss(pred, batch)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"non-finite training loss {loss.item()} at epoch {self.epoch + 1}")
        loss.backward()
        self._last_pred = pred
        return loss

    def optimizer_step(self):
        if self.config.grad_clip:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
        self.optimizer.step()
        if self.ema is not None:
            self.ema.update(self.model)

    def train_epoch(self) -> dict:
        self.ddp_model.train()
        self.train_sampler.set_epoch(self.epoch)
        set_data_epoch = getattr(self.splits["train"], "set_epoch", None)
        if callable(set_data_epoch):  # per-epoch augmentation (e.g. AugmentedSphericalMNIST), a function of the epoch only
            set_data_epoch(self.epoch)
        sums = torch.zeros(4, dtype=torch.float64, device=self.device)  # loss·n, n, metric sum, metric count
        bar = self._progress(self.train_loader, f"epoch {self.epoch + 1}/{self.config.epochs}")
        for step, batch in enumerate(bar):
            batch = move_batch(batch, self.device, self.dtype)
            loss = self.compute_gradients(batch)
            self.optimizer_step()
            with torch.no_grad():
                m_sum, m_count = self.task.metric.fn(detach_outputs(self._last_pred), batch)
            sums += torch.stack([loss.detach().double() * m_count, torch.as_tensor(m_count, dtype=torch.float64, device=self.device),
                                 torch.as_tensor(m_sum, dtype=torch.float64, device=self.device), torch.as_tensor(m_count, dtype=torch.float64, device=self.device)])
            if hasattr(bar, "set_postfix") and step % 10 == 0:
                bar.set_postfix(loss=f"{loss.item():.4g}")
            for cb in self.callbacks:
                if hasattr(cb, "on_step_end"):
                    cb.on_step_end(self, self.epoch, step, loss.item())
        self.dist.all_reduce_sum(sums)
        return {"loss": (sums[0] / sums[1]).item(), self.task.metric.name: (sums[2] / sums[3]).item()}

    @torch.no_grad()
    def evaluate(self, split: str = "val", use_ema: bool = True) -> dict:
        """Loss and metric on ``split`` (sums and counts all-reduced over ranks)."""
        model = self.model
        model.eval()
        ctx = self.ema.applied(model) if (self.ema is not None and use_ema) else _null()
        sums = torch.zeros(4, dtype=torch.float64, device=self.device)
        with ctx:
            for batch in self.eval_loaders[split]:
                batch = move_batch(batch, self.device, self.dtype)
                pred = self.forward(batch, model)
                loss = self.task.loss(pred, batch)
                m_sum, m_count = self.task.metric.fn(pred, batch)
                count = torch.as_tensor(m_count, dtype=torch.float64, device=self.device)
                sums += torch.stack([loss.double() * count, count, torch.as_tensor(m_sum, dtype=torch.float64, device=self.device), count])
        self.dist.all_reduce_sum(sums)
        return {"loss": (sums[0] / sums[1]).item(), self.task.metric.name: (sums[2] / sums[3]).item()}

    def _progress(self, iterable, desc):
        if not (self.config.progress and self.dist.is_main):
            return iterable
        from tqdm.auto import tqdm

        return tqdm(iterable, desc=desc, leave=False, dynamic_ncols=True, file=sys.stderr)

    def _monitor_batches(self, split: str, n: int):
        """The first ``n`` batches of ``split`` (identical on every rank, so every rank takes the same decision)."""
        from torch_geometric.loader import DataLoader

        bs = self.config.eval_batch_size or self.config.batch_size
        loader = DataLoader(self.splits[split], batch_size=bs, shuffle=False)
        out = []
        for i, batch in enumerate(loader):
            if i >= n:
                break
            out.append(move_batch(batch, self.device, self.dtype))
        return out

    # ---------------------------------------------------------------- the run
    def fit(self) -> dict:
        """Train the remaining epochs, then evaluate the best-val model on test; returns the results dict."""
        cfg = self.config
        metric = self.task.metric
        stopped = None
        while self.epoch < cfg.epochs:
            t0, c0 = time.perf_counter(), time.process_time()
            train = self.train_epoch()
            self.scheduler.step()
            t_train = time.perf_counter() - t0
            self.train_seconds += t_train
            self.train_cpu_seconds += time.process_time() - c0
            row = {"epoch": self.epoch + 1, "lr": self.optimizer.param_groups[0]["lr"],
                   "train_loss": train["loss"], f"train_{metric.name}": train[metric.name]}
            improved = False
            if (self.epoch + 1) % cfg.eval_every == 0 or self.epoch + 1 == cfg.epochs:
                val = self.evaluate("val")
                row["val_loss"], row[f"val_{metric.name}"] = val["loss"], val[metric.name]
                if not math.isnan(val[metric.name]) and metric.better(val[metric.name], self.best_metric):
                    self.best_metric, self.best_epoch, improved = val[metric.name], self.epoch + 1, True
            if cfg.equivariance.every and (self.epoch + 1) % cfg.equivariance.every == 0 and self.monitor.enabled:
                t1, c1 = time.perf_counter(), time.process_time()
                with torch.random.fork_rng(devices=[]):  # the check never perturbs the training RNG stream
                    eq = self.monitor.check(self._eval_model(), self._monitor_batches("val", cfg.equivariance.batches))
                self.monitor_seconds += time.perf_counter() - t1
                self.monitor_cpu_seconds += time.process_time() - c1
                row.update(self.monitor.row(eq))
                if self.monitor.exceeded(eq):
                    message = (f"equivariance error {self.monitor.enforced_max(eq):.3g} exceeds tolerance {self.monitor.tolerance:.3g} "
                               f"at epoch {self.epoch + 1} ({self.monitor.describe(eq)})")
                    if cfg.equivariance.action == "stop":
                        stopped = message
                    elif self.dist.is_main:
                        print(f"warning: {message}", file=sys.stderr)
            if self.landscape.due(self.epoch + 1):  # own generators + fork_rng: the training RNG stream is untouched
                self._epoch_train_seconds = t_train
                row.update(self.landscape.measure(self, self.epoch + 1))
                self.landscape_seconds += row["time_landscape_s"]
            row["time_train_s"] = t_train
            row["time_total_s"] = time.perf_counter() - t0
            self.epoch += 1
            self.history.append(row)
            if self.dist.is_main:
                if improved:
                    save_checkpoint(self.run_dir / "best.pt", self.state_dict())
                save_checkpoint(self.run_dir / "last.pt", self.state_dict())
                self.logger.log(row)
                if cfg.progress:
                    print(_epoch_line(row, metric.name), file=sys.stderr)
            for cb in self.callbacks:
                if hasattr(cb, "on_epoch_end"):
                    cb.on_epoch_end(self, row)
            if stopped:
                if self.dist.is_main:
                    print(f"stopping: {stopped}", file=sys.stderr)
                break
        results = self.finish()
        if stopped:
            results["stopped"] = stopped
        return results

    def _eval_model(self):
        self.model.eval()
        return self.model

    def finish(self) -> dict:
        """Load ``best.pt``, evaluate on test, run the final equivariance report, write results and plots."""
        cfg = self.config
        metric = self.task.metric
        self.dist.barrier()
        best_path = self.run_dir / "best.pt"
        if best_path.exists():
            best = load_checkpoint(best_path, map_location=self.device)
            self.model.load_state_dict(best["model"])
            if self.ema is not None and best.get("ema"):
                self.ema.load_state_dict(best["ema"])
        test = self.evaluate("test")
        val = self.evaluate("val")
        results = {
            "task": self.task.name, "model": cfg.model, "seed": cfg.seed, "epochs": self.epoch, "dtype": cfg.dtype,
            "device": str(self.device), "world_size": self.dist.world_size, "best_epoch": self.best_epoch,
            "data": dict(cfg.data),  # dataset options (e.g. the CSL fold): runs of one seed on different data differ
            "metric": metric.name, "test_metric": test[metric.name], "val_metric": val[metric.name],
            "test_loss": test["loss"],
            "n_parameters": sum(p.numel() for p in self.model.parameters()),
            "published": {k: {"value": v.value, "source": v.source} for k, v in self.task.published.items()},
            "published_self": self.task.published[cfg.model].value if cfg.model in self.task.published else None,
            "train_seconds": self.train_seconds, "monitor_seconds": self.monitor_seconds,
            "train_cpu_seconds": self.train_cpu_seconds, "monitor_cpu_seconds": self.monitor_cpu_seconds,
            "landscape_seconds": self.landscape_seconds,
        }
        if cfg.equivariance.final and self.monitor.enabled:
            with torch.random.fork_rng(devices=[]):
                ctx = self.ema.applied(self.model) if self.ema is not None else _null()
                with ctx:
                    results["equivariance"] = self.monitor.final_report(
                        self._eval_model(), self._monitor_batches("test", cfg.equivariance.final_batches)
                    )
        if self.dist.is_main:
            import json

            write_text_atomic(self.run_dir / "results.json", json.dumps(results, indent=2, default=float))
            table = results_markdown(results)
            write_text_atomic(self.run_dir / "results.md", table)
            plot_history(self.history, self.run_dir, metric.name)
            if self.landscape.enabled and cfg.landscape.plot:
                from gdl.train._landscape_callback import plot_landscape

                plot_landscape(self.history, self.run_dir)
            if cfg.progress:
                print(table)
        self.logger.close()
        if self._run_lock is not None:
            self._run_lock.release()
            self._run_lock = None
        return results


class _null:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _epoch_line(row: dict, metric: str) -> str:
    parts = [f"epoch {row['epoch']}", f"train loss {row['train_loss']:.4g}"]
    if "val_loss" in row:
        parts.append(f"val {metric} {row[f'val_{metric}']:.4g}")
    if "equivariance_max" in row:
        parts.append(f"equivariance max {row['equivariance_max']:.2e}")
    parts.append(f"{row['time_total_s']:.1f} s")
    return " | ".join(parts)


def train(task: Union[str, Task] = "nbody", model: Optional[str] = None, *, run_dir=None, overwrite: bool = False,
          callbacks=(), **config) -> dict:
    """One call: ``train("nbody", "egnn", epochs=2, run_dir="runs/demo")`` → results dict.

    Keyword arguments are config keys (nested sections as dicts, e.g. ``optimizer={"lr": 1e-3}``);
    ``overwrite=True`` replaces a run already in ``run_dir`` (otherwise that is a ``RunDirError``).
    """
    values = merge({"task": task if isinstance(task, str) else task.name, "model": model}, config)
    trainer = Trainer(values, run_dir=run_dir, task=task if isinstance(task, Task) else None, callbacks=callbacks,
                      overwrite=overwrite)
    return trainer.fit()
