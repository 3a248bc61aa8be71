"""The run folder: resolved config, metrics log, checkpoints, plots, results.

Layout::

    RUN_DIR/config.yaml      resolved configuration (re-used by --resume)
    RUN_DIR/metrics.jsonl    one JSON object per epoch (train/val loss and metric, equivariance error, lr, time)
    RUN_DIR/last.pt          checkpoint after the last finished epoch (atomic, checksummed)
    RUN_DIR/best.pt          checkpoint at the best validation metric (atomic, checksummed)
    RUN_DIR/overrides.jsonl  keys changed explicitly on --resume (--set, --epochs), one JSON line per resume
    RUN_DIR/{loss,metric,equivariance}.png
    RUN_DIR/results.md, results.json   final table: test metric at the best-val epoch vs published, equivariance
    RUN_DIR/tensorboard/     when tensorboard is installed

Safety rules (tests in ``tests/train/test_run_dir_safety.py``):

- a new run never writes into a folder that holds another run (:func:`check_run_dir_free` raises
  ``RunDirError`` naming the folder and its files, and suggesting ``--overwrite`` or ``--resume``);
  ``overwrite=True`` removes that run's files first (:func:`clear_run`);
- a new run claims its folder atomically: ``config.yaml`` is created with ``os.link``, which fails
  if another process created it first (:func:`claim_run_dir`);
- a default folder is ``runs/TASK-MODEL-sSEED-YYYYmmdd-HHMMSS-XXXXXX`` with a random suffix, made with
  ``mkdir(exist_ok=False)``, so two runs started in the same second get two folders
  (:func:`create_default_run_dir`);
- temporary files left by killed writers are removed on start and resume (:func:`remove_stale_temporary_files`);
- one process at a time trains in a folder: :class:`RunLock` holds an exclusive ``flock`` on
  ``RUN_DIR/.lock`` from before the folder is checked (or cleared by ``overwrite``, or read by
  ``--resume``) until the run finishes, so a second ``--resume`` (or an ``--overwrite``) of a live
  run is refused naming the holder's pid. The kernel drops the lock when its process dies, even by
  SIGKILL, so a killed run never leaves a stale lock behind.

``prepare_run_dir`` fails *before* training when the folder cannot be written or the disk
lacks room for the checkpoints.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import time
import warnings
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no advisory locks (documented in RunLock)
    fcntl = None

from gdl.data._cache import TMP_MARK, fsync_folder, replace_atomically

RUN_FILES = ("config.yaml", "metrics.jsonl", "last.pt", "best.pt", "results.json", "results.md")
RUN_EXTRAS = ("overrides.jsonl", "loss.png", "metric.png", "equivariance.png")


class RunDirError(OSError):
    """The run folder cannot be created or written, holds another run, or the disk is too full."""


def default_run_dir(task: str, model: str, seed: int, root="runs") -> Path:
    """A fresh default folder name (not created): ``ROOT/TASK-MODEL-sSEED-TIMESTAMP-XXXXXX``."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path(root) / f"{task}-{model}-s{seed}-{stamp}-{secrets.token_hex(3)}"


def create_default_run_dir(task: str, model: str, seed: int, root="runs") -> Path:
    """Create a new, unique default run folder (``mkdir(exist_ok=False)``: never one another run made)."""
    for _ in range(100):
        path = default_run_dir(task, model, seed, root)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.mkdir(exist_ok=False)
            return path
        except FileExistsError:
            continue
        except OSError as exc:
            raise RunDirError(f"cannot create run folder {path}: {exc.strerror or exc}") from None
    raise RunDirError(f"cannot find a free run folder name under {root}")  # pragma: no cover


def run_files(path) -> list:
    """The files of a run present in ``path`` (empty: the folder holds no run)."""
    path = Path(path)
    return [name for name in RUN_FILES if (path / name).exists()] if path.is_dir() else []


