"""SCIM PATCH (RFC 7644 §3.5.2) applied to resources in wire form.

Everything the provisioning clients send is accepted: capitalised ``op`` values, pathless ``add`` and
``replace`` with plain, dotted (``name.givenName``) and full-URN keys, value-path filters
(``emails[type eq "work"].value``, ``members[value eq "id"]``), member removal by value list, and
string booleans. Operations are atomic: the input resource is never mutated, and the first failing
operation raises a :class:`~scim_bridge.scim.errors.ScimError` with nothing applied.

Deliberate choices, each a documented deviation from or reading of the RFC:

* ``add`` and ``replace`` whose value filter matches no element *create* the element, built from the
  filter's ``eq`` comparisons plus the value (Entra sends these for attributes it never set; the RFC's
  ``noTarget`` would abort the whole atomic request). Without any ``eq`` comparison, ``noTarget``.
* ``replace`` of an element selected by a filter keeps the filter's ``eq`` attributes, so
  ``emails[type eq "work"]`` stays a work address.
* ``remove`` whose filter matches nothing is a no-op (idempotent member removal).
* ``remove`` of a required attribute answers ``mutability``; setting it to null or "" answers
  ``invalidValue``.
* ``add``/``replace`` with null or "" clears a single-valued attribute; ``replace`` with null or ``[]``
  clears a multi-valued one (Entra's null/empty update test).
* A single object or string given for a multi-valued attribute is read as a one-element list.
* A path (or pathless key) naming an attribute, sub-attribute or schema the resource type does not have
  is ignored, as POST and PUT ignore such attributes (:mod:`scim_bridge.scim.unknown`); the result lists
  it in ``ignored``. A malformed path is ``invalidPath``; a bad filter inside ``[...]`` is ``invalidFilter``
  (RFC 7644 §3.12 lists it for PATCH path filters). Filters are parsed and evaluated by
  :mod:`scim_bridge.scim.filters`.
* readOnly attributes and immutable sub-attributes may be "set" to their current value (Okta sends the
  group ``id`` in its rename); any other value is ``mutability``. readOnly sub-attributes inside element
  values (``members.display``) are dropped silently.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from typing import Literal

from scim_bridge.scim.elements import READ_ONLY
from scim_bridge.scim.elements import ElementMerger
from scim_bridge.scim.elements import Roster
from scim_bridge.scim.errors import InvalidPath
from scim_bridge.scim.errors import InvalidSyntax
from scim_bridge.scim.errors import InvalidValue
from scim_bridge.scim.errors import Mutability
from scim_bridge.scim.errors import NoTarget
from scim_bridge.scim.errors import TooMany
from scim_bridge.scim.filters import And
from scim_bridge.scim.filters import Compare
from scim_bridge.scim.filters import FilterNode
from scim_bridge.scim.filters import ValuePath
from scim_bridge.scim.filters import comparable
from scim_bridge.scim.filters import matches
from scim_bridge.scim.filters import parse_filter
from scim_bridge.scim.payloads import coerce_boolean
from scim_bridge.scim.payloads import find_key
from scim_bridge.scim.payloads import is_empty
from scim_bridge.scim.payloads import load_attribute_value
from scim_bridge.scim.payloads import prune
from scim_bridge.scim.schema import BOOLEAN
from scim_bridge.scim.schema import COMPLEX
from scim_bridge.scim.schema import PATCH_OP
from scim_bridge.scim.schema import Attribute
from scim_bridge.scim.schema import AttributePath
from scim_bridge.scim.schema import ResourceType
from scim_bridge.scim.schema import Schema
from scim_bridge.scim.unknown import unknown_in_value

OpName = Literal["add", "replace", "remove"]
OPS: tuple[OpName, ...] = ("add", "replace", "remove")
DEFAULT_MAX_OPERATIONS = 1000
IMMUTABLE = "immutable"

__all__ = [
    "DEFAULT_MAX_OPERATIONS",
    "ElementFilter",
    "PatchOperation",
    "PatchPath",
    "PatchResult",
    "UnknownAttribute",
    "apply_patch",
    "parse_element_filter",
    "parse_operation",
    "parse_patch_path",
    "parse_patch_request",
]


# ==================================================================================================
# Request parsing (RFC 7644 §3.5.2).
# ==================================================================================================


@dataclass(frozen=True)
class PatchOperation:
    """One entry of ``Operations``: ``op`` lower-cased, ``path`` as sent, ``value`` when present."""

    op: OpName
    path: str | None = None
    value: Any = None
    has_value: bool = False


def parse_patch_request(body: Any, *, max_operations: int = DEFAULT_MAX_OPERATIONS) -> list[PatchOperation]:
    """Validate a PatchOp message (RFC 7644 §3.5.2) and return its operations.

    ``schemas`` must name the PatchOp URN (any case) and ``Operations`` must be a non-empty list of at
    most ``max_operations`` operation objects (400 ``tooMany`` above that).
    """
    if not isinstance(body, Mapping):
        raise InvalidSyntax("The PATCH body must be a JSON object.")
    schemas = _member(body, "schemas")
    if not isinstance(schemas, list) or not any(
        isinstance(urn, str) and urn.lower() == PATCH_OP.lower() for urn in schemas
    ):
        raise InvalidSyntax(f"The PATCH body must have schemas ['{PATCH_OP}'].")
    operations = _member(body, "Operations")
    if not isinstance(operations, list):
        raise InvalidSyntax("The PATCH body must have an 'Operations' list.")
    if not operations:
        raise InvalidValue("'Operations' must contain at least one operation.")
    if len(operations) > max_operations:
        raise TooMany(f"A PATCH request may carry at most {max_operations} operations.")
    return [parse_operation(operation) for operation in operations]


def parse_operation(raw: Any) -> PatchOperation:
    """Validate one operation object; ``op`` and member names are accepted in any case (Entra)."""
    if isinstance(raw, PatchOperation):
        return raw
    if not isinstance(raw, Mapping):
        raise InvalidSyntax("Each PATCH operation must be a JSON object.")
    op = _member(raw, "op")
    if not isinstance(op, str) or op.lower() not in OPS:
        raise InvalidSyntax(f"PATCH 'op' must be add, replace or remove, not {op!r}.")
    path = _member(raw, "path")
    if path is not None and not isinstance(path, str):
        raise InvalidPath("PATCH 'path' must be a string.")
    value_key = find_key(raw, "value")
    name: OpName = OPS[OPS.index(op.lower())]
    if value_key is None and name != "remove":
        raise InvalidValue(f"PATCH '{name}' requires a 'value'.")
    return PatchOperation(
        op=name,
        path=path if path and path.strip() else None,
        value=raw[value_key] if value_key is not None else None,
        has_value=value_key is not None,
    )


def _member(container: Mapping[str, Any], name: str) -> Any:
    key = find_key(container, name)
    return container[key] if key is not None else None


# ==================================================================================================
# Value filters inside PATCH paths (RFC 7644 §3.5.2 valuePath), over one element at a time.
# ==================================================================================================


@dataclass(frozen=True)
class ElementFilter:
    """The value filter of a PATCH path, over the elements of one multi-valued complex attribute.

    Parsing and evaluation are those of :mod:`scim_bridge.scim.filters`: ``attr[filter]`` is parsed as
    a value-path filter of the resource type, and one element is tested by evaluating it against a
    resource holding only that element.
    """

    text: str
    path: AttributePath
    node: ValuePath

    def matches(self, element: Any) -> bool:
        """Whether ``element`` (one JSON object of the attribute) satisfies the filter."""
        if not isinstance(element, Mapping):
            return False
        quick = self._simple_equality(element)
        if quick is not None:
            return quick
        holder: dict[str, Any] = {self.path.attribute.name: [dict(element)]}
        if self.path.extension:
            holder = {self.path.schema: holder}
        return matches(self.node, holder)

    def _simple_equality(self, element: Mapping[str, Any]) -> bool | None:
        """Fast path for the common ``sub eq "x"`` (member lookups on large groups); None otherwise."""
        node = self.node.filter
        if not isinstance(node, Compare) or node.op != "eq" or node.path.sub_attribute is None:
            return None
        target = node.path.sub_attribute
        actual = _get(element, target.name)
        if actual is None or isinstance(actual, list | dict):
            return None
        return bool(comparable(target, actual) == comparable(target, node.value))

    def value_equality(self) -> str | None:
        """``x`` when the filter is exactly ``value eq "x"`` (how IdPs name one member); None otherwise."""
        node = self.node.filter
        if isinstance(node, Compare) and node.op == "eq" and node.path.sub_attribute is not None \
                and node.path.sub_attribute.name == "value" and isinstance(node.value, str):
            return node.value
        return None

    def equalities(self) -> dict[str, Any]:
        """The ``eq`` comparisons joined by ``and`` at the top: the attributes of a created element."""
        found: dict[str, Any] = {}
        _collect_equalities(self.node.filter, found)
        return found


def parse_element_filter(text: str, path: AttributePath, resource_type: ResourceType) -> ElementFilter:
    """Parse the bracketed filter of ``path[text]``; names inside are sub-attributes of ``path``.

    Errors in the filter itself are ``invalidFilter`` (RFC 7644 §3.12 lists it for PATCH path filters).
    """
    node = parse_filter(f"{path.dotted()}[{text}]", resource_type)
    if not isinstance(node, ValuePath) or node.path.attribute != path.attribute:
        raise InvalidPath(f"Malformed value filter '[{text}]'.")
    return ElementFilter(text=text, path=path, node=node)


def _collect_equalities(node: FilterNode, found: dict[str, Any]) -> None:
    if isinstance(node, And):
        _collect_equalities(node.left, found)
        _collect_equalities(node.right, found)
    elif isinstance(node, Compare) and node.op == "eq" and node.path.sub_attribute is not None:
        found[node.path.sub_attribute.name] = node.value


def _maybe_boolean(value: Any) -> Any:
    try:
        return coerce_boolean(value, ValueError())
    except ValueError:
        return value


# ==================================================================================================
# PATCH paths (RFC 7644 §3.5.2: PATH = attrPath / valuePath [subAttr]).
# ==================================================================================================


class UnknownAttribute(InvalidPath):
    """The path is well formed but names an attribute, sub-attribute or schema the resource type lacks."""

_NAME = re.compile(r"[A-Za-z$][\w$-]*")


@dataclass(frozen=True)
class PatchPath:
    """A resolved PATCH path: ``attr``, ``attr.sub``, ``attr[filter]`` or ``attr[filter].sub``."""

    text: str
    schema: str
    extension: bool
    attribute: Attribute
    filter: ElementFilter | None = None
    sub_attribute: Attribute | None = None

    @property
    def target(self) -> Attribute:
        return self.sub_attribute or self.attribute

    def dotted(self) -> str:
        """The canonical spelling of the attribute part, e.g. ``emails.value`` or ``urn:...:manager``."""
        return AttributePath(self.schema, self.attribute, self.sub_attribute, self.extension).dotted()


def parse_patch_path(text: str, resource_type: ResourceType) -> PatchPath:
    """Parse and resolve a PATCH path against the attribute table; anything else is ``invalidPath``."""
    schema, rest = _split_urn(text.strip(), resource_type, text)
    match = _NAME.match(rest)
    if match is None:
        raise InvalidPath(f"Malformed path '{text}'.")
    attribute = schema.attribute(match.group())
    if attribute is None:
        raise UnknownAttribute(f"Unknown attribute '{match.group()}' in path '{text}'.")
    rest = rest[match.end() :]
    element_filter = None
    if rest.startswith("["):
        filter_text, rest = _bracketed(rest, text)
        if attribute.type != COMPLEX or not attribute.multi_valued:
            raise InvalidPath(f"'{attribute.name}' is not multi-valued and complex: no filter allowed.")
        attribute_path = AttributePath(schema.id, attribute, None, schema is not resource_type.schema)
        element_filter = parse_element_filter(filter_text, attribute_path, resource_type)
    sub = _sub_attribute(rest, attribute, text)
    return PatchPath(
        text=text,
        schema=schema.id,
        extension=schema is not resource_type.schema,
        attribute=attribute,
        filter=element_filter,
        sub_attribute=sub,
    )


def _split_urn(text: str, resource_type: ResourceType, original: str) -> tuple[Schema, str]:
    lowered = text.lower()
    for schema in resource_type.schemas:
        if lowered.startswith(schema.id.lower() + ":"):
            return schema, text[len(schema.id) + 1 :]
    if lowered.startswith("urn:"):
        raise UnknownAttribute(f"Path '{original}' names a schema that {resource_type.id} does not have.")
    return resource_type.schema, text


def _bracketed(rest: str, original: str) -> tuple[str, str]:
    """Split ``[filter]tail`` at the closing bracket that is outside any quoted string."""
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
    raise InvalidPath(f"Unclosed '[' in path '{original}'.")


def _sub_attribute(rest: str, attribute: Attribute, original: str) -> Attribute | None:
    if not rest:
        return None
    match = _NAME.fullmatch(rest[1:]) if rest.startswith(".") else None
    if match is None:
        raise InvalidPath(f"Malformed path '{original}'.")
    sub = attribute.sub(match.group()) if attribute.type == COMPLEX else None
    if sub is None:
        raise UnknownAttribute(f"Unknown sub-attribute '{match.group()}' in path '{original}'.")
    return sub


# ==================================================================================================
# Applying operations.
# ==================================================================================================


@dataclass(frozen=True)
class PatchResult:
    """The patched resource and the canonical paths whose values changed (``name.givenName``,
    ``emails``, ``members``, ``urn:...:User:manager``); empty when the PATCH changed nothing."""

    resource: dict[str, Any]
    changed: tuple[str, ...]
    original: dict[str, Any] = dataclasses.field(repr=False, compare=False, default_factory=dict)
    # Paths and keys naming attributes the resource type does not have: ignored (see the module notes).
    ignored: tuple[str, ...] = ()

    @property
    def modified(self) -> bool:
        return bool(self.changed)

    def values_added(self, attribute: str = "members") -> list[str]:
        """``value`` of the elements of a multi-valued attribute present now but not before."""
        before = set(_element_values(self.original, attribute))
        return [value for value in _element_values(self.resource, attribute) if value not in before]

    def values_removed(self, attribute: str = "members") -> list[str]:
        """``value`` of the elements of a multi-valued attribute present before but not now."""
        after = set(_element_values(self.resource, attribute))
        return [value for value in _element_values(self.original, attribute) if value not in after]


def _element_values(resource: Mapping[str, Any], attribute: str) -> list[str]:
    elements = resource.get(attribute) or []
    return [
        element["value"]
        for element in elements
        if isinstance(element, Mapping) and isinstance(element.get("value"), str)
    ]


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
    _sync_schemas(original, working, resource_type)
    return PatchResult(
        resource=working, changed=_changed_paths(original, working, resource_type), original=original,
        ignored=tuple(dict.fromkeys(ignored)),
    )


class _Applier:
    """Applies the operations, one by one, to the working copy of a resource.

    Member-like attributes (see :class:`Roster`) stay indexed from one operation to the next, so an operation
    naming one member costs O(1), not a pass over the roster; the attribute is written back before any
    operation that needs the plain list, and by :meth:`settle` at the end.
    """

    def __init__(self, resource: dict[str, Any], resource_type: ResourceType, ignored: list[str]) -> None:
        self.resource = resource
        self.resource_type = resource_type
        self.ignored = ignored
        self.rosters: dict[tuple[int, str], tuple[dict[str, Any], Roster]] = {}

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
        for key, value in operation.value.items():
            if not isinstance(key, str):
                raise InvalidPath(f"Invalid attribute name {key!r}.")
            if key.lower() == "schemas":
                continue
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
                del self.resource[key]
            return
        if not isinstance(operation.value, Mapping):
            raise InvalidValue(f"The value for '{schema.id}' must be an object of its attributes.")
        for key, value in operation.value.items():
            if not isinstance(key, str):
                raise InvalidPath(f"Invalid attribute name {key!r}.")
            if key.lower() == "schemas":
                continue  # an extension object serialised with its own schemas list
            path = self._resolve(f"{schema.id}:{key}")
            if path is not None:
                self._at_path(operation.op, path, value, True)

    # ---- operations with a path ------------------------------------------------------------------

    def settle(self) -> None:
        """Write every indexed attribute back into the resource."""
        for container, roster in self.rosters.values():
            _set(container, roster.attribute.name, roster.elements())
        self.rosters.clear()

    def _indexed(self, op: OpName, path: PatchPath, container: dict[str, Any], value: Any, has_value: bool) -> bool:
        """Apply a member operation through the attribute's :class:`Roster`; False when it needs the list."""
        if path.extension or path.sub_attribute is not None or not path.attribute.multi_valued:
            return False
        slot = (id(container), path.attribute.name)
        if slot not in self.rosters:
            roster = Roster.of(path.attribute, _get(container, path.attribute.name))
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
        loaded = _load(path.attribute, _as_list(value), path.dotted())
        loaded = list(loaded) if isinstance(loaded, list) else []
        return roster.add(loaded) if op == "add" else roster.remove_equal(loaded)

    def _write_back(self, container: dict[str, Any], attribute: Attribute) -> None:
        held = self.rosters.pop((id(container), attribute.name), None)
        if held is not None:
            _set(container, attribute.name, held[1].elements())

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
        if path.filter is not None:
            _FilteredTarget(container, path).apply(op, value, has_value)
        elif path.sub_attribute is not None and attribute.multi_valued:
            _EverySubTarget(container, path).apply(op, value)
        elif path.sub_attribute is not None:
            _SubTarget(container, path).apply(op, value)
        elif attribute.multi_valued:
            _MultiTarget(container, path).apply(op, value, has_value)
        else:
            _SingleTarget(container, path).apply(op, value)
        self._drop_empty_extension(path)

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


