"""EquivarianceMonitor: logs errors per output during training, warns or stops, final test-set report."""
import json

import pytest

from gdl.train import Trainer, read_metrics
from tiny_train_task import TINY, tiny_config


def test_monitor_logs_equivariance_of_an_equivariant_model(tmp_path):
    results = Trainer(tiny_config(equivariance={"every": 1, "final": True}), run_dir=tmp_path, task=TINY).fit()
    rows = read_metrics(tmp_path)
    assert len(rows) == 3
    for row in rows:  # float64: E(3) and permutation errors at rounding level
        assert 0 <= row["equivariance_max"] < 1e-12
        assert row["equivariance_max/E(3)"] < 1e-12 and row["equivariance_max/node permutation"] == 0.0
    eq = results["equivariance"]
    assert eq["max"] < 1e-12 and eq["symmetry"] == "E(3), node permutation"
    assert eq["metric_relative_difference"] < 1e-12
    assert "within the tolerance" in (tmp_path / "results.md").read_text()


def test_broken_model_warns_and_the_report_shows_it(tmp_path, capsys):
    config = tiny_config(model="broken", progress=True, equivariance={"every": 1, "final": True})
    results = Trainer(config, run_dir=tmp_path, task=TINY).fit()
    err = capsys.readouterr().err
    assert "warning: equivariance error" in err and "exceeds tolerance" in err
    eq = results["equivariance"]
    assert eq["per_symmetry"]["E(3)"] > 1e-3 and eq["per_symmetry"]["node permutation"] == 0.0
    assert eq["metric_relative_difference"] > 1e-4  # the metric moves on transformed test data
    assert results["epochs"] == 3 and "ABOVE the tolerance" in (tmp_path / "results.md").read_text()


def test_action_stop_ends_the_run_at_the_first_check(tmp_path):
    config = tiny_config(model="broken", equivariance={"every": 2, "action": "stop", "final": False})
    results = Trainer(config, run_dir=tmp_path, task=TINY).fit()
    assert "stopped" in results and "exceeds tolerance" in results["stopped"]
    assert results["epochs"] == 2  # stopped after the check at epoch 2 (of 3)
    assert json.loads((tmp_path / "results.json").read_text())["epochs"] == 2


def test_monitor_does_not_change_the_training_trajectory(tmp_path):
    off = Trainer(tiny_config(), run_dir=tmp_path / "off", task=TINY).fit()
    on = Trainer(tiny_config(equivariance={"every": 1}), run_dir=tmp_path / "on", task=TINY).fit()
    assert on["test_metric"] == off["test_metric"]
    assert on["monitor_seconds"] > 0 and off["monitor_seconds"] == 0


def test_a_baseline_that_breaks_a_symmetry_by_design_is_measured_not_enforced(tmp_path, capsys):
    config = tiny_config(model="baseline", progress=True, equivariance={"every": 1, "action": "stop", "final": True})
    results = Trainer(config, run_dir=tmp_path, task=TINY).fit()
    assert "stopped" not in results and results["epochs"] == 3  # E(3) is not enforced for this model…
    assert "warning" not in capsys.readouterr().err
    assert read_metrics(tmp_path)[0]["equivariance_max/E(3)"] > 1e-3  # …but measured and logged
    table = (tmp_path / "results.md").read_text()
    assert "breaks E(3) by design" in table and "over node permutation 0 is within" in table


def test_results_table_judges_each_tolerance_class_against_its_own_bound():
    from gdl.train._report import results_markdown

    eq = {"symmetry": "sphere", "elements": 2, "batches": 1, "tolerance": 1e-4,
          "per_output": {"logits": {"max": 0.3, "mean": 0.1}},
          "per_symmetry": {"longitude shift": 2e-3, "SO(3) (interpolated)": 0.3},
          "tolerances": {"longitude shift": 1e-3, "SO(3) (interpolated)": 0.5}}
    results = {"task": "t", "model": "m", "seed": 0, "epochs": 1, "best_epoch": 1, "dtype": "float32", "device": "cpu",
               "metric": "accuracy", "test_metric": 0.9, "val_metric": 0.9, "test_loss": 0.1,
               "published": {}, "published_self": None, "equivariance": eq}
    table = results_markdown(results)
    lines = table.splitlines()
    assert any(l.startswith("- longitude shift: max error") and l.endswith("is ABOVE its class bound 1e-03.") for l in lines)
    assert any(l.startswith("- SO(3) (interpolated): max error") and l.endswith("is within its class bound 5e-01.") for l in lines)
    assert "the tolerance 1e-04" not in table  # the single bound would call the 0.3 error ABOVE: not used
