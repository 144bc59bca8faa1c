"""Helpers for the end-to-end tests (imported by name: tests/e2e is on sys.path)."""

from __future__ import annotations

from typing import Any

from deploy.local.target import LocalTarget


class RecordingTarget(LocalTarget):
    """A LocalTarget that also keeps every Object Storage event it emitted."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.events: list[dict[str, Any]] = []

    def _on_event(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        super()._on_event(event)
