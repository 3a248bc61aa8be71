"""Fault injection on the processed-dataset cache: kills during the write, byte flips, truncation,
concurrent generators, hooks keyed by their code, and one layout for --root and GDL_HOME."""
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
import torch

import gdl.data.nbody as nbody
from gdl.data import CSL, NBodyCharged
from gdl.data._cache import DatasetCacheWarning
from gdl.data._home import HookKeyError, cache_folder, hook_repr

HERE = Path(__file__).resolve().parent
WORKER = HERE / "cache_worker.py"
REPO = HERE.parents[1]


def _start(root, mode, *extra):
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""), OMP_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, str(WORKER), str(root), mode, *extra], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=str(HERE))


def _finish(process, timeout=120):
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err
    line = [l for l in out.splitlines() if l.startswith("LOADED")][-1]
    _, generated, digest = line.split()
    return int(generated), digest, err


def _kill_at_pause(process):
    for line in process.stdout:
        if line.startswith("PAUSED"):
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=60)
            return Path(line.split(maxsplit=1)[1].strip())
    raise AssertionError(f"the worker never paused: {process.stderr.read()}")


SMALL = dict(split="val", num_val=3, stream="per_split", input_frame=1, target_frame=2, progress=False)  # as the worker


def _load(root, monkeypatch, **kwargs):
    """Build/load the small entry in this process; returns (number of generations, tensors' checksum)."""
    calls = []
    original = nbody.generate_nbody_split
    monkeypatch.setattr(nbody, "generate_nbody_split", lambda *a, **k: calls.append(1) or original(*a, **k))
    dataset = NBodyCharged(root=str(root), **{**SMALL, **kwargs})
    monkeypatch.undo()
    return len(calls), _digest(dataset)


def _entry(root) -> Path:
    folders = list((Path(root) / "processed").iterdir())
    assert len(folders) == 1, folders
    return folders[0]


