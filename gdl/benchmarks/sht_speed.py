"""Speed and accuracy of gdl's SphericalHarmonicTransform beside e3nn's ToS2Grid / FromS2Grid.

    python -m gdl.benchmarks.sht_speed [--lmax 10 20 30 40 64] [--signals 512] [--repeats 7] [--large-repeats 3]
    python -m gdl.benchmarks.sht_speed --aliasing            # grid-nonlinearity error vs oversampling
    python -m gdl.benchmarks.sht_speed --so3-aliasing        # the same for SO3GridActivation
    python -m gdl.benchmarks.sht_speed --torch-harmonics     # also torch-harmonics, if importable
    python -m gdl.benchmarks.sht_speed --model-epoch         # one 5000-image SphericalCNN epoch (train steps)

One thread, float32, ``signals`` random band-limited signals. For every L the methods are
timed in turn, repetition by repetition (interleaved, so background load hits all alike), and
the median (and the minimum) is printed, for synthesis (coefficients → grid) and analysis (grid → coefficients):

- gdl on its default Gauss–Legendre grid (L+1) × (2L+2), and on the SOFT grid 2(L+1) × 2(L+1), with the
  method ``"auto"`` picks (dense matrices for small transforms, FFT + per-m blocks above; printed);
- e3nn ``ToS2Grid(L, res)`` / ``FromS2Grid(res, L)`` on the same SOFT-type grid res = (2(L+1), 2(L+1))
  (the even grid, e3nn's dense path), its buffers built in float64 then cast;
- torch-harmonics ``RealSHT`` / ``InverseRealSHT`` (Gauss grid (L+1) × 2(L+1)) with
  ``--torch-harmonics``: never a dependency of gdl — run it from a separate environment
  that has torch-harmonics installed (docs/spheres.md says how).

The scaling exponent between consecutive L is log(t₂/t₁)/log(L₂/L₁). Round-trip errors
(analysis ∘ synthesis vs the identity, relative, float32) are printed beside the times.
"""
from __future__ import annotations

import argparse
import math
import statistics
import time

import torch

from gdl.nn.sphere import S2GridActivation, SphericalHarmonicTransform


def _median_times(functions: dict, repeats: int) -> dict:
    for fn in functions.values():  # warm-up
        fn()
    times = {name: [] for name in functions}
    for _ in range(repeats):
        for name, fn in functions.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return ({name: statistics.median(t) * 1e3 for name, t in times.items()},
            {name: min(t) * 1e3 for name, t in times.items()})


def _e3nn_pair(lmax: int, res: tuple):
    from e3nn import o3

    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # e3nn builds its Legendre buffers in the default dtype
    try:
        to_grid = o3.ToS2Grid(lmax, res)
        from_grid = o3.FromS2Grid(res, lmax)
    finally:
        torch.set_default_dtype(old)
    return to_grid.float(), from_grid.float()


def _torch_harmonics_pair(lmax: int):
    import torch_harmonics as th

    nlat, nlon = lmax + 1, 2 * (lmax + 1)
    return (th.InverseRealSHT(nlat, nlon, lmax=lmax + 1, mmax=lmax + 1, grid="legendre-gauss").float(),
            th.RealSHT(nlat, nlon, lmax=lmax + 1, mmax=lmax + 1, grid="legendre-gauss").float())


