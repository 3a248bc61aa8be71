"""DDP on CPU (gloo, 2 processes) gives the gradients and the training run of 1 process on the same global batch."""
import pytest
import torch
import torch.multiprocessing as mp

from tiny_train_task import ddp_worker, tiny_config


@pytest.mark.slow
def test_two_processes_match_one_process(tmp_path):
    # dropout off: its masks are drawn per rank; an odd validation size checks there is no padding in evaluation
    config = tiny_config(epochs=2, batch_size=16, model_options={"dropout": 0.0}, data={"n_val": 33})
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    ddp_worker(0, 1, None, str(tmp_path / "one"), config)
    mp.spawn(ddp_worker, args=(2, str(tmp_path / "init"), str(tmp_path / "two"), config), nprocs=2, join=True)

    one = torch.load(tmp_path / "one" / "rank0.pt", weights_only=False)
    ranks = [torch.load(tmp_path / "two" / f"rank{r}.pt", weights_only=False) for r in range(2)]
    assert one["n_local"] == 16 and all(r["n_local"] == 8 for r in ranks)  # per-rank batch = global / 2
    # the mean of the two half-batch losses is the full-batch loss: the global batch is the same set of graphs
    assert abs(0.5 * (ranks[0]["loss"] + ranks[1]["loss"]) - one["loss"]) < 1e-12
    for name, g in one["grads"].items():
        for r in ranks:  # DDP all-reduces (averages) gradients: every rank holds the full-batch gradient
            assert torch.allclose(r["grads"][name], g, rtol=1e-12, atol=1e-14), name
    for name, p in one["params"].items():  # and 2 epochs of training land on the same parameters
        for r in ranks:
            assert torch.allclose(r["params"][name], p, rtol=1e-10, atol=1e-12), name
    for r in ranks:  # metrics all-reduced as sums and counts equal the single-process metrics
        assert abs(r["results"]["test_metric"] - one["results"]["test_metric"]) < 1e-10
        assert abs(r["results"]["val_metric"] - one["results"]["val_metric"]) < 1e-10
    assert (tmp_path / "two" / "run" / "best.pt").exists()  # rank 0 wrote the checkpoints
