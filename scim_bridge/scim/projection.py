"""``attributes`` / ``excludedAttributes`` (RFC 7644, Section 3.9) and ``returned`` (RFC 7643, Section 7).

:func:`project` shapes one SCIM JSON resource for a response; :func:`wants` tells the service layer whether an
attribute will be returned at all, so it can skip fetching what nobody asked for (e.g. Entra's
``excludedAttributes=members``).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any
from typing import NamedTuple

from scim_bridge.scim.errors import InvalidValue
from scim_bridge.scim.paths import PathSyntaxError
from scim_bridge.scim.paths import fold
from scim_bridge.scim.paths import parse_path
from scim_bridge.scim.paths import same_name
from scim_bridge.scim.schema import COMPLEX
from scim_bridge.scim.schema import Attribute
from scim_bridge.scim.schema import AttributePath
from scim_bridge.scim.schema import ResourceType
from scim_bridge.scim.schema import Schema

ALWAYS = "always"
NEVER = "never"
REQUEST = "request"

_OMIT = object()


def parse_attribute_list(
    value: str | Sequence[Any] | None, resource_type: ResourceType
) -> tuple[AttributePath, ...]:
    """Resolve an ``attributes``/``excludedAttributes`` value: a comma-separated string or a list of names.

    Names use standard attribute notation (RFC 7644, Section 3.10): ``userName``, ``name.givenName`` or
    ``urn:...:User:employeeNumber``; an extension's URN alone stands for all of its attributes. A name that
    is not well-formed (e.g. ``emails[type eq "work"]``) is a
    400 ``invalidValue``. A well-formed name the resource type does not have is **ignored**: the RFC leaves
    this open, and IdPs send lists written for many servers (Entra sends ``excludedAttributes=members`` to
    every endpoint). Duplicates are dropped; order is kept. A list whose names are all unknown is therefore
    empty, and ``attributes`` that resolve to nothing act as if the parameter was not given.

    :raises InvalidValue: a malformed name, or a value that is neither a string nor a list of strings.
    """
    paths: list[AttributePath] = []
    for name in _names(value):
        extension = _extension(resource_type, name)
        if extension is not None:
            # An extension's URN names the extension as a whole (RFC 7643 section 3.3): all its attributes.
            found = [AttributePath(schema=extension.id, attribute=a, extension=True) for a in extension.attributes]
        else:
            try:
                syntax = parse_path(name)
            except PathSyntaxError:
                raise InvalidValue(f"{name!r} is not an attribute name.") from None
            found = [p for p in (resource_type.resolve(syntax),) if p is not None]
        paths.extend(path for path in found if path not in paths)
    return tuple(paths)


def _names(value: str | Sequence[Any] | None) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, str | Sequence):
        raise InvalidValue("An attribute list must be a string or a list of strings.")
    items = [value] if isinstance(value, str) else value
    names: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise InvalidValue("Attribute names must be strings.")
        names.extend(part.strip() for part in item.split(",") if part.strip())
    return names


# ---------------------------------------------------------------------------------------------------------
# Selection of one attribute.


class _Selection:
    """What ``attributes`` and ``excludedAttributes`` say about one attribute of one schema."""

    def __init__(
        self,
        schema_id: str,
        attribute: Attribute,
        attributes: Sequence[AttributePath],
        excluded: Sequence[AttributePath],
    ) -> None:
        requested = [path for path in attributes if _same(path, schema_id, attribute)]
        dropped = [path for path in excluded if _same(path, schema_id, attribute)]
        self.filtered = bool(attributes)
        self.whole = any(path.sub_attribute is None for path in requested)
        self.subs = {path.sub_attribute.name for path in requested if path.sub_attribute is not None}
        self.excluded_whole = any(path.sub_attribute is None for path in dropped)
        self.excluded_subs = {path.sub_attribute.name for path in dropped if path.sub_attribute is not None}

    def returns(self, attribute: Attribute) -> bool:
        """RFC 7643, Section 7 ``returned``, then RFC 7644, Section 3.9 ``attributes``/``excludedAttributes``.

        ``always`` attributes cannot be excluded and ``never`` attributes cannot be requested.
        """
        if attribute.returned in (ALWAYS, NEVER):
            return attribute.returned == ALWAYS
        if self.excluded_whole:
            return False
        if self.filtered:
            return self.whole or bool(self.subs)
        return attribute.returned != REQUEST

    def returns_sub(self, sub: Attribute) -> bool:
        if sub.returned in (ALWAYS, NEVER):
            return sub.returned == ALWAYS
        if sub.name in self.excluded_subs:
            return False
        if self.filtered and not self.whole:
            return sub.name in self.subs
        return sub.returned != REQUEST or self.whole


def _same(path: AttributePath, schema_id: str, attribute: Attribute) -> bool:
    return same_name(path.schema, schema_id) and path.attribute.name == attribute.name


# ---------------------------------------------------------------------------------------------------------
# Projection.


def project(
    resource: dict[str, Any],
    resource_type: ResourceType,
    attributes: Sequence[AttributePath] = (),
    excluded: Sequence[AttributePath] = (),
) -> dict[str, Any]:
    """A new dict with what the response may carry (RFC 7644, Section 3.9; RFC 7643, Section 7).

    ``schemas`` and ``returned: always`` attributes (``id``) are always kept, ``returned: never`` ones never.
    With ``attributes``, only those (and their named sub-attributes) are added; ``excluded`` then removes
    attributes or sub-attributes. Without ``attributes``, ``returned: request`` attributes are left out. An
    extension that ends up empty loses its key and its URN in ``schemas``. Unknown top-level keys are kept
    only when no ``attributes`` are given. The input is never modified.
    """
    result: dict[str, Any] = {}
    kept_extensions: set[str] = set()
    for key, value in resource.items():
        extension = _extension(resource_type, key)
        if fold(key) == "schemas":
            result[key] = None  # filled in below, keeping the key's position
        elif extension is not None:
            projected = _project_extension(extension, value, attributes, excluded)
            if projected:
                result[key] = projected
                kept_extensions.add(fold(extension.id))
        else:
            _project_member(result, key, value, resource_type.schema, attributes, excluded)
    for key in list(result):
        if fold(key) == "schemas":
            result[key] = _schemas(resource[key], resource_type, kept_extensions)
    return result


class Projection(NamedTuple):
    """A request's ``attributes`` and ``excludedAttributes``, resolved (see :func:`parse_attribute_list`)."""

    attributes: tuple[AttributePath, ...] = ()
    excluded: tuple[AttributePath, ...] = ()


