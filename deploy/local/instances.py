"""Warm fdk processes of one function, each serving one call at a time, as Fn's hot containers.

fdk runs a synchronous handler on its event loop, so one process answers one
call at a time; calls piled onto its socket only wait in the kernel's backlog
(100 in fdk) and are refused with ``EAGAIN`` beyond it. So, like Fn, the pool
gives each call an instance of its own: an idle one, else a new one while
fewer than ``max_instances`` exist, else the call waits in the pool's queue
until one frees up. A call that cannot get an instance within its queue
deadline, or arrives while ``max_queued`` calls already wait, fails with
:class:`FunctionBusy` (Fn and OCI Functions answer 429 Too Many Requests:
https://docs.oracle.com/en-us/iaas/Content/Functions/Reference/functionsmetrics.htm
counts those "throttled function invocations").

An instance is declared dead only when it is: its process has exited, or a
call ran past the function's timeout (Fn discards that container). A refused
connect to a live process is retried and never kills it.

:meth:`InstancePool.stop` fails every call that began before it: an in-flight call's
process is killed (its socket closes), and a call whose process was still starting,
or that still waited for one, gets :class:`InvocationError` instead of being served
by a process nobody would stop.
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
from pathlib import Path
from typing import IO, TYPE_CHECKING

from deploy.local.fncall import (
    ConnectFailed,
    FunctionBusy,
    FunctionTimeout,
    HttpRequest,
    InvocationError,
    InvokeResult,
    Unanswered,
    connect,
    encode_call,
    exchange,
    result_of,
)
from deploy.local.functions import FunctionDef
from deploy.local.orphans import SOCKET_DIR_PREFIX, new_record, process_start_time

if TYPE_CHECKING:
    from deploy.local.runner import FunctionRunner

log = logging.getLogger("ocift.local.runner")

#: Connect attempts to a live process whose socket refuses, and the first pause between them.
CONNECT_ATTEMPTS = 6
CONNECT_BACKOFF = 0.02
#: How long a process that broke a call may take to exit before it counts as alive.
EXIT_GRACE_SECONDS = 1.0
#: A connection to fdk carries the next call while it is hot (no connect and accept a
#: call: about 0.1 ms of the local function path, bench/infer_bench.py). fdk-python
#: 0.1.128 reads a clock its server never updates (``fdk.async_http.protocol.current_time``
#: stays None), so a connection idle past its 75 s keep-alive timeout makes the process
#: spin a CPU, and its request timer would raise at 60 s of a connection's life. None is
#: left idle past KEEP_IDLE_SECONDS (the runner's closer shuts it:
#: ``FunctionRunner.keep_idle``) or used past KEEP_MAX_AGE_SECONDS.
KEEP_IDLE_SECONDS = 1.0
KEEP_MAX_AGE_SECONDS = 30.0


class Instance:
    """One fdk process of one function."""

    def __init__(self, fn: FunctionDef, runner: FunctionRunner) -> None:
        self.fn = fn
        self.runner = runner
        self.lock = threading.Lock()
        self.proc: subprocess.Popen[bytes] | None = None
        self.socket_dir: Path | None = None
        self._pump: threading.Thread | None = None
        #: The connection kept for the next call, when it was opened and last answered on.
        #: Only the instance's owner (the caller between acquire and release) or, while it
        #: is idle, the pool under its lock touches it.
        self._kept: socket.socket | None = None
        self._kept_opened = 0.0
        self._kept_used = 0.0

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    @property
    def listener(self) -> Path:
        assert self.socket_dir is not None
        return self.socket_dir / "lsnr.sock"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def kept(self) -> socket.socket | None:
        """The connection kept for the next call, if any."""
        return self._kept

    def start(self) -> None:
        """Start the process and wait for its socket; raise :class:`InvocationError`."""
        runner = self.runner
        self.socket_dir = Path(tempfile.mkdtemp(prefix=SOCKET_DIR_PREFIX))
        record = new_record(self.fn.name, self.socket_dir)
        runner.registry.record(record)
        runner.logs_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        cmd = runner.command(self.fn)
        env = runner.environment(self.fn, self.listener)
        try:
            self.proc = runner.spawner.popen(
                cmd, env=env, cwd=str(runner.repo_root), stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        except OSError as exc:
            self.reap()
            raise InvocationError(f"function {self.fn.name} could not start: {exc}") from None
        runner.registry.record(record.model_copy(update={
            "pid": self.proc.pid, "started": process_start_time(self.proc.pid)}))
        assert self.proc.stdout is not None
        self._pump = threading.Thread(target=self._copy_output, args=(self.proc.stdout,),
                                      name=f"fn-log-{self.fn.name}", daemon=True)
        self._pump.start()
        deadline = time.monotonic() + runner.start_timeout
        while not self.listener.is_symlink():
            if self.proc.poll() is not None:
                code = self.proc.returncode
                self.reap()
                raise InvocationError(f"function {self.fn.name} exited with code {code} while "
                                      f"starting; see {runner.log_path(self.fn.name)}")
            if time.monotonic() > deadline:
                self.reap()
                raise InvocationError(
                    f"function {self.fn.name} did not open its socket within "
                    f"{runner.start_timeout:.0f}s; see {runner.log_path(self.fn.name)}")
            time.sleep(0.01)
        log.info("function started", extra={"function": self.fn.name, "pid": self.proc.pid})

    def _copy_output(self, stream: IO[bytes]) -> None:
        path = self.runner.log_path(self.fn.name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "ab") as sink:
            for line in iter(stream.readline, b""):
                sink.write(line)
                sink.flush()
                if self.runner.echo:
                    text = line.decode("utf-8", "replace").rstrip("\n")
                    print(f"[{self.fn.name}] {text}", file=sys.stderr, flush=True)

    def call(self, body: bytes, content_type: str, http: HttpRequest | None,
             timeout: float) -> InvokeResult:
        """One call; the caller owns this instance for its duration. It goes on the kept
        connection when there is one, else on a new one (kept for the next call if fdk
        allows); a kept connection fdk closed before reading the call is replaced."""
        call = encode_call(body, content_type, http, timeout)
        sock, opened = self._take_kept()
        if sock is not None:
            try:
                answer = exchange(sock, call, timeout, reused=True)
            except Unanswered:
                sock.close()
                if not self.alive():
                    raise
                sock = None
            except BaseException:
                sock.close()
                raise
        if sock is None:
            sock, opened = self._connect(timeout), time.monotonic()
            try:
                answer = exchange(sock, call, timeout, reused=False)
            except BaseException:
                sock.close()
                raise
        self._keep(sock, answer.keep_alive, opened)
        return result_of(call, answer)

    def _connect(self, timeout: float) -> socket.socket:
        listener = str(self.listener)
        pause = CONNECT_BACKOFF
        for attempt in range(CONNECT_ATTEMPTS):
            try:
                return connect(listener, timeout)
            except ConnectFailed:
                # Nothing was sent: a live process that refused is busy or still binding,
                # not dead. Retry; only a process that has exited is dead.
                if not self.alive() or attempt == CONNECT_ATTEMPTS - 1:
                    raise
                time.sleep(pause)
                pause *= 2
        raise AssertionError("unreachable")

    def _take_kept(self) -> tuple[socket.socket | None, float]:
        """The kept connection and when it was opened, unless it is too old (then closed)."""
        sock, self._kept = self._kept, None
        if sock is not None and time.monotonic() - self._kept_opened > KEEP_MAX_AGE_SECONDS:
            sock.close()
            sock = None
        return sock, self._kept_opened

    def _keep(self, sock: socket.socket, keep_alive: bool, opened: float) -> None:
        if not keep_alive:
            sock.close()
            return
        self._kept, self._kept_opened, self._kept_used = sock, opened, time.monotonic()
        self.runner.watch_idle()

    def close_idle(self, now: float, idle: float = KEEP_IDLE_SECONDS) -> None:
        """Close the kept connection when unused for ``idle`` s (the instance is idle and
        the pool's lock is held)."""
        if self._kept is not None and now - self._kept_used >= idle:
            self._kept.close()
            self._kept = None

    def exited(self, grace: float = EXIT_GRACE_SECONDS) -> bool:
        """True when the process has exited (waiting up to ``grace`` s for it to finish)."""
        proc = self.proc
        if proc is None:
            return True
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            return False
        return True

    def reap(self, force: bool = False) -> None:
        """Stop the process group (SIGTERM, or SIGKILL when ``force``), drop socket and record."""
        with self.lock:
            kept, self._kept = self._kept, None
            if kept is not None:
                kept.close()
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
                self.runner.registry.forget(self.socket_dir)
                self.socket_dir = None


class InstancePool:
    """The instances of one function and the queue of calls waiting for one."""

    def __init__(self, fn: FunctionDef, runner: FunctionRunner) -> None:
        self.fn = fn
        self.runner = runner
        self._cond = threading.Condition()
        self._idle: list[Instance] = []  # most recently used last (reused first: stays warm)
        self._all: list[Instance] = []
        self._starting = 0
        self._waiting = 0
        #: Bumped by :meth:`stop`: a call that began before it never gets an instance after.
        self._generation = 0
        self.starts = 0
        self.calls = 0
        self.failures = 0
        self.rejected = 0

    # -- views ----------------------------------------------------------------------------

    def live(self) -> list[Instance]:
        with self._cond:
            return [i for i in self._all if i.alive()]

    def newest_idle_pid(self) -> int | None:
        with self._cond:
            for inst in reversed(self._idle):
                if inst.alive():
                    return inst.pid
            for inst in self._all:
                if inst.alive():
                    return inst.pid
        return None

    # -- taking and giving back -------------------------------------------------------------

    def acquire(self, wait: float) -> Instance:
        """An instance for one call: idle, new (below the limit), or freed within ``wait`` s."""
        deadline = time.monotonic() + wait
        dead: list[Instance] = []
        with self._cond:
            generation = self._generation
            self.calls += 1
            if (not self._idle and len(self._all) + self._starting >= self.fn.max_instances
                    and self._waiting >= self.fn.max_queued):
                self.rejected += 1
                raise FunctionBusy(f"function {self.fn.name} is at its concurrency limit "
                                   f"({self.fn.max_instances} instances, {self.fn.max_queued} "
                                   "queued calls); retry later")
            self._waiting += 1
            try:
                found = self._wait_for_instance(deadline, dead, generation)
            finally:
                self._waiting -= 1
        for inst in dead:
            inst.reap()
        if found is not None:
            return found
        return self._start_new(generation)

    def _stopped_since(self, generation: int) -> None:
        """Under the lock: raise when :meth:`stop` ran after the call began."""
        if generation != self._generation:
            raise InvocationError(f"function {self.fn.name} was stopped before the call ran")

    def _wait_for_instance(self, deadline: float, dead: list[Instance],
                           generation: int) -> Instance | None:
        """Under the lock: an idle live instance, or None when the caller may start one."""
        while True:
            self._stopped_since(generation)
            while self._idle:
                inst = self._idle.pop()
                if inst.alive():
                    return inst
                self._all.remove(inst)
                dead.append(inst)
            if len(self._all) + self._starting < self.fn.max_instances:
                self._starting += 1
                return None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.rejected += 1
                raise FunctionBusy(f"function {self.fn.name}: no instance became free within "
                                   f"the queue deadline; retry later")
            self._cond.wait(remaining)

    def _start_new(self, generation: int) -> Instance:
        inst = Instance(self.fn, self.runner)
        try:
            inst.start()
        except BaseException:
            with self._cond:
                self._starting -= 1
                self.failures += 1
                self._cond.notify()
            raise
        with self._cond:
            self._starting -= 1
            self.starts += 1
            stale = generation != self._generation
            if not stale:
                self._all.append(inst)
            self._cond.notify()
        if stale:  # stop() ran while it started: it would serve a call nobody can cancel
            inst.reap(force=True)
            raise InvocationError(f"function {self.fn.name} was stopped while it started")
        return inst

    def release(self, inst: Instance, discard: bool) -> None:
        """Give ``inst`` back, or drop it (reaped) when it is dead or must be discarded."""
        if discard or not inst.alive():
            inst.reap(force=True)
            with self._cond:
                if inst in self._all:
                    self._all.remove(inst)
                self._cond.notify()
            return
        with self._cond:
            self._idle.append(inst)
            self._cond.notify()

    def count_failure(self) -> None:
        with self._cond:
            self.failures += 1

    def close_idle_connections(self, now: float, idle: float = KEEP_IDLE_SECONDS) -> None:
        """Close the kept connections of idle instances unused for ``idle`` s."""
        with self._cond:
            for inst in self._idle:
                inst.close_idle(now, idle)

    # -- warm start and stop -----------------------------------------------------------------

    def ensure_one(self) -> None:
        """At least one live instance (started now if none is)."""
        if self.live():
            return
        inst = self.acquire(self.fn.timeout_seconds)
        self.release(inst, discard=False)

    def stop(self) -> None:
        """Reap every instance (in-flight calls fail and their callers drop them)."""
        with self._cond:
            self._generation += 1
            everything = list(self._all)
            self._idle.clear()
            self._all.clear()
            self._cond.notify_all()
        for inst in everything:
            inst.reap()


def invoke_on(pool: InstancePool, body: bytes, content_type: str, http: HttpRequest | None,
              timeout: float) -> InvokeResult:
    """Run one call on an instance of ``pool``; see the module docstring for the rules."""
    wait = min(pool.fn.queue_timeout_seconds or timeout, timeout)
    inst = pool.acquire(wait)
    discard = False
    try:
        result = inst.call(body, content_type, http, timeout)
    except TimeoutError:
        discard = True  # Fn discards a container whose call ran past its timeout
        pool.count_failure()
        raise FunctionTimeout(f"function {pool.fn.name} did not answer within {timeout:g}s"
                              ) from None
    except (OSError, httpclient.HTTPException, ConnectFailed) as exc:
        pool.count_failure()
        discard = inst.exited()
        raise InvocationError(f"function {pool.fn.name} failed before answering: {exc!r}"
                              ) from None
    finally:
        pool.release(inst, discard)
    if not result.ok:
        pool.count_failure()
    return result
