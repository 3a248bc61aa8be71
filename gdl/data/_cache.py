"""The processed-dataset cache: atomic writes, a content checksum, and a lock against concurrent generation.

Guarantees (each held by a test in ``tests/data/test_cache_integrity.py``):

- **Atomic.** ``data.pt`` is written to a temporary file in the same folder, flushed, fsynced and
  ``os.replace``d over the target (then the folder is fsynced), so a process killed at any moment
  leaves the previous file or the new one, never a torn one. Leftover temporary files are removed
  the next time the entry is opened.
- **Checksummed.** ``generation.json`` beside ``data.pt`` records the SHA-256 and the size of the
  file's bytes, written after the file itself. On load the bytes are hashed again; a missing,
  empty, truncated or altered file (or a missing record) gives a :class:`DatasetCacheWarning`
  naming the file and the reason, and the entry is regenerated. The loaded tensors are read from
  the very bytes that were verified.
- **Locked.** Generation holds ``fcntl.flock`` on ``<root>/.gdl-cache.lock``; a second process
  that wants the same root waits (and says so on stderr), then finds the finished file and loads
  it without generating again.
- Errors that remain (an unreadable file after verification, a root that cannot be written) name
  the file (:class:`DatasetCacheError`).
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import pickle
import sys
import warnings
from pathlib import Path
from typing import List

import torch
from torch_geometric.data import InMemoryDataset

from gdl.data._home import config_hash

try:  # POSIX; elsewhere generation is not locked
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

GENERATION_FILE = "generation.json"
LOCK_FILE = ".gdl-cache.lock"
TMP_MARK = ".tmp-"


class DatasetCacheError(OSError):
    """A dataset cache file that cannot be read or written (the message names the file)."""


class DatasetCacheWarning(UserWarning):
    """A cache entry failed verification and is being regenerated (the message names the file and why)."""


def fsync_folder(folder) -> None:
    """Make a rename in ``folder`` durable (best effort: not every filesystem allows it)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def replace_atomically(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same folder (``.NAME.tmp-PID``), flush,
    fsync, ``os.replace``, then fsync the folder: a reader sees the old file or the new one, never a
    torn one. OSError propagates; the temporary file never survives a failed call."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}{TMP_MARK}{os.getpid()}")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    fsync_folder(path.parent)
    return path


def write_bytes_atomic(path, data: bytes) -> None:
    """:func:`replace_atomically` for a dataset cache file (errors name the file)."""
    try:
        replace_atomically(path, data)
    except OSError as exc:
        raise DatasetCacheError(f"cannot write dataset cache file {path}: {exc.strerror or exc}") from None


def remove_temporary_files(folder) -> list:
    """Delete the temporary files a killed writer left in ``folder`` (call with the cache lock held)."""
    removed = []
    folder = Path(folder)
    if folder.is_dir():
        for path in folder.iterdir():
            if path.name.startswith(".") and TMP_MARK in path.name:
                with contextlib.suppress(OSError):
                    path.unlink()
                    removed.append(path)
    return removed


@contextlib.contextmanager
def cache_lock(root):
    """Hold an exclusive ``flock`` on ``<root>/.gdl-cache.lock`` (waits for another holder, saying so on stderr)."""
    root = Path(root)
    if fcntl is None:
        yield
        return
    try:
        root.mkdir(parents=True, exist_ok=True)
        handle = open(root / LOCK_FILE, "a+b")
    except OSError:  # a read-only cache: nobody can generate into it, so there is nothing to serialise
        yield
        return
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"gdl: waiting for another process to finish the dataset cache in {root} "
                  f"(lock {root / LOCK_FILE})", file=sys.stderr, flush=True)
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        yield
    finally:
        handle.close()  # closing releases the lock


