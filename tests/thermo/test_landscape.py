"""gdl.thermo.landscape: Hessian-vector products, Lanczos, Hutchinson / Hutch++, SLQ, loss slices, noise scales.

Acceptance (issue #14): λ_max within 1e-6 relative of the dense eigen-decomposition on a ≤ 100-parameter
gdl model (the N-body EGNN, 59 parameters, float64); Hutchinson within 2 standard errors of the exact
trace; eigenvalues, trace and spectral density invariant under a global rotation of the data (≤ 1e-8,
same probes); on a known indefinite Hessian power iteration returns the largest-magnitude (negative)
eigenvalue while Lanczos returns the top algebraic one.
"""

import pytest
import torch

from gdl.thermo import Objective, twice_differentiable, unflatten
from gdl.thermo import landscape as L


# ---------------------------------------------------------------------------- fixtures (test-local)
def _egnn_objective(rotation=None, n_graphs=4):
    """The N-body EGNN (hidden 2, one layer: 59 parameters) in float64 on ``n_graphs`` N-body systems;
    ``rotation`` Q[3, 3] rotates positions, velocities and targets of every graph."""
    from gdl.train import get_task
    from tests.helpers.graph import make_nbody_batch

    task = get_task("nbody")
    torch.manual_seed(0)
    model = task.build_model("egnn", {"hidden_channels": 2, "num_layers": 1}).double()
    batch = make_nbody_batch(n_graphs)
    if rotation is not None:
        batch.pos, batch.vel, batch.y = batch.pos @ rotation.T, batch.vel @ rotation.T, batch.y @ rotation.T
    return Objective.from_task(task, model, [batch])


def _reference_hessian(objective):
    """H by torch.autograd.functional.hessian of w ↦ L(w) (model called with swapped parameters)."""
    names = {id(p): n for n, p in objective.model.named_parameters()}
    keys = [names[id(p)] for p in objective.params()]
    w0 = objective.parameter_vector()

    def loss_of(w):
        values = dict(zip(keys, unflatten(w, objective.params())))
        total = 0.0
        for weight, batch in zip(objective.weights, objective.batches):
            total = total + weight * objective.loss_fn(_Swapped(objective.model, values), batch)
        return total

    with twice_differentiable(objective.model):
        return torch.autograd.functional.hessian(loss_of, w0)


class _Swapped(torch.nn.Module):
    """Calls ``model`` with ``values`` in place of its parameters (torch.func.functional_call)."""

    def __init__(self, model, values):
        super().__init__()
        self.inner, self.values = model, values

    def forward(self, *args):
        from torch.func import functional_call

        return functional_call(self.inner, self.values, args)


def _quadratic(eigenvalues, seed=0):
    """L(w) = ½ wᵀ A w with A = U diag(eigenvalues) Uᵀ (U Haar-random): a model whose Hessian is A exactly."""
    g = torch.Generator().manual_seed(seed)
    eigenvalues = torch.as_tensor(eigenvalues, dtype=torch.float64)
    u, _ = torch.linalg.qr(torch.randn(len(eigenvalues), len(eigenvalues), generator=g, dtype=torch.float64))
    a = u @ torch.diag(eigenvalues) @ u.T
    a = 0.5 * (a + a.T)
    model = torch.nn.Module()
    model.w = torch.nn.Parameter(torch.randn(len(eigenvalues), generator=g, dtype=torch.float64))
    objective = Objective(model, lambda m, batch: 0.5 * m.w @ batch @ m.w, [a])
    return objective, a


class _MatrixOperator:
    """A dense symmetric matrix as an operator (dim, matvec, matmat, n_products): tests the estimators alone."""

    def __init__(self, a):
        self.a, self.dim, self.n_products = a, a.shape[0], 0

    def matvec(self, v):
        self.n_products += 1
        return self.a @ v

    def matmat(self, m):
        self.n_products += m.shape[1]
        return self.a @ m


