"""SCIM filters (RFC 7644, Section 3.4.2.2): parsing into a small IR and in-memory evaluation.

:func:`parse_filter` turns filter text into an immutable tree of :class:`Compare`, :class:`Present`,
:class:`And`, :class:`Or`, :class:`Not` and :class:`ValuePath` nodes whose attribute paths are all resolved
against the bridge's attribute table (:mod:`scim_bridge.scim.schema`); :func:`matches` evaluates a tree over a
SCIM JSON resource. The work is split by stage:

* :mod:`~scim_bridge.scim.filters.tokens`: text into tokens (attribute paths split by the shared grammar of
  :mod:`scim_bridge.scim.paths`);
* :mod:`~scim_bridge.scim.filters.parse`: tokens into the IR, with type checks of every comparison;
* :mod:`~scim_bridge.scim.filters.nodes`: the IR itself and helpers over it (:func:`render`, ...);
* :mod:`~scim_bridge.scim.filters.evaluate`: evaluation in memory.

The mirror's index (:mod:`scim_bridge.store.index`) translates the same IR into its own query.
"""

from scim_bridge.scim.filters.evaluate import attribute_values
from scim_bridge.scim.filters.evaluate import comparable
from scim_bridge.scim.filters.evaluate import element_values
from scim_bridge.scim.filters.evaluate import is_present
from scim_bridge.scim.filters.evaluate import matches
from scim_bridge.scim.filters.evaluate import parse_datetime
from scim_bridge.scim.filters.nodes import COMPARE_OPERATORS
from scim_bridge.scim.filters.nodes import ORDERING_OPERATORS
from scim_bridge.scim.filters.nodes import SUBSTRING_OPERATORS
from scim_bridge.scim.filters.nodes import And
from scim_bridge.scim.filters.nodes import Compare
from scim_bridge.scim.filters.nodes import FilterNode
from scim_bridge.scim.filters.nodes import Not
from scim_bridge.scim.filters.nodes import Or
from scim_bridge.scim.filters.nodes import Present
from scim_bridge.scim.filters.nodes import Scalar
from scim_bridge.scim.filters.nodes import ValuePath
from scim_bridge.scim.filters.nodes import mentions
from scim_bridge.scim.filters.nodes import render
from scim_bridge.scim.filters.nodes import simple_equality
from scim_bridge.scim.filters.parse import parse_filter

__all__ = [
    "COMPARE_OPERATORS",
    "ORDERING_OPERATORS",
    "SUBSTRING_OPERATORS",
    "And",
    "Compare",
    "FilterNode",
    "Not",
    "Or",
    "Present",
    "Scalar",
    "ValuePath",
    "attribute_values",
    "comparable",
    "element_values",
    "is_present",
    "matches",
    "mentions",
    "parse_datetime",
    "parse_filter",
    "render",
    "simple_equality",
]
