"""The streaming converter: formats, mapping, validation reasons, statistics, chunking."""

from __future__ import annotations

import io
import json

import pytest

from shared.convert import SEPARATOR, DatasetRules, convert_stream
from tests.support.convert import RULES, ChunkReader, Sink, alpaca, dumps, lines, run

# ----- positive ---------------------------------------------------------------------------

def test_alpaca_array_maps_to_prompt_completion_lines() -> None:
    report, out = run(dumps(alpaca(40)))
    assert report.valid and report.fatal is None
    assert report.input_format == "json_array" and report.record_schema == "alpaca"
    assert report.records_read == report.records_written == 40
    rows = lines(out)
    assert rows[3] == {"prompt": "What does finance term 3 mean?",
                       "completion": "Term 3 means something specific."}
    assert all(set(r) == {"prompt", "completion"} for r in rows)
    assert report.bytes_written == len(out)


def test_exact_line_format() -> None:
    _, out = run(dumps(alpaca(32)))
    first = out.split(b"\n")[0]
    assert first == (b'{"prompt": "What does finance term 0 mean?", '
                     b'"completion": "Term 0 means something specific."}')


def test_non_empty_input_goes_after_documented_separator() -> None:
    report, out = run(dumps(alpaca(32, with_input=True)))
    assert report.separator == SEPARATOR == "\n\nContext:\n"
    assert lines(out)[5]["prompt"] == "What does finance term 5 mean?\n\nContext:\nContext for 5"
    assert "Context" in report.mapping["prompt"]


def test_jsonl_input() -> None:
    text = "\n".join(dumps(r) for r in alpaca(35)) + "\n"
    report, out = run(text)
    assert report.valid and report.input_format == "jsonl"
    assert len(lines(out)) == 35


def test_prompt_completion_passthrough_array_and_jsonl() -> None:
    recs = [{"prompt": f"Q{i}?", "completion": f"A{i}.", "extra": 1} for i in range(33)]
    for text in (dumps(recs), "\n".join(dumps(r) for r in recs)):
        report, out = run(text)
        assert report.valid and report.record_schema == "prompt_completion"
        assert lines(out) == [{"prompt": f"Q{i}?", "completion": f"A{i}."} for i in range(33)]
        assert report.records_with_extra_keys == 33
        assert any(n.startswith("33 prompt/completion records carry other keys")
                   for n in report.notes)
    clean, _ = run(dumps([{"prompt": f"Q{i}?", "completion": "A."} for i in range(33)]))
    assert clean.records_with_extra_keys == 0 and not clean.notes


def test_unicode_round_trip_kept_as_utf8() -> None:
    recs = alpaca(32)
    recs[0]["instruction"] = "Combien coûte un café à Paris en € ? 日本円 ¥ 😀"
    recs[0]["output"] = "Environ 3 € — «cher» 😅"
    report, out = run(dumps(recs))
    assert report.valid
    assert "café".encode() in out and b"\\u" not in out
    assert lines(out)[0] == {"prompt": recs[0]["instruction"], "completion": recs[0]["output"]}


def test_escaped_unicode_input_is_written_unescaped() -> None:
    recs = alpaca(32)
    recs[1]["output"] = "caf\u00e9 \U0001F600"
    report, out = run(json.dumps(recs, ensure_ascii=True))
    assert report.valid
    assert lines(out)[1]["completion"] == "café 😀"
    assert "😀".encode() in out


def test_duplicates_are_skipped_and_counted() -> None:
    recs = alpaca(40) + alpaca(5)  # the last 5 repeat records 0..4
    recs.append({**alpaca(1, start=3)[0], "text": "different text is ignored"})
    report, out = run(dumps(recs))
    assert report.valid
    assert report.records_read == 46 and report.records_written == 40
    assert report.skipped_by_reason == {"duplicate": 6}
    assert report.skipped_examples[0].record_index == 40
    assert len(lines(out)) == 40


