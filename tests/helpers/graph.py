"""Shared by the graph-layer tests: tolerances, small charged N-body batches from gdl's own simulator,
a context manager that builds e3nn modules in a dtype. Import as ``from tests.helpers.graph import ...``."""
import functools

import torch
from torch_geometric.data import Batch, Data

from gdl.nn.graph import fully_connected_graph
from gdl.testing import default_dtype  # noqa: F401  (re-exported for the graph tests)

# Measured float32 equivariance floors of the untrained layers/models on N-body batches are
# 1e-7 … 6e-7 (docs/layers.md); float32 tests allow 20× the largest.
F32_RTOL = 1e-5
F64_RTOL = 1e-10


@functools.lru_cache(maxsize=None)
def _trajectories(count):
    from gdl.data.nbody import generate_nbody_split

    return generate_nbody_split("test", count=count, stream="per_split", progress=False)


def make_nbody_batch(num_graphs=4, dtype=torch.float64, edge_attr=True):
    """A PyG Batch of ``num_graphs`` charged 5-body systems (frame 30), fully connected, no self-loops
    (``edge_attr``: the charge products q_i q_j on the edges)."""
    d = _trajectories(max(num_graphs, 1))
    graphs = []
    for g in range(num_graphs):
        n = d["pos"].shape[1]
        edge_index = fully_connected_graph(n)
        graph = Data(pos=d["pos"][g].to(dtype), vel=d["vel"][g].to(dtype), charges=d["charges"][g].to(dtype),
                     y=d["y"][g].to(dtype), edge_index=edge_index)
        if edge_attr:
            graph.edge_attr = (d["charges"][g][edge_index[0]] * d["charges"][g][edge_index[1]]).to(dtype)
        graphs.append(graph)
    return Batch.from_data_list(graphs)


