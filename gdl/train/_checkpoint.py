"""Atomic, checksummed checkpoints and the RNG state they carry.

``save_checkpoint`` serialises the state with ``torch.save``, stores the SHA-256 of those bytes in
the zip archive's comment field (so the file is still a plain ``torch.load``-able archive), writes
it to a temporary file in the same folder, flushes and fsyncs it, then ``os.replace``s it over
the target (atomic on POSIX) and fsyncs the folder, so a run killed at any moment leaves either
the old or the new ``last.pt``, never a torn one. ``load_checkpoint`` recomputes the checksum
before unpickling anything: a flipped, truncated or foreign file becomes a ``CheckpointError``
that names the file and says what is wrong.
"""
from __future__ import annotations

import hashlib
import io
import pickle
import random
import warnings
import zipfile
from pathlib import Path

import numpy as np
import torch

from gdl.data._cache import replace_atomically

FORMAT = "gdl.train.checkpoint/2"  # /2: the archive comment holds the sha256 of the archive
LEGACY_FORMATS = ("gdl.train.checkpoint/1",)  # written before checksums: loaded with a warning
REQUIRED = ("format", "epoch", "config", "model")

_END_OF_ARCHIVE = b"PK\x05\x06"  # zip "end of central directory" record: 22 bytes + comment
_CHECKSUM_TAG = b"gdl-sha256:"
_COMMENT_LENGTH = len(_CHECKSUM_TAG) + 64


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or was not written by ``gdl.train``."""


def _with_checksum(archive: bytes) -> bytes:
    """``archive`` (a zip with an empty comment) with the sha256 of its bytes as its comment."""
    comment = _CHECKSUM_TAG + hashlib.sha256(archive).hexdigest().encode("ascii")
    return archive[:-2] + len(comment).to_bytes(2, "little") + comment


def _stored_checksum(data: bytes):
    """(stored hex digest, sha256 of the archive as written) — or None when the file carries no checksum."""
    n = _COMMENT_LENGTH
    if len(data) < n + 22 or data[-n - 22:-n - 18] != _END_OF_ARCHIVE or not data[-n:].startswith(_CHECKSUM_TAG):
        return None
    if data[-n - 2:-n] != n.to_bytes(2, "little"):
        return None
    archive = data[:-n - 2] + b"\x00\x00"
    return data[-64:].decode("ascii", "replace"), hashlib.sha256(archive).hexdigest()


def save_checkpoint(path, state: dict) -> Path:
    """Write ``state`` (plus the format tag and a checksum) to ``path`` atomically; returns the path."""
    path = Path(path)
    buffer = io.BytesIO()
    torch.save({**state, "format": FORMAT}, buffer)
    archive = buffer.getvalue()
    if archive[-22:-18] == _END_OF_ARCHIVE and archive[-2:] == b"\x00\x00":
        data = _with_checksum(archive)
    else:  # pragma: no cover - a torch whose archives end differently: keep working, unverified
        warnings.warn(f"cannot embed a checksum in {path} (unexpected archive layout); writing it unverified")
        buffer = io.BytesIO()
        torch.save({**state, "format": LEGACY_FORMATS[0]}, buffer)
        data = buffer.getvalue()
    replace_atomically(path, data)
    return path


def load_checkpoint(path, map_location="cpu") -> dict:
    """Read a ``gdl.train`` checkpoint; raise ``CheckpointError`` for missing, corrupt or foreign files."""
    path = Path(path)
    if path.is_dir():
        path = path / "last.pt"
    if not path.exists():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"{path} cannot be read: {exc.strerror or exc}") from None
    checksum = _stored_checksum(data)
    if checksum is not None and checksum[0] != checksum[1]:
        raise CheckpointError(
            f"{path} is corrupt: its bytes do not match the checksum stored in it (sha256 {checksum[1][:12]}…, "
            f"stored {checksum[0][:12]}…) — the file was altered after it was written (disk or copy error?); "
            "resume from another copy, or start the run again"
        )
    try:
        state = torch.load(io.BytesIO(data), map_location=map_location, weights_only=False)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, OSError, ValueError) as exc:
        raise CheckpointError(
            f"{path} is not a readable checkpoint (corrupt or truncated file?): {type(exc).__name__}: {exc}"
        ) from None
    if isinstance(state, dict) and state.get("format") == FORMAT and checksum is None:
        raise CheckpointError(f"{path} is corrupt: it was written with a checksum, which is missing or damaged")
    if isinstance(state, dict) and state.get("format") in LEGACY_FORMATS:
        warnings.warn(f"{path} was written without a checksum (format {state['format']!r}); its integrity is not verified")
    elif not isinstance(state, dict) or state.get("format") != FORMAT:
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
