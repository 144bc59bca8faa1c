"""Serve functions through the real ``fdk`` runtime, as Fn does.

Each function is one warm process: ``<venv>/bin/fdk <handler.py> <entrypoint>``
with ``FN_FORMAT=http-stream`` and ``FN_LISTENER=unix:/<dir>/lsnr.sock``. fdk
binds ``phonylsnr.sock`` and then symlinks ``lsnr.sock`` to it; the runner
waits for that symlink, then POSTs calls to ``http://localhost/call`` over the
socket with the headers Fn sends (``Fn-Call-Id``, ``Fn-Deadline``, and for
HTTP-triggered calls ``Fn-Intent: httprequest``, ``Fn-Http-Method``,
``Fn-Http-Request-Url``, ``Fn-Http-H-<name>``).

fdk only ever answers 200, 502 (the function raised) or 504 (timeout); for an
HTTP-intent call the function's own status comes back in ``Fn-Http-Status``
and its headers as ``Fn-Http-H-*``. A call that exceeds the function's
timeout kills the process (Fn discards the container) and is restarted on the
next call; a dead process is restarted likewise. Output of each function goes
to ``<state_dir>/logs/<function>.log``.
"""

from __future__ import annotations

import contextlib
import http.client as httpclient
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

from pydantic import BaseModel

from deploy.local.functions import REPO_ROOT, FunctionDef

log = logging.getLogger("ocift.local.runner")

FN_HTTP_PREFIX = "fn-http-h-"
#: Environment prefixes that belong to function configuration and must not leak in.
_PRIVATE_PREFIXES = ("OCIFT_", "FN_")


class InvocationError(RuntimeError):
    """The call never got an fdk answer: process dead, refused, or crashed mid-call."""


class FunctionTimeout(InvocationError):
    """The call ran past the function's timeout; the process was killed."""


class UnknownFunction(KeyError):
    """No function of that name is defined."""


@dataclass(frozen=True)
class HttpRequest:
    """An HTTP-triggered call (what API Gateway forwards to Fn)."""

    method: str
    url: str
    headers: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class InvokeResult:
    """What the function answered.

    ``fdk_status`` is fdk's own status (200, 502 or 504); ``status`` is the
    function's status (``Fn-Http-Status`` for HTTP-intent calls, else
    ``fdk_status``); ``headers`` are the function's headers (decapsulated from
    ``Fn-Http-H-*`` for HTTP-intent calls), lower-case names.
    """

    fdk_status: int
    status: int
    headers: dict[str, str]
    body: bytes
    call_id: str

    @property
    def ok(self) -> bool:
        return 200 <= self.fdk_status < 300


class FunctionState(BaseModel):
    """Status view of one function's process."""

    name: str
    stage: str | None
    running: bool
    pid: int | None
    starts: int
    calls: int
    failures: int
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


class _UnixHTTPConnection(httpclient.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _base_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(_PRIVATE_PREFIXES)}


