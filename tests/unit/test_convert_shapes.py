"""Input shapes (issue 26): detection, the conversation rule, field mapping, CSV/TSV,
refusals that name the shape."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from shared.convert import ConversionReport, convert_stream
from shared.convert.shapes import (
    FieldMapping,
    Shape,
    Skip,
    Turn,
    Unsupported,
    detect,
    render,
)
from tests.support.convert import RULES, ChunkReader, Sink, lines


def convert(data: str | bytes, source: str = "raw/x.json", chunk: int | None = None,
            **kw: Any) -> tuple[ConversionReport, list[dict[str, str]]]:
    raw = data.encode() if isinstance(data, str) else data
    sink = Sink()
    src = io.BytesIO(raw) if chunk is None else ChunkReader(raw, [chunk])
    report = convert_stream(src, sink, source=source, rules=RULES,
                            chunk_size=chunk or 1 << 20, **kw)
    return report, (lines(sink.data) if sink.data else [])


def chat(i: int, *extra: dict[str, Any]) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": f"Question {i}?"},
                         {"role": "assistant", "content": f"Answer {i}."}, *extra]}


def sharegpt(i: int) -> dict[str, Any]:
    return {"conversations": [{"from": "human", "value": f"Question {i}?"},
                              {"from": "gpt", "value": f"Answer {i}."}]}


def jsonl(records: list[Any]) -> str:
    return "\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n"


# ----- detection ------------------------------------------------------------------------

@pytest.mark.parametrize(("keys", "schema", "fields"), [
    ({"instruction", "input", "output", "text"}, "alpaca", ("instruction", "output", "input")),
    ({"prompt", "completion"}, "prompt_completion", ("prompt", "completion", None)),
    ({"messages"}, "openai_chat", ("", "", None)),
    ({"conversations", "id"}, "sharegpt", ("", "", None)),
    ({"question", "answer", "id"}, "fields", ("question", "answer", None)),
    ({"question", "answer", "context"}, "fields", ("question", "answer", "context")),
    ({"query", "response"}, "fields", ("query", "response", None)),
    ({"instruction", "response", "input"}, "fields", ("instruction", "response", "input")),
    ({"prompt", "response"}, "fields", ("prompt", "response", None)),
    ({"input", "output"}, "fields", ("input", "output", None)),
])
def test_shape_is_detected_from_the_first_records_keys(
        keys: set[str], schema: str, fields: tuple[str, str, str | None]) -> None:
    shape = detect(keys)
    assert (shape.schema, shape.prompt, shape.completion, shape.context) == (schema, *fields)


def test_an_explicit_mapping_wins_over_detection() -> None:
    shape = detect({"instruction", "output", "q", "a"}, FieldMapping("q", "a"))
    assert shape == Shape("fields", "q", "a", None)
    with pytest.raises(Unsupported, match="no field 'a'"):
        detect({"q", "b"}, FieldMapping("q", "a"))


def test_field_mapping_is_validated() -> None:
    with pytest.raises(ValueError, match="differ"):
        FieldMapping("q", "q")
    with pytest.raises(ValueError, match="empty"):
        FieldMapping("q", " ")


def test_unknown_shape_names_its_keys_and_the_mapping_flags() -> None:
    with pytest.raises(Unsupported) as caught:
        detect({"foo", "bar"})
    assert "(bar, foo)" in caught.value.message
    assert "--prompt-field" in caught.value.hint
    assert "opc-meta-ocift-prompt-field" in caught.value.hint


@pytest.mark.parametrize(("value", "nearest"), [
    ({"dialog": [{"role": "user", "content": "q"}]}, "name the field 'messages'"),
    ({"turns": [{"from": "human", "value": "q"}]}, "name the field 'conversations'"),
    ({"text": "a whole document", "id": 3}, "pretraining data"),
])
def test_refusal_names_the_nearest_supported_shape(value: dict[str, Any], nearest: str) -> None:
    with pytest.raises(Unsupported) as caught:
        detect(value.keys(), None, value)
    assert nearest in caught.value.hint


# ----- the conversation rule -------------------------------------------------------------

def turns(*pairs: tuple[str, Any]) -> list[Turn]:
    return [Turn(role, content) for role, content in pairs]


def test_one_user_turn_is_the_prompt_and_the_answer_the_completion() -> None:
    assert render(turns(("user", " Q? "), ("assistant", " A. "))) == ("Q?", "A.")


def test_history_is_role_labelled_and_the_last_assistant_turn_is_the_completion() -> None:
    got = render(turns(("system", "Be brief."), ("user", "Q1"), ("assistant", "A1"),
                       ("user", "Q2"), ("assistant", "A2"), ("user", "unanswered")))
    assert got == ("System: Be brief.\n\nUser: Q1\n\nAssistant: A1\n\nUser: Q2", "A2")


def test_assistant_first_is_kept_as_history() -> None:
    got = render(turns(("assistant", "Hello!"), ("user", "Q"), ("assistant", "A")))
    assert got == ("Assistant: Hello!\n\nUser: Q", "A")


def test_developer_role_is_a_system_message_and_text_parts_are_joined() -> None:
    parts = [{"type": "text", "text": "line one"}, {"type": "text", "text": "line two"}]
    got = render(turns(("developer", "Rules."), ("user", parts), ("assistant", "A")))
    assert got == ("System: Rules.\n\nUser: line one\nline two", "A")


@pytest.mark.parametrize(("conversation", "code"), [
    (turns(("user", "Q")), "no_assistant_turn"),
    (turns(("system", "S"), ("assistant", "A")), "no_user_turn"),
    (turns(("user", ""), ("assistant", "A")), "empty_field"),
    (turns(("user", "Q"), ("assistant", "  ")), "empty_field"),
    (turns(("user", None), ("assistant", "A")), "empty_field"),
    (turns(("user", "Q"), ("tool", "42"), ("assistant", "A")), "tool_call"),
    ([Turn("user", "Q"), Turn("assistant", None, tool_calls=[{"id": "1"}]),
      Turn("assistant", "A")], "tool_call"),
    (turns(("user", [{"type": "image_url", "image_url": {"url": "x"}}]), ("assistant", "A")),
     "non_text_content"),
    (turns(("narrator", "Once"), ("user", "Q"), ("assistant", "A")), "unknown_role"),
])
def test_conversations_that_cannot_train_are_skipped_with_their_reason(
        conversation: list[Turn], code: str) -> None:
    got = render(conversation)
    assert isinstance(got, Skip) and got.code == code and got.message


def test_chat_and_sharegpt_follow_the_same_rule() -> None:
    chat_records = [{"messages": [{"role": "system", "content": "S"},
                                  {"role": "user", "content": f"Q{i}"},
                                  {"role": "assistant", "content": f"A{i}"}]} for i in range(40)]
    sg_records = [{"conversations": [{"from": "system", "value": "S"},
                                     {"from": "human", "value": f"Q{i}"},
                                     {"from": "gpt", "value": f"A{i}"}]} for i in range(40)]
    a, out_a = convert(jsonl(chat_records), "raw/c.jsonl")
    b, out_b = convert(json.dumps(sg_records), "raw/s.json")
    assert a.valid and b.valid
    assert out_a == out_b
    assert out_a[3] == {"prompt": "System: S\n\nUser: Q3", "completion": "A3"}
    assert a.format == "OpenAI chat (messages) in JSON Lines"
    assert b.format == "ShareGPT (conversations) in a JSON array"
    assert a.mapping["completion"] == "the last assistant turn"


def _hazard_chat() -> list[Any]:
    recs: list[Any] = [chat(i) for i in range(60)]
    recs[5] = {"messages": [{"role": "user", "content": "no answer"}]}
    recs[9] = {"messages": [{"role": "assistant", "content": "Hi"},
                            {"role": "user", "content": "Q9"},
                            {"role": "assistant", "content": "A9"}]}
    recs[12] = {"messages": [{"role": "user", "content": "Q"},
                             {"role": "assistant", "content": None,
                              "tool_calls": [{"id": "c", "type": "function"}]},
                             {"role": "tool", "content": "42", "tool_call_id": "c"},
                             {"role": "assistant", "content": "It is 42."}]}
    recs[20] = {"messages": [{"role": "user", "content": [{"type": "image_url",
                                                           "image_url": {"url": "u"}}]},
                             {"role": "assistant", "content": "A cat."}]}
    recs[30] = {"instruction": "mixed in", "output": "x"}
    recs[40] = {"messages": "not a list"}
    recs[50] = [1, 2]
    return recs


@pytest.mark.parametrize("chunk", [61, 4096, 1 << 20])
@pytest.mark.parametrize("container", ["array", "jsonl"])
def test_chat_hazards_skip_with_their_reasons_whatever_the_chunking(
        chunk: int, container: str) -> None:
    recs = _hazard_chat()
    text = json.dumps(recs) if container == "array" else jsonl(recs)
    report, out = convert(text, "raw/c.json", chunk)
    assert report.valid, report.fatal
    assert report.skipped_by_reason == {"missing_field": 1, "no_assistant_turn": 1,
                                        "non_string_field": 1, "non_text_content": 1,
                                        "not_an_object": 1, "tool_call": 1}
    assert report.records_written == 54
    assert {"prompt": "Assistant: Hi\n\nUser: Q9", "completion": "A9"} in out
    mixed = next(e for e in report.skipped_examples if e.code == "missing_field")
    assert mixed.record_index == 30 and "shapes are mixed" in mixed.message
    tool = next(e for e in report.skipped_examples if e.code == "tool_call")
    assert tool.record_index == 12 and tool.line == (1 if container == "array" else 13)
    assert tool.byte_offset == text.encode().index(json.dumps(recs[12]).encode())
    assert any("shapes are mixed" in n for n in report.notes)


# ----- field-mapped records --------------------------------------------------------------

def test_question_answer_records_convert_with_their_context() -> None:
    recs = [{"question": f"Q{i}", "answer": f"A{i}", "context": "ctx" if i % 2 else "",
             "id": i, "tags": ["x"]} for i in range(40)]
    report, out = convert(json.dumps(recs))
    assert report.valid and report.record_schema == "fields"
    assert report.format == "field-mapped records (question/answer, context context) " \
                            "in a JSON array"
    assert out[0] == {"prompt": "Q0", "completion": "A0"}
    assert out[1] == {"prompt": "Q1\n\nContext:\nctx", "completion": "A1"}


def test_mapping_names_any_fields_and_reaches_jsonl() -> None:
    recs = [{"frage": f"Q{i}", "antwort": f"A{i}", "n": i} for i in range(40)]
    refused, _ = convert(jsonl(recs), "raw/x.jsonl")
    assert refused.fatal is not None and refused.fatal.code == "unsupported_shape"
    assert "frage" in refused.fatal.message and "--prompt-field" in (refused.fatal.hint or "")
    assert refused.fatal.record_index == 0 and refused.fatal.line == 1
    report, out = convert(jsonl(recs), "raw/x.jsonl", mapping=FieldMapping("frage", "antwort"))
    assert report.valid and out[39] == {"prompt": "Q39", "completion": "A39"}


@pytest.mark.parametrize("chunk", [61, 1 << 20])
def test_mapped_records_with_bad_fields_are_skipped(chunk: int) -> None:
    recs: list[Any] = [{"question": f"Q{i}", "answer": f"A{i}"} for i in range(40)]
    recs[3] = {"question": "Q", "answer": None}
    recs[4] = {"question": "Q", "answer": 7}
    recs[5] = {"question": "  ", "answer": "A"}
    recs[6] = {"messages": [{"role": "user", "content": "q"}]}
    report, _ = convert(json.dumps(recs), chunk=chunk)
    assert report.skipped_by_reason == {"empty_field": 1, "missing_field": 2,
                                        "non_string_field": 1}
    mixed = [e for e in report.skipped_examples if e.record_index == 6]
    assert "OpenAI chat" in mixed[0].message


# ----- CSV / TSV -------------------------------------------------------------------------

def test_csv_quoting_embedded_newlines_crlf_and_bom() -> None:
    rows = [f'"Q, with a comma {i}","He said ""hi""\r\nthen left {i}"'
            for i in range(40)]
    data = "\ufeffquestion,answer\r\n" + "\r\n".join(rows) + "\r\n"
    report, out = convert(data, "raw/x.csv")
    assert report.valid, report.fatal
    assert report.utf8_bom and report.input_format == "csv"
    assert out[2] == {"prompt": "Q, with a comma 2", "completion": 'He said "hi"\r\nthen left 2'}


def test_tsv_and_a_mapped_csv() -> None:
    data = "id\tprompt\tcompletion\n" + "".join(f"{i}\tp{i}\tc{i}\n" for i in range(40))
    report, out = convert(data, "raw/x.tsv")
    assert report.valid and report.input_format == "tsv"
    assert report.record_schema == "prompt_completion" and out[0] == {"prompt": "p0",
                                                                      "completion": "c0"}
    data = "a,b,c\n" + "".join(f"x{i},y{i},z\n" for i in range(40))
    report, out = convert(data, "raw/x.csv", mapping=FieldMapping("b", "a", "c"))
    assert report.valid and out[0] == {"prompt": "y0\n\nContext:\nz", "completion": "x0"}


def test_csv_short_rows_and_empty_cells_are_skipped_where_they_are() -> None:
    body = [f"q{i},a{i}" for i in range(40)]
    body[3] = "only a question"
    body[4] = "q,"
    body[5] = '"multi\nline",ok'
    data = "question,answer\n" + "\n".join(body) + "\n\n"
    report, _ = convert(data, "raw/x.csv")
    assert report.valid
    assert report.skipped_by_reason == {"empty_field": 1, "missing_field": 1}
    short = next(e for e in report.skipped_examples if e.code == "missing_field")
    assert (short.record_index, short.line) == (3, 5)
    assert short.byte_offset == data.index("only a question")
    empty = next(e for e in report.skipped_examples if e.code == "empty_field")
    assert (empty.record_index, empty.line, empty.byte_offset) == (4, 6, data.index("q,\n"))
    assert report.records_read == 40  # the blank line at the end is no record


@pytest.mark.parametrize(("data", "code"), [
    ("question,answer\n" + "q,a\n" * 40 + '"never closed,a\n', "malformed_csv"),
    ("question,answer\n" + "".join(f"q{i},a\n" for i in range(40)) + '"q"x,a\n',
     "malformed_csv"),
    ("", "empty_input"),
    ("name,age\n" + "x,1\n" * 40, "unsupported_shape"),
])
def test_csv_refusals(data: str, code: str) -> None:
    report, out = convert(data, "raw/x.csv")
    assert not report.valid and out == []
    assert report.fatal is not None and report.fatal.code == code and report.fatal.hint
    if code == "unsupported_shape":
        assert "header's columns (age, name)" in report.fatal.message


def test_csv_invalid_utf8_is_refused() -> None:
    report, _ = convert(b"question,answer\n" + b"q,a\n" * 40 + b"q\xff,a\n", "raw/x.csv")
    assert report.fatal is not None and report.fatal.code == "invalid_utf8"
    assert (report.fatal.line, report.fatal.byte_offset) == (42, 16 + 4 * 40 + 1)


@pytest.mark.parametrize("chunk_size", [7, 64, 1 << 20])
@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_csv_skipped_rows_are_placed_by_byte_across_block_cuts(chunk_size: int,
                                                                newline: str) -> None:
    """Multi-byte text, quoted line breaks and every line ending, read in blocks cut
    anywhere: each skipped row's line and byte offset are where the row starts."""
    rows = [f'"q{i} café 😀","a{i}"' for i in range(60)]
    rows[10] = '"two' + newline + 'lines €",ok'
    rows[20] = "lonely"
    rows[45] = '"",no question'
    data = ("\ufeffquestion,answer" + newline + newline.join(rows) + newline).encode()
    report, _ = convert(data, "raw/x.csv", chunk=chunk_size)
    assert report.valid and report.utf8_bom
    where = {e.code: (e.line, e.byte_offset) for e in report.skipped_examples}
    assert where == {"missing_field": (23, data.index(b"lonely")),
                     "empty_field": (48, data.index(b'"",no question'))}


