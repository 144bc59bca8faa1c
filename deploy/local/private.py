"""State of the local target is private to its user: directories 0700, files 0600.

Datasets, prompts in logs, the router journal and the API key live under the
state directory, so nothing in it may be readable by other local users.

* :func:`private_files` sets the process umask to 077 while a target runs
  (reference-counted, restored when the last target in the process stops), so
  every file and directory any component creates (emulator objects and
  metadata, Generative AI records, artifacts) starts private; the umask is the
  one setting that covers all writers at once.
* :func:`tighten` fixes a state directory written by an older version
  (removes group/other bits, never follows symlinks).
* :func:`write_private` / :func:`append_private` create files 0600 whatever
  the umask, for code that also runs outside a target (``status``, ``redrive``).
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

PRIVATE_UMASK = 0o077
DIR_MODE = 0o700
FILE_MODE = 0o600

_lock = threading.Lock()
_holders = 0
_saved: int | None = None


def acquire_private_umask() -> None:
    """Umask 077 for this process until the matching :func:`release_private_umask`."""
    global _holders, _saved
    with _lock:
        if _holders == 0:
            _saved = os.umask(PRIVATE_UMASK)
        _holders += 1


def release_private_umask() -> None:
    global _holders, _saved
    with _lock:
        if _holders == 0:
            return
        _holders -= 1
        if _holders == 0 and _saved is not None:
            os.umask(_saved)
            _saved = None


@contextmanager
def private_files() -> Iterator[None]:
    acquire_private_umask()
    try:
        yield
    finally:
        release_private_umask()


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) if needed and make ``path`` itself 0700."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    path.chmod(DIR_MODE)


def tighten(root: Path) -> int:
    """Drop group/other permission bits under ``root`` (not following symlinks).

    Returns how many entries were changed.
    """
    changed = 0
    for base, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            path = os.path.join(base, name)
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                continue
            if stat.S_ISLNK(st.st_mode) or not st.st_mode & 0o077:
                continue
            os.chmod(path, stat.S_IMODE(st.st_mode) & ~0o077)
            changed += 1
    return changed


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (temp file + rename), mode 0600."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as sink:
        sink.write(text)
    os.replace(tmp, path)


def append_private(path: Path) -> IO[str]:
    """``path`` opened for appending text, created 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
    return os.fdopen(fd, "a", encoding="utf-8")
