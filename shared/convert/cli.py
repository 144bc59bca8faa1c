"""Command line: convert a local raw dataset file into OCI fine-tuning JSONL.

Exit codes: 0 valid (output written), 1 invalid (no output file), 2 usage error.
The JSONL goes to a hidden temp file beside the output and is renamed into
place only when the dataset is valid, so a partial output never exists.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from shared.convert.core import convert_plain
from shared.convert.findings import Findings, Spread
from shared.convert.holdout import MAX_EVAL_SIZE, EvalSize, check_size
from shared.convert.limits import Limits
from shared.convert.shapes import FieldMapping, mapping_of

if TYPE_CHECKING:
    from shared.convert.report import ConversionReport, Summary

DEFAULT_BASE_MODEL = "cohere.command-r-08-2024"
PROGRESS_MIN_BYTES = 8 << 20


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's help formatter, sized as ``shutil.get_terminal_size`` would size it, but
    without importing ``shutil`` (with the bz2, lzma and zlib modules it imports): argparse
    builds a formatter for every ``add_argument``, so every conversion paid that import,
    about 2 ms of ``ocift convert``'s start-up."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position,
                         _columns() - 2 if width is None else width)


def _columns() -> int:
    """Terminal width: ``$COLUMNS``, else stdout's terminal, else 80 (shutil's order)."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


def _parser(prog: str = "python -m shared.convert") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, formatter_class=_HelpFormatter,
        description="Convert a dataset (Alpaca, prompt/completion, OpenAI chat, ShareGPT or "
                    "field-mapped records; a JSON array, JSON Lines, or CSV/TSV with a "
                    "header row) into OCI Generative AI fine-tuning JSONL and validate it.")
    parser.add_argument("input", type=Path,
                        help="raw dataset (.json array, .jsonl, .csv or .tsv)")
    parser.add_argument("output", type=Path, nargs="?",
                        help="JSONL to write (omit to validate only)")
    parser.add_argument("--base-model", default=DEFAULT_BASE_MODEL,
                        help=f"base model whose limits apply (default {DEFAULT_BASE_MODEL})")
    parser.add_argument("--eval-size", type=_eval_size, default=0, metavar="auto|N",
                        help="hold out an evaluation split that never enters the output: "
                             "'auto' (2%% of the usable examples, 20 to 200, as the pipeline "
                             f"does by default) or N (0 to {MAX_EVAL_SIZE}); default 0, none")
    parser.add_argument("--eval-out", type=Path,
                        help="where the split goes (default: OUTPUT with .eval.jsonl)")
    parser.add_argument("--report", type=Path, help="also write the report as JSON here")
    parser.add_argument("--json", action="store_true",
                        help="print the report as JSON instead of a table")
    parser.add_argument("--progress", action="store_true",
                        help="show progress even when stderr is not a terminal")
    parser.add_argument("--prompt-field", metavar="F",
                        help="the field (CSV column) holding the prompt")
    parser.add_argument("--completion-field", metavar="F",
                        help="the field (CSV column) holding the completion")
    parser.add_argument("--context-field", metavar="F",
                        help="optional field appended to the prompt as Alpaca's input is")
    return parser


