"""The N-body models on CUDA: finite outputs and gradients, E(3) × permutation checks (skipped without CUDA)."""
import pytest
import torch
from tests.helpers.graph import F32_RTOL, F64_RTOL, default_dtype, make_nbody_batch

from gdl.nn.graph import MODELS
from gdl.testing import check_equivariance

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("dtype,rtol", [(torch.float64, F64_RTOL), (torch.float32, F32_RTOL)])
def test_models_on_cuda(name, dtype, rtol):
    torch.manual_seed(0)
    with default_dtype(dtype):
        model = MODELS[name]().cuda()
    batch = make_nbody_batch(8, dtype).cuda()
    out = model(batch)
    torch.nn.functional.mse_loss(out, batch.y).backward()
    assert out.device.type == "cuda" and torch.isfinite(out).all()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    report = check_equivariance(model, batch, rtol=rtol, n_random=2, n_grid=1)
    assert report.per_symmetry["node permutation"] <= rtol
    if name in ("egnn", "tfn", "segnn"):
        assert report.passed, report.table()
    else:
        assert report.per_symmetry["E(3)"] > 1e-2  # the baselines are not E(3)-equivariant
