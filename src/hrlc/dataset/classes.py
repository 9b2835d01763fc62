"""Class tables and land-cover code mappings, as the dataset stage uses them.

They are configuration values (read from YAML by :mod:`hrlc.io.vectors`) and live in
:mod:`hrlc.config.classes`, a layer below the stages; this module re-exports them.
"""

from hrlc.config.classes import PALETTE, ClassInfo, ClassTable, LCMapping

__all__ = ["PALETTE", "ClassInfo", "ClassTable", "LCMapping"]
