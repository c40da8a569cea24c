"""``/v2/users`` routes: the Users API and the Contact API."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import Response
from flask import g
from flask import request

from scim_bridge.simulator.config import SimulatorConfig
from scim_bridge.simulator.listing import page_links
from scim_bridge.simulator.listing import parse_list_params
from scim_bridge.simulator.responses import done
from scim_bridge.simulator.responses import envelope
from scim_bridge.simulator.state import SimulatorState


def body() -> dict[str, Any]:
    """The JSON object the pipeline parsed (empty for a body-less write)."""
    return dict(g.get("body") or {})


def users_blueprint(state: SimulatorState, config: SimulatorConfig) -> Blueprint:
    bp = Blueprint("sim_users", __name__, url_prefix="/v2/users")

    @bp.post("", strict_slashes=False)
    def create_user() -> Response:
        user = state.create_user(body())
        return done(user, "Created", status=201, name_key="username")

    @bp.get("", strict_slashes=False)
    def list_users() -> Response:
        params = parse_list_params(
            request.args, max_limit=config.users_max_limit, over_max=config.users_over_max_limit
        )
        total, users = state.query_users(params)
        links = page_links(request.host_url.rstrip("/") + "/v2/users", params, total)
        response = envelope(users, paging=links, totalCount=total)
        for name, url in links.items():
            response.headers[f"X-Paging-{name.capitalize()}"] = url
        return response

    @bp.get("/<identifier>")
    def get_user(identifier: str) -> Response:
        expand = {part.strip().lower() for part in request.args.get("expand", "").split(",")}
        user = state.get_user(identifier, expand_contacts="contact" in expand)
        return envelope(user, expandable=["contact"])

    @bp.patch("/<identifier>")
    def update_user(identifier: str) -> Response:
        user = state.update_user(identifier, body())
        return done(user, "Updated", name_key="username")

    @bp.delete("/<identifier>")
    def delete_user(identifier: str) -> Response:
        state.delete_user(identifier)
        return envelope(result="Deleted")

    @bp.get("/<identifier>/teams")
    def user_teams(identifier: str) -> Response:
        return envelope(state.user_teams(identifier))

    @bp.get("/<identifier>/contacts")
    def list_contacts(identifier: str) -> Response:
        return envelope(state.list_contacts(identifier))

    @bp.post("/<identifier>/contacts")
    def create_contact(identifier: str) -> Response:
        contact = state.create_contact(identifier, body())
        return envelope({"id": contact["id"]}, result="Created", status=201)

    @bp.get("/<identifier>/contacts/<contact_id>")
    def get_contact(identifier: str, contact_id: str) -> Response:
        return envelope(state.get_contact(identifier, contact_id))

    @bp.patch("/<identifier>/contacts/<contact_id>")
    def update_contact(identifier: str, contact_id: str) -> Response:
        contact = state.update_contact(identifier, contact_id, body())
        return envelope({"id": contact["id"]}, result="Updated")

    @bp.delete("/<identifier>/contacts/<contact_id>")
    def delete_contact(identifier: str, contact_id: str) -> Response:
        state.delete_contact(identifier, contact_id)
        return envelope(result="Deleted")

    @bp.post("/<identifier>/contacts/<contact_id>/enable")
    def enable_contact(identifier: str, contact_id: str) -> Response:
        contact = state.set_contact_enabled(identifier, contact_id, True)
        return envelope({"id": contact["id"]}, result="Enabled")

    @bp.post("/<identifier>/contacts/<contact_id>/disable")
    def disable_contact(identifier: str, contact_id: str) -> Response:
        contact = state.set_contact_enabled(identifier, contact_id, False)
        return envelope({"id": contact["id"]}, result="Disabled")

    return bp