# ---- shared helpers for the targets ----------------------------------------------------------------


def _get(container: Mapping[str, Any], name: str) -> Any:
    key = find_key(container, name)
    return container[key] if key is not None else None


def _set(container: dict[str, Any], name: str, value: Any) -> None:
    """Store under the canonical ``name`` (other spellings dropped, order kept); empty values unset it."""
    lowered = name.lower()
    for key in [key for key in container if key != name and key.lower() == lowered]:
        del container[key]
    if is_empty(value):
        container.pop(name, None)
    else:
        container[name] = value


def _load(attribute: Attribute, value: Any, path: str) -> Any:
    """Validate a value for ``attribute`` (one element when given a multi-valued attribute's element)."""
    return load_attribute_value(attribute, value, path)


def _element_attribute(attribute: Attribute) -> Attribute:
    """The attribute describing one element of a multi-valued attribute."""
    return dataclasses.replace(attribute, multi_valued=False, required=False)


def _as_list(value: Any) -> list[Any]:
    """Read a lone element as a one-element list (lenient reading of RFC 7644 §3.5.2.1)."""
    return list(value) if isinstance(value, list) else [value]


def _same_as_current(attribute: Attribute, value: Any, current: Any) -> bool:
    """Whether ``value`` for a readOnly/immutable attribute merely repeats ``current``."""
    if attribute.type == BOOLEAN and not attribute.multi_valued:
        value = _maybe_boolean(value)
    if isinstance(value, str) and isinstance(current, str) and not attribute.case_exact:
        return value.lower() == current.lower()
    return bool(prune(copy.deepcopy(value)) == prune(copy.deepcopy(current)))


