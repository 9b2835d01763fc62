"""One convention across sub-commands: ``-o/--output`` wherever something is written."""

from __future__ import annotations

import pytest
import typer.main
import yaml

from hrlc.cli import COMMANDS, app, main, register_commands
from hrlc.config import load_config
from hrlc.config.train import TrainRunConfig
from hrlc.errors import ConfigError


def _commands():
    register_commands()
    group = typer.main.get_command(app)
    return {name: group.commands[name] for name in sorted(group.commands)}


#: Commands that write no file (they print).
READ_ONLY = {"info"}


@pytest.mark.parametrize("name", sorted(set(_commands()) - READ_ONLY))
def test_every_writing_command_takes_dash_o_and_output(name):
    command = _commands()[name]
    options = {opt for param in command.params for opt in param.opts}
    if name == "bench":  # writes RESULTS.md and results/: named by --markdown/--results
        assert {"--results", "--markdown"} <= options
        return
    assert {"-o", "--output"} <= options, f"hrlc {name} has no -o/--output"


def test_every_command_is_registered_once_in_the_listed_order():
    register_commands()
    register_commands()
    assert [c.name for c in app.registered_commands] == [name for name, _, _ in COMMANDS]


def test_output_on_the_command_line_replaces_the_configs(tmp_path):
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump({"samples": "s.parquet", "output": "from-yaml"}))
    assert load_config(path, TrainRunConfig).output == "from-yaml"
    assert load_config(path, TrainRunConfig, overrides={"output": "cli"}).output == "cli"
    assert load_config(path, TrainRunConfig, overrides={"output": None}).output == "from-yaml"
    with pytest.raises(ConfigError, match="the command line"):
        load_config(path, TrainRunConfig, overrides={"output": 3.5j})


def test_simulate_writes_where_dash_o_says(tmp_path):
    main(["simulate", "-o", str(tmp_path / "sim"), "--size", "60", "--dates", "1",
          "--format", "geotiff", "--clear-dates", "0"])
    assert any(p.name.endswith(".SAFE") for p in (tmp_path / "sim").iterdir())
