"""EnergyModel: forces of every invariant gdl graph model pass the E(3) × permutation checks in float64,
training on forces runs on a twice-differentiable path, and the model drives the samplers."""
import copy
import functools

import pytest
import torch
from e3nn import o3
from torch import nn
from torch_geometric.data import Batch, Data

from gdl.groups import FieldType
from gdl.models import EGNN, GNN, SEGNN, TFN, EGNNEnergy, Linear
from gdl.nn._types import euclidean_group
from gdl.nn.graph import EGNNConv, TensorFieldConv
from gdl.nn.graph import fully_connected_graph
from gdl.testing import check_equivariance, default_dtype
from gdl.thermo import BAOAB, EnergyModel, twice_differentiable
from tests.helpers.graph import make_nbody_batch

E3 = euclidean_group(3)
SPECIES = FieldType(E3, E3.trivial_rep(1))
POINTS = FieldType(E3, E3.standard_rep())


class EGNNLayerEnergy(nn.Module):
    """Σ_i head(h_i) after EGNNConv layers on a species scalar (fused layers by default)."""

    def __init__(self, hidden=12, layers=2, fused=True):
        super().__init__()
        self.embedding = nn.Linear(1, hidden)
        self.layers = nn.ModuleList(EGNNConv(hidden, hidden, fused=fused) for _ in range(layers))
        self.head = nn.Linear(hidden, 1)
        self.in_type = {"pos": POINTS, "x": SPECIES}

    def forward(self, data):
        h, pos = self.embedding(data.x), data.pos
        for layer in self.layers:
            h, pos = layer(h, pos, data.edge_index)
        return self.head(h)


class TFNEnergy(nn.Module):
    """Scalars (0e) of TensorFieldConv layers, summed per node."""

    def __init__(self):
        super().__init__()
        self.conv_1 = TensorFieldConv("1x0e", "4x0e+2x1o", lmax=1)
        self.conv_2 = TensorFieldConv("4x0e+2x1o", "8x0e", lmax=1)
        self.head = o3.Linear("8x0e", "1x0e")
        self.in_type = {"pos": POINTS, "x": SPECIES}

    def forward(self, data):
        h = self.conv_1(data.x, data.pos, data.edge_index)
        return self.head(self.conv_2(h, data.pos, data.edge_index))


class DisplacementEnergy(nn.Module):
    """An N-body model f (equivariant positions) as an invariant energy ½ Σ_i ‖f(data)_i − x_i‖²."""

    def __init__(self, model):
        super().__init__()
        self.model, self.in_type = model, model.in_type

    def forward(self, data):
        d = self.model(data) - data.pos
        return 0.5 * (d * d).sum(-1)


def separated_cluster(num_graphs=2, num_atoms=6, seed=0, dtype=torch.float64):
    """Graphs of atoms on a jittered grid (every pair ≥ 0.6 apart), fully connected, species 0/1."""
    g = torch.Generator().manual_seed(seed)
    grid = torch.stack(torch.meshgrid(*[torch.arange(2.0)] * 3, indexing="ij"), -1).reshape(-1, 3)
    graphs = []
    for _ in range(num_graphs):
        pos = grid[torch.randperm(8, generator=g)[:num_atoms]] * 1.1 + 0.15 * torch.rand(num_atoms, 3, generator=g)
        species = torch.randint(0, 2, (num_atoms, 1), generator=g).to(dtype)
        graphs.append(Data(pos=pos.to(dtype), x=species, edge_index=fully_connected_graph(num_atoms)))
    return Batch.from_data_list(graphs)


@functools.lru_cache(maxsize=None)
def _built(name):
    torch.manual_seed(0)
    with default_dtype(torch.float64):
        return {"egnn_layers": lambda: EGNNLayerEnergy(), "tfn_layers": TFNEnergy,
                "egnn": lambda: DisplacementEnergy(EGNN(hidden_channels=16, num_layers=2)),
                "tfn": lambda: DisplacementEnergy(TFN(irreps_hidden="4x0e+2x1o", num_layers=1)),
                "segnn": lambda: DisplacementEnergy(SEGNN(irreps_hidden="4x0e+2x1o", num_layers=1)),
                "egnn_energy": lambda: EGNNEnergy(hidden_channels=12, num_layers=2, num_radial=8, cutoff=3.0),
                "gnn": lambda: DisplacementEnergy(GNN(hidden_channels=16, num_layers=2)),
                "linear": lambda: DisplacementEnergy(Linear())}[name]()


def build(name):
    return EnergyModel(copy.deepcopy(_built(name)))


def sample_for(name):
    if name == "egnn_energy":  # the force-field model reads atomic numbers z
        batch = separated_cluster()
        batch.z = 28 + batch.x[:, 0].long()
        del batch.x
        return batch
    return separated_cluster() if name.endswith("_layers") else make_nbody_batch(2)


INVARIANT = ["egnn_layers", "tfn_layers", "egnn", "tfn", "segnn", "egnn_energy"]  # SEGNN covers SteerableConv


@pytest.mark.parametrize("name", INVARIANT)
def test_forces_of_every_invariant_graph_model_pass_the_checks_in_float64(name):
    model = build(name).eval()
    report = check_equivariance(model, sample_for(name), rtol=1e-10, n_random=4, n_grid=4)
    assert report.passed, report.table()
    assert report.outputs == ["energy", "forces"]
    assert {r.symmetry for r in report.results} == {"E(3)", "node permutation"}
    assert report.max_error <= 1e-10
    assert not report.zero_outputs


@pytest.mark.parametrize("name", ["gnn", "linear"])
def test_non_equivariant_baselines_fail_the_force_check(name):
    """Negative control: the baselines read absolute coordinates, so their 'energy' is not invariant."""
    report = check_equivariance(build(name).eval(), sample_for(name), n_random=2, n_grid=2)
    assert not report.passed
    assert report.max_error > 1e-3