def speed(lmax_values, signals: int, repeats: int, with_torch_harmonics: bool, with_e3nn: bool = True,
          large_repeats: int = None, large_from: int = 40) -> list:
    rows = []
    gen = torch.Generator().manual_seed(0)
    for lmax in lmax_values:
        count = repeats if large_repeats is None or lmax < large_from else large_repeats
        coeffs = torch.randn(signals, (lmax + 1) ** 2, generator=gen)
        gl = SphericalHarmonicTransform(lmax, "gauss-legendre", dtype=torch.float32)
        soft = SphericalHarmonicTransform(lmax, "soft", dtype=torch.float32)
        res = (2 * (lmax + 1), 2 * (lmax + 1))
        f_gl, f_soft = gl.synthesis(coeffs), soft.synthesis(coeffs)
        functions = {
            "gdl GL synthesis": lambda: gl.synthesis(coeffs), "gdl GL analysis": lambda: gl.analysis(f_gl),
            "gdl SOFT synthesis": lambda: soft.synthesis(coeffs), "gdl SOFT analysis": lambda: soft.analysis(f_soft),
        }
        errors = {
            "gdl GL": float((gl.analysis(f_gl) - coeffs).norm() / coeffs.norm()),
            "gdl SOFT": float((soft.analysis(f_soft) - coeffs).norm() / coeffs.norm()),
        }
        if with_e3nn:
            e3_to, e3_from = _e3nn_pair(lmax, res)
            f_e3 = e3_to(coeffs)
            functions["e3nn synthesis"] = lambda: e3_to(coeffs)
            functions["e3nn analysis"] = lambda: e3_from(f_e3)
            errors["e3nn"] = float((e3_from(f_e3) - coeffs).norm() / coeffs.norm())
        if with_torch_harmonics:
            th_inverse, th_forward = _torch_harmonics_pair(lmax)
            # torch-harmonics takes complex coefficients [..., l, m]; time it on its own layout
            spectral = th_forward(f_gl.reshape(signals, lmax + 1, 2 * (lmax + 1)))
            grid = th_inverse(spectral)
            functions["torch-harmonics synthesis"] = lambda: th_inverse(spectral)
            functions["torch-harmonics analysis"] = lambda: th_forward(grid)
            errors["torch-harmonics"] = float((th_inverse(th_forward(grid)) - grid).norm() / grid.norm())
        with torch.no_grad():
            times, fastest = _median_times(functions, count)
        rows.append((lmax, times, errors))
        print(f"L={lmax} ({count} repetitions; gdl method: GL {gl.method}, SOFT {soft.method}) minimum: " + "  ".join(f"{k} {v:.2f}" for k, v in fastest.items()) + " (ms)")
        cells = "  ".join(f"{k} {v:.2f}" for k, v in times.items())
        print(f"L={lmax}: {cells} (ms)  round-trip errors: "
              + ", ".join(f"{k} {v:.1e}" for k, v in errors.items()), flush=True)
    _print_table(rows)
    return rows


def _print_table(rows) -> None:
    names = sorted({n.rsplit(" ", 1)[0] for _, t, _ in rows for n in t}, key=lambda n: ("gdl" not in n, n))
    print("\n| L | " + " | ".join(f"{n} synthesis / analysis (ms)" for n in names) + " | round trip (float32) |")
    print("|---|" + "---|" * (len(names) + 1))
    for lmax, times, errors in rows:
        cells = [f"{times[n + ' synthesis']:.2f} / {times[n + ' analysis']:.2f}" for n in names]
        err = ", ".join(f"{k} {v:.1e}" for k, v in errors.items())
        print(f"| {lmax} | " + " | ".join(cells) + f" | {err} |")
    if len(rows) > 1:
        print("\nScaling exponent of synthesis + analysis, log(t₂/t₁)/log(L₂/L₁):")
        for (l1, t1, _), (l2, t2, _) in zip(rows, rows[1:]):
            parts = []
            for n in names:
                a = t1[n + " synthesis"] + t1[n + " analysis"]
                b = t2[n + " synthesis"] + t2[n + " analysis"]
                parts.append(f"{n} {math.log(b / a) / math.log(l2 / l1):.1f}")
            print(f"  L {l1}→{l2}: " + ", ".join(parts))


def aliasing(lmax: int = 10, channels: int = 8, rotations: int = 8) -> None:
    """Relative equivariance error ‖φ-layer(D x) − D φ-layer(x)‖ / ‖D φ-layer(x)‖ (float64, mean over rotations)."""
    from e3nn import o3

    from gdl.groups import SO3, IrrepsRep

    gen = torch.Generator().manual_seed(0)
    x = torch.randn(4, channels, (lmax + 1) ** 2, generator=gen, dtype=torch.float64)
    rot = SO3().sample(rotations, gen, dtype=torch.float64)
    wigner = IrrepsRep(SO3(), o3.Irreps.spherical_harmonics(lmax)).matrix(rot)
    factors = (1, 2, 4, 8)
    print(f"\nS2GridActivation equivariance error, L={lmax}, {channels} channels × 4 signals, float64, "
          f"mean over {rotations} random rotations")
    print("| activation | " + " | ".join(f"{s}× grid" for s in factors) + " |")
    print("|---|" + "---|" * len(factors))
    for name in ("relu", "silu", "gelu", "tanh"):
        cells = []
        for s in factors:
            layer = S2GridActivation(lmax, name, oversampling=s).double()
            out = layer(x)
            errs = [float((layer(x @ d.T) - out @ d.T).norm() / (out @ d.T).norm()) for d in wigner]
            cells.append(f"{statistics.mean(errs):.1e}")
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


