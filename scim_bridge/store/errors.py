"""Exceptions raised by the bridge's state store."""

from __future__ import annotations


class StoreError(Exception):
    """Base class for every error the store raises on purpose."""


class StoreConflict(StoreError):
    """A write collided with existing state.

    Raised when a unique key is already taken (two users with the same userName, two groups of
    one kind with the same displayName) and when an expected version no longer matches.
    """


class StoreNotFound(StoreError):
    """A write referred to a user or group the store does not hold."""
