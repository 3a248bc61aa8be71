"""gdl.testing.adapters on small stand-ins that reproduce each third-party interface
(MACE batch dict, NequIP AtomicDataDict, SchNetPack input dict, TorchMD-Net / PyG SchNet
``(z, pos, batch)``, PyG ``Data``, ASE calculators), clean and with planted bugs; and the
checker's defaults they rely on. None of the third-party packages is needed."""
import warnings

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch, Data

from gdl.benchmarks.compat import planted
from gdl.groups import Euclidean, FieldType
from gdl.testing import EquivarianceSetupError, adapters, check_equivariance, default_dtype

E = Euclidean(3)
DT = torch.float64


# -- one invariant pair energy shared by every stand-in ---------------------------------------------
def _pair_energy(pos, z, i, j, batch, shifts=None):
    """E_b = Σ_{pairs (i,j) in b} (1 + 0.1 (z_i + z_j)) exp(−|r_ij|²/4) + Σ_{i∈b} 0.3 z_i."""
    r = pos[j] - pos[i]
    if shifts is not None:
        r = r + shifts
    w = 1 + 0.1 * (z[i] + z[j]).to(pos.dtype)
    b = int(batch.max()) + 1
    e = torch.zeros(b, dtype=pos.dtype).index_add(0, batch[i], w * torch.exp(-(r * r).sum(-1) / 4))
    return e.index_add(0, batch, 0.3 * z.to(pos.dtype))


def _molecules(sizes=(4, 5), seed=0):
    g = torch.Generator().manual_seed(seed)
    pos = torch.randn(sum(sizes), 3, generator=g, dtype=DT) * 1.5
    z = torch.randint(1, 9, (sum(sizes),), generator=g)
    batch = torch.cat([torch.full((n,), b, dtype=torch.long) for b, n in enumerate(sizes)])
    ptr = torch.tensor([0] + list(np.cumsum(sizes)), dtype=torch.long)
    pairs = [(a, c) for b, n in enumerate(sizes) for a in range(ptr[b], ptr[b] + n) for c in range(ptr[b], ptr[b] + n) if a != c]
    ei = torch.tensor(pairs, dtype=torch.long).t().contiguous()
    return pos, z, batch, ptr, ei


class MaceLike(torch.nn.Module):
    """MACE's convention: dict in (positions, edge_index sender→receiver, batch, ptr, one-hot
    node_attrs, shifts), ``positions.requires_grad_()`` on the input, forces by autograd inside."""

    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.tensor(1.0, dtype=DT))

    def forward(self, data, training=False, compute_force=True):
        pos = data["positions"]
        pos.requires_grad_(True)
        z = data["node_attrs"].argmax(-1) + 1
        sender, receiver = data["edge_index"]
        assert data["ptr"].numel() - 1 == int(data["batch"].max()) + 1
        energy = self.scale * _pair_energy(pos, z, sender, receiver, data["batch"], data["shifts"])
        forces = -torch.autograd.grad(energy.sum(), pos, create_graph=training)[0] if compute_force else None
        return {"energy": energy, "forces": forces, "node_energy": None}


class NequipLike(torch.nn.Module):
    """NequIP's AtomicDataDict: pos, edge_index, batch, atom_types; returns the dict with total_energy [B, 1]."""

    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.tensor(1.0, dtype=DT))

    def forward(self, data):
        data = dict(data)
        data["total_energy"] = self.scale * _pair_energy(data["pos"], data["atom_types"], *data["edge_index"], data["batch"])[:, None]
        return data


