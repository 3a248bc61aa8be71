"""SynthFAUST correspondence: an invariant network keeps its accuracy on rotated meshes, an XYZ network does not.

    python examples/train_synth_faust.py --model gem --epochs 40            # GEM-CNN on invariant descriptors
    python examples/train_synth_faust.py --model gcn-xyz --aligned-train    # XYZ baseline trained on aligned meshes
    python examples/train_synth_faust.py --model mlp-invariant

Trains the ``synth_faust`` task's model (``gdl.train.get_task("synth_faust")``) with Adam on the 70
training meshes, then reports exact accuracy and mean geodesic error (÷ √template area) on the
validation meshes and on three test sets of 20 meshes: rotated (random rotation + translation),
aligned, and re-triangulated (rotated, each mesh its own triangulation). Resumable: a checkpoint is
written to ``--out`` after every epoch and picked up when the command is run again; ``--minutes``
stops training early (the evaluation still runs). Results: ``<out>/results.json``.
The same training is ``gdl train synth_faust --model gem`` (accuracy on one test set).
"""
import argparse
import json
import time
from pathlib import Path

import torch
from torch_geometric.loader import DataLoader

from gdl.train import get_task
from gdl.train.tasks.synth_faust import correspondence_errors, synth_faust_split

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--model", default="gem", choices=["gem", "gem-matrix", "gem-xyz", "gcn-xyz", "mlp-invariant"])
parser.add_argument("--subdivisions", type=int, default=3, help="template icosphere level: 3 → 642 vertices")
parser.add_argument("--epochs", type=int, default=40)
parser.add_argument("--lr", type=float, default=None, help="default: the task's learning rate for the model")
parser.add_argument("--batch-size", type=int, default=4)
parser.add_argument("--aligned-train", action="store_true", help="train on meshes without the random rigid motion")
parser.add_argument("--model-option", action="append", default=[], metavar="KEY=VALUE",
                    help="extra model options (ints/floats/strings), e.g. hidden_channels=32")
parser.add_argument("--minutes", type=float, default=None, help="stop training after this many minutes")
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--out", default=None, help="run folder (default runs/synth_faust-<model>[-aligned])")
args = parser.parse_args()


def parse_value(text):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


out = Path(args.out or f"runs/synth_faust-{args.model}{'-aligned' if args.aligned_train else ''}")
out.mkdir(parents=True, exist_ok=True)
torch.manual_seed(args.seed)
task = get_task("synth_faust")
options = {"subdivisions": args.subdivisions, **{k: parse_value(v) for k, v in (o.split("=", 1) for o in args.model_option)}}
model = task.build_model(args.model, options)
splits = task.build_datasets(options={"subdivisions": args.subdivisions, "train_rigid_motion": not args.aligned_train})
optimizer = torch.optim.Adam(model.parameters(), lr=args.lr or task.model_spec(args.model).lr)
scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=3)
history, start = [], 0
checkpoint = out / "checkpoint.pt"
if checkpoint.exists():
    state = torch.load(checkpoint, weights_only=False)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    history, start = state["history"], state["epoch"]
    print(f"resuming {out} at epoch {start}")

geodesics = splits["train"].geodesics()  # on the template (shared by every split)
began = time.time()
loader = DataLoader(splits["train"], batch_size=args.batch_size, shuffle=True,
                    generator=torch.Generator().manual_seed(args.seed + start))
for epoch in range(start, args.epochs):
    if args.minutes is not None and time.time() - began > 60 * args.minutes:
        print(f"stopping after {args.minutes} minutes at epoch {epoch}")
        break
    model.train()
    total, count, tick = 0.0, 0, time.time()
    for batch in loader:
        optimizer.zero_grad()
        loss = task.loss(model(batch), batch)
        loss.backward()
        optimizer.step()
        total, count = total + float(loss.detach()) * batch.num_graphs, count + batch.num_graphs
    val = correspondence_errors(model, splits["val"], geodesics)
    scheduler.step(-val["accuracy"])
    history.append({"epoch": epoch + 1, "loss": total / count, "val_accuracy": val["accuracy"],
                    "seconds": time.time() - tick, "lr": optimizer.param_groups[0]["lr"]})
    print(f"epoch {epoch + 1}: loss {total / count:.4f}, val accuracy {val['accuracy']:.4f} ({time.time() - tick:.1f} s)",
          flush=True)
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "history": history, "epoch": epoch + 1}, checkpoint)

results = {"model": args.model, "aligned_train": args.aligned_train, "subdivisions": args.subdivisions,
           "epochs_trained": len(history), "parameters": sum(p.numel() for p in model.parameters()),
           "val": correspondence_errors(model, splits["val"], geodesics)}
for name, rigid, retri in (("test_rotated", True, False), ("test_aligned", False, False), ("test_retriangulated", True, True)):
    test_set = synth_faust_split(None, "test", subdivisions=args.subdivisions, rigid_motion=rigid, retriangulate=retri)
    results[name] = correspondence_errors(model, test_set, geodesics)
results["history"] = history
(out / "results.json").write_text(json.dumps(results, indent=2))
print(f"{'set':22s} {'accuracy':>9s} {'geodesic error':>15s}")
for name in ("val", "test_rotated", "test_aligned", "test_retriangulated"):
    print(f"{name:22s} {results[name]['accuracy']:9.4f} {results[name]['geodesic_error']:15.4f}")