# ----- the stage's mapping --------------------------------------------------------------

def test_stage_reads_the_mapping_from_the_job_spec_in_object_metadata() -> None:
    from shared import jobspec
    from shared.settings import Settings

    def mapping(meta: dict[str, str]) -> FieldMapping | None:
        return jobspec.field_mapping(jobspec.effective(jobspec.from_metadata(meta), Settings()))

    assert mapping({}) is None
    assert mapping({"ocift-prompt-field": "q", "ocift-completion-field": "a",
                    "opc-meta-ocift-context-field": "c"}) == FieldMapping("q", "a", "c")
    with pytest.raises(ValueError, match="set both opc-meta-ocift-prompt-field and "
                                         "opc-meta-ocift-completion-field"):
        mapping({"ocift-prompt-field": "q"})
    with pytest.raises(ValueError, match="opc-meta-ocift-context-field is set without"):
        mapping({"ocift-context-field": "c"})


# ----- duplicate keys (issue 28 item 7) ---------------------------------------------------

@pytest.mark.parametrize("chunk", [61, 4096, 1 << 20])
@pytest.mark.parametrize("container", ["array", "jsonl"])
def test_a_key_given_twice_is_counted_with_the_first_place_and_the_last_value_used(
        chunk: int, container: str) -> None:
    texts = [json.dumps(chat(i)) for i in range(80)]
    texts[33] = ('{"messages": [{"role": "user", "content": "first", "content": "Q33?"}, '
                 '{"role": "assistant", "content": "A33."}]}')
    texts[50] = ('{"messages": [{"role": "user", "content": "Q50?"}, '
                 '{"role": "assistant", "content": "draft", "content": "A50."}]}')
    texts[60] = ('{"messages": [{"role": "user", "content": "Q60?", "name": "a", "name": "b"},'
                 ' {"role": "assistant", "content": "A60."}]}')  # not a turn's text: not counted
    text = ("[" + ", ".join(texts) + "]") if container == "array" else "\n".join(texts)
    report, out = convert(text, "raw/c.json", chunk)
    assert report.valid
    assert report.duplicate_keys == 2
    first = report.duplicate_key_first
    assert first is not None and first.record_index == 33 and "'content'" in first.message
    assert first.byte_offset == text.encode().index(texts[33].encode())
    assert first.line == (1 if container == "array" else 34)
    assert {"prompt": "Q33?", "completion": "A33."} in out  # the last value, as JSON has it
    assert {"prompt": "Q50?", "completion": "A50."} in out
    assert any("give a key twice" in n for n in report.notes)


