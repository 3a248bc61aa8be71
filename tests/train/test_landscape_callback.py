"""The trainer's landscape callback (``landscape:`` config section): logged numbers, independence from training, resume."""
import json
import shutil

import pytest
import torch
from torch_geometric.loader import DataLoader

from gdl.thermo import Objective
from gdl.thermo import landscape as L
from gdl.train import ConfigError, Trainer, load_checkpoint, read_metrics
from gdl.thermo.llc import local_learning_coefficient
from gdl.train._landscape_callback import STREAM_LANCZOS, STREAM_LLC, STREAM_TRACE, llc_enabled, stream_generator
from gdl.train._trainer import move_batch
from tiny_train_task import TINY, TinyEquivariantModel, tiny_config

LLC = {"n_chains": 2, "n_steps": 20, "n_burnin": 10, "step_size": 1e-4, "gamma": 100.0}
LANDSCAPE = {"every": 1, "batches": 2, "top_k": 2, "lanczos_iterations": 30, "trace_probes": 4, "seed": 5, "llc": LLC}


def _strip(rows, prefixes=("time",)):
    return [{k: v for k, v in r.items() if not k.startswith(prefixes) and k != "landscape_cost_fraction"} for r in rows]


@pytest.fixture(scope="module")
def two_epoch_run(tmp_path_factory):
    """A 2-epoch tiny run with the callback on at every epoch (shared: the resume test continues a copy)."""
    run_dir = tmp_path_factory.mktemp("landscape") / "run"
    Trainer(tiny_config(epochs=2, landscape=LANDSCAPE), run_dir=run_dir, task=TINY).fit()
    return run_dir


def test_logged_numbers_equal_the_standalone_functions_on_the_checkpoint(two_epoch_run):
    tmp_path = two_epoch_run
    rows = read_metrics(tmp_path)
    row = rows[-1]
    for key in ("landscape_lambda_max", "landscape_lambda_2", "landscape_trace", "landscape_trace_se",
                "landscape_noise_scale", "landscape_sgd_temperature", "landscape_loss", "landscape_weight_norm",
                "landscape_llc", "landscape_llc_se", "time_landscape_s", "landscape_cost_fraction"):
        assert key in row and key in rows[0], key
    assert (tmp_path / "landscape.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((tmp_path / "results.json").read_text())["landscape_seconds"] > 0

    # the same checkpoint (epoch 2's last.pt), the same batches, the same generators → the same numbers
    model = TinyEquivariantModel().double()
    model.load_state_dict(load_checkpoint(tmp_path / "last.pt")["model"])
    model.eval()
    loader = DataLoader(TINY.datasets()["train"], batch_size=16, shuffle=False)
    batches = [move_batch(b, torch.device("cpu"), torch.float64) for b, _ in zip(loader, range(2))]
    objective = Objective.from_task(TINY, model, batches)
    first = Objective.from_task(TINY, model, batches[:1])  # hessian_batches: 1 (the default)
    eig = L.top_hessian_eigenvalues(first, k=2, max_iterations=30, tol=1e-3, generator=stream_generator(5, 2, STREAM_LANCZOS))
    trace = L.hutchinson_trace(first, n_probes=4, generator=stream_generator(5, 2, STREAM_TRACE))
    noise = L.gradient_noise_scale(objective)
    assert row["landscape_lambda_max"] == pytest.approx(float(eig.eigenvalues[0]), rel=1e-12)
    assert row["landscape_lambda_2"] == pytest.approx(float(eig.eigenvalues[1]), rel=1e-12)
    assert row["landscape_trace"] == pytest.approx(trace.value, rel=1e-12)
    assert row["landscape_trace_se"] == pytest.approx(trace.standard_error, rel=1e-12)
    assert row["landscape_noise_scale"] == pytest.approx(noise.b_simple, rel=1e-10)
    assert row["landscape_loss"] == pytest.approx(float(objective.loss()), rel=1e-14)
    assert row["landscape_sgd_temperature"] == pytest.approx(row["lr"] / 16, rel=1e-14)
    llc = local_learning_coefficient(objective, generator=stream_generator(5, 2, STREAM_LLC), **LLC)
    assert row["landscape_llc"] == pytest.approx(llc.llc, rel=1e-12)
    assert row["landscape_llc_se"] == pytest.approx(llc.llc_std_error, rel=1e-12)
    # Lanczos at the full Krylov dimension agrees with the dense spectrum of this 82-parameter model
    dense = torch.linalg.eigvalsh(L.dense_hessian(first))
    assert row["landscape_lambda_max"] == pytest.approx(float(dense[-1]), rel=1e-3)


def test_enabling_the_callback_leaves_training_unchanged_and_resume_exact(tmp_path, two_epoch_run):
    plain = Trainer(tiny_config(epochs=3), run_dir=tmp_path / "plain", task=TINY).fit()
    measured = Trainer(tiny_config(epochs=3, landscape=LANDSCAPE), run_dir=tmp_path / "on", task=TINY).fit()
    assert measured["test_metric"] == plain["test_metric"]  # bit-identical: dropout's RNG stream untouched
    strip_landscape = lambda rows: [{k: v for k, v in r.items() if not k.startswith(("time", "landscape"))} for r in rows]
    assert strip_landscape(read_metrics(tmp_path / "on")) == strip_landscape(read_metrics(tmp_path / "plain"))
    a, b = load_checkpoint(tmp_path / "plain" / "last.pt")["model"], load_checkpoint(tmp_path / "on" / "last.pt")["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)

    shutil.copytree(two_epoch_run, tmp_path / "part")
    resumed = Trainer.resume(tmp_path / "part", epochs=3, task=TINY).fit()
    assert resumed["test_metric"] == measured["test_metric"]
    assert _strip(read_metrics(tmp_path / "part")) == _strip(read_metrics(tmp_path / "on"))  # landscape numbers too


def test_every_k_epochs_and_bad_configs(tmp_path):
    Trainer(tiny_config(epochs=4, landscape={"every": 2, "noise_scale": False, "batches": 1, "trace_probes": 0,
                                             "plot": False}), run_dir=tmp_path, task=TINY).fit()
    rows = read_metrics(tmp_path)
    assert ["landscape_lambda_max" in r for r in rows] == [False, True, False, True]
    assert not any("landscape_trace" in r or "landscape_noise_scale" in r for r in rows)
    assert not (tmp_path / "landscape.png").exists()
    with pytest.raises(ConfigError, match="trace_probes must be 0"):
        Trainer(tiny_config(landscape={"every": 1, "trace_probes": 1}), run_dir=tmp_path / "a", task=TINY)
    with pytest.raises(ConfigError, match="unknown config key 'landscape.probes'"):
        Trainer(tiny_config(landscape={"every": 1, "probes": 4}), run_dir=tmp_path / "b", task=TINY)
    with pytest.raises(ConfigError, match="needs landscape.batches ≥ 2"):
        Trainer(tiny_config(landscape={"every": 1, "batches": 1}), run_dir=tmp_path / "c", task=TINY)
    assert llc_enabled({"enabled": True}) and llc_enabled({"n_steps": 5})
    assert not llc_enabled({}) and not llc_enabled({"enabled": False, "n_steps": 5})
    with pytest.raises(ConfigError, match="unknown key 'n_step' in landscape.llc"):
        Trainer(tiny_config(landscape={"every": 1, "llc": {"n_step": 5}}), run_dir=tmp_path / "e", task=TINY)
    with pytest.raises(ConfigError, match="needs ≥ 2 training batches of 64"):
        Trainer(tiny_config(landscape={"every": 1, "batch_size": 64}), run_dir=tmp_path / "d", task=TINY)
