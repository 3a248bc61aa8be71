"""A short demo: build groups and representations and check them numerically.

    python -m gdl.demo
"""
from __future__ import annotations

import torch

from gdl.groups import O2, O3, SO2, SO3, Cyclic, Dihedral, Euclidean, Symmetric


def representation_errors():
    """max |ρ(g∘h) − ρ(g)ρ(h)| over test elements ∪ 100 random samples, float64."""
    cases = [
        (Cyclic(8), Cyclic(8).regular_rep()),
        (Dihedral(6), Dihedral(6).standard_rep()),
        (SO2(), 2 * SO2().irrep(1) + SO2().irrep(3)),
        (O2(), O2().irrep(2)),
        (SO3(), SO3().irreps("4x0e+4x1o+2x2e")),
        (O3(), O3().irreps("2x0o+1e+3o")),
        (Symmetric(5), Symmetric(5).standard_rep()),
        (Euclidean(3), Euclidean(3).standard_rep()),
    ]
    for group, rep in cases:
        gen = torch.Generator().manual_seed(0)
        e = group.cat([group.test_elements(dtype=torch.float64), group.sample(100, gen, dtype=torch.float64)])
        h = group.select(e, torch.randperm(group.batch_size(e), generator=gen))
        lhs = rep.matrix(group.compose(e, h), dtype=torch.float64)
        rhs = rep.matrix(e, dtype=torch.float64) @ rep.matrix(h, dtype=torch.float64)
        yield group, rep, group.batch_size(e), (lhs - rhs).abs().max().item()


def main():
    print("gdl demo: ρ(g∘h) = ρ(g)ρ(h) on test elements ∪ 100 random samples (float64)\n")
    print(f"{'group':<8} {'representation':<28} {'elements':>8} {'max error':>10}")
    for group, rep, n, err in representation_errors():
        print(f"{group.name:<8} {str(rep)[:28]:<28} {n:>8} {err:>10.1e}")


if __name__ == "__main__":
    main()
