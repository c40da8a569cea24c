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

The work is split by stage: :mod:`~scim_bridge.scim.patch.request` validates the PatchOp message,
:mod:`~scim_bridge.scim.patch.path` resolves each path (spelled as :mod:`scim_bridge.scim.paths` says),
:mod:`~scim_bridge.scim.patch.targets` and :mod:`~scim_bridge.scim.patch.values` change one part of the
resource, :mod:`~scim_bridge.scim.patch.apply` runs the operations in order, and
:mod:`~scim_bridge.scim.patch.result` reports what changed: :class:`PatchResult`, whose ``values_added`` and
``values_removed`` name the members a request added to and removed from a group.
"""

from scim_bridge.scim.patch.apply import apply_patch
from scim_bridge.scim.patch.path import ElementFilter
from scim_bridge.scim.patch.path import PatchPath
from scim_bridge.scim.patch.path import UnknownAttribute
from scim_bridge.scim.patch.path import parse_element_filter
from scim_bridge.scim.patch.path import parse_patch_path
from scim_bridge.scim.patch.request import DEFAULT_MAX_OPERATIONS
from scim_bridge.scim.patch.request import OPS
from scim_bridge.scim.patch.request import OpName
from scim_bridge.scim.patch.request import PatchOperation
from scim_bridge.scim.patch.request import parse_operation
from scim_bridge.scim.patch.request import parse_patch_request
from scim_bridge.scim.patch.result import PatchResult
from scim_bridge.scim.patch.result import ValueChanges
from scim_bridge.scim.patch.result import value_changes

__all__ = [
    "DEFAULT_MAX_OPERATIONS",
    "OPS",
    "OpName",
    "ElementFilter",
    "PatchOperation",
    "PatchPath",
    "PatchResult",
    "UnknownAttribute",
    "ValueChanges",
    "apply_patch",
    "parse_element_filter",
    "parse_operation",
    "parse_patch_path",
    "parse_patch_request",
    "value_changes",
]

