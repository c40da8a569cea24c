"""SCIM User <-> directory user: pure functions, one table of correspondences (see README)."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from scim_bridge.directory.models import Address
from scim_bridge.directory.models import Contact
from scim_bridge.directory.models import DirectoryUser
from scim_bridge.directory.models import UserFields
from scim_bridge.scim import errors
from scim_bridge.scim.schema import CORE_USER
from scim_bridge.scim.schema import ENTERPRISE_USER
from scim_bridge.scim.schema import OPSGENIE_USER

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_USERNAME = 100
MAX_FULL_NAME = 512
# Address field -> the key of a SCIM address, in the order a new SCIM address lists them.
SCIM_ADDRESS_KEYS = {"line": "streetAddress", "city": "locality", "state": "region", "zip_code": "postalCode",
                     "country": "country"}
# SCIM attributes the bridge keeps verbatim in its store (OpsGenie has no place for them).
# Key of ``kept`` holding the OpsGenie form of each phoneNumbers value as written ("" for none).
PHONE_FORMS = "phoneForms"
KEPT_CORE = ("name", "nickName", "title", "userType", "preferredLanguage", "locale", "timezone", "emails",
             "phoneNumbers", "ims", "addresses", "roles")


@dataclass(frozen=True)
class DesiredUser:
    """What a SCIM User resource asks of the upstream and of the store."""

    fields: UserFields
    kept: dict[str, Any]
    phones: frozenset[tuple[str, str]]  # (method, "cc-number")
    active: bool
    # phoneNumbers elements (0-based position, type) whose value is no number OpsGenie can call: kept in
    # SCIM as sent, no contact written. Positions, not values: warnings go to logs, which hold no phone numbers.
    skipped_phones: tuple[tuple[int, str], ...] = ()


def validate_user_name(user_name: Any) -> str:
    if not isinstance(user_name, str) or not user_name.strip():
        raise errors.InvalidValue("userName is required")
    if len(user_name) > MAX_USERNAME:
        raise errors.InvalidValue(f"userName must be at most {MAX_USERNAME} characters (OpsGenie limit)")
    if not EMAIL_RE.match(user_name):
        raise errors.InvalidValue("userName must be an e-mail address: OpsGenie usernames are e-mail addresses")
    return user_name


def full_name_of(resource: dict[str, Any]) -> str:
    display = resource.get("displayName")
    if isinstance(display, str) and display.strip():
        return display.strip()
    name = resource.get("name") or {}
    formatted = name.get("formatted")
    if isinstance(formatted, str) and formatted.strip():
        return formatted.strip()
    parts = [name.get(k) for k in ("honorificPrefix", "givenName", "middleName", "familyName", "honorificSuffix")]
    joined = " ".join(p.strip() for p in parts if isinstance(p, str) and p.strip())
    if joined:
        return joined
    return str(resource.get("userName", "")).split("@", 1)[0]


def split_full_name(full_name: str) -> dict[str, str]:
    """Structured name for users the bridge did not create: last word is the family name."""
    words = full_name.split()
    if not words:
        return {}
    if len(words) == 1:
        return {"formatted": full_name, "givenName": words[0]}
    return {"formatted": full_name, "givenName": " ".join(words[:-1]), "familyName": words[-1]}


def phone_to_opsgenie(value: str, region: str = "") -> str | None:
    """'+1 415 555 0100' -> '1-4155550100' (OpsGenie's <countryCode>-<number> form); None when ``value`` is
    no possible phone number. Numbers without a country code are read in ``region`` (e.g. "US"); with no
    region, only international numbers are."""
    import phonenumbers  # its metadata takes ~30 ms to load: only processes that map a phone number need it

    try:
        number = phonenumbers.parse(value, region.upper() or None)
    except phonenumbers.NumberParseException:
        return None
    if not number.country_code or not number.national_number or not phonenumbers.is_possible_number(number):
        return None
    national = str(number.national_number)
    if number.italian_leading_zero:
        national = "0" * (number.number_of_leading_zeros or 1) + national
    return f"{number.country_code}-{national}"


def opsgenie_to_e164(value: str) -> str:
    country, sep, national = value.partition("-")
    if sep and country.isdigit():
        return f"+{country}{''.join(ch for ch in national if ch.isdigit())}"
    return value


def locale_to_opsgenie(locale: str) -> str:
    return locale.replace("-", "_")


def _primary(items: Any) -> dict[str, Any] | None:
    if not isinstance(items, list) or not items:
        return None
    for item in items:
        if isinstance(item, dict) and item.get("primary") is True:
            return item
    first = items[0]
    return first if isinstance(first, dict) else None


def _address_from_scim(item: dict[str, Any] | None) -> Address:
    return Address.read(item, SCIM_ADDRESS_KEYS)


def _phones_from_scim(items: Any, region: str) -> tuple[frozenset[tuple[str, str]], dict[str, str]]:
    """The contacts ``phoneNumbers`` asks for, and each value's OpsGenie form ("" when it has none)."""
    wanted: set[tuple[str, str]] = set()
    forms: dict[str, str] = {}
    for item in items or []:
        value = item.get("value") if isinstance(item, dict) else None
        if not isinstance(value, str) or not value.strip():
            continue
        number = phone_to_opsgenie(value, region)
        forms[value] = number or ""
        if number is None:
            continue
        if item.get("type") == "mobile":
            wanted.add(("sms", number))
        wanted.add(("voice", number))
    return frozenset(wanted), forms


def _skipped_phones(items: Any, forms: dict[str, str]) -> tuple[tuple[int, str], ...]:
    return tuple(
        (index, str(item.get("type") or ""))
        for index, item in enumerate(items or [])
        if isinstance(item, dict) and isinstance(item.get("value"), str) and forms.get(item["value"]) == ""
    )


def desired_user(
    resource: dict[str, Any], *, default_role: str, invitation_disabled: bool, phone_region: str = ""
) -> DesiredUser:
    """Read what a (validated, canonical) SCIM User resource wants upstream and in the store."""
    user_name = validate_user_name(resource.get("userName"))
    full_name = full_name_of(resource)
    if len(full_name) > MAX_FULL_NAME:
        raise errors.InvalidValue(f"displayName must be at most {MAX_FULL_NAME} characters (OpsGenie limit)")
    role_item = _primary(resource.get("roles"))
    role = str(role_item.get("value") or "").strip() if role_item else ""
    skype = ""
    for item in resource.get("ims") or []:
        if isinstance(item, dict) and str(item.get("type", "")).lower() == "skype":
            skype = str(item.get("value") or "")
    ext = resource.get(OPSGENIE_USER) or {}
    details: dict[str, list[str]] = {}
    for item in ext.get("details") or []:
        key = item.get("key") if isinstance(item, dict) else None
        if isinstance(key, str) and key:
            details.setdefault(key, []).extend(str(v) for v in item.get("values") or [])
    inv = ext.get("invitationDisabled")
    fields = UserFields(
        username=user_name.lower(),
        full_name=full_name,
        role=role or default_role,
        skype_username=skype,
        # OpsGenie needs some time zone and locale: when absent they keep the account default.
        time_zone=str(resource["timezone"]) if resource.get("timezone") else None,
        locale=locale_to_opsgenie(str(resource["locale"])) if resource.get("locale") else None,
        address=_address_from_scim(_primary(resource.get("addresses"))),
        tags=tuple(str(t) for t in ext.get("tags") or []),
        details=details,
        invitation_disabled=invitation_disabled if inv is None else bool(inv),
    )
    kept: dict[str, Any] = {k: copy.deepcopy(resource[k]) for k in KEPT_CORE if resource.get(k) not in (None, [], {})}
    if resource.get(ENTERPRISE_USER):
        kept[ENTERPRISE_USER] = copy.deepcopy(resource[ENTERPRISE_USER])
    if inv is not None:
        kept["invitationDisabled"] = bool(inv)
    # What the bridge wrote as the full name: when the upstream still holds it, the structured
    # name is current; when someone renamed the user in OpsGenie, the name is derived anew.
    kept["fullName"] = full_name
    if isinstance(resource.get("displayName"), str) and resource["displayName"].strip():
        kept["displayName"] = resource["displayName"]
    phones, forms = _phones_from_scim(resource.get("phoneNumbers"), phone_region)
    if forms:
        # How each number read when written: rendering matches them with the upstream's contacts.
        kept[PHONE_FORMS] = forms
    active = resource.get("active")
    return DesiredUser(
        fields=fields,
        kept=kept,
        phones=phones,
        active=True if active is None else bool(active),
        skipped_phones=_skipped_phones(resource.get("phoneNumbers"), forms),
    )


def changed_fields(current: DirectoryUser, wanted: UserFields) -> UserFields:
    """Only the fields whose value differs from the upstream's (None = leave alone)."""
    cur_address = current.address or Address()
    return UserFields(
        username=None if wanted.username == current.username.lower() else wanted.username,
        full_name=None if wanted.full_name == current.full_name else wanted.full_name,
        role=None if (wanted.role or "").lower() == current.role.lower() else wanted.role,
        skype_username=None if wanted.skype_username == current.skype_username else wanted.skype_username,
        time_zone=None if not wanted.time_zone or wanted.time_zone == current.time_zone else wanted.time_zone,
        locale=None if not wanted.locale or wanted.locale == current.locale else wanted.locale,
        address=None if wanted.address is None or wanted.address == cur_address else wanted.address,
        tags=None if wanted.tags is None or tuple(wanted.tags) == tuple(current.tags) else wanted.tags,
        details=None if wanted.details is None or wanted.details == current.details else wanted.details,
    )


def revert_fields(before: DirectoryUser, fields: UserFields) -> UserFields:
    """The update that puts back, for every field ``fields`` sets, the value ``before`` held."""
    old: dict[str, Any] = {
        "username": before.username,
        "full_name": before.full_name,
        "role": before.role,
        "skype_username": before.skype_username,
        "time_zone": before.time_zone,
        "locale": before.locale,
        "address": before.address or Address(),
        "tags": tuple(before.tags),
        "details": {k: list(v) for k, v in before.details.items()},
    }
    return UserFields(**{name: value for name, value in old.items() if getattr(fields, name) is not None})


def apply_fields(current: DirectoryUser, fields: UserFields) -> DirectoryUser:
    """The upstream user after a successful partial update with ``fields``."""
    changes: dict[str, Any] = {}
    for name in ("username", "full_name", "role", "skype_username", "time_zone", "locale", "address", "tags",
                 "details"):
        value = getattr(fields, name)
        if value is not None:
            changes[name] = value
    if "role" in changes and changes["role"].lower() != current.role.lower():
        changes["role_id"] = None
    data = current.to_json()
    data.update({k: v for k, v in changes.items() if k not in ("address", "tags")})
    if "address" in changes:
        data["address"] = changes["address"].__dict__.copy()
    if "tags" in changes:
        data["tags"] = list(changes["tags"])
    return DirectoryUser.from_json(data)


def phone_contacts(contacts: tuple[Contact, ...] | None) -> dict[tuple[str, str], Contact]:
    return {(c.method, c.to): c for c in contacts or () if c.method in ("sms", "voice")}


def _phones_to_scim(
    upstream: DirectoryUser, kept: list[dict[str, Any]] | None, forms: dict[str, str]
) -> list[dict[str, Any]]:
    if upstream.contacts is None:
        return copy.deepcopy(kept or [])
    have = phone_contacts(upstream.contacts)
    numbers = {to for (_, to) in have}
    result: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in kept or []:
        value = str(item.get("value", ""))
        number = forms[value] if value in forms else phone_to_opsgenie(value)
        if not number:
            result.append(copy.deepcopy(item))  # no contact was written for it: kept as the client sent it
        elif number in numbers and number not in seen:
            result.append(copy.deepcopy(item))
            seen.add(number)
    for _method, to in sorted(have):
        if to in seen:
            continue
        seen.add(to)
        kind = "mobile" if ("sms", to) in have else "work"
        result.append({"value": opsgenie_to_e164(to), "type": kind})
    return result


def _emails_to_scim(upstream: DirectoryUser, user_name: str, kept: dict[str, Any]) -> list[Any]:
    if kept:
        # A user a SCIM client wrote: its e-mail addresses are exactly what the client sent.
        return copy.deepcopy(kept.get("emails") or [])
    value = user_name if user_name.lower() == upstream.username.lower() else upstream.username
    return [{"value": value, "type": "work", "primary": True}]


def _addresses_to_scim(upstream: DirectoryUser, kept: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    addresses = copy.deepcopy(kept or [])
    address = upstream.address
    primary = _primary(addresses)
    if _address_from_scim(primary) == (address or Address()):
        return addresses
    if address is None or address.is_empty():
        return [a for a in addresses if a is not primary]
    fresh = {k: v for k, v in address.write(SCIM_ADDRESS_KEYS).items() if v}
    if primary is None:
        return [{**fresh, "type": "work", "primary": True}]
    for key in (*SCIM_ADDRESS_KEYS.values(), "formatted"):
        primary.pop(key, None)
    primary.update(fresh)
    return addresses


def _ims_to_scim(upstream: DirectoryUser, kept: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    skype = [i for i in kept or [] if str(i.get("type", "")).lower() == "skype"]
    others = [copy.deepcopy(i) for i in kept or [] if str(i.get("type", "")).lower() != "skype"]
    if not upstream.skype_username:
        return others
    for item in skype:
        if item.get("value") == upstream.skype_username:
            return [copy.deepcopy(item), *others]  # as the client sent it (display, primary)
    return [{"value": upstream.skype_username, "type": "skype"}, *others]


def _roles_to_scim(role: str, kept: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    for item in kept or []:
        if isinstance(item, dict) and str(item.get("value", "")).lower() == role.lower():
            return [copy.deepcopy(item)]  # as the client sent it (display, type)
    return [{"value": role, "display": role, "type": "opsgenie", "primary": True}]


def _locale_to_scim(upstream: DirectoryUser, kept: Any) -> str:
    if isinstance(kept, str) and locale_to_opsgenie(kept) == upstream.locale:
        return kept
    return upstream.locale.replace("_", "-")


def user_resource(
    upstream: DirectoryUser,
    *,
    user_name: str,
    external_id: str | None,
    kept: dict[str, Any],
    active: bool,
    groups: list[dict[str, Any]],
    role: str | None = None,
    role_id: str | None = None,
) -> dict[str, Any]:
    """Compose the SCIM User (without meta) from the upstream user and what the bridge keeps.

    ``kept`` is empty for a user no SCIM client has written (created in OpsGenie): its SCIM view is
    derived from the upstream. Once a client has written the user, an optional attribute reads back
    as the client last set it, so an attribute the client removed stays absent; the upstream still
    wins when someone changed the value in OpsGenie since. ``role`` is the role the user holds
    (while suspended, the one restored on reactivation) and ``role_id`` its id; the upstream role by default.
    A suspended user (``active`` false) is marked ``suspended`` in the bridge's extension.
    """
    if user_name.lower() != upstream.username.lower():
        user_name = upstream.username  # renamed upstream: the upstream wins
    resource: dict[str, Any] = {"schemas": [CORE_USER], "id": upstream.id}
    if external_id:
        resource["externalId"] = external_id
    resource["userName"] = user_name
    if kept and kept.get("fullName") == upstream.full_name:
        name = kept.get("name")
        display = kept.get("displayName")
    else:
        name = split_full_name(upstream.full_name)
        display = upstream.full_name
    if name:
        resource["name"] = copy.deepcopy(name)
    if display:
        resource["displayName"] = display
    for key in ("nickName", "title", "userType", "preferredLanguage"):
        if kept.get(key):
            resource[key] = kept[key]
    if not kept or kept.get("locale"):
        locale = _locale_to_scim(upstream, kept.get("locale"))
        if locale:
            resource["locale"] = locale
    if upstream.time_zone and (not kept or kept.get("timezone")):
        resource["timezone"] = upstream.time_zone
    resource["active"] = active
    emails = _emails_to_scim(upstream, user_name, kept)
    if emails:
        resource["emails"] = emails
    for key, value in (
        ("phoneNumbers", _phones_to_scim(upstream, kept.get("phoneNumbers"), kept.get(PHONE_FORMS) or {})),
        ("ims", _ims_to_scim(upstream, kept.get("ims"))),
        ("addresses", _addresses_to_scim(upstream, kept.get("addresses"))),
    ):
        if value:
            resource[key] = value
    if groups:
        resource["groups"] = groups
    resource["roles"] = _roles_to_scim(role or upstream.role, kept.get("roles"))
    if kept.get(ENTERPRISE_USER):
        resource[ENTERPRISE_USER] = copy.deepcopy(kept[ENTERPRISE_USER])
        resource["schemas"].append(ENTERPRISE_USER)
    ext: dict[str, Any] = {"blocked": upstream.blocked, "verified": upstream.verified}
    if upstream.tags:
        ext["tags"] = list(upstream.tags)
    if upstream.details:
        ext["details"] = [{"key": k, "values": list(v)} for k, v in sorted(upstream.details.items())]
    if "invitationDisabled" in kept:
        ext["invitationDisabled"] = kept["invitationDisabled"]
    shown_role_id = role_id if role is not None else upstream.role_id
    if shown_role_id:
        ext["roleId"] = shown_role_id
    ext["suspended"] = not active
    resource[OPSGENIE_USER] = ext
    resource["schemas"].append(OPSGENIE_USER)
    return resource


def created_snapshot(user_id: str, fields: UserFields, contacts: list[Contact]) -> DirectoryUser:
    """The snapshot of a user just created with ``fields`` and phone ``contacts``."""
    return DirectoryUser(
        id=user_id,
        username=fields.username or "",
        full_name=fields.full_name or "",
        role=fields.role or "",
        skype_username=fields.skype_username or "",
        time_zone=fields.time_zone or "",
        locale=fields.locale or "",
        address=fields.address,
        tags=fields.tags or (),
        details=dict(fields.details or {}),
        contacts=tuple(contacts),
    )


def added_role(new: dict[str, Any], current: dict[str, Any]) -> str | None:
    """The one role value ``new`` lists that ``current`` did not: an OpsGenie user holds one role,
    so a role added next to the current one (PATCH add to roles) replaces it."""
    had = set(roles_of(current))
    added = [r for r in new.get("roles") or [] if isinstance(r, dict)
             and str(r.get("value", "")).strip() and str(r.get("value", "")).lower() not in had]
    if len(added) == 1:
        return str(added[0]["value"]).strip()
    return None


def without_primary(item: Any) -> Any:
    return {k: v for k, v in item.items() if k != "primary"} if isinstance(item, dict) else item


def roles_of(resource: dict[str, Any]) -> list[str]:
    return sorted(str(r.get("value", "")).lower() for r in resource.get("roles") or [] if isinstance(r, dict))