def so3_aliasing(lmax: int = 4, channels: int = 4, rotations: int = 4) -> None:
    """Relative equivariance error of ``SO3GridActivation`` by oversampling (float64, mean over rotations)."""
    from gdl.groups import SO3, IrrepsRep
    from gdl.nn.sphere import SO3GridActivation
    from gdl.nn.sphere._features import so3_dim, so3_irreps

    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, channels, so3_dim(lmax), generator=gen, dtype=torch.float64)
    wigner = IrrepsRep(SO3(), so3_irreps(lmax)).matrix(SO3().sample(rotations, gen, dtype=torch.float64))
    factors = (1, 2, 4)
    print(f"\nSO3GridActivation equivariance error, L={lmax}, {channels} channels × 2 signals, float64, "
          f"mean over {rotations} random rotations; grid N³ with N = 2⌈s(L+1)⌉")
    print("| activation | " + " | ".join(f"s = {s}" for s in factors) + " |")
    print("|---|" + "---|" * len(factors))
    for name in ("relu", "silu", "gelu"):
        cells = []
        for s in factors:
            layer = SO3GridActivation(lmax, name, oversampling=s)
            out = layer(x)
            errs = [float((layer(x @ d.T) - out @ d.T).norm() / (out @ d.T).norm()) for d in wigner]
            cells.append(f"{statistics.mean(errs):.1e}")
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


def model_epoch(images: int = 5000, batch: int = 32, steps: int = 20) -> None:
    """Time ``steps`` Adam steps of the default SphericalCNN on [batch, 1, 60, 60] inputs; scale to ``images``."""
    from gdl.models import SphericalCNN

    torch.manual_seed(0)
    model = SphericalCNN()
    optimizer = torch.optim.Adam(model.parameters(), 5e-3)
    x, y = torch.rand(batch, 1, 60, 60), torch.randint(0, 10, (batch,))

    def step():
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()

    step()
    times, cpu = [], []
    for _ in range(steps):
        t0, c0 = time.perf_counter(), time.process_time()
        step()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    per_step, per_step_cpu = statistics.median(times), statistics.median(cpu)
    print(f"SphericalCNN (default, {sum(p.numel() for p in model.parameters())} parameters): median train step "
          f"{per_step * 1e3:.0f} ms wall, {per_step_cpu * 1e3:.0f} ms CPU for batch {batch} → "
          f"{per_step * images / batch:.0f} s wall, {per_step_cpu * images / batch:.0f} s CPU per {images}-image epoch "
          f"(one thread; the CPU time is what the epoch costs on an idle core)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lmax", type=int, nargs="+", default=[10, 20, 30, 40, 64])
    parser.add_argument("--signals", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--large-repeats", type=int, default=None,
                        help="repetitions for L >= --large-from (e3nn's dense buffers make large L slow)")
    parser.add_argument("--large-from", type=int, default=40)
    parser.add_argument("--torch-harmonics", action="store_true")
    parser.add_argument("--no-e3nn", action="store_true", help="skip e3nn (slow at large L: dense buffers)")
    parser.add_argument("--aliasing", action="store_true", help="only the grid-nonlinearity error table")
    parser.add_argument("--model-epoch", action="store_true", help="only the SphericalCNN epoch time")
    parser.add_argument("--so3-aliasing", action="store_true", help="only the SO(3) grid-nonlinearity error table")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if args.model_epoch:
        model_epoch()
        return
    if args.aliasing:
        aliasing()
        return
    if args.so3_aliasing:
        so3_aliasing()
        return
    speed(args.lmax, args.signals, args.repeats, args.torch_harmonics, not args.no_e3nn, args.large_repeats,
          args.large_from)


if __name__ == "__main__":
    main()
