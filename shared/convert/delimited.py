"""CSV and TSV records with a header row, streamed through the standard ``csv`` module.

RFC 4180 (https://www.rfc-editor.org/rfc/rfc4180): fields separated by commas (tabs for
TSV), a field holding the separator, a quote or a line break is quoted, and a quote
inside it is doubled; the first row names the columns. The input is UTF-8 (a byte order
mark is allowed and stripped) and is read sequentially: ``csv.reader`` pulls one line at
a time from a text stream, so memory is one record plus the read buffer. ``strict``
parsing refuses a stray quote rather than guessing. ``csv`` is imported when a delimited
file is opened, so JSON conversions do not pay for its import.

The header is read first (``open``): the converter finds the shape from its column
names, then ``use_columns`` says which columns it reads; ``batches`` yields the complete
rows as typed batches (the converter reads them column by column) and a row lacking a
column alone, as a dict, to be skipped with its reason. A record's handle is its
line (its first one) in the input.

The bytes come through ``_Source``, which keeps each read (as bytes, with the count of
line breaks before it) while the batch it feeds is current, so the byte offset of a
reported row is found when it is asked for, never for the rows that pass; a byte that is
not UTF-8 is reported at its exact offset.
"""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Callable, Iterator
from itertools import islice
from typing import Any, BinaryIO, Literal, NamedTuple

from shared.convert.batches import Batch
from shared.convert.findings import Problem
from shared.convert.reader import PROGRESS_EVERY, InputError, Readable

Delimited = Literal["csv", "tsv"]
BATCH_ROWS = 2048
BLOCK_SIZE = 64 << 10  # each read, kept while its batch is current
_BOM = b"\xef\xbb\xbf"
_BREAK = re.compile(rb"\r\n|\r|\n")
_QUOTING_HINT = ("quote a field that holds the separator, a quote or a line break "
                 '("like, this"), and double each quote inside it ("say ""hi""")')


def delimited_by_name(name: str) -> Delimited | None:
    """"csv" or "tsv" for a name ending so (any case), else None (the input is JSON)."""
    lower = name.lower()
    if lower.endswith(".csv"):
        return "csv"
    if lower.endswith(".tsv"):
        return "tsv"
    return None


class LineTooLong(Exception):
    """A line runs on past any record's length with no line break."""

    def __init__(self, line: int, offset: int) -> None:
        super().__init__(line, offset)
        self.line, self.offset = line, offset


class _Chunk(NamedTuple):
    """One read of the input: ``data`` starts at byte ``offset`` after ``before`` line
    breaks and holds ``breaks`` more; ``paired``: it starts with the LF of a CRLF whose CR
    ended the chunk before (counted there)."""

    offset: int
    before: int
    breaks: int
    paired: bool
    data: bytes


