"""Validation of SCIM resource bodies (RFC 7643 §2, §7; RFC 7644 §3.3 and §3.5.1).

Every marshmallow schema here is generated from the attribute table in :mod:`scim_bridge.scim.schema`, so
the table alone decides which attributes exist, their types and their mutability. The loaders return
resources in canonical wire form: canonical attribute-name case, extension objects under their canonical
URN, JSON booleans, and no readOnly, unknown, null or empty values. Strings are kept exactly as sent.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any
from typing import TypeVar
from typing import cast

from marshmallow import EXCLUDE
from marshmallow import Schema as MarshmallowSchema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import pre_load

from scim_bridge.scim.errors import InvalidSyntax
from scim_bridge.scim.errors import InvalidValue
from scim_bridge.scim.paths import find_key
from scim_bridge.scim.paths import named
from scim_bridge.scim.schema import ALL_SCHEMAS
from scim_bridge.scim.schema import BOOLEAN
from scim_bridge.scim.schema import COMPLEX
from scim_bridge.scim.schema import DATETIME
from scim_bridge.scim.schema import DECIMAL
from scim_bridge.scim.schema import INTEGER
from scim_bridge.scim.schema import Attribute
from scim_bridge.scim.schema import ResourceType
from scim_bridge.scim.schema import Schema

READ_ONLY = "readOnly"
S = TypeVar("S", bound=MarshmallowSchema)
T = TypeVar("T")
_SCHEMA_URNS = frozenset(schema.id for schema in ALL_SCHEMAS)
_TRUE_STRINGS = frozenset({"true"})
_FALSE_STRINGS = frozenset({"false"})


# --------------------------------------------------------------------------------------------------
# Scalar fields (RFC 7643 §2.3): strict JSON types, no silent conversion except string booleans.
# --------------------------------------------------------------------------------------------------


class ScimScalar(fields.Field[T]):
    """A JSON scalar of one of ``types``, taken exactly as sent; a boolean is never a string or a number.

    A subclass names its ``types`` and its ``invalid`` message, or converts otherwise (:meth:`convert`).
    """

    types: tuple[type, ...] = ()

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> T:
        return self.convert(value)

    def convert(self, value: Any) -> T:
        if isinstance(value, bool) or not isinstance(value, self.types):
            raise self.make_error("invalid")
        return cast("T", value)


class ScimString(ScimScalar[str]):
    """A JSON string (RFC 7643 §2.3.1), returned exactly as sent."""

    types = (str,)
    default_error_messages = {"invalid": "must be a string."}


class ScimBoolean(ScimScalar[bool]):
    """A JSON boolean (RFC 7643 §2.3.2); the strings "true"/"false" in any case are accepted (Entra)."""

    default_error_messages = {"invalid": "must be a boolean."}

    def convert(self, value: Any) -> bool:
        return coerce_boolean(value, self.make_error("invalid"))


class ScimInteger(ScimScalar[int]):
    """A JSON integer (RFC 7643 §2.3.4); booleans and fractions are rejected."""

    types = (int,)
    default_error_messages = {"invalid": "must be an integer."}


class ScimDecimal(ScimScalar[float]):
    """A JSON number (RFC 7643 §2.3.3); booleans are rejected."""

    types = (int, float)
    default_error_messages = {"invalid": "must be a number."}


class ScimDateTime(ScimString):
    """An xsd:dateTime string (RFC 7643 §2.3.5), kept as sent once it parses."""

    default_error_messages = {"invalid": "must be an xsd:dateTime string."}

    def convert(self, value: Any) -> str:
        text = super().convert(value)
        try:
            datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError as exc:
            raise self.make_error("invalid") from exc
        return text


def coerce_boolean(value: Any, error: Exception) -> bool:
    """A JSON boolean, or the strings "true"/"false" in any case (RFC 7643 §2.3.2 plus Entra's strings)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE_STRINGS:
            return True
        if lowered in _FALSE_STRINGS:
            return False
    raise error


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("must not be empty or blank.")


# --------------------------------------------------------------------------------------------------
# Helpers shared with the PATCH engine.
# --------------------------------------------------------------------------------------------------


def is_empty(value: Any) -> bool:
    """True for the values RFC 7643 §2.5 treats as unassigned (null, "", [] and {})."""
    return value is None or value == "" or value == [] or value == {}


def prune(value: Any) -> Any:
    """Drop unassigned sub-values recursively; returns None when nothing is left."""
    if isinstance(value, dict):
        pruned = {key: prune(item) for key, item in value.items()}
        kept = {key: item for key, item in pruned.items() if not is_empty(item)}
        return kept or None
    if isinstance(value, list):
        items = [prune(item) for item in value]
        kept_items = [item for item in items if not is_empty(item)]
        return kept_items or None
    return None if value == "" else value


# --------------------------------------------------------------------------------------------------
# Schemas generated from the attribute table.
# --------------------------------------------------------------------------------------------------


class ComplexValueSchema(MarshmallowSchema):
    """Base of the generated schemas: keys are matched case-insensitively (RFC 7643 §2.1).

    Unknown keys, readOnly attributes (RFC 7643 §7: "SHALL be ignored") and nulls are dropped before the
    fields see the data; a bare string given for a complex attribute with a ``value`` sub-attribute is
    read as ``{"value": ...}`` (the form some clients use for ``manager``).
    """

    scim_attributes: tuple[Attribute, ...] = ()
    error_messages = {"type": "must be an object.", "unknown": "is not a known attribute."}

    class Meta:
        unknown = EXCLUDE

    @pre_load
    def canonicalise(self, data: Any, **kwargs: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        out: dict[str, Any] = {}
        for key, value in data.items():
            attribute = _lookup(self.scim_attributes, key) if isinstance(key, str) else None
            if attribute is None or attribute.mutability == READ_ONLY or value is None:
                continue
            out[attribute.name] = shorthand(attribute, value)
        return out


class ResourceSchema(ComplexValueSchema):
    """Base of the generated resource schemas: core attributes plus one object per extension URN."""

    scim_resource_type: ResourceType | None = None

    @pre_load
    def canonicalise(self, data: Any, **kwargs: Any) -> Any:
        if not isinstance(data, Mapping) or self.scim_resource_type is None:
            return data
        return _canonical_resource(data, self.scim_resource_type)


def shorthand(attribute: Attribute, value: Any) -> Any:
    """Read a bare string given for a single-valued complex attribute with a ``value`` sub-attribute
    (``manager``) as ``{"value": ...}``; every other value is returned unchanged."""
    if (
        attribute.type == COMPLEX
        and not attribute.multi_valued
        and isinstance(value, str)
        and attribute.sub("value") is not None
    ):
        return {"value": value}
    return value


def _lookup(attributes: tuple[Attribute, ...], name: str) -> Attribute | None:
    return named(attributes, name, lambda attribute: attribute.name)


def _canonical_resource(data: Mapping[str, Any], resource_type: ResourceType) -> dict[str, Any]:
    """Core keys in canonical case; extension objects and full-URN attribute keys under canonical URNs."""
    out: dict[str, Any] = {}
    extensions: dict[str, dict[str, Any]] = {}
    for key, value in data.items():
        if not isinstance(key, str) or value is None or key.lower() == "schemas":
            continue
        extension = resource_type.schema_by_urn(key)
        if extension is not None and extension is not resource_type.schema:
            if not isinstance(value, Mapping):
                raise InvalidValue(f"Attribute '{extension.id}' must be an object of extension attributes.")
            extensions.setdefault(extension.id, {}).update(value)
            continue
        if key.lower().startswith("urn:"):
            _place_urn_attribute(key, value, resource_type, out, extensions)
            continue
        attribute = resource_type.schema.attribute(key)
        if attribute is not None and attribute.mutability != READ_ONLY:
            out[attribute.name] = shorthand(attribute, value)
    out.update(extensions)
    return out


def _place_urn_attribute(
    key: str,
    value: Any,
    resource_type: ResourceType,
    core: dict[str, Any],
    extensions: dict[str, dict[str, Any]],
) -> None:
    """Place a top-level ``urn:...:attr`` key (RFC 7644 §3.10 full attribute notation) where it belongs."""
    resolved = resource_type.resolve(key)
    if resolved is None or resolved.sub_attribute is not None:
        return
    if resolved.extension:
        extensions.setdefault(resolved.schema, {})[resolved.attribute.name] = shorthand(
            resolved.attribute, value
        )
    else:
        core[resolved.attribute.name] = shorthand(resolved.attribute, value)


def field_for(attribute: Attribute) -> fields.Field[Any]:
    """The marshmallow field that validates one attribute's value (RFC 7643 §2.3, §2.4)."""
    single = _single_field(attribute)
    if attribute.multi_valued:
        return fields.List(single, required=attribute.required, error_messages=_messages(attribute))
    return single


def _messages(attribute: Attribute) -> dict[str, str | list[Any] | dict[Any, Any]]:
    kind = "a list" if attribute.multi_valued else _TYPE_NAMES.get(attribute.type, "a string")
    return {
        "required": "is required.",
        "null": "must not be null.",
        "invalid": f"must be {kind}.",
        "type": f"must be {kind}.",
    }


_TYPE_NAMES = {
    BOOLEAN: "a boolean",
    INTEGER: "an integer",
    DECIMAL: "a number",
    COMPLEX: "an object",
    DATETIME: "an xsd:dateTime string",
}


def _single_field(attribute: Attribute) -> fields.Field[Any]:
    required = attribute.required and not attribute.multi_valued
    validate = _not_blank if required and attribute.type not in (COMPLEX, BOOLEAN) else None
    if attribute.type == COMPLEX:
        return fields.Nested(
            complex_schema(attribute),
            required=required,
            error_messages={"required": "is required.", "type": "must be an object."},
        )
    field_class: type[fields.Field[Any]] = _SCALAR_FIELDS.get(attribute.type, ScimString)
    return field_class(required=required, validate=validate, error_messages={"required": "is required."})


_SCALAR_FIELDS: dict[str, type[fields.Field[Any]]] = {
    BOOLEAN: ScimBoolean,
    INTEGER: ScimInteger,
    DECIMAL: ScimDecimal,
    DATETIME: ScimDateTime,
}


def _generated(base: type[S], name: str, attributes: tuple[Attribute, ...], **extra: Any) -> type[S]:
    """A generated subclass of ``base``: a field for each of ``attributes`` a client may write, the attribute
    table itself (``scim_attributes``) and ``extra``."""
    declared: dict[str, Any] = {attr.name: field_for(attr) for attr in attributes if attr.mutability != READ_ONLY}
    declared.update(extra, scim_attributes=attributes)
    return cast("type[S]", type(name, (base,), declared))


@cache
def complex_schema(attribute: Attribute) -> type[ComplexValueSchema]:
    """The generated schema for the sub-attributes of a complex attribute (RFC 7643 §2.3.8)."""
    return _generated(ComplexValueSchema, f"{attribute.name}Schema", attribute.sub_attributes)


@cache
def _extension_schema(schema: Schema) -> type[ComplexValueSchema]:
    return _generated(ComplexValueSchema, f"{schema.name}Schema", schema.attributes)


@cache
def resource_schema(resource_type: ResourceType) -> type[ResourceSchema]:
    """The generated schema for a whole resource of ``resource_type`` (RFC 7643 §3)."""
    # Field names must not contain dots (marshmallow splits them); the URN is the data key instead.
    extensions = {
        _extension_field(index): fields.Nested(
            _extension_schema(extension), data_key=extension.id, error_messages={"type": "must be an object."}
        )
        for index, extension in enumerate(resource_type.schemas[1:])
    }
    name = f"{resource_type.id}ResourceSchema"
    return _generated(
        ResourceSchema, name, resource_type.schema.attributes, scim_resource_type=resource_type, **extensions
    )


def _extension_field(index: int) -> str:
    return f"extension_{index}"


@cache
def _single_attribute_schema(attribute: Attribute) -> type[MarshmallowSchema]:
    return MarshmallowSchema.from_dict({"value": field_for(attribute)}, name=f"{attribute.name}Value")


# --------------------------------------------------------------------------------------------------
# Error reporting.
# --------------------------------------------------------------------------------------------------


def _flatten(messages: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(messages, Mapping):
        for key, nested in messages.items():
            yield from _flatten(nested, _join(prefix, key))
    elif isinstance(messages, list) and messages and all(isinstance(item, str) for item in messages):
        yield prefix, " ".join(messages)
    elif isinstance(messages, list):
        for index, nested in enumerate(messages):
            yield from _flatten(nested, f"{prefix}[{index}]")
    else:
        yield prefix, str(messages)


def _join(prefix: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{prefix}[{key}]"
    if key == "_schema":
        return prefix
    if not prefix:
        return str(key)
    separator = ":" if prefix in _SCHEMA_URNS else "."
    return f"{prefix}{separator}{key}"


def _invalid(error: ValidationError, prefix: str = "") -> InvalidValue:
    problems = sorted(_flatten(error.messages, prefix))
    path, message = problems[0] if problems else (prefix, "is invalid.")
    detail = f"Attribute '{path}' {message}" if path else f"The value {message}"
    if len(problems) > 1:
        detail += f" ({len(problems) - 1} more problem(s))"
    return InvalidValue(detail)


# --------------------------------------------------------------------------------------------------
# Public loaders.
# --------------------------------------------------------------------------------------------------


def load_attribute_value(attribute: Attribute, value: Any, path: str) -> Any:
    """Validate one attribute value against the table and return it in canonical form.

    Used for PATCH values (RFC 7644 §3.5.2): type errors raise InvalidValue naming ``path``; readOnly
    sub-attributes and unknown keys inside complex values are dropped; unassigned sub-values are pruned.
    Returns None when nothing is left (the caller treats that as clearing the attribute).
    """
    value = shorthand(attribute, value)
    try:
        loaded = _single_attribute_schema(attribute)().load({"value": value})
    except ValidationError as exc:
        messages = exc.messages
        nested = messages.get("value", messages) if isinstance(messages, dict) else messages
        raise _invalid(ValidationError(nested), path) from exc
    return prune(loaded.get("value"))


def load_resource(body: Any, resource_type: ResourceType, *, for_replace: bool = False) -> dict[str, Any]:
    """Validate a POST (RFC 7644 §3.3) or PUT (§3.5.1, ``for_replace=True``) body.

    Both verbs validate the same way: the RFC requires the same required attributes and ignores readOnly
    ones in both. Returns the canonical resource: ``schemas`` (core URN first, then each extension that
    carries data, and for a PUT each extension the body names, so that a PUT naming an extension with only
    empty values can be told from one that leaves it out), canonical-case attributes, extension objects
    under canonical URN keys, JSON booleans.
    """
    verb = "PUT" if for_replace else "POST"
    if not isinstance(body, Mapping):
        raise InvalidSyntax(f"The {verb} body must be a JSON object.")
    named = {urn.lower() for urn in _check_schemas(body, resource_type)}
    try:
        loaded = resource_schema(resource_type)().load(body)
    except ValidationError as exc:
        raise _invalid(exc) from exc
    for index, extension in enumerate(resource_type.schemas[1:]):
        if _extension_field(index) in loaded:
            loaded[extension.id] = loaded.pop(_extension_field(index))
    resource = {key: prune(value) for key, value in loaded.items()}
    resource = {key: value for key, value in resource.items() if not is_empty(value)}
    _check_required(resource, resource_type)
    urns = [urn for urn in resource_type.extension_urns()
            if urn in resource or (for_replace and urn.lower() in named)]
    return {"schemas": [resource_type.schema.id, *urns], **resource}


def _check_schemas(body: Mapping[str, Any], resource_type: ResourceType) -> list[str]:
    """RFC 7643 §3: ``schemas`` lists the core schema and only extensions of this resource type. Returns it."""
    key = find_key(body, "schemas")
    urns = body.get(key) if key is not None else None
    if not isinstance(urns, list) or not urns or not all(isinstance(urn, str) for urn in urns):
        raise InvalidValue("Attribute 'schemas' must be a non-empty list of schema URNs.")
    for urn in urns:
        if resource_type.schema_by_urn(urn) is None:
            raise InvalidValue(
                f"Attribute 'schemas' names '{urn}', which is not a {resource_type.id} schema."
            )
    if not any(urn.lower() == resource_type.schema.id.lower() for urn in urns):
        raise InvalidValue(f"Attribute 'schemas' must contain '{resource_type.schema.id}'.")
    return urns


def _check_required(resource: Mapping[str, Any], resource_type: ResourceType) -> None:
    """Required attributes that were sent as null or empty are still missing (RFC 7643 §2.5, §7)."""
    for attribute in resource_type.schema.attributes:
        if attribute.required and attribute.mutability != READ_ONLY and attribute.name not in resource:
            raise InvalidValue(f"Attribute '{attribute.name}' is required.")


def keep_own_extension(new: dict[str, Any], current: dict[str, Any], urn: str) -> None:
    """A PUT without the bridge's own extension keeps it as it is: identity providers send the attributes they
    know, and clearing OpsGenie-only data (tags, details, a team's description) nobody sent is not what they
    mean. A PUT that carries the extension, or names it in ``schemas`` (with empty values, say), replaces it."""
    schemas = new.get("schemas")
    named = isinstance(schemas, list) and urn in schemas
    if urn in new or named or urn not in current:
        return
    new[urn] = copy.deepcopy(current[urn])
    if isinstance(schemas, list):
        new["schemas"] = [*schemas, urn]
