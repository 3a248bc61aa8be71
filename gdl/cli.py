"""The ``gdl`` command line: train benchmark tasks, check a model's equivariance, list tasks, build datasets.

    gdl train nbody --model egnn --epochs 2          # run folder with config, metrics, checkpoints, plots, results
    gdl train --resume runs/nbody-egnn-s0-…          # continue a killed run exactly
    gdl check runs/nbody-egnn-s0-…                   # equivariance report of a trained model on its task data
    gdl check egnn --task nbody                      # … of an untrained model
    gdl tasks                                        # tasks, models, default learning rates, published numbers
    gdl data nbody                                   # generate and cache a task's dataset
    gdl results runs/nbody-egnn-s*                   # mean ± std of finished runs (Markdown)

Multi-process: ``torchrun --nproc_per_node=2 -m gdl.cli train nbody …`` (gloo on CPU, nccl on GPU).
"""
from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path
from typing import List, Optional


class CommandError(Exception):
    """A user error: printed as ``gdl: error: …`` with exit status 2."""


def _user_errors():
    from gdl.data._cache import DatasetCacheError
    from gdl.data._home import HookKeyError
    from gdl.groups import FieldTypeError, GroupElementError
    from gdl.train import CheckpointError, ConfigError, RunDirError, UnknownNameError

    return (ConfigError, UnknownNameError, CheckpointError, RunDirError, FieldTypeError, GroupElementError, CommandError,
            DatasetCacheError, HookKeyError)


