"""The Flask application of the Atlassian simulator: the four API families on one host, plus ``/__sim``."""

from __future__ import annotations

from flask import Flask
from flask import Response
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import InternalServerError

from scim_bridge.simulator.atlassian.api_admin import admin_blueprint
from scim_bridge.simulator.atlassian.api_jira import jira_blueprint
from scim_bridge.simulator.atlassian.api_ops import ops_blueprint
from scim_bridge.simulator.atlassian.api_teams import teams_blueprint
from scim_bridge.simulator.atlassian.control import control_blueprint
from scim_bridge.simulator.atlassian.errors import ApiError
from scim_bridge.simulator.atlassian.pipeline import after_api_request
from scim_bridge.simulator.atlassian.pipeline import before_api_request
from scim_bridge.simulator.atlassian.pipeline import is_api_request
from scim_bridge.simulator.atlassian.pipeline import render_error
from scim_bridge.simulator.atlassian.state import AtlassianState


def create_atlassian_app(state: AtlassianState) -> Flask:
    """Build the app serving the Teams, JSM Operations, Jira and admin APIs and the control surface."""
    app = Flask("scim_bridge.simulator.atlassian")
    app.json.sort_keys = False  # type: ignore[attr-defined]
    for blueprint in (
        teams_blueprint(state),
        ops_blueprint(state),
        admin_blueprint(state),
        jira_blueprint(state),
        control_blueprint(state),
    ):
        app.register_blueprint(blueprint)

    @app.before_request
    def gate() -> Response | None:
        return before_api_request(state) if is_api_request() else None

    @app.after_request
    def finish(response: Response) -> Response:
        return after_api_request(state, response) if is_api_request() else response

    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> Response:
        return render_error(state, error)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        return render_error(state, ApiError(error.code or 500))

    @app.errorhandler(InternalServerError)
    def server_error(error: InternalServerError) -> Response:
        app.logger.error("unhandled error in the Atlassian simulator", exc_info=error.original_exception)
        return render_error(state, ApiError(500, "Internal server error"))

    return app
