"""The one exception type of the simulator: an OpsGenie error response waiting to be sent."""

from __future__ import annotations

from dataclasses import KW_ONLY
from dataclasses import dataclass
from dataclasses import field

NOT_FOUND_MESSAGE = "Entity cannot be found for the given identifier"

STATUS_MESSAGES: dict[int, str] = {
    400: "Could not parse the request body",
    401: "Could not authenticate",
    403: "You are not authorized for this operation",
    404: NOT_FOUND_MESSAGE,
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Entity conflicts with another entity",
    415: "Unsupported media type, use application/json",
    422: "Request body is not valid",
    428: "Entity is being used by another entity",
    429: "You are making too many requests!",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass(eq=False)
class SimError(Exception):
    """An OpsGenie-style failure: ``status`` plus the body fields ``message`` (by default the status's usual
    one) and ``errors``.

    ``code`` is the internal code some statuses carry (40301 for "key lacks the right").
    """

    status: int
    message: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    _: KW_ONLY
    code: int | None = None

    def __post_init__(self) -> None:
        self.message = self.message or STATUS_MESSAGES.get(self.status, "Error")
        super().__init__(f"{self.status}: {self.message}")


def not_found(message: str = NOT_FOUND_MESSAGE) -> SimError:
    return SimError(404, message)


def invalid(errors: dict[str, str]) -> SimError:
    """422 with the ``errors`` map; the message repeats the first problem, as OpsGenie does."""
    first = next(iter(errors.values()), STATUS_MESSAGES[422])
    return SimError(422, first, errors)
