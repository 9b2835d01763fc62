"""Monthly composites: from masked L2A scenes, or made elsewhere and stacked.

``monthly_composite(reflectance, mask, *, method="median", ...)`` returns a Dataset with
the composite (``reflectance``, time = month start) and its quality layer
(``clear_count``); ``stack_composites`` validates and stacks external composites.
"""

from hrlc.composite.external import stack_composites
from hrlc.composite.monthly import METHODS, month_labels, month_range, monthly_composite

__all__ = ["METHODS", "month_labels", "month_range", "monthly_composite", "stack_composites"]