@pytest.fixture(scope="module")
def egnn():
    objective = _egnn_objective()
    assert objective.dim == 59
    hessian = _reference_hessian(objective)
    return objective, hessian, torch.linalg.eigvalsh(hessian)


# ---------------------------------------------------------------------------- Hessian-vector products
def test_dense_hessian_from_products_equals_autograd_functional_hessian(egnn):
    objective, hessian, _ = egnn
    assert objective.model.layers[0].fused  # the fast path is on: products switch it off themselves
    torch.testing.assert_close(L.dense_hessian(objective), hessian, rtol=1e-10, atol=1e-12)
    assert objective.model.layers[0].fused  # and back on afterwards


def test_func_products_equal_double_backward_on_a_plain_network():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 1)).double()
    x, y = torch.randn(20, 3, dtype=torch.float64), torch.randn(20, 1, dtype=torch.float64)
    objective = Objective(model, lambda m, b: ((m(b[0]) - b[1]) ** 2).mean(), [(x[:8], y[:8]), (x[8:], y[8:])])
    v = torch.randn(objective.dim, dtype=torch.float64)
    reference = L.hessian_vector_product(objective, v)
    torch.testing.assert_close(L.HessianOperator(objective, method="func") @ v, reference, rtol=1e-12, atol=1e-13)
    cached = L.HessianOperator(objective)
    torch.testing.assert_close(cached @ v, reference, rtol=1e-13, atol=1e-14)
    with torch.no_grad():  # moving the weights in place invalidates the cached gradient graphs
        model[0].weight.add_(0.3)
    torch.testing.assert_close(cached @ v, L.hessian_vector_product(objective, v), rtol=1e-13, atol=1e-14)
    with pytest.raises(ValueError, match="flat vector of 26 entries"):
        cached @ torch.zeros(25)
    with pytest.raises(ValueError, match="unknown Hessian-vector method"):
        L.HessianOperator(objective, method="finite_differences")


