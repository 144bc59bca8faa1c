"""The upload form's job spec and the approve button (issue 24), in the real headless browser,
against a local target with ``OCIFT_APPROVAL=required``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.support.ui import Served, records, screenshot, serve_page, wait_for
from tests.ui.test_browser import open_page, row, row_state

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


@pytest.fixture(scope="module")
def gated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve_page(tmp_path_factory.mktemp("ui-gated"),
                    settings_overrides={"OCIFT_APPROVAL": "required"}) as page:
        yield page


def test_the_form_is_prefilled_and_the_approve_button_starts_training(
        browser: Any, gated: Served) -> None:
    path = gated.root / "gated.json"
    path.write_text(json.dumps(records()), encoding="utf-8")
    open_page(browser, gated)
    wait_for(lambda: browser.find_element(By.ID, "spec-epochs"), 30, "the job spec fields")
    browser.find_element(By.CSS_SELECTOR, "#upload-spec summary").click()
    epochs = browser.find_element(By.ID, "spec-epochs")
    assert epochs.get_attribute("value") == "5"  # OCIFT_EPOCHS, the pipeline's default
    assert browser.find_element(By.ID, "spec-base_model").get_attribute("value") == \
        "cohere.command-r-08-2024"
    method = Select(browser.find_element(By.ID, "spec-training_method"))
    assert method.first_selected_option.text == "auto"
    assert browser.find_element(By.ID, "spec-learning_rate").get_attribute("value") == ""
    epochs.clear()
    epochs.send_keys("2")
    method.select_by_visible_text("LORA")
    browser.find_element(By.ID, "upload-name").send_keys("gated-page")
    browser.find_element(By.ID, "upload-file").send_keys(str(path))
    wait_for(lambda: "raw/gated-page.json" in browser.find_element(By.ID, "upload-result").text,
             30, "the upload to be confirmed")
    emu = gated.target.emulator
    head = emu.objectstorage.head_object(emu.namespace, "ocift-datasets", "raw/gated-page.json")
    meta = {k: v for k, v in (head.metadata or {}).items() if "ocift" in k}
    assert meta == {"ocift-epochs": "2", "ocift-training-method": "LORA"}, \
        head.metadata  # only what was changed travels with the file

    wait_for(lambda: row_state(browser, "gated-page") == "AWAITING_APPROVAL", 60,
             "AWAITING_APPROVAL in the row")
    wait_for(lambda: row(browser, "gated-page").find_element(
        By.CSS_SELECTOR, "a.dataset-link").click() or True, 30, "the dataset link")
    # The view re-renders on every poll: read each text in one retried step.
    plan = wait_for(lambda: browser.find_element(By.ID, "plan").text, 30, "the plan")
    assert "create 8 x SMALL_COHERE_V2" in plan  # the train stage looked: none to reuse
    assert "744" in plan and "LORA" in plan
    spec = wait_for(lambda: browser.find_element(By.ID, "job-spec").text, 30, "the job")
    assert "epochs * 2" in spec and "training method * LORA" in spec
    screenshot(browser, "awaiting-approval")
    waiting = gated.server.view.dataset("gated-page")
    assert waiting.status is not None and waiting.status.finetuning_cluster_id is None
    assert waiting.models == []  # nothing created yet
    wait_for(lambda: browser.find_element(By.ID, "approve").click() or True, 30,
             "the approve button")

    def decided() -> bool:  # the page says so, or has already moved past waiting
        shown = browser.find_elements(By.ID, "decision-result")
        assert not (shown and "error" in (shown[0].get_attribute("class") or "")), shown[0].text
        return (bool(shown) and "approved" in shown[0].text) or not shown

    wait_for(decided, 30, "the approval")

    def serving() -> bool:
        status = gated.server.view.dataset("gated-page").status
        return status is not None and status.state.value == "ENDPOINT_ACTIVE"

    wait_for(serving, 120, "gated-page to serve after approval")
    status = gated.server.view.dataset("gated-page").status
    assert status is not None and status.spec is not None
    assert (status.spec.epochs, status.training_method) == (2, "LORA")
