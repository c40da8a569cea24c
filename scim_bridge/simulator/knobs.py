"""Applying ``PATCH /__sim/config`` to a simulator's config: JSON values to knob types, all-or-nothing."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from collections.abc import Mapping
from typing import Any

Convert = Callable[[str, Any, Any], Any]


def convert_scalar(name: str, raw: Any, current: Any) -> Any:
    """``raw`` as the type of the knob's ``current`` value (``seed`` may be null); ValueError if it does not fit."""
    if name == "seed":
        return None if raw is None else str(raw)
    if isinstance(current, bool):
        if not isinstance(raw, bool):
            raise ValueError(f"{name} must be a boolean")
        return raw
    if isinstance(current, int):
        if isinstance(raw, bool) or not isinstance(raw, int | str):
            raise ValueError(f"{name} must be an integer")
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"{name} must be an integer") from None
    if isinstance(current, float):
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise ValueError(f"{name} must be a number")
        return float(raw)
    if not isinstance(raw, str | int) or isinstance(raw, bool):
        raise ValueError(f"{name} must be a string")
    return str(raw)


def apply_changes(config: Any, changes: Mapping[str, Any], convert: Convert = convert_scalar) -> None:
    """Change the knobs of ``config`` (a dataclass with ``validate()``) from a JSON object: all-or-nothing
    (a copy is changed and validated first), ValueError on any unknown name or bad value."""
    candidate = dataclasses.replace(config)
    names = {f.name for f in dataclasses.fields(config)}
    for name, raw in changes.items():
        if name not in names:
            raise ValueError(f"unknown knob {name!r}")
        setattr(candidate, name, convert(name, raw, getattr(config, name)))
    candidate.validate()
    for name in changes:
        setattr(config, name, getattr(candidate, name))
