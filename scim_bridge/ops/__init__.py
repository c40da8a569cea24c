"""Operator tooling behind ``scim-bridge check`` and ``scim-bridge export``."""
