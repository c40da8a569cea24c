"""The Flask application of the OpsGenie simulator."""

from __future__ import annotations

from flask import Flask
from flask import Response
from flask import g
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import InternalServerError

from scim_bridge.simulator.api_teams import teams_blueprint
from scim_bridge.simulator.api_users import users_blueprint
from scim_bridge.simulator.config import SimulatorConfig
from scim_bridge.simulator.control import control_blueprint
from scim_bridge.simulator.errors import SimError
from scim_bridge.simulator.pipeline import after_api_request
from scim_bridge.simulator.pipeline import before_api_request
from scim_bridge.simulator.pipeline import is_api_request
from scim_bridge.simulator.responses import error_response
from scim_bridge.simulator.state import SimulatorState

_HTTP_MESSAGES = {
    404: "Could not find a handler for the request",
    405: "Method not allowed for the resource",
}


def create_simulator_app(state: SimulatorState, config: SimulatorConfig) -> Flask:
    """Build the app serving ``/v2`` (the OpsGenie API) and ``/__sim`` (the control surface).

    ``config`` becomes ``state.config`` so that both always read the same knobs.
    """
    state.config = config
    app = Flask("scim_bridge.simulator")
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.register_blueprint(users_blueprint(state, config))
    app.register_blueprint(teams_blueprint(state, config))
    app.register_blueprint(control_blueprint(state))

    @app.before_request
    def gate() -> Response | None:
        if not is_api_request():
            return None
        state.in_flight.enter()
        g.in_flight = True
        return before_api_request(state, config)

    @app.teardown_request
    def done(_error: BaseException | None) -> None:
        if g.pop("in_flight", False):
            state.in_flight.leave()

    @app.after_request
    def finish(response: Response) -> Response:
        return after_api_request(state, response) if is_api_request() else response

    @app.errorhandler(SimError)
    def sim_error(error: SimError) -> Response:
        return error_response(error)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        status = error.code or 500
        return error_response(SimError(status, _HTTP_MESSAGES.get(status, "")))

    @app.errorhandler(InternalServerError)
    def server_error(error: InternalServerError) -> Response:
        app.logger.error("unhandled error in the simulator", exc_info=error.original_exception)
        return error_response(SimError(500))

    return app
