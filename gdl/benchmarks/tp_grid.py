"""Tensor-product speed on a grid of shapes: gdl's evaluations against e3nn's (and cuequivariance's).

    python -m gdl.benchmarks.tp_grid [--quick] [--write-docs] [--modes uvw uvu] [--json out.json]

Grid: C channels per degree (``--channels``, default 8 16 32 64 128) on features
Cx0e + Cx1o + … up to ``l_max`` (1, 2, 3), attributes/filters Y⁰ + Y¹ + … up to ``l_attr``
(1, 2, 3), ``--edges`` rows (2000), float32, ``torch.set_num_threads(1)``.

- 'uvw' (SEGNN's ``O3TensorProduct``): e3nn ``FullyConnectedTensorProduct(features, Y, features)``
  with shared weights, against ``AttributeTensorProduct`` (what ``O3TensorProduct`` runs).
- 'uvu' (TFN / NequIP): e3nn ``TensorProduct`` with one 'uvu' path per (feature irrep, Y^l, output
  irrep among the features) and per-edge weights [edges, weight_numel], against
  ``EdgeWeightTensorProduct`` (what ``TensorFieldConv`` runs).

Both modules get the same inputs and weights. Per point and per measure (forward; forward +
backward of a random cotangent into the inputs and the weights) the two are timed alternately
(A, B, B, A, …) for ``--repeats`` rounds after a warm-up, on the CPU-time clock of the calling
thread (``--clock thread``, default: on a machine shared with other jobs it counts this thread's
work only, not the time it waits for a core; ``--clock wall`` for perf_counter), and the table reports the ratio of
the medians gdl / e3nn (< 1: gdl faster) with e3nn's median in ms. cuequivariance-torch (the
optional ``bench-cue`` extra) adds a column where it is installed ('uvw' only: its
``ChannelWiseTensorProduct``/``FullyConnectedTensorProduct`` with the same irreps, its own weights).
``--write-docs`` replaces the table between the markers in docs/layers.md.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from typing import Callable, Dict, List, Optional

import torch
from e3nn import o3

from gdl.nn.graph._attribute_tp import AttributeTensorProduct
from gdl.nn.graph._edge_weight_tp import EdgeWeightTensorProduct

QUICK = [(8, 1, 1), (32, 1, 1), (64, 2, 2), (16, 3, 3), (128, 1, 1), (32, 2, 3)]
DOC_START, DOC_END = "<!-- tp_grid table start -->", "<!-- tp_grid table end -->"


def feature_irreps(channels: int, lmax: int) -> o3.Irreps:
    """C x 0e + C x 1o + C x 2e + … up to ``lmax`` (the parity of Y^l)."""
    return o3.Irreps([(channels, (l, (-1) ** l)) for l in range(lmax + 1)])


def uvw_products(channels: int, lmax: int, lmax_attr: int):
    """(e3nn module, gdl module, weight numel) for SEGNN's shared-weight product."""
    feats = feature_irreps(channels, lmax)
    tp = o3.FullyConnectedTensorProduct(feats, o3.Irreps.spherical_harmonics(lmax_attr), feats,
                                        shared_weights=True, internal_weights=False)
    return tp, AttributeTensorProduct(tp)


def uvu_instructions(irreps_in: o3.Irreps, irreps_sh: o3.Irreps, targets: o3.Irreps):
    """TensorFieldConv's 'uvu' paths: every input block times every Y^l into each target irrep."""
    irreps_out, instructions = [], []
    for i, (mul, ir_in) in enumerate(irreps_in):
        for j, (_, ir_sh) in enumerate(irreps_sh):
            for ir_out in ir_in * ir_sh:
                if ir_out in targets:
                    instructions.append((i, j, len(irreps_out), "uvu", True))
                    irreps_out.append((mul, ir_out))
    return o3.Irreps(irreps_out), instructions