class _Source(io.BufferedIOBase):
    """The input as the buffered stream ``io.TextIOWrapper`` decodes from.

    The source is read a block at a time; each block is kept, with how many line breaks
    precede it (``bytes.count``, C speed), while the batch it feeds is current, so the
    byte offset where a line starts is found only when a row is reported
    (``offset_of``), never for the rows that pass. The text layer takes a block in
    slices of its own size (8 KiB decodes fastest: most slices of mostly-ASCII text stay
    ASCII)."""

    def __init__(self, src: Readable | BinaryIO, progress: Callable[[int], None] | None,
                 *, max_line_bytes: int, block_size: int) -> None:
        super().__init__()
        self._src = src
        self._progress = progress
        self._next_progress = PROGRESS_EVERY
        self._block_size = block_size
        self.max_line = max_line_bytes
        self.bytes_read = 0
        self.breaks = 0
        self.kept: list[_Chunk] = []
        self._data = b""  # the block being handed out, from ``_at``
        self._at = 0
        self._since_break = 0  # bytes read since the last line break
        self._cr_last = False

    def readable(self) -> bool:
        return True

    def read1(self, size: int | None = -1, /) -> bytes:
        if self._at >= len(self._data) and not self._next_block():
            return b""
        at = self._at
        end = len(self._data) if size is None or size < 0 else at + size
        self._at = end
        return self._data[at:end] if at or end < len(self._data) else self._data

    read = read1

    def first_bytes(self, n: int) -> bytes:
        """The input's first ``n`` bytes (or fewer), not consumed."""
        while len(self._data) - self._at < n and self._next_block(keep_rest=True):
            pass
        return self._data[self._at:self._at + n]

    def _next_block(self, *, keep_rest: bool = False) -> bool:
        """Read the next block; False at the end of the input."""
        data = bytes(self._src.read(self._block_size) or b"")
        if not data:
            return False
        breaks = data.count(b"\n")
        if b"\r" in data:
            breaks += data.count(b"\r") - data.count(b"\r\n")
        paired = self._cr_last and data[0] == 0x0A
        breaks -= paired
        self.kept.append(_Chunk(self.bytes_read, self.breaks, breaks, paired, data))
        self.breaks += breaks
        self._cr_last = data[-1] == 0x0D
        self.bytes_read += len(data)
        self._since_break = (self._since_break + len(data)) if breaks == 0 else (
            len(data) - 1 - max(data.rfind(b"\n"), data.rfind(b"\r")))
        if self._since_break > self.max_line:
            raise LineTooLong(self.breaks + 1, self.bytes_read - self._since_break)
        if self._progress is not None and self.bytes_read >= self._next_progress:
            self._next_progress = self.bytes_read + PROGRESS_EVERY
            self._progress(self.bytes_read)
        self._data, self._at = (self._data[self._at:] + data, 0) if keep_rest else (data, 0)
        return True

    def keep_from(self, line: int) -> None:
        """Forget the reads that end before ``line`` starts."""
        kept = self.kept
        drop = 0
        while drop < len(kept) - 1 and kept[drop + 1].before + kept[drop + 1].paired < line:
            drop += 1
        if drop:
            del kept[:drop]

    def offset_of(self, line: int) -> int | None:
        """The byte offset where ``line`` (1-based) starts, if its read is still kept."""
        target = line - 1  # the line starts after this many line breaks
        if target == 0:
            return 0 if self.kept and self.kept[0].offset == 0 else None
        for i, chunk in enumerate(self.kept):
            if chunk.before < target <= chunk.before + chunk.breaks:
                start = 1 if chunk.paired else 0
                brk = next(islice(_BREAK.finditer(chunk.data, start),
                                  target - chunk.before - 1, None))
                end = brk.end()
                if (brk.group() == b"\r" and end == len(chunk.data) and i + 1 < len(self.kept)
                        and self.kept[i + 1].paired):
                    end += 1  # its LF opens the next read
                return chunk.offset + end
        return None

    def bad_byte(self, line: int) -> tuple[int, int] | None:
        """Line and byte offset of the first byte that is not UTF-8 at or after ``line``,
        among the reads kept (the decoder has read it)."""
        at = self.offset_of(line)
        if at is None:
            return None
        rest = b"".join(c.data for c in self.kept)[at - self.kept[0].offset:]
        try:
            rest.decode("utf-8")
        except UnicodeDecodeError as exc:
            return line + len(_BREAK.findall(rest, 0, exc.start)), at + exc.start
        return None


