"""The page in a real headless Chromium against a running local target.

Each test drives what a user does (upload with ``ocift upload`` or on the page, watch,
open a dataset, ask) and saves a screenshot of the view under tests/artifacts/.
"""

from __future__ import annotations

from typing import Any

import pytest
from selenium.webdriver.common.by import By

from tests.support.ui import Served, records, screenshot, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

SCRIPT_NAME = "<script>window.__pwned=1</script><img src=x onerror=window.__pwned=2>"


def row(driver: Any, dataset: str) -> Any:
    """The datasets table row of ``dataset`` (matched on the attribute, not on markup)."""
    for tr in driver.find_elements(By.CSS_SELECTOR, "#datasets tbody tr"):
        if tr.get_attribute("data-dataset") == dataset:
            return tr
    return None


def row_state(driver: Any, dataset: str) -> str:
    found = row(driver, dataset)
    return found.find_element(By.CSS_SELECTOR, "[data-field=state]").text if found else ""


def open_page(driver: Any, served: Served, fragment: str = "") -> None:
    served.login(driver)
    driver.get(served.url + fragment)
    wait_for(lambda: driver.find_element(By.ID, "live").text.startswith("updated"),
             30, "the first poll")


def ensure_active(served: Served, dataset: str) -> None:
    """``dataset`` is uploaded (36 good records + 1 bad one) and serving."""
    rows = {r.dataset: r for r in served.server.view.overview().datasets}
    if dataset not in rows:
        served.upload([*records(), {"instruction": "", "input": "", "output": "orphan"}],
                      f"{dataset}.json")
    wait_for(lambda: any(r.dataset == dataset and r.state == "ENDPOINT_ACTIVE"
                         for r in served.server.view.overview().datasets), 90,
             f"{dataset} to serve")


def test_an_uploaded_dataset_appears_and_reaches_endpoint_active_without_a_reload(
        browser: Any, served: Served) -> None:
    open_page(browser, served)
    browser.execute_script("window.__sameDocument = 'still here'")
    assert row(browser, "lending") is None
    served.upload([*records(), {"instruction": "", "input": "", "output": "orphan"}],
                  "lending.json")  # `ocift upload lending.json`
    wait_for(lambda: row(browser, "lending"), 30, "the new dataset's row")
    wait_for(lambda: row_state(browser, "lending") == "ENDPOINT_ACTIVE", 90,
             "ENDPOINT_ACTIVE in the row")
    assert browser.execute_script("return window.__sameDocument") == "still here"  # no reload
    tr = row(browser, "lending")
    steps = {s.get_attribute("data-step"): s.get_attribute("class")
             for s in tr.find_elements(By.CSS_SELECTOR, ".step")}
    assert all("done" in cls for cls in steps.values()), steps
    assert "36 written, 1 skipped" in tr.text
    assert "v1" in tr.text and "unit-hours" in tr.text  # it holds its hosting cluster
    resources = browser.find_element(By.ID, "resources").text
    history = browser.find_element(By.ID, "deleted-table").get_attribute("textContent")
    assert "hosting cluster" in resources
    # released after training: billable while it lives, then under "Deleted resources"
    assert "fine-tuning cluster" in resources + (history or "")
    screenshot(browser, "datasets")


def test_the_report_view_shows_why_a_record_was_skipped(browser: Any, served: Served) -> None:
    ensure_active(served, "lending")
    open_page(browser, served)
    wait_for(lambda: row(browser, "lending"), 30, "the row")
    row(browser, "lending").find_element(By.CSS_SELECTOR, "a.dataset-link").click()
    report = wait_for(lambda: browser.find_element(By.ID, "skip-reasons"), 30, "skip reasons")
    reasons = [tuple(td.text for td in tr.find_elements(By.TAG_NAME, "td"))
               for tr in report.find_elements(By.CSS_SELECTOR, "table.kv tr")]
    assert reasons == [("empty_field", "1")]  # the one orphan record of records()
    bad = browser.find_element(By.ID, "skipped-examples").text
    assert "field instruction is empty" in bad
    # the 37th record (numbered from 1, as ocift status and ocift convert number it; issue 27)
    cells = [td.text for td in browser.find_elements(By.CSS_SELECTOR, "#skipped-examples td")]
    assert "37" in cells and "36" not in cells, cells
    assert browser.find_element(By.ID, "dataset-title").text == "lending"
    versions = browser.find_element(By.ID, "versions").text
    assert "v1" in versions and "ACTIVE" in versions
    metrics = browser.find_element(By.ID, "metrics").text
    assert "final_accuracy" in metrics and "held-out" in metrics  # the number and its meaning
    assert "ACTIVE" in browser.find_element(By.ID, "endpoint").text
    screenshot(browser, "dataset")


def test_the_playground_returns_the_stand_ins_answer(browser: Any, served: Served) -> None:
    ensure_active(served, "lending")
    open_page(browser, served, "#ask=lending")
    question, expected = records()[7]["instruction"], records()[7]["output"]
    wait_for(lambda: browser.find_element(By.ID, "ask-model").get_attribute("value")
             == "lending", 30, "the dataset to be chosen")
    browser.find_element(By.ID, "ask-prompt").send_keys(question)
    browser.find_element(By.ID, "ask-max_tokens").send_keys("200")
    browser.find_element(By.ID, "ask-submit").click()
    answer = wait_for(lambda: browser.find_element(By.ID, "ask-answer"), 60, "the answer")
    assert answer.text == expected
    result = browser.find_element(By.ID, "ask-result").text
    assert "COMPLETE" in result and "lending v1" in result
    assert browser.find_element(By.ID, "ask-match").text.startswith(question)
    assert "100%" in result  # the question is a training prompt word for word
    screenshot(browser, "playground")