def test_a_once_differentiable_gradient_is_an_error_not_a_zero_hessian():
    class Square(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 2

        @staticmethod
        @torch.autograd.function.once_differentiable
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return 2 * x * grad

    model = torch.nn.Linear(2, 1).double()
    objective = Objective(model, lambda m, x: Square.apply(m(x)).mean(), [torch.ones(3, 2, dtype=torch.float64)])
    with pytest.raises(RuntimeError, match="no autograd graph"):
        L.hessian_vector_product(objective, torch.ones(3, dtype=torch.float64))


# ---------------------------------------------------------------------------- eigenvalues
def test_lanczos_top_and_bottom_eigenvalues_match_the_dense_decomposition(egnn):
    objective, _, eigenvalues = egnn
    top = L.top_hessian_eigenvalues(objective, k=3, tol=1e-10, seed=1)
    assert top.converged and top.n_products < objective.dim
    assert abs(top.max - float(eigenvalues[-1])) <= 1e-6 * abs(float(eigenvalues[-1]))
    torch.testing.assert_close(top.eigenvalues, eigenvalues[-3:].flip(0), rtol=1e-6, atol=0)
    bottom = L.bottom_hessian_eigenvalues(objective, k=2, tol=1e-10, seed=1)
    torch.testing.assert_close(bottom.eigenvalues, eigenvalues[:2], rtol=1e-6, atol=0)
    assert float(eigenvalues[0]) < 0 < float(eigenvalues[-1])  # an indefinite Hessian of an untrained model
    hessian_times_vector = L.dense_hessian(objective) @ top.eigenvectors[:, 0]
    assert float((hessian_times_vector - top.max * top.eigenvectors[:, 0]).norm()) <= 1e-6 * abs(top.max)


def test_power_iteration_returns_the_largest_magnitude_lanczos_the_top_algebraic():
    spectrum = [-13126.0, 3122.0, 250.0, 40.0, 3.0, 0.5, 0.0, -7.0, -900.0, 12.0]
    objective, _ = _quadratic(spectrum)
    power = L.power_iteration(objective, n_iterations=2000, tol=1e-12, seed=0)
    assert power.eigenvalue == pytest.approx(-13126.0, rel=1e-8)
    top = L.top_hessian_eigenvalues(objective, k=2, seed=0)
    assert top.eigenvalues.tolist() == pytest.approx([3122.0, 250.0], rel=1e-9)
    assert L.bottom_hessian_eigenvalues(objective, k=1, seed=0).eigenvalues.tolist() == pytest.approx([-13126.0], rel=1e-9)


# ---------------------------------------------------------------------------- trace
def test_hutchinson_and_hutchpp_are_within_two_standard_errors_of_the_exact_trace(egnn):
    objective, hessian, _ = egnn
    exact = float(torch.trace(hessian))
    estimate = L.hutchinson_trace(objective, n_probes=100, seed=0)
    assert estimate.n_products == 100 and estimate.standard_error > 0
    assert abs(estimate.value - exact) <= 2 * estimate.standard_error
    plus = L.hutchpp_trace(objective, n_products=45, seed=0)
    assert abs(plus.value - exact) <= 2 * plus.standard_error + 1e-12
    assert plus.standard_error < estimate.standard_error  # deflation removes the large eigenvalues' variance


def test_rademacher_standard_error_follows_the_off_diagonal_mass():
    objective, a = _quadratic([5.0, 3.0, -2.0, 1.0, 0.5, 0.1])
    estimate = L.hutchinson_trace(_MatrixOperator(a), n_probes=4000, seed=3)
    variance = 2 * float((a ** 2).sum() - (torch.diagonal(a) ** 2).sum())  # Var zᵀAz, z Rademacher
    assert estimate.standard_error ** 2 * 4000 == pytest.approx(variance, rel=0.1)
    assert abs(estimate.value - float(torch.trace(a))) <= 3 * estimate.standard_error
    with pytest.raises(ValueError, match="n_probes must be ≥ 2"):
        L.hutchinson_trace(objective, n_probes=1)


# ---------------------------------------------------------------------------- spectral density
def test_slq_nodes_are_the_eigenvalues_and_the_density_integrates_to_one():
    spectrum = torch.tensor([-3.0, -1.0, 0.5, 2.0, 4.0, 9.0], dtype=torch.float64)
    objective, a = _quadratic(spectrum)
    density = L.spectral_density(objective, n_iterations=6, n_probes=3, sigma=0.05, n_grid=4000, seed=0)
    for nodes in density.nodes:
        torch.testing.assert_close(nodes.sort().values, spectrum, rtol=0, atol=1e-9)
    assert float(torch.trapezoid(density.density, density.grid)) == pytest.approx(1.0, abs=1e-6)
    assert torch.allclose(density.weights.sum(dim=1), torch.ones(3, dtype=torch.float64))
    assert density.n_products == 18


# ---------------------------------------------------------------------------- symmetry
def test_spectrum_trace_and_density_are_invariant_under_a_global_rotation_of_the_data(egnn):
    objective, _, _ = egnn
    g = torch.Generator().manual_seed(7)
    q, r = torch.linalg.qr(torch.randn(3, 3, generator=g, dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(r))
    rotated = _egnn_objective(rotation=q)
    assert (rotated.parameter_vector() == objective.parameter_vector()).all()
    for f in (lambda o: L.top_hessian_eigenvalues(o, k=3, seed=2, max_iterations=20).eigenvalues,
              lambda o: L.bottom_hessian_eigenvalues(o, k=2, seed=2, max_iterations=20).eigenvalues,
              lambda o: torch.tensor([L.hutchinson_trace(o, n_probes=8, seed=4).value]),
              lambda o: L.spectral_density(o, n_iterations=10, n_probes=2, seed=5, sigma=0.1,
                                           grid=torch.linspace(-5, 5, 201, dtype=torch.float64)).density):
        before, after = f(objective), f(rotated)
        assert float((after - before).abs().max()) <= 1e-8 * float(before.abs().max())


# ---------------------------------------------------------------------------- slices
def test_filter_normalised_directions_and_slices(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1)).double()
    x, y = torch.randn(16, 3, dtype=torch.float64), torch.randn(16, 1, dtype=torch.float64)
    objective = Objective(model, lambda m, b: ((m(b[0]) - b[1]) ** 2).mean(), [(x, y)])
    g = torch.Generator().manual_seed(0)
    direction = L.filter_normalized_direction(objective.params(), g)
    for piece, p in zip(unflatten(direction, objective.params()), objective.params()):
        w = p.detach()
        if w.dim() == 2:
            torch.testing.assert_close(piece.norm(dim=1), w.norm(dim=1), rtol=1e-12, atol=0)
        else:
            assert float(piece.norm()) == pytest.approx(float(w.norm()), rel=1e-12)
    zeroed = L.filter_normalized_direction(objective.params(), torch.Generator().manual_seed(0), one_dimensional="zero")
    assert float(unflatten(zeroed, objective.params())[1].abs().max()) == 0.0
    w0 = objective.parameter_vector()
    line = L.loss_slice_1d(objective, torch.linspace(-1, 1, 5, dtype=torch.float64), seed=1)
    assert line.losses[2] == pytest.approx(float(objective.loss()), rel=1e-14)
    assert line.losses[0] != line.losses[2]
    plane = L.loss_slice_2d(objective, torch.linspace(-1, 1, 3), torch.linspace(-0.5, 0.5, 3), seed=2)
    assert plane.losses.shape == (3, 3) and plane.losses[1, 1] == pytest.approx(line.center_loss, rel=1e-14)
    assert torch.equal(objective.parameter_vector(), w0)  # weights restored bit for bit
    line.plot(tmp_path / "line.png")
    plane.plot(tmp_path / "plane.png")
    assert (tmp_path / "line.png").stat().st_size > 0 and (tmp_path / "plane.png").stat().st_size > 0


# ---------------------------------------------------------------------------- SGD noise
def test_sgd_temperature():
    assert L.sgd_temperature(0.1, 100) == pytest.approx(1e-3)
    assert L.sgd_temperature(0.1, 100, momentum=0.9) == pytest.approx(1e-2)
    with pytest.raises(ValueError, match="batch size must be ≥ 1"):
        L.sgd_temperature(0.1, 0)


def test_gradient_noise_scale_recovers_the_per_sample_covariance_trace():
    g = torch.Generator().manual_seed(0)
    n, batch = 2000, 10
    x = torch.randn(n, 3, generator=g, dtype=torch.float64)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]], dtype=torch.float64) + 0.3 + torch.randn(n, 1, generator=g, dtype=torch.float64)
    model = torch.nn.Linear(3, 1).double()
    with torch.no_grad():
        model.weight.fill_(0.2)
        model.bias.fill_(-0.1)

    def loss_fn(m, b):
        return ((m(b[0]) - b[1]) ** 2).mean()

    batches = [(x[i:i + batch], y[i:i + batch]) for i in range(0, n, batch)]
    objective = Objective(model, loss_fn, batches)
    with torch.no_grad():  # per-sample gradients of (w·x + b − y)²: 2 r (x, 1)
        residual = model(x) - y
        per_sample = 2 * residual * torch.cat([x, torch.ones(n, 1, dtype=torch.float64)], dim=1)
    exact_trace = float(per_sample.var(dim=0, unbiased=True).sum())
    exact_norm = float(per_sample.mean(dim=0).norm() ** 2)
    noise = L.gradient_noise_scale(objective)
    assert noise.n_batches == 200
    assert noise.trace_covariance == pytest.approx(exact_trace, rel=0.15)
    assert noise.gradient_norm_squared == pytest.approx(exact_norm, rel=0.05)
    assert noise.b_simple == pytest.approx(exact_trace / exact_norm, rel=0.2)
    with pytest.raises(ValueError, match="≥ 2 batches"):
        L.gradient_noise_scale(Objective(model, loss_fn, batches[:1]))
