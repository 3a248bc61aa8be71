"""gdl.thermo.Objective: the loss over fixed batches as a function of the flat parameter vector."""
import pytest
import torch

from gdl.thermo import Objective, assign, flatten, model_mode, parameters_restored, unflatten


def _regression(n_batches=3, sizes=(4, 6, 10), seed=0):
    g = torch.Generator().manual_seed(seed)
    model = torch.nn.Linear(3, 2).double()
    batches = [(torch.randn(n, 3, generator=g, dtype=torch.float64), torch.randn(n, 2, generator=g, dtype=torch.float64))
               for n in sizes[:n_batches]]

    def loss_fn(m, batch):
        x, y = batch
        return ((m(x) - y) ** 2).mean()

    return model, loss_fn, batches


def test_loss_is_the_per_sample_mean_over_the_union_of_the_batches():
    model, loss_fn, batches = _regression()
    objective = Objective(model, loss_fn, batches)
    x = torch.cat([b[0] for b in batches])
    y = torch.cat([b[1] for b in batches])
    expected = ((model(x) - y) ** 2).mean()
    assert objective.n_samples == 20
    assert objective.loss().dtype == torch.float64
    torch.testing.assert_close(objective.loss(), expected.detach(), rtol=1e-14, atol=0)
    grad = torch.autograd.grad(expected, list(model.parameters()))
    torch.testing.assert_close(objective.grad(), flatten(grad), rtol=1e-12, atol=1e-14)
    loss, g = objective.loss_and_grad()
    torch.testing.assert_close(loss, objective.loss(), rtol=0, atol=0)
    torch.testing.assert_close(g, objective.grad(), rtol=0, atol=0)


def test_flat_vectors_round_trip_and_weights_are_restored():
    model, loss_fn, batches = _regression()
    objective = Objective(model, loss_fn, batches)
    w0 = objective.parameter_vector()
    assert w0.shape == (objective.dim,) == (8,)
    for part, p in zip(unflatten(w0, objective.params()), objective.params()):
        assert part.shape == p.shape
    with pytest.raises(RuntimeError):
        with parameters_restored(objective.params()):
            assign(objective.params(), torch.zeros(8, dtype=torch.float64))
            assert torch.equal(objective.parameter_vector(), torch.zeros(8, dtype=torch.float64))
            raise RuntimeError("leave the block")
    assert torch.equal(objective.parameter_vector(), w0)
    shifted = w0 + 0.1
    assert float(objective.loss_at(shifted)) != float(objective.loss())
    assert torch.equal(objective.parameter_vector(), w0)


def test_bad_inputs_are_named():
    model, loss_fn, batches = _regression()
    with pytest.raises(ValueError, match="at least one batch"):
        Objective(model, loss_fn, [])
    with pytest.raises(ValueError, match="flat vector of 8 entries"):
        unflatten(torch.zeros(7), list(model.parameters()))
    with pytest.raises(ValueError, match="scalar tensor"):
        Objective(model, lambda m, b: m(b[0]), batches).loss()
    with pytest.raises(TypeError, match="gdl Task"):
        Objective.from_task("nbody", model, batches)
    with pytest.raises(ValueError, match="sum to 1"):
        Objective(model, loss_fn, batches, weights=[0.5, 0.5, 0.5])


def test_from_task_uses_the_task_forward_and_loss():
    from gdl.train import get_task

    from tests.helpers.graph import make_nbody_batch

    task = get_task("nbody")
    batch = make_nbody_batch(num_graphs=2)
    torch.manual_seed(0)
    model = task.build_model("egnn", {"hidden_channels": 4, "num_layers": 1}).double()
    objective = Objective.from_task(task, model, [batch])
    expected = task.loss(task.run_forward(model, batch), batch)
    assert objective.n_samples == 2
    torch.testing.assert_close(objective.loss(), expected.detach().double(), rtol=1e-14, atol=0)


def test_model_mode_restores_each_flag():
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout(0.5))
    model.train()
    model[1].eval()
    with model_mode(model, training=False):
        assert not any(m.training for m in model.modules())
    assert model.training and model[0].training and not model[1].training
