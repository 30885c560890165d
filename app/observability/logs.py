"""Log lines: JSON (one object a line) in production, readable console lines in
development; every line through the standard ``logging`` module, rendered by structlog.

Application code logs with ``logging.getLogger(...)`` and passes fields as ``extra``;
lines made during a request carry its ``request_id`` (``requests.py`` sets it). Before
rendering, every string in a line is scrubbed of credentials: bearer tokens, API keys and
the values of secret-looking query parameters (stream tickets travel in ``?ticket=``), so
that neither our lines nor uvicorn's access log ever carry one.

The configuration is a ``logging.config.dictConfig`` dict, so that uvicorn applies it in
each of its worker processes (``--workers N``) as well.
"""

from __future__ import annotations

import logging
import logging.config
import re
from contextvars import ContextVar
from typing import Any

import structlog
from structlog.typing import EventDict

# The request being served by this task (set by the request middleware).
request_id_var: ContextVar[str | None] = ContextVar("whistle_request_id", default=None)

_SECRET_PARAMS = re.compile(
    r"(?i)([?&;](?:ticket|token|access_token|refresh_token|api_key|apikey|key|password|secret)=)"
    r"[^&;\s\"']*")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+")
_API_KEY_HEADER = re.compile(r"(?i)(x-api-key['\"]?\s*[:=]\s*['\"]?)[^\s'\",}]+")
REDACTED = "***"


def redact(text: str) -> str:
    """``text`` with credentials replaced by ``***``."""
    if "=" not in text and "earer" not in text and "api-key" not in text.lower():
        return text  # the common case, without running three expressions
    text = _SECRET_PARAMS.sub(rf"\1{REDACTED}", text)
    text = _BEARER.sub(rf"\1{REDACTED}", text)
    return _API_KEY_HEADER.sub(rf"\1{REDACTED}", text)


def _redact_values(_logger: Any, _name: str, event: EventDict) -> EventDict:
    for key, value in event.items():
        if isinstance(value, str):
            event[key] = redact(value)
    return event


def _add_request_id(_logger: Any, _name: str, event: EventDict) -> EventDict:
    if "request_id" not in event and (request_id := request_id_var.get()) is not None:
        event["request_id"] = request_id
    return event


def _drop_color_message(_logger: Any, _name: str, event: EventDict) -> EventDict:
    event.pop("color_message", None)  # uvicorn's copy of the message with terminal colours
    return event


def make_formatter(fmt: str = "console") -> logging.Formatter:
    """The one formatter of every handler (``fmt``: ``json`` or ``console``)."""
    renderer = (structlog.processors.JSONRenderer(ensure_ascii=False) if fmt == "json"
                else structlog.dev.ConsoleRenderer(colors=False))
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.ExtraAdder(),
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _add_request_id,
            _drop_color_message,
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _redact_values,
            renderer,
        ],
    )


def logging_config(fmt: str = "console", level: str = "INFO") -> dict[str, Any]:
    """A ``dictConfig`` for the API (handed to uvicorn) and the worker."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"whistle": {"()": make_formatter, "fmt": fmt}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "whistle",
                                "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            # uvicorn's own handlers are replaced by ours (its lines are formatted alike).
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": True},
            "alembic.runtime.plugins": {"level": "WARNING"},  # a line per plugin, per process
        },
    }


def configure_logging(fmt: str = "console", level: str = "INFO") -> None:
    logging.config.dictConfig(logging_config(fmt, level))
