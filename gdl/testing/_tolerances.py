"""Default tolerances of the equivariance check, set from measured noise floors.

Measured with ``python -m gdl.testing.noise_floor`` (see docs/testing.md for the table):
correct modules (e3nn tensor products, gdl reps' own actions, an EGNN-style graph model)
show relative errors up to ~1e-15 in float64 and ~1e-6 in float32. The defaults sit about
two orders of magnitude above these floors and well below the smallest leak the mutation
tests must catch (1e-6 in float64, 1e-3 in float32).
"""
from __future__ import annotations

import torch

RTOL = {torch.float64: 1e-10, torch.float32: 1e-4, torch.float16: 1e-2, torch.bfloat16: 5e-2}

# floor of the output scale, as a fraction of the largest |value| among the typed inputs
FLOOR_FRACTION = 1e-3


def default_rtol(dtype: torch.dtype) -> float:
    """The default relative tolerance for a model running in ``dtype``."""
    return RTOL.get(dtype, 1e-4)


def default_floor_fraction() -> float:
    return FLOOR_FRACTION
