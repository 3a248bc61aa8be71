"""Resume restores every piece of the trainer's state, on the tiny task in-process (about a second each).

The fast counterpart of ``test_resume_all_options.py`` (which runs N-body and CSL): warm-up + cosine
schedule, EMA, gradient clipping, dropout (so the RNG stream matters), float64.

- right after ``Trainer.resume`` the epoch, learning rate, scheduler position, EMA shadow, Adam's
  moments, best metric/epoch, history, timers and the next torch/numpy/python draws equal the
  uninterrupted run's at that point; the continued run then ends bit for bit where it did;
- ``optimizer_step`` clips the gradient norm to ``grad_clip`` before the step and updates the EMA after it;
- ``Trainer.resume`` passes ``epochs``, ``overrides``, ``callbacks`` and ``datasets`` through;
- a checkpoint written before the timers existed resumes with the timers at zero.
"""
import json
import random

import numpy as np
import pytest
import torch

from gdl.train import Trainer, load_checkpoint, save_checkpoint
from gdl.train._trainer import move_batch
from tiny_train_task import TINY, datasets as tiny_datasets, tiny_config

OPTIONS = {"epochs": 4, "scheduler": {"name": "cosine", "warmup_epochs": 1, "min_lr": 1e-4},
           "ema_decay": 0.8, "grad_clip": 0.05}


def _draws():
    """The next torch, numpy and python random numbers, without consuming them."""
    torch_state, np_state, py_state = torch.get_rng_state(), np.random.get_state(), random.getstate()
    out = (torch.rand(3).tolist(), np.random.rand(3).tolist(), [random.random() for _ in range(3)])
    torch.set_rng_state(torch_state)
    np.random.set_state(np_state)
    random.setstate(py_state)
    return out


class _Snapshot:
    """The trainer's state at the end of epoch ``at`` (after last.pt is written); ``stop`` then crashes the run."""

    def __init__(self, at, stop=False):
        self.at, self.stop, self.state = at, stop, None

    def on_epoch_end(self, trainer, row):
        if row["epoch"] != self.at:
            return
        self.state = {
            "lr": trainer.optimizer.param_groups[0]["lr"],
            "last_epoch": trainer.scheduler.last_epoch,
            "ema": {k: v.clone() for k, v in trainer.ema.shadow.items()},
            "adam": [{k: v.clone() for k, v in s.items()} for s in trainer.optimizer.state.values()],
            "best": (trainer.best_metric, trainer.best_epoch),
            "history": [dict(row) for row in trainer.history],
            "timers": (trainer.train_seconds, trainer.monitor_seconds, trainer.train_cpu_seconds,
                       trainer.monitor_cpu_seconds),
            "draws": _draws(),
        }
        if self.stop:
            raise KeyboardInterrupt(f"stopped by the test after epoch {self.at}")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """An uninterrupted 4-epoch run and one crashed after epoch 2 (the same config), with snapshots."""
    root = tmp_path_factory.mktemp("resume_state")
    full = _Snapshot(at=2)
    results = Trainer(tiny_config(**OPTIONS), run_dir=root / "full", task=TINY, callbacks=[full]).fit()
    crash = _Snapshot(at=2, stop=True)
    with pytest.raises(KeyboardInterrupt):
        Trainer(tiny_config(**OPTIONS), run_dir=root / "part", task=TINY, callbacks=[crash]).fit()
    return {"root": root, "full": full.state, "crash": crash.state, "results": results}


def _strip(rows):
    return [{k: v for k, v in row.items() if not k.startswith("time")} for row in rows]


def _copy(runs, tmp_path):
    import shutil

    return shutil.copytree(runs["root"] / "part", tmp_path / "part")


