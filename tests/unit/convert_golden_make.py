"""Build the converter's golden corpus: inputs and the reference implementation's outputs.

Run once against the reference converter (the commit named in the file) to freeze its
behaviour; ``test_convert_golden.py`` replays every case against today's converter::

    python tests/unit/convert_golden_make.py CAPTURED.json tests/fixtures/convert_golden.json.gz

After a deliberate change of the converter's behaviour (a message, a rule), re-run the
stored cases against today's converter and see every difference before accepting it::

    python tests/unit/convert_golden_make.py --refresh tests/fixtures/convert_golden.json.gz

New hazard inputs (the shapes of issue 26) are added, run by today's converter once its
unit tests say it is right, with ``--add``.

``CAPTURED.json`` holds the inputs every ``convert_stream`` call of the convert tests
received (recorded by a pytest plugin wrapping it); the hazard cases below add large
inputs with every kind of problem in the middle of the stream, where a batching
reader could get them wrong (they are rebuilt from a fixed seed, not stored).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from shared.convert import DatasetRules, convert_stream  # noqa: E402
from shared.convert.shapes import FieldMapping  # noqa: E402

CHUNKS = (1 << 20, 4096, 61)


def _record(rng: random.Random, i: int) -> dict[str, Any]:
    words = ["rate", "bond", "yield", "café", "€", "😀", 'quote "x"', "back\\slash",
             "tab\there", "line\nbreak", "\u2028", "\u2029", "\x85", "\x00", "\x7f", "日本語"]
    text = " ".join(rng.choices(words, k=rng.randint(2, 12)))
    return {"instruction": f"Q{i} {text}", "input": text if i % 3 == 0 else "",
            "output": f"A{i} " + text[::-1], "text": f"## {text}"}


def _array(items: list[bytes], sep: bytes = b",\n") -> bytes:
    return b"[\n" + sep.join(items) + b"\n]\n"


def hazard_cases() -> dict[str, bytes]:
    rng = random.Random(16)
    base = [json.dumps(_record(rng, i), ensure_ascii=bool(i % 2)).encode() for i in range(2500)]
    cases: dict[str, bytes] = {"clean_array": _array(base), "clean_jsonl": b"\n".join(base)}
    cases["clean_compact"] = b"[" + b",".join(base) + b"]"
    cases["crlf_jsonl"] = b"\r\n".join(base) + b"\r\n"
    cases["bom_array"] = b"\xef\xbb\xbf" + _array(base)
    cases["ws_separators"] = _array(base, b" \t,\r\n ")
    bad_records = {
        "dup": base[5],
        "number_field": b'{"instruction": 5, "output": "x"}',
        "null_input": b'{"instruction": "n", "input": null, "output": "x"}',
        "missing": b'{"instruction": "only"}',
        "empty": b'{"instruction": "  ", "output": "x"}',
        "nested_ignored": b'{"instruction": "a", "output": "b", "x": [[{"y": [1]}]]}',
        "nested_field": b'{"instruction": {"a": "b"}, "output": "b"}',
        "nan_ignored": b'{"instruction": "a", "output": "b", "x": NaN}',
        "inf_field": b'{"instruction": "a", "output": -Infinity}',
        "lone_surrogate": b'{"instruction": "a\\ud800", "output": "b"}',
        "surrogate_pair": b'{"instruction": "a\\ud83d\\ude00", "output": "b"}',
        "bigint_ignored": b'{"instruction": "a", "output": "b", "x": ' + b"9" * 5000 + b"}",
        "bigint_short": b'{"instruction": "a", "output": "b", "x": 123456789012345678901234}',
        "dupkey": b'{"instruction": "a", "instruction": "c", "output": "b"}',
        "escaped_key": b'{"instr\\u0075ction": "k", "output": "b"}',
        "list_record": b'["a", "b"]',
        "string_record": b'"just a string"',
        "null_record": b"null",
        "deep_ignored": b'{"instruction": "a", "output": "b", "x": ' + b"[" * 3000
                        + b"]" * 3000 + b"}",
        "too_long": b'{"instruction": "' + b"word " * 40000 + b'", "output": "b"}',
        "braces_in_strings": b'{"instruction": "f(x) = {[x]}", "output": "},{"}',
        "escaped_line_seps": b'{"instruction": "a\\u2028b\\u0085", "output": "c\\u2029"}',
        "prompt_keys_in_alpaca": b'{"prompt": "p", "completion": "c", "instruction": "i", '
                                 b'"output": "o"}',
        "control_escape": b'{"instruction": "a\\u0001\\u001f", "output": "\\b\\f"}',
    }
    for name, rec in bad_records.items():
        for at in (7, 1300):
            items = list(base)
            items[at:at] = [rec] * (3 if name == "dup" else 1)
            cases[f"array_{name}_{at}"] = _array(items)
            cases[f"jsonl_{name}_{at}"] = b"\n".join(items) + b"\n"
    fatal = {
        "badutf8_string": b'{"instruction": "a\xff", "output": "b"}',
        "badutf8_ignored": b'{"instruction": "a", "output": "b", "x": "\xc3("}',
        "badutf8_outside": b'{"instruction": "a", "output": "b"}\xff',
        "control_char": b'{"instruction": "a\x01", "output": "b"}',
        "bad_escape": b'{"instruction": "a\\x", "output": "b"}',
        "trailing_comma_obj": b'{"instruction": "a", "output": "b",}',
        "missing_comma": b'{"instruction": "a" "output": "b"}',
        "leading_zero": b'{"instruction": "a", "output": "b", "x": 01}',
        "unterminated": b'{"instruction": "a, "output": "b"}',
        "bare_word": b"hello",
    }
    for name, rec in fatal.items():
        items = list(base)
        items[1700:1700] = [rec]
        cases[f"array_fatal_{name}"] = _array(items)
        cases[f"jsonl_fatal_{name}"] = b"\n".join(items) + b"\n"
    clean = _array(base)
    for cut in (len(clean) // 3, len(clean) - 5, len(clean) - 2):
        cases[f"truncated_{cut}"] = clean[:cut]
    cases["trailing_comma_array"] = _array(base)[:-3] + b",\n]\n"
    cases["trailing_data"] = _array(base) + b"[]"
    cases["two_per_line_jsonl"] = b"\n".join(
        [*base[:900], base[900] + b" " + base[901], *base[902:]])
    cases["comma_lines_jsonl"] = b",\n".join(base)
    cases["blank_lines_jsonl"] = b"\n\n".join(base) + b"\n\n"
    cases["pretty_jsonl"] = b"\n".join(json.dumps(json.loads(r), indent=1).encode()
                                       for r in base[:400])
    cases["jsonl_non_object_line"] = b"\n".join([*base[:1000], b"[1]", *base[1000:]])
    cases["jsonl_first_not_record"] = b'{"a": 1}\n' + b"\n".join(base)
    pc = [json.dumps({"prompt": f"p{i}", "completion": f"c{i}", **({"x": 1} if i % 7 == 0
                      else {})}).encode() for i in range(1500)]
    cases["prompt_completion_array"] = _array(pc)
    cases["prompt_completion_jsonl"] = b"\n".join(pc)
    cases.update(shape_hazard_cases())
    return cases


def _chat(rng: random.Random, i: int) -> dict[str, Any]:
    words = ["rate", "bond", "café", "€", 'quote "x"', "line\nbreak", "\u2028", "日本語"]
    turns: list[dict[str, Any]] = []
    if i % 4 == 0:
        turns.append({"role": "system", "content": "Answer briefly."})
    for t in range(1 + i % 3):
        question = f"Q{i}.{t} " + " ".join(rng.choices(words, k=4))
        answer = f"A{i}.{t} " + " ".join(rng.choices(words, k=6))
        turns += [{"role": "user", "content": question},
                  {"role": "assistant", "content": answer}]
    return {"messages": turns, "id": i}


#: Hazards of the shapes issue 26 added: (name -> input); mapped ones in MAPPED_HAZARDS.
CHAT_HAZARDS: dict[str, Any] = {
    "no_assistant": {"messages": [{"role": "user", "content": "unanswered"}]},
    "assistant_first": {"messages": [{"role": "assistant", "content": "Hello!"},
                                     {"role": "user", "content": "Q"},
                                     {"role": "assistant", "content": "A"}]},
    "only_assistant": {"messages": [{"role": "system", "content": "S"},
                                    {"role": "assistant", "content": "A"}]},
    "empty_content": {"messages": [{"role": "user", "content": ""},
                                   {"role": "assistant", "content": "A"}]},
    "null_content": {"messages": [{"role": "user", "content": "Q"},
                                  {"role": "assistant", "content": None}]},
    "tool_call": {"messages": [{"role": "user", "content": "Weather?"},
                               {"role": "assistant", "content": None, "tool_calls": [
                                   {"id": "c1", "type": "function",
                                    "function": {"name": "w", "arguments": "{}"}}]},
                               {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
                               {"role": "assistant", "content": "Sunny."}]},
    "image_part": {"messages": [{"role": "user", "content": [
        {"type": "text", "text": "What is it?"},
        {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]},
        {"role": "assistant", "content": "A cat."}]},
    "text_parts": {"messages": [{"role": "user", "content": [
        {"type": "text", "text": "part one"}, {"type": "text", "text": "part two"}]},
        {"role": "assistant", "content": "joined"}]},
    "unknown_role": {"messages": [{"role": "narrator", "content": "x"},
                                  {"role": "user", "content": "Q"},
                                  {"role": "assistant", "content": "A"}]},
    "trailing_user": {"messages": [{"role": "user", "content": "Q"},
                                   {"role": "assistant", "content": "A"},
                                   {"role": "user", "content": "thanks"}]},
    "not_a_list": {"messages": "hello"},
    "role_not_string": {"messages": [{"role": 1, "content": "Q"}]},
    "alpaca_mixed_in": {"instruction": "i", "output": "o"},
    "sharegpt_turns_in_messages": {"messages": [{"from": "human", "value": "Q"},
                                                {"from": "gpt", "value": "A"}]},
}


def _sharegpt(rec: dict[str, Any]) -> dict[str, Any]:
    """The chat record in ShareGPT's shape (a tool call as LLaMA-Factory writes it: a
    ``function_call`` turn, its result an ``observation``)."""
    roles = {"system": "system", "user": "human", "assistant": "gpt", "tool": "observation"}
    turns = rec.get("messages")
    if not isinstance(turns, list):
        return {"conversations": turns}
    out: list[Any] = []
    for t in turns:
        if not (isinstance(t, dict) and "role" in t):
            out.append(t)
        elif t.get("tool_calls"):
            out.append({"from": "function_call", "value": json.dumps(t["tool_calls"])})
        else:
            out.append({"from": roles.get(t["role"], t["role"]), "value": t.get("content")})
    return {"conversations": out}


def shape_hazard_cases() -> dict[str, bytes]:
    """Chat, ShareGPT, field-mapped and CSV inputs with every hazard the issue lists, at
    the start and in the middle of the stream."""
    rng = random.Random(26)
    base = [_chat(rng, i) for i in range(1200)]
    cases: dict[str, bytes] = {}
    for shape in ("chat", "sharegpt"):
        recs = base if shape == "chat" else [_sharegpt(r) for r in base]
        for name, rec in CHAT_HAZARDS.items():
            if shape == "sharegpt" and name == "sharegpt_turns_in_messages":
                continue
            bad = rec if shape == "chat" or "messages" not in rec else _sharegpt(rec)
            items = list(recs)
            for at in (1, 700):
                items[at:at] = [bad]
            encoded = [json.dumps(r, ensure_ascii=bool(i % 2)).encode()
                       for i, r in enumerate(items)]
            cases[f"{shape}_array_{name}"] = _array(encoded)
            cases[f"{shape}_jsonl_{name}"] = b"\n".join(encoded) + b"\n"
    qa = [{"question": f"Q{i} " + "x" * (i % 7), "answer": f"A{i}", "context": "c" * (i % 3),
           "id": i, "meta": {"n": [i]}} for i in range(900)]
    qa[5] = {"question": "no answer", "context": "x"}
    qa[6] = {"question": "Q", "answer": ["not", "a", "string"]}
    qa[400] = {"messages": [{"role": "user", "content": "Q"},
                            {"role": "assistant", "content": "A"}]}
    qa[401] = {"question": "dup", "question": "dup2", "answer": "A"}  # noqa: F601
    encoded = [json.dumps(r).encode() for r in qa]
    cases["qa_array"] = _array(encoded)
    cases["qa_jsonl"] = b"\n".join(encoded)
    cases["mapped_jsonl"] = b"\n".join(json.dumps({"frage": f"F{i}", "antwort": f"A{i}",
                                                   "n": i}).encode() for i in range(300))
    cases["unmapped_jsonl"] = cases["mapped_jsonl"]
    rows = ["question,answer,context"]
    for i in range(900):
        if i == 3:
            rows.append('"Q with ""quotes"" and, commas",A3,')
        elif i == 4:
            rows.append('"multi\r\nline question","multi\nline answer","c"')
        elif i == 5:
            rows.append("short row")
        elif i == 6:
            rows.append(",empty question,")
        elif i == 7:
            rows.append("")
        else:
            rows.append(f"Q{i} café,A{i} 😀,{'ctx' if i % 2 else ''}")
    csv_text = "\r\n".join(rows) + "\r\n"
    cases["csv_quotes_newlines"] = csv_text.encode()
    cases["csv_bom"] = b"\xef\xbb\xbf" + csv_text.encode()
    cases["csv_no_mapped_column"] = b"name,age\n" + b"x,1\n" * 50
    cases["csv_unclosed_quote"] = csv_text.encode() + b'"never closed,x\n'
    cases["csv_bad_utf8"] = csv_text.encode()[:3000] + b"\xff" + csv_text.encode()[3000:]
    # skips and faults past the first batches (the reader keeps only the current
    # batch's blocks), with CR-only line ends and a quoted CR inside a field
    late = ["question,answer"]
    for i in range(5000):
        late.append("short row" if i in (2500, 4800) else
                    f'"Q{i}\rsecond line",A{i} €' if i == 3000 else f"Q{i} ü,A{i}")
    late_text = ("\r".join(late) + "\r").encode()
    cases["csv_cr_late_skips"] = late_text
    cases["csv_late_bad_utf8"] = late_text[:90_000] + b"\xc3(" + late_text[90_000:]
    cases["tsv_prompt_completion"] = ("prompt\tcompletion\n" + "".join(
        f"p{i}\tc{i}\n" for i in range(300))).encode()
    return cases


#: Hazard cases converted with a field mapping (as --prompt-field/--completion-field give).
MAPPED_HAZARDS = {"mapped_jsonl": {"prompt": "frage", "completion": "antwort"}}


def source_of(name: str) -> str:
    """The source name a hazard is converted under (its suffix picks CSV/TSV)."""
    return "raw/h.csv" if name.startswith("csv_") else (
        "raw/h.tsv" if name.startswith("tsv_") else "raw/h.json")


def run_case(data: bytes, rules: dict[str, Any], chunk_size: int, source: str,
             has_out: bool, mapping: dict[str, str] | None = None
             ) -> tuple[bytes, dict[str, Any]]:
    sink = io.BytesIO()
    report = convert_stream(io.BytesIO(data), sink if has_out else None, source=source,
                            rules=DatasetRules.model_validate(rules), chunk_size=chunk_size,
                            mapping=FieldMapping(**mapping) if mapping else None)
    # the evaluation split's counts came after the reference; the replay checks they are 0
    return sink.getvalue(), report.model_dump(mode="json", exclude=set(NEWER_THAN_REFERENCE))


#: Report fields added after the reference was captured (issue 25's evaluation split).
NEWER_THAN_REFERENCE = ("eval_records", "eval_bytes_written")


def _diff(old: Any, new: Any, path: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new)):
            out += _diff(old.get(key), new.get(key), f"{path}.{key}")
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [d for i, (a, b) in enumerate(zip(old, new, strict=True))
                for d in _diff(a, b, f"{path}[{i}]")]
    return [] if old == new else [f"{path}: {old!r} -> {new!r}"]


#: Report fields of a rejected input the golden test does not compare (see its docstring).
READ_BEFORE_BAD_UTF8 = ("records_read", "records_written", "records_skipped", "prompt",
                        "completion", "skipped_by_reason", "record_schema", "mapping")


def _compared(report: dict[str, Any]) -> dict[str, Any]:
    """The part of a report ``test_convert_golden`` compares."""
    out = dict(report)
    if not out.get("valid"):
        out.pop("bytes_read", None)
        if (out.get("fatal") or {}).get("code") == "invalid_utf8":
            for key in READ_BEFORE_BAD_UTF8:
                out.pop(key, None)
    return out


def refresh(golden: Path) -> int:
    """Re-run every stored case with today's converter; print what changed; rewrite."""
    with gzip.open(golden, "rt", encoding="utf-8") as f:
        doc = json.load(f)
    hazards = hazard_cases()
    changed: dict[str, list[str]] = {}
    for case in doc["cases"]:
        data = hazards[case["hazard"]] if "hazard" in case else base64.b64decode(case["input"])
        out, report = run_case(data, case["rules"], case["chunk_size"], case["source"],
                               case["has_out"], case.get("mapping"))
        diffs = _diff(_compared(case["report"]), _compared(report))
        if hashlib.sha256(out).hexdigest() != case["output_sha256"]:
            diffs.append("output changed")
        if not diffs:
            continue  # what the test compares is unchanged: keep the stored case as it was
        changed[case["name"]] = diffs
        case["output_sha256"] = hashlib.sha256(out).hexdigest()
        case["output_lines"] = out.count(b"\n")
        case["report"] = report
    for name, diffs in changed.items():
        print(name)
        for d in diffs:
            print("   ", d[:400])
    print(f"{len(changed)} of {len(doc['cases'])} cases changed")
    with gzip.open(golden, "wt", encoding="utf-8") as f:
        json.dump(doc, f, separators=(",", ":"))
    return 0


