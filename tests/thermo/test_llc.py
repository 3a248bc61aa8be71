"""The local learning coefficient: λ̂ = d/2 on a regular model, less where directions are degenerate; diagnostics; seeds.

Both acceptance models are linear regressions with unit-variance Gaussian noise, whose loss (½ · mean squared
error, the negative log-likelihood up to a constant) is exactly quadratic around w* in the regular case, so
E[nβ (L − L*)] = ½ Σ_i k_i / (k_i + γ) → d/2 for any β (k_i = nβ h_i: the curvatures). SGLD's O(ε) bias is
+½ Σ k_i ε / 2 ≈ 1 % at k ε = 0.02, the settings used here.
"""
import math

import pytest
import torch

from gdl.thermo.llc import LLCResult, local_learning_coefficient

from gdl.benchmarks.llc_models import ProductRegression, half_mse, least_squares, regression_data, regular_model

D, N = 10, 2000


def test_regular_linear_regression_gives_half_the_dimension():
    model, batches = regular_model()
    result = local_learning_coefficient(model, half_mse, batches, n=N, gamma=1.0, step_size=7.6e-5, n_chains=32,
                                        n_steps=800, n_burnin=100, generator=torch.Generator().manual_seed(1))
    assert abs(result.llc - D / 2) <= 0.05 * D / 2, result
    assert 0 < result.llc_std_error < 0.15
    assert result.n_beta == pytest.approx(N / math.log(N))
    assert result.mala_acceptance > 0.98  # the step-size check passes at k ε ≈ 0.02
    assert result.below_init_fraction == 0.0  # w* is the exact full-batch minimum
    assert result.loss_trace.shape == (32, 900)


def test_flat_directions_lower_the_coefficient_below_half_the_parameter_count():
    d = 5  # 10 parameters, as many as the regular model above; theory: λ = d/2 = 2.5, not 5
    x, y = regression_data(d, low=1.0)
    model = ProductRegression(least_squares(x, y))
    result = local_learning_coefficient(model, half_mse, [(x, y)], n=N, gamma=10.0, step_size=2e-5, n_chains=32,
                                        n_steps=800, n_burnin=100, generator=torch.Generator().manual_seed(2))
    n_parameters = sum(p.numel() for p in model.parameters())
    assert n_parameters == 10
    assert result.llc < 0.6 * n_parameters / 2, result
    assert abs(result.llc - d / 2) <= 0.1 * d / 2, result


def test_same_generator_state_same_estimate_and_the_model_is_restored():
    model, batches = regular_model(d=3)
    x, y = batches[0]
    minibatches = list(zip(x.chunk(4), y.chunk(4)))
    before = [p.detach().clone() for p in model.parameters()]
    model.train()
    runs = [local_learning_coefficient(model, half_mse, minibatches, n=N, step_size=1e-4, gamma=1.0, n_chains=3,
                                       n_steps=30, n_burnin=5, generator=torch.Generator().manual_seed(7))
            for _ in range(2)]
    assert runs[0].llc == runs[1].llc and torch.equal(runs[0].loss_trace, runs[1].loss_trace)
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), before)) and model.training
    other = local_learning_coefficient(model, half_mse, minibatches, n=N, step_size=1e-4, gamma=1.0, n_chains=3,
                                       n_steps=30, n_burnin=5, generator=torch.Generator().manual_seed(8))
    assert other.llc != runs[0].llc
    assert runs[0].below_init_fraction > 0  # minibatch losses scatter around the full-batch L(w*)


def test_vectorised_chains_equal_the_loop_over_chains():
    model, batches = regular_model(d=4)
    common = dict(n=N, step_size=5e-5, gamma=2.0, n_chains=3, n_steps=20, n_burnin=0)
    fast = local_learning_coefficient(model, half_mse, batches, vectorize=True, generator=torch.Generator().manual_seed(3), **common)
    slow = local_learning_coefficient(model, half_mse, batches, vectorize=False, generator=torch.Generator().manual_seed(3), **common)
    assert fast.info["vectorized"] == 1.0 and slow.info["vectorized"] == 0.0
    torch.testing.assert_close(fast.loss_trace, slow.loss_trace, rtol=1e-10, atol=1e-12)
    assert fast.mala_acceptance == pytest.approx(slow.mala_acceptance, rel=1e-8)


