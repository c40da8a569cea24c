"""Which resources a list or search request reads, and in which order (RFC 7644, Section 3.4.2)."""

from __future__ import annotations

from dataclasses import dataclass

from scim_bridge.scim.filters import FilterNode
from scim_bridge.scim.filters import mentions
from scim_bridge.scim.schema import AttributePath


@dataclass(frozen=True, slots=True)
class PageQuery:
    """The part of a list request every page of it shares: the filter (None: every resource) and the sort
    (``sort_by`` None: the service's own stable order). Paging (a start index, a count or a position) is
    given beside it, page by page."""

    filter: FilterNode | None = None
    sort_by: AttributePath | None = None
    descending: bool = False

    def reads(self, attribute: str) -> bool:
        """Whether the filter or the sort names the attribute called ``attribute`` (any case)."""
        return (self.filter is not None and mentions(self.filter, attribute)) or (
            self.sort_by is not None and self.sort_by.attribute.name.lower() == attribute.lower())