def test_resume_restores_every_piece_of_state(runs, tmp_path):
    want = runs["full"]
    trainer = Trainer.resume(_copy(runs, tmp_path), task=TINY)  # nothing has run yet: only what resume restored
    assert trainer.epoch == 2
    assert trainer.optimizer.param_groups[0]["lr"] == want["lr"]
    assert trainer.scheduler.last_epoch == want["last_epoch"] == 2
    assert trainer._lr_factor(2) != trainer._lr_factor(0)  # the schedule really moved
    for key, value in want["ema"].items():
        assert torch.equal(trainer.ema.shadow[key], value), key
    weights = trainer.model.state_dict()
    assert any(not torch.equal(weights[k], want["ema"][k]) for k in want["ema"])  # the shadow is not the weights
    adam = list(trainer.optimizer.state.values())
    assert len(adam) == len(want["adam"]) > 0
    for got, expected in zip(adam, want["adam"]):
        assert got.keys() == expected.keys() and all(torch.equal(got[k], v) for k, v in expected.items())
    assert (trainer.best_metric, trainer.best_epoch) == want["best"] and want["best"][1] is not None
    assert trainer.history == runs["crash"]["history"] and len(trainer.history) == 2  # times included
    assert _strip(trainer.history) == _strip(want["history"])
    assert (trainer.train_seconds, trainer.monitor_seconds, trainer.train_cpu_seconds,
            trainer.monitor_cpu_seconds) == runs["crash"]["timers"]
    assert trainer.train_seconds > 0 and trainer.train_cpu_seconds > 0
    assert _draws() == want["draws"]
    logged = [json.loads(line) for line in (tmp_path / "part" / "metrics.jsonl").read_text().splitlines()]
    assert [row["epoch"] for row in logged] == [1, 2]
    assert not (tmp_path / "part" / "overrides.jsonl").exists()  # nothing was changed, nothing is logged


def test_resumed_run_ends_bit_for_bit_where_the_uninterrupted_one_did(runs, tmp_path):
    part = _copy(runs, tmp_path)
    results = Trainer.resume(part, task=TINY).fit()
    for key in ("test_metric", "val_metric", "test_loss", "best_epoch", "epochs"):
        assert results[key] == runs["results"][key], key
    full, got = load_checkpoint(runs["root"] / "full" / "last.pt"), load_checkpoint(part / "last.pt")
    for key in full["model"]:
        assert torch.equal(full["model"][key], got["model"][key]), key
    for key in full["ema"]["shadow"]:
        assert torch.equal(full["ema"]["shadow"][key], got["ema"]["shadow"][key]), key
    assert full["scheduler"]["last_epoch"] == got["scheduler"]["last_epoch"] == 4
    assert _strip(got["history"]) == _strip(full["history"])


def test_state_dict_holds_what_resume_needs(runs):
    state = load_checkpoint(runs["root"] / "part" / "last.pt")
    assert state["epoch"] == 2 and state["task"] == "tiny" and state["model_name"] == "tiny"
    assert state["config"]["ema_decay"] == 0.8 and state["config"]["scheduler"]["name"] == "cosine"
    assert state["best_epoch"] in (1, 2) and state["best_metric"] == min(r["val_mse"] for r in state["history"])
    assert [row["epoch"] for row in state["history"]] == [1, 2]
    assert state["ema"]["decay"] == 0.8
    assert state["train_seconds"] == runs["crash"]["timers"][0] > 0
    assert state["train_cpu_seconds"] == runs["crash"]["timers"][2] > 0
    assert state["monitor_seconds"] == runs["crash"]["timers"][1] == 0.0  # the monitor is off here
    assert set(state["rng"]) >= {"torch", "numpy", "python"}


def test_a_checkpoint_without_timers_resumes_with_them_at_zero(runs, tmp_path):
    part = _copy(runs, tmp_path)
    state = load_checkpoint(part / "last.pt")
    timers = ("train_seconds", "monitor_seconds", "train_cpu_seconds", "monitor_cpu_seconds")
    save_checkpoint(part / "last.pt", {k: v for k, v in state.items() if k not in timers + ("format",)})
    trainer = Trainer.resume(part, task=TINY)
    assert (trainer.train_seconds, trainer.monitor_seconds, trainer.train_cpu_seconds,
            trainer.monitor_cpu_seconds) == (0.0, 0.0, 0.0, 0.0)


def test_the_four_timers_continue_from_the_checkpoint(runs, tmp_path):
    part = _copy(runs, tmp_path)
    state = load_checkpoint(part / "last.pt")
    timers = {"train_seconds": 1.25, "monitor_seconds": 2.5, "train_cpu_seconds": 3.75, "monitor_cpu_seconds": 5.0}
    save_checkpoint(part / "last.pt", {**{k: v for k, v in state.items() if k != "format"}, **timers})
    trainer = Trainer.resume(part, task=TINY)
    assert {k: getattr(trainer, k) for k in timers} == timers