def uvu_products(channels: int, lmax: int, lmax_attr: int):
    """(e3nn module, gdl module) for TFN's per-edge-weight product (as TensorFieldConv builds it)."""
    feats = feature_irreps(channels, lmax)
    irreps_sh = o3.Irreps.spherical_harmonics(lmax_attr)
    irreps_out, instructions = uvu_instructions(feats, irreps_sh, feats)
    irreps_sorted, perm, _ = irreps_out.sort()
    instructions = [(i, j, perm[k], mode, train) for i, j, k, mode, train in instructions]
    tp = o3.TensorProduct(feats, irreps_sh, irreps_sorted, instructions, shared_weights=False, internal_weights=False)
    return tp, EdgeWeightTensorProduct(tp)


def cue_product(channels: int, lmax: int, lmax_attr: int) -> Optional[Callable]:
    """cuequivariance-torch's fully connected product with the same irreps, or None if not installed."""
    try:
        import cuequivariance as cue
        import cuequivariance_torch as cuet
    except ImportError:
        return None
    feats = str(feature_irreps(channels, lmax))
    sh = str(o3.Irreps.spherical_harmonics(lmax_attr))
    module = cuet.FullyConnectedTensorProduct(cue.Irreps("O3", feats), cue.Irreps("O3", sh), cue.Irreps("O3", feats),
                                              layout=cue.mul_ir, shared_weights=True, internal_weights=False,
                                              device=torch.device("cpu"))
    return module


CLOCKS = {"thread": time.thread_time, "wall": time.perf_counter}
_clock = CLOCKS["thread"]


def _timer(fn: Callable[[], object]) -> float:
    start = _clock()
    fn()
    return _clock() - start


def measure_point(mode: str, channels: int, lmax: int, lmax_attr: int, edges: int, repeats: int,
                  use_cue: bool = True) -> Dict[str, object]:
    """Median times (s) of e3nn, gdl (and cuequivariance) at one point, forward and forward + backward."""
    torch.manual_seed(0)
    e3nn_tp, gdl_tp = (uvw_products if mode == "uvw" else uvu_products)(channels, lmax, lmax_attr)
    x = torch.randn(edges, e3nn_tp.irreps_in1.dim, requires_grad=True)
    a = torch.randn(edges, e3nn_tp.irreps_in2.dim, requires_grad=True)
    shape = (e3nn_tp.weight_numel,) if mode == "uvw" else (edges, e3nn_tp.weight_numel)
    w = torch.randn(*shape, requires_grad=True)
    g = torch.randn(edges, e3nn_tp.irreps_out.dim)
    impls: Dict[str, Callable] = {"e3nn": lambda: e3nn_tp(x, a, w), "gdl": lambda: gdl_tp(x, a, w)}
    cue = cue_product(channels, lmax, lmax_attr) if (use_cue and mode == "uvw") else None
    if cue is not None:
        cw = torch.randn(1, cue.weight_numel, requires_grad=True)
        impls["cue"] = lambda: cue(x, a, cw)

    def forward(fn):
        with torch.no_grad():
            fn()

    def forward_backward(fn):
        out = fn()
        out.backward(g if out.shape == g.shape else torch.ones_like(out))

    result: Dict[str, object] = {"mode": mode, "channels": channels, "lmax": lmax, "lmax_attr": lmax_attr,
                                 "edges": edges, "paths": len(e3nn_tp.instructions)}
    names = list(impls)
    for measure, run in (("fwd", forward), ("fwdbwd", forward_backward)):
        times: Dict[str, List[float]] = {n: [] for n in names}
        for n in names:  # warm-up (e3nn's codegen, allocator)
            run(impls[n])
        for r in range(repeats):
            order = names if r % 2 == 0 else names[::-1]
            for n in order:
                times[n].append(_timer(lambda: run(impls[n])))
        for n in names:
            result[f"{n}_{measure}"] = statistics.median(times[n])
        result[f"ratio_{measure}"] = result[f"gdl_{measure}"] / result[f"e3nn_{measure}"]
    return result


def grid_points(quick: bool, channels: List[int], lmaxes: List[int], lmax_attrs: List[int]):
    if quick:
        return QUICK
    return [(c, l, la) for c in channels for l in lmaxes for la in lmax_attrs]