def _eval_size(text: str) -> EvalSize:
    try:
        return check_size("auto" if text == "auto" else int(text) if text.isdigit() else text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def mapping_from_args(args: argparse.Namespace) -> FieldMapping | None:
    """The ``--prompt-field/--completion-field/--context-field`` mapping, if given;
    raises ``ValueError`` for half a mapping."""
    return mapping_of(args.prompt_field, args.completion_field, args.context_field,
                      lambda part: f"--{part}-field")


class _ProgressBar:
    """A one-line stderr progress bar (stdlib only)."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = max(total, 1)
        self.stream = stream
        self.started = time.monotonic()

    def __call__(self, done: int) -> None:
        frac = min(done / self.total, 1.0)
        width = 30
        filled = int(frac * width)
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = done / elapsed / 1e6
        self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {frac:6.1%} "
                          f"{done / 1e6:8.1f} MB  {rate:6.1f} MB/s")
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


def main(argv: list[str] | None = None, prog: str = "python -m shared.convert") -> int:
    """Run the converter; returns the process exit code."""
    try:
        args = _parser(prog).parse_args(argv)
    except SystemExit as exc:
        return 0 if exc.code == 0 else 2
    src_path: Path = args.input
    if not src_path.is_file():
        print(f"error: {src_path} is not a readable file", file=sys.stderr)
        return 2
    out_path: Path | None = args.output
    if out_path is not None and not out_path.resolve().parent.is_dir():
        print(f"error: directory of {out_path} does not exist", file=sys.stderr)
        return 2
    try:
        mapping = mapping_from_args(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    rules = Limits.for_base_model(args.base_model)
    size = src_path.stat().st_size
    bar = None
    if args.progress or (sys.stderr.isatty() and size >= PROGRESS_MIN_BYTES):
        bar = _ProgressBar(size, sys.stderr)

    eval_path: Path | None = args.eval_out
    if eval_path is None and out_path is not None and args.eval_size != 0:
        eval_path = out_path.with_name(out_path.stem + ".eval.jsonl")
    held_out = _Lines()
    tmp_name: str | None = None
    try:
        with src_path.open("rb") as src:
            if out_path is None:
                report = convert_plain(src, None, source=str(src_path), rules=rules,
                                       progress=bar, size_hint=size, eval_size=args.eval_size,
                                       eval_out=held_out, mapping=mapping)
            else:
                fd, tmp_name = _create_hidden(out_path.resolve().parent, out_path.name)
                with os.fdopen(fd, "wb") as out:
                    report = convert_plain(src, out, source=str(src_path), rules=rules,
                                           progress=bar, size_hint=size,
                                           eval_size=args.eval_size, eval_out=held_out,
                                           mapping=mapping)
                if report.valid:
                    if eval_path is not None and report.eval_records:
                        eval_path.write_bytes(b"".join(held_out.parts))
                    os.replace(tmp_name, out_path)
                    tmp_name = None
    finally:
        if bar is not None:
            bar.close()
        if tmp_name is not None:
            Path(tmp_name).unlink(missing_ok=True)

    if args.report is not None or args.json:  # the validated report (pydantic) only here
        from shared.convert.report import from_findings

        text = from_findings(report).model_dump_json(indent=2)
        if args.report is not None:
            args.report.write_text(text + "\n", encoding="utf-8")
        if args.json:
            print(text)
    if not args.json:
        print(render_table(report, out_path))
    return 0 if report.valid else 1


class _Lines:
    """Collects the evaluation split's lines (a few hundred at most)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes, /) -> int:
        self.parts.append(bytes(data))
        return len(data)


def _create_hidden(directory: Path, name: str) -> tuple[int, str]:
    """A new file ``.<name>.<random>.tmp`` in ``directory``, open for writing and readable
    by its owner only: what ``tempfile.mkstemp`` does, without the few milliseconds of
    start-up that importing ``tempfile`` costs every conversion."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    while True:
        path = os.path.join(directory, f".{name}.{os.urandom(6).hex()}.tmp")
        try:
            return os.open(path, flags, 0o600), path
        except FileExistsError:  # 48 random bits: another name
            continue


def _summary_cells(s: Summary | Spread) -> str:
    return f"min {s.min}  p50 {s.p50}  p95 {s.p95}  max {s.max}  mean {s.mean:g}"


def _ordinal(index: int | None) -> int | None:
    """A record's number as people count (and ``ocift status`` and the page show it): from 1.
    The report keeps the 0-based ``record_index``."""
    return None if index is None else index + 1


def render_table(report: ConversionReport | Findings, out_path: Path | None = None) -> str:
    """The report as an aligned, human-readable table."""
    rows: list[tuple[str, str]] = [
        ("source", report.source),
        ("result", "VALID" if report.valid else "INVALID"),
    ]
    if report.fatal is not None:
        where = ", ".join(f"{k} {v}" for k, v in (
            ("record", _ordinal(report.fatal.record_index)), ("line", report.fatal.line),
            ("byte", report.fatal.byte_offset)) if v is not None)
        rows.append(("error", f"[{report.fatal.code}] {report.fatal.message}"
                              + (f" ({where})" if where else "")))
        if report.fatal.hint:
            rows.append(("how to fix", report.fatal.hint))
    if report.valid and out_path is not None:
        rows.append(("output", str(out_path)))
    rules = report.rules
    rows += [
        ("format", (report.format or f"{report.input_format or '-'} / "
                                     f"{report.record_schema or '-'}")
                   + ("  (UTF-8 BOM stripped)" if report.utf8_bom else "")),
        ("bytes read", f"{report.bytes_read:,}"),
        ("records read", f"{report.records_read:,}"),
        ("records written", f"{report.records_written:,}"),
        ("held out (eval)", f"{report.eval_records:,}"),
        ("records skipped", f"{report.records_skipped:,}"),
    ]
    rows += [(f"  {code}", f"{n:,}") for code, n in report.skipped_by_reason.items()]
    rows += [
        ("prompt chars", _summary_cells(report.prompt.chars)),
        ("prompt tokens~", _summary_cells(report.prompt.est_tokens)),
        ("completion chars", _summary_cells(report.completion.chars)),
        ("completion tokens~", _summary_cells(report.completion.est_tokens)),
        ("rules", f"{rules.family} ({rules.base_model or 'default'}): >= {rules.min_examples} "
                  f"examples, <= {rules.max_prompt_tokens} prompt / "
                  f"{rules.max_completion_tokens} completion / {rules.max_example_tokens} "
                  f"total tokens (~{rules.bytes_per_token} bytes a token)"),
    ]
    for issue in report.skipped_examples[:5]:
        rows.append(("example skip", f"record {_ordinal(issue.record_index)} line {issue.line}: "
                                     f"[{issue.code}] {issue.message}"))
    for note in report.notes:
        rows.append(("note", note))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)
