r"""The local learning coefficient on models whose λ is known: the acceptance models of ``gdl.thermo.llc``.

    nice -n 10 env OMP_NUM_THREADS=1 python -m gdl.benchmarks.llc_models

- ``regular``: linear regression y = w·x + ε (d = 10 parameters, x ~ N(0, I), ε ~ N(0, 1), n = 2000), w* the
  exact least-squares minimum; the loss ½·MSE is the negative log-likelihood up to a constant, exactly
  quadratic, so λ = d/2 = 5.
- ``product``: y = (a ⊙ b)·x with a, b ∈ R^5 (10 parameters): the loss depends on them only through
  c = a ⊙ b, so each hyperbola a_i b_i = c_i is an exactly flat direction and λ = 5/2 at a minimum with every
  c_i ≠ 0 — half the regular value for the same number of parameters.

Both run SGLD (32 chains × 800 steps after 100 of burn-in, full batch) with the settings of
tests/thermo/test_llc.py and print λ̂ ± its standard error, the MALA acceptance and the wall time.
"""
from __future__ import annotations

import argparse
import json
import time

import torch

from gdl.thermo.llc import local_learning_coefficient

N_SAMPLES = 2000


def half_mse(model, batch):
    """½ · mean squared error of a batch ``(x, y)``: the Gaussian negative log-likelihood (unit variance) + const."""
    x, y = batch
    return 0.5 * ((model(x).squeeze(-1) - y) ** 2).mean()


def regression_data(d: int, n: int = N_SAMPLES, seed: int = 0, low: float = 0.0):
    """x [n, d] ~ N(0, I), y = x·w_true + N(0, 1) (float64); ``low`` > 0 puts every |w_true,i| in [low, low + 1)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    w_true = torch.randn(d, generator=g, dtype=torch.float64)
    if low:
        w_true = torch.sign(w_true) * (low + w_true.abs() % 1.0)
    y = x @ w_true + torch.randn(n, generator=g, dtype=torch.float64)
    return x, y


def least_squares(x, y) -> torch.Tensor:
    return torch.linalg.lstsq(x, y.unsqueeze(1)).solution.squeeze(1)


def regular_model(d: int = 10, seed: int = 0, n: int = N_SAMPLES):
    """(linear model at its exact least-squares minimum, [(x, y)])."""
    x, y = regression_data(d, n=n, seed=seed)
    model = torch.nn.Linear(d, 1, bias=False).double()
    with torch.no_grad():
        model.weight.copy_(least_squares(x, y).unsqueeze(0))
    return model, [(x, y)]


class ProductRegression(torch.nn.Module):
    """y = (a ⊙ b)·x with parameters a, b ∈ R^d, started at a minimum: a = sign(c)·√|c|, b = √|c|."""

    def __init__(self, c: torch.Tensor):
        super().__init__()
        root = c.abs().sqrt()
        self.a = torch.nn.Parameter(root * torch.sign(c))
        self.b = torch.nn.Parameter(root.clone())

    def forward(self, x):
        return x @ (self.a * self.b)


def product_model(d: int = 5, seed: int = 0, n: int = N_SAMPLES):
    x, y = regression_data(d, n=n, seed=seed, low=1.0)
    return ProductRegression(least_squares(x, y)), [(x, y)]


SETTINGS = {
    "regular": dict(gamma=1.0, step_size=7.6e-5, seed=1),  # k ε ≈ 0.02 for the curvatures k = nβ h ≈ 263
    "product": dict(gamma=10.0, step_size=2e-5, seed=2),  # transverse curvatures nβ (a² + b²) h up to ≈ 1000
}


def measure(name: str, n_chains: int = 32, n_steps: int = 800, n_burnin: int = 100) -> dict:
    model, batches = regular_model() if name == "regular" else product_model()
    options = SETTINGS[name]
    start = time.perf_counter()
    result = local_learning_coefficient(model, half_mse, batches, n=N_SAMPLES, gamma=options["gamma"],
                                        step_size=options["step_size"], n_chains=n_chains, n_steps=n_steps,
                                        n_burnin=n_burnin, generator=torch.Generator().manual_seed(options["seed"]))
    parameters = sum(p.numel() for p in model.parameters())
    theory = 5.0 if name == "regular" else 2.5
    return {"model": name, "parameters": parameters, "theory": theory, "llc": result.llc,
            "llc_std_error": result.llc_std_error, "mala_acceptance": result.mala_acceptance,
            "n_beta": result.n_beta, "seconds": time.perf_counter() - start}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["regular", "product"], choices=sorted(SETTINGS))
    args = parser.parse_args(argv)
    for name in args.models:
        print(json.dumps(measure(name)), flush=True)


if __name__ == "__main__":
    main()
