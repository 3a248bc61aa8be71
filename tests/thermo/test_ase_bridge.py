"""ASE Atoms ⇄ PyG Data (gdl.thermo._ase_bridge): round trips, edges against ASE's neighbour list, errors."""
import numpy as np
import pytest
import torch

ase = pytest.importorskip("ase")
from ase.build import bulk, molecule  # noqa: E402
from ase.calculators.emt import EMT  # noqa: E402
from ase.cluster import Icosahedron  # noqa: E402
from ase.neighborlist import neighbor_list  # noqa: E402
from torch_geometric.data import Batch  # noqa: E402

from gdl.thermo._ase_bridge import atoms_to_data, data_to_atoms, edge_vectors, periodic_radius_graph  # noqa: E402


def rattled_cluster(seed=0):
    atoms = Icosahedron("Cu", 2)
    atoms.rattle(0.05, seed=seed)
    return atoms


def test_cluster_round_trip_keeps_positions_numbers_energy_forces():
    atoms = rattled_cluster()
    atoms.calc = EMT()
    energy, forces = atoms.get_potential_energy(), atoms.get_forces()
    data = atoms_to_data(atoms)
    assert data.pos.dtype == torch.float64 and data.z.dtype == torch.long
    assert data.edge_index.shape == (2, 13 * 12)  # cutoff=None: every ordered pair
    assert torch.equal(data.z, torch.full((13,), 29))
    assert float(data.energy) == energy
    assert np.array_equal(data.forces.numpy(), forces)
    back = data_to_atoms(data)
    assert np.array_equal(back.get_positions(), atoms.get_positions())
    assert np.array_equal(back.get_atomic_numbers(), atoms.get_atomic_numbers())
    assert not back.get_pbc().any()
    assert back.get_potential_energy() == energy  # SinglePointCalculator: no recomputation
    assert np.array_equal(back.get_forces(), forces)


def test_stale_calculator_results_are_not_copied():
    atoms = rattled_cluster()
    atoms.calc = EMT()
    atoms.get_potential_energy()
    atoms.positions[0] += 0.1  # the stored results now belong to other positions
    data = atoms_to_data(atoms)
    assert "energy" not in data and "forces" not in data


def test_periodic_round_trip_and_edges_match_ase_neighbor_list():
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True) * (2, 1, 1)
    atoms.rattle(0.05, seed=1)
    data = atoms_to_data(atoms, cutoff=4.0)
    i, j, shifts = neighbor_list("ijS", atoms, 4.0)
    expected = sorted(zip(i.tolist(), j.tolist(), map(tuple, shifts.tolist())))
    got = sorted(zip(data.edge_index[1].tolist(), data.edge_index[0].tolist(),
                     [tuple(int(s) for s in row) for row in data.edge_shift.tolist()]))
    assert got == expected
    lengths = np.sort(edge_vectors(data).norm(dim=1).numpy())
    assert np.allclose(lengths, np.sort(neighbor_list("d", atoms, 4.0)), atol=1e-12)
    back = data_to_atoms(data)
    assert np.array_equal(back.get_cell().array, atoms.get_cell().array)
    assert back.get_pbc().all()


def test_small_cell_sees_its_own_images():
    atoms = bulk("Cu", "fcc", a=3.6)  # one atom: every neighbour is an image of itself
    data = atoms_to_data(atoms, cutoff=3.0)
    assert data.edge_index.shape[1] == 12  # the 12 nearest fcc neighbours at a/√2 = 2.55 Å
    assert bool((data.edge_index[0] == data.edge_index[1]).all())


def test_radius_graph_without_pbc_and_batch_round_trip():
    mols = [molecule("H2O"), molecule("CH4")]
    batch = Batch.from_data_list([atoms_to_data(m, cutoff=1.2) for m in mols])
    assert batch.cell.shape == (2, 3, 3) and batch.pbc.shape == (2, 3)
    for index, mol in enumerate(mols):
        back = data_to_atoms(batch, index=index)
        assert back.get_chemical_formula() == mol.get_chemical_formula()
        assert np.array_equal(back.get_positions(), mol.get_positions())
    h2o = atoms_to_data(mols[0], cutoff=1.2)
    assert sorted(zip(*h2o.edge_index.tolist())) == [(0, 1), (0, 2), (1, 0), (2, 0)]  # O–H bonds, no H–H


def test_periodic_graph_is_rotation_invariant_and_translation_invariant():
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
    atoms.rattle(0.05, seed=2)
    pos, cell = torch.as_tensor(atoms.positions), torch.as_tensor(atoms.cell.array)
    q, _ = torch.linalg.qr(torch.randn(3, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0)))
    edges, shifts = periodic_radius_graph(pos, cell, [True] * 3, 3.0)
    moved_edges, moved_shifts = periodic_radius_graph(pos @ q.T + 0.3, cell @ q.T, [True] * 3, 3.0)
    assert torch.equal(edges, moved_edges) and torch.equal(shifts, moved_shifts)


def test_bad_input_is_named():
    with pytest.raises(TypeError, match="expected an ase.Atoms"):
        atoms_to_data("Cu13")
    with pytest.raises(ValueError, match="cutoff must be"):
        atoms_to_data(rattled_cluster(), cutoff=-1.0)
    with pytest.raises(ValueError, match="periodic Atoms needs a cutoff"):
        atoms_to_data(bulk("Cu", "fcc", a=3.6))
    periodic = bulk("Cu", "fcc", a=3.6)
    periodic.set_cell([[0, 0, 0]] * 3)
    with pytest.raises(ValueError, match="nonzero volume"):
        atoms_to_data(periodic, cutoff=3.0)
    batch = Batch.from_data_list([atoms_to_data(rattled_cluster(s)) for s in range(2)])
    with pytest.raises(ValueError, match="pass index=i"):
        data_to_atoms(batch)