def hazard_entries(names: list[str]) -> list[dict[str, Any]]:
    """The golden cases of hazard inputs ``names`` (every chunk size), not yet run."""
    default = DatasetRules.for_base_model("cohere.command-r-08-2024").model_dump(mode="json")
    small_cap = {**default, "max_record_chars": 300, "min_examples": 4}
    cases: list[dict[str, Any]] = []
    for name in names:
        extra = {"mapping": MAPPED_HAZARDS[name]} if name in MAPPED_HAZARDS else {}
        for chunk in CHUNKS:
            cases.append({"name": f"{name}-{chunk}", "hazard": name, "rules": default,
                          "chunk_size": chunk, "source": source_of(name), "has_out": True,
                          **extra})
        if name.startswith(("clean", "array_too_long", "jsonl_too_long")):
            # One chunk holds the whole input: the reference enforced a small cap on a
            # JSON Lines record only when the record did not cross a chunk boundary.
            cases.append({"name": f"{name}-smallcap", "hazard": name,
                          "rules": small_cap, "chunk_size": 1 << 22, "source": "raw/h.json",
                          "has_out": True})
    return cases


def add_new_hazards(golden: Path) -> int:
    """Add the hazard inputs the file lacks (new shapes), run by today's converter."""
    with gzip.open(golden, "rt", encoding="utf-8") as f:
        doc = json.load(f)
    hazards = hazard_cases()
    have = {c["hazard"] for c in doc["cases"] if "hazard" in c}
    new = hazard_entries([name for name in hazards if name not in have])
    for case in new:
        out, report = run_case(hazards[case["hazard"]], case["rules"], case["chunk_size"],
                               case["source"], case["has_out"], case.get("mapping"))
        case["output_sha256"] = hashlib.sha256(out).hexdigest()
        case["output_lines"] = out.count(b"\n")
        case["report"] = report
        print(case["name"], report["valid"], (report["fatal"] or {}).get("code"),
              report["records_written"], report["skipped_by_reason"])
    doc["cases"] += new
    with gzip.open(golden, "wt", encoding="utf-8") as f:
        json.dump(doc, f, separators=(",", ":"))
    print(len(new), "cases added")
    return 0


