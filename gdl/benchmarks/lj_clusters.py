"""Lennard-Jones cluster anchors for gdl.thermo: global minima by annealing / replica exchange, and
the heat capacity C_v(T) of LJ₁₃ by replica exchange (solid–liquid peak).

    nice -n 10 env OMP_NUM_THREADS=1 python -m gdl.benchmarks.lj_clusters minimum --atoms 13 --seeds 10
    nice -n 10 env OMP_NUM_THREADS=1 python -m gdl.benchmarks.lj_clusters minimum --atoms 38 --seeds 3 --steps 40000
    nice -n 10 env OMP_NUM_THREADS=1 python -m gdl.benchmarks.lj_clusters heat-capacity --steps 60000

Reduced units (ε = σ = m = k_B = 1). Reference minima: Cambridge Cluster Database (LJ₁₃ −44.326801,
LJ₃₈ −173.928427; the lowest icosahedral LJ₃₈ minimum −173.252378).

``minimum``: per seed, R random starts (atoms ≥ 0.8σ apart in a ball) are driven by
``SimulatedAnnealing`` (BAOAB, kT geometric from --kT-start to --kT-end) or by ``ReplicaExchange``
(--method re); every --quench-every steps all replicas are quenched by FIRE (``minimize``) on the
bare LJ energy, and the best quenched energy is kept. A seed succeeds when it reaches the reference
minimum within 1e-4 ε. Cost: wall time and energy-and-force evaluations (replicas × steps, plus the
quench steps).

``heat-capacity``: C chains × K temperatures of BAOAB with swaps every --swap-every steps, the
cluster kept by the soft wall ε Σ (‖x_i − x̄‖/R_c)²⁰ (R_c = --confine-radius); C_v/k_B = 3N/2 +
Var(U)/kT² per temperature over the second half of the run, pooled over chains, with the
standard error from the spread between chains; and the smooth curve between the ladder's
temperatures by the multiple-histogram method (``reweighted_heat_capacity``).

``compare A.json B.json``: two heat-capacity results on the same ladder (e.g. dt and dt/2): the
difference of the reweighted peak location and height, and per temperature ΔC_v / σ with σ the two
standard errors combined — |ΔC_v| ≲ 2σ everywhere means the runs agree within their noise.

    python -m gdl.benchmarks.lj_clusters compare runs/cv13.json runs/cv13_half_dt.json
"""
from __future__ import annotations

import argparse
import json
import math
import time

import torch

from gdl.thermo import (
    LJ_GLOBAL_MINIMA,
    LennardJones,
    ReplicaExchange,
    SimulatedAnnealing,
    geometric_ladder,
    heat_capacity,
    minimize,
    random_cluster,
    reweighted_heat_capacity,
)

ICOSAHEDRAL_LJ38 = -173.252378


def _quench(x, fmax=1e-5, max_steps=5000):
    m = minimize(LennardJones(), x, fmax=fmax, max_steps=max_steps)
    return m.energies, m.positions, m.steps


