"""A run SIGKILLed mid-epoch and resumed ends with exactly the metrics of an uninterrupted run (float64)."""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gdl.train import Trainer, load_checkpoint
from tiny_train_task import TINY, tiny_config

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "tiny_train_task.py"


def _run(args, pause_at=None, **kwargs):
    env = dict(os.environ, PYTHONPATH=str(HERE) + os.pathsep + os.environ.get("PYTHONPATH", ""), OMP_NUM_THREADS="1")
    env.pop("GDL_TEST_PAUSE_AT", None)
    if pause_at:
        env["GDL_TEST_PAUSE_AT"] = pause_at
    return subprocess.Popen([sys.executable, str(SCRIPT), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=str(HERE), **kwargs)


def _result(stdout: str):
    line = [l for l in stdout.splitlines() if l.startswith("RESULT")][-1]
    _, test, val, best = line.split()
    return float(test), float(val), int(best)


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_matches_uninterrupted(tmp_path):
    epochs = "4"
    # uninterrupted reference
    ref = _run([str(tmp_path / "ref"), epochs])
    out, err = ref.communicate(timeout=120)
    assert ref.returncode == 0, err
    reference = _result(out)

    # killed in the middle of epoch 3 (index 2), step 2 of 4
    victim = _run([str(tmp_path / "killed"), epochs], pause_at="2 2")  # waits there to be killed
    killed = False
    for line in victim.stdout:
        if line.strip() == "STEP 2 2":
            os.kill(victim.pid, signal.SIGKILL)
            killed = True
            break
    victim.wait(timeout=60)
    assert killed and victim.returncode == -signal.SIGKILL
    state = load_checkpoint(tmp_path / "killed" / "last.pt")
    assert state["epoch"] == 2  # two finished epochs survived; the third was mid-way
    assert not (tmp_path / "killed" / "results.json").exists()

    resumed = _run([str(tmp_path / "killed"), "resume"])
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert _result(out) == reference  # bit-identical floats (repr round-trips)

    a = [json.loads(l) for l in (tmp_path / "ref" / "metrics.jsonl").read_text().splitlines()]
    b = [json.loads(l) for l in (tmp_path / "killed" / "metrics.jsonl").read_text().splitlines()]
    strip = lambda rows: [{k: v for k, v in r.items() if not k.startswith("time")} for r in rows]
    assert strip(a) == strip(b)


def test_resume_in_process_continues_and_extends(tmp_path):
    full = Trainer(tiny_config(epochs=4), run_dir=tmp_path / "full", task=TINY).fit()
    Trainer(tiny_config(epochs=2), run_dir=tmp_path / "part", task=TINY).fit()
    # the 2-epoch run finished; resume it with more epochs: same trajectory as the 4-epoch run
    resumed = Trainer.resume(tmp_path / "part", epochs=4, task=TINY).fit()
    assert resumed["epochs"] == 4
    # a 2-epoch config has no cosine/step schedule, so extending is exact here
    assert resumed["test_metric"] == full["test_metric"]
    params_full = load_checkpoint(tmp_path / "full" / "last.pt")["model"]
    params_res = load_checkpoint(tmp_path / "part" / "last.pt")["model"]
    for k in params_full:
        assert torch.equal(params_full[k], params_res[k])


def test_same_seed_same_numbers_different_seed_different(tmp_path):
    a = Trainer(tiny_config(), run_dir=tmp_path / "a", task=TINY).fit()
    b = Trainer(tiny_config(), run_dir=tmp_path / "b", task=TINY).fit()
    c = Trainer(tiny_config(seed=4), run_dir=tmp_path / "c", task=TINY).fit()
    assert a["test_metric"] == b["test_metric"]
    assert a["test_metric"] != c["test_metric"]
