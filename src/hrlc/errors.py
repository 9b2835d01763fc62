"""One exception tree for hrlc.

Every message states the rule that was broken, the value received and the fix, so
that the CLI can print it as a single line (exit code 2) without a traceback.
"""

from __future__ import annotations


class HrlcError(Exception):
    """Base class of every error hrlc raises on purpose (bad input, bad config)."""


class InputError(HrlcError):
    """An input file or folder cannot be used (missing, unreadable, wrong kind)."""


class CorruptFileError(InputError):
    """A raster, archive or metadata file exists but cannot be decoded."""


class ProductLevelError(InputError):
    """A product of another processing level (e.g. L1C where L2A is required)."""


class MissingBandError(InputError):
    """A requested band is not present in a product."""


class TrainingDataError(InputError, ValueError):
    """Training samples that cannot train a classifier (one class, too few samples, NaN).

    Also a ValueError, so that the estimators keep the scikit-learn contract.
    """


class FeatureMismatchError(InputError, ValueError):
    """The features offered to a model are not the ones it was trained on."""


class GridMismatchError(HrlcError):
    """Arrays or products that must share one grid (CRS, transform, shape) do not."""


class ConfigError(HrlcError):
    """A configuration file or option is invalid (unknown key, wrong type or value)."""


class OutputExistsError(HrlcError):
    """An output already exists and overwriting was not requested."""


class FolderLockedError(HrlcError):
    """Another hrlc process is writing into the folder (see :mod:`hrlc.io.lock`)."""


class FolderOwnershipError(HrlcError):
    """An output folder holds files that hrlc did not write; it is never overwritten."""


class StageInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM, SIGHUP) during a stage of ``hrlc run``: the stage printed the
    one-line message itself, so the CLI exits with code 128 + ``signum`` without a
    second one."""

    def __init__(self, signum: int = 2):
        super().__init__(signum)
        self.signum = int(signum)
