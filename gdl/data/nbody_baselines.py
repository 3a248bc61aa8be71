"""``python -m gdl.data.nbody_baselines``: closed-form baselines on NBodyCharged, the dataset's distribution check.

One seed (default: the EGNN stream, seed 43) prints the test MSE of each baseline of
:func:`gdl.data.nbody.baseline_errors`; ``--seeds K`` repeats it over the independent
``per_split`` streams with seeds 0 … K − 1 and prints mean ± std (the spread that sets the
tolerances of ``tests/data/test_nbody_dataset.py``).
"""
from __future__ import annotations

import argparse
import time
from typing import List, Optional

import torch

from gdl.data.nbody import EGNN_SEED, NBodyCharged, baseline_errors


def _errors(num_train: int, num_test: int, seed: int, stream: str, root: Optional[str], progress: bool):
    kwargs = dict(root=root, seed=seed, stream=stream, dtype=torch.float64, progress=progress)
    train = NBodyCharged(split="train", num_train=num_train, **kwargs)
    test = NBodyCharged(split="test", num_test=num_test, **kwargs)
    return train, test, baseline_errors(train.tensors(), test.tensors())


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-train", type=int, default=3000)
    parser.add_argument("--num-test", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=EGNN_SEED)
    parser.add_argument("--stream", default="egnn", choices=["egnn", "per_split"])
    parser.add_argument("--seeds", type=int, default=0, help="repeat over per_split seeds 0..K-1 and summarise")
    parser.add_argument("--root", default=None, help="cache folder (default: $GDL_HOME/nbody_charged)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if args.seeds:
        runs = [_errors(args.num_train, args.num_test, s, "per_split", args.root, False)[2] for s in range(args.seeds)]
        print(f"{args.seeds} per_split seeds, {args.num_train} train / {args.num_test} test: mean ± std [min, max]")
        for name in runs[0]:
            values = torch.tensor([r[name] for r in runs], dtype=torch.float64)
            print(f"{name:>22s}: {values.mean():.5f} ± {values.std():.5f} [{values.min():.5f}, {values.max():.5f}]")
        return
    start = time.perf_counter()
    train, test, errors = _errors(args.num_train, args.num_test, args.seed, args.stream, args.root, True)
    seconds = time.perf_counter() - start
    tensors = test.tensors()
    print(f"{train} {test} ({seconds:.1f} s to generate or load)")
    print(f"test: mean |v| at the input frame {float(tensors['vel'].norm(dim=-1).mean()):.4f}, "
          f"mean |x| {float(tensors['pos'].norm(dim=-1).mean()):.4f}, "
          f"mean |y - x| {float((tensors['y'] - tensors['pos']).norm(dim=-1).mean()):.4f}, "
          f"+1 charge fraction {float((tensors['charges'] > 0).double().mean()):.4f}")
    for name, value in errors.items():
        print(f"{name:>22s}: {value:.5f}")


if __name__ == "__main__":
    main()