def check_run_dir_free(path, overwrite: bool = False) -> Path:
    """Refuse a folder that holds another run (or replace it when ``overwrite``); returns the path."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise RunDirError(f"run folder {path} is not writable: it exists and is not a folder")
    found = run_files(path)
    if found:
        if not overwrite:
            raise RunDirError(
                f"run folder {path} already holds a run ({', '.join(found)}); a new run never writes into it. "
                f"Continue that run with `gdl train --resume {path}`, pick another --run-dir, or replace it "
                "with --overwrite (Trainer(..., overwrite=True))"
            )
        clear_run(path)
    return path


def clear_run(path) -> None:
    """Remove the files a run writes (and only those) from ``path``."""
    path = Path(path)
    for name in RUN_FILES + RUN_EXTRAS:
        target = path / name
        if target.exists():
            target.unlink()
    if (path / "tensorboard").is_dir():
        shutil.rmtree(path / "tensorboard")
    for leftover in path.iterdir():
        if leftover.name.startswith(".") and TMP_MARK in leftover.name:
            leftover.unlink()


def claim_run_dir(path, config_text: str) -> None:
    """Create ``path/config.yaml`` holding ``config_text`` only if no other process created it first."""
    path = Path(path)
    tmp = path / f".config.yaml{TMP_MARK}{os.getpid()}"
    _write_durable(tmp, config_text)
    try:
        os.link(tmp, path / "config.yaml")  # atomic, and fails if the name exists
    except FileExistsError:
        raise RunDirError(
            f"run folder {path} was claimed by another run while this one started (config.yaml appeared); "
            "pick another --run-dir"
        ) from None
    except OSError:  # a filesystem without hard links: exclusive create instead
        try:
            fd = os.open(path / "config.yaml", os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        except FileExistsError:
            raise RunDirError(f"run folder {path} was claimed by another run while this one started") from None
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(config_text)
            handle.flush()
            os.fsync(handle.fileno())
    finally:
        if tmp.exists():
            tmp.unlink()
    fsync_folder(path)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporary_files(path) -> list:
    """Remove ``.NAME.tmp-PID`` files whose writer is gone (killed mid-write); returns the removed paths."""
    removed = []
    path = Path(path)
    if not path.is_dir():
        return removed
    for leftover in path.iterdir():
        name = leftover.name
        if not (name.startswith(".") and TMP_MARK in name):
            continue
        pid_text = name.rsplit(TMP_MARK, 1)[1]
        if pid_text.isdigit() and int(pid_text) != os.getpid() and _pid_alive(int(pid_text)):
            continue  # a live writer (another rank or process): not ours to delete
        try:
            leftover.unlink()
            removed.append(leftover)
        except OSError:
            pass
    return removed


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


def _write_durable(path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def write_text_atomic(path, text: str) -> None:
    """Write ``text`` (UTF-8) atomically and durably (:func:`gdl.data._cache.replace_atomically`)."""
    replace_atomically(path, text.encode("utf-8"))


def append_jsonl(path, row: dict) -> None:
    """Append one JSON line and fsync (the overrides log)."""
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(row, default=str) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


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


LOCK_NAME = ".lock"
_HELD: dict = {}  # resolved folder → [open lock file, number of holders in this process]


class RunLock:
    """An exclusive lock on a run folder, held by the one process that trains in it (``flock``).

    ``RunLock(path)`` takes ``path/.lock`` of an existing folder without waiting (``held`` is
    False for a folder that does not exist yet), or raises :class:`RunDirError` naming
    the process that holds it. Holders in one process share the lock (a resumed ``Trainer`` built
    while the interrupted one still exists in the same interpreter). ``release()`` (or garbage
    collection) gives it back; the kernel drops it when the process exits, however it exits.
    A holder that died while a child process it forked still has the file open keeps the lock
    until that child exits: the lock waits up to ``wait_s`` seconds for such orphans.
    Without ``fcntl`` (not POSIX) no lock is taken.
    """

    def __init__(self, path, wait_s: float = 10.0):
        self.path = Path(path)
        self.key = None
        if fcntl is None:  # pragma: no cover
            return
        key = str(self.path.resolve())
        if key in _HELD:
            _HELD[key][1] += 1
            self.key = key
            return
        if not self.path.is_dir():  # nothing to protect yet (``held`` is False): lock once the folder exists
            return
        try:
            handle = open(self.path / LOCK_NAME, "a+", encoding="utf-8")
        except OSError:  # not writable: prepare_run_dir says so
            return
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip()
                holder_alive = holder.isdigit() and _pid_alive(int(holder))
                if holder_alive or time.monotonic() > deadline:
                    handle.close()
                    raise RunDirError(
                        f"run folder {self.path} is in use by another training process (pid {holder or 'unknown'}): "
                        "two processes never train in one folder. Wait for it to finish, or stop it and "
                        f"`gdl train --resume {self.path}`"
                    ) from None
                time.sleep(0.2)  # the recorded holder is gone: a child it forked may still hold the file
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        _HELD[key] = [handle, 1]
        self.key = key

    @property
    def held(self) -> bool:
        return self.key is not None

    def release(self) -> None:
        """Give the lock back (once per holder; the file stays, empty locks are harmless)."""
        key, self.key = self.key, None
        if key is None or key not in _HELD:
            return
        _HELD[key][1] -= 1
        if _HELD[key][1] == 0:
            handle = _HELD.pop(key)[0]
            try:
                handle.seek(0)
                handle.truncate()
            finally:
                handle.close()  # closing the last descriptor releases the flock

    def __del__(self):
        try:
            self.release()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass


def read_metrics(run_dir) -> list:
    """The rows of ``RUN_DIR/metrics.jsonl``.

    A torn last line (the process was killed while appending it: no final newline) is skipped
    with a warning, since resume rewrites the log from the checkpoint; a corrupt line anywhere
    else raises ``ValueError`` naming the file and the line.
    """
    path = Path(run_dir) / "metrics.jsonl"
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8", errors="replace")
    lines = text.split("\n")
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            if number == len(lines):  # the last piece has no newline after it: an append cut short
                warnings.warn(f"{path}: skipped a torn last line ({len(line)} bytes, written by a killed run)", stacklevel=2)
                continue
            raise ValueError(f"{path}, line {number}: not a JSON object ({exc.msg}); the metrics log is corrupt") from None
    return rows
