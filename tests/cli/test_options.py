"""The CLI's --scheduler/--workers against a config's compute: block."""

import pytest

from hrlc.cli.options import chosen_compute
from hrlc.config import ComputeConfig
from hrlc.errors import ConfigError


def test_the_config_compute_stands_unless_the_command_line_asks_otherwise():
    configured = ComputeConfig(scheduler="local", n_workers=2, memory_limit="3GB",
                               threads_per_worker=2)
    assert chosen_compute(configured, None, None) is configured
    # an explicit --scheduler threads overrides the config's local, and keeps the rest
    chosen = chosen_compute(configured, "threads", None)
    assert (chosen.scheduler, chosen.n_workers, chosen.memory_limit,
            chosen.threads_per_worker) == ("threads", 2, "3GB", 2)
    chosen = chosen_compute(configured, "processes", 3)
    assert (chosen.scheduler, chosen.n_workers, chosen.memory_limit) == ("processes", 3, "3GB")


def test_a_bad_scheduler_names_the_command_line():
    with pytest.raises(ConfigError, match="command line"):
        chosen_compute(ComputeConfig(), "thread", None)