def _guard_read_only(attribute: Attribute, value: Any, current: Any, path: str) -> bool:
    """True when the write must be skipped (same value); raises ``mutability`` for a different one."""
    if attribute.mutability != READ_ONLY:
        return False
    if _same_as_current(attribute, value, current):
        return True
    raise Mutability(f"Attribute '{path}' is readOnly.")


def _guard_immutable(attribute: Attribute, value: Any, current: Any, path: str) -> bool:
    """Immutable values may be set once (RFC 7643 §7); True when the write repeats the current value."""
    if attribute.mutability == IMMUTABLE and not is_empty(current):
        if _same_as_current(attribute, value, current):
            return True
        raise Mutability(f"Attribute '{path}' is immutable.")
    return _guard_read_only(attribute, value, current, path)


def _guard_removal(attribute: Attribute, current: Any, path: str) -> None:
    if attribute.required:
        raise Mutability(f"Attribute '{path}' is required and cannot be removed.")
    if attribute.mutability in (READ_ONLY, IMMUTABLE) and not is_empty(current):
        raise Mutability(f"Attribute '{path}' is {attribute.mutability} and cannot be removed.")


def _explicit_clears(attribute: Attribute, value: Any) -> set[str]:
    """Canonical names of sub-attributes given as null or "" in a complex value (to be unset)."""
    if not isinstance(value, Mapping):
        return set()
    names: set[str] = set()
    for key, item in value.items():
        sub = attribute.sub(key) if isinstance(key, str) else None
        if sub is not None and is_empty(item) and sub.mutability != READ_ONLY:
            names.add(sub.name)
    return names


