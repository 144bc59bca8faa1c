"""Fixtures: a runner serving the tiny test functions in ``tests/local/fns``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from deploy.local.functions import FunctionDef
from deploy.local.runner import FunctionRunner

FNS = Path(__file__).resolve().parent / "fns" / "testfns.py"

FnDefFactory = Callable[..., FunctionDef]
RunnerFactory = Callable[..., FunctionRunner]


def _fn_def(name: str, entrypoint: str | None = None, timeout: float = 20.0,
            **config: str) -> FunctionDef:
    return FunctionDef(name=name, handler_path=FNS, entrypoint=entrypoint or name,
                       timeout_seconds=timeout, config=config)


@pytest.fixture
def fn_def() -> FnDefFactory:
    """Build a FunctionDef for one entry point of ``fns/testfns.py``."""
    return _fn_def


@pytest.fixture
def fn_dir(tmp_path: Path) -> Path:
    """Where the test functions record their calls (``<fn name>.calls``)."""
    path = tmp_path / "fncalls"
    path.mkdir()
    return path


@pytest.fixture
def runner_factory(tmp_path: Path, fn_dir: Path) -> Iterator[RunnerFactory]:
    made: list[FunctionRunner] = []

    def factory(*fns: FunctionDef) -> FunctionRunner:
        runner = FunctionRunner(tmp_path / "state", {f.name: f for f in fns},
                                extra_env={"TESTFN_DIR": str(fn_dir)})
        made.append(runner)
        return runner

    yield factory
    for runner in made:
        runner.stop()


def calls(fn_dir: Path, name: str) -> int:
    path = fn_dir / f"{name}.calls"
    return len(path.read_bytes().splitlines()) if path.exists() else 0
