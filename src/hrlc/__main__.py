"""``python -m hrlc`` is the ``hrlc`` command."""

from hrlc.cli import main

main()