def _merge_complex(attribute: Attribute, current: Any, value: Any, path: str) -> dict[str, Any]:
    """RFC 7644 §3.5.2.1/§3.5.2.3: given sub-attributes replace, others stay; null/"" ones are unset."""
    base = dict(current) if isinstance(current, Mapping) else {}
    for sub in attribute.sub_attributes:
        raw = _get(value, sub.name) if isinstance(value, Mapping) else None
        if sub.mutability == IMMUTABLE and raw is not None:
            _guard_immutable(sub, raw, _get(base, sub.name), f"{path}.{sub.name}")
    loaded = _load(attribute, value, path) or {}
    for name in _explicit_clears(attribute, value):
        _set(base, name, None)
    for name, item in loaded.items():
        _set(base, name, item)
    return base


# ---- targets --------------------------------------------------------------------------------------


class _SingleTarget:
    """A single-valued attribute: ``userName``, ``active``, ``name``, ``urn:...:manager``."""

    def __init__(self, container: dict[str, Any], path: PatchPath) -> None:
        self.container = container
        self.path = path
        self.attribute = path.attribute
        self.label = path.dotted()

    def apply(self, op: OpName, value: Any) -> None:
        current = _get(self.container, self.attribute.name)
        if op == "remove":
            _guard_removal(self.attribute, current, self.label)
            _set(self.container, self.attribute.name, None)
            return
        if _guard_read_only(self.attribute, value, current, self.label):
            return
        if isinstance(value, list):
            raise InvalidValue(f"Attribute '{self.label}' is single-valued: a list is not allowed.")
        if is_empty(value) and not self.attribute.required:
            _set(self.container, self.attribute.name, None)
        elif self.attribute.type == COMPLEX and isinstance(value, Mapping):
            merged = _merge_complex(self.attribute, current, value, self.label)
            _set(self.container, self.attribute.name, merged)
        else:
            _set(self.container, self.attribute.name, _load(self.attribute, value, self.label))


