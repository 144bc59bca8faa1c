"""The web page tests: a served target, the headless browser, page waits and screenshots."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deploy.local.target import LocalTarget
from shared.ui.server import UiServer
from tests.support.wait import wait_until

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
BROWSER_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1400,1000",
                 "--disable-dev-shm-usage")


def records(n: int = 36, topic: str = "coverage ratio") -> list[dict[str, str]]:
    """``n`` finance-alpaca-shaped records about ``topic``."""
    return [{"instruction": f"How is the {topic} of lender {i} computed?", "input": "",
             "output": f"Lender {i} divides operating income by interest expense."}
            for i in range(n)]


def wait_for(check: Callable[[], Any], timeout: float = 60.0, what: str = "condition") -> Any:
    """Poll the page with ``check`` until it returns something truthy; an exception (the page
    is mid-render) counts as not yet. Fails with ``what`` and the last result on timeout."""
    last: list[Any] = [None]

    def page_check() -> Any:
        try:
            last[0] = check()
        except Exception as exc:  # the page is mid-render; try again
            last[0] = exc
            return None
        return last[0]

    return wait_until(page_check, lambda: f"{what} (last: {last[0]!r})", timeout=timeout,
                      interval=0.2)


@dataclass
class Served:
    """A running local target with ``ocift ui`` in front of it."""

    target: LocalTarget
    server: UiServer
    root: Path
    logged_in: bool = False

    @property
    def url(self) -> str:
        return self.server.url

    def login(self, driver: Any) -> None:
        """Open the one-time login link in ``driver`` (once: the link works once)."""
        if not self.logged_in:
            driver.get(self.server.login_url)
            self.logged_in = True

    def ocift(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run the ``ocift`` CLI as a user would, against this target."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("OCIFT_")}
        env["PYTHONPATH"] = str(REPO)
        return subprocess.run([sys.executable, "-m", "shared.cli.main", *args,
                               "--state-dir", str(self.target.state_dir)], cwd=self.root,
                              env=env, capture_output=True, text=True, timeout=120, check=False)

    def upload(self, data: Any, filename: str, name: str | None = None) -> None:
        path = self.root / filename
        path.write_text(json.dumps(data), encoding="utf-8")
        done = self.ocift("upload", str(path), *(("--name", name) if name else ()))
        assert done.returncode == 0, done.stderr


def screenshot(driver: Any, name: str) -> Path:
    """Save a full-page screenshot under tests/artifacts/ (a test artifact, gitignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1400, max(800, min(int(height) + 40, 4000)))
    path = ARTIFACTS / f"ui-{name}.png"
    assert driver.save_screenshot(str(path)), f"screenshot {path} failed"
    driver.set_window_size(1400, 1000)
    return path


@contextlib.contextmanager
def serve_page(root: Path, **target_kwargs: Any) -> Iterator[Served]:
    """A fast-paced local target in ``root/.ocift`` with ``ocift ui`` in front of it."""
    from shared import caches
    from shared.cli.connection import Connection, local_settings
    from shared.cli.demo import fast_paces
    from shared.ui.view import PipelineView

    target = LocalTarget(root / ".ocift", watch_interval=0.2, backoff_base=0.05,
                         **target_kwargs)
    with target:
        fast_paces(target)
        caches.reset_all()
        assert target.info is not None
        conn = Connection(local_settings(target.info), f"{target.info.gateway_url}/infer",
                          local=True)
        server = UiServer(PipelineView(conn, target.state_dir, poll_seconds=0.5)).start()
        try:
            yield Served(target, server, root)
        finally:
            server.stop()
    caches.reset_all()
