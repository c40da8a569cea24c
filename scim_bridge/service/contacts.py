"""A user's phone contacts upstream: the calls that make them the wanted set (each noted for undo)."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

from scim_bridge.directory.base import Directory
from scim_bridge.directory.models import Contact
from scim_bridge.directory.models import DirectoryUser
from scim_bridge.service import user_mapping as um
from scim_bridge.service.context import RequestContext
from scim_bridge.service.writes import Compensation


def sync_phones(directory: Directory, user_id: str, upstream: DirectoryUser, wanted: frozenset[tuple[str, str]],
                undo: Compensation) -> DirectoryUser:
    """Delete the phone contacts not wanted and create the missing ones; returns the user with them."""
    have = um.phone_contacts(upstream.contacts)
    if set(have) == set(wanted):
        return upstream
    contacts: list[Contact] = [c for c in upstream.contacts or () if c.method not in ("sms", "voice")]
    for key, contact in have.items():
        if key in wanted:
            contacts.append(contact)
        else:
            directory.delete_contact(user_id, contact.id)
            undo.add(f"re-create contact {contact.method} of user {user_id}",
                     partial(directory.create_contact, user_id, contact.method, contact.to))
    for method, to in sorted(wanted - set(have)):
        made = directory.create_contact(user_id, method, to)
        undo.add(f"delete contact {made.id} of user {user_id}", partial(directory.delete_contact, user_id, made.id))
        contacts.append(made)
    return replace(upstream, contacts=tuple(contacts))


def warn_phones(ctx: RequestContext, desired: um.DesiredUser, phone_region: str) -> None:
    """Tell the request which phoneNumbers became no contact (not a number OpsGenie can call)."""
    region = phone_region or "unset: international numbers only"
    for index, kind in desired.skipped_phones:
        ctx.warn("phone", f"phoneNumbers[{index}]" + (f" (type {kind})" if kind else "") + " is not a phone "
                          f"number OpsGenie can call (SCIM_BRIDGE_PHONE_REGION {region}): kept in SCIM as sent, "
                          "no contact written")
