"""Shared test configuration."""
import os

import torch
from hypothesis import HealthCheck, settings

# Deterministic hypothesis runs in CI; `HYPOTHESIS_PROFILE=dev` for random exploration.
settings.register_profile(
    "ci", derandomize=True, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", deadline=None, max_examples=50)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

torch.set_num_threads(int(os.environ.get("GDL_TEST_THREADS", "1")))


def pytest_sessionstart(session):
    """``GDL_REQUIRE_CUDA=1``: the device-test command on a lent GPU fails instead of skipping."""
    if os.environ.get("GDL_REQUIRE_CUDA") == "1" and not torch.cuda.is_available():
        import pytest

        pytest.exit("GDL_REQUIRE_CUDA=1 but torch.cuda.is_available() is False: the CUDA tests would only skip",
                    returncode=3)
