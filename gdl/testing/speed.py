"""Time one equivariance check of a 100-graph batch of 5-node point clouds.

    python -m gdl.testing.speed [--graphs 100] [--nodes 5] [--device cpu] [--repeats 5]

Model: a 4-layer EGNN-style stack (hidden 64, ``gdl.testing.mutations.EGNNStack``) on fully
connected graphs. Symmetry: E(3) with 20 elements (7 generators + 5 grid + 8 random), run
in one stacked call; then the default derived symmetries (E(3) + node permutations with edge
reorderings, 37 elements). Prints the median wall time of ``repeats`` checks after one warm-up, one thread.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from gdl.testing import EuclideanSymmetry, check_equivariance
from gdl.testing.mutations import EGNNStack, random_graph_batch


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graphs", type=int, default=100)
    parser.add_argument("--nodes", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    edge_index, batch, pos = random_graph_batch(args.graphs, args.nodes, gen, torch.float32)
    h = torch.randn(pos.shape[0], 64, generator=gen)
    model = EGNNStack(4, 64).to(args.device)
    sample = (h.to(args.device), pos.to(args.device), edge_index.to(args.device))
    for label, kwargs in [("E(3), 20 elements", dict(symmetry=EuclideanSymmetry(3), n_grid=5, n_random=8)),
                          ("derived: E(3) + node permutation", {})]:
        report = check_equivariance(model, *sample, **kwargs)  # warm-up
        times = []
        for _ in range(args.repeats):
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            report = check_equivariance(model, *sample, **kwargs)
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            times.append(time.perf_counter() - t0)
        print(f"{label}: {len(report.results)} elements, {args.graphs} graphs × {args.nodes} nodes on {args.device}: "
              f"median {statistics.median(times) * 1e3:.0f} ms (min {min(times) * 1e3:.0f} ms), "
              f"max error {report.max_error:.1e}, batched={report.batched}")


if __name__ == "__main__":
    main()
