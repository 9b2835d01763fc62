"""``hrlc simulate`` on the command line."""

from pathlib import Path

import numpy as np
import pytest

from hrlc.cli import main
from hrlc.io import read_l2a
from hrlc.simulate import simulate_series

CONFIGS = Path(__file__).parents[2] / "configs"


def run(capsys, *args):
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
        raise SystemExit(0)
    out = capsys.readouterr()
    return exit_info.value.code, out.out, out.err


def test_simulate_writes_products_and_truth(tmp_path, capsys):
    config = tmp_path / "sim.yaml"
    config.write_text("cloud_height: 800\nsize: 30\nswath_edge_probability: 0\n")
    code, _, err = run(capsys, "simulate", "--out", str(tmp_path / "out"), "--size", "48",
                       "--dates", "2", "--seed", "3", "--format", "geotiff", "--config",
                       str(config), "--clear-dates", "0", "--stac")
    assert code == 0, err
    assert "2 geotiff products of 48 x 48 px" in err
    products = sorted((tmp_path / "out").glob("*.SAFE"))
    cube = read_l2a(products)
    expected = simulate_series(size=48, dates=2, seed=3, cloud_height=800,
                               swath_edge_probability=0)
    np.testing.assert_array_equal(cube.values, expected.reflectance.values)
    truth = tmp_path / "out" / "truth"
    assert (truth / "landcover.tif").exists() and (truth / "training_polygons.gpkg").exists()
    assert "cloud_height: 800.0" in (truth / "simulation.yaml").read_text()
    assert (tmp_path / "out" / "stac" / "items.json").exists()

    code, _, err = run(capsys, "simulate", "--out", str(tmp_path / "out"), "--size", "48",
                       "--dates", "2", "--seed", "3", "--format", "geotiff")
    assert code == 2 and err.count("\n") == 1 and "--overwrite" in err


def test_simulate_errors_are_one_line(tmp_path, capsys):
    config = tmp_path / "bad.yaml"
    config.write_text("cloud_heigth: 800\n")
    code, _, err = run(capsys, "simulate", "--out", str(tmp_path), "--config", str(config))
    assert code == 2 and "unknown key 'cloud_heigth'" in err and err.count("\n") == 1
    code, _, err = run(capsys, "simulate", "--out", str(tmp_path), "--size", "50")
    assert code == 2 and "multiple of 6" in err


def test_help_has_an_example(capsys):
    code, out, _ = run(capsys, "simulate", "--help")
    assert code == 0 and "Example" in out and "hrlc simulate --out" in out


def test_example_config_is_valid():
    from hrlc.config import load_config
    from hrlc.config.simulate import SimulateConfig

    config = load_config(CONFIGS / "simulate.yaml", SimulateConfig)
    assert config == SimulateConfig()  # the file documents the defaults
