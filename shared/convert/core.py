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

With ``eval_size`` (``"auto"`` or a number) the held-out evaluation split
(:mod:`shared.convert.holdout`) is chosen while streaming: its examples never reach
``out``, are written to ``eval_out`` (same line format) once the dataset is valid, and are
counted in ``eval_records``, not in ``records_written``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from itertools import chain, filterfalse, repeat
from operator import add, attrgetter, itemgetter
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

import msgspec

from shared.convert.batches import AlpacaRecord, BatchReader, PromptCompletionRecord, key_counter
from shared.convert.dedupe import HashSet64
from shared.convert.delimited import BLOCK_SIZE, Delimited, DelimitedReader, delimited_by_name
from shared.convert.findings import Findings, RecordSchema
from shared.convert.findings import Problem as Issue
from shared.convert.holdout import EvalSize, Holdout
from shared.convert.limits import Limits
from shared.convert.reader import CHUNK_SIZE, InputError, KeyedTwice, Oversized, Readable
from shared.convert.shapes import (
    ALPACA,
    COMMON_PAIRS,
    CONVERSATIONS,
    PROMPT_COMPLETION,
    ROLES,
    SHAPE_WORDS,
    TURN_KEYS,
    ChatRecord,
    FieldMapping,
    Shape,
    ShareGptRecord,
    Skip,
    Unsupported,
    detect,
    render,
    turns_of,
)

if TYPE_CHECKING:  # pydantic models: imported only when a validated report is built
    from shared.convert.report import ConversionReport
    from shared.convert.rules import DatasetRules
from shared.convert.stats import LengthHistogram

SEPARATOR = "\n\nContext:\n"
# Unicode line breaks are valid raw in JSON strings but split lines for str.splitlines().
# Their UTF-8 bytes occur in the output only as these characters (UTF-8 self-synchronises).
_LINE_BREAK_ESCAPES = ((b"\xe2\x80\xa8", b"\\u2028"), (b"\xe2\x80\xa9", b"\\u2029"),
                       (b"\xc2\x85", b"\\u0085"))
_LINE_BREAKS = ("\u2028", "\u2029", "\x85")


# An output line is '{"prompt": ' + P + ', "completion": ' + C + '}\n', P and C each
# string encoded by msgspec, which escapes exactly as json.dumps(ensure_ascii=False)
# (checked by the tests). The pieces are joined in C (``b"".join`` over a ``zip``): no
# object per line, and no pass over the encoded text to put in the spaces json.dumps
# writes after ':' and ','.
_ENCODE = msgspec.json.Encoder().encode
_OPEN, _MIDDLE, _CLOSE = b'{"prompt": ', b', "completion": ', b"}\n"
RECORD_KEYS = frozenset({"instruction", "input", "output", "prompt", "completion",
                         "messages", "conversations", *(k for pair in COMMON_PAIRS for k in pair)})
MAX_EXAMPLES_KEPT = 20
FLUSH_CHARS = 1 << 18  # output is written in pieces of about this many characters
_INPUT = attrgetter("input")
_CONVERSATION_TYPES = (ChatRecord, ShareGptRecord)
_USER = frozenset(role for role, kind in ROLES.items() if kind == "user")
_ASSISTANT = frozenset(role for role, kind in ROLES.items() if kind == "assistant")
_SYSTEM = frozenset(role for role, kind in ROLES.items() if kind == "system")
_TURNS = {"openai_chat": attrgetter("messages"), "sharegpt": attrgetter("conversations")}

MAPPINGS: dict[RecordSchema, dict[str, str]] = {
    "alpaca": ALPACA.describe(), "prompt_completion": PROMPT_COMPLETION.describe()}

_HINTS = {
    "not_an_object": "each record must be a JSON object",
    "missing_field": "add the field to every record",
    "non_string_field": "these fields must be JSON strings",
    "empty_field": "give every record a non-empty prompt and completion",
    "record_too_long": "shorten the record or pick a base model with a longer context",
    "invalid_unicode": "remove the unpaired surrogate escape (\\ud800-\\udfff)",
    "duplicate": "duplicates add nothing to training; they are dropped",
    "tool_call": "tool calls have no prompt/completion form; such conversations are left out",
    "non_text_content": "only text content converts (images, audio and files do not)",
    "no_assistant_turn": "a conversation needs an assistant turn to be the completion",
    "no_user_turn": "a user turn must precede the assistant turn that is the completion",
    "unknown_role": "roles are system, user and assistant (ShareGPT: system, human, gpt)",
    "nesting_too_deep": "records are flat objects of strings; remove the nested arrays/objects",
}