def test_a_too_large_step_fails_the_acceptance_check():
    model, batches = regular_model(d=4)
    common = dict(n=N, gamma=1.0, n_chains=4, n_steps=40, n_burnin=0, check_every=1)
    good = local_learning_coefficient(model, half_mse, batches, step_size=2e-5, generator=torch.Generator().manual_seed(4), **common)
    bad = local_learning_coefficient(model, half_mse, batches, step_size=6e-3, generator=torch.Generator().manual_seed(4), **common)
    assert good.mala_acceptance > 0.99 > 0.6 > bad.mala_acceptance
    assert bad.drift_to_noise > good.drift_to_noise


def test_a_diverging_chain_names_the_step_size():
    model, batches = regular_model(d=4)
    with pytest.raises(FloatingPointError, match="step_size = 1 is too large"):
        local_learning_coefficient(model, half_mse, batches, n=N, step_size=1.0, n_chains=2, n_steps=400, n_burnin=0,
                                   generator=torch.Generator().manual_seed(0))


class _FakeObjective:
    def __init__(self, model, batches):
        self.model, self.loss_fn, self.batches, self.n_samples = model, half_mse, batches, N


def test_objective_input_and_bad_arguments():
    model, batches = regular_model(d=3)
    result = local_learning_coefficient(_FakeObjective(model, batches), step_size=1e-5, n_chains=2, n_steps=5, n_burnin=0,
                                        generator=torch.Generator().manual_seed(0))
    assert isinstance(result, LLCResult) and result.n == N and set(result.as_dict()) >= {"llc", "llc_std_error"}
    with pytest.raises(TypeError, match="needs loss_fn"):
        local_learning_coefficient(model, n=N)
    with pytest.raises(TypeError, match="without model, loss_fn, batches"):
        local_learning_coefficient(object())
    with pytest.raises(ValueError, match="n \\(the number of training samples"):
        local_learning_coefficient(model, half_mse, batches)
    with pytest.raises(ValueError, match="batches is empty"):
        local_learning_coefficient(model, half_mse, [], n=N)
    for key, value in (("gamma", -1.0), ("step_size", 0.0), ("n_chains", 0), ("beta", float("nan")), ("n_steps", 1.5)):
        with pytest.raises(ValueError, match=key):
            local_learning_coefficient(model, half_mse, batches, n=N, **{key: value})
    with pytest.raises(ValueError, match="vectorize must be"):
        local_learning_coefficient(model, half_mse, batches, n=N, vectorize="yes")
    with pytest.raises(TypeError, match="scalar tensor"):
        local_learning_coefficient(model, lambda m, b: (m(b[0]).squeeze(-1) - b[1]) ** 2, batches, n=N, n_steps=1)


def test_a_landscape_objective_with_unequal_batches():
    from gdl.thermo import Objective

    model, batches = regular_model(d=3)
    x, y = batches[0]
    objective = Objective(model, half_mse, [(x[:500], y[:500]), (x[500:], y[500:])])
    assert objective.n_samples == N and objective.weights == [0.25, 0.75]
    result = local_learning_coefficient(objective, step_size=1e-5, gamma=1.0, n_chains=2, n_steps=10, n_burnin=0,
                                        generator=torch.Generator().manual_seed(0))
    assert result.n == N
    assert result.init_loss == pytest.approx(float(objective.loss()), rel=1e-12)  # L(w*) = Σ ω_b L_b


def test_trace_plot_is_written(tmp_path):
    pytest.importorskip("matplotlib")
    model, batches = regular_model(d=2)
    result = local_learning_coefficient(model, half_mse, batches, n=N, step_size=1e-4, gamma=1.0, n_chains=2,
                                        n_steps=20, n_burnin=5, generator=torch.Generator().manual_seed(0))
    ax = result.plot_trace(tmp_path / "trace.png")
    assert (tmp_path / "trace.png").stat().st_size > 1000 and len(ax.lines) == 3  # 2 chains + the λ̂ line
