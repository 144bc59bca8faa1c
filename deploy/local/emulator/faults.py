"""Injected faults for the whole emulator: throttling (429), server errors (500), latency.

Deterministic for a given seed (one shared random stream, drawn once per request
in arrival order). Settable at start (``Faults(rate_429=..., ...)`` handed to
``build_emulator``) and at run time (:meth:`Faults.update`, or ``POST /_emulator/faults``).
"""

from __future__ import annotations

import random
import threading
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class FaultSettings(BaseModel):
    """What to inject; rates are probabilities per request in ``[0, 1]``."""

    model_config = ConfigDict(extra="forbid")

    rate_429: float = Field(default=0.0, ge=0.0, le=1.0)
    rate_500: float = Field(default=0.0, ge=0.0, le=1.0)
    latency_ms: float = Field(default=0.0, ge=0.0, le=60_000.0)
    retry_after_s: int = Field(default=1, ge=0, le=3600)
    seed: int = 0


class Faults:
    """Thread-safe fault decisions for incoming requests."""

    def __init__(self, settings: FaultSettings | None = None, **values: Any) -> None:
        self._lock = threading.Lock()
        self._settings = settings or FaultSettings(**values)
        self._random = random.Random(self._settings.seed)  # noqa: S311 - fault injection, not crypto

    @property
    def settings(self) -> FaultSettings:
        with self._lock:
            return self._settings

    def update(self, **values: Any) -> FaultSettings:
        """Change some settings; a given ``seed`` restarts the random stream."""
        with self._lock:
            merged = self._settings.model_dump()
            merged.update(values)
            self._settings = FaultSettings(**merged)
            if "seed" in values:
                self._random = random.Random(self._settings.seed)  # noqa: S311 - fault injection, not crypto
            return self._settings

    def draw(self) -> tuple[float, int | None]:
        """``(latency seconds, status to fail with or None)`` for the next request."""
        with self._lock:
            s = self._settings
            if not (s.rate_429 or s.rate_500):
                return s.latency_ms / 1000.0, None
            roll = self._random.random()
        if roll < s.rate_429:
            return s.latency_ms / 1000.0, 429
        if roll < s.rate_429 + s.rate_500:
            return s.latency_ms / 1000.0, 500
        return s.latency_ms / 1000.0, None
