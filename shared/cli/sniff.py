"""Refuse, before anything is uploaded, a file that cannot be a dataset.

Only the first bytes are looked at (the convert stage validates the whole file): a
compressed or binary file, an empty one, text that is not UTF-8, and (but for a .csv or
.tsv file, whose header row may start with anything) text that does not start like a
JSON array or object. The full validation stays the convert stage's.
"""

from __future__ import annotations

from pathlib import Path

HEAD_BYTES = 64 * 1024

#: Leading bytes of formats people rename to .json by mistake.
_SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"\x1f\x8b", "gzip-compressed", "decompress it first: gunzip -k FILE"),
    (b"PK\x03\x04", "a ZIP archive", "extract the .json from it first: unzip FILE"),
    (b"BZh", "bzip2-compressed", "decompress it first: bunzip2 -k FILE"),
    (b"\xfd7zXZ\x00", "xz-compressed", "decompress it first: unxz -k FILE"),
    (b"(\xb5/\xfd", "zstd-compressed", "decompress it first: unzstd FILE"),
    (b"%PDF", "a PDF document", "export the records as JSON"),
    (b"SQLite format 3\x00", "an SQLite database", "export the records as JSON"),
    (b"PAR1", "a Parquet file", "export the records as JSON Lines first (e.g. pandas "
                                 "read_parquet(...).to_json(lines=True, orient='records'))"),
)
_BOM = b"\xef\xbb\xbf"


class NotADataset(ValueError):
    """The file cannot be a dataset; the message says what it is and what to do."""


def check_dataset_file(path: Path, training: bool = False) -> None:
    """Raise :class:`NotADataset` unless ``path`` starts like JSON / JSON Lines text."""
    with path.open("rb") as f:
        head = f.read(HEAD_BYTES)
    check_dataset_head(head, str(path), training)


def check_dataset_head(head: bytes, path: str, training: bool = False) -> None:
    """:func:`check_dataset_file` on a file's first :data:`HEAD_BYTES` (``path`` names it
    in the message): the web page's upload runs the same checks."""
    delimited = not training and path.lower().endswith((".csv", ".tsv"))
    what = (f"{path} is not a {path[-3:].upper()} dataset" if delimited
            else f"{path} is not a JSON or JSON Lines dataset")
    if not head:
        raise NotADataset(f"{path} is empty: a dataset is a JSON array of records or one "
                          "JSON object per line (JSON Lines)")
    for magic, kind, fix in _SIGNATURES:
        if head.startswith(magic):
            raise NotADataset(f"{what}: it is {kind} (it starts with bytes "
                              f"{head[:len(magic)].hex(' ')}); {fix}, then upload the result")
    if b"\x00" in head:
        at = head.index(b"\x00")
        raise NotADataset(f"{what}: it holds a NUL byte at byte offset {at}, so it is binary "
                          "or UTF-16/32 text; save it as UTF-8 JSON and upload it again")
    text_bytes = head[len(_BOM):] if head.startswith(_BOM) else head
    try:
        text = text_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        cut = len(head) == HEAD_BYTES and exc.start >= len(text_bytes) - 4
        if not cut:  # not merely a character cut in two by the end of what was read
            raise NotADataset(
                f"{what}: it is not UTF-8 text (byte 0x{text_bytes[exc.start]:02x} at byte "
                f"offset {exc.start + len(head) - len(text_bytes)}); save it as UTF-8 "
                "(OCI requires UTF-8 training data)") from None
        text = text_bytes[:exc.start].decode("utf-8")
    stripped = text.lstrip(" \t\r\n")
    if delimited and stripped:
        return  # a header row: the convert stage reads it (RFC 4180 text, UTF-8)
    if not stripped:
        raise NotADataset(f"{path} holds only white space: a dataset is a JSON array of "
                          "records or one JSON object per line")
    first = stripped[0]
    allowed = "{" if training else "[{"
    if first not in allowed:
        sample = " ".join(stripped[:40].split())
        expected = ("a JSON Lines file of prompt/completion objects, one per line, starting "
                    "with '{'" if training else
                    "a JSON array of records ('[' first) or JSON Lines (one object per "
                    "line, '{' first)")
        if not training and "," in stripped.split("\n", 1)[0]:
            expected += "; if it is CSV with a header row, name it .csv (or .tsv) and it converts"
        raise NotADataset(f"{what}: it starts with {sample!r}, and a dataset is {expected}")
