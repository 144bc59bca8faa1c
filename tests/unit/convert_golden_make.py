"""Build the converter's golden corpus: inputs and the reference implementation's outputs.

Run once against the reference converter (the commit named in the file) to freeze its
behaviour; ``test_convert_golden.py`` replays every case against today's converter::

    python tests/unit/convert_golden_make.py CAPTURED.json tests/fixtures/convert_golden.json.gz

After a deliberate change of the converter's behaviour (a message, a rule), re-run the
stored cases against today's converter and see every difference before accepting it::

    python tests/unit/convert_golden_make.py --refresh tests/fixtures/convert_golden.json.gz

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
    return cases


def run_case(data: bytes, rules: dict[str, Any], chunk_size: int, source: str,
             has_out: bool) -> tuple[bytes, dict[str, Any]]:
    sink = io.BytesIO()
    report = convert_stream(io.BytesIO(data), sink if has_out else None, source=source,
                            rules=DatasetRules.model_validate(rules), chunk_size=chunk_size)
    return sink.getvalue(), report.model_dump(mode="json")


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
                               case["has_out"])
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


def main() -> int:
    if sys.argv[1] == "--refresh":
        return refresh(Path(sys.argv[2]))
    captured = json.loads(Path(sys.argv[1]).read_text())
    cases: list[dict[str, Any]] = []
    for entry in captured.values():
        cases.append({"name": f"captured-{len(cases)}", "input": entry["input"],
                      "rules": entry["rules"], "chunk_size": entry["chunk_size"],
                      "source": entry["source"], "has_out": entry["has_out"]})
    default = DatasetRules.for_base_model("cohere.command-r-08-2024").model_dump(mode="json")
    small_cap = {**default, "max_record_chars": 300, "min_examples": 4}
    for name in hazard_cases():
        for chunk in CHUNKS:
            cases.append({"name": f"{name}-{chunk}", "hazard": name,
                          "rules": default, "chunk_size": chunk, "source": "raw/h.json",
                          "has_out": True})
        if name.startswith(("clean", "array_too_long", "jsonl_too_long")):
            # One chunk holds the whole input: the reference enforced a small cap on a
            # JSON Lines record only when the record did not cross a chunk boundary.
            cases.append({"name": f"{name}-smallcap", "hazard": name,
                          "rules": small_cap, "chunk_size": 1 << 22, "source": "raw/h.json",
                          "has_out": True})
    hazards = hazard_cases()
    for case in cases:
        data = hazards[case["hazard"]] if "hazard" in case else base64.b64decode(case["input"])
        out, report = run_case(data, case["rules"],
                               case["chunk_size"], case["source"], case["has_out"])
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
