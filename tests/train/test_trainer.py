"""Trainer: run folder contents, best-val selection, optimizer/scheduler/EMA/clipping options, bad input."""
import json
import math

import pytest
import torch
import yaml

from gdl.train import ConfigError, Trainer, UnknownNameError, load_checkpoint, read_metrics, train
from tiny_train_task import TINY, tiny_config


def test_run_folder_has_everything(tmp_path):
    results = Trainer(tiny_config(equivariance={"every": 1, "final": True}), run_dir=tmp_path, task=TINY).fit()
    for name in ("config.yaml", "metrics.jsonl", "last.pt", "best.pt", "loss.png", "metric.png", "equivariance.png",
                 "results.md", "results.json"):
        assert (tmp_path / name).stat().st_size > 0, name
    assert yaml.safe_load((tmp_path / "config.yaml").read_text())["task"] == "tiny"
    assert (tmp_path / "loss.png").read_bytes()[:4] == b"\x89PNG"
    table = (tmp_path / "results.md").read_text()
    assert "| **gdl tiny** |" in table and "made up for tests" in table and "max relative error" in table
    assert json.loads((tmp_path / "results.json").read_text())["test_metric"] == results["test_metric"]


def test_test_metric_is_taken_at_the_best_validation_epoch(tmp_path):
    results = Trainer(tiny_config(epochs=6, optimizer={"lr": 0.2}), run_dir=tmp_path, task=TINY).fit()
    rows = read_metrics(tmp_path)
    vals = [r["val_mse"] for r in rows]
    best = min(range(len(vals)), key=vals.__getitem__)
    assert results["best_epoch"] == best + 1
    assert results["val_metric"] == pytest.approx(vals[best], rel=1e-12)
    assert load_checkpoint(tmp_path / "best.pt")["epoch"] == best + 1


def test_eval_every_skips_validation(tmp_path):
    Trainer(tiny_config(epochs=4, eval_every=2), run_dir=tmp_path, task=TINY).fit()
    rows = read_metrics(tmp_path)
    assert ["val_mse" in r for r in rows] == [False, True, False, True]


def test_cosine_schedule_warmup_grad_clip_and_ema(tmp_path):
    config = tiny_config(epochs=4, scheduler={"name": "cosine", "warmup_epochs": 1, "min_lr": 1e-4},
                         optimizer={"name": "adamw", "lr": 1e-2, "weight_decay": 1e-3}, grad_clip=0.5, ema_decay=0.5)
    trainer = Trainer(config, run_dir=tmp_path, task=TINY)
    assert isinstance(trainer.optimizer, torch.optim.AdamW)
    results = trainer.fit()
    lrs = [r["lr"] for r in read_metrics(tmp_path)]
    assert lrs[0] > lrs[1] > lrs[2] > lrs[3] >= 1e-4  # warm-up done after epoch 1, then cosine decay
    assert math.isfinite(results["test_metric"])
    state = load_checkpoint(tmp_path / "last.pt")
    ema, raw = state["ema"]["shadow"], state["model"]
    assert any(not torch.equal(ema[k], raw[k]) for k in raw)  # the average differs from the raw weights


def test_grad_clip_bounds_the_gradient_norm(tmp_path):
    trainer = Trainer(tiny_config(grad_clip=1e-3), run_dir=tmp_path, task=TINY)
    from gdl.train._trainer import move_batch

    batch = move_batch(next(iter(trainer.train_loader)), trainer.device, trainer.dtype)
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    trainer.compute_gradients(batch)
    trainer.optimizer_step()
    norm = torch.sqrt(sum(p.grad.pow(2).sum() for p in trainer.model.parameters()))
    assert norm <= 1e-3 * (1 + 1e-9)
    assert any(not torch.equal(before[n], p) for n, p in trainer.model.named_parameters())


def test_unknown_task_and_model_list_the_valid_ones():
    with pytest.raises(UnknownNameError, match="unknown task 'nbdy'.*did you mean 'nbody'.*valid tasks: "):
        Trainer({"task": "nbdy"})
    with pytest.raises(UnknownNameError, match="unknown model 'egn'.*valid models: egnn, segnn, tfn, gnn, linear"):
        Trainer({"task": "nbody", "model": "egn"})


def test_bad_input_errors(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="larger than the training split"):
        Trainer(tiny_config(batch_size=1000), run_dir=tmp_path / "a", task=TINY)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # the trainer, not the test, must raise
    with pytest.raises(ConfigError, match="device 'cuda' requested but CUDA is not available"):
        Trainer(tiny_config(device="cuda"), run_dir=tmp_path / "b", task=TINY)
    with pytest.raises(ValueError, match="the val split is empty"):
        Trainer(tiny_config(data={"n_val": 0}), run_dir=tmp_path / "c", task=TINY)


def test_non_finite_loss_stops_with_a_clear_error(tmp_path):
    trainer = Trainer(tiny_config(optimizer={"lr": 1e30, "name": "sgd"}, epochs=5), run_dir=tmp_path, task=TINY)
    with pytest.raises(FloatingPointError, match="non-finite training loss"):
        trainer.fit()


def test_train_function(tmp_path):
    results = train(TINY, "tiny", run_dir=tmp_path, **{k: v for k, v in tiny_config(epochs=1).items() if k not in ("task", "model")})
    assert results["epochs"] == 1 and results["model"] == "tiny"
