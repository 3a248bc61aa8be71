"""Checkpoints: atomic writes, clear errors for corrupt and foreign files, run-folder checks up front."""
import os

import pytest
import torch

from gdl.train import CheckpointError, RunDirError, Trainer, load_checkpoint, prepare_run_dir, save_checkpoint
from tiny_train_task import TINY, tiny_config


def _state():
    return {"epoch": 1, "config": {"task": "tiny"}, "model": {"w": torch.ones(2)}}


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path):
    path = save_checkpoint(tmp_path / "last.pt", _state())
    assert load_checkpoint(path)["epoch"] == 1
    save_checkpoint(path, {**_state(), "epoch": 2})
    assert load_checkpoint(tmp_path)["epoch"] == 2  # a run folder resolves to last.pt
    assert sorted(os.listdir(tmp_path)) == ["last.pt"]


def test_failed_write_keeps_the_previous_checkpoint(tmp_path):
    path = save_checkpoint(tmp_path / "last.pt", _state())

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        save_checkpoint(path, {**_state(), "epoch": 5, "bad": Unpicklable()})
    assert load_checkpoint(path)["epoch"] == 1
    assert sorted(os.listdir(tmp_path)) == ["last.pt"]


def test_corrupt_truncated_and_foreign_checkpoints(tmp_path):
    good = save_checkpoint(tmp_path / "good.pt", _state())
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(truncated)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"definitely not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(garbage)
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {"w": torch.ones(1)}}, foreign)
    with pytest.raises(CheckpointError, match="not a gdl.train checkpoint"):
        load_checkpoint(foreign)
    with pytest.raises(CheckpointError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "nothing.pt")


def test_checkpoint_of_another_model_is_refused(tmp_path):
    Trainer(tiny_config(epochs=1), run_dir=tmp_path / "run", task=TINY).fit()
    state = load_checkpoint(tmp_path / "run" / "last.pt")
    state["model"] = {"net.0.weight": torch.zeros(3, 3)}
    save_checkpoint(tmp_path / "run" / "last.pt", {k: v for k, v in state.items() if k != "format"})
    with pytest.raises(CheckpointError, match="does not fit model"):
        Trainer.resume(tmp_path / "run", task=TINY)


def test_checkpoint_holds_everything_for_resume(tmp_path):
    Trainer(tiny_config(epochs=2, ema_decay=0.9), run_dir=tmp_path / "run", task=TINY).fit()
    state = load_checkpoint(tmp_path / "run" / "last.pt")
    for key in ("model", "optimizer", "scheduler", "ema", "rng", "epoch", "config", "history", "best_metric"):
        assert state[key] is not None, key
    assert set(state["rng"]) >= {"torch", "numpy", "python"}
    assert state["epoch"] == 2 and state["config"]["ema_decay"] == 0.9


def test_unwritable_run_folder_fails_before_training(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(RunDirError, match="not writable"):
        Trainer(tiny_config(), run_dir=blocker / "run", task=TINY)


def test_full_disk_fails_before_training(tmp_path, monkeypatch):
    import shutil

    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage._replace(free=1024))
    with pytest.raises(RunDirError, match="not enough free disk space"):
        Trainer(tiny_config(), run_dir=tmp_path / "run", task=TINY)
    assert not (tmp_path / "run" / "config.yaml").exists()
    with pytest.raises(RunDirError, match="not enough free disk space"):
        prepare_run_dir(tmp_path / "other", required_bytes=10**6)