NO_PROJECTION = Projection()


def for_response(
    resource: dict[str, Any], resource_type: ResourceType, projection: Projection = NO_PROJECTION
) -> dict[str, Any]:
    """What :func:`project` returns, for a resource about to be serialised and dropped: when projection
    would change nothing (no parameters, nothing hidden by default), ``resource`` itself, uncopied."""
    if not projection.attributes and not projection.excluded and _plain(resource, resource_type):
        return resource
    return project(resource, resource_type, *projection)


def _plain(resource: dict[str, Any], resource_type: ResourceType) -> bool:
    """True when projection without parameters would return ``resource`` unchanged: it carries no
    attribute (or sub-attribute) returned "never" or only on request, and no empty extension."""
    hidden = _hidden_names(resource_type)
    core = hidden[fold(resource_type.schema.id)]
    for key, value in resource.items():
        lowered = fold(key)
        if lowered in hidden:
            if not isinstance(value, dict) or not value or any(fold(k) in hidden[lowered] for k in value):
                return False
        elif lowered in core:
            return False
    schemas = resource.get("schemas")
    if isinstance(schemas, list):  # every extension it lists must be present, or projection drops the URN
        present = {fold(key) for key in resource}
        if any(isinstance(urn, str) and fold(urn) in hidden and fold(urn) not in present
               and fold(urn) != fold(resource_type.schema.id) for urn in schemas):
            return False
    return True


_HIDDEN: dict[tuple[str, int], dict[str, frozenset[str]]] = {}


def _hidden_names(resource_type: ResourceType) -> dict[str, frozenset[str]]:
    """Per schema URN (lower case): the attribute names whose values projection may drop by default."""
    key = (resource_type.id, id(resource_type))
    found = _HIDDEN.get(key)
    if found is None:
        found = {
            fold(schema.id): frozenset(
                fold(attr.name) for attr in schema.attributes
                if attr.returned in (NEVER, REQUEST)
                or any(sub.returned in (NEVER, REQUEST) for sub in attr.sub_attributes)
            )
            for schema in resource_type.schemas
        }
        _HIDDEN[key] = found
    return found


