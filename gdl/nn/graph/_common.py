"""Shared helpers of the graph layers: input checks and segment reductions on plain torch.

Edges follow PyG's flow: ``edge_index[0]`` is the source j, ``edge_index[1]`` the target i,
and messages m_ij are aggregated at the target i. Reductions use ``index_add_`` (no
torch-scatter), whose backward is a gather.
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import torch

from gdl.groups import Euclidean, FieldTypeError


def euclidean_group(d: int = 3) -> Euclidean:
    """The group E(d) that the geometric layers declare in their field types."""
    return Euclidean(d)


def check_features(name: str, x: torch.Tensor, channels: int, num_nodes: Optional[int] = None, what: str = "") -> None:
    """Raise a ``FieldTypeError`` unless ``x`` is a finite float tensor [num_nodes, channels]."""
    if not isinstance(x, torch.Tensor):
        raise FieldTypeError(f"{name}: expected a tensor, got {type(x).__name__}")
    if x.dim() != 2 or x.shape[1] != channels:
        raise FieldTypeError(
            f"{name}: expected {what or 'features'} of shape [num_nodes, {channels}], got tensor of shape {list(x.shape)}"
        )
    if num_nodes is not None and x.shape[0] != num_nodes:
        raise FieldTypeError(f"{name}: expected {num_nodes} rows (one per node), got tensor of shape {list(x.shape)}")
    if not x.is_floating_point():
        raise FieldTypeError(f"{name}: expected a floating-point tensor, got dtype {x.dtype}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains non-finite values (NaN or inf)")


def check_edge_index(edge_index: torch.Tensor, num_nodes: int) -> None:
    """Raise a ``ValueError`` unless ``edge_index`` is an integer [2, E] tensor indexing ``num_nodes`` nodes."""
    if not isinstance(edge_index, torch.Tensor) or edge_index.dim() != 2 or edge_index.shape[0] != 2:
        shape = list(edge_index.shape) if isinstance(edge_index, torch.Tensor) else type(edge_index).__name__
        raise ValueError(f"edge_index: expected an integer tensor of shape [2, num_edges], got {shape}")
    if edge_index.dtype not in (torch.int64, torch.int32):
        raise ValueError(f"edge_index: expected dtype int64 (or int32), got {edge_index.dtype}")
    if edge_index.numel():
        low, high = int(edge_index.min()), int(edge_index.max())
        if low < 0 or high >= num_nodes:
            raise ValueError(f"edge_index refers to node {low if low < 0 else high}, but there are {num_nodes} nodes")


def check_edge_attr(edge_attr: Optional[torch.Tensor], num_edges: int, channels: int) -> None:
    """Raise unless ``edge_attr`` is None when ``channels == 0`` or a finite [num_edges, channels] tensor."""
    if channels == 0:
        if edge_attr is not None and edge_attr.numel() and edge_attr.shape[-1] != 0:
            raise FieldTypeError(
                f"edge_attr: this layer was built with edge_channels=0, got edge_attr of shape {list(edge_attr.shape)}"
            )
        return
    if edge_attr is None:
        raise FieldTypeError(f"edge_attr: this layer was built with edge_channels={channels}, got None")
    if edge_attr.dim() != 2 or edge_attr.shape != (num_edges, channels):
        raise FieldTypeError(
            f"edge_attr: expected shape [num_edges={num_edges}, {channels}], got {list(edge_attr.shape)}"
        )
    if not bool(torch.isfinite(edge_attr).all()):
        raise ValueError("edge_attr contains non-finite values (NaN or inf)")


def segment_sum(src: torch.Tensor, index: torch.Tensor, num_segments: int) -> torch.Tensor:
    """out[i] = Σ_{e: index[e] = i} src[e]."""
    return src.new_zeros((num_segments,) + tuple(src.shape[1:])).index_add_(0, index, src)


def inverse_degree(index: torch.Tensor, num_segments: int, dtype: torch.dtype) -> torch.Tensor:
    """1 / max(1, #{e: index[e] = i}) as a [num_segments, 1] column (mean of an empty set is 0)."""
    count = torch.bincount(index, minlength=num_segments).clamp_(min=1)
    return count.to(dtype).reciprocal_().unsqueeze(1)


class EdgeStructure(NamedTuple):
    """Per-batch edge bookkeeping, computed once and shared by the layers of a model.

    ``degree`` > 0 when the edges are sorted by target with the same number of incoming edges
    at every node (e.g. batched fully connected graphs): then sums over a node's neighbours are
    reshapes and reductions instead of scatters. 0 otherwise.

    ``bag_input`` / ``bag_offsets`` list 2N bags of edge ids for ``torch.embedding_bag``: bag 2i
    holds the edges into node i, bag 2i + 1 the edges out of node i, so that one gather-sum of an
    edge tensor [E, C] gives both per-node sums, as [N, 2, C].
    """

    source: torch.Tensor
    target: torch.Tensor
    inv_deg: torch.Tensor  # [N, 1]
    degree: int
    bag_input: Optional[torch.Tensor] = None
    bag_offsets: Optional[torch.Tensor] = None
    cache: Optional[dict] = None

    def padded_bag_offsets(self, roles: int) -> torch.Tensor:
        """Offsets of ``roles``·N bags over ``bag_input``: per node its in-bag, its out-bag, then
        roles − 2 empty bags, so that an ``embedding_bag`` sum reads as [N, roles, C] (cached)."""
        if roles not in self.cache and self.cache.get("uniform"):  # every bag has `degree` edges
            step = torch.tensor([0, 1] + [2] * (roles - 2), device=self.bag_offsets.device) * self.degree
            self.cache[roles] = (self.bag_offsets[::2].unsqueeze(1) + step).view(-1)
        if roles not in self.cache:
            num_nodes = self.inv_deg.shape[0]
            starts = torch.cat([self.bag_offsets, self.bag_offsets.new_full((1,), self.bag_input.shape[0])])
            pad = starts[2::2].unsqueeze(1).expand(num_nodes, roles - 2)  # where the next node's bags start
            self.cache[roles] = torch.cat([self.bag_offsets.view(num_nodes, 2), pad], 1).view(-1)
        return self.cache[roles]


def edge_structure(edge_index: torch.Tensor, num_nodes: int, dtype: torch.dtype) -> EdgeStructure:
    source, target = edge_index[0], edge_index[1]
    num_edges = source.shape[0]
    degree = sorted_regular_degree(target, num_nodes)
    inv_deg = inverse_degree(target, num_nodes, dtype)
    if degree:  # in-bags are runs of consecutive edges; if every node also has `degree` out-edges,
        by_source = torch.argsort(source, stable=True)  # all bags have that size: no counting
        if bool((torch.bincount(source, minlength=num_nodes) == degree).all()):
            runs = torch.arange(num_edges, device=source.device).view(num_nodes, 1, degree)
            bag_input = torch.cat([runs, by_source.view(num_nodes, 1, degree)], 1).view(-1)
            bag_offsets = torch.arange(0, 2 * num_edges, degree, device=source.device)
            return EdgeStructure(source, target, inv_deg, degree, bag_input, bag_offsets, {"uniform": True})
    keys = torch.cat([2 * target, 2 * source + 1])  # bag of each (edge, role)
    order = torch.argsort(keys, stable=True)
    bag_input = order.remainder_(num_edges) if num_edges else order
    counts = torch.bincount(keys, minlength=2 * num_nodes)
    bag_offsets = counts.cumsum(0).sub_(counts)
    return EdgeStructure(source, target, inv_deg, degree, bag_input, bag_offsets, {})


def sorted_regular_degree(target: torch.Tensor, num_nodes: int) -> int:
    """d if ``target`` = [0]*d + [1]*d + … + [N−1]*d (d ≥ 1), else 0."""
    num_edges = target.shape[0]
    if num_nodes == 0 or num_edges == 0 or num_edges % num_nodes:
        return 0
    degree = num_edges // num_nodes
    expected = torch.arange(num_nodes, device=target.device).repeat_interleave(degree)
    return degree if torch.equal(target, expected.to(target.dtype)) else 0


def safe_norm(v: torch.Tensor, keepdim: bool = True) -> torch.Tensor:
    """‖v‖ along the last axis with a zero (not NaN) gradient at v = 0."""
    return torch.linalg.vector_norm(v, dim=-1, keepdim=keepdim)


def aggregation_code(aggregation: str) -> str:
    if aggregation not in ("mean", "sum"):
        raise ValueError(f"aggregation must be 'mean' or 'sum', got {aggregation!r}")
    return aggregation