class _SubTarget:
    """A sub-attribute of a single-valued complex attribute: ``name.givenName``, ``manager.value``."""

    def __init__(self, container: dict[str, Any], path: PatchPath) -> None:
        assert path.sub_attribute is not None
        self.container = container
        self.parent = path.attribute
        self.sub = path.sub_attribute
        self.label = path.dotted()

    def apply(self, op: OpName, value: Any) -> None:
        parent = _get(self.container, self.parent.name)
        element = dict(parent) if isinstance(parent, Mapping) else {}
        current = _get(element, self.sub.name)
        if op == "remove":
            _guard_removal(self.sub, current, self.label)
            _set(element, self.sub.name, None)
        elif self._guarded(value, current):
            return
        elif is_empty(value):
            _set(element, self.sub.name, None)
        else:
            _set(element, self.sub.name, _load(self.sub, value, self.label))
        _set(self.container, self.parent.name, element)

    def _guarded(self, value: Any, current: Any) -> bool:
        """True when the write repeats the current value of a readOnly/immutable sub-attribute."""
        if self.parent.mutability == READ_ONLY and not _same_as_current(self.sub, value, current):
            raise Mutability(f"Attribute '{self.label}' is readOnly.")
        return self.parent.mutability == READ_ONLY or _guard_immutable(self.sub, value, current, self.label)


