"""Synthetic finance-alpaca-shaped datasets for the benchmarks, generated fast.

Every word is ``w`` + five digits (a Zipf-distributed vocabulary of 30,000), so
every record has the same byte layout: a template line is tiled with numpy and
only the digits are written in, a chunk of records at a time. A million
training records (about 830 MB) take seconds instead of the minutes a
per-record ``json.dumps`` loop took, and the generation is never inside a
timed section. Files are cached under a directory of the caller's choosing
(by default a temp directory), keyed by shape, size and seed, so a second run
reuses them.

* ``training``: JSONL ``{"prompt": "What is <20 words>?", "completion": "<100 words>."}``
  (what the convert stage writes; what ``CreateModel`` reads);
* ``alpaca``: a JSON array of ``{"instruction", "input", "output"}`` records
  (``Cleaned_date.json``'s shape; what a user drops into ``raw/``), about 830
  bytes each (70,000 records: about 58 MB, like the guide's 57 MB file).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import numpy.typing as npt

VOCABULARY = 30_000
QUESTION_WORDS = 20
ANSWER_WORDS = 100
CHUNK = 20_000
SAMPLER_SIZE = 1 << 22  # Zipf drawn by table look-up (resolution 2^-22)
_DIGITS = 5
_WORD = "w" + "0" * _DIGITS


def _template(shape: str) -> tuple[bytes, list[int]]:
    """One record's bytes with every word ``w00000``, and where each word starts."""
    question = " ".join([_WORD] * QUESTION_WORDS)
    answer = " ".join([_WORD] * ANSWER_WORDS)
    if shape == "training":
        line = json.dumps({"prompt": f"What is {question}?", "completion": f"{answer}."}) + "\n"
    elif shape == "alpaca":
        line = json.dumps({"instruction": f"What is {question}?", "input": "",
                           "output": f"{answer}."}) + ",\n"
    else:
        raise ValueError(f"unknown dataset shape {shape!r}")
    first_q = line.index(_WORD)
    first_a = line.index(_WORD, line.index(question) + len(question))
    starts = [first_q + j * (len(_WORD) + 1) for j in range(QUESTION_WORDS)]
    starts += [first_a + j * (len(_WORD) + 1) for j in range(ANSWER_WORDS)]
    return line.encode("ascii"), starts


def _chunk(rng: np.random.Generator, n: int, template: npt.NDArray[np.uint8],
           digit_columns: npt.NDArray[np.int64], sampler: npt.NDArray[np.int16],
           spelled: npt.NDArray[np.uint8]) -> bytes:
    words = sampler[rng.integers(0, len(sampler), size=(n, QUESTION_WORDS + ANSWER_WORDS))]
    rows = np.tile(template, (n, 1))
    rows[:, digit_columns] = spelled[words].reshape(n, -1)
    return rows.tobytes()


def _zipf_sampler() -> npt.NDArray[np.int16]:
    """Word numbers laid out so a uniform index into the array draws a Zipf word."""
    weights = 1.0 / np.arange(1, VOCABULARY + 1)
    cdf = np.cumsum(weights / weights.sum())
    grid = (np.arange(SAMPLER_SIZE) + 0.5) / SAMPLER_SIZE
    return np.minimum(np.searchsorted(cdf, grid, side="right"), VOCABULARY - 1).astype(np.int16)


def _spelled() -> npt.NDArray[np.uint8]:
    """The ASCII digits of every word number (one row of ``_DIGITS`` bytes per word)."""
    text = "".join(f"{i:0{_DIGITS}d}" for i in range(VOCABULARY)).encode("ascii")
    return np.frombuffer(text, dtype=np.uint8).reshape(VOCABULARY, _DIGITS)


def write(path: Path, records: int, shape: str = "training", seed: int = 7) -> int:
    """Write ``records`` records of ``shape`` to ``path``; returns its size in bytes."""
    line, starts = _template(shape)
    template = np.frombuffer(line, dtype=np.uint8)
    digit_columns = (np.asarray(starts)[:, None] + 1 + np.arange(_DIGITS)).ravel()
    sampler, spelled = _zipf_sampler(), _spelled()
    rng = np.random.default_rng(seed)
    partial = path.with_name(f".{path.name}.partial")
    with partial.open("wb") as out:
        if shape == "alpaca":
            out.write(b"[\n")
        for start in range(0, records, CHUNK):
            data = _chunk(rng, min(CHUNK, records - start), template, digit_columns,
                          sampler, spelled)
            if shape == "alpaca" and start + CHUNK >= records:
                data = data[:-2] + b"\n]\n"  # the last record takes no comma
            out.write(data)
    os.replace(partial, path)
    return path.stat().st_size


def cached(records: int, shape: str = "training", seed: int = 7,
           cache_dir: Path | None = None) -> Path:
    """The dataset's file under ``cache_dir`` (default: a folder in the temp dir), made once."""
    folder = cache_dir or Path(tempfile.gettempdir()) / "ocift-bench-datasets"
    folder.mkdir(parents=True, exist_ok=True)
    suffix = "jsonl" if shape == "training" else "json"
    path = folder / f"{shape}-{records}-seed{seed}-v1.{suffix}"
    if not path.exists():
        write(path, records, shape, seed)
    return path
