"""``NBodyCharged``: the charged N-body benchmark of EGNN ("nbody_small"), generated and cached.

Task: from the positions x and velocities v of 5 charged particles at frame 30 (and their
charges), predict the positions at frame 40, one time unit (1000 steps) later. The simulator
and its exact protocol are in :mod:`gdl.data.charged_particles`; the dataset card is
``datasets/nbody_charged.md``.

Each item is a PyG ``Data`` with

===============  ==========  ==========================================================
``pos``          [5, 3]      positions at the input frame — E(3) acts as x ↦ Qx + t
``vel``          [5, 3]      velocities at the input frame — v ↦ Qv
``charges``      [5, 1]      charges ±1 — invariant
``y``            [5, 3]      positions at the target frame — x ↦ Qx + t
``edge_index``   [2, 20]     fully connected without self loops (source row 0 → target row 1)
``edge_attr``    [20, 1]     q_i q_j — invariant
===============  ==========  ==========================================================

Splits. With ``stream="egnn"`` (default) the initial conditions replay the reference
generator's single seeded stream (seed 43: 10 000 train, then 2 000 val, then 2 000 test
trajectories, of which EGNN trains on the first 3 000); a split of size m is the first m
trajectories of its block, so the test split never depends on ``num_train``. With
``stream="per_split"`` each split draws from its own stream ``SeedSequence([seed, split])``
and can be of any size. Either way the splits are disjoint and reproducible.
"""
from __future__ import annotations

from typing import Callable, Dict, Optional

import numpy as np
import torch
from torch_geometric.data import Data

from gdl.data._cache import CachedInMemoryDataset
from gdl.data._home import dataset_root, hook_repr, save_processed
from gdl.data.charged_particles import (
    ChargedParticlesConfig,
    draw_initial_conditions,
    simulate_charged_particles,
    skip_trajectories,
)
from gdl.nn.graph.builders import fully_connected_graph

__all__ = ["NBodyCharged", "generate_nbody_split", "baseline_errors"]

SPLITS = ("train", "val", "test")
# The reference generator's stream layout (generate_dataset.py defaults with --num-train 10000).
EGNN_STREAM_BLOCKS = {"train": 10_000, "val": 2_000, "test": 2_000}
EGNN_SEED = 43
_FORMAT_VERSION = 1


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")


def _split_rng(
    stream: str, seed: int, split: str, count: int, config: ChargedParticlesConfig = ChargedParticlesConfig()
) -> np.random.RandomState:
    """A legacy ``RandomState`` positioned at the first trajectory of ``split``."""
    if stream == "egnn":
        block = EGNN_STREAM_BLOCKS[split]
        if count > block:
            raise ValueError(
                f"num_{split}={count} exceeds the {block} {split} trajectories of the EGNN stream; "
                "use stream='per_split' for larger splits"
            )
        rng = np.random.RandomState(seed)
        skip = sum(EGNN_STREAM_BLOCKS[s] for s in SPLITS[: SPLITS.index(split)])
        skip_trajectories(rng, skip, config)  # fast-forward: the same draws, no integration
        return rng
    if stream == "per_split":
        bit_generator = np.random.MT19937(np.random.SeedSequence([seed, SPLITS.index(split)]))
        return np.random.RandomState(bit_generator)
    raise ValueError(f"stream must be 'egnn' or 'per_split', got {stream!r}")


def generate_nbody_split(
    split: str = "train",
    count: int = 3000,
    seed: int = EGNN_SEED,
    stream: str = "egnn",
    input_frame: int = 30,
    target_frame: int = 40,
    config: ChargedParticlesConfig = ChargedParticlesConfig(),
    progress: bool = True,
) -> Dict[str, torch.Tensor]:
    """Simulate one split; float64 tensors ``pos``, ``vel`` [count, n, d] (input frame),
    ``y`` [count, n, d] (target positions), ``target_vel`` [count, n, d] and ``charges`` [count, n, 1]."""
    _check_split(split)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"num_{split} must be an int >= 1, got {count!r}")
    if not 0 <= input_frame < target_frame:
        raise ValueError(f"need 0 <= input_frame < target_frame, got {input_frame} and {target_frame}")
    rng = _split_rng(stream, seed, split, count, config)
    charges, pos0, vel0 = draw_initial_conditions(rng, count, config)
    pos, vel = simulate_charged_particles(charges, pos0, vel0, [input_frame, target_frame], config, progress=progress)
    return {"pos": pos[:, 0], "vel": vel[:, 0], "y": pos[:, 1], "target_vel": vel[:, 1], "charges": charges}