@pytest.mark.parametrize("chunk", [61, 1 << 20])
def test_duplicate_mapped_fields_are_counted(chunk: int) -> None:
    recs = [json.dumps({"question": f"Q{i}", "answer": f"A{i}", "context": ""})
            for i in range(60)]
    recs[40] = '{"question": "Q", "answer": "old", "answer": "new"}'
    report, out = convert("[" + ",".join(recs) + "]", chunk=chunk)
    assert report.duplicate_keys == 1
    assert report.duplicate_key_first is not None
    assert report.duplicate_key_first.record_index == 40
    assert {"prompt": "Q", "completion": "new"} in out


def test_csv_lines_stay_exact_across_batches_with_multi_line_rows() -> None:
    rows = [f'"q{i}","a{i}' + ('\r\nmore"' if i % 3 == 0 else '"') for i in range(5000)]
    rows[4500] = "short"
    rows[100] = ""
    data = "question,answer\r\n" + "\r\n".join(rows) + "\r\n"
    report, out = convert(data, "raw/x.csv")
    assert report.valid and report.records_written == 4998
    short = next(e for e in report.skipped_examples if e.code == "missing_field")
    assert short.record_index == 4499  # the blank line is no record
    lines = data.split("\r\n")
    assert short.line is not None and lines[short.line - 1] == "short"
    assert out[0] == {"prompt": "q0", "completion": "a0\r\nmore"}


