"""Learned force field vs EMT: train ``emt_clusters``, then compare MD driven by the model with EMT-driven MD.

    nice -n 10 env OMP_NUM_THREADS=1 python -m gdl.benchmarks.emt_md --minutes 12 --out runs/emt_md

1. Trains the task ``emt_clusters`` (``EnergyModel(EGNNEnergy)``, energy + force loss) for at most
   ``--minutes`` of wall time (``--epochs`` at most), keeping the best-validation model.
2. Held-out accuracy on the test split (independent BAOAB chains): force MAE per component and per
   atom (‖F̂_i − F_i‖), energy MAE and mean signed error per atom, for every (cluster, temperature) and
   overall — before and after ``refit_atomic_energies`` on the training split (the per-element constant
   that the training leaves off; forces unchanged). ``--evaluate CHECKPOINT`` does only this step.
3. MD at ``--kelvin`` on ``--cluster`` (default Cu₁₃ at 600 K): BAOAB (dt 5 fs, γ = 0.02 fs⁻¹, ASE's Cu
   mass) driven (a) by EMT, (b) by the learned model, and (c) by EMT again with other noise — the
   sampling-noise floor of every comparison. From the same ideal start, ``--replicas`` chains,
   ``--equilibration`` steps dropped, then a frame every ``--record-every`` steps. Compared:

   - the EMT energy of the sampled configurations (the learned run's frames relabelled by EMT): mean,
     standard deviation and the L1 distance ∫|p_a − p_b| dE of the histogram densities (0 … 2);
   - the radial distribution function of the cluster, g(r) = V ⟨Σ_{i≠j} δ(r − r_ij)⟩ / (N(N−1) 4πr²),
     V = 4/3 π r_max³ (r_max = ``--r-max``), on bins of ``--bin`` Å: max |Δg| and the L1 distance of the
     pair-distance densities ∫|p_a(r) − p_b(r)| dr (0 … 2).

Writes ``results.json`` and ``rdf.png`` under ``--out`` and prints a Markdown table.

``--dt-check`` (no training): the time-step check of the MD and of the dataset's sampler (both BAOAB at
``--dt-fs``, 5 fs). EMT-driven MD at dt (two noise seeds: the sampling-noise floor) and at dt/2 over the
same physical time (twice the steps, a frame every 2 × ``--record-every``): mean EMT energy ± its
standard error (from the spread of the per-replica means), kinetic temperature, and the g(r) / p(r) / p(E)
distances of each run to the first dt run. dt is adequate when dt/2 differs from dt no more than the
second dt run does (the discretisation bias is below the sampling noise).

    nice -n 10 env OMP_NUM_THREADS=1 python -m gdl.benchmarks.emt_md --dt-check --out runs/emt_dt
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch


def _parse(argv):
    parser = argparse.ArgumentParser(prog="python -m gdl.benchmarks.emt_md", description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=12.0, help="training wall-time budget (after the data is ready)")
    parser.add_argument("--epochs", type=int, default=400, help="at most this many epochs (the schedule's length)")
    parser.add_argument("--stop-after", type=int, default=None,
                        help="end after this epoch, keeping the schedule over --epochs (equal-epoch comparisons)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=None, help="default: the task's")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cluster", default="Cu13")
    parser.add_argument("--kelvin", type=float, default=600.0)
    parser.add_argument("--replicas", type=int, default=4)
    parser.add_argument("--md-steps", type=int, default=2000)
    parser.add_argument("--equilibration", type=int, default=300)
    parser.add_argument("--record-every", type=int, default=10)
    parser.add_argument("--r-max", type=float, default=8.0)
    parser.add_argument("--bin", type=float, default=0.05)
    parser.add_argument("--data-root", default=None, help="dataset cache root (default $GDL_HOME)")
    parser.add_argument("--data", default="{}", help="JSON of emt_clusters data options (e.g. smaller splits)")
    parser.add_argument("--model-options", default="{}", help="JSON of EGNNEnergy options")
    parser.add_argument("--dt-fs", type=float, default=5.0, help="BAOAB time step of the MD (fs)")
    parser.add_argument("--dt-check", action="store_true", help="no training: EMT MD at dt, dt again, and dt/2")
    parser.add_argument("--stability-steps", type=int, default=200,
                        help="--dt-check: steps at 2, 4, 8, 16 × dt to find where the blow-up guard fires")
    parser.add_argument("--evaluate", default=None, metavar="CHECKPOINT",
                        help="no training, no MD: held-out errors of a trained checkpoint before and after the e_z refit")
    parser.add_argument("--out", default="runs/emt_md")
    return parser.parse_args(argv)


class TimeBudget:
    """Trainer callback: end the run after the epoch in which ``seconds`` of wall time have passed since the
    first training step (dataset generation does not count), or after epoch ``stop_after`` (the learning-rate
    schedule still spans the configured epochs, so runs stopped at the same epoch are comparable)."""

    def __init__(self, seconds: float, stop_after=None):
        self.seconds, self.start, self.stop_after = seconds, None, stop_after

    def on_step_end(self, trainer, epoch, step, loss):
        if self.start is None:
            self.start = time.perf_counter()

    def on_epoch_end(self, trainer, row):
        if self.start is None:
            self.start = time.perf_counter()
        if self.stop_after is not None and trainer.epoch >= self.stop_after and trainer.epoch < trainer.config.epochs:
            print(f"stopping after epoch {trainer.epoch} (--stop-after)", file=sys.stderr)
            trainer.config.epochs = trainer.epoch
        elif time.perf_counter() - self.start > self.seconds and trainer.epoch < trainer.config.epochs:
            print(f"time budget of {self.seconds / 60:.1f} min reached after epoch {trainer.epoch}", file=sys.stderr)
            trainer.config.epochs = trainer.epoch


@torch.no_grad()
def held_out_errors(model, dataset) -> dict:
    """Force MAE (component, per-atom length), energy MAE per atom: per (cluster, temperature) and overall."""
    from torch_geometric.loader import DataLoader

    model.eval()
    dtype = next(model.parameters()).dtype
    groups = {}
    for batch in DataLoader(dataset, batch_size=32, shuffle=False):
        batch = batch.apply(lambda t: t.to(dtype) if t.is_floating_point() else t)
        out = model(batch)
        delta = out["forces"] - batch.forces
        atoms = torch.bincount(batch.batch, minlength=batch.num_graphs)
        signed_error = (out["energy"].reshape(-1) - batch.energy.reshape(-1)) / atoms
        energy_error = signed_error.abs()
        for g in range(batch.num_graphs):
            nodes = batch.batch == g
            key = f"Cu{int(atoms[g])} {float(batch.kelvin[g]):.0f} K"
            acc = groups.setdefault(key, [0.0, 0, 0.0, 0, 0.0, 0, 0.0])
            acc[0] += float(delta[nodes].abs().sum())
            acc[1] += int(delta[nodes].numel())
            acc[2] += float(delta[nodes].norm(dim=1).sum())
            acc[3] += int(nodes.sum())
            acc[4] += float(energy_error[g])
            acc[5] += 1
            acc[6] += float(signed_error[g])
    total = [sum(a[i] for a in groups.values()) for i in range(7)]
    groups["all"] = total

    def row(a):
        return {"force_mae_component": a[0] / a[1], "force_mae_atom": a[2] / a[3], "energy_mae_per_atom": a[4] / a[5],
                "energy_mean_error_per_atom": a[6] / a[5], "graphs": a[5]}

    return {k: row(a) for k, a in groups.items()}


def run_md(potential, atoms, kelvin, args, seed, refine: int = 1, with_trajectory: bool = False):
    """Frames [T·R, N, 3] after equilibration, from BAOAB on ``potential`` (float64, Å) at dt = ``--dt-fs`` / refine
    for refine × the steps (the same physical time and frame times); with the trajectory if asked."""
    from ase import units

    from gdl.thermo import BAOAB, kelvin_to_kT

    masses = torch.as_tensor(atoms.get_masses(), dtype=torch.float64)
    sampler = BAOAB(potential, kelvin_to_kT(kelvin), dt=args.dt_fs / refine * units.fs, friction=0.02 / units.fs,
                    masses=masses)
    generator = torch.Generator().manual_seed(seed)
    x0 = torch.as_tensor(atoms.positions, dtype=torch.float64).expand(args.replicas, -1, -1).clone()
    t0 = time.perf_counter()
    x0 = sampler.run(x0, refine * args.equilibration, record_every=refine * args.equilibration,
                     generator=generator).final_positions
    trajectory = sampler.run(x0, refine * args.md_steps, record_every=refine * args.record_every, generator=generator)
    seconds = time.perf_counter() - t0
    frames = trajectory.positions.reshape(-1, len(atoms), 3)
    return (frames, seconds, trajectory) if with_trajectory else (frames, seconds)


def timestep_check(args) -> dict:
    """EMT MD at dt (seeds 1 and 2) and at dt/2 (seed 1): energies, temperature and g(r) compared (module docstring)."""
    from ase import units

    from gdl.thermo import EMTPotential
    from gdl.thermo.emt_clusters import cluster_atoms

    atoms = cluster_atoms(args.cluster)
    emt = EMTPotential(atoms)
    n = len(atoms)
    runs = {}
    for name, seed, refine in (("dt", 1, 1), ("dt_other_noise", 2, 1), ("dt_half", 1, 2)):
        frames, seconds, trajectory = run_md(emt, atoms, args.kelvin, args, seed, refine, with_trajectory=True)
        energies = trajectory.energies  # [T, R], eV
        per_replica = energies.mean(0)
        kinetic = trajectory.kinetic_energies.mean()
        runs[name] = {"frames": frames, "energies": energies.reshape(-1), "dt_fs": args.dt_fs / refine,
                      "steps": refine * args.md_steps, "seconds": seconds,
                      "energy_mean_eV": float(energies.mean()),
                      "energy_stderr_eV": float(per_replica.std(unbiased=True) / math.sqrt(per_replica.numel())),
                      "energy_std_eV": float(energies.std()),
                      # kinetic temperature of the 3N momenta: <KE> = (3N/2) k_B T
                      "kinetic_kelvin": float(kinetic / (1.5 * n * units.kB))}
        print(f"{name}: dt {args.dt_fs / refine:g} fs, {refine * args.md_steps} steps, {seconds:.0f} s, "
              f"<E> = {runs[name]['energy_mean_eV']:.4f} ± {runs[name]['energy_stderr_eV']:.4f} eV", flush=True)
    _, g_ref, p_ref = rdf(runs["dt"]["frames"], args.r_max, args.bin)
    rows = {}
    for name, run in runs.items():
        row = {k: v for k, v in run.items() if k not in ("frames", "energies")}
        if name != "dt":
            _, g, p = rdf(run["frames"], args.r_max, args.bin)
            row.update(rdf_max_abs_difference=float((g - g_ref).abs().max()),
                       pair_density_l1=float((p - p_ref).abs().sum() * args.bin),
                       energy_histogram_l1=energy_histogram_distance(run["energies"], runs["dt"]["energies"]),
                       energy_mean_difference_eV=run["energy_mean_eV"] - runs["dt"]["energy_mean_eV"],
                       energy_difference_stderr_eV=math.hypot(run["energy_stderr_eV"], runs["dt"]["energy_stderr_eV"]))
        rows[name] = row
    # where does the integration break? larger steps, from the same start, until the blow-up guard fires
    from gdl.thermo import BAOAB, kelvin_to_kT

    stability = []
    masses = torch.as_tensor(atoms.get_masses(), dtype=torch.float64)
    x0 = torch.as_tensor(atoms.positions, dtype=torch.float64).expand(args.replicas, -1, -1).clone()
    for factor in (2, 4, 8, 16):
        dt_fs = factor * args.dt_fs
        sampler = BAOAB(emt, kelvin_to_kT(args.kelvin), dt=dt_fs * units.fs, friction=0.02 / units.fs, masses=masses)
        try:
            trajectory = sampler.run(x0, args.stability_steps, record_every=args.stability_steps,
                                     generator=torch.Generator().manual_seed(3), record_positions=False)
            kinetic = float(trajectory.kinetic_energies.mean())
            stability.append({"dt_fs": dt_fs, "blew_up": False, "steps": args.stability_steps,
                              "final_kinetic_kelvin": kinetic / (1.5 * n * units.kB)})
        except FloatingPointError as exc:
            stability.append({"dt_fs": dt_fs, "blew_up": True, "error": str(exc)})
        print(f"stability dt {dt_fs:g} fs: {stability[-1]}", flush=True)
    return {"cluster": args.cluster, "kelvin": args.kelvin, "replicas": args.replicas, "runs": rows,
            "stability": stability}


def _timestep_markdown(result) -> str:
    lines = [f"{result['cluster']} at {result['kelvin']:.0f} K, EMT-driven BAOAB, {result['replicas']} replicas:", "",
             "| run | dt (fs) | steps | EMT energy mean ± s.e. (eV) | Δ mean vs dt run (eV) | T_kin (K) | "
             "max abs Δg(r) | ∫|Δp(r)| dr | ∫|Δp(E)| dE |", "|---|---|---|---|---|---|---|---|---|"]
    for name, r in result["runs"].items():
        delta = (f"{r['energy_mean_difference_eV']:+.4f} ± {r['energy_difference_stderr_eV']:.4f}"
                 if "energy_mean_difference_eV" in r else "–")
        lines.append(f"| {name} | {r['dt_fs']:g} | {r['steps']} | {r['energy_mean_eV']:.4f} ± {r['energy_stderr_eV']:.4f}"
                     f" | {delta} | {r['kinetic_kelvin']:.1f} | {r.get('rdf_max_abs_difference', float('nan')):.3f} | "
                     f"{r.get('pair_density_l1', float('nan')):.4f} | {r.get('energy_histogram_l1', float('nan')):.3f} |")
    for row in result.get("stability", []):
        lines.append(f"\ndt = {row['dt_fs']:g} fs: " + (f"blew up — {row['error']}" if row["blew_up"] else
                     f"stable for {row['steps']} steps (final T_kin {row['final_kinetic_kelvin']:.0f} K)"))
    return "\n".join(lines)


def pair_distances(frames: torch.Tensor) -> torch.Tensor:
    i, j = torch.triu_indices(frames.shape[1], frames.shape[1], offset=1)
    return (frames[:, i] - frames[:, j]).norm(dim=-1).reshape(-1)


def rdf(frames: torch.Tensor, r_max: float, width: float):
    """(bin centres, g(r), pair-distance density p(r)) of cluster frames (module docstring)."""
    n = frames.shape[1]
    edges = torch.arange(0.0, r_max + width / 2, width, dtype=torch.float64)
    distances = pair_distances(frames)
    counts = torch.histc(distances.clamp(max=r_max + 1.0), bins=len(edges) - 1, min=0.0, max=float(edges[-1]))
    centres = 0.5 * (edges[1:] + edges[:-1])
    shell = 4.0 / 3.0 * math.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    volume = 4.0 / 3.0 * math.pi * r_max ** 3
    g = 2.0 * counts / frames.shape[0] * volume / (n * (n - 1)) / shell
    density = counts / (distances.numel() * width)
    return centres, g, density


def energy_histogram_distance(a: torch.Tensor, b: torch.Tensor, bins: int = 40) -> float:
    low, high = float(torch.minimum(a.min(), b.min())), float(torch.maximum(a.max(), b.max()))
    width = (high - low) / bins
    pa = torch.histc(a, bins=bins, min=low, max=high) / (a.numel() * width)
    pb = torch.histc(b, bins=bins, min=low, max=high) / (b.numel() * width)
    return float((pa - pb).abs().sum() * width)


def main(argv=None) -> dict:
    args = _parse(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    if args.dt_check:
        result = timestep_check(args)
        result["command"] = "python -m gdl.benchmarks.emt_md " + " ".join(argv if argv is not None else sys.argv[1:])
        (out / "results.json").write_text(json.dumps(result, indent=2))
        print(_timestep_markdown(result))
        return result
    if args.evaluate:
        result = evaluate_checkpoint(args)
        (out / "results.json").write_text(json.dumps(result, indent=2))
        print(_test_markdown(result["test_before_refit"], "before the e_z refit"))
        print(_test_markdown(result["test"], f"after the e_z refit (Δe = {result['refit_shift_eV']})"))
        return result
    from gdl.thermo import EMTPotential
    from gdl.thermo.emt_clusters import cluster_atoms
    from gdl.train import Trainer
    from gdl.train.tasks.emt_clusters import refit_atomic_energies

    # 1. train
    config = {"task": "emt_clusters", "model": "egnn", "epochs": args.epochs, "batch_size": args.batch_size,
              "seed": args.seed, "progress": False, "data": json.loads(args.data),
              "model_options": json.loads(args.model_options), "data_root": args.data_root,
              "equivariance": {"every": 10, "batches": 1, "elements": 2, "final_batches": 2}}
    if args.lr is not None:
        config["optimizer"] = {"lr": args.lr}
    t0 = time.perf_counter()
    trainer = Trainer(config, run_dir=out / "train", overwrite=True, callbacks=[TimeBudget(60.0 * args.minutes, args.stop_after)])
    data_seconds = time.perf_counter() - t0
    fit = trainer.fit()
    model = trainer.model.to(torch.float64).eval()
    test_before_refit = held_out_errors(model, trainer.splits["test"])
    refit_shift = refit_atomic_energies(model, trainer.splits["train"])  # the training split only
    test = held_out_errors(model, trainer.splits["test"])

    # 2. MD: EMT, learned model, EMT with other noise
    atoms = cluster_atoms(args.cluster)
    template = next(d for d in trainer.splits["test"] if d.num_nodes == len(atoms)).clone()
    template = template.apply(lambda t: t.to(torch.float64) if t.is_floating_point() else t)
    emt = EMTPotential(atoms)
    learned = model.as_potential(template)
    runs, md_seconds, failure = {}, {}, None
    for name, potential, seed in (("emt", emt, 1), ("learned", learned, 1), ("emt_other_noise", emt, 2)):
        try:
            runs[name], md_seconds[name] = run_md(potential, atoms, args.kelvin, args, seed)
        except FloatingPointError as exc:  # the learned model's MD may blow up: report it, do not hide it
            failure = f"{name}: {exc}"
            print(f"MD failed: {failure}", file=sys.stderr)
    comparison = {}
    if "learned" in runs:
        emt_energy = {name: emt.energy(frames) for name, frames in runs.items()}
        model_energy = learned.energy(runs["learned"]).detach()
        rdfs = {name: rdf(frames, args.r_max, args.bin) for name, frames in runs.items()}
        for other in ("learned", "emt_other_noise"):
            if other not in runs:
                continue
            _, g_ref, p_ref = rdfs["emt"]
            _, g_other, p_other = rdfs[other]
            comparison[other] = {
                "rdf_max_abs_difference": float((g_other - g_ref).abs().max()),
                "pair_density_l1": float((p_other - p_ref).abs().sum() * args.bin),
                "emt_energy_mean_eV": float(emt_energy[other].mean()),
                "emt_energy_std_eV": float(emt_energy[other].std()),
                "energy_histogram_l1": energy_histogram_distance(emt_energy[other], emt_energy["emt"]),
            }
        comparison["emt"] = {"emt_energy_mean_eV": float(emt_energy["emt"].mean()),
                             "emt_energy_std_eV": float(emt_energy["emt"].std()),
                             "rdf_peak_g": float(rdfs["emt"][1].max()),
                             "rdf_peak_r": float(rdfs["emt"][0][rdfs["emt"][1].argmax()])}
        comparison["learned"]["model_energy_mae_on_own_frames_eV"] = float((model_energy - emt_energy["learned"]).abs().mean())
        _plot_rdf(rdfs, out / "rdf.png", args)
    results = {
        "command": "python -m gdl.benchmarks.emt_md " + " ".join(argv if argv is not None else sys.argv[1:]),
        "epochs": fit["epochs"], "best_epoch": fit["best_epoch"], "train_seconds": fit["train_seconds"],
        "data_seconds": data_seconds, "n_parameters": fit["n_parameters"],
        "train_graphs": len(trainer.splits["train"]), "test_graphs": len(trainer.splits["test"]),
        "equivariance_max": fit.get("equivariance", {}).get("max"),
        "test_before_refit": test_before_refit, "refit_shift_eV": refit_shift, "test": test, "md": {"cluster": args.cluster, "kelvin": args.kelvin, "replicas": args.replicas,
                              "steps": args.md_steps, "equilibration": args.equilibration,
                              "frames": {k: int(v.shape[0]) for k, v in runs.items()}, "seconds": md_seconds,
                              "failure": failure, "comparison": comparison},
    }
    (out / "results.json").write_text(json.dumps(results, indent=2))
    print(_markdown(results))
    return results


def evaluate_checkpoint(args) -> dict:
    """``--evaluate``: rebuild the checkpoint's model and data, test errors before and after ``refit_atomic_energies``
    on the training split."""
    from gdl.testing import default_dtype
    from gdl.train import get_task, load_checkpoint
    from gdl.train.tasks.emt_clusters import refit_atomic_energies

    state = load_checkpoint(args.evaluate)
    config = state["config"]
    task = get_task("emt_clusters")
    with default_dtype(torch.float64):
        model = task.build_model(config.get("model"), config.get("model_options") or {})
    model.load_state_dict(state["model"])
    model = model.to(torch.float64).eval()
    splits = task.build_datasets(root=args.data_root or config.get("data_root"), options=config.get("data") or {})
    before = held_out_errors(model, splits["test"])
    shift = refit_atomic_energies(model, splits["train"])
    return {"command": "python -m gdl.benchmarks.emt_md " + " ".join(sys.argv[1:]), "checkpoint": str(args.evaluate),
            "epoch": state.get("epoch"), "test_before_refit": before, "refit_shift_eV": shift,
            "test": held_out_errors(model, splits["test"])}


def _test_markdown(test, title) -> str:
    lines = [f"held-out test split, {title}:", "",
             "| test split | force MAE (eV/Å, component) | force MAE (eV/Å, per atom ‖ΔF‖) | energy MAE (meV/atom) | "
             "mean energy error (meV/atom) | graphs |", "|---|---|---|---|---|---|"]
    for key, row in test.items():
        lines.append(f"| {key} | {row['force_mae_component']:.4f} | {row['force_mae_atom']:.4f} | "
                     f"{1000 * row['energy_mae_per_atom']:.2f} | {1000 * row['energy_mean_error_per_atom']:+.2f} | "
                     f"{row['graphs']} |")
    return "\n".join(lines)


def _plot_rdf(rdfs, path, args):
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, style in (("emt", "-"), ("learned", "--"), ("emt_other_noise", ":")):
        if name in rdfs:
            ax.plot(rdfs[name][0], rdfs[name][1], style, label=name)
    ax.set_xlabel("r (Å)")
    ax.set_ylabel("g(r)")
    ax.set_title(f"{args.cluster} at {args.kelvin:.0f} K: MD on EMT vs the learned force field")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _markdown(results) -> str:
    lines = [f"epochs {results['epochs']} (best {results['best_epoch']}), train {results['train_seconds']:.0f} s, "
             f"{results['n_parameters']} parameters, equivariance max {results['equivariance_max']}", "",
             "| test split | force MAE (eV/Å, component) | force MAE (eV/Å, per atom ‖ΔF‖) | energy MAE (meV/atom) | graphs |",
             "|---|---|---|---|---|"]
    for key, row in results["test"].items():
        lines.append(f"| {key} | {row['force_mae_component']:.4f} | {row['force_mae_atom']:.4f} | "
                     f"{1000 * row['energy_mae_per_atom']:.2f} | {row['graphs']} |")
    md = results["md"]
    comparison = md["comparison"]
    if comparison:
        lines += ["", f"MD of {md['cluster']} at {md['kelvin']:.0f} K ({md['replicas']} replicas × {md['steps']} steps):", "",
                  "| run vs EMT-driven MD | max abs Δg(r) | ∫|Δp(r)| dr | EMT energy mean ± std (eV) | ∫|Δp(E)| dE |",
                  "|---|---|---|---|---|"]
        ref = comparison["emt"]
        lines.append(f"| EMT (reference) | – | – | {ref['emt_energy_mean_eV']:.3f} ± {ref['emt_energy_std_eV']:.3f} | – |")
        for name in ("learned", "emt_other_noise"):
            if name in comparison:
                c = comparison[name]
                lines.append(f"| {name} | {c['rdf_max_abs_difference']:.3f} | {c['pair_density_l1']:.4f} | "
                             f"{c['emt_energy_mean_eV']:.3f} ± {c['emt_energy_std_eV']:.3f} | {c['energy_histogram_l1']:.3f} |")
        lines.append(f"\nRDF peak of EMT: g = {ref['rdf_peak_g']:.2f} at r = {ref['rdf_peak_r']:.3f} Å; learned model's "
                     f"energy error on its own frames: {1000 * comparison['learned']['model_energy_mae_on_own_frames_eV']:.1f} meV")
    if md["failure"]:
        lines.append(f"\nMD failure: {md['failure']}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
