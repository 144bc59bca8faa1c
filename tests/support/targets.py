"""The local target as the end-to-end tests run it."""

from __future__ import annotations

from typing import Any

from deploy.local.emulator import Emulator
from deploy.local.target import LocalTarget


class RecordingTarget(LocalTarget):
    """A LocalTarget that also keeps every Object Storage event it emitted."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.events: list[dict[str, Any]] = []

    def _on_event(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        super()._on_event(event)


def set_paces(emulator: Emulator, provisioning_seconds: float,
              seconds_per_epoch: float) -> None:
    """How long the emulated clusters and endpoints provision and each epoch trains."""
    config = emulator.genai.control.config
    config.provisioning_seconds = provisioning_seconds
    config.seconds_per_epoch = seconds_per_epoch
