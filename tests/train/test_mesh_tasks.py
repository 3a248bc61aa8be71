"""The mesh tasks: registration, splits, metrics and a one-epoch smoke run."""
import pytest
import torch
from torch_geometric.data import Batch, Data

from gdl.train import get_task, train


@pytest.fixture
def gdl_home(tmp_path, monkeypatch):
    monkeypatch.setenv("GDL_HOME", str(tmp_path / "home"))
    return tmp_path


def test_tasks_are_registered_with_models_and_symmetries():
    faust, cortical = get_task("synth_faust"), get_task("cortical")
    assert {"gem", "gem-xyz", "gcn-xyz", "mlp-invariant"} <= set(faust.models) and faust.metric.higher_is_better
    assert faust.published["gem"].value == 0.9973 and faust.models["gcn-xyz"].breaks == ("SE(3)",)
    assert {"gem", "gcn-xyz", "mlp-invariant"} <= set(cortical.models) and cortical.metric.name == "r2"
    names = [getattr(s, "name", type(s).__name__) for s in faust.symmetry(None)]
    assert names == ["SE(3)", "node permutation"]


def test_synth_faust_splits(gdl_home):
    task = get_task("synth_faust")
    splits = task.build_datasets(options={"subdivisions": 1, "num_meshes": 10, "num_val": 2, "test": "retriangulated"})
    assert [len(splits[s]) for s in ("train", "val", "test")] == [6, 2, 2]
    assert splits["test"][0].face.shape[1] == 2 * 42 - 4 and not torch.equal(splits["test"][0].face, splits["train"][0].face)
    with pytest.raises(ValueError, match="data.test must be one of"):
        task.build_datasets(options={"subdivisions": 1, "num_meshes": 10, "test": "mirrored"})


def test_r_squared_per_mesh():
    from gdl.train.tasks.cortical import r_squared

    y = torch.tensor([0.0, 1.0, 2.0, 3.0, 1.0, 1.0, 3.0])
    batch = Batch.from_data_list([Data(y=y[:4], num_nodes=4), Data(y=y[4:], num_nodes=3)])
    total, count = r_squared(y.clone(), batch)
    assert count == 2 and torch.isclose(total, torch.tensor(2.0, dtype=torch.float64))
    mean_pred = torch.tensor([1.5] * 4 + [5 / 3] * 3)
    total, _ = r_squared(mean_pred, batch)
    assert abs(float(total)) < 1e-6  # predicting each mesh's mean gives R² = 0


def test_one_epoch_smoke_run_with_equivariance_monitor(gdl_home):
    results = train("synth_faust", "mlp-invariant", epochs=1, batch_size=2,
                    data={"subdivisions": 1, "num_meshes": 10, "num_val": 2},
                    model_options={"subdivisions": 1, "hidden_channels": 8, "num_layers": 1},
                    progress=False, run_dir=gdl_home / "run", overwrite=True)
    assert 0.0 <= results["test_metric"] <= 1.0
    assert results["equivariance"]["per_symmetry"]["SE(3)"] < 1e-4


def test_cortical_datasets(gdl_home):
    pytest.importorskip("nibabel")
    pytest.importorskip("nilearn")
    splits = get_task("cortical").build_datasets()
    assert [splits[s][0].hemisphere for s in ("train", "val", "test")] == ["left", "left", "right"]
    assert not torch.allclose(splits["val"][0].pos, splits["train"][0].pos)
