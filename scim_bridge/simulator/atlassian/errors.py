"""Errors of the Atlassian simulator and their bodies, which differ per API family (contract notes, section 2).

- Teams: ``{"code": "<string>", "message": "<string>"}``
- JSM Operations: ``{"errors": [{"title", "code"}]}`` (or ``{"errors": {"<title>": "<code>"}}``, the
  other shape seen, with ``jsm_error_shape = "object"``); its 401 is ``{"code": 401, "message"}``
- Jira: ``{"errorMessages": [...], "errors": {}}``
- Admin: ``{"errors": [{"id", "code", "status", "title", "detail"}]}``
"""

from __future__ import annotations

import json
import uuid
from enum import StrEnum
from http import HTTPStatus
from typing import Any

from flask import Response


class Family(StrEnum):
    TEAMS = "teams"
    JSM = "jsm"
    JIRA = "jira"
    ADMIN = "admin"
    OTHER = "other"


FAMILY_PREFIXES: tuple[tuple[str, Family], ...] = (
    ("/gateway/api/public/teams/", Family.TEAMS),
    ("/jsm/ops/api/", Family.JSM),
    ("/rest/api/3/", Family.JIRA),
    ("/admin/", Family.ADMIN),
)


def family_of(path: str) -> Family:
    return next((family for prefix, family in FAMILY_PREFIXES if path.startswith(prefix)), Family.OTHER)


class ApiError(Exception):
    """A failure of an API call; rendered in the body shape of the family the request belongs to.

    ``code`` defaults to the status name (``NOT_FOUND``); the admin family shows ``title`` (default:
    the reason phrase) and ``message`` as ``detail``. ``fields`` fills the Jira ``errors`` map.
    """

    def __init__(
        self,
        status: int,
        message: str | None = None,
        *,
        code: str | None = None,
        title: str | None = None,
        fields: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.phrase = _phrase(status)
        self.message = message or self.phrase
        self.code = code or self.phrase.upper().replace(" ", "_")
        self.title = title or self.phrase
        self.fields = fields or {}
        super().__init__(f"{status}: {self.message}")


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def bad_request(message: str, **kwargs: Any) -> ApiError:
    return ApiError(400, message, **kwargs)


def not_found(message: str, **kwargs: Any) -> ApiError:
    return ApiError(404, message, **kwargs)


def error_body(error: ApiError, family: Family, *, jsm_object: bool = False) -> dict[str, Any]:
    if family is Family.JSM:
        if error.status == 401:
            return {"code": 401, "message": error.message}
        if jsm_object:
            return {"errors": {error.message: error.code}}
        return {"errors": [{"title": error.message, "code": error.code}]}
    if family is Family.JIRA:
        return {"errorMessages": [error.message], "errors": dict(error.fields)}
    if family is Family.ADMIN:
        item = {
            "id": str(uuid.uuid4()),
            "code": error.code,
            "status": str(error.status),
            "title": error.title,
            "detail": error.message,
        }
        return {"errors": [item]}
    return {"code": error.code, "message": error.message}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json", headers=headers)


def empty_response(status: int = 204) -> Response:
    return Response(b"", status=status)


def error_response(error: ApiError, family: Family, *, jsm_object: bool = False) -> Response:
    return json_response(error_body(error, family, jsm_object=jsm_object), error.status)
