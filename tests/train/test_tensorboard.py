"""Scalars are mirrored to TensorBoard (tensorboard is in the `test` extra, so this runs in CI)."""
from gdl.train._run_dir import MetricsLogger


def test_metrics_are_mirrored_to_tensorboard(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logger = MetricsLogger(tmp_path)
    for epoch, loss in [(1, 0.5), (2, 0.25)]:
        logger.log({"epoch": epoch, "train_loss": loss})
    logger.close()
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    assert [(s.step, s.value) for s in events.Scalars("train_loss")] == [(1, 0.5), (2, 0.25)]
    assert (tmp_path / "metrics.jsonl").read_text().count("\n") == 2