def _force_loss(model, data, target):
    energy, forces = model.energy_and_forces(data)
    return ((forces - target) ** 2).mean() + energy.pow(2).mean()


def test_training_on_forces_uses_a_twice_differentiable_path_with_fused_egnn_layers():
    data = separated_cluster()
    model = build("egnn_layers").train()
    assert all(layer.fused for layer in model.model.layers)
    target = torch.zeros_like(data.pos)
    loss = _force_loss(model, data, target)
    grads = torch.autograd.grad(loss, list(model.parameters()))
    assert all(layer.fused for layer in model.model.layers), "the fused fast path must be restored after the call"
    # the same maths on the plain autograd path (fused=False everywhere) gives the same parameter gradients
    plain = copy.deepcopy(model)
    for layer in plain.model.layers:
        layer.fused = False
    plain_grads = torch.autograd.grad(_force_loss(plain, data, target), list(plain.parameters()))
    for g, p in zip(grads, plain_grads):
        assert torch.allclose(g, p, rtol=1e-10, atol=1e-12)
    assert any(float(g.abs().max()) > 0 for g in grads)


def test_the_fused_egnn_path_alone_is_once_differentiable():
    """Why the switch is needed: differentiating the fused layer's forces again fails."""
    data = separated_cluster()
    model = build("egnn_layers")
    pos = data.pos.detach().requires_grad_(True)
    moved = copy.copy(data)
    moved.pos = pos
    energy = model.model(moved).sum()
    (grad,) = torch.autograd.grad(energy, pos, create_graph=True)
    with pytest.raises(RuntimeError):
        torch.autograd.grad(grad.pow(2).sum(), list(model.parameters()))
    with twice_differentiable(model.model):
        assert not any(layer.fused for layer in model.model.layers)


def test_force_loss_gradient_matches_finite_differences():
    """d(force loss)/dθ by double backward vs central differences on the head bias and one weight."""
    data = separated_cluster(num_graphs=1, num_atoms=4)
    model = build("egnn_layers").train()
    target = torch.randn(data.pos.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    param = model.model.layers[0].flat
    (grad,) = torch.autograd.grad(_force_loss(model, data, target), [param])
    h = 1e-6
    for index in (0, 17, param.numel() - 1):
        with torch.no_grad():
            param[index] += h
            up = float(_force_loss(model, data, target))
            param[index] -= 2 * h
            down = float(_force_loss(model, data, target))
            param[index] += h
        assert abs((up - down) / (2 * h) - float(grad[index])) <= 1e-6 * max(1.0, abs(float(grad[index])))


def test_forces_are_minus_the_gradient_by_finite_differences():
    data = separated_cluster(num_graphs=1, num_atoms=5)
    model = build("tfn_layers").eval()
    energy, forces = model.energy_and_forces(data)
    h = 1e-6
    for atom, axis in ((0, 0), (3, 2)):
        moved = [copy.copy(data), copy.copy(data)]
        for sign, d in zip((1, -1), moved):
            d.pos = data.pos.clone()
            d.pos[atom, axis] += sign * h
        numeric = -(model.energy(moved[0]) - model.energy(moved[1])) / (2 * h)
        assert abs(float(numeric.detach()) - float(forces[atom, axis])) <= 1e-7 * max(1.0, float(forces.abs().max()))


def test_energy_is_per_graph_and_sums_per_node_outputs():
    data = separated_cluster(num_graphs=3)
    model = build("egnn_layers").eval()
    energy = model.energy(data)
    assert energy.shape == (3,)
    per_node = model.model(data)[:, 0]
    assert torch.allclose(energy, torch.stack([per_node[data.batch == g].sum() for g in range(3)]))
    out = model(data)
    assert out["energy"].shape == (3, 1) and out["forces"].shape == data.pos.shape


def test_as_potential_drives_a_sampler_and_agrees_with_the_model():
    data = separated_cluster(num_graphs=1, num_atoms=5)
    model = build("egnn_layers").eval()
    template = Data(pos=data.pos, x=data.x, edge_index=data.edge_index)
    potential = model.as_potential(template)
    x = torch.stack([data.pos, data.pos + 0.01])
    energy, forces = potential.energy_and_forces(x)
    e0, f0 = model.energy_and_forces(data)
    assert torch.allclose(energy[0], e0[0], rtol=1e-12) and torch.allclose(forces[0], f0, rtol=1e-10, atol=1e-12)
    assert torch.allclose(forces[1], f0, rtol=1e-10, atol=1e-12)  # translation-invariant forces
    traj = BAOAB(potential, 0.05, 0.01).run(x, 5, generator=torch.Generator().manual_seed(0))
    assert traj.energies.shape == (5, 2) and torch.isfinite(traj.energies).all()


def test_bad_inputs_name_the_problem():
    with pytest.raises(TypeError, match="torch.nn.Module"):
        EnergyModel(lambda data: data.pos.sum())
    model = build("egnn_layers")
    bad = separated_cluster()
    bad.pos = bad.pos[:, :2]
    with pytest.raises(ValueError, match=r"data.pos of shape \[N, 3\]"):
        model.energy_and_forces(bad)

    class Constant(nn.Module):
        def forward(self, data):
            return torch.ones(data.num_nodes, dtype=torch.float64)

    with pytest.raises(RuntimeError, match="does not depend on data.pos"):
        EnergyModel(Constant()).energy_and_forces(separated_cluster())

    class WrongShape(nn.Module):
        def forward(self, data):
            return data.pos

    with pytest.raises(ValueError, match="one invariant scalar per node"):
        EnergyModel(WrongShape()).energy(separated_cluster())