# ------------------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gdl",
        description="gdl — geometric deep learning with verified equivariance. Train benchmark tasks while "
                    "measuring the model's equivariance error on the real data.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=textwrap.dedent("""\
            examples:
              gdl tasks
              gdl train nbody --model egnn --epochs 2
              gdl train nbody --model egnn --epochs 300 --seed 1 --set eval_every=5
              gdl train --resume runs/nbody-egnn-s0-20260101-120000
              gdl check runs/nbody-egnn-s0-20260101-120000
              gdl data nbody
            """),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    train = sub.add_parser(
        "train", help="train a model on a benchmark task into a run folder",
        description="Train MODEL on TASK. Writes RUN_DIR/config.yaml, metrics.jsonl, last.pt, best.pt, "
                    "loss/metric/equivariance PNGs and results.md (test metric at the best-validation epoch vs "
                    "published numbers, and the equivariance report). Settings: defaults ← task/model defaults ← "
                    "--config FILE ← --set KEY=VALUE ← the flags below.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="config keys (YAML, nested with dots for --set): " + _config_keys(),
    )
    train.add_argument("task", nargs="?", help="task name (see `gdl tasks`); not needed with --resume")
    train.add_argument("--model", "-m", help="model name (default: the task's default model)")
    train.add_argument("--config", "-c", type=Path, help="YAML config file (unknown keys are errors)")
    train.add_argument("--epochs", "-e", type=int, help="number of epochs (with --resume: extend the run)")
    train.add_argument("--seed", "-s", type=int, help="seed of initialisation, data order and dropout")
    train.add_argument("--device", "-d", help="cpu, cuda or cuda:N")
    train.add_argument("--dtype", choices=["float32", "float64"], help="parameter and data dtype")
    train.add_argument("--batch-size", type=int, help="global batch size (split over DDP ranks)")
    train.add_argument("--lr", type=float, help="learning rate (default: the model's published setting)")
    train.add_argument("--run-dir", "-o", type=Path,
                       help="run folder (default: a new runs/TASK-MODEL-sSEED-TIMESTAMP-XXXXXX); a folder holding "
                            "another run is refused unless --overwrite")
    train.add_argument("--overwrite", action="store_true",
                       help="replace the run already in --run-dir (its checkpoints, metrics and results are deleted)")
    train.add_argument("--resume", "-r", type=Path, metavar="RUN_DIR",
                       help="continue the run in RUN_DIR from last.pt (with --epochs to extend it, --set to change "
                            "keys explicitly: logged in RUN_DIR/overrides.jsonl)")
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override one config key, e.g. --set optimizer.lr=1e-3 --set data.num_train=500")
    train.add_argument("--no-progress", action="store_true", help="no progress bar or per-epoch lines")

    check = sub.add_parser(
        "check", help="equivariance report of a model (trained checkpoint or untrained by name) on its task data",
        description="Run gdl.testing.check_equivariance with the task's symmetry on test batches and compare the "
                    "task metric on transformed vs untransformed data. MODEL_OR_CHECKPOINT is a run folder, a "
                    "checkpoint file (last.pt/best.pt), or a model name (then --task picks the task).",
    )
    check.add_argument("target", metavar="MODEL_OR_CHECKPOINT")
    check.add_argument("--task", "-t", help="task of a model given by name (default: the one task that has it)")
    check.add_argument("--batches", type=int, default=2, help="number of test batches (default 2)")
    check.add_argument("--elements", type=int, default=4, help="random group elements per symmetry (default 4)")
    check.add_argument("--dtype", choices=["float32", "float64"], help="run the check in this dtype")
    check.add_argument("--device", help="cpu, cuda or cuda:N")
    check.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="config override for a model given by name, e.g. --set data.num_test=200")

    sub.add_parser("tasks", help="list tasks, their models, default learning rates and published numbers")

    results = sub.add_parser(
        "results", help="summarise finished runs: test metric mean ± std over seeds, equivariance, monitor cost",
        description="Read results.json of each RUN_DIR and print one Markdown row per (task, model, epochs): "
                    "test metric at the best-validation epoch as mean ± std over the runs (seeds or folds).")
    results.add_argument("run_dirs", nargs="+", type=Path, metavar="RUN_DIR")
    results.add_argument("--plot", type=Path, metavar="PNG", help="also plot the validation curves of all runs")

    data = sub.add_parser("data", help="generate and cache a task's dataset",
                          description="Build the train/val/test splits of TASK in the dataset cache ($GDL_HOME).")
    data.add_argument("task")
    data.add_argument("--root", help="dataset cache root (default: $GDL_HOME or datasets/cache)")
    data.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                      help="dataset option, e.g. --set num_train=500")
    return parser


def _config_keys() -> str:
    import dataclasses

    from gdl.train._config import TrainConfig

    keys = []
    for f in dataclasses.fields(TrainConfig):
        default = getattr(TrainConfig(), f.name)
        if dataclasses.is_dataclass(default):
            keys.append(f"{f.name}.{{{','.join(g.name for g in dataclasses.fields(default))}}}")
        else:
            keys.append(f.name)
    return ", ".join(keys)


# ------------------------------------------------------------------------------------- commands
def _overrides(items: List[str]) -> dict:
    from gdl.train._config import merge, parse_override

    out: dict = {}
    for item in items:
        out = merge(out, parse_override(item))
    return out


def cmd_train(args) -> int:
    from gdl.train import Trainer
    from gdl.train._config import merge, read_config_file

    if args.resume is not None:
        extra = [name for name in ("model", "config", "seed", "device", "dtype", "batch_size", "lr", "run_dir")
                 if getattr(args, name) is not None] + (["overwrite"] if args.overwrite else [])
        if extra:
            raise CommandError(f"--resume continues the saved configuration; it cannot be combined with "
                               f"{', '.join('--' + e.replace('_', '-') for e in extra)} (--epochs extends the run; "
                               "--set KEY=VALUE changes a key explicitly)")
        trainer = Trainer.resume(args.resume, epochs=args.epochs, overrides=_overrides(args.set))
        if args.no_progress:
            trainer.config.progress = False
    else:
        values: dict = {}
        if args.config is not None:
            values = read_config_file(args.config)
        values = merge(values, _overrides(args.set))
        flags = {"task": args.task, "model": args.model, "epochs": args.epochs, "seed": args.seed,
                 "device": args.device, "dtype": args.dtype, "batch_size": args.batch_size}
        values = merge(values, {k: v for k, v in flags.items() if v is not None})
        if args.lr is not None:
            values = merge(values, {"optimizer": {"lr": args.lr}})
        if args.no_progress:
            values["progress"] = False
        if not values.get("task"):
            raise CommandError("name a task (e.g. `gdl train nbody`) or pass --resume RUN_DIR; see `gdl tasks`")
        trainer = Trainer(values, run_dir=args.run_dir, overwrite=args.overwrite)
    if trainer.dist.is_main:
        print(f"run folder: {trainer.run_dir}", file=sys.stderr)
    results = trainer.fit()
    if trainer.dist.is_main:
        print(f"results: {trainer.run_dir / 'results.md'}")
    return 1 if results.get("stopped") else 0


def cmd_check(args) -> int:
    import torch

    from gdl.train import get_task, list_tasks, load_checkpoint
    from gdl.train._config import EquivarianceConfig, config_from_dict, merge
    from gdl.train._monitor import EquivarianceMonitor
    from gdl.train._trainer import move_batch, resolve_config

    target = Path(args.target)
    if target.exists():
        source = target / "best.pt" if (target / "best.pt").exists() else target
        state = load_checkpoint(source)
        config = config_from_dict(state["config"])
        if args.set:
            raise CommandError("--set applies to a model given by name, not to a checkpoint")
        task = get_task(config.task)
        what = f"{config.task}/{config.model} from {source if source.is_file() else source / 'last.pt'} (epoch {state['epoch']})"
    else:
        if "/" in args.target or args.target.endswith(".pt"):
            raise CommandError(f"{args.target} does not exist (expected a run folder, a checkpoint or a model name)")
        if args.task is None:
            owners = [name for name, t in list_tasks().items() if args.target in t.models]
            if len(owners) != 1:
                valid = sorted({m for t in list_tasks().values() for m in t.models})
                raise CommandError(
                    f"unknown model {args.target!r}; valid models: {', '.join(valid)}" if not owners else
                    f"model {args.target!r} exists in tasks {owners}; pick one with --task")
            args.task = owners[0]
        task = get_task(args.task)
        config = resolve_config(merge(_overrides(args.set), {"task": task.name, "model": args.target}))
        state = None
        what = f"{task.name}/{args.target} (untrained, seed {config.seed})"
    dtype_name = args.dtype or config.dtype
    device = torch.device(args.device or ("cpu" if not config.device.startswith("cuda") or not torch.cuda.is_available() else config.device))
    dtype = {"float32": torch.float32, "float64": torch.float64}[dtype_name]
    torch.manual_seed(config.seed)
    from gdl.testing import default_dtype

    with default_dtype(dtype):  # constants (e3nn Clebsch-Gordan, …) carry the check's precision
        model = task.build_model(config.model, config.model_options)
    if state is not None:
        try:
            model.load_state_dict(state["model"])
        except RuntimeError as exc:
            from gdl.train import CheckpointError

            raise CheckpointError(f"checkpoint does not fit model {config.model!r}: {exc}") from None
        if state.get("ema") and state["ema"].get("shadow"):
            model.load_state_dict(state["ema"]["shadow"], strict=False)
    model = model.to(device, dtype).eval()
    splits = task.build_datasets(root=config.data_root, options=config.data)
    from torch_geometric.loader import DataLoader

    loader = DataLoader(splits["test"], batch_size=config.eval_batch_size or config.batch_size, shuffle=False)
    batches = []
    for i, batch in enumerate(loader):
        if i >= args.batches:
            break
        batches.append(move_batch(batch, device, dtype))
    monitor = EquivarianceMonitor(task, EquivarianceConfig(elements=args.elements), dtype_name,
                                  breaks=task.model_spec(config.model).breaks)
    report = monitor.final_report(model, batches)
    metric = task.metric.name
    print(f"equivariance of {what} on {len(batches)} test batches, {dtype_name}, {device}")
    print(f"symmetry: {report['symmetry']}; {report['elements']} group elements per batch; tolerance {report['tolerance']:.0e}")
    print(f"{'output / symmetry':<28} {'max rel. error':>15} {'mean rel. error':>16}")
    for name, err in report["per_output"].items():
        print(f"{name:<28} {err['max']:>15.2e} {err['mean']:>16.2e}")
    for name, err in report["per_symmetry"].items():
        print(f"{name:<28} {err:>15.2e}")
    print(f"test {metric}: untransformed {report['metric_untransformed']:.6g}, transformed {report['metric_transformed']:.6g} "
          f"(relative difference {report['metric_relative_difference']:.2e})")
    for note in report.get("notes", []):
        print(f"note: {note}")
    passed = not monitor.exceeded(report)
    enforced = [name for name in report["per_symmetry"] if name not in monitor.breaks]
    if monitor.breaks:
        print(f"note: {config.model} breaks {', '.join(monitor.breaks)} by design (a baseline); that error is not enforced")
    print(f"PASSED ({', '.join(enforced)})" if passed else "NOT EQUIVARIANT within tolerance")
    return 0 if passed else 1


def cmd_tasks(args) -> int:
    from gdl.train import list_tasks

    for name, task in list_tasks().items():
        print(f"{name}: {task.description}")
        print(f"  symmetry: {task.symmetry_description or 'derived from the model types'}")
        print(f"  metric: {task.metric.name} ({'higher' if task.metric.higher_is_better else 'lower'} is better)")
        print("  models (default lr):")
        for model, spec in task.models.items():
            mark = " [default]" if model == task.default_model else ""
            print(f"    {model:<10} lr {spec.lr:g}{mark}  {spec.description}")
        if task.published:
            print("  published:")
            for model, pub in task.published.items():
                print(f"    {model:<16} {pub.value:g}  ({pub.source})")
        if task.notes:
            print(f"  notes: {task.notes}")
    return 0


def cmd_data(args) -> int:
    import time

    from gdl.train import get_task
    from gdl.train._task import check_kwargs

    task = get_task(args.task)
    options = _overrides(args.set)
    fn = task.generate or (lambda root=None, **o: {k: f"{len(v)} items" for k, v in task.build_datasets(root, o).items()})
    check_kwargs(task.datasets, options, f"data options for task {task.name}", skip=("root",))
    t0 = time.perf_counter()
    summary = fn(root=args.root, **options)
    for split, text in summary.items():
        print(f"{split}: {text}")
    print(f"{task.name}: ready in {time.perf_counter() - t0:.1f} s")
    return 0


RESULT_KEYS = ("task", "model", "epochs", "seed", "metric", "test_metric", "best_epoch")


def read_results(run_dirs):
    """``(runs, notes, corrupt)``: the ``(run_dir, results)`` of finished runs; a note for each unfinished
    folder (no results.json); the corrupt results.json files, each with what is wrong."""
    import json

    runs, notes, corrupt = [], [], []
    for run_dir in run_dirs:
        path = Path(run_dir) / "results.json"
        if not path.exists():
            state = "unfinished run" if (Path(run_dir) / "config.yaml").exists() else "not a run folder"
            notes.append(f"skipped {run_dir}: no results.json ({state})")
            continue
        try:
            r = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(r, dict):
                raise ValueError(f"expected a JSON object, got {type(r).__name__}")
            missing = [k for k in RESULT_KEYS if k not in r]
            if missing:
                raise ValueError(f"missing keys {', '.join(missing)}")
        except (OSError, ValueError) as exc:
            corrupt.append(f"{path} is corrupt ({type(exc).__name__}: {exc}); skipped")
            continue
        runs.append((run_dir, r))
    return runs, notes, corrupt


def cmd_results(args) -> int:
    import statistics

    runs, notes, corrupt = read_results(args.run_dirs)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    for problem in corrupt:
        print(f"gdl: error: {problem}", file=sys.stderr)
    if not runs:
        raise CommandError(f"no finished runs to summarise among {len(args.run_dirs)} folder(s) "
                           "(each needs a valid results.json)")
    groups: dict = {}
    for run_dir, r in runs:
        groups.setdefault((r["task"], r["model"], r["epochs"]), []).append((run_dir, r))
    for (task, model, epochs), items in groups.items():
        seeds: dict = {}
        for run_dir, r in items:
            seeds.setdefault((r["seed"], json.dumps(r.get("data"), sort_keys=True)), []).append(str(run_dir))
        for (seed, _), dirs in seeds.items():
            if len(dirs) > 1:
                print(f"warning: {len(dirs)} runs of {task}/{model} ({epochs} epochs) share seed {seed}: "
                      f"{', '.join(dirs)} — the mean ± std counts that seed {len(dirs)} times", file=sys.stderr)
    print("| task | model | epochs | runs | test metric (mean ± std) | best-val epochs | max equivariance error "
          "| monitor cost (share of training CPU time) | published |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (task, model, epochs), items in groups.items():
        values = [r["test_metric"] for _, r in items]
        std = statistics.stdev(values) if len(values) > 1 else 0.0
        eq = [r["equivariance"]["max"] for _, r in items if r.get("equivariance")]
        share = [r["monitor_cpu_seconds"] / r["train_cpu_seconds"] if r.get("train_cpu_seconds")
                 else r["monitor_seconds"] / r["train_seconds"] for _, r in items if r.get("train_seconds")]
        published = items[0][1].get("published_self")
        metric = items[0][1]["metric"]
        print(f"| {task} | {model} | {epochs} | {len(items)} | {metric} {statistics.mean(values):.5g} ± {std:.2g} "
              f"| {', '.join(str(r['best_epoch']) for _, r in items)} | {max(eq):.1e} | "
              f"{100 * statistics.mean(share):.1f} % | {published if published is not None else '—'} |" if eq and share else
              f"| {task} | {model} | {epochs} | {len(items)} | {metric} {statistics.mean(values):.5g} ± {std:.2g} "
              f"| {', '.join(str(r['best_epoch']) for _, r in items)} | — | — | {published if published is not None else '—'} |")
    if args.plot is not None:
        _plot_runs([run for items in groups.values() for run, _ in items], args.plot)
        print(f"curves: {args.plot}")
    return 1 if corrupt else 0


def _plot_runs(run_dirs, path: Path) -> None:
    import json

    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    from gdl.train import read_metrics

    fig, ax = plt.subplots(figsize=(6, 3.8), dpi=100)
    for run_dir in run_dirs:
        rows = read_metrics(run_dir)
        key = next((k for k in (rows[0] if rows else {}) if k.startswith("train_") and k != "train_loss"), None)
        metric = key[len("train_"):] if key else "loss"
        points = [(r["epoch"], r[f"val_{metric}"]) for r in rows if f"val_{metric}" in r]
        label = Path(run_dir).name
        results_path = Path(run_dir) / "results.json"
        if results_path.exists():
            r = json.loads(results_path.read_text(encoding="utf-8"))
            label = f"{r['model']} seed {r['seed']} ({r['epochs']} epochs)"
        if points:
            ax.plot(*zip(*points), label=label, linewidth=1)
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation metric")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


COMMANDS = {"train": cmd_train, "check": cmd_check, "tasks": cmd_tasks, "data": cmd_data, "results": cmd_results}


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return COMMANDS[args.command](args)
    except _user_errors() as exc:
        print(f"gdl: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gdl: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
