"""The CLI's --scheduler/--workers against a config's compute: block."""

import pytest

from hrlc.cli.options import chosen_compute
from hrlc.config import ComputeConfig
from hrlc.errors import ConfigError


def test_the_config_compute_stands_unless_the_command_line_asks_otherwise():
    configured = ComputeConfig(scheduler="synchronous")
    assert chosen_compute(configured, "threads", None) is configured
    assert chosen_compute(configured, "processes", None).scheduler == "processes"
    chosen = chosen_compute(configured, "threads", 3)
    assert (chosen.scheduler, chosen.n_workers) == ("threads", 3)


def test_a_bad_scheduler_names_the_command_line():
    with pytest.raises(ConfigError, match="command line"):
        chosen_compute(ComputeConfig(), "thread", None)
