"""What ``--resume`` may continue, and with which configuration.

The checkpoint ``last.pt`` carries the configuration the run trained with; ``config.yaml`` is its
human-readable copy. On resume the two are compared key by key (nested keys spelled with dots):

- equal, or different only by keys that an earlier resume changed explicitly (logged in
  ``overrides.jsonl`` after that checkpoint was written) → the run continues;
- different by any other key → ``ConfigError`` listing each changed key with both values: an edit
  by hand is never used silently;
- keys passed explicitly now (``--epochs``, ``--set KEY=VALUE``) are applied on top and logged;
  ``task``, ``model``, ``model_options`` and ``seed`` cannot change (the weights and the data order
  belong to them).

A folder with a metrics history (or ``best.pt`` / results) but no ``last.pt`` is refused: starting at
epoch 0 there would discard or interleave that history.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from gdl.train._checkpoint import CheckpointError, load_checkpoint
from gdl.train._config import ConfigError, TrainConfig, config_from_dict, load_config, merge
from gdl.train._distributed import init_distributed

FIXED_ON_RESUME = ("task", "model", "model_options", "seed")
IGNORED_ON_RESUME = ("progress",)  # display only: never part of the comparison


def flatten(values: dict, prefix: str = "") -> dict:
    """``{"optimizer": {"lr": 1e-3}}`` → ``{"optimizer.lr": 1e-3}`` (empty mappings kept as ``{}``)."""
    out = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def config_changes(before: dict, after: dict) -> dict:
    """``{dotted key: (before, after)}`` for every key whose value differs (missing = ``None``)."""
    a, b = flatten(before), flatten(after)
    changes = {}
    for key in sorted(set(a) | set(b)):
        if key.split(".")[0] in IGNORED_ON_RESUME:
            continue
        if a.get(key) != b.get(key):
            changes[key] = (a.get(key), b.get(key))
    return changes


def _logged_since(run_dir: Path, epoch: int) -> dict:
    """Keys (→ new value) changed explicitly by resumes made at or after ``epoch`` finished epochs."""
    path = run_dir / "overrides.jsonl"
    explained = {}
    if not path.exists():
        return explained
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue  # a line torn by a kill: it explains nothing
        if isinstance(row, dict) and row.get("epoch", -1) >= epoch:
            for key, (_, new) in row.get("changes", {}).items():
                explained[key] = new
    return explained


def _history_files(run_dir: Path) -> list:
    found = []
    metrics = run_dir / "metrics.jsonl"
    if metrics.exists() and metrics.read_text(encoding="utf-8", errors="replace").strip():
        found.append(f"metrics.jsonl ({len(metrics.read_text(errors='replace').strip().splitlines())} epochs)")
    found += [name for name in ("best.pt", "results.json") if (run_dir / name).exists()]
    return found


@dataclass
class ResumePlan:
    """The configuration and checkpoint state a resume continues with, and the explicit changes."""

    run_dir: Path
    config: TrainConfig
    state: dict  # {} when no epoch had finished (the run starts at epoch 0 in the same folder)
    changes: dict = field(default_factory=dict)  # dotted key → (before, after), explicit only

    def log_row(self) -> dict:
        return {"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "epoch": self.state.get("epoch", 0),
                "changes": {k: list(v) for k, v in self.changes.items()}}


def plan_resume(run_dir, epochs: Optional[int] = None, overrides: Optional[dict] = None) -> ResumePlan:
    """Check ``run_dir`` can be resumed and work out the configuration (see the module docstring)."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.yaml").exists():
        raise CheckpointError(f"{run_dir} is not a gdl run folder (no config.yaml)")
    disk = load_config(run_dir / "config.yaml")
    init_distributed(disk.device).barrier()  # rank 0 finished writing before anyone reads

    requested = dict(overrides or {})
    if epochs is not None:
        requested["epochs"] = int(epochs)
    requested_keys = set(flatten(requested))
    fixed = sorted(k for k in requested_keys if k.split(".")[0] in FIXED_ON_RESUME)
    if fixed:
        raise ConfigError(
            f"--resume cannot change {', '.join(fixed)}: the checkpoint's weights and data order belong to them; "
            "start a new run instead"
        )

    last = run_dir / "last.pt"
    state: dict = {}
    if last.exists():
        state = load_checkpoint(last)
        saved = config_from_dict(state["config"]).to_dict()
        explained = _logged_since(run_dir, state["epoch"])
        edits = {key: values for key, values in config_changes(saved, disk.to_dict()).items()
                 if key not in requested_keys and not (key in explained and explained[key] == values[1])}
        if edits:
            listing = "; ".join(f"{key}: {old!r} in last.pt, {new!r} in config.yaml" for key, (old, new) in edits.items())
            sets = " ".join(f"--set {key}={new}" for key, (_, new) in edits.items())
            raise ConfigError(
                f"{run_dir}/config.yaml was edited after last.pt was written (epoch {state['epoch']}): {listing}. "
                "A silent change is never used on resume: restore config.yaml, or change the keys explicitly "
                f"(logged in overrides.jsonl): gdl train --resume {run_dir} {sets}"
            )
        reference = saved
    else:
        history = _history_files(run_dir)
        if history:
            raise CheckpointError(
                f"{run_dir} has a training history ({', '.join(history)}) but no last.pt: resuming would restart at "
                "epoch 0 and discard or interleave that history. Restore last.pt to continue, or start over "
                f"explicitly with `gdl train ... --run-dir {run_dir} --overwrite`"
            )
        reference = disk.to_dict()
    try:
        config = config_from_dict(merge(disk.to_dict(), requested))
    except ConfigError as exc:
        raise ConfigError(f"--resume {run_dir}: {exc}") from None
    changes = config_changes(reference, config.to_dict())
    if state:
        explained = _logged_since(run_dir, state["epoch"])
        changes = {k: v for k, v in changes.items() if not (k in explained and explained[k] == v[1] and k not in requested_keys)}
    return ResumePlan(run_dir, config, state, changes)
