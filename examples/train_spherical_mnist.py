"""Spherical MNIST from real digits: a spherical CNN keeps its accuracy on rotated test digits, a planar CNN does not.

    python examples/train_spherical_mnist.py                   # NR/NR, R/R, NR/R, both models, 3 epochs, 100 digits per class
    python examples/train_spherical_mnist.py --full --epochs 8 # the 5k benchmark (gdl.benchmarks.spherical_mnist)

Each model trains on unrotated digits projected onto the sphere (NR) and is tested on unrotated
and on rotated test digits (and trains once more on rotated digits, R/R); the run also prints the SO(3) error the monitor measured on test
batches in its two classes (exact longitude shifts, interpolated general rotations). The same
as ``gdl train spherical_mnist --model planar_cnn --set data.protocol=nr_nr``.
"""
import argparse
from pathlib import Path

from gdl.benchmarks.spherical_mnist import run

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--full", action="store_true", help="all 5000 digits (default: 100 per class per split)")
parser.add_argument("--out", type=Path, default=Path("runs/example-spherical-mnist"))
args = parser.parse_args()

data = {} if args.full else {"per_class": 100, "val_per_class": 10}
summary = run(args.out, epochs=args.epochs, data=data)
for model, row in summary.items():
    drop = 100 * (row["NR/NR"] - row["NR/R"])
    errors = ", ".join(f"{name} {error:.1e}" for name, error in row["equivariance_nr"].items())
    print(f"{model}: NR/NR {100 * row['NR/NR']:.1f} %, NR/R {100 * row['NR/R']:.1f} % (drop {drop:.1f} points); "
          f"relative logit change under rotations: {errors}")
