"""The speed benchmark's plain-e3nn contenders compute the same function as gdl's models."""
import pytest
import torch

from gdl.benchmarks.nbody_speed import nbody_batch, plain_segnn_forward, plain_tfn_forward
from gdl.models import SEGNN, TFN


@pytest.mark.parametrize("model_cls, plain", [(SEGNN, plain_segnn_forward), (TFN, plain_tfn_forward)])
def test_plain_forward_matches_the_model(model_cls, plain):
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        torch.manual_seed(0)
        model = model_cls(irreps_hidden="8x0e+8x1o", num_layers=2)
        data = nbody_batch(4, dtype=torch.float64)
        # gdl's unit vectors are v / (‖v‖ + 1e-9) (finite at coincident points), e3nn's v / ‖v‖: ~1e-9 apart
        torch.testing.assert_close(plain(model, data), model(data), rtol=0, atol=1e-8)
    finally:
        torch.set_default_dtype(previous)
