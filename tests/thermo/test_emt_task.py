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


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory):
    """One dataset cache for the module: the TINY splits are sampled by EMT once, not once per test."""
    root = tmp_path_factory.mktemp("emt_cache")
    emt_datasets(str(root), **TINY)
    return root


def test_task_trains_and_the_monitor_checks_energy_and_forces(tmp_path, tiny_root):
    results = train("emt_clusters", run_dir=tmp_path / "run", epochs=1, batch_size=3, progress=False, dtype="float64",
                    data_root=str(tiny_root), data=TINY, model_options=SMALL_MODEL,
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


def a_batch(root, count=3):
    train_split = emt_datasets(str(root), **TINY)["train"]
    return Batch.from_data_list([train_split[i] for i in range(count)])


def test_force_loss_gradient_matches_finite_differences(tiny_root):
    torch.manual_seed(0)
    model, batch = small_model(), a_batch(tiny_root)
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


def test_a_few_steps_on_one_batch_reduce_the_loss(tiny_root):
    torch.manual_seed(1)
    model, batch = small_model(), a_batch(tiny_root)
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


def test_model_is_checked_by_gdl_testing_in_float64(tiny_root):
    model, batch = small_model(), a_batch(tiny_root, count=2)
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


def test_fit_atomic_energies_recovers_exact_per_element_references():
    from torch_geometric.data import Data

    from gdl.train.tasks.emt_clusters import fit_atomic_energies

    reference = {29: 0.7, 79: -1.3}
    graphs = []
    for copper, gold in [(13, 0), (10, 3), (5, 33), (38, 0), (1, 1)]:
        z = torch.tensor([29] * copper + [79] * gold)
        graphs.append(Data(z=z, energy=torch.tensor([copper * 0.7 + gold * -1.3], dtype=torch.float64)))
    fitted = fit_atomic_energies(graphs)
    assert set(fitted) == set(reference)
    assert all(abs(fitted[z] - reference[z]) < 1e-10 for z in reference)
    # one element: e_z is the mean energy per atom (least squares on E_g / N_g)
    single = [Data(z=torch.full((n,), 29), energy=torch.tensor([e], dtype=torch.float64)) for n, e in [(13, 9.75), (38, 22.8)]]
    assert fit_atomic_energies(single)[29] == pytest.approx((9.75 / 13 + 22.8 / 38) / 2, abs=1e-12)
    with pytest.raises(ValueError, match="empty"):
        fit_atomic_energies([])


def test_atomic_energies_shift_the_energy_by_a_constant_per_atom_and_leave_forces_unchanged(tiny_root):
    from gdl.models import EGNNEnergy

    torch.manual_seed(2)
    batch = a_batch(tiny_root, count=2)
    model = small_model()
    shifted = small_model()
    shifted.load_state_dict(model.state_dict())
    shifted.model.set_atomic_energies({29: 0.625})
    model.eval(), shifted.eval()
    plain, moved = model(batch), shifted(batch)
    atoms = torch.bincount(batch.batch).to(torch.float64)
    assert torch.allclose(moved["energy"].reshape(-1) - plain["energy"].reshape(-1), 0.625 * atoms, atol=1e-12)
    assert torch.equal(moved["forces"], plain["forces"])
    with pytest.raises(ValueError, match=r"integers in \[1, 100\], got 0"):
        EGNNEnergy(atomic_energies={0: 1.0})
    with pytest.raises(ValueError, match="must be finite"):
        EGNNEnergy(atomic_energies={29: float("nan")})
    with pytest.raises(TypeError, match="expected a dict"):
        EGNNEnergy().set_atomic_energies([0.5])


def test_the_trainer_fits_the_reference_energy_on_the_training_split_before_training(tmp_path, tiny_root):
    from gdl.train import Trainer

    config = {"task": "emt_clusters", "epochs": 1, "batch_size": 3, "progress": False, "dtype": "float64",
              "data_root": str(tiny_root), "data": TINY, "model_options": SMALL_MODEL}
    trainer = Trainer(config, run_dir=tmp_path / "run")
    train_split = trainer.splits["train"]
    mean_per_atom = sum(float(d.energy.reshape(-1)[0]) / d.num_nodes for d in train_split) / len(train_split)
    references = trainer.model.model.atomic_energies
    assert float(references[29]) == pytest.approx(mean_per_atom, abs=1e-12)
    assert float(references.abs().sum() - references[29].abs()) == 0.0  # elements absent from the data stay 0
    # the fitted reference travels with the model's state (checkpoints, resumed runs)
    assert "model.atomic_energies" in trainer.model.state_dict()


def test_refit_removes_the_mean_energy_offset_per_atom_and_keeps_the_forces(tiny_root):
    from gdl.train.tasks.emt_clusters import refit_atomic_energies

    torch.manual_seed(3)
    train_split = emt_datasets(str(tiny_root), **TINY)["train"]
    batch = Batch.from_data_list(list(train_split))
    model = small_model()
    model.model.set_atomic_energies({29: 0.3})  # a wrong reference: every prediction is off by a constant per atom
    model.eval()
    forces_before = model(batch)["forces"]
    shifts = refit_atomic_energies(model, train_split, batch_size=2)
    assert set(shifts) == {29} and model.training is False
    out = model(batch)
    per_atom_error = (out["energy"].reshape(-1) - batch.energy.reshape(-1)) / torch.bincount(batch.batch)
    assert abs(float(per_atom_error.mean())) < 1e-10  # least squares with one element: zero mean residual
    assert torch.equal(out["forces"], forces_before)
    with pytest.raises(TypeError, match="no per-element reference energies"):
        refit_atomic_energies(torch.nn.Linear(1, 1), train_split)


def test_a_checkpoint_from_before_the_reference_energies_loads_with_zero_references():
    model = small_model()  # EnergyModel around EGNNEnergy (.model)
    model.model.set_atomic_energies({29: -1.5})
    old_state = {k: v for k, v in model.state_dict().items() if k != "model.atomic_energies"}  # the earlier layout
    fresh = small_model()
    fresh.model.set_atomic_energies({29: 2.0})
    fresh.load_state_dict(old_state)  # strict: every other key must still match
    assert torch.equal(fresh.model.atomic_energies, torch.zeros_like(fresh.model.atomic_energies))
    assert all(torch.equal(fresh.state_dict()[k], v) for k, v in old_state.items())