def test_a_dataset_named_like_markup_renders_as_text(browser: Any, served: Served) -> None:
    served.upload(records(3), "markup.json", name=SCRIPT_NAME)  # too small: rejected
    open_page(browser, served)
    tr = wait_for(lambda: row(browser, SCRIPT_NAME), 30, "the markup-named row")
    link = tr.find_element(By.CSS_SELECTOR, "a.dataset-link")
    assert link.text == SCRIPT_NAME
    wait_for(lambda: "converted failed" in row(browser, SCRIPT_NAME).text, 30, "its failure")
    assert "at least 32" in row(browser, SCRIPT_NAME).text  # where it failed and why
    assert browser.execute_script("return window.__pwned") is None
    assert not tr.find_elements(By.CSS_SELECTOR, "script, img")
    link.click()
    title = wait_for(lambda: browser.find_element(By.ID, "dataset-title"), 30, "its view")
    assert title.text == SCRIPT_NAME
    assert browser.execute_script("return window.__pwned") is None
    assert len(browser.find_elements(By.TAG_NAME, "script")) == 1  # only the page's own
    screenshot(browser, "markup-name")


def test_a_file_dropped_on_the_page_starts_a_dataset(browser: Any, served: Served) -> None:
    path = served.root / "from-page.json"
    path.write_text('[{"instruction": "q", "output": "a"}]', encoding="utf-8")
    open_page(browser, served)
    browser.find_element(By.ID, "upload-name").send_keys("page-upload")
    browser.find_element(By.ID, "upload-file").send_keys(str(path))
    wait_for(lambda: "raw/page-upload.json" in browser.find_element(By.ID, "upload-result").text,
             30, "the upload to be confirmed")
    wait_for(lambda: row(browser, "page-upload"), 30, "its row")
    wait_for(lambda: "at least 32" in row(browser, "page-upload").text, 30, "its verdict")


def test_the_page_works_from_an_httponly_session_cookie(browser: Any, served: Served) -> None:
    open_page(browser, served)
    cookies = {c["name"]: c for c in browser.get_cookies()}
    session = cookies[served.server.guard.cookie]
    assert session["httpOnly"] is True and session["sameSite"] == "Strict"
    assert served.server.guard.cookie not in browser.execute_script("return document.cookie")
    browser.delete_all_cookies()
    browser.get(served.url)
    assert "no_session" in browser.find_element(By.TAG_NAME, "body").text
    browser.add_cookie({"name": session["name"], "value": session["value"], "path": "/"})
    open_page(browser, served)  # the page works from the cookie alone


def _evaluated(served: Served, dataset: str, version: str) -> None:
    from shared.evaluation.read import evaluation

    view = served.server.view
    wait_for(lambda: (got := evaluation(view.store(), view.settings, dataset, version))
             is not None and got.complete, 120, f"{dataset} v{version} evaluated")


def test_the_evaluation_panel_compares_each_version_with_its_base(
        browser: Any, served: Served) -> None:
    served.upload(records(60, "leverage"), "graded.json")  # 20 held out, 40 trained
    _evaluated(served, "graded", "1")
    served.upload(records(70, "leverage"), "graded.json")  # a second version
    _evaluated(served, "graded", "2")
    open_page(browser, served, "#dataset=graded")
    # One snapshot of the panel per look: the page re-renders it on every poll.
    snapshot = """
      const panel = document.getElementById("evaluation");
      if (!panel) return null;
      const cells = (tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent);
      return {
        text: panel.textContent,
        versions: [...panel.querySelectorAll("#eval-versions tbody tr")].map((tr) =>
          [tr.dataset.version, cells(tr)]),
        dots: [...panel.querySelectorAll("#eval-chart circle")].map((c) =>
          [c.dataset.series, c.dataset.version, c.dataset.f1]),
        examples: [...panel.querySelectorAll("#eval-examples tbody tr")].map(cells)};"""
    seen = wait_for(lambda: (got := browser.execute_script(snapshot)) and len(
        got["versions"]) == 2 and got, 30, "the panel with both versions")
    versions = dict(seen["versions"])
    assert set(versions) == {"1", "2"}
    for cells in versions.values():
        fine_tuned, base = float(cells[2]), float(cells[5])
        assert fine_tuned > base  # the stand-in base knows none of the data
        assert cells[9] == "on demand"
    assert "not model quality" in seen["text"]  # the local figures' honest caveat
    by_series = {(series, version): float(f1) for series, version, f1 in seen["dots"]}
    assert set(by_series) == {(s, v) for s in ("fine_tuned_scores", "base_scores")
                              for v in ("1", "2")}
    assert f"{by_series[('fine_tuned_scores', '2')]:.3f}" == versions["2"][2]
    rows = seen["examples"]
    assert rows
    f1s = [float(r[3]) for r in rows]
    assert f1s == sorted(f1s)  # worst first
    first = rows[0]
    assert "leverage" in first[0] and first[1] and first[2] and first[4]  # texts shown
    screenshot(browser, "evaluation")
