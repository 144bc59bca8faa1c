"""Incremental JSON reading: the values of a top-level array, or of JSON Lines.

The input is read sequentially in chunks (never seeked), decoded as strict
UTF-8, and parsed one value at a time with ``json.JSONDecoder.raw_decode`` on
a sliding text buffer. When a value does not fit in the buffer, the buffer is
at least doubled before parsing is retried, so a huge record costs O(size),
not O(size^2). Memory is bounded by the largest record (capped by
``max_value_chars``) plus one chunk.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO, Literal, Protocol

import msgspec

from shared.convert.findings import Problem as Issue

CHUNK_SIZE = 1 << 20
PROGRESS_EVERY = 4 << 20
# A parse error this close to the buffer's end may be caused by the cut, not the data
# (a literal, a number or a \uXXXX\uXXXX escape split in two): read more and retry.
_CUT_MARGIN = 16
_LITERALS = ("true", "false", "null", "NaN", "Infinity", "-Infinity")
_WS = re.compile(r"[ \t\n\r]*")

Format = Literal["json_array", "jsonl"]


class Readable(Protocol):
    """What the reader needs from its source."""

    def read(self, size: int = ..., /) -> bytes | None: ...


class Oversized(msgspec.Struct, frozen=True):
    """Stands in for a record whose JSON text exceeds ``max_value_chars``, or (``deep``)
    is nested deeper than the JSON parser goes: it was stepped over, and is skipped."""

    line: int
    byte_offset: int
    chars: int
    deep: bool = False


class KeyedTwice(dict[str, Any]):
    """A record in which some object gives a key twice (``twice``: those keys, in the
    order found); like ``json``, the record holds the last value of each."""

    twice: tuple[str, ...] = ()


class Resume(msgspec.Struct, frozen=True):
    """Where a reader takes over a stream another reader started: the stream's first byte
    is at ``byte_offset`` of the input, after ``newlines`` line breaks and ``records``
    records, just after a record's separator (array) or line (JSON Lines)."""

    byte_offset: int
    newlines: int
    format: Format
    records: int


class InputError(Exception):
    """The input cannot be converted at all; ``issue`` says what, where and how to fix it."""

    def __init__(self, issue: Issue) -> None:
        super().__init__(issue.message)
        self.issue = issue