def _digest(dataset) -> str:
    t = dataset.tensors()
    return hashlib.sha256(b"".join(t[k].numpy().tobytes() for k in ("pos", "vel", "y", "charges"))).hexdigest()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The 3-trajectory val split generated without faults (its tensors' checksum)."""
    return _digest(NBodyCharged(root=str(tmp_path_factory.mktemp("ref")), **SMALL))


@pytest.mark.parametrize("mode", ["pause-before-rename", "pause-mid-write"])
def test_kill_during_the_first_write_leaves_no_torn_file_and_the_next_load_regenerates(tmp_path, reference, mode,
                                                                                        monkeypatch):
    root = tmp_path / "root"
    tmp_file = _kill_at_pause(_start(root, mode))
    entry = _entry(root)
    assert tmp_file.exists() and tmp_file.parent == entry  # the kill left the temporary file, …
    assert not (entry / "data.pt").exists()  # … never a 0-byte or half data.pt
    generated, digest = _load(root, monkeypatch)
    assert generated == 1 and digest == reference  # regenerated, the same data, no EOFError
    assert not tmp_file.exists()  # the leftover was cleaned
    assert not any(".tmp-" in p.name for p in entry.iterdir())


def test_kill_during_a_rewrite_keeps_the_previous_file(tmp_path, reference, monkeypatch):
    root = tmp_path / "root"
    assert _load(root, monkeypatch) == (1, reference)
    _kill_at_pause(_start(root, "pause-before-rename", "force"))  # force_reload: rewriting a valid entry
    generated, digest = _load(root, monkeypatch)
    assert generated == 0 and digest == reference  # the old file is intact and verified: nothing lost


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty", "no-record", "bad-record"])
def test_damaged_cache_is_detected_named_and_regenerated(tmp_path, reference, damage):
    root = str(tmp_path)
    NBodyCharged(root=root, **SMALL)
    path = _entry(root) / "data.pt"
    data = bytearray(path.read_bytes())
    record = path.parent / "generation.json"
    if damage == "flip":  # one byte inside the tensor data (positions): loaded silently as garbage before
        data[len(data) // 2] ^= 0x40
        path.write_bytes(bytes(data))
        reason = "checksum mismatch"
    elif damage == "truncate":
        path.write_bytes(bytes(data[: len(data) // 3]))
        reason = "truncated"
    elif damage == "empty":
        path.write_bytes(b"")
        reason = "empty file"
    elif damage == "no-record":
        record.unlink()
        reason = "no checksum recorded"
    else:
        record.write_text("{not json")
        reason = "no valid checksum"
    with pytest.warns(DatasetCacheWarning) as caught:
        again = NBodyCharged(root=root, **SMALL)
    message = str(caught[0].message)
    assert str(path) in message and reason in message and "regenerating" in message
    assert _digest(again) == reference
    with warnings.catch_warnings():
        warnings.simplefilter("error", DatasetCacheWarning)  # repaired: the next load is silent
        assert _digest(NBodyCharged(root=root, **SMALL)) == reference


def test_checksum_is_recorded_at_generation(tmp_path):
    NBodyCharged(root=str(tmp_path), **SMALL)
    entry = _entry(tmp_path)
    record = json.loads((entry / "generation.json").read_text())["files"]["data.pt"]
    data = (entry / "data.pt").read_bytes()
    assert record == {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    assert not (entry / "pre_transform.pt").exists()  # PyG's unkeyed, non-atomic side files are not written


def test_two_concurrent_generators_of_one_root_generate_once(tmp_path, reference):
    root = tmp_path / "root"
    first = _start(root, "hold")
    assert first.stdout.readline().strip() == "GENERATING"  # the first holds the lock, mid-generation
    second = _start(root, "load")
    deadline = time.time() + 60
    waiting = ""
    while "waiting for another process" not in waiting and time.time() < deadline:
        waiting += second.stderr.readline()  # the second says it waits for the lock
    assert "waiting for another process" in waiting and str(root) in waiting
    assert second.poll() is None  # … and has not crashed on a half-written file
    Path(str(root) + ".release").write_text("go")
    generated_first, digest_first, _ = _finish(first)
    generated_second, digest_second, _ = _finish(second)
    assert (generated_first, generated_second) == (1, 0)  # the second loaded the finished file
    assert digest_first == digest_second == reference


def test_function_hooks_are_keyed_by_their_code_not_their_name(tmp_path):
    namespace = {}
    exec("def scale(d):\n    d.pos = d.pos * 2\n    return d\n", namespace)
    first = namespace["scale"]
    exec("def scale(d):\n    d.pos = d.pos * 3\n    return d\n", namespace)  # same name, edited body
    edited = namespace["scale"]
    assert hook_repr(first) != hook_repr(edited)
    assert hook_repr(first) == hook_repr(first) and "scale" in hook_repr(first)
    a = NBodyCharged(root=str(tmp_path), pre_transform=first, **SMALL)
    b = NBodyCharged(root=str(tmp_path), pre_transform=edited, **SMALL)
    assert a.processed_dir != b.processed_dir
    assert torch.allclose(b.tensors()["pos"] * 2, a.tensors()["pos"] * 3)  # the edit took effect


def test_lambdas_closures_and_defaults_change_the_key():
    assert hook_repr(lambda d: d.pos > 0) != hook_repr(lambda d: d.pos > 1)  # a constant
    keys = {hook_repr((lambda k: (lambda d: d.pos > k))(k)) for k in (1, 2)}  # a closure value
    assert len(keys) == 2
    assert hook_repr(lambda d, k=1: d) != hook_repr(lambda d, k=2: d)  # a default


def test_objects_without_a_repr_are_keyed_by_class_code_and_attributes():
    class Scale:
        __slots__ = ("factor",)

        def __init__(self, factor):
            self.factor = factor

        def __call__(self, data):
            return data

        def __repr__(self):
            return object.__repr__(self)

    assert hook_repr(Scale(2)) == hook_repr(Scale(2)) and hook_repr(Scale(2)) != hook_repr(Scale(3))
    assert "Scale(factor=2)" in hook_repr(Scale(2))


def test_unkeyable_hooks_are_refused_with_a_clear_message(tmp_path):
    class Opaque:
        __slots__ = ()

        def __repr__(self):
            return object.__repr__(self)

    with pytest.raises(HookKeyError, match="cannot key .*its repr shows only its address.*__repr__"):
        NBodyCharged(root=str(tmp_path), pre_filter=(lambda o: lambda d: o is d)(Opaque()), **SMALL)


def test_objects_with_a_repr_keep_their_readable_key():
    from gdl.data import RandomWalkPE

    assert hook_repr(RandomWalkPE(4)) == repr(RandomWalkPE(4))
    assert hook_repr(None) == "None"


def test_cache_root_and_gdl_home_lead_to_the_same_layout(tmp_path, monkeypatch):
    from gdl.train.tasks.csl import csl_datasets
    from gdl.train.tasks.nbody import nbody_datasets

    monkeypatch.setenv("GDL_HOME", str(tmp_path / "home"))
    by_home = nbody_datasets(None, num_train=1, num_val=1, num_test=1, stream="per_split", progress=False)
    by_root = nbody_datasets(str(tmp_path / "root"), num_train=1, num_val=1, num_test=1, stream="per_split", progress=False)
    relative = lambda d, base: Path(d.processed_dir).relative_to(base)
    assert relative(by_home["test"], tmp_path / "home") == relative(by_root["test"], tmp_path / "root")
    assert Path(by_root["test"].root) == tmp_path / "root" / "nbody_charged" == Path(cache_folder("nbody_charged", str(tmp_path / "root")))
    csl_home, csl_root = csl_datasets(None)["train"], csl_datasets(str(tmp_path / "root"))["train"]
    assert (tmp_path / "home" / "csl" / "processed").is_dir() and (tmp_path / "root" / "csl" / "processed").is_dir()
    assert len(csl_home) == len(csl_root) == 90


def test_seeds_outside_the_generators_range_are_refused(tmp_path):
    with pytest.raises(ValueError, match=r"seed must be an int in \[0, 2\*\*32\)"):
        NBodyCharged(root=str(tmp_path), split="val", num_val=2, seed=2**32, progress=False)
    with pytest.raises(ValueError, match="seed must be an int"):
        NBodyCharged(root=str(tmp_path), split="val", num_val=2, seed=-1, stream="per_split", progress=False)
    with pytest.raises(ValueError, match=r"seed must be an int in \[0, 2\*\*63\)"):
        CSL(root=str(tmp_path), seed=2**63)
