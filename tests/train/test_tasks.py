"""The built-in tasks: registry contents, CSL at chance without PE and above 90 % with it."""
import pytest

from gdl.train import Task, Trainer, get_task, list_tasks, register_task
from gdl.train._task import ModelSpec


def test_registry_holds_nbody_and_csl_with_published_numbers():
    tasks = list_tasks()
    assert {"nbody", "csl"} <= set(tasks)
    nbody = get_task("nbody")
    assert set(nbody.models) == {"egnn", "segnn", "tfn", "gnn", "linear"}
    published = {k: v.value for k, v in nbody.published.items()}
    assert published == {"linear": 0.0819, "gnn": 0.0107, "tfn": 0.0155, "se3-transformer": 0.0244,
                          "egnn": 0.0071, "segnn": 0.0043}
    assert nbody.models["egnn"].lr == 5e-4 and nbody.metric.name == "mse" and not nbody.metric.higher_is_better
    csl = get_task("csl")
    assert csl.metric.higher_is_better and set(csl.models) == {"gin", "gin-rwpe"}


def test_registering_twice_needs_overwrite():
    task = get_task("csl")
    with pytest.raises(ValueError, match="already registered"):
        register_task(task)
    with pytest.raises(ValueError, match="needs at least one model"):
        Task(name="empty", description="", datasets=dict, models={}, loss=None, metric=None)
    with pytest.raises(ValueError, match="default_model 'x' is not one of its models"):
        Task(name="t", description="", datasets=dict, models={"a": ModelSpec(dict)}, loss=None, metric=None, default_model="x")


@pytest.fixture
def gdl_home(tmp_path, monkeypatch):
    monkeypatch.setenv("GDL_HOME", str(tmp_path / "home"))
    return tmp_path


@pytest.mark.slow
def test_csl_plain_gin_is_at_chance_and_random_walk_pe_separates(gdl_home):
    common = {"task": "csl", "progress": False, "equivariance": {"every": 5, "final": True}}
    plain = Trainer({**common, "model": "gin", "epochs": 3}, run_dir=gdl_home / "gin").fit()
    assert plain["test_metric"] == pytest.approx(0.1)  # 1-WL cannot tell the classes apart: chance
    assert plain["equivariance"]["max"] < 1e-4 and plain["equivariance"]["symmetry"] == "node permutation"
    # Constant-lr Adam oscillates between 30 % and 100 % validation accuracy for many epochs (on this
    # machine 60 epochs at 1e-3 ended with the best-val epoch at 90 %); annealing the step to zero
    # settles it: with cosine 1e-3 → 0 over 40 epochs, seeds 0 and 1 reach 100 % by epoch 17 / 21 and
    # are at 100 % in 10 of the last 11 epochs each (never below 90 % there). Test graphs are
    # relabelled copies of training graphs and the model is permutation-invariant, so test accuracy
    # moves in whole classes: > 0.9 means all ten.
    pe_config = {**common, "model": "gin-rwpe", "epochs": 40, "scheduler": {"name": "cosine"}}
    pe = Trainer(pe_config, run_dir=gdl_home / "pe").fit()
    assert pe["test_metric"] > 0.9
    assert pe["equivariance"]["max"] < 1e-4
