import inspect
from pathlib import Path

import pytest

from hrlc.config import load_config
from hrlc.config.masks import MasksConfig, MasksRunConfig
from hrlc.errors import ConfigError

CONFIGS = Path(__file__).parents[2] / "configs"


def test_example_config_holds_the_defaults():
    run = load_config(CONFIGS / "masks.yaml", MasksRunConfig)
    assert run.masks == MasksConfig()
    assert set(run.masks.model_dump()) == set(MasksConfig.model_fields)


def test_config_errors_name_the_key_and_the_rule(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources: [a]\noutput: b\nmasks:\n  quantile: 1.5\n  colour: red\n")
    with pytest.raises(ConfigError) as err:
        load_config(bad, MasksRunConfig)
    assert "masks.quantile" in str(err.value) and "unknown key 'masks.colour'" in str(err.value)
    with pytest.raises(ConfigError, match="candidate_delta <= cloud_delta"):
        from hrlc.config import validate_config

        validate_config({"cloud_delta": 0.5, "thick_delta": 0.2}, MasksConfig)


def test_refine_masks_takes_the_config_as_keywords():
    from hrlc.masks import refine_masks

    params = inspect.signature(refine_masks).parameters
    assert all(p.kind == p.KEYWORD_ONLY for n, p in params.items()
               if n not in ("reflectance", "scl", "options"))
