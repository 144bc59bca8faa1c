"""The held-out evaluation split, chosen from each example's content while streaming.

Rule (issue 25): by default 2 % of the usable examples, at least 20 and at most 200
(``auto``); or exactly the size asked for (``--eval-size N``, at most
:data:`MAX_EVAL_SIZE`; 0 disables it). No split at all when it would leave fewer than
OCI's minimum of training examples (32); the report says so.

How, without knowing the total in advance and in bounded memory: every usable example
gets the key ``(crc32(UTF-8 prompt), prompt, completion)``, and the split is the
examples with the *smallest* keys (a bottom-k sample). While streaming, the
``capacity`` smallest keys seen so far are held back in a sorted list (at most 200 for
``auto``); an example pushed out of it by a smaller key can never be in the split, so it
goes on to the training JSONL at once (so those few are written later than their input
position; everything else keeps the input order). At the end the total is known, the size is
computed, and the smallest ``size`` held-back examples are the split; the others go to
training. The same content gives the same split, in any record order and on any machine
(CRC-32 is not seeded, unlike Python's ``hash``); adding records only ever removes
examples from it. Keys start with the prompt's hash, so examples sharing a prompt are
adjacent: when the cut would separate them, the whole group stays in training, and no
evaluation prompt is ever also a training prompt.

Cost: one ``crc32`` per example in C (``map``); the Python-level comparison runs only for
the rare example whose hash is at most the current threshold (about
``capacity * ln(n / capacity)`` of ``n``).
"""

from __future__ import annotations

from bisect import insort
from itertools import compress
from operator import methodcaller
from typing import Literal
from zlib import crc32

#: The default split: this fraction of the usable examples, within the bounds below.
AUTO_FRACTION = 0.02
AUTO_MIN = 20
AUTO_MAX = 200
#: The largest split one can ask for (held in memory while converting).
MAX_EVAL_SIZE = 1000

EvalSize = int | Literal["auto"]

_UTF8 = methodcaller("encode", "utf-8", "surrogatepass")
#: (crc, prompt, completion, prompt bytes, completion bytes, position in the input)
Entry = tuple[int, str, str, int, int, int]


def target_size(usable: int, requested: EvalSize, min_training: int) -> tuple[int, str | None]:
    """How many of ``usable`` examples to hold out, and a note when none are."""
    if requested == 0:
        return 0, None
    if requested == "auto":
        size = min(AUTO_MAX, max(AUTO_MIN, round(usable * AUTO_FRACTION)))
    else:
        size = requested
    if usable - size < min_training:
        return 0, (f"no evaluation split: holding out {size} of {usable} usable examples "
                   f"would leave fewer than the {min_training} OCI requires for training")
    return size, None


def check_size(requested: object) -> EvalSize:
    """``requested`` if it is a valid eval size, else ValueError naming the range."""
    if requested != "auto" and (isinstance(requested, bool) or not isinstance(requested, int)
                                or not 0 <= requested <= MAX_EVAL_SIZE):
        raise ValueError(f"eval size must be 'auto' or a whole number from 0 to "
                         f"{MAX_EVAL_SIZE} (0: no evaluation split); got {requested!r}")
    return requested


class Holdout:
    """The examples with the smallest keys seen so far (see the module docstring)."""

    def __init__(self, requested: EvalSize, min_training: int) -> None:
        self.requested = check_size(requested)
        self.min_training = min_training
        self.capacity = AUTO_MAX if requested == "auto" else int(requested)
        self.entries: list[Entry] = []  # sorted by key, at most ``capacity``
        self.frontier: Entry | None = None  # smallest key of an example let through
        self.let_through = 0  # examples that went on to training while streaming
        self.offered = 0
        self.note: str | None = None

    def _through(self, entry: Entry) -> None:
        if self.frontier is None or entry[:3] < self.frontier[:3]:
            self.frontier = entry

    def offer(self, prompts: list[str], completions: list[str], p_bytes: list[int],
              c_bytes: list[int]) -> tuple[list[str], list[str], list[int], list[int]]:
        """Hold back the examples that may be in the split; the rest (and any pushed out)
        are returned, for the training output."""
        crcs = list(map(crc32, map(_UTF8, prompts)))
        first = self.offered
        self.offered += len(prompts)
        entries = self.entries
        cap = self.capacity
        if len(entries) >= cap:
            limit = entries[-1][0] if entries else -1
            candidates = list(compress(range(len(crcs)), map(limit.__ge__, crcs)))
            if not candidates:
                self.let_through += len(prompts)
                return prompts, completions, p_bytes, c_bytes
        else:
            candidates = list(range(len(crcs)))
        held: set[int] = set()
        out_p: list[str] = []
        out_c: list[str] = []
        out_pb: list[int] = []
        out_cb: list[int] = []
        for i in candidates:
            entry = (crcs[i], prompts[i], completions[i], p_bytes[i], c_bytes[i], first + i)
            if len(entries) < cap:
                insort(entries, entry)
                held.add(i)
                continue
            if not entries or entry[:3] >= entries[-1][:3]:
                self._through(entry)
                continue
            pushed = entries.pop()
            insort(entries, entry)
            held.add(i)
            self._through(pushed)
            out_p.append(pushed[1])
            out_c.append(pushed[2])
            out_pb.append(pushed[3])
            out_cb.append(pushed[4])
        if held:
            keep = [i not in held for i in range(len(prompts))]
            prompts = list(compress(prompts, keep))
            completions = list(compress(completions, keep))
            p_bytes = list(compress(p_bytes, keep))
            c_bytes = list(compress(c_bytes, keep))
        if out_p:
            prompts = [*prompts, *out_p]
            completions = [*completions, *out_c]
            p_bytes = [*p_bytes, *out_pb]
            c_bytes = [*c_bytes, *out_cb]
        self.let_through += len(prompts)
        return prompts, completions, p_bytes, c_bytes

    def split(self) -> tuple[list[Entry], list[Entry]]:
        """``(evaluation, training)`` of the held-back examples, once the input is read: the
        split in key order, the rest in input order (so a dataset too small for a split is
        written exactly as it came)."""
        entries = self.entries
        usable = self.let_through + len(entries)
        size, self.note = target_size(usable, self.requested, self.min_training)
        size = min(size, len(entries))
        chosen = entries[:size]
        if chosen:
            last = chosen[-1][1]
            after = entries[size] if size < len(entries) else self.frontier
            if after is not None and after[1] == last:  # the cut splits a prompt's group
                while chosen and chosen[-1][1] == last:
                    chosen.pop()
                size = len(chosen)
                if not chosen:
                    self.note = ("no evaluation split: the examples it would take share "
                                 "their prompt with training examples")
        return chosen, sorted(entries[size:], key=lambda e: e[5])
