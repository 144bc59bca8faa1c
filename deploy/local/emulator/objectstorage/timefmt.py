"""Timestamps as Object Storage renders them."""

from __future__ import annotations

import email.utils
import time
from datetime import UTC, datetime


def now() -> float:
    """Seconds since the epoch (stored form)."""
    return time.time()


def rfc3339(stamp: float) -> str:
    """``2026-11-25T08:23:50.123Z`` (JSON bodies)."""
    moment = datetime.fromtimestamp(stamp, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def http_date(stamp: float) -> str:
    """``Wed, 25 Nov 2026 08:23:50 GMT`` (``last-modified`` header)."""
    return email.utils.formatdate(stamp, usegmt=True)
