"""Bad inputs: each yields a stable reason code, a location, and no JSONL."""

from __future__ import annotations

import io
import json

import pytest

from shared.convert import ConversionReport, DatasetRules, convert_stream
from tests.support.convert import RULES, ChunkReader, Sink, alpaca, dumps, lines, run


def assert_rejected(report: ConversionReport, code: str) -> None:
    assert not report.valid
    assert report.fatal is not None and report.fatal.code == code, report.fatal
    assert report.fatal.message and report.fatal.hint


def test_truncated_json_array() -> None:
    text = dumps(alpaca(40))
    report, _ = run(text[: len(text) // 2])
    assert_rejected(report, "truncated_json")
    assert report.fatal is not None and report.fatal.byte_offset is not None
    assert report.fatal.record_index is not None and report.fatal.record_index > 0


@pytest.mark.parametrize("cut", ["", "\n", ",", ', {"instruction": "q"', ", tr"])
def test_truncated_after_records(cut: str) -> None:
    text = dumps(alpaca(40))[:-1] + cut
    report, _ = run(text)
    assert_rejected(report, "truncated_json")


def test_truncated_jsonl_last_line() -> None:
    text = "\n".join(dumps(r) for r in alpaca(40))
    report, _ = run(text[:-10])
    assert_rejected(report, "truncated_json")
    assert report.fatal is not None and report.fatal.line == 40


def test_malformed_json_reports_line_and_offset() -> None:
    text = json.dumps(alpaca(40), indent=1)
    bad = text.replace('"output": "Term 20', '"output" "Term 20', 1)
    report, _ = run(bad)
    assert_rejected(report, "malformed_json")
    fatal = report.fatal
    assert fatal is not None and fatal.record_index == 20
    assert fatal.line == bad[: fatal.byte_offset].count("\n") + 1  # ASCII: chars == bytes
    assert bad[fatal.byte_offset or 0] == '"'


def test_top_level_object_is_not_an_array() -> None:
    report, out = run(json.dumps({"data": alpaca(40)}, indent=2))
    assert_rejected(report, "top_level_not_array")
    assert "data" in report.fatal.message if report.fatal else False
    assert out == b""


@pytest.mark.parametrize("text", ['"just a string"', "42", "null"])
def test_top_level_scalar(text: str) -> None:
    report, out = run(text)
    assert_rejected(report, "top_level_not_array")
    assert out == b""


def test_empty_file() -> None:
    report, out = run(b"  \n")
    assert_rejected(report, "empty_input")
    assert out == b""


def test_missing_fields_are_skipped_with_reason() -> None:
    recs: list[dict[str, str]] = alpaca(32)
    recs.insert(3, {"instruction": "no output here", "input": ""})
    recs.insert(5, {"input": "", "output": "no instruction"})
    report, out = run(dumps(recs))
    assert report.valid and report.skipped_by_reason == {"missing_field": 2}
    first, second = report.skipped_examples
    assert (first.record_index, second.record_index) == (3, 5)
    assert "output" in first.message and "instruction" in second.message
    assert len(lines(out)) == 32


def test_only_bad_records_gives_no_usable_records_and_no_output() -> None:
    recs = [{"instruction": f"q{i}"} for i in range(40)]
    report, out = run(dumps(recs))
    assert_rejected(report, "no_usable_records")
    assert report.skipped_by_reason == {"missing_field": 40}
    assert out == b""


def test_non_string_fields() -> None:
    recs: list[dict[str, object]] = [dict(r) for r in alpaca(32)]
    recs.append({"instruction": "q", "input": "", "output": 42})
    recs.append({"instruction": ["q"], "input": "", "output": "a"})
    recs.append({"instruction": "q", "input": {"a": 1}, "output": "a"})
    recs.append({"instruction": "q2", "input": None, "output": "a"})  # null input == empty
    report, out = run(dumps(recs))
    assert report.valid
    assert report.skipped_by_reason == {"non_string_field": 3}
    assert "output" in report.skipped_examples[0].message
    assert "number" in report.skipped_examples[0].message
    assert report.records_written == 33
    assert lines(out)[-1] == {"prompt": "q2", "completion": "a"}


def test_non_object_records() -> None:
    recs: list[object] = [*alpaca(32), "text", 3, [1]]
    report, _ = run(dumps(recs))
    assert report.valid and report.skipped_by_reason == {"not_an_object": 3}


def test_empty_strings() -> None:
    recs = alpaca(32)
    recs.append({"instruction": "   ", "input": "", "output": "a"})
    recs.append({"instruction": "q", "input": "", "output": ""})
    report, _ = run(dumps(recs))
    assert report.valid and report.skipped_by_reason == {"empty_field": 2}
    assert "instruction" in report.skipped_examples[0].message
    assert "output" in report.skipped_examples[1].message


def test_lone_surrogate_is_skipped() -> None:
    text = dumps(alpaca(32))[:-1] + ', {"instruction": "q\\ud800", "input": "", "output": "a"}]'
    report, out = run(text)
    assert report.valid and report.skipped_by_reason == {"invalid_unicode": 1}
    out.decode("utf-8")


def test_invalid_utf8_bytes() -> None:
    good = dumps(alpaca(40)).encode("utf-8")
    at = good.index(b"term 7")
    bad = good[:at] + b"\xff\xfe" + good[at:]
    report, out = run(bad)
    assert_rejected(report, "invalid_utf8")
    assert report.fatal is not None and report.fatal.byte_offset == at
    assert out == b""


def test_invalid_utf8_small_chunks_same_offset() -> None:
    good = dumps(alpaca(40)).encode("utf-8")
    at = good.index(b"term 9")
    bad = good[:at] + b"caf\xc3" + b"(" + good[at:]  # truncated 2-byte sequence
    report = convert_stream(ChunkReader(bad, [1, 2, 3]), Sink(), rules=RULES, chunk_size=4)
    assert_rejected(report, "invalid_utf8")
    assert report.fatal is not None and report.fatal.byte_offset == at + 3


def test_utf16_file_is_rejected_as_not_utf8() -> None:
    report, _ = run(dumps(alpaca(40)).encode("utf-16"))
    assert_rejected(report, "invalid_utf8")
    assert report.fatal is not None and report.fatal.byte_offset == 0


def test_utf8_bom_accepted_and_noted() -> None:
    data = b"\xef\xbb\xbf" + dumps(alpaca(32)).encode()
    report, out = run(data)
    assert report.valid and report.utf8_bom
    assert any("byte order mark" in n for n in report.notes)
    assert len(lines(out)) == 32 and not out.startswith(b"\xef\xbb\xbf")


def test_bom_offsets_count_the_bom() -> None:
    text = dumps(alpaca(40))
    data = b"\xef\xbb\xbf" + text.encode()
    report, _ = run(data[:-1] + b"x")
    assert_rejected(report, "malformed_json")
    assert report.fatal is not None and report.fatal.byte_offset == len(data) - 1


def test_zero_record_array() -> None:
    report, out = run("[]")
    assert_rejected(report, "too_few_records")
    assert report.records_read == 0 and out == b""


def test_too_few_records_writes_nothing() -> None:
    report, out = run(dumps(alpaca(31)))
    assert_rejected(report, "too_few_records")
    assert "31" in (report.fatal.message if report.fatal else "")
    assert report.records_written == 31 and out == b""


def test_min_examples_counts_only_usable_records() -> None:
    recs = alpaca(31) + alpaca(3)  # 3 duplicates -> 31 usable
    report, _ = run(dumps(recs))
    assert_rejected(report, "too_few_records")
    assert report.skipped_by_reason == {"duplicate": 3}


def test_trailing_comma_and_trailing_data() -> None:
    text = dumps(alpaca(40))
    assert_rejected(run(text[:-1] + ",]")[0], "malformed_json")
    assert_rejected(run(text + " [1]")[0], "malformed_json")


def test_deeply_nested_record_is_skipped_like_any_bad_record() -> None:
    """Issue 28 item 7: a record nested too deep to parse is skipped with its own reason
    (it used to reject the whole dataset); the records around it still convert."""
    depth = 100_000
    report, out = run("[" * depth + "]" * depth)
    assert_rejected(report, "no_usable_records")
    assert report.skipped_by_reason == {"nesting_too_deep": 1}
    assert out == b""
    recs = alpaca(40)
    deep = '{"instruction": "q", "output": "a", "x": ' + "[" * 2000 + "]" * 2000 + "}"
    for text in ("[" + ", ".join([*map(dumps, recs[:20]), deep, *map(dumps, recs[20:])]) + "]",
                 "\n".join([*map(dumps, recs[:20]), deep, *map(dumps, recs[20:])])):
        for chunk in (61, 4096, 1 << 20):
            report = convert_stream(ChunkReader(text.encode(), [chunk]), Sink(), rules=RULES,
                                    chunk_size=chunk)
            assert report.valid, report.fatal
            assert report.records_written == 40
            assert report.skipped_by_reason == {"nesting_too_deep": 1}
            example = report.skipped_examples[0]
            assert (example.code, example.record_index) == ("nesting_too_deep", 20)
            assert example.line == (1 if text.startswith("[") else 21)
            assert example.byte_offset == text.encode().index(deep.encode()[:30])


def test_single_50mb_record_is_rejected_as_too_long() -> None:
    huge = "x" * (50 * 1024 * 1024)
    recs = dumps(alpaca(32))
    text = recs[:-1] + ', {"instruction": "' + huge + '", "input": "", "output": "a"}]'
    del huge
    report, out = run(text.encode())
    assert report.valid  # the other 32 records still make a valid dataset
    assert report.skipped_by_reason == {"record_too_long": 1}
    assert "exceed" in report.skipped_examples[0].message
    assert report.skipped_examples[0].record_index == 32
    assert len(lines(out)) == 32


def test_50mb_record_within_the_size_cap_is_rejected_by_token_limit() -> None:
    rules = RULES.model_copy(update={"max_record_chars": 64 << 20})
    huge = "x" * (50 * 1024 * 1024)
    text = dumps(alpaca(32))[:-1] + ', {"instruction": "' + huge + '", "output": "a"}]'
    del huge
    report, _ = run(text.encode(), rules)
    assert report.valid and report.skipped_by_reason == {"record_too_long": 1}
    assert "16000 prompt" in report.skipped_examples[0].message


def test_record_over_the_size_cap_is_skipped_unread() -> None:
    rules = DatasetRules.for_base_model("cohere.command-r-08-2024").model_copy(
        update={"max_record_chars": 10_000})
    big = {"instruction": "y" * 30_000 + '\\"}]{[', "input": ["}", {"a": "\\"}],
           "output": "z" * 30_000}
    recs: list[object] = [*alpaca(16), big, *alpaca(16, start=16), "y" * 50_000]
    text = json.dumps(recs)
    for chunk in (1024, 4096, 1 << 20):
        report = convert_stream(io.BytesIO(text.encode()), (sink := Sink()), rules=rules,
                                chunk_size=chunk)
        assert report.valid, report.fatal
        assert report.skipped_by_reason == {"record_too_long": 2}
        first = report.skipped_examples[0]
        assert first.record_index == 16 and first.byte_offset == text.index('{"instruction": "yyy')
        assert str(len(json.dumps(big))) in first.message
        assert len(lines(sink.data)) == 32


def test_oversized_record_cut_short_is_truncated_json() -> None:
    rules = RULES.model_copy(update={"max_record_chars": 1_000})
    text = dumps(alpaca(32))[:-1] + ', {"instruction": "' + "q" * 5_000
    report = convert_stream(io.BytesIO(text.encode()), Sink(), rules=rules, chunk_size=256)
    assert_rejected(report, "truncated_json")


def test_huge_number_is_a_fatal_size_error() -> None:
    rules = RULES.model_copy(update={"max_record_chars": 1_000})
    text = "[" + "9" * 5_000 + "]"
    report = convert_stream(io.BytesIO(text.encode()), Sink(), rules=rules, chunk_size=256)
    assert_rejected(report, "record_too_large")


def test_integer_python_refuses_is_a_clear_error() -> None:
    text = dumps(alpaca(32))[:-1] + ', {"instruction": ' + "7" * 5_000 + "}]"
    report, _ = run(text)
    assert_rejected(report, "number_too_long")
    assert report.fatal is not None and report.fatal.record_index == 32
