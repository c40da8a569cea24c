"""The settings groups of ``scim_bridge.config`` (which re-exports their names)."""
