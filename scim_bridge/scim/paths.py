"""The attribute-path grammar and the case-insensitive name lookup every part of the protocol shares.

Filters (``filter=``), PATCH paths, ``attributes``/``excludedAttributes`` and ``sortBy`` all name attributes
the same way (RFC 7644, Sections 3.4.2.2, 3.5.2 and 3.10)::

    PATH      = [URI ":"] ATTRNAME [valueFilter] ["." subAttr]      ; "[...]" only where a consumer allows it
    ATTRNAME  = ALPHA *(nameChar)                                    ; RFC 7643, Section 2.1
    nameChar  = "-" / "_" / DIGIT / ALPHA                            ; ASCII only
    subAttr   = ATTRNAME / "$ref"                                    ; "$ref" (RFC 7643, Section 2.4)
    URI       = scheme ":" *( unreserved / ":" )                     ; a schema URN such as urn:...:2.0:User

The schema URI is everything before the last ``:`` ahead of the attribute name, so the dots of ``2.0`` stay in
the URN. :func:`parse_path` only checks the spelling; resolving a spelled path against the attribute table is
:meth:`scim_bridge.scim.schema.ResourceType.resolve`. Attribute names, sub-attribute names and schema URNs
compare case-insensitively (RFC 7643, Section 2.1) in ASCII only: :func:`fold` lower-cases an ASCII name and
leaves any other text as it is, so no Unicode case mapping (the Kelvin sign, a dotted capital I) ever turns
into an attribute name.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from typing import TypeVar

ATTRNAME = r"[A-Za-z][A-Za-z0-9_-]*"
# A name as it may appear in a path: ATTRNAME, or the "$ref" sub-attribute of references.
NAME = rf"(?:{ATTRNAME}|\$[Rr][Ee][Ff])"
SCHEMA_URI = r"[A-Za-z][A-Za-z0-9+.-]*:[A-Za-z0-9._~%+:-]*"

_NAME_RE = re.compile(NAME)
_SCHEMA_RE = re.compile(SCHEMA_URI)

T = TypeVar("T")


class PathSyntaxError(ValueError):
    """The text is not an attribute path; each consumer answers with its own ``scimType``."""


@dataclass(frozen=True, slots=True)
class PathSyntax:
    """An attribute path as spelled: the pieces, not yet looked up in the attribute table."""

    text: str
    attribute: str
    schema: str | None = None
    value_filter: str | None = None  # the text between "[" and "]", unparsed
    sub_attribute: str | None = None

    def spelled(self) -> str:
        """The path without its value filter, e.g. ``urn:...:User:name.givenName``."""
        text = f"{self.schema}:{self.attribute}" if self.schema else self.attribute
        return f"{text}.{self.sub_attribute}" if self.sub_attribute else text


def is_name(text: str) -> bool:
    """Whether ``text`` is an attribute or sub-attribute name (ATTRNAME or ``$ref``)."""
    return _NAME_RE.fullmatch(text) is not None


def parse_path(text: str, *, value_filter: bool = False) -> PathSyntax:
    """Split ``text`` into its pieces; ``value_filter`` allows ``attr[filter]`` and ``attr[filter].sub``.

    :raises PathSyntaxError: ``text`` is not spelled as the grammar above says.
    """
    if not isinstance(text, str):
        raise PathSyntaxError("An attribute path must be a string.")
    head, bracket, tail = text, None, ""
    opening = text.find("[")
    if opening >= 0:
        if not value_filter:
            raise PathSyntaxError(f"'{text}' is not an attribute path: no [...] filter is allowed here.")
        head = text[:opening]
        bracket, tail = _bracketed(text[opening:], text)
        if not tail:
            sub = None
        elif tail.startswith(".") and is_name(tail[1:]):
            sub = tail[1:]
        else:
            raise PathSyntaxError(f"Malformed path '{text}': only '.subAttribute' may follow ']'.")
    schema, colon, rest = head.rpartition(":")
    if colon and not _SCHEMA_RE.fullmatch(schema):
        raise PathSyntaxError(f"Malformed path '{text}': '{schema}' is not a schema URI.")
    name, dot, inner_sub = rest.partition(".")
    if not is_name(name) or (dot and not is_name(inner_sub)):
        raise PathSyntaxError(f"Malformed path '{text}'.")
    if bracket is None:
        sub = inner_sub if dot else None
    elif dot:
        raise PathSyntaxError(f"Malformed path '{text}': a [...] filter follows the attribute itself.")
    return PathSyntax(text=text, attribute=name, schema=schema if colon else None, value_filter=bracket,
                      sub_attribute=sub)


def _bracketed(rest: str, original: str) -> tuple[str, str]:
    """Split ``[filter]tail`` at the closing bracket outside any quoted string."""
    in_string = escaped = False
    for index, char in enumerate(rest[1:], start=1):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = in_string
        elif char == '"':
            in_string = not in_string
        elif char == "]" and not in_string:
            return rest[1:index], rest[index + 1 :]
    raise PathSyntaxError(f"Unclosed '[' in path '{original}'.")


# ---------------------------------------------------------------------------------------------------------
# Case-insensitive names (RFC 7643, Section 2.1).


def fold(name: str) -> str:
    """The form names compare in: ASCII lower case; text with other characters is left as it is."""
    return name.lower() if name.isascii() else name


def same_name(left: str, right: str) -> bool:
    return left == right or fold(left) == fold(right)


def find_key(container: Mapping[str, Any], name: str) -> str | None:
    """The key of ``container`` that is ``name`` ignoring case: the exact spelling first; None if absent."""
    if name in container:
        return name
    folded = fold(name)
    for key in container:
        if isinstance(key, str) and fold(key) == folded:
            return key
    return None


def member(container: Any, name: str) -> Any:
    """The value under ``name`` (any case) when ``container`` is a mapping holding it, else None."""
    if not isinstance(container, Mapping):
        return None
    key = find_key(container, name)
    return None if key is None else container[key]


def named(items: Iterable[T], name: str, key: Callable[[T], str]) -> T | None:
    """The first of ``items`` whose ``key(item)`` is ``name`` ignoring case, or None."""
    folded = fold(name)
    for item in items:
        if fold(key(item)) == folded:
            return item
    return None
