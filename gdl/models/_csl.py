"""CSLClassifier: the GIN graph classifier of the circular skip-link (CSL) benchmark."""
from __future__ import annotations

import torch
from torch import nn

from gdl.nn import check_field
from gdl.nn.graph import GINConv, GraphReadout, node_feature_type


class CSLClassifier(nn.Module):
    r"""GIN graph classifier (Xu et al. 2019) for CSL (Murphy et al. 2019): 10 classes of 4-regular graphs.

    h⁰ = ReLU(W x + b) with x = 1 per node (``positional_encoding=False``: 1-WL bounded, so chance
    level on CSL by construction) or x = the random-walk positional encoding (P^t)_ii, t = 1…k
    (``data.random_walk_pe``); ``num_layers`` ``GINConv`` layers h ← ReLU(MLP((1 + ε) h_i + Σ_j h_j));
    a sum ``GraphReadout`` of every layer's h (the GIN paper's jumping readout); a linear head.

    Input: a PyG ``Batch`` with ``edge_index``, ``batch`` and (if ``positional_encoding``)
    ``random_walk_pe`` [N, pe_steps]. Output: logits [num_graphs, num_classes].
    Symmetry: node permutations, invariant (exact up to float rounding of the sums).
    Types: in_type = {random_walk_pe: ``node_feature_type(pe_steps)``} (or {}), out_type =
    ``node_feature_type(num_classes)`` per graph.
    """

    def __init__(self, positional_encoding: bool = False, hidden_channels: int = 64, num_layers: int = 4,
                 pe_steps: int = 20, num_classes: int = 10):
        super().__init__()
        self.positional_encoding = bool(positional_encoding)
        in_channels = pe_steps if positional_encoding else 1
        self.in_type = {"random_walk_pe": node_feature_type(pe_steps)} if positional_encoding else {}
        self.out_type = node_feature_type(num_classes)
        self.encoder = nn.Linear(in_channels, hidden_channels)
        self.layers = nn.ModuleList(GINConv(hidden_channels) for _ in range(num_layers))
        self.readout = GraphReadout(hidden_channels, reduce="sum")
        self.head = nn.Linear(hidden_channels * (num_layers + 1), num_classes)

    def forward(self, data) -> torch.Tensor:
        num_nodes = data.num_nodes
        batch = data.batch if data.batch is not None else torch.zeros(num_nodes, dtype=torch.long,
                                                                      device=data.edge_index.device)
        num_graphs = int(batch.max()) + 1 if batch.numel() else 0
        if self.positional_encoding:
            x = getattr(data, "random_walk_pe", None)
            if x is None:
                raise ValueError("CSLClassifier(positional_encoding=True) needs data.random_walk_pe "
                                 "(gdl.data.transforms.RandomWalkPE(attr_name='random_walk_pe'))")
            check_field("data.random_walk_pe", x, self.in_type["random_walk_pe"], num_nodes)
        else:
            x = torch.ones(num_nodes, 1, dtype=self.encoder.weight.dtype, device=self.encoder.weight.device)
        h = torch.relu(self.encoder(x))
        pooled = [self.readout(h, batch, num_graphs)]
        for layer in self.layers:
            h = torch.relu(layer(h, data.edge_index))
            pooled.append(self.readout(h, batch, num_graphs))
        return self.head(torch.cat(pooled, dim=1))
