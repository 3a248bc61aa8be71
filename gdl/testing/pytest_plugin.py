"""pytest plugin of gdl (entry point ``pytest11: gdl = gdl.testing.pytest_plugin``).

Opt-in only — nothing here is autouse, so installing gdl changes no one's test run:

- fixture ``eq_dtype``: parametrised over ``torch.float32`` and ``torch.float64``;
- fixture ``eq_tolerance``: the checker's default ``rtol`` for ``eq_dtype``;
- fixture ``equivariance_check``: ``equivariance_check(model, *inputs, **kwargs)`` runs
  ``gdl.testing.assert_equivariant`` (raising with the report table) and returns the report;
  ``n_random`` defaults to ``--gdl-eq-random``;
- option ``--gdl-eq-random N``: random group elements per symmetry (default 8);
- marker ``equivariance``: tag equivariance tests (``pytest -m equivariance``).

Under ``PYTEST_DISABLE_PLUGIN_AUTOLOAD=1`` load it with ``pytest -p gdl.testing.pytest_plugin``.
torch and gdl are imported lazily, inside the fixtures.
"""
from __future__ import annotations

import pytest


def pytest_addoption(parser):
    group = parser.getgroup("gdl", "gdl equivariance checks")
    group.addoption(
        "--gdl-eq-random",
        type=int,
        default=None,
        help="random group elements per symmetry in gdl equivariance checks (default 8)",
    )


def pytest_configure(config):
    config.addinivalue_line("markers", "equivariance: an equivariance property test (gdl.testing)")

@pytest.fixture(params=["float32", "float64"])
def eq_dtype(request):
    """Run the test once in float32 and once in float64."""
    import torch

    return getattr(torch, request.param)


@pytest.fixture
def eq_tolerance(eq_dtype):
    """The default relative tolerance of ``check_equivariance`` for ``eq_dtype``."""
    from gdl.testing import default_rtol

    return default_rtol(eq_dtype)


@pytest.fixture
def equivariance_check(request):
    """A callable: assert that a model is equivariant on a sample; returns the report."""
    from gdl.testing import assert_equivariant

    n_random = request.config.getoption("--gdl-eq-random")

    def check(model, *inputs, **kwargs):
        if n_random is not None:
            kwargs.setdefault("n_random", n_random)
        return assert_equivariant(model, *inputs, **kwargs)

    return check
