"""Structured JSON logging: one line per record, with the invocation's context.

Context (function, stage, object, request id) is bound per invocation with
:func:`bind` and cleared by :func:`clear`. Only fields passed explicitly are
logged; dataset contents, prompts and credentials never are (the formatter
also redacts any ``extra`` key on the deny list, defence in depth). The one
way past the deny list is a value wrapped in :class:`Disclosed`, which the
inference stage uses only when ``OCIFT_LOG_PROMPTS=true``.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "ocift_log_context", default=None
)

#: Keys whose values must never reach a log line.
SENSITIVE_KEYS = frozenset(
    {"prompt", "completion", "messages", "text", "content", "key_content", "private_key",
     "pass_phrase", "passphrase", "authorization", "signature", "token", "record"}
)
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class Disclosed:
    """A value logged even under a sensitive key: the caller opted in (``OCIFT_LOG_PROMPTS``)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"Disclosed({self.value!r})"


def _rendered(key: str, value: Any) -> Any:
    if isinstance(value, Disclosed):
        return value.value
    return "[redacted]" if key.lower() in SENSITIVE_KEYS else value


class JsonFormatter(logging.Formatter):
    """Render a record as one JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(_context.get() or {})
        for key, value in record.__dict__.items():
            if key in _STANDARD or key.startswith("_"):
                continue
            entry[key] = _rendered(key, value)
        if record.exc_info and record.exc_info[0] is not None:
            entry["error_type"] = record.exc_info[0].__name__
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure(level: str = "INFO", stream: Any = None) -> None:
    """Install the JSON formatter on the root logger once (idempotent)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        # fdk installs a plain "<call id> - logger - LEVEL - message" handler on the root
        # logger at import; with ours beside it every line would be written twice.
        if type(handler.formatter).__module__.startswith("fdk"):
            root.removeHandler(handler)
    for handler in root.handlers:
        if isinstance(handler.formatter, JsonFormatter):
            root.setLevel(level.upper())
            return
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    # The SDK and urllib3 log request details at DEBUG; keep them quiet.
    for noisy in ("oci", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def bind(**fields: Any) -> None:
    """Add context fields (function, stage, object, request_id...) to later log lines."""
    current = dict(_context.get() or {})
    current.update({k: v for k, v in fields.items() if v is not None})
    _context.set(current)


def clear() -> None:
    _context.set({})


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(name)
