"""pytest plugin of gdl (entry point ``pytest11: gdl = gdl.testing.pytest_plugin``).

Opt-in only — nothing here is autouse, so installing gdl changes no one's test run:

- fixture ``eq_dtype``: parametrised over ``torch.float32`` and ``torch.float64``;
- fixture ``eq_tolerance``: the checker's default ``rtol`` for ``eq_dtype``;
- fixture ``equivariance_check``: ``equivariance_check(model, *inputs, **kwargs)`` runs
  ``gdl.testing.assert_equivariant`` (raising with the report table) and returns the report;
  ``model`` may be a module **class** (or ``build=`` a zero-argument factory): it is then
  built under ``gdl.testing.default_dtype(dtype)`` — ``dtype=`` if given, else the dtype of
  the first floating input — so that its constants carry that precision; ``n_random``
  defaults to ``--gdl-eq-random``;
- option ``--gdl-eq-random N``: random group elements per symmetry (default 8);
- marker ``equivariance``: tag equivariance tests (``pytest -m equivariance``).

The fixtures are session-scoped (they hold no per-test state), so they work inside
hypothesis ``@given`` tests, which refuse function-scoped fixtures.

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


@pytest.fixture(scope="session", params=["float32", "float64"])
def eq_dtype(request):
    """Run the test once in float32 and once in float64."""
    import torch

    return getattr(torch, request.param)


@pytest.fixture(scope="session")
def eq_tolerance(eq_dtype):
    """The default relative tolerance of ``check_equivariance`` for ``eq_dtype``."""
    from gdl.testing import default_rtol

    return default_rtol(eq_dtype)


def _first_floating_dtype(inputs):
    import torch

    for x in inputs:
        values = x.values() if isinstance(x, dict) else (x.to_dict().values() if hasattr(x, "to_dict") else (x,))
        for v in values:
            if isinstance(v, torch.Tensor) and v.is_floating_point():
                return v.dtype
    return None


def make_check(n_random=None):
    """The callable behind the ``equivariance_check`` fixture (see the module doc)."""

    def check(model=None, *inputs, build=None, **kwargs):
        import torch

        from gdl.testing import assert_equivariant, default_dtype

        if n_random is not None:
            kwargs.setdefault("n_random", n_random)
        factory = build if build is not None else (model if isinstance(model, type) else None)
        if build is not None and model is not None:
            inputs = (model,) + inputs
        if factory is not None:
            dtype = kwargs.get("dtype") or _first_floating_dtype(inputs) or torch.get_default_dtype()
            with default_dtype(dtype):
                model = factory()
        return assert_equivariant(model, *inputs, **kwargs)

    return check


@pytest.fixture(scope="session")
def equivariance_check(pytestconfig):
    """A callable: assert that a model (an instance, a class, or ``build=factory``) is
    equivariant on a sample; returns the report."""
    return make_check(pytestconfig.getoption("--gdl-eq-random"))
