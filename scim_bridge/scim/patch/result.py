"""What a PATCH did: the patched resource, the paths that changed, and the values added and removed.

:class:`PatchResult` is how the service layer learns what to write upstream.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scim_bridge.scim.elements import Watcher
from scim_bridge.scim.elements import value_key
from scim_bridge.scim.paths import find_key
from scim_bridge.scim.paths import member
from scim_bridge.scim.paths import same_name
from scim_bridge.scim.schema import COMPLEX
from scim_bridge.scim.schema import STRING
from scim_bridge.scim.schema import Attribute
from scim_bridge.scim.schema import AttributePath
from scim_bridge.scim.schema import ResourceType


@dataclass(frozen=True, slots=True)
class ValueChanges:
    """The net change of one multi-valued attribute's values (the ``value`` strings of its elements).

    ``added``: values the resource did not hold before the PATCH and holds after it; ``removed``: the reverse.
    Each in the order the operations first touched it. A value added and removed again by the same request
    (or removed and added back) is in neither.
    """

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.removed)


NO_CHANGES = ValueChanges()


@dataclass(frozen=True)
class PatchResult:
    """What a PATCH did.

    ``resource``: the patched resource. ``changed``: the canonical paths whose values changed
    (``name.givenName``, ``emails``, ``members``, ``urn:...:User:manager``); empty when the PATCH changed
    nothing. ``values``: for every multi-valued complex attribute with a string ``value`` sub-attribute that
    the operations touched (``members``, ``emails``, ...), keyed by its canonical path, the values added and
    removed: recorded while the operations ran, so nobody needs to compare the documents again.
    ``ignored``: paths and keys naming attributes the resource type does not have (see the package notes).
    """

    resource: dict[str, Any]
    changed: tuple[str, ...]
    values: Mapping[str, ValueChanges] = dataclasses.field(default_factory=dict)
    ignored: tuple[str, ...] = ()

    @property
    def modified(self) -> bool:
        return bool(self.changed)

    def changes_of(self, attribute: str = "members") -> ValueChanges:
        """The values added to and removed from ``attribute`` (its canonical path, in any case)."""
        found = self.values.get(attribute)
        if found is None:
            key = find_key(self.values, attribute)
            found = NO_CHANGES if key is None else self.values[key]
        return found

    def values_added(self, attribute: str = "members") -> list[str]:
        """The ``value`` of each element of ``attribute`` the PATCH added (e.g. the user ids of new members)."""
        return list(self.changes_of(attribute).added)

    def values_removed(self, attribute: str = "members") -> list[str]:
        """The ``value`` of each element of ``attribute`` the PATCH removed (e.g. the user ids of old members)."""
        return list(self.changes_of(attribute).removed)


def value_sub(attribute: Attribute) -> Attribute | None:
    """The string ``value`` sub-attribute of a multi-valued complex attribute whose values are tracked."""
    if attribute.type != COMPLEX or not attribute.multi_valued:
        return None
    sub = attribute.sub("value")
    return sub if sub is not None and sub.type == STRING else None


def values_by_key(attribute: Attribute, elements: Any) -> dict[str, str]:
    """``{comparison key: value}`` of the elements' string values (first spelling wins)."""
    sub = value_sub(attribute)
    found: dict[str, str] = {}
    if sub is None or not isinstance(elements, list):
        return found
    for element in elements:
        value = member(element, "value")
        if isinstance(value, str) and value:
            found.setdefault(value_key(sub, value), value)
    return found


def value_changes(attribute: Attribute, before: Any, after: Any) -> ValueChanges:
    """The values of ``attribute`` that ``after`` (a list of elements) adds to and removes from ``before``.

    For a request that replaces a whole resource (PUT), where there are no operations to follow.
    """
    ledger = ValueLedger()
    ledger.compare("", attribute, values_by_key(attribute, before), after)
    return ledger.changes().get("", NO_CHANGES)


