"""Applying PATCH operations (RFC 7644 §3.5.2) in order to a copy of a resource, all or nothing."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

from scim_bridge.scim.elements import Roster
from scim_bridge.scim.errors import InvalidPath
from scim_bridge.scim.errors import InvalidValue
from scim_bridge.scim.errors import Mutability
from scim_bridge.scim.errors import NoTarget
from scim_bridge.scim.patch.path import PatchPath
from scim_bridge.scim.patch.path import UnknownAttribute
from scim_bridge.scim.patch.path import parse_patch_path
from scim_bridge.scim.patch.request import OpName
from scim_bridge.scim.patch.request import PatchOperation
from scim_bridge.scim.patch.request import parse_operation
from scim_bridge.scim.patch.result import PatchResult
from scim_bridge.scim.patch.result import ValueLedger
from scim_bridge.scim.patch.result import changed_paths
from scim_bridge.scim.patch.result import sync_schemas
from scim_bridge.scim.patch.result import value_sub
from scim_bridge.scim.patch.result import values_by_key
from scim_bridge.scim.patch.targets import EverySubTarget
from scim_bridge.scim.patch.targets import FilteredTarget
from scim_bridge.scim.patch.targets import MultiTarget
from scim_bridge.scim.patch.targets import SingleTarget
from scim_bridge.scim.patch.targets import SubTarget
from scim_bridge.scim.patch.values import as_list
from scim_bridge.scim.patch.values import set_value
from scim_bridge.scim.paths import find_key
from scim_bridge.scim.paths import member
from scim_bridge.scim.paths import same_name
from scim_bridge.scim.payloads import is_empty
from scim_bridge.scim.payloads import load_attribute_value
from scim_bridge.scim.schema import Attribute
from scim_bridge.scim.schema import AttributePath
from scim_bridge.scim.schema import ResourceType
from scim_bridge.scim.schema import Schema
from scim_bridge.scim.unknown import unknown_in_value


def apply_patch(
    resource: Mapping[str, Any],
    operations: Sequence[PatchOperation | Mapping[str, Any]],
    resource_type: ResourceType,
) -> PatchResult:
    """Apply ``operations`` in order to a copy of ``resource`` (RFC 7644 §3.5.2, atomic).

    ``operations`` are :class:`PatchOperation` objects or raw operation objects from the request.
    Raises a ScimError (nothing applied, input untouched) when any operation is invalid.
    """
    parsed = [parse_operation(operation) for operation in operations]
    original = dict(resource)  # never written to: every change goes to the deep copy
    working = copy.deepcopy(original)
    ignored: list[str] = []
    applier = _Applier(working, resource_type, ignored)
    for operation in parsed:
        applier.apply(operation)
    applier.settle()
    sync_schemas(original, working, resource_type)
    return PatchResult(
        resource=working, changed=changed_paths(original, working, resource_type),
        values=applier.ledger.changes(), ignored=tuple(dict.fromkeys(ignored)),
    )


class _Applier:
    """Applies the operations, one by one, to the working copy of a resource.

    Member-like attributes (see :class:`Roster`) stay indexed from one operation to the next, so an operation
    naming one member costs O(1), not a pass over the roster; the attribute is written back before any
    operation that needs the plain list, and by :meth:`settle` at the end. The :class:`ValueLedger` hears of
    every value added to or removed from an attribute with ``value`` strings (group ``members``), from the
    roster one member at a time, or from a comparison of the list before and after any other operation.
    """

    def __init__(self, resource: dict[str, Any], resource_type: ResourceType, ignored: list[str]) -> None:
        self.resource = resource
        self.resource_type = resource_type
        self.ignored = ignored
        self.rosters: dict[tuple[int, str], tuple[dict[str, Any], Roster]] = {}
        self.ledger = ValueLedger()

    def _resolve(self, text: str) -> PatchPath | None:
        """The path resolved, or None (and recorded as ignored) when it names an unknown attribute."""
        try:
            return parse_patch_path(text, self.resource_type)
        except UnknownAttribute:
            self.ignored.append(text)
            return None

    def apply(self, operation: PatchOperation) -> None:
        if operation.path is None:
            self._pathless(operation)
            return
        extension = self.resource_type.schema_by_urn(operation.path.strip())
        if extension is not None:
            self._whole_schema(operation, extension)
            return
        path = self._resolve(operation.path)
        if path is not None:
            self._at_path(operation.op, path, operation.value, operation.has_value)

    # ---- pathless and whole-extension operations (RFC 7644 §3.5.2.1, §3.5.2.3) -----------------

    def _pathless(self, operation: PatchOperation) -> None:
        if operation.op == "remove":
            raise NoTarget("'remove' requires a 'path' (RFC 7644 §3.5.2.2).")
        if not isinstance(operation.value, Mapping):
            raise InvalidValue(f"A '{operation.op}' without 'path' needs an object of attributes as value.")
        for key, value in _attributes(operation.value):
            schema = self.resource_type.schema_by_urn(key)
            if schema is not None:
                self._whole_schema(PatchOperation(operation.op, key, value, True), schema)
                continue
            path = self._resolve(key)
            if path is not None:
                self._at_path(operation.op, path, value, True)

    def _whole_schema(self, operation: PatchOperation, schema: Schema) -> None:
        if operation.op == "remove":
            if schema is self.resource_type.schema:
                raise Mutability("The core schema of a resource cannot be removed.")
            key = find_key(self.resource, schema.id)
            if key is not None:
                gone = self.resource.pop(key)
                for attribute in schema.attributes:
                    label = AttributePath(schema.id, attribute, None, True).dotted()
                    self.ledger.compare(label, attribute, values_by_key(attribute, member(gone, attribute.name)), [])
            return
        if not isinstance(operation.value, Mapping):
            raise InvalidValue(f"The value for '{schema.id}' must be an object of its attributes.")
        for key, value in _attributes(operation.value):
            path = self._resolve(f"{schema.id}:{key}")
            if path is not None:
                self._at_path(operation.op, path, value, True)

    # ---- operations with a path ------------------------------------------------------------------

    def settle(self) -> None:
        """Write every indexed attribute back into the resource."""
        for container, roster in self.rosters.values():
            set_value(container, roster.attribute.name, roster.elements())
        self.rosters.clear()

    def _indexed(self, op: OpName, path: PatchPath, container: dict[str, Any], value: Any, has_value: bool) -> bool:
        """Apply a member operation through the attribute's :class:`Roster`; False when it needs the list."""
        if path.extension or path.sub_attribute is not None or not path.attribute.multi_valued:
            return False
        slot = (id(container), path.attribute.name)
        if slot not in self.rosters:
            label = _label(path)
            roster = Roster.of(path.attribute, member(container, path.attribute.name), self.ledger.watcher(label))
            if roster is None:
                return False
            self.rosters[slot] = (container, roster)
        roster = self.rosters[slot][1]
        if path.filter is not None:
            wanted = path.filter.value_equality()
            if op != "remove" or wanted is None:
                return False
            roster.remove_value(wanted)
            return True
        if op == "replace" or not has_value or is_empty(value):
            return False
        loaded = load_attribute_value(path.attribute, as_list(value), path.dotted())
        loaded = list(loaded) if isinstance(loaded, list) else []
        return roster.add(loaded) if op == "add" else roster.remove_equal(loaded)

    def _write_back(self, container: dict[str, Any], attribute: Attribute) -> None:
        held = self.rosters.pop((id(container), attribute.name), None)
        if held is not None:
            set_value(container, attribute.name, held[1].elements())

    def _at_path(self, op: OpName, path: PatchPath, value: Any, has_value: bool) -> None:
        attribute = path.attribute
        if has_value and path.sub_attribute is None:
            self.ignored.extend(unknown_in_value(attribute, value, path.dotted()))
        container = self._container(path, create=op != "remove")
        if container is None:
            return
        if self._indexed(op, path, container, value, has_value):
            return
        self._write_back(container, attribute)
        tracked = value_sub(attribute) is not None
        before = values_by_key(attribute, member(container, attribute.name)) if tracked else {}
        self._apply_target(op, path, container, value, has_value)
        if tracked:
            self.ledger.compare(_label(path), attribute, before, member(container, attribute.name))
        self._drop_empty_extension(path)

    @staticmethod
    def _apply_target(op: OpName, path: PatchPath, container: dict[str, Any], value: Any, has_value: bool) -> None:
        attribute = path.attribute
        if path.filter is not None:
            FilteredTarget(container, path).apply(op, value, has_value)
        elif path.sub_attribute is not None and attribute.multi_valued:
            EverySubTarget(container, path).apply(op, value)
        elif path.sub_attribute is not None:
            SubTarget(container, path).apply(op, value)
        elif attribute.multi_valued:
            MultiTarget(container, path).apply(op, value, has_value)
        else:
            SingleTarget(container, path).apply(op, value)

    def _container(self, path: PatchPath, *, create: bool) -> dict[str, Any] | None:
        if not path.extension:
            return self.resource
        key = find_key(self.resource, path.schema)
        if key is None:
            if not create:
                return None
            self.resource[path.schema] = {}
        elif key != path.schema:
            self.resource[path.schema] = self.resource.pop(key)
        container = self.resource[path.schema]
        if not isinstance(container, dict):
            container = self.resource[path.schema] = {}
        return container

    def _drop_empty_extension(self, path: PatchPath) -> None:
        if path.extension and not self.resource.get(path.schema):
            self.resource.pop(path.schema, None)


def _label(path: PatchPath) -> str:
    """The canonical path of the attribute itself (``members``, ``urn:...:User:tags``), as results name it."""
    return AttributePath(path.schema, path.attribute, None, path.extension).dotted()


def _attributes(value: Mapping[Any, Any]) -> Iterator[tuple[str, Any]]:
    """The keys and values of an object of attributes, without ``schemas`` (an extension object may be
    serialised with its own schemas list)."""
    for key, item in value.items():
        if not isinstance(key, str):
            raise InvalidPath(f"Invalid attribute name {key!r}.")
        if not same_name(key, "schemas"):
            yield key, item
