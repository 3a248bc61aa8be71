"""The N-body models: E(3) × permutation checks on N-body batches, honest baselines, bad input."""
import copy
import functools

import pytest
import torch
from tests.helpers.graph import F32_RTOL, F64_RTOL, default_dtype
from torch_geometric.data import Batch, Data

from gdl.groups import FieldTypeError
from gdl.nn.graph import EGNN, GNN, MODELS, SEGNN, TFN, Linear
from gdl.testing import check_equivariance

EQUIVARIANT = ["egnn", "tfn", "segnn"]


@functools.lru_cache(maxsize=None)
def _built(name, dtype):
    torch.manual_seed(0)
    with default_dtype(dtype):
        return MODELS[name]()


def build(name, dtype=torch.float64):
    """A fresh copy of the seeded model (e3nn code generation makes construction slow)."""
    return copy.deepcopy(_built(name, dtype))


def test_registry():
    assert MODELS == {"egnn": EGNN, "segnn": SEGNN, "tfn": TFN, "gnn": GNN, "linear": Linear}
    assert sum(p.numel() for p in EGNN().parameters()) == 134_020  # = reference EGNN_vel(hidden 64, 4 layers)
    assert sum(p.numel() for p in build("segnn").parameters()) == 147_424  # = reference SEGNN README N-body config


@pytest.mark.parametrize("name", EQUIVARIANT)
@pytest.mark.parametrize("dtype,rtol", [(torch.float64, F64_RTOL), (torch.float32, F32_RTOL)])
def test_equivariant_models(nbody_batch, name, dtype, rtol):
    model = build(name, dtype)
    batch = nbody_batch(4, dtype)
    out = model(batch)
    assert out.shape == (batch.num_nodes, 3) and out.dtype == dtype
    report = check_equivariance(model, batch, rtol=rtol, n_random=3, n_grid=2)
    assert report.passed, report.table()
    assert report.symmetries == ["E(3)", "node permutation"]
    assert any(e.startswith("E(3) / generator") and "-rot" in e for e in report.elements)  # reflections were tested


@pytest.mark.parametrize("name", ["gnn", "linear"])
def test_baselines_are_flagged_but_permutation_equivariant(nbody_batch, name):
    model = build(name)
    report = check_equivariance(model, nbody_batch(4), n_random=2, n_grid=1)
    assert not report.passed
    assert report.per_symmetry["E(3)"] > 1e-2
    assert report.per_symmetry["node permutation"] <= F64_RTOL


def one_graph(pos, vel=None, charges=None, edge_index=None):
    n = pos.shape[0]
    from gdl.nn.graph import fully_connected_graph

    return Data(pos=pos, vel=torch.randn(n, 3, dtype=pos.dtype) if vel is None else vel,
                charges=torch.ones(n, 1, dtype=pos.dtype) if charges is None else charges,
                edge_index=fully_connected_graph(n) if edge_index is None else edge_index)


@pytest.mark.parametrize("name", list(MODELS))
def test_coincident_points_finite_outputs_and_gradients(name):
    model = build(name)
    pos = torch.zeros(5, 3, dtype=torch.float64)
    pos[3:] = 1.0  # two clusters of coincident particles
    data = Batch.from_data_list([one_graph(pos.clone().requires_grad_())])
    data.vel[0] = 0.0  # a particle at rest: ‖v‖ = 0 too
    out = model(data)
    loss = out.square().sum()
    loss.backward()
    assert torch.isfinite(out).all()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


@pytest.mark.parametrize("name", list(MODELS))
def test_single_node_and_empty_graphs(name):
    model = build(name)
    single = Batch.from_data_list([one_graph(torch.randn(1, 3, dtype=torch.float64))])
    out = model(single)
    assert out.shape == (1, 3) and torch.isfinite(out).all()
    empty = one_graph(torch.zeros(0, 3, dtype=torch.float64), edge_index=torch.zeros(2, 0, dtype=torch.long))
    assert model(empty).shape == (0, 3)


@pytest.mark.parametrize("name", list(MODELS))
def test_bad_input_messages(name, nbody_batch):
    model = build(name)
    batch = nbody_batch(2)
    nan = batch.clone()
    nan.pos = nan.pos.clone()
    nan.pos[3, 1] = float("nan")
    with pytest.raises(ValueError, match="data.pos contains non-finite"):
        model(nan)
    wrong = batch.clone()
    wrong.vel = wrong.vel[:, :2]
    with pytest.raises(FieldTypeError, match="data.vel"):
        model(wrong)
    missing = Data(pos=batch.pos, edge_index=batch.edge_index)
    with pytest.raises(ValueError, match="need data.vel"):
        model(missing)


def test_egnn_learns_one_batch(nbody_batch):
    """A few Adam steps on one batch reduce the MSE (the model is trainable as built)."""
    torch.manual_seed(0)
    model = EGNN()
    batch = nbody_batch(8, torch.float32)
    opt = torch.optim.Adam(model.parameters(), lr=5e-4)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(batch), batch.y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]


def test_egnn_fused_equals_autograd_path(nbody_batch):
    """The fused layers (hand-written backward, skipped φ_h in the last layer) match plain autograd:
    outputs and gradients. With ‖v‖ needing a gradient the first layer takes h densely (not in
    rank-one form); both forms give plain autograd's gradients, the velocities' included."""
    batch = nbody_batch(3)
    fused = build("egnn")
    plain = EGNN(fused=False).double()
    plain.load_state_dict(fused.state_dict())
    results = []
    for model in (fused, plain):
        for vel_grad in (False, True):
            data = batch.clone()
            data.vel = batch.vel.clone().requires_grad_(vel_grad)
            out = model(data)
            loss = torch.nn.functional.mse_loss(out, data.y)
            leaves = list(model.parameters()) + ([data.vel] if vel_grad else [])
            results.append((out,) + torch.autograd.grad(loss, leaves))
    for a, b in zip(results[0] + results[1], results[2] + results[3]):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)