class ValueLedger:
    """Follows, while the operations run, which values appear in and vanish from each tracked attribute.

    Per attribute and value it keeps whether the value was there before the first operation that touched it
    and whether it is there now; :meth:`changes` reports the difference. The roster of a large group reports
    each member it adds or drops (:class:`~scim_bridge.scim.elements.Roster`), so the ledger costs O(1) per
    member named; operations on the whole list report the list before and after.
    """

    def __init__(self) -> None:
        # attribute path -> comparison key -> [there before, there now, value]
        self._entries: dict[str, dict[str, list[Any]]] = {}

    def note(self, label: str, key: str, value: str, present: bool) -> None:
        """``value`` (compared as ``key``) appeared in (``present``) or vanished from attribute ``label``."""
        entries = self._entries.setdefault(label, {})
        entry = entries.get(key)
        if entry is None:
            entries[key] = [not present, present, value]
        else:
            entry[1] = present
            entry[2] = value

    def watcher(self, label: str) -> Watcher:
        """A callback for :class:`~scim_bridge.scim.elements.Roster` noting changes of attribute ``label``."""
        return lambda key, value, present: self.note(label, key, value, present)

    def compare(self, label: str, attribute: Attribute, before: Mapping[str, str], after: Any) -> None:
        """Note what one operation did to the whole list: ``before`` from :func:`values_by_key`, ``after``
        the elements now held."""
        now = values_by_key(attribute, after)
        for key, value in before.items():
            if key not in now:
                self.note(label, key, value, False)
        for key, value in now.items():
            if key not in before:
                self.note(label, key, value, True)

    def changes(self) -> dict[str, ValueChanges]:
        """The net changes per attribute path; attributes with none are left out."""
        found: dict[str, ValueChanges] = {}
        for label, entries in self._entries.items():
            added = tuple(value for was, now, value in entries.values() if now and not was)
            removed = tuple(value for was, now, value in entries.values() if was and not now)
            if added or removed:
                found[label] = ValueChanges(added, removed)
        return found


def sync_schemas(before: Mapping[str, Any], resource: dict[str, Any], resource_type: ResourceType) -> None:
    """``schemas`` lists an extension the PATCH filled and drops one it emptied (RFC 7643 §3)."""
    schemas = resource.get("schemas")
    if not isinstance(schemas, list):
        return
    for urn in resource_type.extension_urns():
        if member(before, urn) == resource.get(urn):
            continue
        listed = [entry for entry in schemas if isinstance(entry, str) and same_name(entry, urn)]
        if resource.get(urn) and not listed:
            schemas.append(urn)
        elif not resource.get(urn):
            for entry in listed:
                schemas.remove(entry)


def changed_paths(
    before: Mapping[str, Any], after: Mapping[str, Any], resource_type: ResourceType
) -> tuple[str, ...]:
    changed: list[str] = []
    for schema in resource_type.schemas:
        extension = schema is not resource_type.schema
        old_scope = _scope(before, schema.id) if extension else before
        new_scope = _scope(after, schema.id) if extension else after
        for attribute in schema.attributes:
            old = member(old_scope, attribute.name)
            new = member(new_scope, attribute.name)
            if old == new:
                continue
            path = AttributePath(schema.id, attribute, None, extension)
            if attribute.type == COMPLEX and not attribute.multi_valued:
                changed.extend(_changed_subs(path, old, new))
            else:
                changed.append(path.dotted())
    return tuple(changed)


def _scope(resource: Mapping[str, Any], urn: str) -> Mapping[str, Any]:
    value = member(resource, urn)
    return value if isinstance(value, Mapping) else {}


def _changed_subs(path: AttributePath, old: Any, new: Any) -> list[str]:
    old_map = old if isinstance(old, Mapping) else {}
    new_map = new if isinstance(new, Mapping) else {}
    return [
        dataclasses.replace(path, sub_attribute=sub).dotted()
        for sub in path.attribute.sub_attributes
        if member(old_map, sub.name) != member(new_map, sub.name)
    ]