def _extension(resource_type: ResourceType, key: str) -> Schema | None:
    if not fold(key).startswith("urn:"):
        return None
    schema = resource_type.schema_by_urn(key)
    return None if schema is None or schema is resource_type.schema else schema


def _project_extension(
    schema: Schema, value: Any, attributes: Sequence[AttributePath], excluded: Sequence[AttributePath]
) -> dict[str, Any]:
    projected: dict[str, Any] = {}
    if isinstance(value, dict):
        for key, member in value.items():
            _project_member(projected, key, member, schema, attributes, excluded)
    return projected


def _project_member(
    out: dict[str, Any],
    key: str,
    value: Any,
    schema: Schema,
    attributes: Sequence[AttributePath],
    excluded: Sequence[AttributePath],
) -> None:
    attribute = schema.attribute(key)
    if attribute is None:
        if not attributes:
            out[key] = copy.deepcopy(value)
        return
    selection = _Selection(schema.id, attribute, attributes, excluded)
    if not selection.returns(attribute):
        return
    projected = _project_value(attribute, value, selection)
    if projected is not _OMIT:
        out[key] = projected


def _project_value(attribute: Attribute, value: Any, selection: _Selection) -> Any:
    """The value without unwanted sub-attributes; ``_OMIT`` when projection left nothing of it."""
    if attribute.type != COMPLEX:
        return copy.deepcopy(value)
    if isinstance(value, list):
        elements = [_project_complex(attribute, element, selection) for element in value]
        kept = [element for element in elements if element != {}]
        return kept if kept or not value else _OMIT
    projected = _project_complex(attribute, value, selection)
    return _OMIT if projected == {} and value else projected


def _project_complex(attribute: Attribute, value: Any, selection: _Selection) -> Any:
    if not isinstance(value, dict):
        return copy.deepcopy(value)
    out: dict[str, Any] = {}
    for key, member in value.items():
        sub = attribute.sub(key)
        if sub is None:
            if not selection.filtered or selection.whole:
                out[key] = copy.deepcopy(member)
        elif selection.returns_sub(sub):
            out[key] = copy.deepcopy(member)
    return out


def _schemas(value: Any, resource_type: ResourceType, kept_extensions: set[str]) -> Any:
    """``schemas`` lists the core schema and only the extensions present in the result."""
    if not isinstance(value, list):
        return copy.deepcopy(value)
    extensions = {fold(urn) for urn in resource_type.extension_urns()}
    return [
        urn
        for urn in value
        if not isinstance(urn, str) or fold(urn) not in extensions or fold(urn) in kept_extensions
    ]


# ---------------------------------------------------------------------------------------------------------
# For the service layer.


def wants(
    attr_name: str,
    resource_type: ResourceType,
    attributes: Sequence[AttributePath] = (),
    excluded: Sequence[AttributePath] = (),
) -> bool:
    """Whether a response will carry any part of the top-level attribute ``attr_name``.

    ``attr_name`` is a core attribute name (``members``) or a URN-qualified extension attribute
    (``urn:...:enterprise:2.0:User:manager``). Its ``returned`` characteristic is honoured (RFC 7643,
    Section 7: ``always`` is always wanted, ``never`` never, ``request`` only when named). A service uses this
    to skip expensive work, e.g. never fetching group members for ``excludedAttributes=members``. Agrees with
    :func:`project`: when this is False, ``project`` leaves the attribute out.
    """
    attribute = resource_type.resolve(attr_name)
    returned = attribute.attribute.returned if attribute is not None else "default"
    if returned in (ALWAYS, NEVER):
        return returned == ALWAYS
    if any(_names_attribute(path, attr_name) and path.sub_attribute is None for path in excluded):
        return False
    if attributes:
        return any(_names_attribute(path, attr_name) for path in attributes)
    return returned != REQUEST


def _names_attribute(path: AttributePath, attr_name: str) -> bool:
    lowered = fold(attr_name)
    qualified = fold(f"{path.schema}:{path.attribute.name}")
    return qualified == lowered or (not path.extension and fold(path.attribute.name) == lowered)