def file_record(data: bytes) -> dict:
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def read_verified(path) -> bytes:
    """The bytes of processed file ``path`` if they match the checksum in ``generation.json``; else raise
    :class:`_Invalid` with the reason."""
    path = Path(path)
    if not path.exists():
        raise _Invalid("missing")
    record_path = path.parent / GENERATION_FILE
    try:
        generation = json.loads(record_path.read_text(encoding="utf-8"))
        record = generation["files"][path.name]
        expected_sha, expected_bytes = record["sha256"], int(record["bytes"])
    except FileNotFoundError:
        raise _Invalid(f"no checksum recorded ({record_path} is missing)") from None
    except KeyError as exc:
        older = isinstance(generation, dict) and "files" not in generation
        reason = "an entry written before gdl recorded checksums" if older else f"KeyError: {exc}"
        raise _Invalid(f"no checksum recorded in {record_path} ({reason})") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise _Invalid(f"no valid checksum recorded in {record_path} ({type(exc).__name__}: {exc})") from None
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _Invalid(f"unreadable ({exc.strerror or exc})") from None
    if len(data) == 0:
        raise _Invalid(f"empty file (0 bytes, expected {expected_bytes})")
    if len(data) != expected_bytes:
        raise _Invalid(f"size {len(data)} bytes, expected {expected_bytes} (truncated or altered)")
    digest = hashlib.sha256(data).hexdigest()
    if digest != expected_sha:
        raise _Invalid(f"checksum mismatch (sha256 {digest[:12]}…, recorded {expected_sha[:12]}…): the file was altered")
    return data


class _Invalid(Exception):
    """Internal: why a cache entry cannot be used."""


def write_processed(dataset, data_list) -> None:
    """Collate ``data_list`` and write it as ``dataset.processed_paths[0]``, then ``generation.json`` with its checksum."""
    data, slices = InMemoryDataset.collate(data_list)
    buffer = io.BytesIO()
    torch.save((data.to_dict(), slices, data.__class__), buffer)
    payload = buffer.getvalue()
    path = Path(dataset.processed_paths[0])
    write_bytes_atomic(path, payload)
    generation = dict(dataset.generation)
    generation["files"] = {path.name: file_record(payload)}
    write_bytes_atomic(path.parent / GENERATION_FILE, json.dumps(generation, indent=2, sort_keys=True).encode("utf-8"))
    dataset._verified_bytes = payload


class CachedInMemoryDataset(InMemoryDataset):
    """An ``InMemoryDataset`` whose processed file is written atomically, checksummed and generated under a lock.

    Subclasses set ``self.generation`` (the parameters behind the cache name) before calling
    ``super().__init__``, write their file in ``process()`` with :func:`gdl.data._home.save_processed`,
    and call ``self.load_cache()`` at the end of ``__init__``. PyG's own ``pre_transform.pt`` /
    ``pre_filter.pt`` files are not used: the hooks are part of the cache name.
    """

    _verified_bytes = None

    @property
    def processed_tag(self) -> str:
        """What tells this dataset's cache folders apart besides the generation hash (e.g. the split)."""
        return ""

    @property
    def processed_dir(self) -> str:
        """``root/processed/[tag_]<hash of self.generation>``: one folder per set of parameters."""
        name = config_hash(self.generation)
        return os.path.join(self.root, "processed", f"{self.processed_tag}_{name}" if self.processed_tag else name)

    @property
    def processed_file_names(self) -> List[str]:
        return ["data.pt"]

    def _process(self) -> None:  # replaces PyG's: verify-or-generate under the cache lock
        path = Path(self.processed_paths[0])
        with cache_lock(self.root):
            remove_temporary_files(path.parent)
            if not self.force_reload:
                try:
                    self._verified_bytes = read_verified(path)
                    return
                except _Invalid as why:
                    if str(why) != "missing":
                        warnings.warn(f"dataset cache {path}: {why}; regenerating it", DatasetCacheWarning, stacklevel=3)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatasetCacheError(f"cannot create dataset cache folder {path.parent}: {exc.strerror or exc}") from None
            self.process()
            if self._verified_bytes is None:  # a process() that wrote the file itself
                self._verified_bytes = read_verified(path)

    def load_cache(self) -> None:
        """Load the verified bytes of the processed file (as ``InMemoryDataset.load`` would from the file)."""
        path = self.processed_paths[0]
        payload, self._verified_bytes = self._verified_bytes, None
        if payload is None:
            raise DatasetCacheError(f"dataset cache {path} was not verified before loading")
        try:
            try:
                out = torch.load(io.BytesIO(payload), weights_only=True)
            except pickle.UnpicklingError:  # classes outside torch's allow-list (the file's checksum is verified)
                out = torch.load(io.BytesIO(payload), weights_only=False)
            data, self.slices, data_cls = out
            self.data = data_cls.from_dict(data) if isinstance(data, dict) else data
        except Exception as exc:
            raise DatasetCacheError(f"cannot read dataset cache {path}: {type(exc).__name__}: {exc}") from None


__all__ = ["CachedInMemoryDataset", "DatasetCacheError", "DatasetCacheWarning", "cache_lock", "read_verified",
           "write_bytes_atomic", "write_processed", "remove_temporary_files"]
