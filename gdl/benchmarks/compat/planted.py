"""Planted bugs for the compatibility benchmark and the adapter tests.

Each bug is an energy term ΔE_b [B] added to a model's energy per graph by an adapter
(``perturb=``), computed from the adapter's named tensors (``pos`` [N, 3], ``batch`` [N]);
forces then include −∂ΔE/∂pos. What each one breaks, and so which symmetry must be blamed:

- ``position_leak``: ΔE_b = 1e-6 Σ_{i∈b} Σ_c x_ic — reads absolute positions: breaks E(3)
  (translations and rotations); permutation-invariant.
- ``pseudoscalar``: with d_i = x_i − mean_b(x) and u_p = Σ_{i∈b} |d_i|^p d_i (p = 1, 2, 3),
  ΔE_b = s·det[u_1, u_2, u_3] — rotation- and translation-invariant, permutation-invariant,
  odd under reflections: breaks E(3) under improper elements only.
- ``node_index``: ΔE_b = s Σ_{i∈b} |x_i − x_{first(b)}|² with first(b) the first atom of
  molecule b in storage order — E(3)-invariant, depends on the atom labels: breaks node
  permutations only (the bug class of a per-molecule index taken by position).

A *wrong declared parity* is a type, not a term: ``types={"energy": "0o"}`` declares the
invariant energy a pseudoscalar (breaks E(3) under improper elements).
"""
from __future__ import annotations

import torch


def _num_graphs(batch: torch.Tensor) -> int:
    return int(batch.max()) + 1 if batch.numel() else 1


def _per_graph(x: torch.Tensor, batch: torch.Tensor) -> torch.Tensor:
    return torch.zeros(_num_graphs(batch), *x.shape[1:], dtype=x.dtype, device=x.device).index_add(0, batch, x)


def position_leak(values, scale: float = 1e-6) -> torch.Tensor:
    pos, batch = values["pos"], values["batch"]
    return scale * _per_graph(pos.sum(-1), batch)


def pseudoscalar(values, scale: float = 1e-2) -> torch.Tensor:
    pos, batch = values["pos"], values["batch"]
    counts = torch.bincount(batch, minlength=_num_graphs(batch)).clamp(min=1).to(pos.dtype)
    centre = _per_graph(pos, batch) / counts[:, None]
    d = pos - centre[batch]
    norm = (d * d).sum(-1, keepdim=True).sqrt()
    u = [_per_graph(norm ** p * d, batch) for p in (1, 2, 3)]
    return scale * torch.linalg.det(torch.stack(u, dim=-2))


def node_index(values, scale: float = 1e-2) -> torch.Tensor:
    pos, batch = values["pos"], values["batch"]
    n = pos.shape[0]
    first = torch.full((_num_graphs(batch),), n, dtype=torch.long, device=pos.device)
    first = first.scatter_reduce(0, batch, torch.arange(n, device=pos.device), reduce="amin")
    d = pos - pos[first[batch]]
    return scale * _per_graph((d * d).sum(-1), batch)


BUGS = {"position leak 1e-6": position_leak, "pseudoscalar": pseudoscalar, "per-graph node index": node_index}
# the symmetry each planted bug must be blamed on (and the one that must still pass)
BLAME = {"position leak 1e-6": "E(3)", "pseudoscalar": "E(3)", "per-graph node index": "node permutation",
         "wrong declared parity": "E(3)"}
