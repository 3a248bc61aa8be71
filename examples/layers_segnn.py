"""SEGNN: steerable messages with steerable node/edge attributes, and the SEGNN N-body model.

    python examples/layers_segnn.py
"""
import torch
from e3nn import o3

from gdl.benchmarks.nbody_speed import nbody_batch
from gdl.models import SEGNN
from gdl.nn.graph import SteerableConv, edge_spherical_harmonics
from gdl.testing import check_equivariance

torch.manual_seed(0)
batch = nbody_batch(8)
src, dst = batch.edge_index

# steerable node attributes: a_i = Y(v_i) + mean_j Y(x_j - x_i), spherical harmonics l <= 1
sh = o3.Irreps.spherical_harmonics(1)
count = torch.bincount(dst, minlength=batch.num_nodes).clamp(min=1).unsqueeze(1)
node_attr = edge_spherical_harmonics(sh, batch.vel, normalization="integral") + torch.zeros(
    batch.num_nodes, sh.dim).index_add_(0, dst, edge_spherical_harmonics(sh, batch.pos[src] - batch.pos[dst],
                                                                      normalization="integral")) / count
layer = SteerableConv("8x0e+4x1o", irreps_hidden="16x0e+8x1o", lmax_attr=1)
h = torch.randn(batch.num_nodes, layer.irreps_in.dim)
out = layer(h, batch.pos, batch.edge_index, node_attr)
print("SteerableConv", layer.irreps_in, "->", layer.irreps_out, "| out", tuple(out.shape))
print(check_equivariance(layer, dict(h=h, pos=batch.pos, edge_index=batch.edge_index, node_attr=node_attr),
                         n_random=2, n_grid=2).summary())

model = SEGNN()  # README N-body config: 4 layers, 32x0e+32x1o, l_attr <= 1 (147,424 parameters)
print(check_equivariance(model, batch).summary())