def main() -> int:
    if sys.argv[1] == "--refresh":
        return refresh(Path(sys.argv[2]))
    if sys.argv[1] == "--add":
        return add_new_hazards(Path(sys.argv[2]))
    captured = json.loads(Path(sys.argv[1]).read_text())
    cases: list[dict[str, Any]] = []
    for entry in captured.values():
        cases.append({"name": f"captured-{len(cases)}", "input": entry["input"],
                      "rules": entry["rules"], "chunk_size": entry["chunk_size"],
                      "source": entry["source"], "has_out": entry["has_out"]})
    cases += hazard_entries(list(hazard_cases()))
    hazards = hazard_cases()
    for case in cases:
        data = hazards[case["hazard"]] if "hazard" in case else base64.b64decode(case["input"])
        out, report = run_case(data, case["rules"], case["chunk_size"], case["source"],
                               case["has_out"], case.get("mapping"))
        case["output_sha256"] = hashlib.sha256(out).hexdigest()
        case["output_lines"] = out.count(b"\n")
        case["report"] = report
    commit = os.environ.get("GOLDEN_REFERENCE_COMMIT") or subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
        check=True).stdout.strip()
    doc = {"reference_commit": commit, "cases": cases}
    with gzip.open(sys.argv[2], "wt", encoding="utf-8") as f:
        json.dump(doc, f, separators=(",", ":"))
    print(len(cases), "cases")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
