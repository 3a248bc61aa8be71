"""The `gdl` command line: train / check / tasks / data, and its errors for bad input."""
import json
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent / "train"))
from tiny_train_task import TINY  # noqa: E402

from gdl.cli import main  # noqa: E402
from gdl.train import register_task  # noqa: E402


@pytest.fixture(autouse=True)
def tiny_registered():
    register_task(TINY, overwrite=True)


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


TINY_FLAGS = ["--dtype", "float64", "--batch-size", "16", "--no-progress", "--set", "equivariance.every=1"]


def test_help_reads_well(capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--model", "--config", "--epochs", "--seed", "--device", "--run-dir", "--resume", "--set"):
        assert flag in out
    assert "optimizer.{name,lr,weight_decay,momentum}" in out
    assert main([]) == 2


def test_tasks_lists_tasks_models_and_published_numbers(capsys):
    code, out, _ = run(capsys, "tasks")
    assert code == 0
    for text in ("nbody:", "egnn", "lr 0.0005", "0.0071", "segnn", "0.0043", "csl:", "gin-rwpe", "tiny:"):
        assert text in out


def test_train_writes_the_run_folder_and_check_reads_it(capsys, tmp_path):
    code, out, err = run(capsys, "train", "tiny", "--epochs", "2", "--run-dir", str(tmp_path / "run"), *TINY_FLAGS)
    assert code == 0, err
    for name in ("config.yaml", "metrics.jsonl", "last.pt", "best.pt", "results.md", "loss.png"):
        assert (tmp_path / "run" / name).exists()
    code, out, err = run(capsys, "check", str(tmp_path / "run"))
    assert code == 0, err
    assert "E(3)" in out and "node permutation" in out and "PASSED" in out
    code, out, err = run(capsys, "check", str(tmp_path / "run" / "last.pt"), "--elements", "1")
    assert code == 0 and "PASSED" in out


def test_check_by_model_name_flags_a_broken_model(capsys):
    code, out, _ = run(capsys, "check", "broken", "--task", "tiny", "--dtype", "float64")
    assert code == 1 and "NOT EQUIVARIANT" in out
    code, out, _ = run(capsys, "check", "tiny", "--task", "tiny", "--dtype", "float64")
    assert code == 0 and "PASSED" in out


def test_resume_after_a_finished_run_extends_it(capsys, tmp_path):
    run_dir = str(tmp_path / "run")
    assert run(capsys, "train", "tiny", "--epochs", "1", "--run-dir", run_dir, *TINY_FLAGS)[0] == 0
    code, _, err = run(capsys, "train", "--resume", run_dir, "--epochs", "2", "--no-progress")
    assert code == 0, err
    assert len((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()) == 2
    code, _, err = run(capsys, "train", "--resume", run_dir, "--model", "tiny")
    assert code == 2 and "cannot be combined with --model" in err


@pytest.mark.parametrize("argv, message", [
    (["train", "nbdy"], "unknown task 'nbdy' (did you mean 'nbody'?); valid tasks: cortical, csl, "),
    (["train", "nbody", "--model", "egn"], "valid models: egnn, segnn, tfn, gnn, linear"),
    (["train", "tiny", "--set", "optimizer.lrr=1"], "unknown config key 'optimizer.lrr'"),
    (["train", "tiny", "--set", "model_options.hiden=3"], "unknown key 'hiden'"),
    (["train"], "name a task"),
    (["check", "egnx"], "unknown model 'egnx'; valid models:"),
    (["check", "missing/run"], "does not exist"),
    (["data", "nope"], "unknown task 'nope'"),
])
def test_bad_input_names_the_problem(capsys, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert message in err


def test_unknown_key_in_config_file(capsys, tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("epochs: 1\noptimizer:\n  learning_rate: 0.1\n")
    code, _, err = run(capsys, "train", "tiny", "--config", str(path), "--run-dir", str(tmp_path / "r"))
    assert code == 2 and "unknown config key 'optimizer.learning_rate'" in err
    assert not (tmp_path / "r").exists()


def test_corrupt_and_foreign_checkpoints(capsys, tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00garbage")
    code, _, err = run(capsys, "check", str(bad))
    assert code == 2 and "not a readable checkpoint" in err
    foreign = tmp_path / "foreign.pt"
    torch.save({"model_state_dict": {}}, foreign)
    code, _, err = run(capsys, "check", str(foreign))
    assert code == 2 and "not a gdl.train checkpoint" in err
    (tmp_path / "notarun").mkdir()
    code, _, err = run(capsys, "train", "--resume", str(tmp_path / "notarun"))
    assert code == 2 and "not a gdl run folder" in err


def test_unwritable_run_folder_fails_before_training(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run(capsys, "train", "tiny", "--run-dir", str(blocker / "run"), *TINY_FLAGS)
    assert code == 2 and "not writable" in err


def test_data_command(capsys):
    code, out, _ = run(capsys, "data", "tiny", "--set", "n_train=5")
    assert code == 0 and "train: 5 items" in out
    code, _, err = run(capsys, "data", "tiny", "--set", "n_trains=5")
    assert code == 2 and "unknown key 'n_trains'" in err


def test_nbody_egnn_end_to_end_small(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("GDL_HOME", str(tmp_path / "home"))
    code, out, err = run(capsys, "train", "nbody", "--model", "egnn", "--epochs", "2", "--run-dir", str(tmp_path / "run"),
                         "--no-progress", "--set", "data={num_train: 200, num_val: 100, num_test: 100, progress: false}",
                         "--set", "equivariance.every=1")
    assert code == 0, err
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["model"] == "egnn"  # the metric is judged against baselines in test_cli_baselines.py
    assert results["equivariance"]["max"] < 1e-4 and results["equivariance"]["symmetry"] == "E(3), node permutation"


def test_results_summarises_seeds(capsys, tmp_path):
    for seed in ("1", "2"):
        assert run(capsys, "train", "tiny", "--epochs", "2", "--seed", seed, "--run-dir", str(tmp_path / seed), *TINY_FLAGS)[0] == 0
    code, out, err = run(capsys, "results", str(tmp_path / "1"), str(tmp_path / "2"), "--plot", str(tmp_path / "c.png"))
    assert code == 0, err
    row = [line for line in out.splitlines() if line.startswith("| tiny |")][0]
    values = [json.loads((tmp_path / s / "results.json").read_text())["test_metric"] for s in ("1", "2")]
    assert f"mse {sum(values) / 2:.5g} ±" in row and "| 2 |" in row
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
    code, _, err = run(capsys, "results", str(tmp_path))
    assert code == 2 and "no results.json" in err