class Writable(Protocol):
    """What the converter needs from its output."""

    def write(self, data: bytes, /) -> object: ...


def convert_stream(
    src: Readable | BinaryIO,
    out: Writable | BinaryIO | None,
    *,
    source: str = "",
    rules: DatasetRules | Limits | None = None,
    progress: Callable[[int], None] | None = None,
    chunk_size: int = CHUNK_SIZE,
    size_hint: int | None = None,
    eval_size: EvalSize = 0,
    eval_out: Writable | BinaryIO | None = None,
    mapping: FieldMapping | None = None,
    delimited: Delimited | None = None,
) -> ConversionReport:
    """Convert ``src`` (read sequentially) into JSONL on ``out`` (None: validate only).

    ``size_hint``: the input's size in bytes, if known (sizes the duplicate table once).
    ``eval_size``: the held-out evaluation split (``shared.convert.holdout``: ``"auto"``,
    a number, 0 for none); its examples go to ``eval_out`` and never to ``out``.
    ``mapping``: which fields hold prompt, completion and context (None: detected).
    ``delimited``: "csv" or "tsv" for a delimited text file with a header row; None takes
    it from ``source``'s suffix (.csv, .tsv), else the input is JSON."""
    from shared.convert.report import from_findings

    return from_findings(convert_plain(src, out, source=source, rules=rules, progress=progress,
                                      chunk_size=chunk_size, size_hint=size_hint,
                                      eval_size=eval_size, eval_out=eval_out,
                                      mapping=mapping, delimited=delimited))


def convert_plain(
    src: Readable | BinaryIO,
    out: Writable | BinaryIO | None,
    *,
    source: str = "",
    rules: DatasetRules | Limits | None = None,
    progress: Callable[[int], None] | None = None,
    chunk_size: int = CHUNK_SIZE,
    size_hint: int | None = None,
    eval_size: EvalSize = 0,
    eval_out: Writable | BinaryIO | None = None,
    mapping: FieldMapping | None = None,
    delimited: Delimited | None = None,
) -> Findings:
    """``convert_stream`` with the report as plain data (``report.from_findings`` validates
    it): nothing heavier than msgspec is imported."""
    if rules is None:
        rules = Limits()
    elif not isinstance(rules, Limits):
        rules = rules.limits()
    report = Findings(source=source, rules=rules, separator=SEPARATOR)
    if delimited is None:
        delimited = delimited_by_name(source)
    reader: BatchReader | DelimitedReader
    if delimited is not None:
        reader = DelimitedReader(src, delimited, max_field_chars=rules.max_record_chars,
                                 block_size=min(chunk_size, BLOCK_SIZE), progress=progress)
    else:
        keys = RECORD_KEYS if mapping is None else RECORD_KEYS | {
            k for k in (mapping.prompt, mapping.completion, mapping.context) if k}
        reader = BatchReader(src, record_keys=keys, max_value_chars=rules.max_record_chars,
                             chunk_size=chunk_size, progress=progress)
    holdout = Holdout(eval_size, rules.min_examples) if eval_size != 0 else None
    run = _Run(report, reader, out, rules, size_hint, mapping, holdout, eval_out)
    try:
        run.convert()
    except InputError as exc:
        report.fatal = exc.issue
    report.bytes_read = reader.bytes_read
    report.utf8_bom = reader.utf8_bom
    report.input_format = reader.format
    if run.shape is not None:
        report.format = run.shape.words() + (
            f" in {_CONTAINER_WORDS[reader.format]}" if reader.format else "")
    run.finish()
    if progress is not None:
        progress(reader.bytes_read)
    return report


