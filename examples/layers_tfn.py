"""Tensor-field convolution on e3nn irreps, and the TFN N-body model, checked for E(3) (with parity).

    python examples/layers_tfn.py
"""
import torch

from gdl.benchmarks.nbody_speed import nbody_batch
from gdl.models import TFN
from gdl.nn.graph import TensorFieldConv
from gdl.testing import check_equivariance

torch.manual_seed(0)
batch = nbody_batch(8)

# features: 8 scalars + 4 vectors per node -> 8 scalars, 4 vectors, 2 pseudo-vectors, 2 l=2 fields
layer = TensorFieldConv("8x0e+4x1o", "8x0e+4x1o+2x1e+2x2e", lmax=2)
print(layer)
h = torch.randn(batch.num_nodes, layer.irreps_in.dim)
out = layer(h, batch.pos, batch.edge_index)
print("out", tuple(out.shape), "typed", layer.out_type["h"])
print(check_equivariance(layer, dict(h=h, pos=batch.pos, edge_index=batch.edge_index), n_random=2, n_grid=2).summary())

model = TFN()  # 4 layers, 16x0e+16x1o hidden, filters up to l = 2; predicts x + f
print(check_equivariance(model, batch).summary())
