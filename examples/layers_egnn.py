"""EGNN on charged N-body: one EGNNConv layer and the ready EGNN model, checked for E(3) × permutations.

    python examples/layers_egnn.py
"""
import torch

from gdl.benchmarks.nbody_speed import nbody_batch
from gdl.models import EGNN
from gdl.nn.graph import EGNNConv
from gdl.testing import check_equivariance

torch.manual_seed(0)
batch = nbody_batch(8)  # 8 charged 5-body systems from gdl's simulator, fully connected graphs

# one layer: (h, x, v) -> (h', x'), with invariant edge attributes q_i q_j
layer = EGNNConv(16, edge_channels=1, velocity=True)
h = torch.randn(batch.num_nodes, 16)
edge_attr = batch.charges[batch.edge_index[0]] * batch.charges[batch.edge_index[1]]
out = layer(h, batch.pos, batch.edge_index, batch.vel, edge_attr)
print("EGNNConv:", layer.in_type, "->", layer.out_type, "| h'", tuple(out.h.shape), "x'", tuple(out.pos.shape))
print(check_equivariance(layer, dict(h=h, pos=batch.pos, edge_index=batch.edge_index, vel=batch.vel,
                                     edge_attr=edge_attr), n_random=2, n_grid=2).summary())

# the N-body model: a PyG batch (pos, vel, charges, edge_index) -> predicted positions
model = EGNN()  # EGNN_vel defaults: 4 layers, hidden 64 (134,020 parameters)
pred = model(batch)
print("EGNN prediction", tuple(pred.shape), "MSE before training", torch.nn.functional.mse_loss(pred, batch.y).item())
print(check_equivariance(model, batch))
