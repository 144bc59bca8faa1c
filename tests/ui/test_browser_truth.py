"""The page tells what is true now (issue 27): a deleted endpoint is not "serving"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from tests.support.ui import Served, screenshot, wait_for
from tests.ui.test_browser import ensure_active, open_page, row, row_state

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


def _serving(driver: Any) -> int:
    counters = driver.find_element(By.ID, "counters").text
    return int(counters.split(" serving")[0].split()[-1])


def test_after_down_the_page_shows_the_model_kept_and_nothing_serving(
        browser: Any, served: Served) -> None:
    ensure_active(served, "gone")
    open_page(browser, served)
    wait_for(lambda: row_state(browser, "gone") == "ENDPOINT_ACTIVE", 30, "gone serving")
    before = _serving(browser)
    done = served.ocift("down", "gone", "--yes", "--interval", "0.1")
    assert done.returncode == 0, done.stdout + done.stderr
    wait_for(lambda: row_state(browser, "gone") == "MODEL_ACTIVE", 30, "MODEL_ACTIVE in the row")
    wait_for(lambda: _serving(browser) == before - 1, 30, "one dataset fewer serving")
    wait_for(lambda: "ocift serve gone" in row(browser, "gone").text, 30, "the serve hint")
    resources = browser.find_element(By.ID, "resources").text
    assert "DELETED" not in resources  # billable now: live resources only
    history = browser.find_element(By.ID, "deleted-resources")
    wait_for(lambda: history.is_displayed() and "DELETED" in history.text, 30,
             "the deleted endpoint and cluster under Deleted resources")
    screenshot(browser, "after-down")


def test_the_model_versions_table_is_readable_at_1400_px(browser: Any, served: Served) -> None:
    """Issue 27: the versions' state was squeezed into a narrow column beside the model's
    lifecycle details; at 1400 px the table takes the row, the details a line of their own."""
    ensure_active(served, "lending")
    browser.set_window_size(1400, 1000)
    open_page(browser, served, "#dataset=lending")
    state = wait_for(lambda: browser.find_element(By.CSS_SELECTOR,
                                                  "#versions [data-field=version-state]"),
                     30, "the versions table")
    details = browser.find_element(By.CSS_SELECTOR, "#versions [data-field=version-details]")
    card = browser.find_element(By.ID, "versions")
    view = browser.find_element(By.ID, "view-dataset")
    assert state.text == "ACTIVE"
    assert card.size["width"] >= 0.95 * view.size["width"]  # the whole row of cards
    assert details.size["width"] >= 0.9 * card.size["width"] - 40, details.size
    lines = browser.execute_script(
        "const r = document.createRange(); r.selectNodeContents(arguments[0]);"
        "return r.getClientRects().length", state)
    assert lines == 1  # the state reads on one line
    assert "similarity" in details.text  # the stand-in's floor sentence, readable
    screenshot(browser, "versions-1400px")


def test_a_dead_lettered_upload_shows_under_its_row_with_the_error(
        browser: Any, tmp_path: Path) -> None:
    """No report, no status: the row reads DEAD_LETTERED and says why (issue 27)."""
    from deploy.local.target import LocalTarget
    from shared import caches
    from shared.cli.connection import Connection, local_settings
    from shared.ui.server import UiServer
    from shared.ui.view import PipelineView
    from tests.support.local import make_fn

    fn_dir = tmp_path / "calls"
    fn_dir.mkdir()
    target = LocalTarget(tmp_path / ".ocift", watch_interval=0, max_attempts=2,
                         backoff_base=0.05,
                         function_overrides={"convert": make_fn("convert", "always_fail",
                                                                TESTFN_DIR=str(fn_dir))})
    with target:
        assert target.info is not None
        conn = Connection(local_settings(target.info), f"{target.info.gateway_url}/infer",
                          local=True)
        server = UiServer(PipelineView(conn, target.state_dir, poll_seconds=0.5)).start()
        try:
            served = Served(target, server, tmp_path)
            served.upload([{"instruction": "q", "input": "", "output": "a"}], "loans.json")
            assert target.wait_idle(60)
            open_page(browser, served)
            wait_for(lambda: row_state(browser, "loans") == "DEAD_LETTERED", 30,
                     "DEAD_LETTERED in the row")
            letter = row(browser, "loans").find_element(By.CSS_SELECTOR,
                                                        "[data-field=dead_letter]")
            assert "convert of raw/loans.json gave up after 2 attempts" in letter.text
            screenshot(browser, "dead-lettered-row")
        finally:
            server.stop()
            caches.reset_all()