def test_statistics() -> None:
    recs = [{"instruction": "q" * n, "input": "", "output": "a" * (2 * n)} for n in range(1, 101)]
    report, _ = run(dumps(recs))
    assert report.valid
    p, c = report.prompt.chars, report.completion.chars
    assert (p.min, p.max, p.p50, p.p95) == (1, 100, 50, 95)
    assert p.mean == pytest.approx(50.5)
    assert (c.min, c.max, c.p50) == (2, 200, 100)
    assert report.prompt.est_tokens.max == 34  # ceil(100 / 3)
    assert report.completion.est_tokens.min == 1


def test_report_fields_and_json() -> None:
    report, _ = run(dumps(alpaca(32)))
    doc = json.loads(report.model_dump_json())
    assert doc["schema_version"] == 1 and doc["source"] == "raw/test.json"
    assert doc["rules"]["min_examples"] == 32 and doc["rules"]["max_prompt_tokens"] == 16000
    assert doc["bytes_read"] == len(dumps(alpaca(32)).encode())


@pytest.mark.parametrize("sizes", [[1], [1, 2, 3, 4, 5, 6, 7], [3], [7]])
def test_small_chunk_reader_gives_identical_output(sizes: list[int]) -> None:
    recs = alpaca(36, with_input=True)
    recs[7]["output"] = "Price ¥100 / €1 — ok 😀 \u00e9\\\"quoted\""
    recs[8] = {"instruction": 12, "input": "", "output": "x"}  # type: ignore[dict-item]
    data = ("\ufeff" + json.dumps(recs, indent=2, ensure_ascii=False)).encode("utf-8")
    big = convert_stream(io.BytesIO(data), (sink_big := Sink()), rules=RULES)
    small = convert_stream(ChunkReader(data, sizes, seed=len(sizes)), (sink_small := Sink()),
                           rules=RULES, chunk_size=8)
    assert sink_big.data == sink_small.data and sink_big.data
    assert big.model_dump() == small.model_dump()
    assert small.skipped_examples[0].line == big.skipped_examples[0].line


def test_validate_only_with_no_output() -> None:
    report = convert_stream(io.BytesIO(dumps(alpaca(32)).encode()), None, rules=RULES)
    assert report.valid and report.records_written == 32


def test_progress_callback_reports_bytes() -> None:
    seen: list[int] = []
    data = dumps(alpaca(32)).encode()
    convert_stream(io.BytesIO(data), None, rules=RULES, progress=seen.append)
    assert seen and seen[-1] == len(data)


# ----- rules ------------------------------------------------------------------------------

def test_rules_by_family() -> None:
    cohere = DatasetRules.for_base_model("cohere.command-r-08-2024")
    assert (cohere.min_examples, cohere.max_prompt_tokens, cohere.max_completion_tokens) == (
        32, 16_000, 4_000)
    assert DatasetRules.for_base_model("cohere.command-r-08-2024").max_example_tokens == 20_000
    assert DatasetRules.for_base_model("cohere.command-r-16k").family == "default"  # retired
    assert DatasetRules.for_base_model("meta.llama-3.3-70b-instruct").max_example_tokens == 128_000
    unknown = DatasetRules.for_base_model("vendor.mystery")
    assert unknown.max_example_tokens == 4_096 and unknown.family == "default"
    assert "training-data-requirements" in cohere.source_url


def test_record_too_long_depends_on_model() -> None:
    recs = alpaca(32)
    recs.append({"instruction": "x" * 60_000, "input": "", "output": "ok"})  # ~20k tokens
    report, _ = run(dumps(recs))
    assert report.valid and report.skipped_by_reason == {"record_too_long": 1}
    assert "16000" in report.skipped_examples[0].message
    llama, _ = run(dumps(recs), DatasetRules.for_base_model("meta.llama-3.3-70b-instruct"))
    assert llama.records_written == 33 and llama.records_skipped == 0
