"""RFC 3339 timestamps as OCI renders them."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def rfc3339(epoch: float | None = None) -> str:
    """``2024-01-02T03:04:05.678Z`` for ``epoch`` (now by default)."""
    moment = datetime.fromtimestamp(time.time() if epoch is None else epoch, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
