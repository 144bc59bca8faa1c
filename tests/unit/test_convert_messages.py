"""Issue 15: every rejected input says what is wrong in words, and where (not on the last
good record when the fault lies after it); one rule for non-object values."""

from __future__ import annotations

import gzip

from shared.convert import ConversionReport
from tests.support.convert import alpaca, dumps, run


def _fatal(report: ConversionReport) -> tuple[str, str]:
    assert not report.valid and report.fatal is not None
    return report.fatal.code, report.fatal.message


def test_gzip_input_is_said_to_be_compressed() -> None:
    code, message = _fatal(run(gzip.compress(dumps(alpaca(40)).encode()))[0])
    assert code == "not_json_text" and "gzip-compressed" in message
    assert "not an array" not in message


def test_nul_byte_is_named_and_no_dangling_at() -> None:
    text = dumps(alpaca(40)).replace("term 5 mean", "term 5\x00 mean")
    report, _ = run(text)
    code, message = _fatal(report)
    assert code == "malformed_json" and "NUL byte inside a string" in message
    assert not message.rstrip(")").endswith(" at")
    assert report.fatal is not None and report.fatal.record_index == 5  # the 6th record


def test_truncated_input_says_a_string_is_never_closed() -> None:
    text = dumps(alpaca(40))
    code, message = _fatal(run(text[: len(text) // 2 + 7])[0])
    assert code == "truncated_json"
    assert "Unterminated string starting at" not in message
    assert message.startswith("the input ends in the middle of a record (")


def test_trailing_comma_is_located_after_the_last_record_not_on_it() -> None:
    text = dumps(alpaca(40))[:-1] + ",\n]"
    report, _ = run(text)
    code, message = _fatal(report)
    assert code == "malformed_json" and "trailing comma" in message
    assert "after record 40" in message
    assert report.fatal is not None and report.fatal.record_index is None
    assert report.fatal.line == 2 and report.fatal.byte_offset == len(text) - 1


def test_trailing_garbage_is_quoted_and_located() -> None:
    text = dumps(alpaca(40)) + "\n}garbage"
    report, _ = run(text)
    code, message = _fatal(report)
    assert code == "malformed_json"
    assert "unexpected data after the top-level array (starting '}garbage')" in message
    assert report.fatal is not None and report.fatal.record_index is None
    assert report.fatal.line == 2


def test_mixed_schemas_are_said_to_be_mixed() -> None:
    records = alpaca(20) + [{"prompt": f"p{i}", "completion": f"c{i}"} for i in range(20)]
    report, _ = run(dumps(records))
    code, message = _fatal(report)
    assert code == "too_few_records" and "schemas are mixed" in message
    assert any("schemas are mixed" in note for note in report.notes)
    assert "it is a prompt/completion record" in report.skipped_examples[0].message


def test_one_rule_for_non_object_values_in_arrays_and_json_lines() -> None:
    records = [dumps(r) for r in alpaca(40)]
    as_array = "[" + ",".join([*records[:3], "[1, 2]", '"text"', "null", *records[3:]]) + "]"
    as_lines = "\n".join([*records[:3], "[1, 2]", '"text"', "null", *records[3:]])
    for text in (as_array, as_lines):
        report, _ = run(text)
        assert report.valid, report.fatal
        assert report.skipped_by_reason == {"not_an_object": 3}
        assert report.records_written == 40
    # Text that is not JSON at all stops the conversion in both.
    for text in (as_array.replace("null", "nul"), as_lines.replace("null", "nul")):
        code, _ = _fatal(run(text)[0])
        assert code in ("malformed_json", "truncated_json")
