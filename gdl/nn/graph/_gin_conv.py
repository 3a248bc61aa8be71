"""GINConv and GraphReadout: permutation-equivariant / -invariant layers on PyG-style graphs."""
from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from gdl.groups import FieldType, Symmetric
from gdl.nn._checks import check_batch, check_edge_index, check_field, check_matches_module, reference_tensor
from gdl.nn._types import TypeLike, as_channels
from gdl.nn.graph._message_passing import EdgeStructure, aggregate, check_aggregation, edge_structure

#: The group of node features that only node relabelling acts on: the channels are invariant
#: (a trivial rep); ``gdl.testing`` checks such layers under ``NodePermutation``.
NODE_FEATURES = Symmetric(1)


def node_feature_type(channels: int) -> FieldType:
    """Per-node feature vectors that node permutations move but do not mix."""
    return FieldType(NODE_FEATURES, NODE_FEATURES.trivial_rep(channels))


class GINConv(nn.Module):
    r"""Graph isomorphism convolution (Xu et al. 2019, eq. 4.1): h_i' = MLP((1 + ε) h_i + Σ_j h_j).

    Messages m_ij = h_j over the incoming edges j → i (PyG flow), summed (``aggregation="sum"``,
    GIN; ``"mean"`` is a weaker variant), ε learnable if ``train_eps``. ``mlp`` defaults to
    Linear → BatchNorm → ReLU → Linear. As powerful as 1-WL with the sum.

    Symmetry: node permutations (equivariant, exact up to float summation order).

    Types:
        - h: ``node_feature_type(in_channels)`` → ``node_feature_type(out_channels)`` (the channels
          may be given as ints or as those field types, e.g. ``other.out_type["h"]``)
    """

    def __init__(self, in_channels: TypeLike, out_channels: Optional[TypeLike] = None,
                 hidden_channels: Optional[int] = None, mlp: Optional[nn.Module] = None, eps: float = 0.0,
                 train_eps: bool = True, aggregation: str = "sum"):
        super().__init__()
        in_channels = as_channels(in_channels, "in_channels")
        out_channels = in_channels if out_channels is None else as_channels(out_channels, "out_channels")
        hidden_channels = out_channels if hidden_channels is None else as_channels(hidden_channels, "hidden_channels")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.aggregation = check_aggregation(aggregation)
        self.mlp = mlp if mlp is not None else nn.Sequential(
            nn.Linear(in_channels, hidden_channels), nn.BatchNorm1d(hidden_channels), nn.ReLU(),
            nn.Linear(hidden_channels, out_channels))
        self.eps = nn.Parameter(torch.tensor([float(eps)])) if train_eps else None
        if not train_eps:
            self.register_buffer("eps_fixed", torch.tensor([float(eps)]))
        self.in_type = {"h": node_feature_type(in_channels)}
        self.out_type = {"h": node_feature_type(out_channels)}

    def forward(self, h: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        check_field("h", h, self.in_type["h"])
        check_matches_module(reference_tensor(self), "h", h)
        check_edge_index(edge_index, h.shape[0])
        return self.propagate(h, edge_structure(edge_index, h.shape[0], h.dtype, fused_layout=False))

    def propagate(self, h: torch.Tensor, edges: EdgeStructure) -> torch.Tensor:
        """The layer's maths on validated inputs: m_ij = h_j, aggregated, then the update MLP."""
        eps = self.eps if self.eps is not None else self.eps_fixed
        aggregated = aggregate(h.index_select(0, edges.source), edges, self.aggregation)
        return self.mlp((1 + eps) * h + aggregated)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels} → {self.out_channels}, aggregation={self.aggregation!r}, mlp={self.mlp})"


class GraphReadout(nn.Module):
    r"""Pooling per graph: y_g = Σ_{i ∈ g} h_i (``"sum"``), the mean, or the max over the nodes of g.

    ``batch`` [N] gives each node's graph (PyG); ``num_graphs`` defaults to ``batch.max() + 1``
    (a graph without nodes pools to 0). Symmetry: node permutations (invariant, exact up to
    float summation order).

    Types:
        - h: ``node_feature_type(channels)`` → pooled: graph-level vectors of the same width
    """

    def __init__(self, channels: TypeLike, reduce: str = "sum"):
        super().__init__()
        if reduce not in ("sum", "mean", "max"):
            raise ValueError(f"reduce must be 'sum', 'mean' or 'max', got {reduce!r}")
        self.channels, self.reduce = as_channels(channels, "channels"), reduce
        self.in_type = {"h": node_feature_type(self.channels)}
        self.out_type = {"pooled": node_feature_type(self.channels)}

    def forward(self, h: torch.Tensor, batch: Optional[torch.Tensor] = None, num_graphs: Optional[int] = None) -> torch.Tensor:
        check_field("h", h, self.in_type["h"])
        if batch is None:
            batch = torch.zeros(h.shape[0], dtype=torch.long, device=h.device)
        check_batch(batch, h.shape[0])
        if num_graphs is None:
            num_graphs = int(batch.max()) + 1 if batch.numel() else 0
        if batch.numel() and (int(batch.min()) < 0 or int(batch.max()) >= num_graphs):
            raise ValueError(f"batch refers to graph {int(batch.max())}, but num_graphs = {num_graphs}")
        batch = batch.long()
        out = h.new_zeros(num_graphs, h.shape[1])
        if self.reduce == "max":
            return out.scatter_reduce(0, batch.unsqueeze(1).expand_as(h), h, reduce="amax", include_self=False)
        out = out.index_add_(0, batch, h)
        if self.reduce == "mean":
            count = torch.bincount(batch, minlength=num_graphs).clamp_(min=1).to(h.dtype)
            out = out / count.unsqueeze(1)
        return out

    def extra_repr(self) -> str:
        return f"{self.channels}, reduce={self.reduce!r}"
