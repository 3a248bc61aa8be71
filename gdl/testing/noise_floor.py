"""Measure the equivariance noise floor of correct modules in float32 and float64.

    python -m gdl.testing.noise_floor [--seeds 20]

For each correct module and dtype: the max and median (over seeds) of the checker's max
relative error (generators + 8 grid + 8 random elements per symmetry). The default
tolerances in ``gdl.testing._tolerances`` sit above these floors; docs/testing.md quotes the
table with this command.
"""
from __future__ import annotations

import argparse
import statistics

import torch
from e3nn import o3

from gdl.testing import check_equivariance
from gdl.testing._tolerances import default_rtol
from gdl.testing.mutations import (
    CORRECT,
    EGNNStack,
    IsotropicSphericalFilter,
    _default_dtype,
    random_graph_batch,
)


def _tp_cast(seed, dtype):
    """An e3nn tensor product built in float32 and cast to ``dtype`` (a common trap)."""
    torch.manual_seed(seed)
    with _default_dtype(torch.float32):
        tp = o3.FullyConnectedTensorProduct("4x0e+4x1o+2x2e", "0e+1o+2e", "4x0e+4x1o+2x2e")
    tp = tp.to(dtype)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(16, tp.irreps_in1.dim, generator=gen, dtype=torch.float64).to(dtype)
    y = torch.randn(16, tp.irreps_in2.dim, generator=gen, dtype=torch.float64).to(dtype)
    return tp, (x, y)


def _egnn(seed, dtype):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = EGNNStack(4, 64).to(dtype)
    edge_index, _, pos = random_graph_batch(1, 5, gen, dtype)
    h = torch.randn(5, 64, generator=gen, dtype=torch.float64).to(dtype)
    return model, (h, pos, edge_index)


def _sh_filter(seed, dtype):
    torch.manual_seed(seed)
    model = IsotropicSphericalFilter(6).to(dtype)
    gen = torch.Generator().manual_seed(seed)
    return model, (torch.randn(4, 49, generator=gen, dtype=torch.float64).to(dtype),)


def _gauge(seed, dtype):
    return CORRECT["untransported message (ε = 0)"](seed, dtype)


MODULES = {
    "e3nn FullyConnectedTensorProduct (8 paths, l ≤ 2)": CORRECT["e3nn FullyConnectedTensorProduct"],
    "e3nn tensor product built in float32, cast": _tp_cast,
    "gdl rep x ⊗ x (vectors)": CORRECT["gdl rep tensor product x ⊗ x"],
    "isotropic filter on SH coefficients, l ≤ 6": _sh_filter,
    "EGNN-style stack, 4 layers × 64 (E(3) + permutations)": _egnn,
    "gauge convolution ρ0+ρ1+ρ2 (gauge + permutations)": _gauge,
}


def measure(seeds: int = 20):
    rows = []
    for name, build in MODULES.items():
        row = [name]
        for dtype in (torch.float32, torch.float64):
            errs = []
            for seed in range(seeds):
                model, inputs = build(seed, dtype)
                errs.append(check_equivariance(model, *inputs, seed=seed, rtol=1.0).max_error)
            row += [max(errs), statistics.median(errs)]
        rows.append(row)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print(f"| module | float32 max | float32 median | float64 max | float64 median |")
    print("|---|---|---|---|---|")
    for name, a, b, c, d in measure(args.seeds):
        print(f"| {name} | {a:.1e} | {b:.1e} | {c:.1e} | {d:.1e} |")
    print(f"\ndefault rtol: float32 {default_rtol(torch.float32):.0e}, float64 {default_rtol(torch.float64):.0e} "
          f"({args.seeds} seeds each)")


if __name__ == "__main__":
    main()
