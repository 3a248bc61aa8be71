"""Reading and checking an N-body batch (PyG ``Data``/``Batch``) for the N-body models."""
from __future__ import annotations

import functools
from typing import NamedTuple

import torch

from gdl.groups import FieldType
from gdl.nn import check_batch, check_edge_index, check_field, check_matches_module, reference_tensor
from gdl.nn._types import euclidean_group


class NBodyInputs(NamedTuple):
    pos: torch.Tensor  # [N, 3] points
    vel: torch.Tensor  # [N, 3] vectors
    charges: torch.Tensor  # [N, 1] scalars
    source: torch.Tensor  # [E] j
    target: torch.Tensor  # [E] i
    batch: torch.Tensor  # [N] graph of each node


@functools.lru_cache(maxsize=None)
def _input_types(dim: int) -> tuple:
    E = euclidean_group(dim)
    return (("pos", FieldType(E, E.standard_rep())), ("vel", FieldType(E, E.vector_rep())),
            ("charges", FieldType(E, E.trivial_rep(1))))


def nbody_in_type(dim: int = 3) -> dict:
    """The declared input types of the N-body models, keyed by ``Data`` attribute."""
    return dict(_input_types(dim))


def nbody_out_type(dim: int = 3) -> FieldType:
    """Predicted positions: points of E(d)."""
    E = euclidean_group(dim)
    return FieldType(E, E.standard_rep())


def read_nbody(data, dim: int = 3, module=None) -> NBodyInputs:
    """Check and return (pos, vel, charges [N, 1], source, target, batch) of a PyG N-body batch.

    Raises a clear error for missing attributes, wrong shapes, NaN, a bad ``edge_index`` and, given
    the ``module`` that will read the batch, a dtype or device other than its parameters'.
    """
    for key in ("pos", "vel", "charges", "edge_index"):
        if getattr(data, key, None) is None:
            raise ValueError(f"the N-body models need data.{key}; got a batch with keys {sorted(data.keys())}")
    pos, vel, charges, edge_index = data.pos, data.vel, data.charges, data.edge_index
    types = dict(_input_types(dim))  # built once per dim: read_nbody runs every batch
    check_field("data.pos", pos, types["pos"])
    num_nodes = pos.shape[0]
    check_field("data.vel", vel, types["vel"], num_nodes)
    if isinstance(charges, torch.Tensor) and charges.dim() == 1:
        charges = charges.unsqueeze(1)
    check_field("data.charges", charges.to(pos.dtype) if isinstance(charges, torch.Tensor) else charges,
                types["charges"], num_nodes)
    if module is not None:
        reference = reference_tensor(module)
        check_matches_module(reference, "data.pos", pos)
        check_matches_module(reference, "data.vel", vel)
    check_edge_index(edge_index, num_nodes, "data.edge_index")
    batch = getattr(data, "batch", None)
    if batch is None:
        batch = torch.zeros(num_nodes, dtype=torch.long, device=pos.device)
    else:
        check_batch(batch, num_nodes, "data.batch")
    return NBodyInputs(pos, vel, charges.to(pos.dtype), edge_index[0], edge_index[1], batch)


def speed(vel: torch.Tensor) -> torch.Tensor:
    """‖v_i‖ as a column [N, 1] (zero subgradient at v = 0): the invariant input of the N-body models."""
    return torch.linalg.vector_norm(vel, dim=-1, keepdim=True)


def charge_products(charges: torch.Tensor, source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """q_i q_j per edge j → i, [E, 1]: the invariant edge attribute of the N-body models."""
    return charges.index_select(0, target) * charges.index_select(0, source)