class DelimitedReader:
    """The rows of a CSV or TSV file, in batches, like ``BatchReader``'s records."""

    def __init__(self, src: Readable | BinaryIO, kind: Delimited, *, max_field_chars: int,
                 block_size: int = BLOCK_SIZE,
                 progress: Callable[[int], None] | None = None) -> None:
        self._source = _Source(src, progress, max_line_bytes=4 * max_field_chars,
                              block_size=block_size)
        self.format: Delimited = kind
        self.header: list[str] = []
        self.utf8_bom = False
        self.record_type: object = None  # what BatchReader has; rows need none
        self._delimiter = "," if kind == "csv" else "\t"
        self._max_field = max_field_chars
        self._columns: list[int] = []
        self._need = 0
        self._rows: Any = None
        self._errors: tuple[type[Exception], ...] = (UnicodeDecodeError, LineTooLong)

    @property
    def bytes_read(self) -> int:
        return self._source.bytes_read

    def issue(self, code: str, message: str, handle: int, *,
              hint: str | None = None, record_index: int | None = None) -> Problem:
        return Problem(code=code, message=message, record_index=record_index, line=handle,
                       byte_offset=self._source.offset_of(handle), hint=hint)

    def open(self) -> int:
        """Read the header row; returns its handle. Raises ``InputError`` for an empty
        input or a header that does not parse."""
        import csv

        self._errors = (UnicodeDecodeError, LineTooLong, csv.Error)
        if csv.field_size_limit() < self._max_field:
            csv.field_size_limit(min(self._max_field, sys.maxsize))
        if self._source.first_bytes(len(_BOM)) == _BOM:
            self.utf8_bom = True
        text = io.TextIOWrapper(self._source, encoding="utf-8-sig",  # type: ignore[type-var]
                                errors="strict", newline="")
        self._rows = csv.reader(text, delimiter=self._delimiter, strict=True)
        while True:
            header = self._next(self._rows.line_num + 1)
            if header is None:
                raise InputError(Problem(
                    code="empty_input", message=f"the {self.format.upper()} file holds no "
                    "header row and no records", line=1, byte_offset=0,
                    hint="the first row names the columns, e.g. question,answer"))
            if header:  # blank lines before the header are not rows
                break
        self.header = [name.strip() for name in header]
        return int(self._rows.line_num)

    def use_columns(self, names: list[str]) -> list[int]:
        """Read these columns (by header name) from now on; their indices."""
        self._columns = [self.header.index(name) for name in names]
        self._need = max(self._columns) + 1
        return self._columns

    def _next(self, line: int) -> list[str] | None:
        try:
            row: list[str] = next(self._rows)
        except StopIteration:
            return None
        except self._errors as exc:
            raise self._error(exc, line) from None
        return row

    def _error(self, exc: Exception, line: int) -> InputError:
        """What stopped the reading at (or after) ``line``."""
        if isinstance(exc, UnicodeDecodeError):
            line, byte = self._source.bad_byte(line) or (line, None)
            return InputError(Problem(
                code="invalid_utf8", line=line, byte_offset=byte,
                message=f"the input is not valid UTF-8: byte 0x{exc.object[exc.start]:02x} "
                        f"at line {line}, byte {byte} ({exc.reason})",
                hint="save the file as UTF-8 (OCI requires UTF-8 training data)"))
        if isinstance(exc, LineTooLong):
            return InputError(Problem(
                code="record_too_large", line=exc.line, byte_offset=exc.offset,
                message=f"line {exc.line} runs on for more than {self._source.max_line} "
                        "bytes without a line break",
                hint="no training example can be that long: is this a CSV file with one "
                     "row a line?"))
        too_long = "field larger than field limit" in str(exc)
        return InputError(Problem(
            code="record_too_large" if too_long else "malformed_csv", line=line,
            byte_offset=self._source.offset_of(line),
            message=(f"a field is longer than {self._max_field} characters"
                     if too_long else f"the {self.format.upper()} row does not parse: {exc}"),
            hint=("no training example can be that long: an unclosed quote makes the "
                  "rest of the file one field" if too_long else _QUOTING_HINT)))

    def batches(self) -> Iterator[Batch]:
        """The rows after the header: complete ones in typed batches, a short one alone.

        A batch of rows is read by one ``list.extend`` over ``csv.reader`` (C, no call a
        row); when its rows took one line each and all are complete, their lines are a
        ``range``; otherwise each row's line is worked out from the line breaks inside
        its fields (``_split``)."""
        need, reader = self._need, self._rows
        while True:
            first = reader.line_num + 1  # the line the batch's first row starts on
            self._source.keep_from(first)
            rows: list[list[str]] = []
            try:
                rows.extend(islice(reader, BATCH_ROWS))  # keeps the rows read before an error
            except self._errors as exc:  # located at the start of the row that failed
                yield from self._split(rows, first)
                raise self._error(exc, first + sum(map(_span, rows))) from None
            if not rows:
                return
            if reader.line_num - first + 1 == len(rows) and min(map(len, rows)) >= need:
                yield Batch(rows, range(first, first + len(rows)), True)
            else:
                yield from self._split(rows, first)

    def _split(self, rows: list[list[str]], line: int) -> Iterator[Batch]:
        """``rows`` (the first starting on ``line``) as typed batches of complete rows and
        a short row alone, blank lines left out, each with the line it starts on."""
        need, header = self._need, self.header
        good: list[list[str]] = []
        handles: list[int] = []
        for row in rows:
            here = line
            line += _span(row)
            if len(row) >= need:
                good.append(row)
                handles.append(here)
            elif row:  # a blank line is no record
                if good:
                    yield Batch(good, handles, True)
                    good, handles = [], []
                yield Batch([dict(zip(header, row, strict=False))], [here], False)
        if good:
            yield Batch(good, handles, True)


def _span(row: list[str]) -> int:
    """How many lines ``row`` took: one, plus the line breaks inside its quoted fields
    (``\r\n``, ``\n`` or ``\r``, as the text stream splits lines)."""
    return 1 + sum(f.count("\n") + f.count("\r") - f.count("\r\n") for f in row
                   if "\n" in f or "\r" in f)