class _Process:
    """One warm fdk process of one function."""

    def __init__(self, fn: FunctionDef, runner: FunctionRunner) -> None:
        self.fn = fn
        self.runner = runner
        self.lock = threading.Lock()
        self.proc: subprocess.Popen[bytes] | None = None
        self.socket_dir: Path | None = None
        self.fn_id = f"ocid1.fnfunc.local..{uuid.uuid5(uuid.NAMESPACE_URL, fn.name).hex}"
        self.starts = 0
        self.calls = 0
        self.failures = 0
        self._pump: threading.Thread | None = None

    @property
    def log_path(self) -> Path:
        return self.runner.logs_dir / f"{self.fn.name}.log"

    @property
    def listener(self) -> Path:
        assert self.socket_dir is not None
        return self.socket_dir / "lsnr.sock"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def environment(self) -> dict[str, str]:
        env = _base_environment()
        env.update(self.runner.extra_env)
        env.update(self.fn.environment())
        env.update({
            "FN_LISTENER": f"unix:{self.listener}",
            "FN_FORMAT": "http-stream",
            "FN_APP_NAME": self.fn.app_name,
            "FN_APP_ID": f"ocid1.fnapp.local..{self.fn.app_name}",
            "FN_FN_NAME": self.fn.name,
            "FN_FN_ID": self.fn_id,
            "FN_MEMORY": str(self.fn.memory_mb),
            "FN_TYPE": "sync",
            "PYTHONPATH": os.pathsep.join(
                [str(self.runner.repo_root)]
                + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])),
            "PYTHONUNBUFFERED": "1",
        })
        return env

    def ensure_started(self) -> None:
        """Start the process unless it is alive; caller holds ``self.lock``."""
        if self.alive():
            return
        self._reap()
        self.socket_dir = Path(tempfile.mkdtemp(prefix="ocift-fn-"))
        self.runner.logs_dir.mkdir(parents=True, exist_ok=True)
        cmd = [str(self.runner.fdk), str(self.fn.handler_path), self.fn.entrypoint]
        self.proc = subprocess.Popen(
            cmd, env=self.environment(), cwd=str(self.runner.repo_root),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.starts += 1
        assert self.proc.stdout is not None
        self._pump = threading.Thread(
            target=self._copy_output, args=(self.proc.stdout,),
            name=f"fn-log-{self.fn.name}", daemon=True)
        self._pump.start()
        deadline = time.monotonic() + self.runner.start_timeout
        while not self.listener.is_symlink():
            if self.proc.poll() is not None:
                code = self.proc.returncode
                self._reap()
                raise InvocationError(
                    f"function {self.fn.name} exited with code {code} while starting; "
                    f"see {self.log_path}")
            if time.monotonic() > deadline:
                self._reap()
                raise InvocationError(
                    f"function {self.fn.name} did not open its socket within "
                    f"{self.runner.start_timeout:.0f}s; see {self.log_path}")
            time.sleep(0.01)
        log.info("function started", extra={"function": self.fn.name, "pid": self.proc.pid})

    def _copy_output(self, stream: IO[bytes]) -> None:
        with open(self.log_path, "ab") as sink:
            for line in iter(stream.readline, b""):
                sink.write(line)
                sink.flush()
                if self.runner.echo:
                    text = line.decode("utf-8", "replace").rstrip("\n")
                    print(f"[{self.fn.name}] {text}", file=sys.stderr, flush=True)

    def _reap(self, force: bool = False) -> None:
        """Stop the process group (SIGTERM, or SIGKILL when ``force``) and drop its socket."""
        proc, self.proc = self.proc, None
        if proc is not None:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL if force else signal.SIGTERM)
                try:
                    proc.wait(timeout=3)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        if self._pump is not None:
            self._pump.join(timeout=2)
            self._pump = None
        if self.socket_dir is not None:
            shutil.rmtree(self.socket_dir, ignore_errors=True)
            self.socket_dir = None

    def kill(self) -> None:
        with self.lock:
            self._reap()


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
    ) -> None:
        self.logs_dir = Path(state_dir) / "logs"
        self.extra_env = dict(extra_env or {})
        self.echo = echo
        self.start_timeout = start_timeout
        self.repo_root = repo_root
        self.fdk = fdk_executable()
        self._procs = {name: _Process(fn, self) for name, fn in functions.items()}

    @property
    def functions(self) -> dict[str, FunctionDef]:
        return {name: p.fn for name, p in self._procs.items()}

    def _get(self, name: str) -> _Process:
        try:
            return self._procs[name]
        except KeyError:
            raise UnknownFunction(name) from None

    def start(self, *names: str) -> None:
        """Start the named functions' processes now (all when none named)."""
        for name in names or tuple(self._procs):
            proc = self._get(name)
            with proc.lock:
                proc.ensure_started()

    def stop(self) -> None:
        """Stop every function process (process groups, then sockets)."""
        for proc in self._procs.values():
            proc.kill()

    def kill(self, name: str) -> None:
        """Kill one function's process (it restarts on the next call)."""
        self._get(name).kill()

    def pid(self, name: str) -> int | None:
        proc = self._get(name)
        return proc.proc.pid if proc.proc is not None and proc.alive() else None

    def invoke(
        self,
        name: str,
        body: bytes,
        content_type: str = "application/json",
        http: HttpRequest | None = None,
        timeout: float | None = None,
    ) -> InvokeResult:
        """Call function ``name`` once; raise :class:`InvocationError` if it never answers."""
        proc = self._get(name)
        limit = timeout if timeout is not None else proc.fn.timeout_seconds
        with proc.lock:
            proc.calls += 1
            try:
                proc.ensure_started()
            except InvocationError:
                proc.failures += 1
                raise
            listener = str(proc.listener)
            pid = proc.proc.pid if proc.proc is not None else None
        call_id = uuid.uuid4().hex
        headers = {
            "Fn-Call-Id": call_id,
            "Fn-Deadline": _rfc3339(datetime.now(UTC) + timedelta(seconds=limit)),
            "Content-Type": content_type,
            "Content-Length": str(len(body)),
        }
        if http is not None:
            headers["Fn-Intent"] = "httprequest"
            headers["Fn-Http-Method"] = http.method
            headers["Fn-Http-Request-Url"] = http.url
        conn = _UnixHTTPConnection(listener, timeout=limit)
        try:
            conn.putrequest("POST", "/call", skip_accept_encoding=True)
            for key, value in headers.items():
                conn.putheader(key, value)
            if http is not None:
                for key, value in http.headers:
                    if key.lower() in ("content-length", "transfer-encoding", "connection"):
                        continue
                    conn.putheader(f"Fn-Http-H-{key}", value)
            conn.endheaders(body)
            response = conn.getresponse()
            raw_headers = [(k.lower(), v) for k, v in response.getheaders()]
            payload = response.read()
        except TimeoutError:
            self._discard(proc, pid)
            raise FunctionTimeout(f"function {name} did not answer within {limit:g}s") from None
        except (OSError, httpclient.HTTPException) as exc:
            self._discard(proc, pid)
            raise InvocationError(f"function {name} failed before answering: {exc!r}") from None
        finally:
            conn.close()
        result = _result(response.status, raw_headers, payload, call_id, http is not None)
        if not result.ok:
            with proc.lock:
                proc.failures += 1
        return result

    def _discard(self, proc: _Process, pid: int | None) -> None:
        """Count the failure; kill the process that failed, unless it was already replaced."""
        with proc.lock:
            proc.failures += 1
            if proc.proc is not None and proc.proc.pid == pid:
                proc._reap(force=True)

    def status(self) -> list[FunctionState]:
        out = []
        for name, proc in self._procs.items():
            alive = proc.alive()
            out.append(FunctionState(
                name=name, stage=proc.fn.stage.value if proc.fn.stage else None,
                running=alive, pid=proc.proc.pid if alive and proc.proc else None,
                starts=proc.starts, calls=proc.calls, failures=proc.failures,
                log_file=str(proc.log_path)))
        return out

    def __enter__(self) -> FunctionRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _result(fdk_status: int, raw: list[tuple[str, str]], body: bytes, call_id: str,
            http_intent: bool) -> InvokeResult:
    headers: dict[str, str] = {}
    status = fdk_status
    if http_intent:
        for key, value in raw:
            if key == "fn-http-status":
                with contextlib.suppress(ValueError):
                    status = int(value)
            elif key.startswith(FN_HTTP_PREFIX):
                name = key[len(FN_HTTP_PREFIX):]
                headers[name] = f"{headers[name]}, {value}" if name in headers else value
            elif key == "content-type":
                headers.setdefault("content-type", value)
    else:
        headers = dict(raw)
    return InvokeResult(fdk_status=fdk_status, status=status, headers=headers, body=body,
                        call_id=call_id)
