"""Attribute definitions (RFC 7643) for every resource the bridge serves.

This module is the single table of what the bridge supports: discovery (/Schemas, /ResourceTypes),
filters, PATCH paths, projection and payload validation all read it, so an attribute the bridge does
not know is rejected everywhere in the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from typing import Any

from scim_bridge.scim.paths import PathSyntax
from scim_bridge.scim.paths import PathSyntaxError
from scim_bridge.scim.paths import named
from scim_bridge.scim.paths import parse_path

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
OPSGENIE_USER = "urn:scim-bridge:params:scim:schemas:extension:opsgenie:2.0:User"
OPSGENIE_GROUP = "urn:scim-bridge:params:scim:schemas:extension:opsgenie:2.0:Group"

LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SPC_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"

# Attribute types (RFC 7643, Section 2.3).
STRING = "string"
BOOLEAN = "boolean"
DECIMAL = "decimal"
INTEGER = "integer"
DATETIME = "dateTime"
REFERENCE = "reference"
COMPLEX = "complex"


def discovery_resource(schema: str, resource_type: str, location: str, attributes: dict[str, Any]) -> dict[str, Any]:
    """A discovery resource (RFC 7644, Section 4): its ``schemas``, ``attributes`` in their order, and ``meta``."""
    return {"schemas": [schema], **attributes, "meta": {"resourceType": resource_type, "location": location}}


@dataclass(frozen=True)
class Attribute:
    """One attribute and its characteristics (RFC 7643, Section 7)."""

    name: str
    type: str = STRING
    multi_valued: bool = False
    description: str = ""
    required: bool = False
    case_exact: bool = False
    mutability: str = "readWrite"
    returned: str = "default"
    uniqueness: str = "none"
    canonical_values: tuple[str, ...] = ()
    reference_types: tuple[str, ...] = ()
    sub_attributes: tuple[Attribute, ...] = ()

    def sub(self, name: str) -> Attribute | None:
        """The sub-attribute called ``name`` (case-insensitive), or None."""
        return named(self.sub_attributes, name, _name_of)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "multiValued": self.multi_valued,
            "description": self.description or self.name,
            "required": self.required,
            "caseExact": self.case_exact,
            "mutability": self.mutability,
            "returned": self.returned,
            "uniqueness": self.uniqueness,
        }
        if self.canonical_values:
            body["canonicalValues"] = list(self.canonical_values)
        if self.reference_types:
            body["referenceTypes"] = list(self.reference_types)
        if self.type == COMPLEX:
            body["subAttributes"] = [sub.to_json() for sub in self.sub_attributes]
        return body


@dataclass(frozen=True)
class Schema:
    id: str
    name: str
    description: str
    attributes: tuple[Attribute, ...]

    def attribute(self, name: str) -> Attribute | None:
        """The attribute called ``name`` (case-insensitive), or None."""
        return named(self.attributes, name, _name_of)

    def to_json(self, base_url: str = "") -> dict[str, Any]:
        # meta is a common attribute (RFC 7643 §3.1): every resource has it, no schema defines it.
        attributes = [attr.to_json() for attr in self.attributes if attr.name != "meta"]
        body = {"id": self.id, "name": self.name, "description": self.description, "attributes": attributes}
        return discovery_resource(SCHEMA_SCHEMA, "Schema", f"{base_url}/Schemas/{self.id}", body)


@dataclass(frozen=True)
class AttributePath:
    """A resolved attribute path: which schema, which attribute, and optionally which sub-attribute."""

    schema: str
    attribute: Attribute
    sub_attribute: Attribute | None = None
    # True when the attribute lives in an extension (nested under the schema URN in JSON).
    extension: bool = False

    @property
    def target(self) -> Attribute:
        return self.sub_attribute or self.attribute

    def dotted(self) -> str:
        """A canonical, case-normalised spelling such as ``name.givenName``."""
        text = self.attribute.name
        if self.sub_attribute is not None:
            text += "." + self.sub_attribute.name
        return f"{self.schema}:{text}" if self.extension else text


@dataclass(frozen=True)
class ResourceType:
    id: str
    endpoint: str
    description: str
    schema: Schema
    extensions: tuple[tuple[Schema, bool], ...] = field(default=())

    @property
    def schemas(self) -> tuple[Schema, ...]:
        return (self.schema, *(ext for ext, _ in self.extensions))

    def schema_by_urn(self, urn: str) -> Schema | None:
        return named(self.schemas, urn, _id_of)

    def extension_urns(self) -> tuple[str, ...]:
        return tuple(ext.id for ext, _ in self.extensions)

    def resolve(self, path: str | PathSyntax) -> AttributePath | None:
        """Resolve ``attr``, ``attr.sub``, ``urn:...:attr`` or ``urn:...:attr.sub`` (case-insensitive).

        ``path`` is text in the grammar of :mod:`scim_bridge.scim.paths`, or a path already split by it (its
        value filter, if any, is not looked at). Returns None when the text is not an attribute path or no
        such attribute exists; callers turn that into the right SCIM error.
        """
        if isinstance(path, str):
            try:
                path = parse_path(path)
            except PathSyntaxError:
                return None
        schema = self.schema if path.schema is None else self.schema_by_urn(path.schema)
        attr = None if schema is None else schema.attribute(path.attribute)
        if schema is None or attr is None:
            return None
        sub = None
        if path.sub_attribute is not None:
            sub = attr.sub(path.sub_attribute)
            if sub is None:
                return None
        return AttributePath(schema=schema.id, attribute=attr, sub_attribute=sub, extension=schema is not self.schema)

    def to_json(self, base_url: str = "") -> dict[str, Any]:
        extensions = [{"schema": ext.id, "required": required} for ext, required in self.extensions]
        body = {
            "id": self.id,
            "name": self.id,
            "endpoint": self.endpoint,
            "description": self.description,
            "schema": self.schema.id,
            "schemaExtensions": extensions,
        }
        return discovery_resource(RESOURCE_TYPE_SCHEMA, "ResourceType", f"{base_url}/ResourceTypes/{self.id}", body)


def _s(name: str, description: str = "", **kwargs: Any) -> Attribute:
    return Attribute(name=name, type=STRING, description=description, **kwargs)


def _strings(*names: str) -> tuple[Attribute, ...]:
    """Plain string attributes (every characteristic its default), one per name."""
    return tuple(_s(name) for name in names)


def _multi(name: str, description: str, subs: tuple[Attribute, ...], **kwargs: Any) -> Attribute:
    return Attribute(
        name=name, type=COMPLEX, multi_valued=True, description=description, sub_attributes=subs, **kwargs
    )


_PRIMARY = Attribute("primary", BOOLEAN, description="Whether this is the preferred value.")
_DISPLAY = _s("display", "A human-readable name.")

_META = Attribute(
    "meta",
    COMPLEX,
    description="Resource metadata.",
    mutability="readOnly",
    sub_attributes=(
        _s("resourceType", case_exact=True, mutability="readOnly"),
        Attribute("created", DATETIME, mutability="readOnly"),
        Attribute("lastModified", DATETIME, mutability="readOnly"),
        Attribute("location", REFERENCE, reference_types=("uri",), case_exact=True, mutability="readOnly"),
        _s("version", case_exact=True, mutability="readOnly"),
    ),
)
_ID = _s(
    "id",
    "Identifier of the resource, assigned by the upstream.",
    case_exact=True,
    mutability="readOnly",
    returned="always",
    uniqueness="server",
)
_EXTERNAL_ID = _s("externalId", "Identifier set by the provisioning client.", case_exact=True)

USER_SCHEMA = Schema(
    id=CORE_USER,
    name="User",
    description="An OpsGenie user.",
    attributes=(
        _ID,
        _EXTERNAL_ID,
        _s(
            "userName",
            "The user's e-mail address, which is the OpsGenie username.",
            required=True,
            uniqueness="server",
        ),
        Attribute(
            "name",
            COMPLEX,
            description="Components of the user's name; OpsGenie keeps one full name.",
            sub_attributes=_strings(
                "formatted", "familyName", "givenName", "middleName", "honorificPrefix", "honorificSuffix"
            ),
        ),
        _s("displayName", "The OpsGenie full name."),
        _s("nickName", "Kept by the bridge."),
        _s("title", "Kept by the bridge."),
        _s("userType", "Kept by the bridge."),
        _s("preferredLanguage", "Kept by the bridge."),
        _s("locale", "The OpsGenie locale."),
        _s("timezone", "The OpsGenie time zone (an IANA zone name)."),
        Attribute("active", BOOLEAN, description="False while the user is deactivated."),
        _multi(
            "emails",
            "E-mail addresses; the primary one is the username.",
            (
                _s("value"),
                _DISPLAY,
                _s("type", canonical_values=("work", "home", "other")),
                _PRIMARY,
            ),
        ),
        _multi(
            "phoneNumbers",
            "Phone numbers in E.164 form; they become OpsGenie SMS and voice contacts.",
            (
                _s("value"),
                _DISPLAY,
                _s("type", canonical_values=("work", "home", "mobile", "other")),
                _PRIMARY,
            ),
        ),
        _multi(
            "ims",
            "Instant messaging addresses; the Skype one is the OpsGenie Skype username.",
            (_s("value"), _DISPLAY, _s("type", canonical_values=("skype",)), _PRIMARY),
        ),
        _multi(
            "addresses",
            "Postal addresses; the primary one is the OpsGenie user address.",
            (
                *_strings("formatted", "streetAddress", "locality", "region", "postalCode", "country"),
                _s("type", canonical_values=("work", "home", "other")),
                _PRIMARY,
            ),
        ),
        _multi(
            "groups",
            "The OpsGenie teams and the role group the user belongs to.",
            (
                _s("value", mutability="readOnly"),
                Attribute(
                    "$ref",
                    REFERENCE,
                    reference_types=("Group",),
                    case_exact=True,
                    mutability="readOnly",
                ),
                _s("display", mutability="readOnly"),
                _s("type", canonical_values=("direct",), mutability="readOnly"),
            ),
            mutability="readOnly",
        ),
        _multi(
            "roles",
            "The OpsGenie role (one per user).",
            (_s("value"), _DISPLAY, _s("type"), _PRIMARY),
        ),
        _META,
    ),
)

ENTERPRISE_USER_SCHEMA = Schema(
    id=ENTERPRISE_USER,
    name="EnterpriseUser",
    description="Enterprise user attributes, kept verbatim by the bridge.",
    attributes=(
        *_strings("employeeNumber", "costCenter", "organization", "division", "department"),
        Attribute(
            "manager",
            COMPLEX,
            sub_attributes=(
                _s("value"),
                Attribute("$ref", REFERENCE, reference_types=("User",), case_exact=True),
                _s("displayName", mutability="readOnly"),
            ),
        ),
    ),
)

OPSGENIE_USER_SCHEMA = Schema(
    id=OPSGENIE_USER,
    name="OpsGenieUser",
    description="OpsGenie user attributes without a core SCIM counterpart.",
    attributes=(
        Attribute("tags", STRING, multi_valued=True, description="OpsGenie user tags."),
        _multi(
            "details",
            "OpsGenie user details: each key holds a list of values.",
            (_s("key", case_exact=True), Attribute("values", STRING, multi_valued=True, case_exact=True)),
        ),
        Attribute("blocked", BOOLEAN, description="Blocked by the subscription.", mutability="readOnly"),
        Attribute(
            "verified", BOOLEAN, description="Invitation accepted or e-mail verified.", mutability="readOnly"
        ),
        Attribute(
            "invitationDisabled",
            BOOLEAN,
            description="No invitation e-mail is sent when the user is created.",
        ),
        _s("roleId", "The OpsGenie id of the user's role (while suspended, of the role reactivation gives back).",
           case_exact=True, mutability="readOnly"),
        Attribute(
            "suspended",
            BOOLEAN,
            description="Suspended by the bridge (active=false): OpsGenie holds the suspended role meanwhile.",
            mutability="readOnly",
        ),
    ),
)

GROUP_SCHEMA = Schema(
    id=CORE_GROUP,
    name="Group",
    description="An OpsGenie team, or an OpsGenie role (displayName role:<RoleName>).",
    attributes=(
        _ID,
        _EXTERNAL_ID,
        _s("displayName", "Team name, or role:<RoleName> for a role.", required=True, uniqueness="server"),
        _multi(
            "members",
            "Users in the team or holding the role.",
            (
                _s("value", case_exact=True, mutability="immutable"),
                Attribute(
                    "$ref", REFERENCE, reference_types=("User",), case_exact=True, mutability="immutable"
                ),
                _s("display", mutability="readOnly"),
                _s("type", canonical_values=("User",), mutability="immutable"),
            ),
        ),
        _META,
    ),
)

OPSGENIE_GROUP_SCHEMA = Schema(
    id=OPSGENIE_GROUP,
    name="OpsGenieGroup",
    description="OpsGenie team attributes without a core SCIM counterpart.",
    attributes=(
        _s("description", "The team description (at most 200 characters)."),
        _s(
            "kind",
            "team or role.",
            case_exact=True,
            mutability="readOnly",
            canonical_values=("team", "role"),
        ),
    ),
)

USER = ResourceType(
    id="User",
    endpoint="/Users",
    description="OpsGenie users",
    schema=USER_SCHEMA,
    extensions=((ENTERPRISE_USER_SCHEMA, False), (OPSGENIE_USER_SCHEMA, False)),
)
GROUP = ResourceType(
    id="Group",
    endpoint="/Groups",
    description="OpsGenie teams and roles",
    schema=GROUP_SCHEMA,
    extensions=((OPSGENIE_GROUP_SCHEMA, False),),
)

RESOURCE_TYPES: tuple[ResourceType, ...] = (USER, GROUP)
ALL_SCHEMAS: tuple[Schema, ...] = (
    USER_SCHEMA,
    GROUP_SCHEMA,
    ENTERPRISE_USER_SCHEMA,
    OPSGENIE_USER_SCHEMA,
    OPSGENIE_GROUP_SCHEMA,
)


def schema_by_urn(urn: str) -> Schema | None:
    return named(ALL_SCHEMAS, urn, _id_of)


def _name_of(attribute: Attribute) -> str:
    return attribute.name


def _id_of(schema: Schema) -> str:
    return schema.id