def repeats_for(mode: str, channels: int, lmax: int, lmax_attr: int, base: int) -> int:
    """Fewer rounds for the big points (their noise is relatively small), at least 5."""
    work = channels * channels * (lmax + 1) ** 2 * (lmax_attr + 1) if mode == "uvw" else channels * (lmax + 1) ** 3
    return max(5, base // 4) if work > 64 * 64 * 9 * 3 else base


def table(results: List[Dict[str, object]], command: str) -> str:
    has_cue = any("cue_fwd" in r for r in results)
    header = "| mode | C | l_max | l_attr | paths | e3nn fwd ms | gdl/e3nn fwd | e3nn fwd+bwd ms | gdl/e3nn fwd+bwd |"
    rule = "|---|---|---|---|---|---|---|---|---|"
    if has_cue:
        header += " cue/e3nn fwd | cue/e3nn fwd+bwd |"
        rule += "---|---|"
    lines = [f"`{command}`", "", header, rule]
    for r in results:
        line = (f"| {r['mode']} | {r['channels']} | {r['lmax']} | {r['lmax_attr']} | {r['paths']} | "
                f"{1e3 * r['e3nn_fwd']:.2f} | {r['ratio_fwd']:.2f} | {1e3 * r['e3nn_fwdbwd']:.2f} | "
                f"{r['ratio_fwdbwd']:.2f} |")
        if has_cue:
            line += (f" {r['cue_fwd'] / r['e3nn_fwd']:.2f} | {r['cue_fwdbwd'] / r['e3nn_fwdbwd']:.2f} |"
                     if "cue_fwd" in r else " – | – |")
        lines.append(line)
    worst = {m: max(r[f"ratio_{m}"] for r in results) for m in ("fwd", "fwdbwd")}
    lines += ["", f"Largest gdl/e3nn ratio: forward {worst['fwd']:.2f}, forward + backward {worst['fwdbwd']:.2f} "
                  f"({len(results)} points)."]
    return "\n".join(lines)


def write_docs(text: str, path: str) -> None:
    with open(path, encoding="utf-8") as f:
        doc = f.read()
    if DOC_START not in doc or DOC_END not in doc:
        raise ValueError(f"{path} has no {DOC_START} … {DOC_END} markers to replace")
    head, rest = doc.split(DOC_START, 1)
    _, tail = rest.split(DOC_END, 1)
    with open(path, "w", encoding="utf-8") as f:
        f.write(head + DOC_START + "\n" + text + "\n" + DOC_END + tail)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"only the points {QUICK}")
    parser.add_argument("--modes", nargs="+", default=["uvw", "uvu"], choices=["uvw", "uvu"])
    parser.add_argument("--channels", nargs="+", type=int, default=[8, 16, 32, 64, 128])
    parser.add_argument("--lmax", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--lmax-attr", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--edges", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="thread",
                        help="thread: CPU time of the calling thread (robust on a shared machine; needs --threads 1); "
                             "wall: perf_counter")
    parser.add_argument("--no-cue", action="store_true", help="skip cuequivariance even if installed")
    parser.add_argument("--json", default=None, help="also write the raw results here")
    parser.add_argument("--write-docs", action="store_true", help="replace the table in docs/layers.md")
    parser.add_argument("--docs", default=os.path.join(os.path.dirname(__file__), "..", "..", "docs", "layers.md"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    global _clock
    if args.clock == "thread" and args.threads != 1:
        parser.error("--clock thread measures one thread's CPU time: use it with --threads 1 (or --clock wall)")
    _clock = CLOCKS[args.clock]
    results = []
    for mode in args.modes:
        for c, l, la in grid_points(args.quick, args.channels, args.lmax, args.lmax_attr):
            r = measure_point(mode, c, l, la, args.edges, repeats_for(mode, c, l, la, args.repeats), not args.no_cue)
            results.append(r)
            print(f"{mode} C={c} l={l} l_attr={la}: gdl/e3nn fwd {r['ratio_fwd']:.2f} "
                  f"fwd+bwd {r['ratio_fwdbwd']:.2f} (e3nn {1e3 * r['e3nn_fwd']:.2f} / "
                  f"{1e3 * r['e3nn_fwdbwd']:.2f} ms)", flush=True)
    command = "python -m gdl.benchmarks.tp_grid " + " ".join(argv if argv is not None else sys.argv[1:])
    text = table(results, command.strip())
    print(text)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1)
    if args.write_docs:
        write_docs(text, args.docs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