class ValueReader:
    """Yields the records of a JSON array or a JSON Lines stream, in order."""

    def __init__(self, src: Readable | BinaryIO, *, record_keys: frozenset[str],
                 max_value_chars: int, chunk_size: int = CHUNK_SIZE,
                 progress: Callable[[int], None] | None = None,
                 resume: Resume | None = None) -> None:
        self._src = src
        self._record_keys = record_keys
        self._max_value_chars = max_value_chars
        self._chunk_size = chunk_size
        self._progress = progress
        self._next_progress = PROGRESS_EVERY
        self._decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self._buf = ""
        self._eof = False
        self._deferred: InputError | None = None
        self._started = False
        self.bytes_read = 0
        self.utf8_bom = False
        self.format: Format | None = None
        # Position bookkeeping, computed lazily: the line and byte offset of buffer index
        # ``_mark`` are ``_mark_line`` / ``_mark_byte``.
        self._mark = 0
        self._mark_line = 1
        self._mark_byte = 0
        self._newlines = 0  # in all bytes read so far
        self.record_index = -1
        self._resume = resume
        # every object decoded goes through _pairs, which notes a key given twice
        self._twice: list[str] = []
        self._json = json.JSONDecoder(object_pairs_hook=self._pairs)
        self._scan: Callable[[str, int], tuple[Any, int]] = (
            self._json.scan_once)  # type: ignore[attr-defined]
        if resume is not None:
            self.bytes_read = self._mark_byte = resume.byte_offset
            self._newlines = resume.newlines
            self._mark_line = 1 + resume.newlines
            self._next_progress = resume.byte_offset + PROGRESS_EVERY
            self._started = True
            self.format = resume.format
            self.record_index = resume.records - 1

    def _pairs(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) != len(pairs):
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    self._twice.append(key)
                seen.add(key)
        return obj

    def _marked(self, value: Any) -> Any:
        """``value`` as a ``KeyedTwice`` if a key was given twice in it (then forgotten)."""
        if not self._twice:
            return value
        keys = tuple(dict.fromkeys(self._twice))
        self._twice.clear()
        if type(value) is not dict:
            return value
        marked = KeyedTwice(value)
        marked.twice = keys
        return marked

    def load_all(self, data: bytes) -> None:
        """Take ``data`` as the whole (rest of the) input, decoded at once, so ``locate``
        keeps working after the last record (raises UnicodeDecodeError on bad UTF-8)."""
        self._buf = data.decode("utf-8")
        self._eof = True
        self.bytes_read += len(data)
        self._newlines += data.count(b"\n")

    # ----- positions -----------------------------------------------------------------

    def locate(self, pos: int) -> tuple[int, int]:
        """(1-based line, 0-based byte offset) of buffer index ``pos``."""
        buf, mark = self._buf, self._mark
        if pos >= mark:
            seg = buf[mark:pos]
            self._mark_line += seg.count("\n")
            self._mark_byte += _utf8_len(seg)
        else:
            seg = buf[pos:mark]
            self._mark_line -= seg.count("\n")
            self._mark_byte -= _utf8_len(seg)
        self._mark = pos
        return self._mark_line, self._mark_byte

    def issue(self, code: str, message: str, pos: int | None, *, hint: str | None = None,
              record_index: int | None = None) -> Issue:
        """An Issue located at buffer index ``pos`` (end of input when None)."""
        line, byte = self.locate(len(self._buf) if pos is None else pos)
        return Issue(code=code, message=message, record_index=record_index, line=line,
                     byte_offset=byte, hint=hint)

    def _fail(self, code: str, message: str, pos: int | None, hint: str,
              between: bool = False) -> InputError:
        """``between``: the error lies after the last good record, not inside a record:
        it is located by line and byte alone and the message names that record."""
        index = self.record_index if self.record_index >= 0 else None
        if between:
            if index is not None:
                message = f"{message} (after record {index + 1}, the last good one)"
            index = None
        return InputError(self.issue(code, message, pos, hint=hint, record_index=index))

    # ----- buffer --------------------------------------------------------------------

    def _read_text(self) -> str | None:
        """Next decoded text (maybe empty), or None at end of input.

        Text before an invalid UTF-8 sequence is still returned; the error is raised on
        the next call, so an earlier JSON error is reported first whatever the chunking.
        """
        if self._deferred is not None:
            raise self._deferred
        data = self._src.read(self._chunk_size)
        pending = self._decoder.getstate()[0]
        if not data:
            self._eof = True
            try:
                return self._decoder.decode(b"", final=True) or None
            except UnicodeDecodeError as exc:
                raise self._utf8_error(exc, pending) from None
        try:
            text = self._decoder.decode(data)
        except UnicodeDecodeError as exc:
            self._deferred = self._utf8_error(exc, pending)
            text = (pending + data)[:exc.start].decode("utf-8")
        self.bytes_read += len(data)
        self._newlines += data.count(b"\n")
        if self._progress is not None and self.bytes_read >= self._next_progress:
            self._next_progress = self.bytes_read + PROGRESS_EVERY
            self._progress(self.bytes_read)
        if not self._started and text:
            self._started = True
            if text[0] == "\ufeff":
                self.utf8_bom = True
                text = text[1:]
                self._mark_byte = 3  # the BOM's bytes precede buffer index 0
        return text

    def _utf8_error(self, exc: UnicodeDecodeError, pending: bytes) -> InputError:
        offset = self.bytes_read - len(pending) + exc.start
        return InputError(Issue(
            code="invalid_utf8",
            message=f"the input is not valid UTF-8: byte 0x{exc.object[exc.start]:02x} "
                    f"at byte offset {offset} ({exc.reason})",
            byte_offset=offset,
            hint="save the file as UTF-8 (OCI requires UTF-8 training data)"))

    def _refill(self, keep_from: int, limit: int | None = None) -> int:
        """Drop text before ``keep_from`` and append at least as much new text as is kept
        (one chunk at least), but no more than needed to pass ``limit`` characters.
        Returns the new index of ``keep_from`` (0)."""
        kept = self._buf[keep_from:]
        # Re-anchor positions on the kept text from running totals (cheap: the kept text
        # is short), instead of counting over the discarded text.
        decoded = self.bytes_read - len(self._decoder.getstate()[0])
        self._mark = 0
        self._mark_byte = decoded - _utf8_len(kept)
        self._mark_line = 1 + self._newlines - kept.count("\n")
        want = max(len(kept), 1)
        if limit is not None:
            want = max(1, min(want, limit + 1 - len(kept)))
        parts = [kept]
        got = 0
        while got < want and not self._eof:
            text = self._read_text()
            if text:
                parts.append(text)
                got += len(text)
        self._buf = "".join(parts)
        return 0

    # ----- parsing -------------------------------------------------------------------

    def _skip_ws(self, pos: int) -> int:
        """Index of the next non-whitespace character, reading more input as needed;
        ``len(buf)`` means end of input."""
        while True:
            match = _WS.match(self._buf, pos)
            pos = match.end() if match else pos
            if pos < len(self._buf) or self._eof:
                return pos
            pos = self._refill(pos)

    def _decode_at(self, pos: int) -> tuple[Any, int, int]:
        """Decode the value starting at ``pos``: (value, start, end) in the current buffer."""
        decoder = self._json
        while True:
            buf = self._buf
            try:
                value, end = decoder.raw_decode(buf, pos)
            except json.JSONDecodeError as exc:
                cut = exc.msg.startswith("Unterminated string") or exc.pos >= len(buf) - _CUT_MARGIN
                if not self._eof and cut:
                    if len(buf) - pos > self._max_value_chars and buf[pos] in '{["':
                        return self._skip_oversized(pos)
                    self._check_size(pos)
                    pos = self._refill(pos, self._max_value_chars)
                    continue
                raise self._json_error(exc, pos) from None
            except ValueError as exc:  # valid JSON Python will not convert (huge integer)
                raise self._fail("number_too_long", f"a number cannot be read: {exc}", pos,
                                 "records hold strings; remove the oversized number") from None
            except RecursionError:
                # a record like any other bad one: stepped over and skipped (its brackets
                # counted, not parsed), the records after it still converted
                if buf[pos] not in "[{":
                    raise self._fail(
                        "nesting_too_deep", "JSON nesting is too deep to be read", pos,
                        "records are flat objects of strings; remove the nested "
                        "arrays/objects") from None
                skipped, start, end = self._skip_oversized(pos)
                return msgspec.structs.replace(skipped, deep=True), start, end
            if end == len(buf) and not self._eof and not isinstance(value, dict | list | str):
                self._check_size(pos)
                pos = self._refill(pos, self._max_value_chars)  # a number may go on
                continue
            return value, pos, end

    def _check_size(self, pos: int) -> None:
        if len(self._buf) - pos > self._max_value_chars:
            raise self._fail(
                "record_too_large",
                f"a single JSON value is larger than {self._max_value_chars} characters",
                pos, "records are JSON objects; no training example can be that long")

    def _skip_oversized(self, pos: int) -> tuple[Oversized, int, int]:
        """Step over the object, array or string at ``pos`` without keeping it in memory.

        Only string boundaries, escapes and brackets are looked at (regex searches in C),
        and text is dropped as soon as it is passed, so memory stays at about one chunk.
        """
        line, byte = self.locate(pos)
        size = 0  # characters of the record already dropped from the buffer
        base = pos  # where the record's remaining text starts in the buffer
        depth = 0
        in_string = False
        i = pos
        while True:
            buf = self._buf
            if in_string:
                match = _STRING_STOP.search(buf, i)
                if match is not None and match.group() == "\\" and match.end() < len(buf):
                    i = match.end() + 1
                    continue
                if match is not None and match.group() == '"':
                    i = match.end()
                    in_string = False
                    if depth == 0:
                        break
                    continue
                stop = match.start() if match is not None else len(buf)
            else:
                match = _STRUCTURE.search(buf, i)
                if match is not None:
                    i = match.end()
                    char = match.group()
                    if char == '"':
                        in_string = True
                    elif char in "[{":
                        depth += 1
                    else:
                        depth -= 1
                        if depth == 0:
                            break
                    continue
                stop = len(buf)
            if self._eof:
                raise self._fail("truncated_json", "the input ends inside an oversized record",
                                 None, "the file looks cut short: upload it again completely")
            size += stop - base
            i = base = self._refill(stop)
        return Oversized(line=line, byte_offset=byte, chars=size + i - base), i, i

    def _json_error(self, exc: json.JSONDecodeError, start: int) -> InputError:
        buf = self._buf
        tail = buf[exc.pos:].rstrip()
        truncated = self._eof and (
            exc.msg.startswith("Unterminated string") or not tail
            or any(lit.startswith(tail) for lit in _LITERALS))
        if truncated:
            return self._fail(
                "truncated_json", "the input ends in the middle of a record "
                f"({_plain(exc.msg, buf, exc.pos)})",
                exc.pos, "the file looks cut short: upload it again completely")
        return self._fail("malformed_json", f"invalid JSON: {_plain(exc.msg, buf, exc.pos)}",
                          exc.pos, "fix the JSON syntax at this position (a validator such as "
                          "`python -m json.tool` shows the same place)")

    def values(self) -> Iterator[tuple[Any, int]]:
        """Yield (record, buffer index of its start); ``locate`` works until the next one."""
        pos = self._skip_ws(0)
        if self._resume is not None:
            if self.format == "jsonl":
                yield from self._lines(pos)
                return
            if pos < len(self._buf) and self._buf[pos] == "]":
                raise self._fail("malformed_json", "trailing comma before ']'", pos,
                                 "remove the comma after the last record", between=True)
            yield from self._items(pos)
            return
        if pos >= len(self._buf):
            raise self._fail("empty_input", "the input holds no JSON at all", None,
                             "upload a JSON array of records or JSON Lines")
        first = self._buf[pos]
        if first == "[":
            self.format = "json_array"
            yield from self._array(pos + 1)
        elif first == "{":
            yield from self._lines(pos)
        elif _looks_binary(self._buf, pos):
            kind = "gzip-compressed" if self._buf.startswith("\x1f") else "binary"
            raise self._fail("not_json_text",
                             f"the input is not JSON text: it looks {kind} (it starts with "
                             f"character U+{ord(first):04X})", pos,
                             "decompress it (gunzip) or export the records as a JSON array "
                             "or JSON Lines, then upload that")
        else:
            raise self._fail("top_level_not_array",
                             "the top-level JSON value is not an array of records",
                             pos, "wrap the records in [ ... ] or write one object per line")

    def _fast_decode(self, pos: int) -> tuple[Any, int, int]:
        """``_decode_at`` without its bookkeeping when the value is plainly complete."""
        buf = self._buf
        try:
            value, end = self._scan(buf, pos)
        except (StopIteration, ValueError, RecursionError):
            value, pos, end = self._decode_at(pos)
        else:
            if end == len(buf) and not self._eof and not isinstance(value, dict | list | str):
                value, pos, end = self._decode_at(pos)
        # Checked whichever way the value was decoded, so a record crossing a chunk
        # boundary is capped like any other (the cap must not depend on chunking).
        if end - pos > self._max_value_chars and type(value) is not Oversized:
            return self._oversized(pos, end), pos, end
        return value, pos, end

    def _oversized(self, pos: int, end: int) -> Oversized:
        line, byte = self.locate(pos)
        return Oversized(line=line, byte_offset=byte, chars=end - pos)

    def _array(self, pos: int) -> Iterator[tuple[Any, int]]:
        pos = self._skip_ws(pos)
        if pos < len(self._buf) and self._buf[pos] == "]":
            self._expect_end(pos + 1)
            return
        yield from self._items(pos)

    def _items(self, pos: int) -> Iterator[tuple[Any, int]]:
        """The array's records from ``pos``, the start of one (after its separator)."""
        sep_re, scan, max_chars = _ARRAY_SEP, self._scan, self._max_value_chars
        while True:
            if pos >= len(self._buf):
                raise self._fail("truncated_json", "the input ends inside the top-level array",
                                 None, "the file looks cut short: upload it again completely",
                                 between=True)
            self.record_index += 1
            buf = self._buf
            try:
                value, end = scan(buf, pos)
            except (StopIteration, ValueError, RecursionError):
                value, pos, end = self._decode_at(pos)
            else:
                if end == len(buf) and not isinstance(value, dict | list | str):
                    value, pos, end = self._decode_at(pos)
            if end - pos > max_chars:  # decoded whole, but over the cap all the same
                value = self._oversized(pos, end)
            if self._twice:
                value = self._marked(value)
            yield value, pos
            buf = self._buf
            match = sep_re.match(buf, end)
            if match is not None:  # fast path: ", " then the next record in the buffer
                pos = match.end()
                if pos < len(buf) and buf[pos] != "]":
                    continue
            pos = self._skip_ws(end)
            if pos >= len(self._buf):
                raise self._fail("truncated_json", "the top-level array is never closed by ']'",
                                 None, "the file looks cut short: upload it again completely",
                                 between=True)
            sep = self._buf[pos]
            if sep == "]":
                self._expect_end(pos + 1)
                return
            if sep != ",":
                raise self._fail("malformed_json",
                                 f"expected ',' or ']' after a record, found {sep!r}", pos,
                                 "separate the array's records with commas", between=True)
            pos = self._skip_ws(pos + 1)
            if pos < len(self._buf) and self._buf[pos] == "]":
                raise self._fail("malformed_json", "trailing comma before ']'", pos,
                                 "remove the comma after the last record", between=True)

    def _lines(self, pos: int) -> Iterator[tuple[Any, int]]:
        while pos < len(self._buf):
            self.record_index += 1
            char = self._buf[pos]
            if char != "{" and (self.format is None or char not in _VALUE_START):
                raise self._fail("malformed_json",
                                 f"expected a JSON object on each line, found {self._buf[pos]!r}",
                                 pos, "write exactly one JSON object per line")
            # One rule for arrays and JSON Lines: a line that is valid JSON but not an
            # object (an array, a string, a number, null) is skipped as not_an_object,
            # as an array element is; text that is not JSON at all stops the conversion.
            value, start, end = self._fast_decode(pos)
            if self.format is None:
                more = isinstance(value, Oversized) or (
                    isinstance(value, dict) and bool(self._record_keys & value.keys()))
                if not more and isinstance(value, dict):
                    more, start, end = self._more_follows(start, end)
                if not more:
                    keys = ", ".join(sorted(value)[:5]) if isinstance(value, dict) else ""
                    raise self._fail(
                        "top_level_not_array",
                        f"the top-level JSON value is an object (keys: {keys or 'none'}), "
                        "not an array of records", start, _wrapped_hint(value))
                self.format = "jsonl"
            if self._twice:
                value = self._marked(value)
            yield value, start
            buf = self._buf
            pos = _WS.match(buf, end).end()  # type: ignore[union-attr]  # '*' always matches
            if pos >= len(buf):
                pos = self._skip_ws(end)

    def _more_follows(self, start: int, end: int) -> tuple[bool, int, int]:
        """Whether another object follows the first one, and where that one is now (the
        buffer may have moved): if so the input is JSON Lines of some shape (the converter
        names it); if not, a lone object, which may wrap the records."""
        while True:
            after = _WS.match(self._buf, end).end()  # type: ignore[union-attr]
            if after < len(self._buf) or self._eof:
                return after < len(self._buf) and self._buf[after] == "{", start, end
            shift = start
            self._refill(start)
            start, end = 0, end - shift

    def _expect_end(self, pos: int) -> None:
        pos = self._skip_ws(pos)
        if pos < len(self._buf):
            raise self._fail("malformed_json", "unexpected data after the top-level array "
                             f"(starting {self._buf[pos:pos + 20]!r})", pos,
                             "the file must hold exactly one JSON array: remove what follows "
                             "its closing ']'", between=True)