class _MultiTarget:
    """A whole multi-valued attribute: ``emails``, ``members``, ``urn:...:User:tags``."""

    def __init__(self, container: dict[str, Any], path: PatchPath) -> None:
        self.container = container
        self.attribute = path.attribute
        self.label = path.dotted()

    def apply(self, op: OpName, value: Any, has_value: bool) -> None:
        current = _get(self.container, self.attribute.name)
        elements = list(current) if isinstance(current, list) else []
        if op == "remove":
            self._remove(elements, value, has_value)
            return
        if _guard_read_only(self.attribute, value, current, self.label):
            return
        if is_empty(value):
            if op == "replace":
                _set(self.container, self.attribute.name, None)
            return
        loaded = self._load_elements(value)
        if op == "replace":
            elements = []
        merger = ElementMerger(self.attribute, elements)
        touched = [merger.merge(element) for element in loaded]
        _enforce_single_primary(self.attribute, elements, touched)
        _set(self.container, self.attribute.name, elements)

    def _load_elements(self, value: Any) -> list[Any]:
        loaded = _load(self.attribute, _as_list(value), self.label)
        return list(loaded) if isinstance(loaded, list) else []

    def _remove(self, elements: list[Any], value: Any, has_value: bool) -> None:
        """Remove all values, or only those listed in ``value`` (Entra's default member removal)."""
        if not has_value or is_empty(value):
            _guard_removal(self.attribute, elements, self.label)
            _set(self.container, self.attribute.name, None)
            return
        if self.attribute.mutability == READ_ONLY:
            raise Mutability(f"Attribute '{self.label}' is readOnly.")
        doomed = ElementMerger(self.attribute, self._load_elements(value))
        kept = [element for element in elements if not doomed.contains(element)]
        _set(self.container, self.attribute.name, kept)


