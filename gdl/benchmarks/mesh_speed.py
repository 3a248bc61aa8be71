"""Speed and peak memory of one gauge-equivariant mesh convolution: gdl against GEM-CNN's GemConv.

    python -m gdl.benchmarks.mesh_speed --reference /tmp/mesh-layers/gem --sizes 642,2562,10242,40962

One step = forward + backward of one convolution, 16 channels of ρ0⊕ρ1⊕ρ2 in and out
(gdl: ``GaugeEquivariantConv("16x0+16x1+16x2", same, n_rings=2)``; GEM-CNN:
``GemConv(16, 16, 2, 2, n_rings=2)`` on [V, 16, 5] features), on an icosphere (642 · 4^k
vertices, edges from the faces, both directions; the reference also gets the self-loops it
expects), float32, ``torch.set_num_threads(1)``. Loss = Σ y·g for a fixed random g.

Time: one subprocess per size runs gdl and the reference interleaved step by step (order
alternating per repeat, after one warm-up step each), so both see the same machine load;
median and min of ``--repeats`` steps. Peak memory: a fresh subprocess per (implementation,
size), the growth of the process's peak RSS (``resource.getrusage``) over its first step,
from the RSS just before it (inputs and geometry already built).

The reference is imported at run time from a checkout of
Qualcomm-AI-research/gauge-equivariant-mesh-cnn given by ``--reference`` (never part of gdl):
only ``gem_cnn/utils/rep_act.py`` and ``gem_cnn/nn/gem_conv.py`` are loaded, by file, so its
compiled dependencies (torch-scatter/sparse/cluster) are not needed.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import types

import torch

_SUBDIVISIONS = {12: 0, 42: 1, 162: 2, 642: 3, 2562: 4, 10242: 5, 40962: 6}


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def icosphere_geometry(vertices: int):
    """A PyG Data of the icosphere with ``vertices`` vertices and its ``MeshGeometry`` (float32)."""
    from gdl.gauge import MeshGeometry
    from gdl.testing.strategies import triangle_mesh

    if vertices not in _SUBDIVISIONS:
        raise ValueError(f"mesh_speed: icosphere sizes are {sorted(_SUBDIVISIONS)}, got {vertices}")
    mesh = triangle_mesh("sphere", subdivisions=_SUBDIVISIONS[vertices], noise=0.0)
    return MeshGeometry(dtype=torch.float32)(mesh)


def _load_reference(path: str):
    """GemConv from a GEM-CNN checkout, loading its two files by path (module docstring)."""
    for name in ("gem_cnn", "gem_cnn.utils", "gem_cnn.nn"):
        sys.modules.setdefault(name, types.ModuleType(name))
    for name, rel in (("gem_cnn.utils.rep_act", "gem_cnn/utils/rep_act.py"), ("gem_cnn.nn.gem_conv", "gem_cnn/nn/gem_conv.py")):
        spec = importlib.util.spec_from_file_location(name, os.path.join(path, rel))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules["gem_cnn.nn.gem_conv"].GemConv


def _setup(impl: str, mesh, reference: str, channels: int):
    """A closure running one step (forward + backward) of ``impl`` on ``mesh``."""
    n = mesh.num_nodes
    edge_length = float(mesh.neighbour_radius.mean())
    if impl == "gdl":
        from gdl.nn.mesh import GaugeEquivariantConv

        ftype = f"{channels}x0+{channels}x1+{channels}x2"
        conv = GaugeEquivariantConv(ftype, ftype, max_radius=1.5 * edge_length, n_rings=2)
        x = torch.randn(n, 5 * channels, requires_grad=True)

        def forward():
            return conv(x, mesh)
    else:
        GemConv = _load_reference(reference)
        conv = GemConv(channels, channels, 2, 2, n_rings=2)
        loops = torch.arange(n).repeat(2, 1)
        ei = torch.cat([mesh.edge_index, loops], 1)
        zero = torch.zeros(n)
        radius = torch.cat([mesh.neighbour_radius, zero])
        theta = torch.cat([mesh.neighbour_angle, zero])
        transport = torch.cat([mesh.transport, zero])
        t = (radius / (1.5 * edge_length)).clamp(0, 1)
        is_self = (radius == 0).float()
        hats = torch.stack([(1 - t) * (1 - is_self), t], 1)
        precomp = torch.cat([(transport - theta)[:, None], theta[:, None], is_self[:, None], hats], 1)
        receiver_first = ei.flip(0)  # GemConv: flow target_to_source, edge_index[0] receives
        x = torch.randn(n, channels, 5, requires_grad=True)

        def forward():
            return conv(x, receiver_first, precomp, None)

    probe = torch.randn_like(forward().detach())

    def run():
        conv.zero_grad(set_to_none=True)
        x.grad = None
        (forward() * probe).sum().backward()

    return run


def _worker(mode: str, vertices: int, repeats: int, reference: str, channels: int) -> dict:
    """``mode`` = ``memory-gdl`` / ``memory-reference`` (peak RSS growth over the first step of
    a fresh process) or ``time`` (gdl and the reference interleaved, step by step, so both see
    the same load; the order alternates per repeat)."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    mesh = icosphere_geometry(vertices)
    out = {"vertices": mesh.num_nodes, "edges": int(mesh.edge_index.shape[1])}
    if mode.startswith("memory-"):
        run = _setup(mode[len("memory-"):], mesh, reference, channels)
        before = _rss_mb()
        run()
        out["peak_mb"] = _peak_mb() - before
        return out
    impls = ["gdl"] + (["reference"] if reference else [])
    runs = {impl: _setup(impl, mesh, reference, channels) for impl in impls}
    for run in runs.values():
        run()  # warm-up
    times = {impl: [] for impl in impls}
    for k in range(repeats):
        for impl in (impls if k % 2 == 0 else impls[::-1]):
            t0 = time.perf_counter()
            runs[impl]()
            times[impl].append(time.perf_counter() - t0)
    for impl in impls:
        out[f"{impl}_median_ms"] = 1e3 * statistics.median(times[impl])
        out[f"{impl}_min_ms"] = 1e3 * min(times[impl])
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", default=None, help="path of a GEM-CNN checkout (omit: gdl only)")
    parser.add_argument("--sizes", default="642,2562,10242,40962")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.worker:
        print(json.dumps(_worker(args.worker, sizes[0], args.repeats, args.reference, args.channels)))
        return
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")

    def worker(mode, size):
        cmd = [sys.executable, "-m", "gdl.benchmarks.mesh_speed", "--worker", mode, "--sizes", str(size),
               "--repeats", str(args.repeats), "--channels", str(args.channels)]
        if args.reference:
            cmd += ["--reference", args.reference]
        out = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if out.returncode:
            raise RuntimeError(f"mesh_speed worker {mode} {size} failed:\n{out.stderr[-2000:]}")
        return json.loads(out.stdout.strip().splitlines()[-1])

    rows = []
    for size in sizes:
        row = worker("time", size)
        for impl in ["gdl"] + (["reference"] if args.reference else []):
            row[f"{impl}_peak_mb"] = worker(f"memory-{impl}", size)["peak_mb"]
        rows.append(row)
        print(json.dumps(row), flush=True)
    print("\n| vertices | edges | gdl ms (min) | reference ms (min) | speed-up (medians) | gdl peak MB | reference peak MB |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        if args.reference:
            print(f"| {r['vertices']} | {r['edges']} | {r['gdl_median_ms']:.0f} ({r['gdl_min_ms']:.0f}) | "
                  f"{r['reference_median_ms']:.0f} ({r['reference_min_ms']:.0f}) | "
                  f"{r['reference_median_ms'] / r['gdl_median_ms']:.1f}× | {r['gdl_peak_mb']:.0f} | {r['reference_peak_mb']:.0f} |")
        else:
            print(f"| {r['vertices']} | {r['edges']} | {r['gdl_median_ms']:.0f} ({r['gdl_min_ms']:.0f}) | – | – | "
                  f"{r['gdl_peak_mb']:.0f} | – |")


if __name__ == "__main__":
    main()
