"""Speed of the group core on a 10 000-element batch (issue: "runs in milliseconds").

    python -m gdl.benchmarks.groups_speed [--n 10000] [--irreps 4x0e+4x1o+2x2e] [--threads 1]

Times SO(3) compose, inverse, ``matrix`` and ``act`` of an e3nn-irreps rep in float64 and
float32 (median of repeats, after warm-up), ``act`` also without input validation (for
callers that already checked), next to e3nn's own ``Irreps.D_from_matrix``.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
from e3nn import o3

from gdl.groups import SO3


def median_ms(fn, repeats: int = 20) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def run(n: int = 10_000, irreps: str = "4x0e+4x1o+2x2e", repeats: int = 20) -> list[tuple[str, str, float]]:
    group = SO3()
    rep = group.irreps(irreps)
    rows = []
    for dtype in (torch.float64, torch.float32):
        gen = torch.Generator().manual_seed(0)
        a = group.sample(n, gen, dtype=dtype)
        b = group.sample(n, gen, dtype=dtype)
        x = torch.randn(n, rep.dim, generator=gen, dtype=torch.float64).to(dtype)
        name = str(dtype).replace("torch.", "")
        rows += [
            (name, "compose", median_ms(lambda: group.compose(a, b), repeats)),
            (name, "inverse", median_ms(lambda: group.inverse(a), repeats)),
            (name, f"matrix {irreps}", median_ms(lambda: rep.matrix(a), repeats)),
            (name, f"act {irreps}", median_ms(lambda: rep.act(a, x), repeats)),
            (name, f"act {irreps}, validate=False", median_ms(lambda: rep.act(a, x, validate=False), repeats)),
            (name, "e3nn Irreps.D_from_matrix (reference)", median_ms(lambda: o3.Irreps(irreps).D_from_matrix(a), max(3, repeats // 5))),
        ]
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--irreps", default="4x0e+4x1o+2x2e")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"SO(3), batch of {args.n} elements, {args.threads} thread(s), median of {args.repeats}")
    print(f"| dtype | operation | ms |\n|---|---|---|")
    for dtype, op, ms in run(args.n, args.irreps, args.repeats):
        print(f"| {dtype} | {op} | {ms:.2f} |")


if __name__ == "__main__":
    main()
