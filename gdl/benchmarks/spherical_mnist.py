"""Spherical MNIST-5k benchmark: NR/NR, R/R and NR/R accuracy of the spherical CNN and the planar baseline.

Each model trains twice with the ``spherical_mnist`` task — on unrotated (NR) and on rotated (R)
training digits — and the NR-trained model is tested on both the NR and the R test set, so three
protocols cost two trainings. Test accuracy is taken at the best-validation epoch (500 held-out
training digits, rotated like the training set). Resumable: a finished run (``results.json``) is
read back, an interrupted one continues from its ``last.pt``.

    nice -n 10 env OMP_NUM_THREADS=1 python -m gdl.benchmarks.spherical_mnist --out runs/spherical_mnist --epochs 8

writes ``<out>/<model>_<nr|r>/`` (the trainer's run folders) and ``<out>/summary.md`` / ``summary.json``.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

TRAININGS = {"nr": "nr_nr", "r": "r_r"}  # training rotations → the protocol whose test set the trainer uses


def _train(model: str, train: str, out: Path, epochs: int, data: dict, model_options: dict, batch_size: int,
           seed: int, scheduler: str = "none", overrides=()):
    from gdl.train import Trainer
    from gdl.train._config import merge

    run_dir = out / f"{model}_{train}"
    if (run_dir / "results.json").exists():
        return None, json.loads((run_dir / "results.json").read_text())
    config = {"task": "spherical_mnist", "model": model, "epochs": epochs, "batch_size": batch_size, "seed": seed,
              "progress": False, "data": {**data, "protocol": TRAININGS[train]}, "model_options": model_options,
              "scheduler": {"name": scheduler},
              "equivariance": {"every": 0, "final": True, "final_batches": 1, "elements": 2}}
    for override in overrides:
        config = merge(config, override)
    if (run_dir / "last.pt").exists():
        trainer = Trainer.resume(run_dir)
    else:
        trainer = Trainer(config, run_dir=run_dir)
    results = trainer.fit()
    return trainer, results


@torch.no_grad()
def _accuracy(model, dataset, batch_size: int = 100) -> float:
    from torch_geometric.loader import DataLoader

    model.eval()
    correct = total = 0
    for batch in DataLoader(dataset, batch_size=batch_size):
        correct += int((model(batch).argmax(-1) == batch.y).sum())
        total += batch.y.numel()
    return correct / total


def _rotated_test_accuracy(trainer, model_name: str, out: Path, data: dict, model_options: dict) -> float:
    """Accuracy of the best-validation NR-trained model on the rotated test set."""
    from gdl.train import get_task
    from gdl.train._checkpoint import load_checkpoint

    task = get_task("spherical_mnist")
    if trainer is not None:
        model = trainer.model
    else:
        model = task.build_model(model_name, model_options)
        model.load_state_dict(load_checkpoint(out / f"{model_name}_nr" / "best.pt", map_location="cpu")["model"])
    test = task.build_datasets(options={**data, "protocol": "nr_r"})["test"]
    return _accuracy(model, test)


def run(out: Path, models=("spherical_cnn", "planar_cnn"), epochs: int = 8, batch_size: int = 32, seed: int = 0,
        data=None, model_options=None, scheduler: str = "none", trainings=("nr", "r"), overrides=()) -> dict:
    """Train ``models`` on the ``trainings`` and write the summary. ``overrides``: nested config mappings
    (``parse_override("optimizer.weight_decay=1e-4")``) merged into every training's config, after the defaults;
    a ``model_options`` or ``data`` override also reaches the NR/R evaluation."""
    out.mkdir(parents=True, exist_ok=True)
    data = dict(data or {})
    from gdl.train._config import merge

    for override in overrides:
        data = merge(data, override.get("data", {}))
    summary_path = out / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    for model in models:
        options = dict((model_options or {}).get(model, {}))
        for override in overrides:
            options = merge(options, override.get("model_options", {}))
        row = summary.get(model, {})
        for train in trainings:
            t0 = time.perf_counter()
            trainer, results = _train(model, train, out, epochs, data, options, batch_size, seed, scheduler, overrides)
            if train == "nr":
                row["NR/NR"] = results["test_metric"]
                if "NR/R" not in row:
                    row["NR/R"] = _rotated_test_accuracy(trainer, model, out, data, options)
            else:
                row["R/R"] = results["test_metric"]
            row[f"seconds_per_epoch_{train}"] = results["train_seconds"] / max(1, results["epochs"])
            row["parameters"] = results["n_parameters"]
            row["epochs"] = results["epochs"]
            eq = results.get("equivariance", {})
            row[f"equivariance_{train}"] = eq.get("per_symmetry", {})
            summary[model] = row
            summary_path.write_text(json.dumps(summary, indent=2))
            print(f"{model} trained on {train.upper()}: {json.dumps(row)} ({time.perf_counter() - t0:.0f} s)", flush=True)
    (out / "summary.md").write_text(markdown(summary))
    print(markdown(summary))
    return summary


def partial(out: Path, models=("spherical_cnn",), data=None, model_options=None) -> dict:
    """Test accuracies of the best-validation checkpoints of unfinished trainings (no ``results.json`` yet).

    Written to ``<out>/summary_partial.json`` / ``.md`` with the epochs done and the best epoch, so numbers exist
    when a run cannot finish in its time; a finished training is read from its ``results.json`` as in :func:`run`."""
    from gdl.train import get_task
    from gdl.train._checkpoint import load_checkpoint

    task = get_task("spherical_mnist")
    data = dict(data or {})
    summary = {}
    for model_name in models:
        options = dict((model_options or {}).get(model_name, {}))
        row = {}
        for train in ("nr", "r"):
            run_dir = out / f"{model_name}_{train}"
            if not (run_dir / "best.pt").exists():
                continue
            lines = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines() if x.strip()]
            epochs = [x for x in lines if "val_accuracy" in x]
            best = max(epochs, key=lambda x: x["val_accuracy"])
            model = task.build_model(model_name, options)
            model.load_state_dict(load_checkpoint(run_dir / "best.pt", map_location="cpu")["model"])
            tests = ("nr_nr", "nr_r") if train == "nr" else ("r_r",)
            for protocol in tests:
                test = task.build_datasets(options={**data, "protocol": protocol})["test"]
                row[protocol.upper().replace("_", "/")] = _accuracy(model, test)
            row[f"epochs_done_{train}"] = len(epochs)
            row[f"best_epoch_{train}"] = best["epoch"]
            row[f"best_val_{train}"] = best["val_accuracy"]
            row[f"seconds_per_epoch_{train}"] = sum(x.get("time_train_s", 0.0) for x in epochs) / max(1, len(epochs))
            row["parameters"] = sum(p.numel() for p in model.parameters())
        summary[model_name] = row
    (out / "summary_partial.json").write_text(json.dumps(summary, indent=2))
    lines = ["| model | parameters | epochs done (NR, R) | best epoch (NR, R) | NR/NR | R/R | NR/R |",
             "|---|---|---|---|---|---|---|"]
    for model_name, row in summary.items():
        def pct(key):
            return f"{100 * row[key]:.1f}" if key in row else "—"

        lines.append(f"| {model_name} | {row.get('parameters', '—')} | {row.get('epochs_done_nr', '—')}, "
                     f"{row.get('epochs_done_r', '—')} | {row.get('best_epoch_nr', '—')}, {row.get('best_epoch_r', '—')} | "
                     f"{pct('NR/NR')} | {pct('R/R')} | {pct('NR/R')} |")
    text = "\n".join(lines) + "\n"
    (out / "summary_partial.md").write_text(text)
    print(text)
    return summary


def monitor(out: Path, models=("spherical_cnn",), data=None, model_options=None, digits: int = 16,
            elements: int = 4) -> dict:
    """The task's equivariance checks on the best checkpoint of every training in ``out``, float32 and float64:
    {model_train: {symmetry: {dtype: (max error, class bound)}}}, on the first ``digits`` test digits of the
    training's own test protocol and ``elements`` random group elements per symmetry."""
    from torch_geometric.loader import DataLoader

    from gdl.testing import check_equivariance
    from gdl.train import get_task
    from gdl.train._checkpoint import load_checkpoint

    task = get_task("spherical_mnist")
    data = dict(data or {})
    report = {}
    for model_name in models:
        options = dict((model_options or {}).get(model_name, {}))
        for train in ("nr", "r"):
            run_dir = out / f"{model_name}_{train}"
            if not (run_dir / "best.pt").exists():
                continue
            model = task.build_model(model_name, options)
            model.load_state_dict(load_checkpoint(run_dir / "best.pt", map_location="cpu")["model"])
            model.eval()
            test = task.build_datasets(options={**data, "protocol": TRAININGS[train]})["test"]
            batch = next(iter(DataLoader(test, batch_size=digits)))
            rows = {}
            for symmetry in task.symmetry(model):
                for dtype in (torch.float32, torch.float64):
                    torch.manual_seed(0)
                    result = check_equivariance(model.to(dtype), batch, symmetry=symmetry, n_random=elements,
                                                dtype=dtype)
                    bound = symmetry.tolerance[str(dtype).replace("torch.", "")]
                    rows.setdefault(symmetry.name, {})[str(dtype).replace("torch.", "")] = (result.max_error, bound)
                    print(f"{model_name}_{train}: {symmetry.name}, {dtype}: max relative error "
                          f"{result.max_error:.3g} (class bound {bound:g})", flush=True)
            report[f"{model_name}_{train}"] = rows
    (out / "monitor.json").write_text(json.dumps(report, indent=2))
    return report


