"""Bad values get clear errors before training starts; `gdl results` skips unfinished runs, names a corrupt
results.json and warns about repeated seeds; EGNN on coordinates ×1e12 raises instead of returning NaN."""
import json
import shutil

import pytest
import torch

from gdl.cli import main
from gdl.train import ConfigError, Trainer, get_task, register_task
from tiny_train_task import TINY, tiny_config


@pytest.mark.parametrize("override, message", [
    ({"scheduler": {"name": "step", "step_size": 0}}, "scheduler.step_size must be ≥ 1 epoch"),
    ({"scheduler": {"gamma": 0.0}}, "scheduler.gamma must be > 0"),
    ({"seed": 2**63}, "seed must be in [0, 2**63)"),
    ({"seed": -1}, "seed must be in [0, 2**63)"),
    ({"equivariance": {"batches": 0}}, "equivariance.batches must be ≥ 1 (with 0 nothing would be checked"),
    ({"equivariance": {"final_batches": 0}}, "equivariance.final_batches must be ≥ 1"),
    ({"equivariance": {"tolerance": 0.0}}, "equivariance.tolerance must be > 0"),
    ({"eval_batch_size": 0}, "eval_batch_size must be ≥ 1"),
])
def test_bad_values_are_refused_before_anything_is_written(tmp_path, override, message):
    with pytest.raises(ConfigError) as info:
        Trainer(tiny_config(**override), run_dir=tmp_path / "run", task=TINY)
    assert message in str(info.value)
    assert not (tmp_path / "run").exists()


def test_unknown_model_option_behind_kwargs_is_a_config_error_naming_the_valid_keys(tmp_path, monkeypatch):
    monkeypatch.setenv("GDL_HOME", str(tmp_path / "home"))
    nbody = get_task("nbody")
    with pytest.raises(ConfigError) as info:  # EGNN(**conv_options) → EGNNConv: was a TypeError from EGNNConv.__init__
        nbody.build_model("egnn", {"hidden": 8})
    message = str(info.value)
    assert "unknown key 'hidden'" in message and "did you mean 'hidden_channels'" in message
    assert "coords_clamp" in message and "num_layers" in message  # the layer's options are valid keys too
    assert "edge_channels" not in message.split("valid keys:")[1]  # … except those the model fixes itself
    model = nbody.build_model("egnn", {"hidden_channels": 8, "num_layers": 1, "tanh": True})
    assert model.layers[0].tanh and model.hidden_channels == 8
    with pytest.raises(ConfigError, match="unknown key 'hidden'"):
        Trainer({"task": "nbody", "model": "egnn", "model_options": {"hidden": 8}, "progress": False},
                run_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists() and not (tmp_path / "home").exists()  # refused before data and folder


def test_a_kwargs_chain_that_cannot_be_followed_still_names_the_key(tmp_path):
    from gdl.train import ModelSpec, Task

    def opaque(**options):  # forwards to a callee chosen at run time: not followable statically
        factories = {"tiny": TINY.models["tiny"].factory}
        return factories["tiny"](**options)

    task = Task(name="opaque", description="", datasets=TINY.datasets, models={"m": ModelSpec(opaque)},
                loss=TINY.loss, metric=TINY.metric)
    with pytest.raises(ConfigError, match="unknown key 'hiden' in model_options for opaque/m"):
        task.build_model("m", {"hiden": 3})


def test_cli_reports_bad_values_as_user_errors(capsys, tmp_path):
    register_task(TINY, overwrite=True)
    code = main(["train", "tiny", "--run-dir", str(tmp_path / "r"), "--set", "scheduler.step_size=0"])
    assert code == 2 and "scheduler.step_size must be ≥ 1" in capsys.readouterr().err
    code = main(["train", "nbody", "--run-dir", str(tmp_path / "r"), "--set", "model_options.hidden=8"])
    assert code == 2 and "unknown key 'hidden'" in capsys.readouterr().err


def test_monitor_refuses_an_empty_batch_list():
    from gdl.train import EquivarianceMonitor
    from gdl.train._config import EquivarianceConfig

    monitor = EquivarianceMonitor(TINY, EquivarianceConfig(), "float64")
    with pytest.raises(ValueError, match="no batches to check"):
        monitor.check(TINY.models["tiny"].factory(), [])


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("results")
    for seed in (1, 2):
        Trainer(tiny_config(epochs=1, seed=seed), run_dir=base / f"s{seed}", task=TINY).fit()
    return base


def test_results_skips_unfinished_runs_with_a_note(two_runs, tmp_path, capsys):
    unfinished = tmp_path / "unfinished"
    Trainer(tiny_config(epochs=1), run_dir=unfinished, task=TINY)  # started, never finished
    code = main(["results", str(two_runs / "s1"), str(unfinished), str(two_runs / "s2")])
    out, err = capsys.readouterr()
    assert code == 0
    assert f"note: skipped {unfinished}: no results.json (unfinished run)" in err
    assert "| tiny | tiny | 1 | 2 |" in out  # the two finished runs are summarised


def test_results_names_a_corrupt_results_json(two_runs, tmp_path, capsys):
    broken = tmp_path / "broken"
    shutil.copytree(two_runs / "s2", broken)
    (broken / "results.json").write_text('{"task": "tiny", "model": ')  # torn
    code = main(["results", str(two_runs / "s1"), str(broken)])
    out, err = capsys.readouterr()
    assert code == 1  # the table is printed, the damage is not hidden
    assert f"{broken / 'results.json'} is corrupt (JSONDecodeError" in err
    assert "| tiny | tiny | 1 | 1 |" in out
    (broken / "results.json").write_text(json.dumps({"task": "tiny"}))
    assert main(["results", str(broken)]) == 2
    assert "missing keys model, epochs" in capsys.readouterr().err


def test_results_warns_when_runs_share_a_seed(two_runs, tmp_path, capsys):
    again = tmp_path / "again"
    shutil.copytree(two_runs / "s1", again)
    code = main(["results", str(two_runs / "s1"), str(again), str(two_runs / "s2")])
    err = capsys.readouterr().err
    assert code == 0
    assert "warning: 2 runs of tiny/tiny (1 epochs) share seed 1" in err and str(again) in err


def test_egnn_on_huge_coordinates_raises_naming_the_scale_instead_of_returning_nan(tmp_path):
    from torch_geometric.data import Batch, Data

    from gdl.nn.graph._egnn_conv import check_finite_positions
    from gdl.nn.graph.builders import fully_connected_graph

    torch.manual_seed(0)
    model = get_task("nbody").build_model("egnn")
    edge_index = fully_connected_graph(5)
    graphs = [Data(pos=torch.randn(5, 3), vel=torch.randn(5, 3), charges=torch.ones(5, 1), edge_index=edge_index)
              for _ in range(4)]
    batch = Batch.from_data_list(graphs)
    assert torch.isfinite(model(batch)).all()
    batch.pos = batch.pos * 1e12
    with pytest.raises(FloatingPointError) as info:
        model(batch)
    message = str(info.value)
    assert "EGNN: the output positions are not finite" in message and "|x| = " in message and "e+12" in message
    assert "Rescale the coordinates" in message
    batch.pos = batch.pos * 1e-3  # 1e9: large but representable — a finite output, no false alarm
    assert torch.isfinite(model(batch)).all()
    finite = torch.ones(5, 3)
    check_finite_positions(finite, finite)  # the layer's check passes finite output …
    with pytest.raises(FloatingPointError, match="EGNNConv: the input positions or velocities contain NaN"):
        check_finite_positions(finite * float("nan"), finite * float("inf"))  # … and names non-finite inputs