class SchnetpackLike(torch.nn.Module):
    """SchNetPack's input dict: _positions, _atomic_numbers, _idx_i/_idx_j, _idx_m, _n_atoms, _offsets;
    writes _Rij into the input dict and calls requires_grad_ on _positions (as initialize_derivatives does)."""

    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.tensor(1.0, dtype=DT))

    def forward(self, inputs):
        inputs["_positions"].requires_grad_()
        i, j = inputs["_idx_i"], inputs["_idx_j"]
        inputs["_Rij"] = inputs["_positions"][j] - inputs["_positions"][i] + inputs["_offsets"]
        assert int(inputs["_n_atoms"].sum()) == inputs["_positions"].shape[0]
        inputs["energy"] = self.scale * _pair_energy(inputs["_positions"], inputs["_atomic_numbers"], i, j,
                                                     inputs["_idx_m"], inputs["_offsets"])
        return inputs


class TorchmdLike(torch.nn.Module):
    """TorchMD-Net / PyG SchNet: forward(z, pos, batch), all pairs within each molecule (no
    edge_index given), returns (energy [B, 1], None)."""

    def __init__(self, bug=None):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.tensor(1.0, dtype=DT))
        self.bug = bug

    def forward(self, z, pos, batch=None):
        batch = torch.zeros_like(z) if batch is None else batch
        same = (batch[:, None] == batch[None, :]) & ~torch.eye(len(z), dtype=torch.bool)
        i, j = same.nonzero().t()
        energy = self.scale * _pair_energy(pos, z, i, j, batch)
        if self.bug == "global node 0":  # ViSNet-like: a per-molecule reference atom taken by batch position 0
            energy = energy + 1e-2 * torch.zeros_like(energy).index_add(0, batch, ((pos - pos[0]) ** 2).sum(-1))
        return energy[:, None], None


class PygDataLike(torch.nn.Module):
    def forward(self, data):
        i, j = data.edge_index
        return _pair_energy(data.pos, data.z, i, j, data.batch)


class AtomsLike:
    """The slice of ase.Atoms an ASE calculator adapter uses."""

    def __init__(self, numbers, positions):
        self.numbers = np.asarray(numbers)
        self.positions = np.asarray(positions, dtype=np.float64)
        self.pbc = np.zeros(3, dtype=bool)
        self.calc = None

    def copy(self):
        return AtomsLike(self.numbers.copy(), self.positions.copy())

    def get_positions(self):
        return self.positions.copy()

    def set_positions(self, p):
        self.positions = np.asarray(p, dtype=np.float64).copy()

    def set_atomic_numbers(self, z):
        self.numbers = np.asarray(z).copy()


class PairCalculator:
    """ASE-style: get_potential_energy(atoms) / get_forces(atoms), numpy out."""

    def _run(self, atoms):
        pos = torch.tensor(atoms.get_positions(), requires_grad=True)
        z = torch.as_tensor(atoms.numbers)
        n = len(z)
        i, j = (~torch.eye(n, dtype=torch.bool)).nonzero().t()
        e = _pair_energy(pos, z, i, j, torch.zeros(n, dtype=torch.long)).sum()
        return float(e.detach()), (-torch.autograd.grad(e, pos)[0]).numpy()

    def get_potential_energy(self, atoms):
        return self._run(atoms)[0]

    def get_forces(self, atoms):
        return self._run(atoms)[1]


# -- samples in each native convention -----------------------------------------------------------
def mace_sample():
    pos, z, batch, ptr, ei = _molecules()
    return {"positions": pos, "edge_index": ei, "batch": batch, "ptr": ptr,
            "node_attrs": torch.nn.functional.one_hot(z - 1, 8).to(DT), "shifts": torch.zeros(ei.shape[1], 3, dtype=DT),
            "unit_shifts": torch.zeros(ei.shape[1], 3, dtype=DT), "cell": torch.zeros(6, 3, dtype=DT)}


def nequip_sample():
    pos, z, batch, ptr, ei = _molecules()
    return {"pos": pos, "edge_index": ei, "batch": batch, "atom_types": z,
            "edge_cell_shift": torch.zeros(ei.shape[1], 3, dtype=DT), "num_atoms": torch.bincount(batch)}


