"""Run folders: a run never writes into another run's folder, default folders are unique (even in the same
second), every DDP rank uses rank 0's folder, and a kill during a checkpoint write loses nothing."""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

import gdl.train._run_dir as run_dir_module
from gdl.cli import main
from gdl.train import RunDirError, Trainer, load_checkpoint, register_task
from tiny_train_task import TINY, tiny_config

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def _snapshot(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def test_a_new_run_never_writes_into_a_folder_holding_another_run(tmp_path):
    run = tmp_path / "run"
    Trainer(tiny_config(epochs=2), run_dir=run, task=TINY).fit()
    before = _snapshot(run)
    with pytest.raises(RunDirError) as info:
        Trainer(tiny_config(epochs=1, seed=9), run_dir=run, task=TINY)
    message = str(info.value)
    assert str(run) in message and "already holds a run" in message and "last.pt" in message
    assert "--overwrite" in message and f"--resume {run}" in message
    assert _snapshot(run) == before  # nothing of the first run was touched


def test_overwrite_replaces_the_run(tmp_path):
    run = tmp_path / "run"
    Trainer(tiny_config(epochs=3), run_dir=run, task=TINY).fit()
    (run / "notes.txt").write_text("mine")  # not a run file: kept
    results = Trainer(tiny_config(epochs=1, seed=9), run_dir=run, task=TINY, overwrite=True).fit()
    assert results["seed"] == 9 and results["epochs"] == 1
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 1  # the old history is gone, not interleaved
    assert load_checkpoint(run / "last.pt")["config"]["seed"] == 9
    assert (run / "notes.txt").read_text() == "mine"


def test_cli_refuses_an_existing_run_and_overwrite_replaces_it(tmp_path, capsys):
    register_task(TINY, overwrite=True)
    flags = ["--dtype", "float64", "--batch-size", "16", "--no-progress", "--set", "equivariance.every=0"]
    run = str(tmp_path / "run")
    assert main(["train", "tiny", "--epochs", "1", "--run-dir", run, *flags]) == 0
    capsys.readouterr()
    assert main(["train", "tiny", "--epochs", "1", "--run-dir", run, *flags]) == 2
    err = capsys.readouterr().err
    assert f"run folder {run} already holds a run" in err and "--overwrite" in err
    assert main(["train", "tiny", "--epochs", "2", "--run-dir", run, "--overwrite", *flags]) == 0
    assert len((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()) == 2
    assert main(["train", "--resume", run, "--overwrite"]) == 2
    assert "cannot be combined with --overwrite" in capsys.readouterr().err


def test_two_runs_started_in_the_same_second_get_two_folders(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(run_dir_module.time, "strftime", lambda fmt: "20260101-120000")  # the same second
    a = Trainer(tiny_config(epochs=2), task=TINY)
    b = Trainer(tiny_config(epochs=2), task=TINY)  # same task, model, seed and second
    assert a.run_dir != b.run_dir and a.run_dir.parent == b.run_dir.parent == Path("runs")
    a.fit()
    b.fit()
    for trainer in (a, b):  # each folder holds its own run: two epochs each, not four interleaved lines
        rows = [json.loads(line) for line in (trainer.run_dir / "metrics.jsonl").read_text().splitlines()]
        assert [row["epoch"] for row in rows] == [1, 2]
    assert sorted(p.name for p in Path("runs").iterdir()) == sorted([a.run_dir.name, b.run_dir.name])


def test_a_default_name_collision_retries_instead_of_sharing(tmp_path, monkeypatch):
    monkeypatch.setattr(run_dir_module.time, "strftime", lambda fmt: "20260101-120000")
    suffixes = iter(["aaaaaa", "aaaaaa", "bbbbbb"])  # the second run draws the first one's suffix first
    monkeypatch.setattr(run_dir_module.secrets, "token_hex", lambda n: next(suffixes))
    first = run_dir_module.create_default_run_dir("tiny", "tiny", 3, root=tmp_path)
    second = run_dir_module.create_default_run_dir("tiny", "tiny", 3, root=tmp_path)
    assert first.name.endswith("-aaaaaa") and second.name.endswith("-bbbbbb")


def test_a_folder_claimed_between_the_check_and_the_start_is_refused(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    run_dir_module.claim_run_dir(run, "task: tiny\n")
    with pytest.raises(RunDirError, match="claimed by another run"):
        run_dir_module.claim_run_dir(run, "task: other\n")
    assert (run / "config.yaml").read_text() == "task: tiny\n"


def _ddp_folder_worker(rank, world, init_file, out_dir):
    import torch.distributed as dist

    torch.set_num_threads(1)
    os.chdir(out_dir)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        trainer = Trainer(tiny_config(epochs=1, model_options={"dropout": 0.0}), task=TINY)  # default folder
        results = trainer.fit()
        refused = None
        try:  # rank 0 finds the folder taken: every rank gets the error (none waits forever)
            Trainer(tiny_config(epochs=1), run_dir=trainer.run_dir, task=TINY)
        except RunDirError as exc:
            refused = str(exc)
        torch.save({"run_dir": str(trainer.run_dir), "test_metric": results["test_metric"], "refused": refused},
                   f"{out_dir}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_every_ddp_rank_uses_the_folder_rank_0_chose(tmp_path):
    mp.spawn(_ddp_folder_worker, args=(2, str(tmp_path / "init"), str(tmp_path)), nprocs=2, join=True)
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in range(2)]
    assert ranks[0]["run_dir"] == ranks[1]["run_dir"]
    assert len(list((tmp_path / "runs").iterdir())) == 1  # one folder, made by rank 0
    assert ranks[0]["test_metric"] == ranks[1]["test_metric"]  # rank 1 evaluated the same best.pt
    assert all(r["refused"] and "already holds a run" in r["refused"] for r in ranks)


@pytest.mark.parametrize("name, epoch", [("last.pt", 2), ("best.pt", 1)])
def test_kill_during_a_checkpoint_write_loses_nothing(tmp_path, name, epoch):
    run = tmp_path / "killed"
    env = dict(os.environ, OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(HERE), str(REPO), os.environ.get("PYTHONPATH", "")]))
    victim = subprocess.Popen([sys.executable, str(HERE / "checkpoint_kill_worker.py"), str(run), str(epoch), name],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=str(HERE))
    tmp_file = None
    for line in victim.stdout:
        if line.startswith("PAUSED"):
            tmp_file = Path(line.split(maxsplit=1)[1].strip())
            os.kill(victim.pid, signal.SIGKILL)
            break
    victim.wait(timeout=60)
    assert tmp_file is not None, victim.stderr.read()
    assert tmp_file.exists()  # killed with the new checkpoint written but not yet renamed
    if name == "last.pt":  # the previous checkpoint is whole and verified
        assert load_checkpoint(run / "last.pt")["epoch"] == epoch - 1
    else:  # killed inside the first epoch's first write: no checkpoint yet, and no torn one
        assert not (run / "last.pt").exists() and not (run / "best.pt").exists()
    resumed = Trainer.resume(run, task=TINY)
    assert not tmp_file.exists()  # the leftover was cleaned on resume
    results = resumed.fit()
    reference = Trainer(tiny_config(epochs=3), run_dir=tmp_path / "reference", task=TINY).fit()
    assert results["test_metric"] == reference["test_metric"]  # nothing lost: the same run as without the kill
    assert not [p for p in run.iterdir() if ".tmp-" in p.name]


def test_stale_temporary_files_are_removed_on_start_but_a_live_writers_are_kept(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = run / f".last.pt.tmp-{dead.pid}"
    live = run / f".best.pt.tmp-{os.getppid()}"  # a running process (our parent)
    stale.write_bytes(b"half a checkpoint")
    live.write_bytes(b"being written")
    Trainer(tiny_config(epochs=1), run_dir=run, task=TINY).fit()
    assert not stale.exists() and live.exists()
