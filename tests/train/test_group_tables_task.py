"""The ``group_tables`` task: registered with the trainer, trains a few epochs on S_3, refuses mismatched groups."""
import math

import pytest
import torch

from gdl.models import GroupMLP
from gdl.train import Trainer, get_task


def test_the_task_is_registered_with_its_recipe():
    task = get_task("group_tables")
    assert task.metric.name == "accuracy" and task.metric.higher_is_better and not task.check_equivariance
    spec = task.model_spec("mlp")
    assert spec.weight_decay == 1.0 and spec.lr == 1e-3 and spec.defaults["optimizer"]["name"] == "adamw"
    splits = task.build_datasets(options={"group": "C5", "train_fraction": 0.6})
    assert [len(splits[k]) for k in ("train", "val", "test")] == [15, 5, 5]


def test_a_few_full_batch_epochs_on_s3_fit_the_training_pairs(tmp_path):
    config = {"task": "group_tables", "epochs": 20, "batch_size": 18, "progress": False, "seed": 0,
              "data": {"group": "S3", "train_fraction": 0.5},
              "model_options": {"group": "S3", "embed_dim": 8, "hidden_channels": 32},
              "optimizer": {"lr": 3e-2}}
    trainer = Trainer(config, run_dir=tmp_path / "run")
    results = trainer.fit()
    history = trainer.history
    assert history[-1]["train_loss"] < 0.5 * history[0]["train_loss"]
    assert history[-1]["train_accuracy"] == 1.0, history[-1]  # the 18 training pairs are memorised
    assert 0.0 <= results["test_metric"] <= 1.0 and math.isfinite(results["test_loss"])
    assert results["n_parameters"] == sum(p.numel() for p in GroupMLP(6, 8, 32).parameters())


def test_a_model_for_a_smaller_group_is_refused(tmp_path):
    config = {"task": "group_tables", "epochs": 1, "batch_size": 18, "progress": False,
              "data": {"group": "S3"}, "model_options": {"group": "C5"}}
    with pytest.raises(ValueError, match="outside \\[0, 5\\)|model_options.group must name the same group"):
        Trainer(config, run_dir=tmp_path / "run").fit()


def test_group_mlp_inputs():
    model = GroupMLP(5, embed_dim=4, hidden_channels=8)
    pairs = torch.tensor([[0, 1], [4, 3]])
    assert torch.equal(model(pairs), model({"a": pairs[:, 0], "b": pairs[:, 1]}))
    assert model(pairs).shape == (2, 5)
    with pytest.raises(KeyError, match="keys 'a' and 'b'"):
        model({"x": pairs})
    with pytest.raises(TypeError, match="1-D integer tensor"):
        model({"a": pairs[:, 0].float(), "b": pairs[:, 1]})
    with pytest.raises(ValueError, match="outside \\[0, 5\\)"):
        model(torch.tensor([[0, 5]]))
    with pytest.raises(ValueError, match="group_order must be a positive integer"):
        GroupMLP(0)