def markdown(summary: dict) -> str:
    lines = ["| model | parameters | epochs | NR/NR | R/R | NR/R | s / epoch (NR, R) |", "|---|---|---|---|---|---|---|"]
    for model, row in summary.items():
        def pct(key):
            return f"{100 * row[key]:.1f}" if key in row else "—"

        speed = ", ".join(f"{row[k]:.0f}" for k in ("seconds_per_epoch_nr", "seconds_per_epoch_r") if k in row)
        lines.append(f"| {model} | {row.get('parameters', '—')} | {row.get('epochs', '—')} | {pct('NR/NR')} | "
                     f"{pct('R/R')} | {pct('NR/R')} | {speed} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("runs/spherical_mnist"))
    parser.add_argument("--models", nargs="+", default=["spherical_cnn", "planar_cnn"])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-class", type=int, default=None, help="digits per class of each split (smoke runs)")
    parser.add_argument("--val-per-class", type=int, default=50)
    parser.add_argument("--scheduler", default="none", choices=["none", "cosine"], help="learning-rate schedule")
    parser.add_argument("--trainings", nargs="+", default=["nr", "r"], choices=["nr", "r"],
                        help="which trainings to run (two processes may share --out, one training each; a last run "
                             "with both reads the finished ones back and writes the complete summary)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="config override for every training, as the CLI's (e.g. optimizer.weight_decay=1e-4, "
                             "model_options.dropout=0.3); repeatable")
    parser.add_argument("--monitor", action="store_true",
                        help="only run the task's equivariance checks on the best checkpoints in --out (monitor.json)")
    parser.add_argument("--partial", action="store_true",
                        help="only evaluate the best checkpoints of unfinished trainings in --out (summary_partial.md)")
    args = parser.parse_args(argv)
    from gdl.train._config import merge, parse_override

    overrides = tuple(parse_override(text) for text in args.overrides)
    data = {"val_per_class": args.val_per_class}
    if args.per_class is not None:
        data["per_class"] = args.per_class
    if args.partial or args.monitor:
        options = {}
        for override in overrides:
            data = merge(data, override.get("data", {}))
            options = merge(options, override.get("model_options", {}))
        (monitor if args.monitor else partial)(args.out, tuple(args.models), data,
                                               {model: options for model in args.models})
        return 0
    run(args.out, tuple(args.models), args.epochs, args.batch_size, args.seed, data, scheduler=args.scheduler,
        trainings=tuple(args.trainings), overrides=overrides)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
