"""EMTClusters (gdl.thermo.emt_clusters): determinism by seed, EMT labels, independent splits, cache, errors."""
import warnings

import pytest
import torch

ase = pytest.importorskip("ase")
from ase.calculators.emt import EMT  # noqa: E402

from gdl.data import DatasetCacheWarning  # noqa: E402
from gdl.thermo import EMTClusters, data_to_atoms, kelvin_to_kT  # noqa: E402
from gdl.thermo.emt_clusters import cluster_atoms  # noqa: E402

TINY = dict(clusters=("Cu13",), temperatures=(400.0,), replicas=2, frames=2, record_every=3, equilibration_steps=4)


def tiny(root, **options):
    return EMTClusters(str(root), **{**TINY, **options})


def test_same_seed_same_data_other_seed_other_data(tmp_path):
    first = tiny(tmp_path / "a", seed=3)
    again = tiny(tmp_path / "b", seed=3)  # regenerated in another folder, not read from the cache
    other = tiny(tmp_path / "c", seed=4)
    assert len(first) == 1 * 1 * 2 * 2
    assert torch.equal(first._data.pos, again._data.pos) and torch.equal(first._data.forces, again._data.forces)
    assert not torch.allclose(first._data.pos, other._data.pos)


def test_splits_are_independent_chains(tmp_path):
    train, test = tiny(tmp_path, split="train"), tiny(tmp_path, split="test")
    assert not torch.allclose(train._data.pos, test._data.pos)


def test_labels_are_emt_energies_and_forces_of_the_stored_positions(tmp_path):
    dataset = tiny(tmp_path, dtype=torch.float64)
    for item in (dataset[0], dataset[len(dataset) - 1]):
        atoms = data_to_atoms(item)
        stored_energy, stored_forces = atoms.get_potential_energy(), atoms.get_forces()
        atoms.calc = EMT()
        assert stored_energy == pytest.approx(atoms.get_potential_energy(), abs=1e-12)
        assert abs(stored_forces - atoms.get_forces()).max() < 1e-12
        assert item.edge_index.shape == (2, 13 * 12) and bool((item.z == 29).all())
        assert float(item.kelvin) == 400.0


def test_sampled_configurations_are_thermal_not_the_ideal_start(tmp_path):
    dataset = tiny(tmp_path, dtype=torch.float64, temperatures=(800.0,))
    start = torch.as_tensor(cluster_atoms("Cu13").positions)
    moved = (dataset[0].pos - start).norm(dim=1)
    assert float(moved.mean()) > 0.01  # atoms moved by thermal motion
    assert float(moved.max()) < 2.0  # ... and the cluster did not fly apart
    assert kelvin_to_kT(800.0) == pytest.approx(0.0689, rel=1e-3)


def test_cache_is_reused_and_a_corrupted_file_regenerates(tmp_path):
    first = tiny(tmp_path)
    path = first.processed_paths[0]
    with open(path, "r+b") as handle:  # flip bytes in the middle of the file
        handle.seek(200)
        handle.write(b"\x00\x01\x02\x03")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        second = tiny(tmp_path)
    assert any(issubclass(w.category, DatasetCacheWarning) and "checksum" in str(w.message) for w in caught)
    assert torch.equal(first._data.pos, second._data.pos)


def test_bad_options_are_named(tmp_path):
    with pytest.raises(ValueError, match="unknown cluster 'Fe13'"):
        tiny(tmp_path, clusters=("Fe13",))
    with pytest.raises(ValueError, match="temperatures must be finite kelvin > 0"):
        tiny(tmp_path, temperatures=(300.0, 0.0))
    with pytest.raises(ValueError, match="replicas must be an int >= 1"):
        tiny(tmp_path, replicas=0)
    with pytest.raises(ValueError, match="split must be one of"):
        tiny(tmp_path, split="validation")
    with pytest.raises(ValueError, match="dt_fs must be a finite number > 0"):
        tiny(tmp_path, dt_fs=-1.0)


def test_too_large_time_step_is_reported_in_femtoseconds(tmp_path):
    with pytest.raises(FloatingPointError, match=r"dt_fs = 100 fs .*too large"):
        tiny(tmp_path, dt_fs=100.0, equilibration_steps=20)
