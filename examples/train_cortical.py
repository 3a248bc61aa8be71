"""Cortical surfaces: regress sulcal depth on fsaverage5, train on the left hemisphere, test on the right.

    python examples/train_cortical.py --model gem --epochs 200
    python examples/train_cortical.py --model gcn-xyz
    python examples/train_cortical.py --model mlp-invariant

Trains the ``cortical`` task's model (``gdl.train.get_task("cortical")``; needs the ``cortical`` extra,
nibabel + nilearn, whose wheel ships fsaverage5) with Adam on the left pial surface, one mesh per step,
then reports R² = 1 − SSE/SST of the predicted sulcal depth on the left hemisphere (training fit), the
left moved by a random rotation + translation, the right hemisphere, and the right hemisphere moved.
Resumable (a checkpoint in ``--out`` after every ``--save-every`` epochs); ``--minutes`` stops
training early. Results: ``<out>/results.json``.
"""
import argparse
import json
import time
from pathlib import Path

import torch

from gdl.train import get_task
from gdl.train.tasks.cortical import cortical_split, r_squared

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--model", default="gem", choices=["gem", "gcn-xyz", "mlp-invariant"])
parser.add_argument("--epochs", type=int, default=200)
parser.add_argument("--lr", type=float, default=None, help="default: the task's learning rate for the model")
parser.add_argument("--model-option", action="append", default=[], metavar="KEY=VALUE")
parser.add_argument("--minutes", type=float, default=None, help="stop training after this many minutes")
parser.add_argument("--save-every", type=int, default=10)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--out", default=None, help="run folder (default runs/cortical-<model>)")
args = parser.parse_args()


def parse_value(text):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


@torch.no_grad()
def evaluate(model, dataset) -> float:
    model.eval()
    scores = [float(r_squared(model(data), data)[0]) for data in dataset]
    return sum(scores) / len(scores)


out = Path(args.out or f"runs/cortical-{args.model}")
out.mkdir(parents=True, exist_ok=True)
torch.manual_seed(args.seed)
task = get_task("cortical")
model = task.build_model(args.model, {k: parse_value(v) for k, v in (o.split("=", 1) for o in args.model_option)})
sets = {"left": cortical_split(None, "left"), "left_moved": cortical_split(None, "left", rigid_motion_seed=1),
        "right": cortical_split(None, "right"), "right_moved": cortical_split(None, "right", rigid_motion_seed=0)}
optimizer = torch.optim.Adam(model.parameters(), lr=args.lr or task.model_spec(args.model).lr)
scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
history, start = [], 0
checkpoint = out / "checkpoint.pt"
if checkpoint.exists():
    state = torch.load(checkpoint, weights_only=False)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    history, start = state["history"], state["epoch"]
    print(f"resuming {out} at epoch {start}")

train = sets["left"][0]
began = time.time()
for epoch in range(start, args.epochs):
    if args.minutes is not None and time.time() - began > 60 * args.minutes:
        print(f"stopping after {args.minutes} minutes at epoch {epoch}")
        break
    model.train()
    optimizer.zero_grad()
    loss = task.loss(model(train), train)
    loss.backward()
    optimizer.step()
    scheduler.step()
    history.append({"epoch": epoch + 1, "loss": float(loss.detach())})
    if (epoch + 1) % args.save_every == 0 or epoch + 1 == args.epochs:
        print(f"epoch {epoch + 1}: loss {float(loss.detach()):.4f}, R² left {evaluate(model, sets['left']):.3f} "
              f"({time.time() - began:.0f} s)", flush=True)
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                    "history": history, "epoch": epoch + 1}, checkpoint)

results = {"model": args.model, "epochs_trained": len(history), "parameters": sum(p.numel() for p in model.parameters())}
results.update({f"r2_{name}": evaluate(model, dataset) for name, dataset in sets.items()})
results["history"] = history
(out / "results.json").write_text(json.dumps(results, indent=2))
print("  ".join(f"R² {name}: {results[f'r2_{name}']:.3f}" for name in sets))