def schnetpack_sample():
    pos, z, batch, ptr, ei = _molecules()
    return {"_positions": pos, "_atomic_numbers": z, "_idx_i": ei[0], "_idx_j": ei[1], "_idx_m": batch,
            "_n_atoms": torch.bincount(batch), "_offsets": torch.zeros(ei.shape[1], 3, dtype=DT),
            "_pbc": torch.zeros(2, 3, dtype=torch.bool)}


def zpb_sample():
    pos, z, batch, ptr, ei = _molecules()
    return z, pos, batch


STANDINS = {
    "mace": (lambda **kw: adapters.mace(MaceLike(), **kw), lambda: (mace_sample(),)),
    "nequip": (lambda **kw: adapters.nequip(NequipLike(), **kw), lambda: (nequip_sample(),)),
    "schnetpack": (lambda **kw: adapters.schnetpack(SchnetpackLike(), **kw), lambda: (schnetpack_sample(),)),
    "torchmd-net": (lambda **kw: adapters.torchmd_net(TorchmdLike(), **kw), zpb_sample),
    "pyg (z, pos, batch)": (lambda **kw: adapters.positional(TorchmdLike(), **kw), zpb_sample),
}


def _verdicts(report):
    return {s: e <= report.rtol for s, e in report.per_symmetry.items()}


@pytest.mark.parametrize("name", list(STANDINS))
def test_clean_standins_pass_with_energy_and_forces(name):
    make, sample = STANDINS[name]
    report = check_equivariance(make(), *sample())
    assert report.passed, report.table()
    assert set(report.outputs) == {"energy", "forces"}
    assert set(report.symmetries) == {"E(3)", "node permutation"}
    assert report.max_error < 1e-12
    assert not report.zero_outputs


BUGS = [("position leak 1e-6", {"perturb": planted.position_leak}),
        ("pseudoscalar", {"perturb": planted.pseudoscalar}),
        ("per-graph node index", {"perturb": planted.node_index}),
        ("wrong declared parity", {"types": {"energy": "0o"}})]


@pytest.mark.parametrize("bug,kwargs", BUGS, ids=[b for b, _ in BUGS])
@pytest.mark.parametrize("name", list(STANDINS))
def test_planted_bugs_are_blamed_on_the_right_symmetry(name, bug, kwargs):
    make, sample = STANDINS[name]
    report = check_equivariance(make(**kwargs), *sample())
    verdicts = _verdicts(report)
    blamed = planted.BLAME[bug]
    assert not verdicts[blamed], report.table()
    assert all(ok for s, ok in verdicts.items() if s != blamed), report.table()
    if bug in ("pseudoscalar", "wrong declared parity"):
        assert any("improper" in n for n in report.notes)


