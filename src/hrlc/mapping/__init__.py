"""Land-cover mapping: streamed chunked prediction over a tile."""

from hrlc.mapping.svm_kernel import FastRbfPredictor, RbfSvm

__all__ = ["FastRbfPredictor", "RbfSvm"]
