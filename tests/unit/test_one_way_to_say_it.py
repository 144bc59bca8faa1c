"""One way to say each thing (issue 27): unit-hours at one precision in every view,
records numbered from 1 in every view."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from shared import teardown
from shared.billing import Resource, format_unit_hours
from shared.cli.status_view import DatasetRow, located, render
from shared.convert import convert_stream
from shared.convert.cli import render_table
from shared.ui.models import Overview

CLUSTER = Resource(id="ocid1.cluster", kind="hosting cluster", state="ACTIVE",
                   shape="SMALL_COHERE_V2", units=1, created=datetime(2026, 1, 1, tzinfo=UTC),
                   hours=0.013, unit_hours=0.013, datasets=["fin"])


@pytest.mark.parametrize(("value", "text"), [(None, "-"), (0.0, "0.00"), (0.001, "<0.01"),
                                             (0.013, "0.01"), (12.345, "12.35"),
                                             (1488.0, "1,488.00")])
def test_the_formatter(value: float | None, text: str) -> None:
    assert format_unit_hours(value) == text


def test_down_status_and_the_page_print_the_same_unit_hours() -> None:
    down = teardown.render(teardown.Plan(delete=[CLUSTER]))
    row = DatasetRow(dataset="fin", state="ENDPOINT_ACTIVE", resources=[CLUSTER],
                     unit_hours=0.013)
    status = render([row])
    page = json.loads(Overview(target="t", local=True, poll_seconds=1, datasets=[],
                               resources=[CLUSTER], unit_hours=0.013).model_dump_json())
    assert " 0.01 " in down and "total: 1 resource(s), 0.01 cluster unit-hours" in down
    assert "0.01 unit-hours: hosting cluster SMALL_COHERE_V2 x1 0.01" in status
    assert page["unit_hours_text"] == "0.01"
    assert page["resources"][0]["unit_hours_text"] == "0.01"
    assert "0.0" not in down.replace("0.01", "")  # no other precision anywhere
    assert json.loads(row.model_dump_json())["unit_hours_text"] == "0.01"  # status --json


def test_convert_status_and_the_report_number_records_from_1() -> None:
    import io

    good = [{"prompt": f"question {i}?", "completion": f"answer {i}."} for i in range(40)]
    records = [*good[:20], {"prompt": "", "completion": "x"}, *good[20:]]  # the 21st is bad
    body = "\n".join(json.dumps(r) for r in records).encode()
    report = convert_stream(io.BytesIO(body), io.BytesIO(), source="in.jsonl")
    issue = report.skipped_examples[0]
    assert issue.record_index == 20  # the report keeps the 0-based index
    assert "record 21 line 21" in render_table(report)  # ocift convert
    assert "record 21" in located(issue.model_dump())  # ocift status