class NBodyCharged(CachedInMemoryDataset):
    """Charged N-body trajectories (EGNN "nbody_small"): input frame 30 → target positions at frame 40.

    Args:
        root: cache folder (default ``$GDL_HOME/nbody_charged``, see :func:`gdl.data.gdl_home`).
        split: ``"train"``, ``"val"`` or ``"test"``.
        num_train, num_val, num_test: split sizes (the published protocol: 3000 / 2000 / 2000);
            only the chosen split's size matters, so small splits generate fast.
        seed: seed of the stream (43 reproduces the reference files).
        stream: ``"egnn"`` (replay the reference generator's stream) or ``"per_split"``.
        input_frame, target_frame: saved frames used as input and target (30, 40).
        dtype: dtype of the stored float tensors (generation is always float64).
        config: simulator parameters (:class:`ChargedParticlesConfig`; defaults = the protocol).
        transform, pre_transform, pre_filter: PyG hooks.
        force_reload: regenerate even if the cache exists.
        progress: show the simulation's progress bar.

    The cache entry ``processed/<split>_<count>_<hash>/`` is named by a hash of all generation
    parameters and of ``pre_transform`` / ``pre_filter``, so any change regenerates.
    """

    def __init__(
        self,
        root: Optional[str] = None,
        split: str = "train",
        num_train: int = 3000,
        num_val: int = 2000,
        num_test: int = 2000,
        seed: int = EGNN_SEED,
        stream: str = "egnn",
        input_frame: int = 30,
        target_frame: int = 40,
        dtype: torch.dtype = torch.float32,
        config: ChargedParticlesConfig = ChargedParticlesConfig(),
        transform: Optional[Callable] = None,
        pre_transform: Optional[Callable] = None,
        pre_filter: Optional[Callable] = None,
        force_reload: bool = False,
        progress: bool = True,
    ) -> None:
        _check_split(split)
        if stream not in ("egnn", "per_split"):
            raise ValueError(f"stream must be 'egnn' or 'per_split', got {stream!r}")
        if dtype not in (torch.float16, torch.bfloat16, torch.float32, torch.float64):
            raise ValueError(f"dtype must be a floating-point dtype, got {dtype}")
        self.split = split
        self.count = {"train": num_train, "val": num_val, "test": num_test}[split]
        if isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 1:
            raise ValueError(f"num_{split} must be an int >= 1, got {self.count!r}")
        if stream == "egnn" and self.count > EGNN_STREAM_BLOCKS[split]:
            raise ValueError(
                f"num_{split}={self.count} exceeds the {EGNN_STREAM_BLOCKS[split]} {split} trajectories of the "
                "EGNN stream; use stream='per_split' for larger splits"
            )
        limit = 2**32 if stream == "egnn" else 2**63  # numpy RandomState / SeedSequence
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < limit:
            raise ValueError(f"seed must be an int in [0, 2**{limit.bit_length() - 1}) for stream={stream!r}, got {seed!r}")
        self.seed, self.stream, self.config, self.dtype = int(seed), stream, config, dtype
        self.input_frame, self.target_frame = int(input_frame), int(target_frame)
        self.progress = progress
        self.generation = {
            "dataset": "nbody_charged",
            "format_version": _FORMAT_VERSION,
            "split": split,
            "count": self.count,
            "seed": self.seed,
            "stream": stream,
            "input_frame": self.input_frame,
            "target_frame": self.target_frame,
            "dtype": str(dtype),
            "simulator": config.as_dict(),
            "pre_transform": hook_repr(pre_transform),
            "pre_filter": hook_repr(pre_filter),
        }
        super().__init__(dataset_root("nbody_charged", root), transform, pre_transform, pre_filter,
                         force_reload=force_reload)
        self.load_cache()

    @property
    def processed_tag(self) -> str:
        return f"{self.split}_{self.count}"

    def process(self) -> None:
        arrays = generate_nbody_split(
            self.split, self.count, self.seed, self.stream, self.input_frame, self.target_frame, self.config,
            progress=self.progress,
        )
        n = self.config.num_particles
        edge_index = fully_connected_graph(n)
        data_list = []
        for t in range(self.count):
            q = arrays["charges"][t].to(self.dtype)
            data = Data(
                pos=arrays["pos"][t].to(self.dtype),
                vel=arrays["vel"][t].to(self.dtype),
                charges=q,
                y=arrays["y"][t].to(self.dtype),
                edge_index=edge_index.clone(),
                edge_attr=q[edge_index[0]] * q[edge_index[1]],
            )
            data_list.append(data)
        save_processed(self, data_list)

    def tensors(self) -> Dict[str, torch.Tensor]:
        """The stored split as stacked tensors ``pos``, ``vel``, ``y`` [count, n, d] and ``charges`` [count, n, 1]
        (before ``transform``; for fast baselines and checks)."""
        n = self.config.num_particles
        store = self._data
        return {key: getattr(store, key).reshape(len(self), n, -1) for key in ("pos", "vel", "y", "charges")}

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({len(self)}, split={self.split!r}, stream={self.stream!r}, seed={self.seed})"


def baseline_errors(train: Dict[str, torch.Tensor], test: Dict[str, torch.Tensor]) -> Dict[str, float]:
    """Test MSE (mean over particles × xyz, as ``nn.MSELoss``) of closed-form baselines.

    ``train`` / ``test`` hold ``pos``, ``vel``, ``y`` [T, n, d] (e.g. :meth:`NBodyCharged.tensors`):

    - ``static``: ŷ = x;
    - ``constant_velocity``: ŷ = x + Δt v with the true Δt = 1 (1000 steps of 0.001);
    - ``constant_velocity_fit``: ŷ = x + t v, scalar t by least squares on train;
    - ``linear``: ŷ = W [x, v] + b, the least-squares Linear(6 → 3) shared by all particles.
    """
    def mse(pred: torch.Tensor, target: torch.Tensor) -> float:
        return float(((pred - target) ** 2).mean())

    x, v, y = (test[k].to(torch.float64) for k in ("pos", "vel", "y"))
    x_tr, v_tr, y_tr = (train[k].to(torch.float64) for k in ("pos", "vel", "y"))
    t_fit = float(((y_tr - x_tr) * v_tr).sum() / (v_tr * v_tr).sum())

    def features(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:  # rows [x, v, 1], one per particle
        return torch.cat([a, b, torch.ones_like(a[..., :1])], -1).reshape(-1, 2 * a.shape[-1] + 1)

    weights = torch.linalg.lstsq(features(x_tr, v_tr), y_tr.reshape(-1, y_tr.shape[-1])).solution
    return {
        "static": mse(x, y),
        "constant_velocity": mse(x + v, y),
        "constant_velocity_fit": mse(x + t_fit * v, y),
        "linear": mse((features(x, v) @ weights).reshape(y.shape), y),
        "t_fit": t_fit,
    }