class _EverySubTarget:
    """A sub-attribute of every element, without a filter: ``emails.type``."""

    def __init__(self, container: dict[str, Any], path: PatchPath) -> None:
        assert path.sub_attribute is not None
        self.container = container
        self.attribute = path.attribute
        self.sub = path.sub_attribute
        self.label = path.dotted()

    def apply(self, op: OpName, value: Any) -> None:
        current = _get(self.container, self.attribute.name)
        if self.attribute.mutability == READ_ONLY:
            raise Mutability(f"Attribute '{self.label}' is readOnly.")
        elements = [dict(element) for element in current or [] if isinstance(element, Mapping)]
        if op != "remove" and not elements and not is_empty(value):
            elements = [{}]
        indexes = list(range(len(elements)))
        _update_subs(self.attribute, self.sub, elements, indexes, op, value, self.label)
        _enforce_single_primary(self.attribute, elements, indexes)
        _set(self.container, self.attribute.name, _without_hollow(self.attribute, elements))


class _FilteredTarget:
    """Elements selected by a value filter: ``emails[type eq "work"]``, ``members[value eq "id"]``,
    optionally narrowed to a sub-attribute: ``emails[type eq "work"].value``."""

    def __init__(self, container: dict[str, Any], path: PatchPath) -> None:
        assert path.filter is not None
        self.container = container
        self.attribute = path.attribute
        self.filter = path.filter
        self.sub = path.sub_attribute
        self.label = path.text

    def apply(self, op: OpName, value: Any, has_value: bool) -> None:
        if self.sub is None and isinstance(value, list) and len(value) == 1:
            value = value[0]
        if self.attribute.mutability == READ_ONLY:
            raise Mutability(f"Attribute '{self.attribute.name}' is readOnly.")
        current = _get(self.container, self.attribute.name)
        elements = [dict(element) for element in current or [] if isinstance(element, Mapping)]
        matched = [index for index, element in enumerate(elements) if self.filter.matches(element)]
        if op == "remove":
            self._remove(elements, matched)
        elif not matched:
            matched = self._create(elements, value)
        elif self.sub is not None:
            _update_subs(self.attribute, self.sub, elements, matched, op, value, self.label)
        else:
            self._update_elements(elements, matched, op, value)
        _enforce_single_primary(self.attribute, elements, matched if op != "remove" else [])
        _set(self.container, self.attribute.name, _without_hollow(self.attribute, elements))

    def _remove(self, elements: list[dict[str, Any]], matched: list[int]) -> None:
        if self.sub is None:
            elements[:] = [element for index, element in enumerate(elements) if index not in matched]
            return
        _update_subs(self.attribute, self.sub, elements, matched, "remove", None, self.label)

    def _create(self, elements: list[dict[str, Any]], value: Any) -> list[int]:
        """No element matches: build one from the filter's ``eq`` parts (Entra; see module notes)."""
        if is_empty(value):
            return []
        base = self.filter.equalities()
        if not base:
            raise NoTarget(f"No value of '{self.attribute.name}' matches [{self.filter.text}].")
        raw = {self.sub.name: value} if self.sub is not None else value
        if not isinstance(raw, Mapping):
            raise InvalidValue(f"The value for '{self.label}' must be an object.")
        element = _load(_element_attribute(self.attribute), {**base, **raw}, self.label) or {}
        elements.append(element)
        return [len(elements) - 1]

    def _update_elements(
        self, elements: list[dict[str, Any]], matched: list[int], op: OpName, value: Any
    ) -> None:
        if not isinstance(value, Mapping):
            raise InvalidValue(f"The value for '{self.label}' must be an object.")
        element_attribute = _element_attribute(self.attribute)
        for index in matched:
            old = elements[index]
            if op == "add":
                elements[index] = _merge_complex(element_attribute, old, value, self.label)
                continue
            replacement = _merge_complex(element_attribute, self._kept(old), value, self.label)
            elements[index] = replacement

    def _kept(self, old: Mapping[str, Any]) -> dict[str, Any]:
        """What a replaced element keeps: readOnly and immutable sub-values and the filter's ``eq`` parts."""
        kept = {
            sub.name: _get(old, sub.name)
            for sub in self.attribute.sub_attributes
            if sub.mutability in (READ_ONLY, IMMUTABLE) and _get(old, sub.name) is not None
        }
        return {**self.filter.equalities(), **kept}


