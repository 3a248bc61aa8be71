"""The message-passing skeleton of gdl's graph convolutions (PyG's flow, on plain torch).

Every convolution (``EGNNConv``'s autograd path, ``TensorFieldConv``, ``SteerableConv``,
``GINConv``) is written as the same three steps, over edges j → i with ``edge_index[0] = j``
(source) and ``edge_index[1] = i`` (target)::

    m_ij = message(h_i, h_j, e_ij)            gather rows with ``index_select`` (``edges.source/target``)
    M_i  = AGG_{j: j → i} m_ij                ``aggregate(m, edges, aggregation)``: "sum" or "mean"
    h_i' = update(h_i, M_i)  (+ h_i when residual)

The edge bookkeeping (``EdgeStructure``: source, target, 1/in-degree and, for EGNN's fused path,
the bags of ``torch.embedding_bag``) is computed once per batch by ``edge_structure`` and shared
by a model's layers. A mean over no messages is 0 (isolated nodes receive zero). Reductions use
``index_add_`` (no torch-scatter), whose backward is a gather. Option names are the same in every
layer: ``aggregation=`` ("sum" / "mean"), ``residual=`` (``None``: when the input and output types
agree; ``True`` insists, ``False`` never).
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import torch

AGGREGATIONS = ("sum", "mean")


def check_aggregation(aggregation: str, name: str = "aggregation") -> str:
    """The aggregation's name if it is one of ``AGGREGATIONS``, else a ``ValueError``."""
    if aggregation not in AGGREGATIONS:
        raise ValueError(f"{name} must be 'sum' or 'mean', got {aggregation!r}")
    return aggregation


def resolve_residual(residual: Optional[bool], same_types: bool, in_text: str, out_text: str) -> bool:
    """``residual=None``: add h_i when the types agree; ``True``: they must agree; ``False``: never."""
    if residual is None:
        return same_types
    if residual and not same_types:
        raise ValueError(f"residual=True needs the output type to equal the input type, got {in_text} → {out_text}")
    return bool(residual)


def aggregate(messages: torch.Tensor, edges: "EdgeStructure", aggregation: str) -> torch.Tensor:
    """M_i = Σ_{e: target(e) = i} m_e, times 1/max(1, deg_in(i)) for ``"mean"``: [num_nodes, ...]."""
    out = segment_sum(messages, edges.target, edges.num_nodes)
    return out * edges.inv_deg if aggregation == "mean" else out


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

    @property
    def num_nodes(self) -> int:
        return self.inv_deg.shape[0]

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


def edge_structure(edge_index: torch.Tensor, num_nodes: int, dtype: torch.dtype,
                   fused_layout: bool = True) -> EdgeStructure:
    """The edge bookkeeping of one batch. ``fused_layout=False`` skips what only EGNN's fused path
    reads (the regular-degree test and the embedding bags, which read values back from the device)."""
    source, target = edge_index[0], edge_index[1]
    num_edges = source.shape[0]
    if not fused_layout:
        return EdgeStructure(source, target, inverse_degree(target, num_nodes, dtype), 0)
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
