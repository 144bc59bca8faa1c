"""Fixtures for the web page: a running local target with ``ocift ui`` in front of it, and
Debian's headless Chromium driven by Selenium through Debian's chromedriver.

The browser is required: a missing one FAILS these tests (``scripts/test.sh`` installs it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from deploy.local.target import LocalTarget
from shared import clients
from shared.cli.connection import Connection, local_settings
from shared.cli.demo import fast_paces
from shared.ui.server import UiServer
from shared.ui.view import PipelineView

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
BROWSER_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1400,1000",
                 "--disable-dev-shm-usage")


def records(n: int = 36, topic: str = "coverage ratio") -> list[dict[str, str]]:
    return [{"instruction": f"How is the {topic} of lender {i} computed?", "input": "",
             "output": f"Lender {i} divides operating income by interest expense."}
            for i in range(n)]


def wait_for(check: Callable[[], Any], timeout: float = 60.0, what: str = "condition") -> Any:
    """Poll ``check`` until it returns something truthy; fail with ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except Exception as exc:  # the page is mid-render; try again
            last = exc
        else:
            if last:
                return last
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


@dataclass
class Served:
    target: LocalTarget
    server: UiServer
    root: Path

    @property
    def url(self) -> str:
        return self.server.url

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


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("ui")
    target = LocalTarget(root / ".ocift", watch_interval=0.2, backoff_base=0.05)
    with target:
        fast_paces(target)
        clients.reset_clients()
        assert target.info is not None
        conn = Connection(local_settings(target.info), f"{target.info.gateway_url}/infer",
                          local=True)
        server = UiServer(PipelineView(conn, target.state_dir, poll_seconds=0.5)).start()
        try:
            yield Served(target, server, root)
        finally:
            server.stop()
    clients.reset_clients()


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.is_file()]
    if missing:
        pytest.fail(f"headless browser missing ({', '.join(missing)}): install it with "
                    "'apt-get update && apt-get install -y chromium chromium-driver' "
                    "(scripts/test.sh, the README's test command, does)", pytrace=False)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in BROWSER_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def screenshot(driver: Any, name: str) -> Path:
    """Save a full-page screenshot under tests/artifacts/ (a test artifact, gitignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1400, max(800, min(int(height) + 40, 4000)))
    path = ARTIFACTS / f"ui-{name}.png"
    assert driver.save_screenshot(str(path)), f"screenshot {path} failed"
    driver.set_window_size(1400, 1000)
    return path
