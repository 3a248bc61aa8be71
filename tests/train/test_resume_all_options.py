"""Exact resume with every training option on, for N-body (EGNN) and CSL (GIN + random-walk PE).

Options: linear warm-up then a cosine schedule to ``min_lr``, EMA of the weights (evaluation and
the best checkpoint use it), gradient-norm clipping (tight enough to act on every step), the
equivariance monitor every epoch and the final report; float64, tiny sizes.

- ``test_kill9_mid_epoch_then_resume_equals_the_uninterrupted_run``: a run SIGKILLed in the
  middle of an epoch and resumed ends with the uninterrupted run's metrics, history, weights,
  EMA shadow and optimizer state, bit for bit.
- ``test_resume_restores_the_schedule_ema_optimizer_and_rng``: the state is RESTORED, not only
  saved: right after ``Trainer.resume`` the learning rate, the scheduler's position, the EMA
  shadow, Adam's moments and the next random draws equal the uninterrupted run's at that point.
"""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from gdl.train import Trainer, load_checkpoint

HERE = Path(__file__).resolve().parent
RUNNER = HERE / "resume_options_runner.py"
ROOT = HERE.parent.parent

COMMON = {
    "dtype": "float64", "progress": False, "seed": 5, "epochs": 4,
    "scheduler": {"name": "cosine", "warmup_epochs": 1, "min_lr": 1e-5},
    "ema_decay": 0.8, "grad_clip": 0.05,
    "equivariance": {"every": 1, "batches": 1, "elements": 2, "final": True, "final_batches": 1},
}
CONFIGS = {
    "nbody": {**COMMON, "task": "nbody", "model": "egnn", "batch_size": 4,
              "model_options": {"hidden_channels": 8, "num_layers": 2},
              "data": {"num_train": 16, "num_val": 8, "num_test": 8, "progress": False}},
    "csl": {**COMMON, "task": "csl", "model": "gin-rwpe", "batch_size": 30,
            "optimizer": {"lr": 1e-2},
            "model_options": {"hidden_channels": 8, "num_layers": 2, "pe_steps": 4}, "data": {"pe_steps": 4}},
}
KILL_AT = (2, 1)  # epoch index 2 (the third epoch), step 1: mid-epoch, after the warm-up


@pytest.fixture(scope="module")
def gdl_home(tmp_path_factory):
    """One dataset cache for the module, shared with the subprocesses."""
    home = tmp_path_factory.mktemp("gdl_home")
    old = os.environ.get("GDL_HOME")
    os.environ["GDL_HOME"] = str(home)
    yield home
    if old is None:
        os.environ.pop("GDL_HOME")
    else:
        os.environ["GDL_HOME"] = old


def _env(pause_at=None):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), str(ROOT), env.get("PYTHONPATH", "")])
    env.pop("GDL_TEST_PAUSE_AT", None)
    if pause_at:
        env["GDL_TEST_PAUSE_AT"] = pause_at
    return env


def _result(stdout):
    return json.loads([line for line in stdout.splitlines() if line.startswith("RESULT")][-1][len("RESULT "):])


def _history(run_dir):
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in row.items() if not k.startswith("time")} for row in rows]


def _assert_same_state(a, b):
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key
    for key in a["ema"]["shadow"]:
        assert torch.equal(a["ema"]["shadow"][key], b["ema"]["shadow"][key]), key
    for (ka, sa), (kb, sb) in zip(sorted(a["optimizer"]["state"].items()), sorted(b["optimizer"]["state"].items())):
        assert ka == kb and all(torch.equal(sa[k], sb[k]) for k in sa)
    assert a["optimizer"]["param_groups"][0]["lr"] == b["optimizer"]["param_groups"][0]["lr"]
    assert a["scheduler"]["last_epoch"] == b["scheduler"]["last_epoch"]


