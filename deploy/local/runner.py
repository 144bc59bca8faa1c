"""Serve functions through the real ``fdk`` runtime, as Fn does.

Each function has up to ``max_instances`` warm processes
(:mod:`deploy.local.instances`): ``<venv>/bin/fdk <handler.py> <entrypoint>``
with ``FN_FORMAT=http-stream`` and ``FN_LISTENER=unix:/<dir>/lsnr.sock``. fdk
binds ``phonylsnr.sock`` and then symlinks ``lsnr.sock`` to it; the runner
waits for that symlink, then POSTs calls to ``http://localhost/call`` over the
socket with the headers Fn sends (``Fn-Call-Id``, ``Fn-Deadline``, and for
HTTP-triggered calls ``Fn-Intent: httprequest``, ``Fn-Http-Method``,
``Fn-Http-Request-Url``, ``Fn-Http-H-<name>``).
The connection is kept for the process's next call
while it is hot (:data:`deploy.local.instances.KEEP_IDLE_SECONDS`).

Each process answers one call at a time; more concurrent calls start more
processes up to the limit, then queue with a deadline, then are refused with
:class:`FunctionBusy` (Fn's 429). A call that exceeds the function's timeout
kills its process (Fn discards the container); a process that has exited is
replaced on the next call; a live one is never killed because a connect
failed. Processes die with the runner's process (:mod:`deploy.local.pdeathsig`)
and are recorded under ``<state_dir>/runner/instances`` so the next target
cleans what a crash left (:func:`deploy.local.orphans.clean_stale`). Output of
each function goes to ``<state_dir>/logs/<function>.log`` (mode 0600).
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel

from deploy.local.fncall import (
    FN_HTTP_PREFIX,
    FunctionBusy,
    FunctionTimeout,
    HttpRequest,
    InvocationError,
    InvokeResult,
    UnknownFunction,
)
from deploy.local.functions import REPO_ROOT, FunctionDef
from deploy.local.instances import KEEP_IDLE_SECONDS, Instance, InstancePool, invoke_on
from deploy.local.orphans import InstanceRegistry, Spawner

__all__ = ["FN_HTTP_PREFIX", "FunctionBusy", "FunctionRunner", "FunctionState",
           "FunctionTimeout", "HttpRequest", "InvocationError", "InvokeResult",
           "UnknownFunction", "fdk_executable"]

#: What a function process inherits from the host: an OCI Functions container sees only the
#: FN_* and OCI_* variables the platform populates, its configuration and the image's own
#: environment (https://docs.oracle.com/en-us/iaas/Content/Functions/Tasks/functionsenvironmentvariables.htm),
#: never the caller's shell. Locale, paths and coverage hooks are the image-like remainder.
_INHERITED = frozenset({"PATH", "HOME", "LANG", "LANGUAGE", "TMPDIR", "TZ", "PYTHONHASHSEED",
                        "PYTHONDONTWRITEBYTECODE", "PYTHONWARNINGS"})
_INHERITED_PREFIXES = ("LC_", "COVERAGE_")


class FunctionState(BaseModel):
    """Status view of one function's processes."""

    name: str
    stage: str | None
    running: bool
    pid: int | None  # the instance the next call would use
    pids: list[int]
    max_instances: int
    starts: int
    calls: int
    failures: int
    rejected: int  # refused with FunctionBusy (429)
    log_file: str


def fdk_executable() -> Path:
    """The ``fdk`` console script of the running interpreter's environment."""
    candidate = Path(sys.executable).parent / "fdk"
    if candidate.exists():
        return candidate
    found = shutil.which("fdk")
    if found is None:
        raise FileNotFoundError(f"no fdk console script next to {sys.executable} or on PATH")
    return Path(found)


#: fdk's console script, run by ``python -S`` in an image tree (``sys.argv[1:]``: handler path
#: and entrypoint, as the script takes them).
_FDK_MAIN = "import sys; from fdk.scripts.fdk import main; sys.exit(main())"


def _base_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items()
            if k in _INHERITED or k.startswith(_INHERITED_PREFIXES)}


