"""Fixtures for the model tests: small charged N-body batches from gdl's own simulator."""
import functools

import pytest
import torch
from torch_geometric.data import Batch, Data

from gdl.nn.graph import fully_connected_graph
from gdl.testing import default_dtype


@functools.lru_cache(maxsize=None)
def _trajectories(count):
    from gdl.data.nbody import generate_nbody_split

    return generate_nbody_split("test", count=count, stream="per_split", progress=False)


def _nbody_batch(num_graphs=4, dtype=torch.float64):
    """A PyG Batch of ``num_graphs`` charged 5-body systems (frame 30), fully connected, no self-loops."""
    d = _trajectories(max(num_graphs, 1))
    graphs = []
    for g in range(num_graphs):
        edge_index = fully_connected_graph(d["pos"].shape[1])
        graphs.append(Data(pos=d["pos"][g].to(dtype), vel=d["vel"][g].to(dtype), charges=d["charges"][g].to(dtype),
                           y=d["y"][g].to(dtype), edge_index=edge_index))
    return Batch.from_data_list(graphs)


@pytest.fixture
def nbody_batch():
    """``nbody_batch(num_graphs, dtype)`` → a PyG Batch of charged 5-body systems."""
    return _nbody_batch


@pytest.fixture
def build_in():
    """``with build_in(torch.float64): ...`` builds modules with that default dtype."""
    return default_dtype
