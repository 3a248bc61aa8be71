"""Fixtures for the model tests: small charged N-body batches from gdl's own simulator."""
import functools

import pytest

from gdl.testing import default_dtype
from tests.helpers.graph import make_nbody_batch


@pytest.fixture
def nbody_batch():
    """``nbody_batch(num_graphs, dtype)`` → a PyG Batch of charged 5-body systems (no edge_attr)."""
    return functools.partial(make_nbody_batch, edge_attr=False)


@pytest.fixture
def build_in():
    """``with build_in(torch.float64): ...`` builds modules with that default dtype."""
    return default_dtype
