"""The run folder: resolved config, metrics log, checkpoints, plots, results.

Layout::

    RUN_DIR/config.yaml      resolved configuration (re-used by --resume)
    RUN_DIR/metrics.jsonl    one JSON object per epoch (train/val loss and metric, equivariance error, lr, time)
    RUN_DIR/last.pt          checkpoint after the last finished epoch (atomic)
    RUN_DIR/best.pt          checkpoint at the best validation metric (atomic)
    RUN_DIR/{loss,metric,equivariance}.png
    RUN_DIR/results.md, results.json   final table: test metric at the best-val epoch vs published, equivariance
    RUN_DIR/tensorboard/     when tensorboard is installed

``prepare_run_dir`` fails *before* training when the folder cannot be written or the disk
lacks room for the checkpoints.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path


class RunDirError(OSError):
    """The run folder cannot be created or written, or the disk is too full."""


def default_run_dir(task: str, model: str, seed: int, root="runs") -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path(root) / f"{task}-{model}-s{seed}-{stamp}"


def prepare_run_dir(path, required_bytes: int = 0) -> Path:
    """Create ``path``, prove it is writable (a probe file, fsynced) and has ``required_bytes`` free."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-probe-{os.getpid()}"
        with open(probe, "wb") as handle:
            handle.write(b"gdl")
            handle.flush()
            os.fsync(handle.fileno())
        probe.unlink()
    except OSError as exc:
        raise RunDirError(f"run folder {path} is not writable: {exc.strerror or exc}") from None
    free = shutil.disk_usage(path).free
    if free < required_bytes:
        raise RunDirError(
            f"not enough free disk space for run folder {path}: {free / 2**20:.1f} MiB free, "
            f"need at least {required_bytes / 2**20:.1f} MiB for checkpoints and logs"
        )
    return path


def write_text_atomic(path, text: str) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class MetricsLogger:
    """Appends one JSON line per epoch (and mirrors scalars to TensorBoard when installed)."""

    def __init__(self, run_dir, enabled: bool = True, tensorboard: bool = True):
        self.path = Path(run_dir) / "metrics.jsonl"
        self.enabled = enabled
        self.writer = None
        if enabled and tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:  # tensorboard is an optional extra
                SummaryWriter = None
            if SummaryWriter is not None:
                self.writer = SummaryWriter(str(Path(run_dir) / "tensorboard"))

    def rewrite(self, history) -> None:
        """Replace the log by ``history`` (used on resume: the checkpoint is the source of truth)."""
        if self.enabled:
            write_text_atomic(self.path, "".join(json.dumps(row) + "\n" for row in history))

    def log(self, row: dict) -> None:
        if not self.enabled:
            return
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")
        if self.writer is not None:
            for key, value in row.items():
                if isinstance(value, (int, float)) and key != "epoch" and value is not None:
                    self.writer.add_scalar(key, value, row["epoch"])
            self.writer.flush()

    def close(self):
        if self.writer is not None:
            self.writer.close()


def read_metrics(run_dir) -> list:
    path = Path(run_dir) / "metrics.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