@pytest.mark.slow
@pytest.mark.parametrize("task", list(CONFIGS))
def test_kill9_mid_epoch_then_resume_equals_the_uninterrupted_run(task, tmp_path, gdl_home):
    config = CONFIGS[task]
    reference = Trainer(config, run_dir=tmp_path / "ref").fit()
    ref_history = _history(tmp_path / "ref")
    assert ref_history[0]["lr"] != ref_history[-1]["lr"]  # warm-up + cosine really change the lr
    assert all("equivariance_max" in row for row in ref_history)  # the monitor ran every epoch

    (tmp_path / "config.json").write_text(json.dumps(config))
    victim = subprocess.Popen([sys.executable, str(RUNNER), str(tmp_path / "config.json"), str(tmp_path / "killed")],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(HERE),
                              env=_env(pause_at="%d %d" % KILL_AT))
    killed = False
    for line in victim.stdout:
        if line.strip() == "STEP %d %d" % KILL_AT:
            os.kill(victim.pid, signal.SIGKILL)
            killed = True
            break
    victim.wait(timeout=120)
    assert killed and victim.returncode == -signal.SIGKILL, victim.stderr.read()
    assert load_checkpoint(tmp_path / "killed" / "last.pt")["epoch"] == KILL_AT[0]
    assert not (tmp_path / "killed" / "results.json").exists()

    resumed = subprocess.run([sys.executable, str(RUNNER), "resume", str(tmp_path / "killed")], capture_output=True,
                             text=True, cwd=str(HERE), env=_env(), timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    got = _result(resumed.stdout)
    for key in ("test_metric", "val_metric", "best_epoch", "test_loss"):
        assert got[key] == reference[key], (key, got[key], reference[key])  # bit for bit (repr round-trips)
    assert _history(tmp_path / "killed") == ref_history
    _assert_same_state(load_checkpoint(tmp_path / "ref" / "last.pt"), load_checkpoint(tmp_path / "killed" / "last.pt"))
    _assert_same_state(load_checkpoint(tmp_path / "ref" / "best.pt"), load_checkpoint(tmp_path / "killed" / "best.pt"))


class _Snapshot:
    """Records the trainer's state at the end of epoch ``at`` (after last.pt is written), then
    optionally stops the run there as a crash would."""

    def __init__(self, at, stop=False):
        self.at, self.stop, self.state = at, stop, None

    def on_epoch_end(self, trainer, row):
        if row["epoch"] != self.at:
            return
        self.state = {
            "lr": trainer.optimizer.param_groups[0]["lr"],
            "last_lr": list(trainer.scheduler.get_last_lr()),
            "last_epoch": trainer.scheduler.last_epoch,
            "ema": {k: v.clone() for k, v in trainer.ema.shadow.items()},
            "adam": {i: {k: v.clone() for k, v in s.items()} for i, s in enumerate(trainer.optimizer.state.values())},
            "draws": _draws(),
        }
        if self.stop:
            raise KeyboardInterrupt("stopped by the test after epoch %d" % self.at)


def _draws():
    """The next torch, numpy and python random numbers, without consuming them."""
    import random

    torch_state, np_state, py_state = torch.get_rng_state(), np.random.get_state(), random.getstate()
    out = (torch.rand(3).tolist(), np.random.rand(3).tolist(), [random.random() for _ in range(3)])
    torch.set_rng_state(torch_state)
    np.random.set_state(np_state)
    random.setstate(py_state)
    return out


@pytest.mark.parametrize("task", list(CONFIGS))
def test_resume_restores_the_schedule_ema_optimizer_and_rng(task, tmp_path, gdl_home):
    config = CONFIGS[task]
    full = _Snapshot(at=2)
    Trainer(config, run_dir=tmp_path / "full", callbacks=[full]).fit()

    crash = _Snapshot(at=2, stop=True)
    with pytest.raises(KeyboardInterrupt):
        Trainer(config, run_dir=tmp_path / "part", callbacks=[crash]).fit()
    trainer = Trainer.resume(tmp_path / "part")  # nothing has run yet: only what resume restored
    want = full.state
    assert trainer.epoch == 2
    assert trainer.optimizer.param_groups[0]["lr"] == want["lr"]
    assert trainer.scheduler.last_epoch == want["last_epoch"] == 2
    assert list(trainer.scheduler.get_last_lr()) == want["last_lr"]
    assert trainer._lr_factor(trainer.scheduler.last_epoch) * trainer.lr != trainer._lr_factor(0) * trainer.lr
    for key, value in want["ema"].items():
        assert torch.equal(trainer.ema.shadow[key], value), key
    fresh = {k: v for k, v in trainer.model.state_dict().items() if k in want["ema"]}
    assert any(not torch.equal(fresh[k], want["ema"][k]) for k in fresh)  # the shadow is not just the weights
    adam = {i: s for i, s in enumerate(trainer.optimizer.state.values())}
    assert adam.keys() == want["adam"].keys()
    for i, state in want["adam"].items():
        assert all(torch.equal(adam[i][k], v) for k, v in state.items())
    assert _draws() == want["draws"]

    # and the continued run ends where the uninterrupted one did
    results = trainer.fit()
    assert results["test_metric"] == json.loads((tmp_path / "full" / "results.json").read_text())["test_metric"]
    assert _history(tmp_path / "part") == _history(tmp_path / "full")