def test_a_lone_object_wrapping_the_records_is_named() -> None:
    wrapped = json.dumps({"data": [{"question": f"q{i}", "answer": "a"} for i in range(40)],
                          "version": 2})
    report, _ = convert(wrapped)
    assert report.fatal is not None and report.fatal.code == "top_level_not_array"
    assert "under 'data'" in (report.fatal.hint or "")


@pytest.mark.parametrize("indent", [None, 2])
def test_pretty_printed_conversation_arrays_convert_like_compact_ones(indent: int | None) -> None:
    recs: list[Any] = [sharegpt(i) for i in range(3000)]
    recs[1500] = {"conversations": [{"from": "human", "value": "Q"}]}
    expected, _ = convert(jsonl(recs), "raw/s.jsonl")
    for chunk in (4096, 1 << 20):
        report, out = convert(json.dumps(recs, indent=indent), "raw/s.json", chunk)
        assert report.records_written == expected.records_written == 2999
        assert report.skipped_by_reason == {"no_assistant_turn": 1}
        assert out[1499] == {"prompt": "Question 1499?", "completion": "Answer 1499."}
        assert report.skipped_examples[0].record_index == 1500


def test_a_csv_line_with_no_end_is_refused_before_it_fills_memory() -> None:
    limit = RULES.max_record_chars
    data = "question,answer\n" + "q,a\n" * 40 + "x," * (3 * limit)
    report, out = convert(data, "raw/x.csv", chunk=4096)
    assert report.fatal is not None and report.fatal.code == "record_too_large"
    assert (report.fatal.line, report.fatal.byte_offset) == (42, 16 + 4 * 40)
    assert "without a line break" in report.fatal.message and out == []
