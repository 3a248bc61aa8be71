"""Strict configuration: unknown keys and bad values are errors that name the problem."""
import pytest

from gdl.train import ConfigError, config_from_dict, load_config, resolve_config
from gdl.train._config import parse_override
from tiny_train_task import TINY


def test_defaults_and_nested_values():
    config = config_from_dict({"epochs": 5, "optimizer": {"lr": 1e-3}, "equivariance": {"every": 2}})
    assert config.epochs == 5 and config.optimizer.lr == 1e-3 and config.equivariance.every == 2
    assert config.optimizer.name == "adam" and config.scheduler.name == "none"


@pytest.mark.parametrize("values, message", [
    ({"epoch": 3}, "unknown config key 'epoch' (did you mean 'epochs'?)"),
    ({"optimizer": {"lrr": 1e-3}}, "unknown config key 'optimizer.lrr'"),
    ({"equivariance": {"action": "explode"}}, "equivariance.action must be warn or stop"),
    ({"epochs": "many"}, "config key 'epochs' expects an integer"),
    ({"dtype": "float16"}, "dtype must be float32 or float64"),
    ({"optimizer": 3}, "config section 'optimizer.' must be a mapping"),
    ({"ema_decay": 1.5}, "ema_decay must be in (0, 1)"),
])
def test_bad_config_is_an_error(values, message):
    with pytest.raises(ConfigError) as info:
        config_from_dict(values)
    assert message in str(info.value)


def test_yaml_file_round_trip_and_unknown_key(tmp_path):
    config = config_from_dict({"epochs": 7, "scheduler": {"name": "cosine"}})
    path = tmp_path / "c.yaml"
    path.write_text(config.to_yaml())
    assert load_config(path) == config
    path.write_text("epochs: 2\nlearning_rate: 0.1\n")
    with pytest.raises(ConfigError, match="unknown config key 'learning_rate'"):
        load_config(path)
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")


def test_overrides_parse_yaml_values():
    assert parse_override("optimizer.lr=1e-3") == {"optimizer": {"lr": 1e-3}}
    assert parse_override("data.num_train=500") == {"data": {"num_train": 500}}
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_override("epochs")


def test_task_and_model_options_are_checked_against_factories():
    config = resolve_config({"task": "tiny", "model_options": {"hiden": 3}}, TINY)
    with pytest.raises(ConfigError, match="unknown key 'hiden'.*did you mean 'hidden'"):
        TINY.build_model(config.model, config.model_options)
    with pytest.raises(ConfigError, match="unknown key 'n_trian'"):
        TINY.build_datasets(options={"n_trian": 3})


def test_model_default_learning_rate_is_used():
    config = resolve_config({"task": "nbody", "model": "tfn"})
    assert config.model == "tfn" and config.optimizer.lr is None  # resolved from the ModelSpec by the Trainer
    from gdl.train import get_task

    assert get_task("nbody").models["egnn"].lr == 5e-4 and get_task("nbody").models["tfn"].lr == 1e-3


def test_config_file_keeps_the_task_defaults(tmp_path):
    from gdl.train._config import read_config_file

    path = tmp_path / "c.yaml"
    path.write_text("task: csl\nepochs: 1\n")
    config = resolve_config(read_config_file(path))
    assert config.batch_size == 10 and config.model == "gin-rwpe" and config.epochs == 1  # csl's defaults
    path.write_text("- a list\n")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        read_config_file(path)
