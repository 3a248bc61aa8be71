"""Print the mutation detection table of docs/testing.md.

    python -m gdl.testing.mutation_table [--seeds 50]

For each deliberately broken module of ``gdl.testing.mutations`` and each defect size ε: in
how many of the seeds ``check_equivariance`` (default tolerances) flags it, in float32 and
float64. For the O(3) tensor modules, the same count for e3nn's own
``e3nn.util.test.assert_equivariant`` (one random rotation, absolute tolerance) as a baseline.
Last, how many correct modules passed for every seed.
"""
from __future__ import annotations

import argparse

import torch

from gdl.testing import check_equivariance
from gdl.testing.mutations import CORRECT, MUTATIONS

EPSILONS = (1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7)


def detection(name: str, eps: float, dtype: torch.dtype, seeds: int) -> int:
    flagged = 0
    for seed in range(seeds):
        model, inputs = MUTATIONS[name].build(eps, seed, dtype)
        flagged += not check_equivariance(model, *inputs, seed=seed).passed
    return flagged


def e3nn_detection(name: str, eps: float, dtype: torch.dtype, seeds: int):
    """How often e3nn's assert_equivariant raises, for modules typed by e3nn irreps (else None)."""
    from e3nn.util.test import assert_equivariant

    flagged = 0
    for seed in range(seeds):
        model, inputs = MUTATIONS[name].build(eps, seed, dtype)
        irreps_in = getattr(model, "irreps_in", None) or getattr(getattr(model, "in_type", None), "e3nn_irreps", None)
        irreps_out = getattr(model, "irreps_out", None) or getattr(getattr(model, "out_type", None), "e3nn_irreps", None)
        if irreps_in is None or irreps_out is None or len(inputs) != 1:
            return None
        torch.manual_seed(seed)
        try:
            assert_equivariant(model, args_in=list(inputs), irreps_in=[irreps_in], irreps_out=[irreps_out])
        except AssertionError:
            flagged += 1
    return flagged


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=50)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    n = args.seeds
    head = " | ".join(f"ε={e:.0e}" for e in EPSILONS)
    print(f"Flagged / {n} seeds (gdl.testing.check_equivariance, default tolerances)\n")
    print(f"| module (caught by) | dtype | {head} |")
    print("|---|---|" + "---|" * len(EPSILONS))
    for name, case in MUTATIONS.items():
        for dtype in (torch.float32, torch.float64):
            cells = " | ".join(f"{detection(name, e, dtype, n)}/{n}" for e in EPSILONS)
            print(f"| {name} ({case.caught_by}) | {str(dtype)[6:]} | {cells} |")
    print(f"\nBaseline: e3nn.util.test.assert_equivariant on the same O(3) modules (flagged / {n})\n")
    print(f"| module | dtype | {head} |")
    print("|---|---|" + "---|" * len(EPSILONS))
    for name in MUTATIONS:
        for dtype in (torch.float32, torch.float64):
            counts = [e3nn_detection(name, e, dtype, n) for e in EPSILONS]
            if counts[0] is None:
                break
            print(f"| {name} | {str(dtype)[6:]} | " + " | ".join(f"{c}/{n}" for c in counts) + " |")
    print(f"\nCorrect modules passing for all {n} seeds:\n")
    print("| module | float32 | float64 |")
    print("|---|---|---|")
    for name, build in CORRECT.items():
        cells = []
        for dtype in (torch.float32, torch.float64):
            ok = sum(check_equivariance(*_flat(build(seed, dtype)), seed=seed).passed for seed in range(n))
            cells.append(f"{ok}/{n}")
        print(f"| {name} | {cells[0]} | {cells[1]} |")


def _flat(built):
    model, inputs = built
    return (model, *inputs)


if __name__ == "__main__":
    main()
