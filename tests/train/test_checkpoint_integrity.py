"""Checkpoint integrity and honest resumes: byte flips are refused by name, an edited config.yaml is never
used silently, explicit --set changes are logged, and a history without last.pt does not restart at epoch 0."""
import io
import json
import warnings

import pytest
import torch
import yaml

from gdl.cli import main
from gdl.train import CheckpointError, ConfigError, Trainer, load_checkpoint, register_task, save_checkpoint
from tiny_train_task import TINY, tiny_config


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished 2-epoch tiny run (copied by the tests that damage it)."""
    run = tmp_path_factory.mktemp("finished") / "run"
    Trainer(tiny_config(epochs=2), run_dir=run, task=TINY).fit()
    return run


def _copy(run, tmp_path):
    import shutil

    target = tmp_path / "run"
    shutil.copytree(run, target)
    return target


def test_checkpoint_stays_a_plain_torch_archive(finished):
    state = torch.load(finished / "last.pt", weights_only=False)  # users may still torch.load it
    assert state["epoch"] == 2 and state["format"] == "gdl.train.checkpoint/2"


def test_every_flipped_byte_is_refused_with_the_file_named(finished, tmp_path):
    original = (finished / "last.pt").read_bytes()
    path = tmp_path / "last.pt"
    positions = sorted({int(i * (len(original) - 1) / 24) for i in range(25)} | {len(original) - 1, len(original) - 40})
    for position in positions:  # headers, pickled state, tensor data, zip directory, the checksum itself
        damaged = bytearray(original)
        damaged[position] ^= 0x01
        path.write_bytes(bytes(damaged))
        with pytest.raises(CheckpointError) as info:
            load_checkpoint(path)
        assert str(path) in str(info.value) and "corrupt" in str(info.value), (position, str(info.value))
    path.write_bytes(original)
    assert load_checkpoint(path)["epoch"] == 2


def test_resume_and_check_refuse_a_flipped_last_pt(finished, tmp_path, capsys):
    register_task(TINY, overwrite=True)
    run = _copy(finished, tmp_path)
    data = bytearray((run / "last.pt").read_bytes())
    data[len(data) // 2] ^= 0x10  # in the tensor data: loaded and resumed silently before
    (run / "last.pt").write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="last.pt is corrupt: its bytes do not match the checksum"):
        Trainer.resume(run, task=TINY)
    assert main(["train", "--resume", str(run), "--epochs", "3"]) == 2
    assert f"{run / 'last.pt'} is corrupt" in capsys.readouterr().err
    assert main(["check", str(run / "last.pt")]) == 2
    assert "is corrupt" in capsys.readouterr().err


def test_checkpoint_without_a_checksum_from_before_is_loaded_with_a_warning(tmp_path):
    buffer = io.BytesIO()
    torch.save({"format": "gdl.train.checkpoint/1", "epoch": 1, "config": {}, "model": {}}, buffer)
    (tmp_path / "old.pt").write_bytes(buffer.getvalue())
    with pytest.warns(UserWarning, match="without a checksum"):
        assert load_checkpoint(tmp_path / "old.pt")["epoch"] == 1


def _edit_config(run, **changes):
    values = yaml.safe_load((run / "config.yaml").read_text())
    for dotted, value in changes.items():
        section, key = dotted.split("__") if "__" in dotted else (None, dotted)
        (values[section] if section else values)[key] = value
    (run / "config.yaml").write_text(yaml.safe_dump(values, sort_keys=False))


def test_an_edited_config_yaml_is_refused_on_resume_with_the_changed_keys(finished, tmp_path):
    run = _copy(finished, tmp_path)
    _edit_config(run, optimizer__lr=0.02, batch_size=8)
    before = (run / "last.pt").read_bytes()
    with pytest.raises(ConfigError) as info:
        Trainer.resume(run, epochs=3, task=TINY)
    message = str(info.value)
    assert "config.yaml was edited after last.pt was written (epoch 2)" in message
    assert "optimizer.lr: None in last.pt, 0.02 in config.yaml" in message
    assert "batch_size: 16 in last.pt, 8 in config.yaml" in message
    assert "--set optimizer.lr=0.02" in message
    assert (run / "last.pt").read_bytes() == before and not (run / "overrides.jsonl").exists()


def test_explicit_overrides_on_resume_are_applied_and_logged(finished, tmp_path, capsys):
    register_task(TINY, overwrite=True)
    run = _copy(finished, tmp_path)
    assert main(["train", "--resume", str(run), "--epochs", "3", "--set", "optimizer.lr=0.02", "--no-progress"]) == 0
    state = load_checkpoint(run / "last.pt")
    assert state["epoch"] == 3 and state["config"]["optimizer"]["lr"] == 0.02
    assert yaml.safe_load((run / "config.yaml").read_text())["optimizer"]["lr"] == 0.02
    rows = [json.loads(line) for line in (run / "overrides.jsonl").read_text().splitlines()]
    assert rows[-1]["epoch"] == 2 and rows[-1]["changes"] == {"epochs": [2, 3], "optimizer.lr": [None, 0.02]}
    assert main(["train", "--resume", str(run), "--set", "seed=4"]) == 2
    assert "--resume cannot change seed" in capsys.readouterr().err


def test_a_kill_after_logging_an_override_does_not_look_like_a_silent_edit(finished, tmp_path):
    run = _copy(finished, tmp_path)
    Trainer.resume(run, epochs=4, task=TINY)  # logged + config.yaml written, then "killed" before an epoch ends
    assert yaml.safe_load((run / "config.yaml").read_text())["epochs"] == 4
    assert load_checkpoint(run / "last.pt")["config"]["epochs"] == 2
    results = Trainer.resume(run, task=TINY).fit()  # the logged change explains the difference
    assert results["epochs"] == 4


def test_a_history_without_last_pt_refuses_to_restart_at_epoch_0(finished, tmp_path, capsys):
    register_task(TINY, overwrite=True)
    run = _copy(finished, tmp_path)
    (run / "last.pt").unlink()
    history = (run / "metrics.jsonl").read_text()
    with pytest.raises(CheckpointError) as info:
        Trainer.resume(run, task=TINY)
    message = str(info.value)
    assert "no last.pt" in message and "metrics.jsonl (2 epochs)" in message and "--overwrite" in message
    assert (run / "metrics.jsonl").read_text() == history  # nothing appended, nothing lost
    assert main(["train", "--resume", str(run)]) == 2
    assert "no last.pt" in capsys.readouterr().err


def test_a_run_killed_before_its_first_epoch_restarts_in_its_folder(tmp_path):
    run = tmp_path / "run"
    Trainer(tiny_config(epochs=1), run_dir=run, task=TINY)  # config.yaml written, no epoch finished
    assert not (run / "last.pt").exists()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        results = Trainer.resume(run, task=TINY).fit()
    assert results["epochs"] == 1


def test_save_checkpoint_round_trip_and_checksum_in_the_archive_comment(tmp_path):
    import zipfile

    path = save_checkpoint(tmp_path / "x.pt", {"epoch": 1, "config": {}, "model": {"w": torch.ones(3)}})
    assert zipfile.ZipFile(path).comment.startswith(b"gdl-sha256:")
    assert torch.equal(load_checkpoint(path)["model"]["w"], torch.ones(3))
