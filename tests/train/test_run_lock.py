"""One process trains in a run folder: a second --resume (or --overwrite) of a live run is refused,
a SIGKILLed holder leaves no stale lock, and a torn last metrics line does not break reading the log."""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from gdl.train import RunDirError, Trainer, read_metrics
from gdl.train._run_dir import RunLock
from tiny_train_task import TINY, tiny_config

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "tiny_train_task.py"


def _paused_run(run_dir, pause_at="1 1"):
    """A training process that stops mid-epoch (it sleeps until killed), holding its folder."""
    env = dict(os.environ, PYTHONPATH=str(HERE) + os.pathsep + os.environ.get("PYTHONPATH", ""), OMP_NUM_THREADS="1",
               GDL_TEST_PAUSE_AT=pause_at)
    proc = subprocess.Popen([sys.executable, str(SCRIPT), str(run_dir), "4"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=str(HERE))
    for line in proc.stdout:
        if line.strip() == f"STEP {pause_at}":
            return proc
    proc.wait(timeout=60)
    raise AssertionError(f"the training process ended before pausing: {proc.stderr.read()}")


@pytest.mark.slow
def test_a_live_run_refuses_a_second_resume_and_an_overwrite_and_a_kill_frees_it(tmp_path):
    run = tmp_path / "run"
    holder = _paused_run(run)  # epoch 1 finished (last.pt written), paused in epoch 2
    try:
        before = {name: (run / name).read_bytes() for name in ("config.yaml", "metrics.jsonl", "last.pt")}
        with pytest.raises(RunDirError, match=rf"in use by another training process \(pid {holder.pid}\)"):
            Trainer.resume(run, task=TINY)
        with pytest.raises(RunDirError, match=rf"in use by another training process \(pid {holder.pid}\)"):
            Trainer(tiny_config(), run_dir=run, task=TINY, overwrite=True)
        after = {name: (run / name).read_bytes() for name in before}
        assert after == before  # neither the refused resume nor the refused overwrite touched the run
        assert not (run / "overrides.jsonl").exists()
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=60)
    assert holder.returncode == -signal.SIGKILL
    results = Trainer.resume(run, task=TINY).fit()  # the kernel dropped the dead holder's lock
    assert results["epochs"] == 4
    assert RunLock(run).held  # finished: the lock was given back


def test_holders_in_one_process_share_the_lock_and_release_it(tmp_path):
    first, second = RunLock(tmp_path), RunLock(tmp_path)
    assert first.held and second.held
    first.release()
    code = "import sys; from gdl.train._run_dir import RunLock\ntry:\n    RunLock(sys.argv[1], wait_s=0)\nexcept Exception as e:\n    print(type(e).__name__, e)\n"
    other = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert f"RunDirError run folder {tmp_path} is in use by another training process (pid {os.getpid()})" in other.stdout
    second.release()
    other = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert other.stdout == "" and other.returncode == 0  # free once the last holder released it


def test_a_folder_that_does_not_exist_is_not_created_by_the_lock(tmp_path):
    lock = RunLock(tmp_path / "new")
    assert not lock.held and not (tmp_path / "new").exists()


def test_a_finished_run_gives_its_lock_back_in_process(tmp_path):
    Trainer(tiny_config(epochs=1), run_dir=tmp_path / "run", task=TINY).fit()
    code = "import sys; from gdl.train._run_dir import RunLock; print(RunLock(sys.argv[1], wait_s=0).held)"
    other = subprocess.run([sys.executable, "-c", code, str(tmp_path / "run")], capture_output=True, text=True, timeout=60)
    assert other.stdout.strip() == "True", other.stderr


def test_a_torn_last_metrics_line_is_skipped_with_a_warning(tmp_path):
    rows = [{"epoch": 1, "train_loss": 0.5}, {"epoch": 2, "train_loss": 0.25}]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"epoch": 3, "train_lo')
    with pytest.warns(UserWarning, match="torn last line"):
        assert read_metrics(tmp_path) == rows


def test_a_corrupt_metrics_line_in_the_middle_names_the_line(tmp_path):
    (tmp_path / "metrics.jsonl").write_text('{"epoch": 1}\n{"epoch": 2, oops}\n{"epoch": 3}\n')
    with pytest.raises(ValueError, match=r"metrics.jsonl, line 2: not a JSON object"):
        read_metrics(tmp_path)


def test_complete_metrics_are_read_without_a_warning(tmp_path, recwarn):
    (tmp_path / "metrics.jsonl").write_text('{"epoch": 1}\n\n{"epoch": 2}\n')
    assert read_metrics(tmp_path) == [{"epoch": 1}, {"epoch": 2}]
    assert not recwarn.list
