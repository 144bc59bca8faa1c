"""``ocift ui`` follows the local target: each request re-reads ``target.json``.

A restarted ``ocift up`` has a new emulator port, key and pid; the page's view is rebuilt
for it on the next request, with no restart of ``ocift ui``. When no target runs (its lock
is free) the answer is at once a 503 that says so, instead of SDK retries against a dead
port ending in connection-pool text.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from shared.ui.errors import UiError

if TYPE_CHECKING:
    from shared.ui.view import PipelineView

log = logging.getLogger("ocift.ui")


class TargetFollower:
    """The view of the target running on ``state_dir`` now (``make_view`` builds one)."""

    def __init__(self, state_dir: Path, make_view: Callable[[], PipelineView]) -> None:
        self.state_dir = state_dir
        self._make_view = make_view
        self._key: tuple[object, ...] | None = None
        self._view: PipelineView | None = None
        self._lock = threading.Lock()

    def view(self) -> PipelineView:
        """The current target's view; 503 ``target_not_running`` when none runs."""
        from deploy.local.info import TargetNotRunning, TargetStarting, running_info

        try:
            info = running_info(self.state_dir)
        except TargetStarting:
            raise UiError(503, "target_not_running", f"the local target in {self.state_dir} "
                          "is (re)starting: this page reconnects by itself in a moment") from None
        except TargetNotRunning:
            raise UiError(503, "target_not_running", f"the local target in {self.state_dir} "
                          "is not running: start it again with 'ocift up'; this page "
                          "reconnects by itself") from None
        except ValueError:
            raise UiError(503, "target_not_running", f"the local target in {self.state_dir} "
                          "is starting or stopping (its target.json is incomplete); this "
                          "page reconnects by itself") from None
        key = (info.pid, info.started_at, info.emulator_endpoint, info.gateway_url)
        with self._lock:
            if key != self._key or self._view is None:
                if self._key is not None:
                    log.info("ocift ui: the local target restarted (pid %s); following it",
                             info.pid)
                try:
                    self._view = self._make_view()
                except Exception:
                    raise UiError(503, "target_not_running", "the local target in "
                                  f"{self.state_dir} restarted and cannot be read yet; this "
                                  "page reconnects by itself") from None
                self._key = key
            return self._view