class _Run:
    """State of one conversion."""

    def __init__(self, report: Findings, reader: BatchReader | DelimitedReader,
                 out: Writable | BinaryIO | None, rules: Limits,
                 size_hint: int | None, mapping: FieldMapping | None = None,
                 holdout: Holdout | None = None,
                 eval_out: Writable | BinaryIO | None = None) -> None:
        self.report = report
        self.holdout = holdout
        self.eval_out = eval_out
        self.eval_lines = b""
        self.reader = reader
        self.mapping = mapping
        self.shape: Shape | None = None
        self._getters: tuple[Callable[[Any], Any], ...] = ()
        self._turns: Callable[[Any], Any] | None = None  # a conversation Struct's turns
        self._as_dict: Callable[[Any], Any] = msgspec.structs.asdict
        self.out = out
        self.rules = rules
        self.size_hint = size_hint
        self.skipped: dict[str, int] = {}
        self.seen = HashSet64()
        self.mixed = 0  # records of the other schema (Alpaca vs prompt/completion)
        self.pending: list[bytes] = []  # encoded lines not yet written
        self.pending_chars = 0
        self.written = 0
        self.bytes_written = 0
        self.read = 0
        self.extra_keys = 0
        self.duplicate_keys = 0
        self.schema: RecordSchema | None = None
        # how many records of each length were written: prompt chars, prompt bytes,
        # completion chars, completion bytes (counted in C by Counter.update, a batch at a
        # time; one entry per distinct length, so the memory is bounded by the longest)
        self.lengths: tuple[Counter[int], ...] = tuple(Counter() for _ in range(4))

    def skip(self, code: str, message: str, start: Any, number: int) -> None:
        """Count record ``number`` (1-based) as skipped; keep the first few as examples."""
        self.skipped[code] = self.skipped.get(code, 0) + 1
        examples = self.report.skipped_examples
        if len(examples) < MAX_EXAMPLES_KEPT:
            examples.append(self.reader.issue(code, message, start, hint=_HINTS.get(code),
                                              record_index=number - 1))

    def skip_oversized(self, value: Oversized, number: int) -> None:
        """Count a record the reader stepped over for its size (or its depth)."""
        code = "nesting_too_deep" if value.deep else "record_too_long"
        self.skipped[code] = self.skipped.get(code, 0) + 1
        examples = self.report.skipped_examples
        if value.deep and len(examples) < MAX_EXAMPLES_KEPT:
            examples.append(Issue(
                code=code, record_index=number - 1, line=value.line,
                byte_offset=value.byte_offset, hint=_HINTS[code],
                message=f"the record ({value.chars} characters of JSON) is nested deeper "
                        "than the JSON parser reads; it was skipped unread"))
        elif len(examples) < MAX_EXAMPLES_KEPT:
            examples.append(Issue(
                code="record_too_long", record_index=number - 1, line=value.line,
                byte_offset=value.byte_offset, hint=_HINTS["record_too_long"],
                message=f"the record's JSON text ({value.chars} characters) exceeds "
                        f"{self.rules.max_record_chars} characters, far more than "
                        f"{self.rules.max_example_tokens} tokens; it was skipped unread"))

    def convert(self) -> None:
        """One pass over the reader's batches: a run decoded into the shape's Struct (a
        delimited file's complete rows) is checked column by column (C-level maps over the
        batch), anything else (the first run, runs with odd records, the careful reader's
        records) record by record."""
        reader = self.reader
        try:
            if isinstance(reader, DelimitedReader):
                at = reader.open()
                self._plan_typed(self._detect(dict.fromkeys(reader.header, ""), at, 0))
            for batch in reader.batches():
                if batch.typed:
                    if self._turns is not None:
                        self._typed_turns(batch.records, batch.handles)
                    else:
                        self._typed(batch.records, batch.handles)
                    continue
                self._records(batch.records, batch.handles)
                if self.shape is not None and not self._getters and self._turns is None:
                    self._plan_typed(self.shape)
                    self._reserve()
        finally:
            self.report.records_with_extra_keys = self.extra_keys

    def _plan_typed(self, shape: Shape) -> None:
        """From now on, have the reader decode clean runs into ``shape``'s Struct (or hand
        over a delimited file's complete rows) and read them column by column."""
        reader = self.reader
        schema = shape.schema
        if isinstance(reader, DelimitedReader):
            names = [shape.prompt, shape.completion, *([shape.context] if shape.context else [])]
            columns = reader.use_columns(names)
            self._getters = tuple(map(itemgetter, columns))
            header = reader.header
            self._as_dict = lambda row: dict(zip(header, row, strict=False))
            return
        if schema in CONVERSATIONS:
            reader.record_type = ChatRecord if schema == "openai_chat" else ShareGptRecord
            self._turns = _TURNS[schema]
            self._as_dict = _same
            reader.keys_once = _turn_keys_once(schema, self._turns)
            if isinstance(reader, BatchReader):
                reader.record_start = b'"' + TURN_KEYS[schema].encode() + b'"'
            return
        if schema == "alpaca":
            reader.record_type = AlpacaRecord
        elif schema == "prompt_completion":
            reader.record_type = PromptCompletionRecord
        else:
            reader.record_type = _mapped_struct(shape)
            self._as_dict = _mapped_dict(shape)
            reader.keys_once = _field_keys_once(shape)
        first, second = ("prompt", "completion") if schema == "prompt_completion" else (
            "instruction", "output")
        self._getters = (attrgetter(first), attrgetter(second)) + (
            (_INPUT,) if shape.context else ())
        # Plain Alpaca and prompt/completion runs are not scanned for a key given twice:
        # the scan costs more than msgspec's decode of the run (measured: +25 % of the
        # Alpaca path's time), so only records read key by key are checked (README).

    def _reserve(self) -> None:
        """Size the duplicate table once for the whole input, estimated from its size and
        the records read so far, so it does not double near the end."""
        if self.size_hint and self.read and self.rules.drop_duplicates:
            per_record = max(1, self.reader.bytes_read // self.read)
            self.seen.reserve(self.size_hint // per_record * 11 // 10)

    def _typed(self, recs: list[Any], handles: Sequence[int]) -> None:
        """A batch of Structs (complete rows): every field is a string. The checks run over
        whole columns; a record a check may refuse goes through ``_records`` alone, in
        order, between the clean stretches around it."""
        getters = self._getters
        prompts = list(map(str.strip, map(getters[0], recs)))
        completions = list(map(str.strip, map(getters[1], recs)))
        if len(getters) == 3:
            contexts = list(map(getters[2], recs))
            if self.schema == "fields" and _UNSET in contexts:  # absent: empty
                contexts = ["" if c is _UNSET else c for c in contexts]
            contexts = list(map(str.strip, contexts))
            if any(contexts):
                prompts = [p + SEPARATOR + c if c else p
                           for p, c in zip(prompts, contexts, strict=True)]
        self._columns(recs, handles, prompts, completions, ())

    def _typed_turns(self, recs: list[Any], handles: Sequence[int]) -> None:
        """A batch of conversation Structs: each rendered by the conversation rule, then
        checked column by column like ``_typed``; one that does not render is redone
        (and skipped with its reason) by ``_records``."""
        assert self._turns is not None
        prompts: list[str] = []
        completions: list[str] = []
        bad: list[int] = []
        user_roles, answer_roles, system_roles = _USER, _ASSISTANT, _SYSTEM
        for i, turns in enumerate(map(self._turns, recs)):
            # the common case inline (a typed turn holds no tool call): one question and
            # its answer, the rule's first case
            if len(turns) == 2:
                user, answer = turns
                question, reply = user.content, answer.content
                if (type(question) is str and type(reply) is str and user.role in user_roles
                        and answer.role in answer_roles):
                    question, reply = question.strip(), reply.strip()
                    if question and reply:
                        prompts.append(question)
                        completions.append(reply)
                        continue
            elif len(turns) == 3:  # a system message, a question, its answer
                system, user, answer = turns
                rules, question, reply = system.content, user.content, answer.content
                if (type(rules) is str and type(question) is str and type(reply) is str
                        and system.role in system_roles and user.role in user_roles
                        and answer.role in answer_roles):
                    rules, question, reply = rules.strip(), question.strip(), reply.strip()
                    if rules and question and reply:
                        prompts.append(f"System: {rules}\n\nUser: {question}")
                        completions.append(reply)
                        continue
            pair = render(turns)
            if type(pair) is Skip:
                bad.append(i)
                pair = ("", "")
            prompts.append(pair[0])  # type: ignore[index]
            completions.append(pair[1])  # type: ignore[index]
        self._columns(recs, handles, prompts, completions, bad)

    def _columns(self, recs: list[Any], handles: Sequence[int], prompts: list[str],
                 completions: list[str], bad: Sequence[int]) -> None:
        """Check and keep a batch's prompts and completions; the records ``_suspects``
        finds (and ``bad`` ones) go through ``_records`` one by one, in order."""
        p_bytes = _utf8_lengths(prompts)
        c_bytes = _utf8_lengths(completions)
        suspects = self._suspects(prompts, completions, p_bytes, c_bytes)
        if bad:
            suspects = sorted(set(suspects) | set(bad))
        as_dict = self._as_dict
        lo = 0
        for i in suspects:  # increasing
            if lo < i:
                self._clean(prompts[lo:i], completions[lo:i], p_bytes[lo:i], c_bytes[lo:i],
                            handles[lo:i])
            self._records([as_dict(recs[i])], handles[i:i + 1])
            lo = i + 1
        if lo == 0:
            self._clean(prompts, completions, p_bytes, c_bytes, handles)
        elif lo < len(recs):
            self._clean(prompts[lo:], completions[lo:], p_bytes[lo:], c_bytes[lo:],
                        handles[lo:])

    def _suspects(self, prompts: list[str], completions: list[str], p_bytes: list[int],
                  c_bytes: list[int]) -> list[int]:
        """Indices of the records that may fail a check (an empty field, a token limit),
        increasing; the others pass them all. Empty for a batch of good records."""
        rules = self.rules
        k = rules.bytes_per_token
        # ceil(p/k) + ceil(c/k) <= (p + c + 2k - 2) / k: exact sums only if that is too many
        if ("" not in prompts and "" not in completions
                and max(p_bytes) <= k * rules.max_prompt_tokens
                and max(c_bytes) <= k * rules.max_completion_tokens
                and max(map(add, p_bytes, c_bytes)) + 2 * k - 2
                <= k * rules.max_example_tokens):
            return []
        max_p, max_c, max_e = (rules.max_prompt_tokens, rules.max_completion_tokens,
                               rules.max_example_tokens)
        return [i for i, (p, c, pb, cb) in enumerate(zip(prompts, completions, p_bytes,
                                                         c_bytes, strict=True))
                if not p or not c or -(-pb // k) > max_p or -(-cb // k) > max_c
                or -(-pb // k) - (-cb // k) > max_e]

    def _clean(self, prompts: list[str], completions: list[str], p_bytes: list[int],
               c_bytes: list[int], handles: Sequence[int]) -> None:
        """Consecutive records that pass every check but the duplicate one."""
        if self.rules.drop_duplicates:
            dups = self.seen.add_hashes(list(map(hash, zip(prompts, completions,
                                                           strict=True))))
            if dups:
                for i in dups:
                    self.skip("duplicate", "same prompt and completion as an earlier record",
                              handles[i], self.read + i + 1)
                gone = set(dups)
                prompts = [v for i, v in enumerate(prompts) if i not in gone]
                completions = [v for i, v in enumerate(completions) if i not in gone]
                p_bytes = [v for i, v in enumerate(p_bytes) if i not in gone]
                c_bytes = [v for i, v in enumerate(c_bytes) if i not in gone]
                self.read += len(dups)
        self.read += len(prompts)
        self._keep(prompts, completions, p_bytes, c_bytes)

    def _keep(self, prompts: list[str], completions: list[str], p_bytes: list[int],
              c_bytes: list[int]) -> None:
        """Queue records for output and their lengths for the statistics (the evaluation
        split's candidates are held back first)."""
        if self.holdout is not None:
            prompts, completions, p_bytes, c_bytes = self.holdout.offer(
                prompts, completions, p_bytes, c_bytes)
            if not prompts:
                return
        p_chars = p_bytes if all(map(str.isascii, prompts)) else list(map(len, prompts))
        c_chars = c_bytes if all(map(str.isascii, completions)) else list(map(len, completions))
        for counts, sizes in zip(self.lengths, (p_chars, p_bytes, c_chars, c_bytes),
                                 strict=True):
            counts.update(sizes)
        lines = b"".join(chain.from_iterable(zip(
            repeat(_OPEN), map(_ENCODE, prompts), repeat(_MIDDLE), map(_ENCODE, completions),
            repeat(_CLOSE))))
        # only non-ASCII strings can hold a Unicode line break: look at those
        odd = "".join(filterfalse(str.isascii, chain(prompts, completions)))
        if odd and any(c in odd for c in _LINE_BREAKS):
            for raw, escaped in _LINE_BREAK_ESCAPES:
                lines = lines.replace(raw, escaped)
        self.pending.append(lines)
        self.pending_chars += sum(p_chars) + sum(c_chars)
        self.written += len(prompts)
        if self.pending_chars >= FLUSH_CHARS and self.written >= self.rules.min_examples:
            self.flush()

    def _histograms(self) -> list[LengthHistogram]:
        """Chars and estimated tokens of the prompts, then of the completions."""
        k = self.rules.bytes_per_token
        hists = []
        for counts, per_token in zip(self.lengths, (1, k, 1, k), strict=True):
            if per_token > 1:
                tokens: Counter[int] = Counter()
                for size, n in counts.items():
                    tokens[-(-size // per_token)] += n
                counts = tokens
            hist = LengthHistogram()
            hist.add_counts(counts)
            hists.append(hist)
        return hists

    def _detect(self, value: dict[str, Any], start: Any, number: int) -> Shape:
        """The dataset's shape from its first record (a delimited file's header); a shape
        we do not convert stops the conversion with what it is and what to do."""
        reader = self.reader
        keys = reader.header if isinstance(reader, DelimitedReader) else value.keys()
        try:
            shape = detect(keys, self.mapping, value)
        except Unsupported as exc:
            header = isinstance(reader, DelimitedReader)
            message = exc.message.replace("the first record's fields", "the header's columns")
            raise InputError(reader.issue(
                "unsupported_shape", message if header else exc.message, start,
                hint=exc.hint, record_index=None if header else number - 1)) from None
        self.shape = shape
        self.schema = self.report.record_schema = shape.schema
        return shape

    def _records(self, values: list[Any], handles: Sequence[int]) -> None:
        """Records one by one: any JSON value, any shape."""
        rules, skip = self.rules, self.skip
        max_p, max_c, max_e = (rules.max_prompt_tokens, rules.max_completion_tokens,
                               rules.max_example_tokens)
        bpt = rules.bytes_per_token
        seen = self.seen
        for value, start in zip(values, handles, strict=True):
            self.read += 1
            read = self.read
            kind = type(value)
            if kind is KeyedTwice:
                self._keyed_twice(value, start, read)
                kind = dict
            if kind is not dict and kind not in _CONVERSATION_TYPES:
                if kind is Oversized:
                    self.skip_oversized(value, read)
                else:
                    skip("not_an_object",
                         f"record is a JSON {_json_type(value)}, not an object", start, read)
                continue
            shape = self.shape or self._detect(value, start, read)
            if shape.schema in CONVERSATIONS:
                turns = turns_of(value, shape.schema) if kind is dict else _TURNS[
                    shape.schema](value)
                pair = turns if isinstance(turns, Skip) else render(turns)
                if type(pair) is Skip:
                    if pair.code == "missing_field" and kind is dict:
                        self._bad_fields(value, shape, start, read)
                    else:
                        skip(pair.code, pair.message, start, read)
                    continue
                prompt, completion = pair  # type: ignore[misc]
            else:
                first_key, second_key = shape.prompt, shape.completion
                prompt = value.get(first_key)
                completion = value.get(second_key)
                if shape.context is not None:
                    context = value.get(shape.context)
                else:
                    context = None
                    if len(value) > 2 and shape.schema == "prompt_completion":
                        self.extra_keys += 1
                if type(prompt) is not str or type(completion) is not str or (
                        context is not None and type(context) is not str):
                    self._bad_fields(value, shape, start, read)
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
                pb = len(prompt.encode("utf-8"))
                cb = len(completion.encode("utf-8"))
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
            if rules.drop_duplicates and seen.add_hashes([hash((prompt, completion))]):
                skip("duplicate", "same prompt and completion as an earlier record",
                     start, read)
                continue
            self._keep([prompt], [completion], [pb], [cb])

    def _keyed_twice(self, value: KeyedTwice, start: Any, number: int) -> None:
        """Count a record that gives a key the conversion reads twice (the last value is
        used, as JSON parsers do); keep where the first one is."""
        shape = self.shape or self._detect(value, start, number)
        read = shape.read_keys()
        keys = [k for k in value.twice if k in read]
        if not keys:
            return
        self.duplicate_keys += 1
        if self.report.duplicate_key_first is None:
            self.report.duplicate_key_first = self.reader.issue(
                "duplicate_key", f"the record gives {', '.join(map(repr, keys))} more than "
                "once; the last value is used", start, record_index=number - 1,
                hint="give each key once: which value was meant cannot be known")

    def _bad_fields(self, value: dict[str, Any], shape: Shape, start: Any,
                    number: int) -> None:
        schema = shape.schema
        if schema in CONVERSATIONS:
            wanted: tuple[str, ...] = ("messages",) if schema == "openai_chat" else (
                "conversations",)
        else:
            wanted = (shape.prompt, shape.completion)
        missing = [k for k in wanted if value.get(k) is None]
        if missing:
            message = f"record has no {' or '.join(missing)}"
            other = _other_shape(value, schema)
            if other is not None:
                self.mixed += 1
                if schema in _OLD_WORDS and other in _OLD_WORDS:  # today's words
                    message += (f": it is a "
                                f"{'prompt/completion' if schema == 'alpaca' else 'Alpaca'}"
                                f" record, but the first record made this a "
                                f"{_OLD_WORDS[schema]} dataset (schemas are mixed)")
                else:
                    message += (f": it is a {SHAPE_WORDS[other]} record, but the first record "
                                f"made this a {SHAPE_WORDS[schema]} dataset (shapes are mixed)")
            self.skip("missing_field", message, start, number)
            return
        keys = (shape.prompt, shape.context, shape.completion) if shape.context else wanted
        bad = [k for k in keys if k is not None and value.get(k) is not None
               and type(value[k]) is not str]
        self.skip("non_string_field",
                  f"field {', '.join(bad)} is not a string "
                  f"({', '.join(_json_type(value[k]) for k in bad)})", start, number)

    def flush(self) -> None:
        if self.pending:
            data = b"".join(self.pending)
            if self.out is not None:
                self.out.write(data)
            self.bytes_written += len(data)
        self.pending.clear()
        self.pending_chars = 0

    def _release_holdout(self) -> None:
        """Split the held-back examples: the evaluation lines, the rest to training."""
        holdout, self.holdout = self.holdout, None
        if holdout is None:
            return
        chosen, rest = holdout.split()
        if rest:
            self._keep([e[1] for e in rest], [e[2] for e in rest], [e[3] for e in rest],
                       [e[4] for e in rest])
        self.report.eval_records = len(chosen)
        if holdout.note:
            self.report.notes.append(holdout.note)
        if chosen:
            lines = b"".join(chain.from_iterable(
                (_OPEN, _ENCODE(e[1]), _MIDDLE, _ENCODE(e[2]), _CLOSE) for e in chosen))
            if any(c in e[1] or c in e[2] for e in chosen for c in _LINE_BREAKS):
                for raw, escaped in _LINE_BREAK_ESCAPES:
                    lines = lines.replace(raw, escaped)
            self.eval_lines = lines

    def finish(self) -> None:
        report = self.report
        if report.fatal is None:
            self._release_holdout()
        report.records_read = self.read
        report.records_written = self.written
        report.skipped_by_reason = dict(sorted(self.skipped.items()))
        hists = self._histograms()
        report.records_skipped = sum(self.skipped.values())
        report.duplicate_keys = self.duplicate_keys
        if self.duplicate_keys:
            report.notes.append(
                f"{self.duplicate_keys} records give a key twice; the last value was used "
                "(see duplicate_key_first)")
        if self.shape is not None:
            report.mapping = self.shape.describe()
        report.prompt.chars = hists[0].summary()
        report.prompt.est_tokens = hists[1].summary()
        report.completion.chars = hists[2].summary()
        report.completion.est_tokens = hists[3].summary()
        if report.utf8_bom:
            report.notes.append("a UTF-8 byte order mark was found and stripped")
        first = report.record_schema or "alpaca"
        if self.mixed and first not in _OLD_WORDS:
            report.notes.append(
                f"shapes are mixed: {self.mixed} records are of another shape than the first "
                f"record's, {SHAPE_WORDS[first]}; they were skipped. Use one shape per file")
        elif self.mixed:
            other = "prompt/completion" if first == "alpaca" else "Alpaca"
            report.notes.append(
                f"schemas are mixed: {self.mixed} records use {other} keys in a dataset whose "
                f"first record is {_OLD_WORDS[first]}; they were skipped. Use one schema "
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
            if self.eval_lines and self.eval_out is not None:
                self.eval_out.write(self.eval_lines)
            report.eval_bytes_written = len(self.eval_lines)
        else:
            report.eval_records = 0
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


def _utf8_lengths(texts: list[str]) -> list[int]:
    """UTF-8 sizes of strings known to encode (no lone surrogate)."""
    if all(map(str.isascii, texts)):
        return list(map(len, texts))
    return list(map(len, map(str.encode, texts)))


_OLD_WORDS = {"alpaca": "Alpaca (instruction/input/output)",
              "prompt_completion": "prompt/completion"}
_CONTAINER_WORDS = {"json_array": "a JSON array", "jsonl": "JSON Lines", "csv": "CSV",
                    "tsv": "TSV"}


def _other_shape(value: dict[str, Any], schema: RecordSchema) -> RecordSchema | None:
    """The shape of a record that lacks its dataset's fields, if it has another one's."""
    if schema == "alpaca" and ("prompt" in value or "completion" in value):
        return "prompt_completion"
    if schema == "prompt_completion" and ("instruction" in value or "output" in value):
        return "alpaca"
    if schema in _OLD_WORDS:  # today's rule, plus the conversations
        return ("openai_chat" if "messages" in value
                else "sharegpt" if "conversations" in value else None)
    try:
        other = detect(value.keys(), None, value).schema
    except Unsupported:
        return None
    return other if other != schema else None


_UNSET = msgspec.UNSET


def _field_keys_once(shape: Shape) -> Callable[[bytearray, int, int, list[Any]], bool]:
    """``BatchReader.keys_once`` for a run of records with fields: each read key appears
    in the text exactly once per record that has it."""
    required = (key_counter(shape.prompt), key_counter(shape.completion))
    context = key_counter(shape.context) if shape.context else None

    def keys_once(buf: bytearray, pos: int, end: int, recs: list[Any]) -> bool:
        n = len(recs)
        if any(count(buf, pos, end) != n for count in required):
            return False
        if context is None:
            return True
        return context(buf, pos, end) == n - list(map(_INPUT, recs)).count(_UNSET)
    return keys_once


def _turn_keys_once(schema: RecordSchema, turns_of: Callable[[Any], list[Any]]
                    ) -> Callable[[bytearray, int, int, list[Any]], bool]:
    """``BatchReader.keys_once`` for a run of conversations: the content key once a turn
    that has it. Only a turn's text is looked for twice: each scan of a run costs about a
    tenth of a conversation's conversion, and the text is what a duplicate changes."""
    content = key_counter("content" if schema == "openai_chat" else "value")

    def keys_once(buf: bytearray, pos: int, end: int, recs: list[Any]) -> bool:
        turns = list(chain.from_iterable(map(turns_of, recs)))
        return content(buf, pos, end) == len(turns) - list(map(_CONTENT, turns)).count(_UNSET)
    return keys_once


_CONTENT = attrgetter("content")


def _mapped_struct(shape: Shape) -> type[msgspec.Struct]:
    """A Struct for a field-mapped record: the mapped fields under Alpaca's attribute
    names (instruction, output, input), any other key ignored."""
    fields: list[Any] = [("instruction", str), ("output", str)]
    rename = {"instruction": shape.prompt, "output": shape.completion}
    if shape.context is not None:
        fields.append(("input", str | msgspec.UnsetType, _UNSET))
        rename["input"] = shape.context
    return msgspec.defstruct("MappedRecord", fields, rename=rename)


def _mapped_dict(shape: Shape) -> Callable[[Any], dict[str, Any]]:
    """The record a ``_mapped_struct`` instance was decoded from (its mapped fields)."""
    def as_dict(rec: Any) -> dict[str, Any]:
        out = {shape.prompt: rec.instruction, shape.completion: rec.output}
        if shape.context is not None and rec.input is not _UNSET:
            out[shape.context] = rec.input
        return out
    return as_dict


def _same(rec: Any) -> Any:
    return rec


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
