"""Fixtures for the graph-layer tests (the helpers themselves live in tests/helpers/graph.py)."""
import pytest

from tests.helpers.graph import default_dtype, make_nbody_batch


@pytest.fixture
def nbody_batch():
    return make_nbody_batch


@pytest.fixture
def build_in():
    return default_dtype
