import pytest

from hrlc.config import ComputeConfig, ReadConfig, SourceOptions, load_config
from hrlc.errors import ConfigError


def test_unknown_key_names_file_key_and_allowed(tmp_path):
    path = tmp_path / "read.yaml"
    path.write_text("sources: [a.zip]\noptions:\n  quantificaton: 1000\n")
    with pytest.raises(ConfigError) as err:
        load_config(path, ReadConfig)
    message = str(err.value)
    assert str(path) in message and "unknown key 'options.quantificaton'" in message
    assert "quantification" in message.split("allowed here:")[1]


def test_wrong_type_quotes_value(tmp_path):
    path = tmp_path / "read.yaml"
    path.write_text("sources: [a.zip]\nresolution: 15\n")
    with pytest.raises(ConfigError, match=r"'resolution'.*got 15"):
        load_config(path, ReadConfig)


def test_missing_required_key_and_bad_yaml(tmp_path):
    path = tmp_path / "read.yaml"
    path.write_text("bands: [B02]\n")
    with pytest.raises(ConfigError, match="missing required key 'sources'"):
        load_config(path, ReadConfig)
    path.write_text("sources: [a\n")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        load_config(path, ReadConfig)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml", ReadConfig)


def test_band_names_are_canonicalised_and_checked():
    assert SourceOptions(band_names=["b2", "B8A"]).band_names == ["B02", "B8A"]
    with pytest.raises(ValueError, match="not a Sentinel-2 band id"):
        SourceOptions(band_names=["NIR"])


@pytest.mark.parametrize("value", ["threads", "processes", "local", "tcp://10.0.0.1:8786"])
def test_scheduler_values_accepted(value):
    assert ComputeConfig(scheduler=value).scheduler == value


def test_scheduler_value_rejected():
    with pytest.raises(ValueError, match="threads, processes, synchronous, local or tcp"):
        ComputeConfig(scheduler="gpu")


def _models():
    from hrlc.config.composite import CompositeConfig
    from hrlc.config.dataset import DatasetRunConfig
    from hrlc.config.features import FeaturesRunConfig
    from hrlc.config.mapping import MapRunConfig
    from hrlc.config.masks import MasksRunConfig
    from hrlc.config.restore import RestoreConfig
    from hrlc.config.run import RunConfig
    from hrlc.config.simulate import SimulateConfig
    from hrlc.config.train import TrainRunConfig

    return {"read": ReadConfig, "compute": ComputeConfig, "run": RunConfig,
            "masks": MasksRunConfig, "composite": CompositeConfig, "restore": RestoreConfig,
            "features": FeaturesRunConfig, "dataset": DatasetRunConfig,
            "train": TrainRunConfig, "map": MapRunConfig, "simulate": SimulateConfig}


@pytest.mark.parametrize("name", ["read", "compute", "run", "masks", "composite", "restore",
                                  "features", "dataset", "train", "map", "simulate"])
def test_example_configs_are_valid(name):
    from pathlib import Path

    model = _models()[name]
    example = Path(__file__).parents[1] / "configs" / f"{name}.yaml"
    config = load_config(example, model)
    assert set(config.model_dump()) == set(model.model_fields)


def test_public_api_resolves_every_name():
    from importlib.metadata import version

    import hrlc

    for name in set(hrlc.__all__) - {"__version__"}:
        value = getattr(hrlc, name)  # the lazy import gives the object of that name
        assert value.__name__ == name and value.__module__.startswith("hrlc.")
    assert hrlc.__version__ == version("hrlc")
    from hrlc.model import TrainingDataError

    assert TrainingDataError is hrlc.TrainingDataError
