"""Streaming conversion of a raw dataset into OCI fine-tuning JSONL, with its report.

Mapping (Alpaca records such as finance-alpaca's ``Cleaned_date.json``)::

    prompt     = instruction                          when input is empty
    prompt     = instruction + SEPARATOR + input      otherwise
    completion = output

with ``SEPARATOR = "\\n\\nContext:\\n"``. ``text`` and any other keys are ignored
(``text`` only repeats the other fields). Records already holding ``prompt`` and
``completion`` pass through unchanged. The shape (Alpaca or prompt/completion) is
taken from the first object; later records must have the same shape. Every field
is stripped of surrounding whitespace; ``input: null`` counts as empty. Unicode is
written as-is (UTF-8).

Each output line is exactly ``{"prompt": "...", "completion": "..."}`` + ``\\n``;
U+2028, U+2029 and U+0085 are written as ``\\u`` escapes so no reader splits a line.
Nothing is written to ``out`` until ``min_examples`` valid records are known, so
a too-small dataset leaves ``out`` untouched; any later fatal error still makes
``report.valid`` False and the caller must discard what ``out`` received.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, BinaryIO, Protocol

import msgspec

from shared.convert.batches import BatchReader
from shared.convert.dedupe import HashSet64
from shared.convert.reader import CHUNK_SIZE, InputError, Oversized, Readable
from shared.convert.report import ConversionReport, Issue, RecordSchema
from shared.convert.rules import DatasetRules
from shared.convert.stats import LengthHistogram

SEPARATOR = "\n\nContext:\n"
_MASK64 = (1 << 64) - 1
# Unicode line breaks are valid raw in JSON strings but split lines for str.splitlines().
# Their UTF-8 bytes occur in the output only as these characters (UTF-8 self-synchronises).
_LINE_BREAK_ESCAPES = ((b"\xe2\x80\xa8", b"\\u2028"), (b"\xe2\x80\xa9", b"\\u2029"),
                       (b"\xc2\x85", b"\\u0085"))
# msgspec escapes strings exactly as json.dumps(ensure_ascii=False) (checked by the
# tests); a (prompt, completion) pair becomes '["p","c"]' and then the documented line.
# '","' cannot occur inside an encoded string (its quotes are escaped), nor '\n["' or
# '"]\n' (raw line breaks are escaped), so these replacements touch only the framing.
_ENCODE_LINES = msgspec.json.Encoder().encode_lines
RECORD_KEYS = frozenset({"instruction", "input", "output", "prompt", "completion"})
MAX_EXAMPLES_KEPT = 20
FLUSH_CHARS = 1 << 20

MAPPINGS: dict[RecordSchema, dict[str, str]] = {
    "alpaca": {
        "prompt": 'instruction, then "\\n\\nContext:\\n" + input when input is not empty',
        "completion": "output",
        "ignored": "text and any other keys",
    },
    "prompt_completion": {
        "prompt": "prompt", "completion": "completion", "ignored": "any other keys",
    },
}

_HINTS = {
    "not_an_object": "each record must be a JSON object",
    "missing_field": "add the field to every record",
    "non_string_field": "these fields must be JSON strings",
    "empty_field": "give every record a non-empty prompt and completion",
    "record_too_long": "shorten the record or pick a base model with a longer context",
    "invalid_unicode": "remove the unpaired surrogate escape (\\ud800-\\udfff)",
    "duplicate": "duplicates add nothing to training; they are dropped",
}


class Writable(Protocol):
    """What the converter needs from its output."""

    def write(self, data: bytes, /) -> object: ...


def convert_stream(
    src: Readable | BinaryIO,
    out: Writable | BinaryIO | None,
    *,
    source: str = "",
    rules: DatasetRules | None = None,
    progress: Callable[[int], None] | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> ConversionReport:
    """Convert ``src`` (read sequentially) into JSONL on ``out`` (None: validate only)."""
    rules = rules or DatasetRules()
    report = ConversionReport(source=source, rules=rules, separator=SEPARATOR)
    reader = BatchReader(src, record_keys=RECORD_KEYS, max_value_chars=rules.max_record_chars,
                         chunk_size=chunk_size, progress=progress)
    run = _Run(report, reader, out, rules)
    try:
        run.convert()
    except InputError as exc:
        report.fatal = exc.issue
    report.bytes_read = reader.bytes_read
    report.utf8_bom = reader.utf8_bom
    report.input_format = reader.format
    run.finish()
    if progress is not None:
        progress(reader.bytes_read)
    return report


class _Run:
    """State of one conversion."""

    def __init__(self, report: ConversionReport, reader: BatchReader,
                 out: Writable | BinaryIO | None, rules: DatasetRules) -> None:
        self.report = report
        self.reader = reader
        self.out = out
        self.rules = rules
        self.skipped: dict[str, int] = {}
        self.seen = HashSet64()
        self.mixed = 0  # records of the other schema (Alpaca vs prompt/completion)
        self.pending: list[tuple[str, str]] = []
        self.written = 0
        self.bytes_written = 0
        self.read = 0
        self.hist = [LengthHistogram() for _ in range(4)]

    def skip(self, code: str, message: str, start: int, number: int) -> None:
        """Count record ``number`` (1-based) as skipped; keep the first few as examples."""
        self.skipped[code] = self.skipped.get(code, 0) + 1
        examples = self.report.skipped_examples
        if len(examples) < MAX_EXAMPLES_KEPT:
            examples.append(self.reader.issue(code, message, start, hint=_HINTS.get(code),
                                              record_index=number - 1))

    def skip_oversized(self, value: Oversized, number: int) -> None:
        """Count a record the reader stepped over for its size."""
        self.skipped["record_too_long"] = self.skipped.get("record_too_long", 0) + 1
        examples = self.report.skipped_examples
        if len(examples) < MAX_EXAMPLES_KEPT:
            examples.append(Issue(
                code="record_too_long", record_index=number - 1, line=value.line,
                byte_offset=value.byte_offset, hint=_HINTS["record_too_long"],
                message=f"the record's JSON text ({value.chars} characters) exceeds "
                        f"{self.rules.max_record_chars} characters, far more than "
                        f"{self.rules.max_example_tokens} tokens; it was skipped unread"))

    def convert(self) -> None:
        """The hot loop: one pass over the records, state kept in locals."""
        rules, skip = self.rules, self.skip
        max_p, max_c, max_e = (rules.max_prompt_tokens, rules.max_completion_tokens,
                               rules.max_example_tokens)
        bpt = rules.bytes_per_token
        dedupe, seen = rules.drop_duplicates, self.seen
        table, mask = seen.table, seen.mask
        hists = self.hist
        p_chars, p_tok, c_chars, c_tok = (h.counts for h in hists)
        pending = self.pending
        min_examples = rules.min_examples
        schema: RecordSchema | None = None
        first_key, second_key = "prompt", "completion"
        read = written = pending_chars = extra_keys = 0
        try:
            for value, start in self.reader.values():
                read += 1
                if type(value) is not dict:
                    if type(value) is Oversized:
                        self.skip_oversized(value, read)
                    else:
                        skip("not_an_object",
                             f"record is a JSON {_json_type(value)}, not an object", start, read)
                    continue
                if schema is None:
                    schema = ("prompt_completion" if "prompt" in value or "completion" in value
                              else "alpaca")
                    self.report.record_schema = schema
                    if schema == "alpaca":
                        first_key, second_key = "instruction", "output"
                prompt = value.get(first_key)
                completion = value.get(second_key)
                if schema == "alpaca":
                    context = value.get("input")
                else:
                    context = None
                    if len(value) > 2:
                        extra_keys += 1
                if type(prompt) is not str or type(completion) is not str or (
                        context is not None and type(context) is not str):
                    self._bad_fields(value, schema, first_key, second_key, start, read)
                    continue
                prompt = prompt.strip()
                completion = completion.strip()
                if not prompt or not completion:
                    empty = first_key if not prompt else second_key
                    skip("empty_field", f"field {empty} is empty", start, read)
                    continue
                if context:
                    context = context.strip()
                    if context:
                        prompt = prompt + SEPARATOR + context
                try:
                    pb = len(prompt) if prompt.isascii() else len(prompt.encode("utf-8"))
                    cb = len(completion) if completion.isascii() else len(
                        completion.encode("utf-8"))
                except UnicodeEncodeError:
                    skip("invalid_unicode", "record holds an unpaired UTF-16 surrogate, which "
                         "cannot be encoded as UTF-8", start, read)
                    continue
                pt = -(-pb // bpt)
                ct = -(-cb // bpt)
                if pt > max_p or ct > max_c or pt + ct > max_e:
                    skip("record_too_long",
                         f"about {pt} prompt + {ct} completion tokens (estimated) exceed the "
                         f"{rules.family} limits of {max_p} prompt / {max_c} completion / "
                         f"{max_e} total tokens", start, read)
                    continue
                pair = (prompt, completion)
                if dedupe:  # inline HashSet64.add_hash: this runs once per record
                    digest = (hash(pair) & _MASK64) or 1
                    slot = digest & mask
                    current = table[slot]
                    while current and current != digest:
                        slot = (slot + 1) & mask
                        current = table[slot]
                    if current:
                        skip("duplicate", "same prompt and completion as an earlier record",
                             start, read)
                        continue
                    table[slot] = digest
                    seen.used += 1  # == written + 1: every stored hash is one written record
                    if seen.used * 2 > mask:
                        table, mask = seen.grow()
                pending.append(pair)
                pl, cl = len(prompt), len(completion)
                pending_chars += pl + cl
                written += 1
                try:  # zero-cost unless a length reaches EXACT
                    p_chars[pl] += 1
                except IndexError:
                    hists[0].add_big(pl)
                try:
                    c_chars[cl] += 1
                except IndexError:
                    hists[2].add_big(cl)
                try:
                    p_tok[pt] += 1
                except IndexError:
                    hists[1].add_big(pt)
                try:
                    c_tok[ct] += 1
                except IndexError:
                    hists[3].add_big(ct)
                if pending_chars >= FLUSH_CHARS and written >= min_examples:
                    self.written = written
                    self.flush()
                    pending_chars = 0
        finally:
            self.read, self.written = read, written
            self.report.records_with_extra_keys = extra_keys

    def _bad_fields(self, value: dict[str, Any], schema: RecordSchema, first_key: str,
                    second_key: str, start: int, number: int) -> None:
        missing = [k for k in (first_key, second_key) if value.get(k) is None]
        if missing:
            other = ("prompt", "completion") if schema == "alpaca" else ("instruction", "output")
            message = f"record has no {' or '.join(missing)}"
            if any(k in value for k in other):
                self.mixed += 1
                message += (f": it is a {'prompt/completion' if schema == 'alpaca' else 'Alpaca'}"
                            f" record, but the first record made this a "
                            f"{_SCHEMA_WORDS[schema]} dataset (schemas are mixed)")
            self.skip("missing_field", message, start, number)
            return
        keys = (first_key, "input", second_key) if schema == "alpaca" else (first_key,
                                                                             second_key)
        bad = [k for k in keys if value.get(k) is not None and type(value[k]) is not str]
        self.skip("non_string_field",
                  f"field {', '.join(bad)} is not a string "
                  f"({', '.join(_json_type(value[k]) for k in bad)})", start, number)

    def flush(self) -> None:
        if self.pending:
            data = _ENCODE_LINES(self.pending)
            data = (b'{"prompt": ' + data[1:-3].replace(b'","', b'", "completion": "')
                    .replace(b'"]\n["', b'"}\n{"prompt": "') + b'"}\n')
            if not data.isascii():
                for raw, escaped in _LINE_BREAK_ESCAPES:
                    if raw in data:
                        data = data.replace(raw, escaped)
            if self.out is not None:
                self.out.write(data)
            self.bytes_written += len(data)
        self.pending.clear()

    def finish(self) -> None:
        report = self.report
        report.records_read = self.read
        report.records_written = self.written
        report.skipped_by_reason = dict(sorted(self.skipped.items()))
        report.records_skipped = sum(self.skipped.values())
        if report.record_schema is not None:
            report.mapping = MAPPINGS[report.record_schema]
        report.prompt.chars = self.hist[0].summary()
        report.prompt.est_tokens = self.hist[1].summary()
        report.completion.chars = self.hist[2].summary()
        report.completion.est_tokens = self.hist[3].summary()
        if report.utf8_bom:
            report.notes.append("a UTF-8 byte order mark was found and stripped")
        if self.mixed:
            first = report.record_schema or "alpaca"
            other = "prompt/completion" if first == "alpaca" else "Alpaca"
            report.notes.append(
                f"schemas are mixed: {self.mixed} records use {other} keys in a dataset whose "
                f"first record is {_SCHEMA_WORDS[first]}; they were skipped. Use one schema "
                "per file")
        if report.records_with_extra_keys:
            report.notes.append(
                f"{report.records_with_extra_keys} prompt/completion records carry other keys: "
                "they are dropped from the converted output, but OCI rejects a training file "
                "whose lines have any key besides prompt and completion")
        if report.fatal is None:
            report.fatal = self._dataset_issue()
        report.valid = report.fatal is None
        if report.valid:
            self.flush()
            report.bytes_written = self.bytes_written
        else:
            self.pending.clear()

    def _dataset_issue(self) -> Issue | None:
        rules, written = self.rules, self.written
        skipped = ", ".join(f"{n} {code}" for code, n in sorted(self.skipped.items()))
        detail = f"{self.read} records read" + (f", skipped: {skipped}" if skipped else "")
        if self.mixed:
            detail += (f"; schemas are mixed: {self.mixed} records use the other schema than "
                       "the first record's")
        if written == 0 and self.read > 0:
            return Issue(code="no_usable_records",
                         message=f"no usable prompt/completion record ({detail})",
                         hint="see skipped_examples for what each record lacks")
        if written < rules.min_examples:
            return Issue(code="too_few_records",
                         message=f"only {written} usable examples ({detail}); OCI requires at "
                                 f"least {rules.min_examples}",
                         hint=f"add records: see {rules.source_url}")
        if rules.max_examples is not None and written > rules.max_examples:
            return Issue(code="too_many_records",
                         message=f"{written} examples; at most {rules.max_examples} allowed",
                         hint="split the dataset")
        return None


_SCHEMA_WORDS = {"alpaca": "Alpaca (instruction/input/output)",
                 "prompt_completion": "prompt/completion"}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