_VALUE_START = frozenset('{["-0123456789tfn')
_STRING_STOP = re.compile(r'["\\]')
_STRUCTURE = re.compile(r'["\[\]{}]')
_ARRAY_SEP = re.compile(r"[ \t\n\r]*,[ \t\n\r]*")


_JSON_MESSAGES = {
    "Unterminated string starting at": "a string is never closed by '\"'",
    "Expecting value": "a value was expected here",
    "Expecting ',' delimiter": "a ',' is missing between two values",
    "Expecting ':' delimiter": "a ':' is missing after a property name",
    "Expecting property name enclosed in double quotes":
        "a property name in double quotes was expected (a trailing comma inside an object?)",
    "Invalid \\escape": "an invalid backslash escape",
    "Invalid \\uXXXX escape": "an invalid \\uXXXX escape",
    "Extra data": "more data follows a complete value",
}


def _plain(msg: str, buf: str, pos: int) -> str:
    """The json module's error in words, with no dangling "at" (the location is the
    report's line and byte)."""
    if msg == "Invalid control character at":
        char = buf[pos] if pos < len(buf) else ""
        name = "a NUL byte" if char == "\x00" else f"control character U+{ord(char or ' '):04X}"
        return (f"{name} inside a string (JSON strings must escape it, e.g. \\u"
                f"{ord(char or ' '):04x}; a file with NUL bytes may be binary or UTF-16)")
    plain = _JSON_MESSAGES.get(msg)
    if plain is not None:
        return plain
    return msg[:-3] if msg.endswith(" at") else msg


def _wrapped_hint(value: Any) -> str:
    """How to fix a lone top-level object: name the array of records it wraps, if any."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if isinstance(inner, list) and inner and isinstance(inner[0], dict):
                return (f"the records look to be the array under {key!r}: save that array "
                        f"alone as the file (e.g. jq '.{key}' in.json > records.json), or "
                        "write one record object per line (JSON Lines)")
    return ("put the records themselves in a top-level [ ... ] array, "
            "or write one record object per line (JSON Lines)")


def _looks_binary(buf: str, pos: int) -> bool:
    """True when the text at ``pos`` is a control character no JSON text starts with."""
    char = buf[pos]
    return char < " " or char in "\x7f\ufffd"


def _utf8_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
