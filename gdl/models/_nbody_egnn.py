"""EGNN: the EGNN_vel model of Satorras et al. (2021) for the charged N-body task."""
from __future__ import annotations

import torch
from torch import nn

from gdl.models._nbody_inputs import charge_products, nbody_in_type, nbody_out_type, read_nbody, speed
from gdl.nn.graph import EGNNConv, edge_structure
from gdl.nn.graph._egnn_conv import check_finite_positions


class EGNN(nn.Module):
    r"""EGNN with velocities (EGNN_vel, Satorras et al. 2021 §5.1) predicting positions.

    h⁰_i = W ‖v_i‖ + b (Linear(1 → hidden)); edge attributes a_ij = [q_i q_j, ‖x_i − x_j‖²] at the
    input; then ``num_layers`` ``EGNNConv`` layers with the velocity term (input velocity at every
    layer) update (h, x); the output is x after the last layer. Defaults are the reference N-body
    configuration: 4 layers, hidden 64, SiLU, mean coordinate aggregation, clamp ±100, φ_x init
    gain 0.001, no normalisation, no tanh (134,020 parameters, like the reference).

    Input: a PyG ``Data``/``Batch`` with ``pos`` [N, 3] (points), ``vel`` [N, 3] (vectors),
    ``charges`` [N, 1] (scalars), ``edge_index``; output: positions [N, 3] (points).
    Symmetry: E(3) and node permutations, exact.
    """

    def __init__(self, hidden_channels: int = 64, num_layers: int = 4, activation: type = nn.SiLU, **conv_options):
        super().__init__()
        self.hidden_channels, self.num_layers = hidden_channels, num_layers
        self.embedding = nn.Linear(1, hidden_channels)
        self.layers = nn.ModuleList(
            EGNNConv(hidden_channels, hidden_channels, hidden_channels, edge_channels=2, velocity=True,
                     activation=activation, **conv_options)
            for _ in range(num_layers)
        )
        self.in_type = nbody_in_type()
        self.out_type = nbody_out_type()

    def forward(self, data) -> torch.Tensor:
        pos, vel, charges, source, target, _ = read_nbody(data, module=self)
        num_nodes = pos.shape[0]
        norm_v = speed(vel)
        rank_one = not norm_v.requires_grad and type(self.embedding) is nn.Linear and self.embedding.bias is not None
        if rank_one:  # the first layer takes h = W‖v‖ + b in rank-one form (and returns W's, b's gradients)
            with torch.no_grad():
                h = self.embedding(norm_v)
        else:
            h = self.embedding(norm_v)
        diff = pos.index_select(0, target) - pos.index_select(0, source)
        edge_attr = torch.cat([charge_products(charges, source, target), (diff * diff).sum(-1, keepdim=True)], dim=1)
        edges = edge_structure(data.edge_index, num_nodes, pos.dtype)
        last = len(self.layers) - 1
        inputs = pos
        for i, layer in enumerate(self.layers):  # the last layer's h' is never read: skip its φ_h
            h, pos = layer.propagate(h, pos, edges, vel, edge_attr, update_features=i < last,
                                     embedding=(norm_v, self.embedding) if rank_one and i == 0 else None)
        check_finite_positions(pos, inputs, vel, where="EGNN")  # NaN from overflow: an error naming the scale
        return pos