def test_resume_passes_epochs_overrides_callbacks_and_datasets_through(runs, tmp_path):
    part = _copy(runs, tmp_path)
    steps = []

    class Count:
        def on_step_end(self, trainer, epoch, step, loss):
            steps.append((epoch, step))

    small = tiny_datasets()
    small["test"] = small["test"][:8]
    trainer = Trainer.resume(part, epochs=3, overrides={"eval_every": 2}, task=TINY, callbacks=[Count()],
                             datasets=small)
    assert trainer.config.epochs == 3 and trainer.config.eval_every == 2
    assert len(trainer.splits["test"]) == 8
    rows = [json.loads(line) for line in (part / "overrides.jsonl").read_text().splitlines()]
    assert rows[-1]["changes"] == {"epochs": [4, 3], "eval_every": [1, 2]}
    results = trainer.fit()
    assert results["epochs"] == 3 and sorted({e for e, _ in steps}) == [2]
    assert len(steps) == 4  # 64 training items in batches of 16
    assert "val_mse" in trainer.history[-1]  # the last epoch is always evaluated


def test_optimizer_step_clips_the_gradient_norm_then_updates_the_ema(tmp_path):
    lr, clip, decay = 0.5, 1e-3, 0.75
    trainer = Trainer(tiny_config(epochs=1, grad_clip=clip, ema_decay=decay, optimizer={"name": "sgd", "lr": lr,
                                                                                         "momentum": 0.0}),
                      run_dir=tmp_path / "run", task=TINY)
    trainer.model.train()
    batch = move_batch(next(iter(trainer.train_loader)), trainer.device, trainer.dtype)
    trainer.compute_gradients(batch)
    grads = {n: p.grad.clone() for n, p in trainer.model.named_parameters()}
    norm = torch.sqrt(sum((g ** 2).sum() for g in grads.values()))
    assert norm > 10 * clip  # the clip acts
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    shadow = {k: v.clone() for k, v in trainer.ema.shadow.items()}
    trainer.optimizer_step()
    after = dict(trainer.model.named_parameters())
    scale = clip / (norm + 1e-6)  # torch's clip_grad_norm_ factor
    for name, g in grads.items():
        torch.testing.assert_close(after[name].detach(), before[name] - lr * scale * g, rtol=1e-12, atol=1e-15)
    for key, value in trainer.ema.shadow.items():
        live = trainer.model.state_dict()[key]
        torch.testing.assert_close(value, decay * shadow[key] + (1 - decay) * live, rtol=1e-12, atol=1e-15)
    assert any(not torch.equal(trainer.ema.shadow[k], shadow[k]) for k in shadow)


def test_optimizer_step_without_clip_takes_the_plain_step(tmp_path):
    lr = 0.5
    trainer = Trainer(tiny_config(epochs=1, optimizer={"name": "sgd", "lr": lr, "momentum": 0.0}),
                      run_dir=tmp_path / "run", task=TINY)
    assert trainer.ema is None
    trainer.model.train()
    batch = move_batch(next(iter(trainer.train_loader)), trainer.device, trainer.dtype)
    trainer.compute_gradients(batch)
    grads = {n: p.grad.clone() for n, p in trainer.model.named_parameters()}
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    trainer.optimizer_step()
    for name, p in trainer.model.named_parameters():
        torch.testing.assert_close(p.detach(), before[name] - lr * grads[name], rtol=1e-12, atol=1e-15)


def test_resume_may_switch_the_ema_off(runs, tmp_path):
    """``ema_decay`` may change on resume (``--set ema_decay=null``): the saved shadow is then unused."""
    part = _copy(runs, tmp_path)
    off = Trainer.resume(part, overrides={"ema_decay": None}, task=TINY)
    assert off.ema is None and off.epoch == 2
    assert off.fit()["epochs"] == 4


def test_an_ema_switched_on_at_resume_averages_from_the_resumed_weights(tmp_path):
    plain = tmp_path / "plain"
    Trainer(tiny_config(epochs=1), run_dir=plain, task=TINY).fit()
    on = Trainer.resume(plain, epochs=2, overrides={"ema_decay": 0.5}, task=TINY)
    weights = on.model.state_dict()
    assert on.ema is not None and all(torch.equal(on.ema.shadow[k], weights[k]) for k in on.ema.shadow)


def test_the_trainer_writes_the_four_timers_it_resumes_from(runs, tmp_path):
    part = _copy(runs, tmp_path)
    trainer = Trainer.resume(part, task=TINY)
    timers = {"train_seconds": 1.25, "monitor_seconds": 2.5, "train_cpu_seconds": 3.75, "monitor_cpu_seconds": 5.0}
    for name, value in timers.items():
        setattr(trainer, name, value)
    save_checkpoint(part / "last.pt", trainer.state_dict())  # what the trainer itself writes after an epoch
    again = Trainer.resume(part, task=TINY)
    assert {k: getattr(again, k) for k in timers} == timers
