"""SEGNN train steps with each tensor-product method of ``AttributeTensorProduct``, interleaved.

    python -m gdl.benchmarks.segnn_tp_methods [--repeats 12] [--batch-size 100]

Three copies of one ``SEGNN()`` (same weights): "auto" (what ``O3TensorProduct`` picks per layer),
"weights_first" everywhere (the kernel gdl had before issue 16) and "attribute_first" everywhere.
One step = forward + MSE + backward + Adam on an N-body batch of ``--batch-size`` 5-body graphs;
the copies take turns (order reversed every round), one thread, CPU time of the thread; the
table gives medians in ms and the speed-up of "auto" over "weights_first".
"""
from __future__ import annotations

import argparse
import copy
import statistics
import time

import torch

from gdl.benchmarks.nbody_speed import nbody_batch
from gdl.models import SEGNN
from gdl.nn.graph._attribute_tp import AttributeTensorProduct
from gdl.nn.graph._irreps import O3TensorProduct


def with_method(model: SEGNN, method: str) -> SEGNN:
    """A copy of ``model`` whose tensor products all run ``method`` ("auto": the construction-time choice)."""
    model = copy.deepcopy(model)
    for module in model.modules():
        if isinstance(module, O3TensorProduct) and module.fast is not None:
            module.fast = AttributeTensorProduct(module.tp, method=method)
    return model


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=100)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    base = SEGNN()
    models = {m: with_method(base, m) for m in ("auto", "weights_first", "attribute_first")}
    optimisers = {n: torch.optim.Adam(m.parameters(), lr=5e-4) for n, m in models.items()}
    data = nbody_batch(args.batch_size)

    def step(name: str) -> float:
        start = time.thread_time()
        loss = torch.nn.functional.mse_loss(models[name](data), data.y)
        optimisers[name].zero_grad()
        loss.backward()
        optimisers[name].step()
        return time.thread_time() - start

    names = list(models)
    for name in names:
        step(name)
    times = {n: [] for n in names}
    for r in range(args.repeats):
        for name in (names if r % 2 == 0 else names[::-1]):
            times[name].append(step(name))
    medians = {n: 1e3 * statistics.median(t) for n, t in times.items()}
    print(f"SEGNN train step, batch {args.batch_size}, median of {args.repeats} (thread CPU ms): "
          + ", ".join(f"{n} {medians[n]:.2f}" for n in names)
          + f"; auto vs weights_first {medians['weights_first'] / medians['auto']:.2f}x")
    return medians


if __name__ == "__main__":
    main()
