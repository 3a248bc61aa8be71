"""Atomic checkpoints and the RNG state they carry.

``save_checkpoint`` writes to a temporary file in the same folder, flushes and fsyncs it,
then ``os.replace``s it over the target (atomic on POSIX), so a run killed at any moment
leaves either the old or the new ``last.pt``, never a torn one. ``load_checkpoint`` turns
a corrupt or foreign file into a ``CheckpointError`` that says what is wrong.
"""
from __future__ import annotations

import os
import pickle
import random
import zipfile
from pathlib import Path

import numpy as np
import torch

FORMAT = "gdl.train.checkpoint/1"
REQUIRED = ("format", "epoch", "config", "model")


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or was not written by ``gdl.train``."""


def save_checkpoint(path, state: dict) -> Path:
    """Write ``state`` (plus the format tag) to ``path`` atomically; returns the path."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as handle:
            torch.save({"format": FORMAT, **state}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    try:  # make the rename itself durable
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass
    return path


def load_checkpoint(path, map_location="cpu") -> dict:
    """Read a ``gdl.train`` checkpoint; raise ``CheckpointError`` for missing, corrupt or foreign files."""
    path = Path(path)
    if path.is_dir():
        path = path / "last.pt"
    if not path.exists():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=False)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, OSError, ValueError) as exc:
        raise CheckpointError(
            f"{path} is not a readable checkpoint (corrupt or truncated file?): {type(exc).__name__}: {exc}"
        ) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        found = state.get("format") if isinstance(state, dict) else type(state).__name__
        raise CheckpointError(
            f"{path} is not a gdl.train checkpoint (expected format {FORMAT!r}, found {found!r}); "
            "checkpoints are written by `gdl train` as last.pt / best.pt in a run folder"
        )
    missing = [k for k in REQUIRED if k not in state]
    if missing:
        raise CheckpointError(f"{path} is an incomplete gdl.train checkpoint: missing {missing}")
    return state


def rng_state() -> dict:
    """The torch (CPU and CUDA), numpy and python RNG states."""
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore what ``rng_state`` saved."""
    torch.set_rng_state(state["torch"].cpu())
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


def seed_everything(seed: int) -> None:
    """Seed torch, numpy and python."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)
