"""Fixtures for the group tests (the shared tables live in tests/helpers/groups.py)."""
import pytest

from tests.helpers.groups import GROUPS


@pytest.fixture(params=list(GROUPS), ids=list(GROUPS))
def group(request):
    return GROUPS[request.param]