def _update_subs(
    attribute: Attribute,
    sub: Attribute,
    elements: list[dict[str, Any]],
    indexes: list[int],
    op: OpName,
    value: Any,
    label: str,
) -> None:
    """Set, clear or remove ``sub`` on the selected elements, honouring its mutability."""
    loaded = None if op == "remove" or is_empty(value) else _load(sub, value, label)
    for index in indexes:
        element = elements[index]
        current = _get(element, sub.name)
        if op == "remove":
            _guard_removal(sub, current, label)
        elif _guard_immutable(sub, value, current, label):
            continue
        _set(element, sub.name, loaded)


def _without_hollow(attribute: Attribute, elements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop elements left empty, or without ``value`` when the attribute has one (``{"type": "work"}``)."""
    has_value = attribute.sub("value") is not None
    return [
        element for element in elements if element and (not has_value or not is_empty(_get(element, "value")))
    ]


def _is_primary(element: Any) -> bool:
    return isinstance(element, Mapping) and element.get("primary") is True


def _enforce_single_primary(attribute: Attribute, elements: list[Any], touched: list[int]) -> None:
    """RFC 7643 §2.4: ``primary: true`` at most once; the last element set primary by this op wins."""
    if attribute.sub("primary") is None:
        return
    chosen = [
        index
        for index in touched
        if isinstance(elements[index], Mapping) and elements[index].get("primary") is True
    ]
    if not chosen:
        return
    winner = chosen[-1]
    for index, element in enumerate(elements):
        if index != winner and isinstance(element, Mapping) and element.get("primary") is True:
            elements[index] = {**element, "primary": False}


# ==================================================================================================
# Bookkeeping: schemas list and changed paths.
# ==================================================================================================


def _sync_schemas(before: Mapping[str, Any], resource: dict[str, Any], resource_type: ResourceType) -> None:
    """``schemas`` lists an extension the PATCH filled and drops one it emptied (RFC 7643 §3)."""
    schemas = resource.get("schemas")
    if not isinstance(schemas, list):
        return
    for urn in resource_type.extension_urns():
        if _get(before, urn) == resource.get(urn):
            continue
        listed = [entry for entry in schemas if isinstance(entry, str) and entry.lower() == urn.lower()]
        if resource.get(urn) and not listed:
            schemas.append(urn)
        elif not resource.get(urn):
            for entry in listed:
                schemas.remove(entry)


def _changed_paths(
    before: Mapping[str, Any], after: Mapping[str, Any], resource_type: ResourceType
) -> tuple[str, ...]:
    changed: list[str] = []
    for schema in resource_type.schemas:
        extension = schema is not resource_type.schema
        old_scope = _scope(before, schema.id) if extension else before
        new_scope = _scope(after, schema.id) if extension else after
        for attribute in schema.attributes:
            old = _get(old_scope, attribute.name)
            new = _get(new_scope, attribute.name)
            if old == new:
                continue
            path = AttributePath(schema.id, attribute, None, extension)
            if attribute.type == COMPLEX and not attribute.multi_valued:
                changed.extend(_changed_subs(path, old, new))
            else:
                changed.append(path.dotted())
    return tuple(changed)


def _scope(resource: Mapping[str, Any], urn: str) -> Mapping[str, Any]:
    value = _get(resource, urn)
    return value if isinstance(value, Mapping) else {}


def _changed_subs(path: AttributePath, old: Any, new: Any) -> list[str]:
    old_map = old if isinstance(old, Mapping) else {}
    new_map = new if isinstance(new, Mapping) else {}
    return [
        dataclasses.replace(path, sub_attribute=sub).dotted()
        for sub in path.attribute.sub_attributes
        if _get(old_map, sub.name) != _get(new_map, sub.name)
    ]
