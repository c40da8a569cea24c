"""The knobs of a simulator's config: declaring their rules (:func:`choice`, :func:`at_least`,
:func:`fraction`, :func:`token`), checking them (:func:`check_knobs`), and applying ``PATCH /__sim/config``
(JSON values to knob types, all-or-nothing)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from collections.abc import Mapping
from typing import Any
from typing import TypeVar

Convert = Callable[[str, Any, Any], Any]
T = TypeVar("T")


def choice(default: T, *others: T) -> T:
    """A knob holding one of a few values, ``default`` first."""
    return dataclasses.field(default=default, metadata={"choices": (default, *others)})


def at_least(minimum: int, default: int | None = None) -> int:
    """A whole-number knob that must not go below ``minimum`` (its default unless told otherwise)."""
    start = minimum if default is None else default
    return dataclasses.field(default=start, metadata={"minimum": minimum})


def fraction(default: float = 0.0) -> float:
    """A knob between 0 and 1: the share of requests something happens to."""
    return dataclasses.field(default=default, metadata={"fraction": True})


def token(default: str) -> str:
    """A string knob that must be non-empty and without white space: an id, a credential, a field name."""
    return dataclasses.field(default=default, metadata={"token": True})


def check_knobs(config: Any) -> None:
    """ValueError for the first knob of the dataclass ``config`` that breaks the rule it was declared with."""
    for f in dataclasses.fields(config):
        name, value, rule = f.name, getattr(config, f.name), f.metadata
        if "choices" in rule and value not in rule["choices"]:
            raise ValueError(f"{name} must be one of {list(rule['choices'])}, got {value!r}")
        if "minimum" in rule and value < rule["minimum"]:
            raise ValueError(f"{name} must be at least {rule['minimum']}, got {value!r}")
        if "fraction" in rule and not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be between 0 and 1, got {value!r}")
        if "token" in rule and (not value or any(ch.isspace() for ch in value)):
            raise ValueError(f"{name} must be non-empty without whitespace")


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
