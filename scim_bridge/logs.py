"""Structured logs through structlog: one JSON object per line.

The bridge logs with structlog (``get_logger``); records of plain ``logging`` loggers (libraries, the
sync thread) go through the same formatter, so every line the bridge writes is one JSON object, and a
value that holds a CR, LF or control character (a request path) is escaped inside its string, never a
line break. The request id is bound once per request (``bind_request``) and appears on every line logged
while that request is served.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from typing import TextIO

import orjson


@contextmanager
def _without(*names: str) -> Iterator[None]:
    """``import NAME`` raises ImportError inside the block for each of ``names`` not imported yet."""
    hidden = [name for name in names if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        for name in hidden:
            del sys.modules[name]


# structlog's package loads its console renderer and traceback helpers, which import rich (and with it pygments)
# when it is installed, as it is for the CLI's progress bars (ops/progress.py, which imports it when it draws).
# The bridge renders JSON only: hidden while structlog loads, rich stays out of every process that does not draw a
# progress bar (each CLI command, gunicorn's master and workers), which starts faster.
with _without("rich", "better_exceptions"):
    import structlog

HANDLER_NAME = "scim_bridge.json"


def _orjson_dumps(value: Any, **_kw: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def _shared() -> list[structlog.typing.Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def _route_structlog_to_logging() -> None:
    """structlog hands its events to the standard ``logging`` loggers (caplog and gunicorn see them)."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared(),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def _drop_record(_logger: structlog.typing.WrappedLogger, _name: str,
                 event: structlog.typing.EventDict) -> structlog.typing.EventDict:
    event.pop("_record", None)
    event.pop("_from_structlog", None)
    return event


def formatter() -> logging.Formatter:
    """Renders any log record, structlog's or plain ``logging``'s, as one JSON object."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared(),
        processors=[
            _drop_record,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(serializer=_orjson_dumps),
        ],
    )


def configure(level: str = "INFO", stream: TextIO | None = None) -> None:
    """Write every log record at ``level`` or above to ``stream`` (stderr) as JSON lines. Idempotent."""
    root = logging.getLogger()
    for existing in list(root.handlers):
        if existing.get_name() == HANDLER_NAME:
            root.removeHandler(existing)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(formatter())
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))


def gunicorn_logconfig(level: str = "INFO") -> dict[str, Any]:
    """gunicorn's ``logconfig_dict``: its own lines (start, workers, stop) as JSON on stderr like the bridge's."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": formatter}},
        "handlers": {HANDLER_NAME: {"class": "logging.StreamHandler", "formatter": "json",
                                    "stream": "ext://sys.stderr"}},
        "root": {"level": level.upper(), "handlers": [HANDLER_NAME]},
        "loggers": {
            "gunicorn.error": {"level": level.upper(), "handlers": [], "propagate": True},
            # The bridge writes its own access line (with the request id); gunicorn's would repeat it.
            "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
        },
    }


def get_logger(name: str) -> Any:
    """A structlog logger writing through the ``logging`` logger ``name``."""
    return structlog.stdlib.get_logger(name)


def bind_request(request_id: str) -> None:
    """Start a request's log context: ``request_id`` on every line until ``end_request``."""
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id)


def end_request() -> None:
    structlog.contextvars.clear_contextvars()


_route_structlog_to_logging()
