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
line (its first one) in the input; its byte offset is not kept (counting the bytes of
every line in Python cost more than parsing it).
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterator
from itertools import islice
from typing import Any, BinaryIO, Literal

from shared.convert.batches import Batch
from shared.convert.findings import Problem
from shared.convert.reader import CHUNK_SIZE, PROGRESS_EVERY, InputError, Readable

Delimited = Literal["csv", "tsv"]
BATCH_ROWS = 2048
_BOM = b"\xef\xbb\xbf"
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


class _Raw(io.RawIOBase):
    """The source as a raw stream ``io.BufferedReader`` can read from, counting bytes."""

    def __init__(self, src: Readable | BinaryIO, progress: Callable[[int], None] | None
                 ) -> None:
        self._src = src
        self._progress = progress
        self._next_progress = PROGRESS_EVERY
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        readinto = getattr(self._src, "readinto", None)
        if readinto is not None:
            got = readinto(buffer) or 0
        else:
            data = self._src.read(len(buffer)) or b""
            got = len(data)
            buffer[:got] = data
        self.bytes_read += got
        if self._progress is not None and self.bytes_read >= self._next_progress:
            self._next_progress = self.bytes_read + PROGRESS_EVERY
            self._progress(self.bytes_read)
        return got


class DelimitedReader:
    """The rows of a CSV or TSV file, in batches, like ``BatchReader``'s records."""

    def __init__(self, src: Readable | BinaryIO, kind: Delimited, *, max_field_chars: int,
                 progress: Callable[[int], None] | None = None) -> None:
        self._raw = _Raw(src, progress)
        self.format: Delimited = kind
        self.utf8_bom = False
        self.header: list[str] = []
        self.record_type: object = None  # what BatchReader has; rows need none
        self._delimiter = "," if kind == "csv" else "\t"
        self._max_field = max_field_chars
        self._columns: list[int] = []
        self._need = 0
        self._rows: Any = None
        self._errors: tuple[type[Exception], ...] = (UnicodeDecodeError,)

    @property
    def bytes_read(self) -> int:
        return self._raw.bytes_read

    def issue(self, code: str, message: str, handle: int, *,
              hint: str | None = None, record_index: int | None = None) -> Problem:
        return Problem(code=code, message=message, record_index=record_index, line=handle,
                       byte_offset=0 if handle == 1 else None, hint=hint)

    def open(self) -> int:
        """Read the header row; returns its handle. Raises ``InputError`` for an empty
        input or a header that does not parse."""
        buffered = io.BufferedReader(self._raw, CHUNK_SIZE)
        if buffered.peek(len(_BOM))[:len(_BOM)] == _BOM:
            self.utf8_bom = True
        import csv

        self._errors = (UnicodeDecodeError, csv.Error)
        text = io.TextIOWrapper(buffered, encoding="utf-8-sig", errors="strict", newline="")
        if csv.field_size_limit() < self._max_field:
            csv.field_size_limit(min(self._max_field, sys.maxsize))
        self._rows = csv.reader(text, delimiter=self._delimiter, strict=True)
        while True:
            header = self._next(self._rows.line_num + 1)
            if header is None:
                raise InputError(Problem(
                    code="empty_input", message=f"the {self.format.upper()} file holds no "
                    "header row and no records", line=1,
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
            return InputError(Problem(
                code="invalid_utf8", line=line,
                message=f"the input is not valid UTF-8: byte 0x{exc.object[exc.start]:02x} "
                        f"at or after line {line} ({exc.reason})",
                hint="save the file as UTF-8 (OCI requires UTF-8 training data)"))
        too_long = "field larger than field limit" in str(exc)
        return InputError(Problem(
            code="record_too_large" if too_long else "malformed_csv", line=line,
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