def test_caller_tensors_untouched_and_no_warning():
    sample = mace_sample()
    before = {k: v.clone() for k, v in sample.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = check_equivariance(adapters.mace(MaceLike()), sample)
    assert report.passed
    for k, v in sample.items():
        assert not v.requires_grad and torch.equal(v, before[k]), k
    inputs = schnetpack_sample()
    keys = set(inputs)
    check_equivariance(adapters.schnetpack(SchnetpackLike()), inputs, n_random=1, n_grid=1)
    assert set(inputs) == keys and not inputs["_positions"].requires_grad  # no _Rij written into the caller's dict


def test_forces_match_minus_gradient_and_the_models_own():
    sample = mace_sample()
    adapter = adapters.mace(MaceLike())
    values = adapter.sample_from(sample)
    own = adapter(**values)
    by_autograd = adapters.mace(MaceLike(), forces_key=None, call_kwargs={"compute_force": False})(**values)
    assert torch.allclose(own["forces"], by_autograd["forces"], atol=1e-13)
    assert own["energy"].shape == (2, 1)


def test_schnetpack_pairs_become_edge_index_and_back():
    adapter = adapters.schnetpack(SchnetpackLike())
    native = schnetpack_sample()
    values = adapter.sample_from(native)
    assert "_idx_i" not in values and values["edge_index"].shape == (2, native["_idx_i"].numel())
    assert torch.equal(values["batch"], native["_idx_m"]) and "edge_offsets" in values
    back = adapter.native(values)
    assert torch.equal(back["_idx_i"], native["_idx_i"]) and torch.equal(back["_idx_j"], native["_idx_j"])
    assert set(back) == set(native)


def test_explicit_permutation_check_relabels_declared_pairs():
    from gdl.testing import NodePermutation

    report = check_equivariance(adapters.schnetpack(SchnetpackLike()), schnetpack_sample(), symmetry=NodePermutation())
    assert report.passed and report.symmetries == ["node permutation"]


def test_pyg_data_and_batch_adapters():
    pos, z, batch, ptr, ei = _molecules()
    data = Batch.from_data_list([Data(pos=pos[:4], z=z[:4], edge_index=ei[:, :12]),
                                 Data(pos=pos[4:], z=z[4:], edge_index=ei[:, 12:] - 4)])
    report = check_equivariance(adapters.pyg(PygDataLike()), data)
    assert report.passed and set(report.symmetries) == {"E(3)", "node permutation"}, report.table()
    report = check_equivariance(adapters.positional(TorchmdLike()), data)  # (z, pos, batch) read from the Batch
    assert report.passed
    bad = check_equivariance(adapters.pyg(PygDataLike(), perturb=planted.node_index), data)
    assert _verdicts(bad) == {"E(3)": True, "node permutation": False}


def test_ase_calculator_adapter_duck_typed_and_real():
    pos, z, *_ = _molecules(sizes=(5,))
    atoms = AtomsLike(z.numpy(), pos.numpy())
    report = check_equivariance(adapters.ase_calculator(PairCalculator()), atoms, n_random=2)
    assert report.passed and report.dtype == torch.float64 and set(report.symmetries) == {"E(3)", "node permutation"}
    assert np.array_equal(atoms.get_positions(), pos.numpy())
    bad = check_equivariance(adapters.ase_calculator(PairCalculator(), perturb=planted.pseudoscalar), atoms, n_random=2)
    assert _verdicts(bad) == {"E(3)": False, "node permutation": True}
    ase = pytest.importorskip("ase")
    real = ase.Atoms(numbers=z.numpy(), positions=pos.numpy())
    assert check_equivariance(adapters.ase_calculator(PairCalculator()), real, n_random=2).passed


def test_periodic_sample_is_refused():
    sample = schnetpack_sample()
    sample["_pbc"] = torch.ones(2, 3, dtype=torch.bool)
    with pytest.raises(EquivarianceSetupError, match="periodic"):
        check_equivariance(adapters.schnetpack(SchnetpackLike()), sample)


def test_missing_key_names_the_key():
    sample = mace_sample()
    del sample["positions"]
    with pytest.raises(EquivarianceSetupError, match="'positions'"):
        check_equivariance(adapters.mace(MaceLike()), sample)


def test_report_names_the_wrapped_model():
    assert check_equivariance(adapters.nequip(NequipLike()), nequip_sample(), n_random=1).model == "NequipLike"


# -- defaults the adapters rely on ------------------------------------------------------------------
class RawZPos(torch.nn.Module):
    """A (z, pos, batch) model typed by hand (no adapter): a per-graph node-index bug (TensorNet-like)."""

    in_type = {"pos": FieldType(E, E.standard_rep())}
    out_type = FieldType(E, E.trivial_rep(1))

    def __init__(self, bug=False, with_batch=True):
        super().__init__()
        self.bug = bug

    def forward(self, z, pos, batch):
        energy = TorchmdLike()(z, pos, batch)[0].reshape(-1)  # [B]: typed as a scalar per graph
        if self.bug:
            energy = energy + planted.node_index({"pos": pos, "batch": batch})
        return energy


def test_permutation_checked_without_edge_index_when_a_batch_is_given():
    z, pos, batch = zpb_sample()
    clean = check_equivariance(RawZPos(), z, pos, batch)
    assert clean.passed and "node permutation" in clean.symmetries
    bad = check_equivariance(RawZPos(bug=True), z, pos, batch)
    assert _verdicts(bad) == {"E(3)": True, "node permutation": False}


class ZPos(torch.nn.Module):
    """forward(z, pos) of one molecule: node-level arrays, no batch, no edge_index."""

    in_type = {"pos": FieldType(E, E.standard_rep())}
    out_type = FieldType(E, E.trivial_rep(1))

    def __init__(self, bug=False):
        super().__init__()
        self.bug = bug

    def forward(self, z, pos):
        return RawZPos(self.bug)(z, pos, torch.zeros_like(z))


def test_permutation_checked_on_node_level_arrays_and_molecules_not_merged():
    z, pos, _ = zpb_sample()
    bad = check_equivariance(ZPos(bug=True), z, pos)
    assert _verdicts(bad) == {"E(3)": True, "node permutation": False}
    # stacking copies of a molecule without a batch vector would merge them into one: run one at a time at once
    assert not any("stacked call" in n for n in bad.notes), bad.notes
    assert check_equivariance(ZPos(), z, pos).passed


def test_batched_global_node_index_bug_blamed_on_permutations():
    z, pos, batch = zpb_sample()
    report = check_equivariance(adapters.torchmd_net(TorchmdLike(bug="global node 0")), z, pos, batch)
    assert _verdicts(report) == {"E(3)": True, "node permutation": False}, report.table()


def test_graph_energy_of_shape_B_typed_as_scalar():
    z, pos, batch = zpb_sample()
    report = check_equivariance(RawZPos(), z, pos, batch)
    assert report.passed


class Float32Basis(torch.nn.Module):
    """Equivariant up to a change of basis whose matrix was rounded to float32 (as a model with
    Clebsch-Gordan tables hard-coded in float32): f(x) = (d B) Bᵀ with d = x − mean(x)."""

    in_type = FieldType(E, E.standard_rep())
    out_type = FieldType(E, E.vector_rep())

    def __init__(self):
        super().__init__()
        q, _ = torch.linalg.qr(torch.randn(3, 3, generator=torch.Generator().manual_seed(0), dtype=DT))
        self.basis = q.float().double()  # a plain attribute: not a buffer gdl could inspect

    def forward(self, x):
        d = x - x.mean(0, keepdim=True)
        return (d @ self.basis) @ self.basis.t()


def test_float32_scale_note_without_a_cast():
    x = torch.randn(6, 3, dtype=DT, generator=torch.Generator().manual_seed(1))
    report = check_equivariance(Float32Basis(), x)
    assert not report.passed and 1e-9 < report.max_error < 1e-5
    assert any("float32 round-off" in n and "constants built in float32?" in n for n in report.notes), report.notes
    leak = check_equivariance(adapters.torchmd_net(TorchmdLike(), perturb=lambda v: planted.position_leak(v, 1e-8)),
                              *zpb_sample())
    assert not leak.passed and not any("float32 round-off" in n for n in leak.notes)


def test_zero_output_is_noted():
    class Zero(TorchmdLike):
        def forward(self, z, pos, batch=None):
            return super().forward(z, pos, batch)[0] * 0, None

    report = check_equivariance(adapters.torchmd_net(Zero(), forces=False), *zpb_sample())
    assert report.passed and report.trivial
    assert any("identically zero" in n for n in report.notes)


def test_adapter_bad_type_and_bad_output_key():
    with pytest.raises(EquivarianceSetupError, match="types names output"):
        adapters.mace(MaceLike(), types={"dipole": "1o"})
    with pytest.raises(EquivarianceSetupError, match="energy under key 'E'"):
        check_equivariance(adapters.mace(MaceLike(), energy="E"), mace_sample())


def test_model_built_in_float32_checked_in_float32():
    with default_dtype(torch.float32):
        model = adapters.nequip(NequipLike().float())
    sample = {k: (v.float() if v.is_floating_point() else v) for k, v in nequip_sample().items()}
    report = check_equivariance(model, sample)
    assert report.passed and report.dtype == torch.float32
