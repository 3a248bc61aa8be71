"""Measured equivariance errors of every gdl.nn.graph layer and gdl.models N-body model (untrained, seeded).

    python -m gdl.benchmarks.layer_errors

Each row runs ``gdl.testing.check_equivariance`` (default elements: generators, 8 grid, 8
random) on a batch of 8 charged 5-body systems from gdl's simulator, in float64 (modules built
under float64) and float32, and prints the largest relative error per symmetry. Layers get
random features of their input irreps / channels; the N-body models read the batch itself.
"""
from __future__ import annotations

import argparse

import torch
from e3nn import o3

from gdl.nn.graph import EGNNConv, GINConv, GraphReadout, SteerableConv, TensorFieldConv, edge_spherical_harmonics
from gdl.testing import NodePermutation, check_equivariance
from gdl.train import get_task


def _layer_cases(batch, dtype):
    gen = torch.Generator().manual_seed(0)
    n, e = batch.num_nodes, batch.edge_index.shape[1]

    def rand(*shape):
        return torch.randn(*shape, generator=gen).to(dtype)

    edge_attr = (batch.charges[batch.edge_index[0]] * batch.charges[batch.edge_index[1]])
    sh = o3.Irreps.spherical_harmonics(1)
    src, dst = batch.edge_index
    count = torch.bincount(dst, minlength=n).clamp(min=1).unsqueeze(1).to(dtype)
    node_attr = torch.zeros(n, sh.dim, dtype=dtype).index_add_(
        0, dst, edge_spherical_harmonics(sh, batch.pos[src] - batch.pos[dst], normalization="integral")) / count
    cases = [
        ("EGNNConv", lambda: EGNNConv(16, edge_channels=1, velocity=True),
         {"h": rand(n, 16), "pos": batch.pos, "edge_index": batch.edge_index, "vel": batch.vel, "edge_attr": edge_attr},
         None),
        ("TensorFieldConv", lambda: TensorFieldConv("8x0e+4x1o", "8x0e+4x1o+2x2e", edge_channels=1),
         {"h": rand(n, 20), "pos": batch.pos, "edge_index": batch.edge_index, "edge_attr": edge_attr}, None),
        ("SteerableConv", lambda: SteerableConv("8x0e+4x1o", "16x0e+8x1o", edge_channels=1),
         {"h": rand(n, 20), "pos": batch.pos, "edge_index": batch.edge_index, "node_attr": node_attr,
          "edge_attr": edge_attr}, None),
        ("GINConv", lambda: GINConv(16).eval(), {"h": rand(n, 16), "edge_index": batch.edge_index}, None),
        ("GraphReadout", lambda: GraphReadout(16, "mean"), {"h": rand(n, 16), "batch": batch.batch}, NodePermutation()),
    ]
    # the N-body models as the task registry builds them (``gdl train nbody --model NAME``)
    cases += [(f"model {name}", spec.factory, batch, None) for name, spec in get_task("nbody").models.items()]
    return cases


def measure(num_graphs: int = 8):
    from gdl.benchmarks.nbody_speed import nbody_batch

    rows = []
    for dtype in (torch.float64, torch.float32):
        old = torch.get_default_dtype()
        torch.set_default_dtype(dtype)
        try:
            batch = nbody_batch(num_graphs, dtype=dtype)
            for name, make, inputs, symmetry in _layer_cases(batch, dtype):
                torch.manual_seed(0)
                model = make()
                report = check_equivariance(model, inputs, symmetry=symmetry)
                rows.append((name, str(dtype).replace("torch.", ""), report.per_symmetry, report.passed))
        finally:
            torch.set_default_dtype(old)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--num-graphs", type=int, default=8)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    rows = measure(args.num_graphs)
    print(f"| layer / model | dtype | E(3) | node permutation | passed (default rtol) |")
    print("|---|---|---|---|---|")
    for name, dtype, per_symmetry, passed in rows:
        e3 = per_symmetry.get("E(3)")
        perm = per_symmetry.get("node permutation")
        cell = lambda v: "—" if v is None else f"{v:.1e}"
        print(f"| {name} | {dtype} | {cell(e3)} | {cell(perm)} | {'yes' if passed else 'no'} |")
    return rows


if __name__ == "__main__":
    main()
