"""Fixtures for the group tests (the shared tables live in tests/helpers/groups.py)."""
import pytest

from tests.helpers.groups import ACTION_CASES, GROUPS, REP_CASES, actions_of, reps_of


def pytest_generate_tests(metafunc):
    """``rep_case`` = (group, rep) over every group × linear representation above and
    ``action_case`` = (group, action) over the affine ones, for test modules that should not
    import this file."""
    if "rep_case" in metafunc.fixturenames:
        metafunc.parametrize(
            "rep_case", [(GROUPS[a], reps_of(a, GROUPS[a])[b]) for a, b in REP_CASES], ids=[f"{a}-{b}" for a, b in REP_CASES]
        )
    if "action_case" in metafunc.fixturenames:
        metafunc.parametrize(
            "action_case", [(GROUPS[a], actions_of(a, GROUPS[a])[b]) for a, b in ACTION_CASES],
            ids=[f"{a}-{b}" for a, b in ACTION_CASES],
        )


@pytest.fixture(params=list(GROUPS), ids=list(GROUPS))
def group(request):
    return GROUPS[request.param]
