"""The PatchOp message (RFC 7644 §3.5.2): validated into :class:`PatchOperation` objects."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from typing import Literal

from scim_bridge.scim.errors import InvalidPath
from scim_bridge.scim.errors import InvalidSyntax
from scim_bridge.scim.errors import InvalidValue
from scim_bridge.scim.errors import TooMany
from scim_bridge.scim.paths import find_key
from scim_bridge.scim.paths import member
from scim_bridge.scim.paths import same_name
from scim_bridge.scim.schema import PATCH_OP

OpName = Literal["add", "replace", "remove"]
OPS: tuple[OpName, ...] = ("add", "replace", "remove")
DEFAULT_MAX_OPERATIONS = 1000


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
    schemas = member(body, "schemas")
    if not isinstance(schemas, list) or not any(
        isinstance(urn, str) and same_name(urn, PATCH_OP) for urn in schemas
    ):
        raise InvalidSyntax(f"The PATCH body must have schemas ['{PATCH_OP}'].")
    operations = member(body, "Operations")
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
    op = member(raw, "op")
    if not isinstance(op, str) or op.lower() not in OPS:
        raise InvalidSyntax(f"PATCH 'op' must be add, replace or remove, not {op!r}.")
    path = member(raw, "path")
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

