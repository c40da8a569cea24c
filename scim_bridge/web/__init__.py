"""The Flask transport: blueprints, authentication, error handlers."""
