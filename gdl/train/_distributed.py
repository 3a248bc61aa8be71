"""Distributed data parallel helpers (torch DDP launched by ``torchrun``; gloo on CPU, nccl on GPU).

Rules followed by the Trainer: ``DistributedSampler`` + ``set_epoch`` for training (the
global batch of every step is the same set of samples whatever the number of ranks);
evaluation shards without padding (``ShardSampler``) and metrics are all-reduced as sums
and counts (gloo has no average); logging and checkpoints on rank 0; a barrier before
any rank reads a checkpoint.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.utils.data import Sampler


@dataclass(frozen=True)
class DistributedContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self):
        if self.enabled:
            dist.barrier()

    def all_reduce_sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """Sum over ranks (in place, returned); a no-op for one process."""
        if self.enabled:
            dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor

    def broadcast_object(self, obj):
        """Rank 0's ``obj`` on every rank (``broadcast_object_list``); ``obj`` itself for one process."""
        if not self.enabled:
            return obj
        box = [obj if self.is_main else None]
        dist.broadcast_object_list(box, src=0, device=_collective_device())
        return box[0]

    def run_on_main(self, fn, error_types=(Exception,)):
        """Run ``fn()`` on rank 0 only and give every rank its result; an error of ``error_types`` raised on
        rank 0 is raised on every rank (same type and message), so no rank waits forever for a failed one."""
        result, error = None, None
        if self.is_main:
            try:
                result = fn()
            except error_types as exc:
                if not self.enabled:
                    raise
                error = exc
        result, error = self.broadcast_object((result, error))
        if error is not None:
            raise error
        return result

    def broadcast_flag(self, flag: bool) -> bool:
        """True on every rank when any rank says True."""
        if not self.enabled:
            return flag
        t = torch.tensor([1.0 if flag else 0.0], device=_collective_device())
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item())


def _collective_device():
    return torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")


def init_distributed(device: str = "cpu") -> DistributedContext:
    """Join the process group that ``torchrun`` describes (env RANK/WORLD_SIZE), or return a 1-process context.

    An already initialised group (e.g. from ``mp.spawn`` in tests) is used as is.
    """
    if dist.is_available() and dist.is_initialized():
        return DistributedContext(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", dist.get_rank())))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistributedContext()
    backend = "nccl" if str(device).startswith("cuda") else "gloo"
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if backend == "nccl":
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend=backend, init_method="env://")
    return DistributedContext(dist.get_rank(), dist.get_world_size(), local_rank)


class ShardSampler(Sampler):
    """Rank r takes items r, r + W, r + 2W, … in order — no padding, so sums over ranks count every item once."""

    def __init__(self, dataset_size: int, rank: int = 0, world_size: int = 1):
        self.indices = list(range(rank, dataset_size, world_size))

    def __iter__(self):
        return iter(self.indices)

    def __len__(self):
        return len(self.indices)
