"""The tiny test functions in ``tests/local/fns`` as the local runner serves them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from deploy.local.functions import FunctionDef
from deploy.local.runner import FunctionRunner

FNS = Path(__file__).resolve().parents[1] / "local" / "fns" / "testfns.py"

FnDefFactory = Callable[..., FunctionDef]
RunnerFactory = Callable[..., FunctionRunner]


def make_fn(name: str, entrypoint: str | None = None, timeout: float = 20.0,
            **config: str) -> FunctionDef:
    """A FunctionDef serving one entry point of ``fns/testfns.py``."""
    return FunctionDef(name=name, handler_path=FNS, entrypoint=entrypoint or name,
                       timeout_seconds=timeout, config=config)


def children(pid: int) -> list[int]:
    """Pids of the live processes whose parent is ``pid`` (read from /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry.name))
    return out


def calls(fn_dir: Path, name: str) -> int:
    """How many calls test function ``name`` recorded."""
    path = fn_dir / f"{name}.calls"
    return len(path.read_bytes().splitlines()) if path.exists() else 0