class FunctionRunner:
    """Warm fdk processes for a set of functions; thread-safe ``invoke``."""

    def __init__(
        self,
        state_dir: str | Path,
        functions: Mapping[str, FunctionDef],
        extra_env: Mapping[str, str] | None = None,
        echo: bool = False,
        start_timeout: float = 30.0,
        repo_root: Path = REPO_ROOT,
        site_dir: Path | None = None,
        keep_idle: float = KEEP_IDLE_SECONDS,
    ) -> None:
        self.logs_dir = Path(state_dir) / "logs"
        self.extra_env = dict(extra_env or {})
        self.echo = echo
        self.start_timeout = start_timeout
        self.repo_root = repo_root
        #: The function image's Python tree (``pip install --target`` as the Fn build does):
        #: when set, each process runs ``python -S`` with only that tree and the repo
        #: importable, as in the image, instead of this environment's ``fdk`` script.
        self.site_dir = site_dir
        self.fdk = fdk_executable()
        self.registry = InstanceRegistry(Path(state_dir))
        self.spawner = Spawner()
        self._pools = {name: InstancePool(fn, self) for name, fn in functions.items()}
        #: A connection kept to a function process is closed once unused this long.
        self.keep_idle = keep_idle
        self._closer: threading.Thread | None = None
        self._closer_lock = threading.Lock()
        self._closer_stop = threading.Event()

    @property
    def functions(self) -> dict[str, FunctionDef]:
        return {name: p.fn for name, p in self._pools.items()}

    def command(self, fn: FunctionDef) -> list[str]:
        """How one process of ``fn`` is started: fdk's entry point, handler path, entrypoint."""
        if self.site_dir is None:
            return [str(self.fdk), str(fn.handler_path), fn.entrypoint]
        return [sys.executable, "-S", "-c", _FDK_MAIN, str(fn.handler_path), fn.entrypoint]

    def log_path(self, function: str) -> Path:
        return self.logs_dir / f"{function}.log"

    def environment(self, fn: FunctionDef, listener: Path) -> dict[str, str]:
        """What one process of ``fn`` sees: its own configuration and Fn's variables."""
        env = _base_environment()
        env.update(self.extra_env)
        env.update(fn.environment())
        env.update({
            "FN_LISTENER": f"unix:{listener}",
            "FN_FORMAT": "http-stream",
            "FN_APP_NAME": fn.app_name,
            "FN_APP_ID": f"ocid1.fnapp.local..{fn.app_name}",
            "FN_FN_NAME": fn.name,
            "FN_FN_ID": f"ocid1.fnfunc.local..{uuid.uuid5(uuid.NAMESPACE_URL, fn.name).hex}",
            "FN_MEMORY": str(fn.memory_mb),
            "FN_TYPE": "sync",
            "PYTHONPATH": os.pathsep.join(
                [str(self.repo_root), str(self.site_dir)] if self.site_dir is not None else
                [str(self.repo_root)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])),
            "PYTHONUNBUFFERED": "1",
        })
        return env

    def _get(self, name: str) -> InstancePool:
        try:
            return self._pools[name]
        except KeyError:
            raise UnknownFunction(name) from None

    def start(self, *names: str) -> None:
        """Make one process of each named function warm now (all when none named)."""
        for name in names or tuple(self._pools):
            self._get(name).ensure_one()

    def stop(self) -> None:
        """Stop every function process (process groups, then sockets), then the spawner and
        closer threads.

        The runner stays usable: the next call starts processes again.
        """
        for pool in self._pools.values():
            pool.stop()
        self.spawner.close()
        with self._closer_lock:
            closer, self._closer = self._closer, None
            self._closer_stop.set()
        if closer is not None:
            closer.join(5)

    def watch_idle(self) -> None:
        """Make sure the closer runs: it shuts the connections kept to function processes
        once they idle past :attr:`keep_idle` (see :mod:`deploy.local.instances`)."""
        if self._closer is not None:
            return
        with self._closer_lock:
            if self._closer is None:
                self._closer_stop.clear()
                self._closer = threading.Thread(target=self._close_idle, name="fn-closer",
                                                daemon=True)
                self._closer.start()

    def _close_idle(self) -> None:
        while not self._closer_stop.wait(self.keep_idle / 2):
            now = time.monotonic()
            for pool in self._pools.values():
                pool.close_idle_connections(now, self.keep_idle)

    def kill(self, name: str) -> None:
        """Kill one function's processes (a new one starts on the next call)."""
        self._get(name).stop()

    def pid(self, name: str) -> int | None:
        """The pid of the live process the next call of ``name`` would most likely use."""
        return self._get(name).newest_idle_pid()

    def instances(self, name: str) -> list[Instance]:
        """The live processes of function ``name``."""
        return self._get(name).live()

    def pids(self, name: str) -> list[int]:
        return [i.pid for i in self._get(name).live() if i.pid is not None]

    def invoke(
        self,
        name: str,
        body: bytes,
        content_type: str = "application/json",
        http: HttpRequest | None = None,
        timeout: float | None = None,
    ) -> InvokeResult:
        """Call function ``name`` once.

        Raises :class:`FunctionBusy` when it is at its concurrency limit,
        :class:`FunctionTimeout` past its timeout, :class:`InvocationError` when
        no answer came back.
        """
        pool = self._get(name)
        limit = timeout if timeout is not None else pool.fn.timeout_seconds
        return invoke_on(pool, body, content_type, http, limit)

    def status(self) -> list[FunctionState]:
        out = []
        for name, pool in self._pools.items():
            pids = [i.pid for i in pool.live() if i.pid is not None]
            out.append(FunctionState(
                name=name, stage=pool.fn.stage.value if pool.fn.stage else None,
                running=bool(pids), pid=pool.newest_idle_pid(), pids=pids,
                max_instances=pool.fn.max_instances, starts=pool.starts, calls=pool.calls,
                failures=pool.failures, rejected=pool.rejected,
                log_file=str(self.log_path(name))))
        return out

    def __enter__(self) -> FunctionRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