def find_minimum(atoms: int, seed: int, method: str, replicas: int, steps: int, quench_every: int, kT_start: float,
                 kT_end: float, dt: float, confine_radius: float, start_radius: float, verbose: bool = False) -> dict:
    g = torch.Generator().manual_seed(seed)
    x = random_cluster(replicas, atoms, start_radius, generator=g)
    lj = LennardJones(confine_radius=confine_radius)
    target = LJ_GLOBAL_MINIMA[atoms]
    best, evaluations, found_at = math.inf, 0, None
    t0 = time.perf_counter()
    segments = max(steps // quench_every, 1)
    if method == "anneal":
        ladder = torch.logspace(math.log10(kT_start), math.log10(kT_end), segments + 1, dtype=torch.float64)
    for s in range(segments):
        if method == "anneal":
            traj = SimulatedAnnealing(lj, float(ladder[s]), float(ladder[s + 1]), dt).run(
                x, quench_every, record_every=quench_every, generator=g, record_positions=False)
        else:
            kTs = geometric_ladder(kT_end, kT_start, replicas)
            traj = ReplicaExchange(lj, kTs, dt, swap_every=10).run(
                x, quench_every, record_every=quench_every, generator=g, record_positions=False)
        x = traj.final_positions
        energies, _, quench_steps = _quench(x)
        evaluations += replicas * (quench_every + quench_steps)
        best = min(best, float(energies.min()))
        if verbose:
            print(f"  seed {seed} step {(s + 1) * quench_every}: best quenched {best:.6f} "
                  f"({evaluations} evaluations, {time.perf_counter() - t0:.0f} s)", flush=True)
        if found_at is None and best <= target + 1e-4:
            found_at = (s + 1) * quench_every
            break
    return {"seed": seed, "best": best, "gap": best - target, "success": found_at is not None,
            "steps_to_success": found_at, "evaluations": evaluations, "seconds": time.perf_counter() - t0}


def heat_capacity_curve(atoms: int, kT_min: float, kT_max: float, temperatures: int, chains: int, steps: int,
                        dt: float, swap_every: int, confine_radius: float, seed: int) -> dict:
    g = torch.Generator().manual_seed(seed)
    start = minimize(LennardJones(), random_cluster(chains, atoms, 1.4, generator=g)).positions
    x0 = start.unsqueeze(1).expand(chains, temperatures, atoms, 3).contiguous()
    kTs = geometric_ladder(kT_min, kT_max, temperatures)
    lj = LennardJones(confine_radius=confine_radius)
    t0 = time.perf_counter()
    traj = ReplicaExchange(lj, kTs, dt, swap_every=swap_every).run(x0, steps, record_every=10, generator=g,
                                                                  record_positions=False)
    seconds = time.perf_counter() - t0
    half = traj.energies[traj.energies.shape[0] // 2:]  # [T/2, C, K]
    cv = heat_capacity(half, kTs, atoms)
    per_chain = torch.stack([heat_capacity(half[:, c], kTs, atoms) for c in range(chains)])
    error = per_chain.std(0, unbiased=True) / math.sqrt(chains)
    peak = int(cv.argmax())
    grid = torch.linspace(kT_min, kT_max, 161, dtype=torch.float64)
    smooth = reweighted_heat_capacity(half, kTs, grid, atoms)
    top = int(smooth.argmax())
    return {"kT": kTs.tolist(), "cv": cv.tolist(), "cv_per_atom": (cv / atoms).tolist(), "stderr": error.tolist(),
            "mean_energy": half.mean((0, 1)).tolist(), "peak_kT": float(kTs[peak]), "peak_cv": float(cv[peak]),
            "peak_cv_per_atom": float(cv[peak] / atoms), "reweighted_kT": grid.tolist(),
            "reweighted_cv_per_atom": (smooth / atoms).tolist(), "reweighted_peak_kT": float(grid[top]),
            "reweighted_peak_cv_per_atom": float(smooth[top] / atoms),
            "swap_acceptance": traj.swap_acceptance.tolist(),
            "seconds": seconds, "energy_evaluations": steps * chains * temperatures}


def compare_heat_capacities(a: dict, b: dict) -> dict:
    """Peak shift, peak-height ratio and per-temperature ΔC_v/σ of two ``heat-capacity`` results (module docstring)."""
    if len(a["kT"]) != len(b["kT"]) or any(abs(x - y) > 1e-12 for x, y in zip(a["kT"], b["kT"])):
        raise ValueError(f"compare: the two runs need the same temperature ladder, got {len(a['kT'])} temperatures "
                         f"{a['kT'][0]:.4g}…{a['kT'][-1]:.4g} and {len(b['kT'])} temperatures {b['kT'][0]:.4g}…{b['kT'][-1]:.4g}")
    atoms = a["args"]["atoms"]
    z = [(cb - ca) / math.hypot(ea, eb) if math.hypot(ea, eb) > 0 else math.inf
         for ca, cb, ea, eb in zip(a["cv"], b["cv"], a["stderr"], b["stderr"])]
    return {"kT": a["kT"], "delta_cv_per_atom": [(cb - ca) / atoms for ca, cb in zip(a["cv"], b["cv"])],
            "delta_over_sigma": z, "max_abs_delta_over_sigma": max(abs(v) for v in z),
            "peak_kT": (a["reweighted_peak_kT"], b["reweighted_peak_kT"]),
            "peak_cv_per_atom": (a["reweighted_peak_cv_per_atom"], b["reweighted_peak_cv_per_atom"]),
            "peak_kT_relative_difference": b["reweighted_peak_kT"] / a["reweighted_peak_kT"] - 1,
            "peak_cv_relative_difference": b["reweighted_peak_cv_per_atom"] / a["reweighted_peak_cv_per_atom"] - 1}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m gdl.benchmarks.lj_clusters", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("minimum", help="global minimum from random starts (success rate over seeds, cost)")
    m.add_argument("--atoms", type=int, default=13, choices=sorted(LJ_GLOBAL_MINIMA))
    m.add_argument("--method", choices=["anneal", "re"], default="anneal")
    m.add_argument("--seeds", type=int, default=10)
    m.add_argument("--replicas", type=int, default=8)
    m.add_argument("--steps", type=int, default=20000)
    m.add_argument("--quench-every", type=int, default=2000)
    m.add_argument("--kT-start", type=float, default=0.45)
    m.add_argument("--kT-end", type=float, default=0.05)
    m.add_argument("--dt", type=float, default=0.005)
    m.add_argument("--confine-radius", type=float, default=2.5)
    m.add_argument("--start-radius", type=float, default=None)
    m.add_argument("--verbose", action="store_true", help="print the best quenched energy after every segment")
    h = sub.add_parser("heat-capacity", help="C_v(T) of LJ13 by replica exchange")
    h.add_argument("--atoms", type=int, default=13)
    h.add_argument("--kT-min", type=float, default=0.15)
    h.add_argument("--kT-max", type=float, default=0.55)
    h.add_argument("--temperatures", type=int, default=16)
    h.add_argument("--chains", type=int, default=8)
    h.add_argument("--steps", type=int, default=60000)
    h.add_argument("--dt", type=float, default=0.005)
    h.add_argument("--swap-every", type=int, default=20)
    h.add_argument("--confine-radius", type=float, default=2.0)
    h.add_argument("--seed", type=int, default=0)
    c = sub.add_parser("compare", help="compare two heat-capacity results (same ladder): peak and ΔC_v/σ")
    c.add_argument("first")
    c.add_argument("second")
    for p in (m, h):
        p.add_argument("--threads", type=int, default=1)
        p.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)
    if args.command == "compare":
        with open(args.first) as f, open(args.second) as g:
            result = compare_heat_capacities(json.load(f), json.load(g))
        for kT, d, z in zip(result["kT"], result["delta_cv_per_atom"], result["delta_over_sigma"]):
            print(f"kT {kT:.4f}  ΔC_v/(N k_B) {d:+.3f}  ({z:+.1f} σ)")
        print(f"peak kT {result['peak_kT'][0]:.4f} → {result['peak_kT'][1]:.4f} "
              f"({100 * result['peak_kT_relative_difference']:+.1f} %), C_v/(N k_B) {result['peak_cv_per_atom'][0]:.3f} → "
              f"{result['peak_cv_per_atom'][1]:.3f} ({100 * result['peak_cv_relative_difference']:+.1f} %); "
              f"max |ΔC_v|/σ = {result['max_abs_delta_over_sigma']:.1f}")
        return result
    torch.set_num_threads(args.threads)
    if args.command == "minimum":
        radius = args.start_radius or 0.9 * args.atoms ** (1 / 3)
        results = []
        for seed in range(args.seeds):
            r = find_minimum(args.atoms, seed, args.method, args.replicas, args.steps, args.quench_every, args.kT_start,
                             args.kT_end, args.dt, args.confine_radius, radius, args.verbose)
            results.append(r)
            print(f"seed {seed}: best {r['best']:.6f} (gap {r['gap']:.6f}) success={r['success']} "
                  f"steps={r['steps_to_success']} evaluations={r['evaluations']} {r['seconds']:.1f} s", flush=True)
        wins = [r for r in results if r["success"]]
        summary = {"atoms": args.atoms, "method": args.method, "target": LJ_GLOBAL_MINIMA[args.atoms],
                   "success_rate": len(wins) / len(results), "best": min(r["best"] for r in results),
                   "median_seconds": sorted(r["seconds"] for r in results)[len(results) // 2],
                   "mean_evaluations_successful": (sum(r["evaluations"] for r in wins) / len(wins)) if wins else None,
                   "args": vars(args), "seeds": results}
        print(f"LJ{args.atoms} {args.method}: success {len(wins)}/{len(results)}, best {summary['best']:.6f} "
              f"(reference {LJ_GLOBAL_MINIMA[args.atoms]}), median {summary['median_seconds']:.1f} s per seed")
    else:
        summary = heat_capacity_curve(args.atoms, args.kT_min, args.kT_max, args.temperatures, args.chains, args.steps,
                                      args.dt, args.swap_every, args.confine_radius, args.seed)
        summary["args"] = vars(args)
        for kT, cv, err in zip(summary["kT"], summary["cv_per_atom"], summary["stderr"]):
            print(f"kT {kT:.4f}  C_v/(N k_B) {cv:.3f} ± {err / args.atoms:.3f}")
        print(f"multiple-histogram peak at kT = {summary['reweighted_peak_kT']:.4f}: C_v/(N k_B) = "
              f"{summary['reweighted_peak_cv_per_atom']:.3f}")
        print(f"peak at kT = {summary['peak_kT']:.4f}: C_v/(N k_B) = {summary['peak_cv_per_atom']:.3f}; swap acceptance "
              f"{[round(a, 2) for a in summary['swap_acceptance']]}; {summary['seconds']:.0f} s")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(summary, f, indent=1)


if __name__ == "__main__":
    main()
