"""Task emt_clusters: a run trains on energies + forces, the monitor checks energy and forces, the force
loss is twice differentiable (gradients match finite differences), errors are named."""
import math

import pytest
import torch

ase = pytest.importorskip("ase")
from torch_geometric.data import Batch  # noqa: E402

from gdl.testing import check_equivariance, default_dtype  # noqa: E402
from gdl.train import get_task, train  # noqa: E402
from gdl.train._trainer import detach_outputs  # noqa: E402
from gdl.train.tasks.emt_clusters import (  # noqa: E402
    emt_datasets,
    emt_symmetry,
    energy_force_loss,
    energy_mae_per_atom_sum,
    force_component_mae_sum,
    force_mae_sum,
)

TINY = dict(clusters=["Cu13"], temperatures=[500.0], replicas_train=2, replicas_val=1, replicas_test=1, frames=3,
            record_every=4, equilibration_steps=6)
SMALL_MODEL = dict(hidden_channels=8, num_layers=1, num_radial=6)


def test_task_trains_and_the_monitor_checks_energy_and_forces(tmp_path):
    results = train("emt_clusters", run_dir=tmp_path / "run", epochs=1, batch_size=3, progress=False, dtype="float64",
                    data_root=str(tmp_path / "cache"), data=TINY, model_options=SMALL_MODEL,
                    equivariance={"every": 1, "batches": 1, "elements": 2, "final_batches": 1})
    assert results["metric"] == "force_mae" and math.isfinite(results["test_metric"]) and results["test_metric"] > 0
    eq = results["equivariance"]
    assert set(eq["per_output"]) == {"energy", "forces"}
    assert eq["max"] <= 1e-10  # float64: invariant energy, equivariant forces (E(3) and node permutations)
    assert set(eq["per_symmetry"]) == {"E(3)", "node permutation"} or len(eq["per_symmetry"]) == 2
    assert eq["metric_relative_difference"] <= 1e-10  # force error lengths are rotation invariant


def small_model():
    with default_dtype(torch.float64):
        return get_task("emt_clusters").build_model("egnn", SMALL_MODEL)


def a_batch(tmp_path, count=3):
    train_split = emt_datasets(str(tmp_path), **TINY)["train"]
    return Batch.from_data_list([train_split[i] for i in range(count)])


def test_force_loss_gradient_matches_finite_differences(tmp_path):
    torch.manual_seed(0)
    model, batch = small_model(), a_batch(tmp_path)
    model.train()  # forces keep their graph: the loss is differentiated through F = −∂E/∂x
    parameter = model.model.readout[0].weight
    loss = energy_force_loss(model(batch), batch)
    (grad,) = torch.autograd.grad(loss, parameter)
    h = 1e-6
    for index in [(0, 0), (3, 5)]:
        with torch.no_grad():
            parameter[index] += h
            up = energy_force_loss(model(batch), batch)
            parameter[index] -= 2 * h
            down = energy_force_loss(model(batch), batch)
            parameter[index] += h
        assert float(grad[index]) == pytest.approx(float((up - down) / (2 * h)), rel=1e-5, abs=1e-9)


def test_a_few_steps_on_one_batch_reduce_the_loss(tmp_path):
    torch.manual_seed(1)
    model, batch = small_model(), a_batch(tmp_path)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    losses = []
    for _ in range(20):
        optimizer.zero_grad()
        loss = energy_force_loss(model(batch), batch)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_model_is_checked_by_gdl_testing_in_float64(tmp_path):
    model, batch = small_model(), a_batch(tmp_path, count=2)
    model.eval()
    report = check_equivariance(model, batch, symmetry=emt_symmetry(model), n_random=2, n_grid=0)
    assert report.passed and report.max_error <= 1e-10


def test_metrics_and_errors():
    from torch_geometric.data import Data

    batch = Data(pos=torch.zeros(2, 3), energy=torch.tensor([1.0]), forces=torch.tensor([[3.0, 4.0, 0.0], [0.0, 0.0, 0.0]]))
    pred = {"energy": torch.tensor([[3.0]]), "forces": torch.zeros(2, 3)}
    total, count = force_mae_sum(pred, batch)
    assert (float(total), count) == (5.0, 2)  # ‖(3, 4, 0)‖ = 5 over 2 atoms
    total, count = force_component_mae_sum(pred, batch)
    assert (float(total), count) == (7.0, 6)
    total, count = energy_mae_per_atom_sum(pred, batch)
    assert (float(total), count) == (1.0, 1)  # |3 − 1| / 2 atoms
    assert float(energy_force_loss(pred, batch)) == pytest.approx(1.0 + 25.0 / 6)
    with pytest.raises(TypeError, match="must return {'energy'"):
        energy_force_loss(torch.zeros(2, 3), batch)
    with pytest.raises(ValueError, match="do not match the targets"):
        energy_force_loss({"energy": torch.zeros(1, 1), "forces": torch.zeros(3, 3)}, batch)
    detached = detach_outputs({"forces": torch.ones(2, requires_grad=True) * 2, "list": [torch.ones(1, requires_grad=True)]})
    assert not detached["forces"].requires_grad and not detached["list"][0].requires_grad
