"""At-least-once event router: OCI Events rules -> functions, with a persistent queue.

``submit(event)`` (the emulator's ``on_event``) matches the CloudEvent against
the rules and writes one delivery record per matching rule under
``<state_dir>/router/queue/`` before returning; it never calls a function, so
the emulator's request thread is not held. A worker pool delivers records and
deletes them on success (a 2xx from fdk). A failed attempt (fdk 502/504, the
process dying, a timeout) is retried with exponential backoff and jitter;
after ``max_attempts`` the record moves to ``deadletter.jsonl``. Records
survive a restart: a new router resumes whatever the old one accepted, and
attempts it at once (the backoff does not carry over a restart).

``duplicate_deliveries=True`` delivers every matching event twice (two
independent records), so stage idempotency can be tested.
"""

from __future__ import annotations

import contextlib
import fcntl
import heapq
import json
import logging
import os
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from deploy.local.private import append_private, make_private_dir, write_private
from deploy.local.rules import Rule, matching_rules

log = logging.getLogger("ocift.local.router")


class DeliveryFailed(RuntimeError):
    """A delivery attempt failed; the message is recorded as ``last_error``."""


#: Delivers one event body to a function; raise (any exception) on failure.
Deliver = Callable[[str, bytes], None]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Delivery(BaseModel):
    """One event on its way to one function (one file in the queue)."""

    delivery_id: str
    event_id: str
    event_type: str | None = None
    resource_name: str | None = None
    rule: str
    function: str
    event: dict[str, Any]
    attempts: int = 0
    last_error: str | None = None
    accepted_at: str = Field(default_factory=_now)
    next_attempt_at: float = 0.0  # wall clock, seconds


class DeliveryRecord(BaseModel):
    """A finished delivery (delivered or dead-lettered), as logged in JSON lines."""

    delivery_id: str
    event_id: str
    resource_name: str | None = None
    rule: str
    function: str
    attempts: int
    last_error: str | None = None
    finished_at: str
    event: dict[str, Any] | None = None  # kept for dead letters, so they can be redriven


class RouterStatus(BaseModel):
    """What the router holds and has done (read from its state directory)."""

    pending: list[Delivery]
    delivered: list[DeliveryRecord]
    dead_lettered: list[DeliveryRecord]
    in_flight: int
    pending_count: int
    delivered_count: int
    dead_lettered_count: int
    retried_count: int  # attempts beyond the first, over all deliveries seen


def _read_jsonl(path: Path) -> list[DeliveryRecord]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            with contextlib.suppress(ValueError):
                out.append(DeliveryRecord.model_validate_json(line))
    return out


class Router:
    """Match events against rules and deliver them at least once to functions."""

    def __init__(
        self,
        state_dir: str | Path,
        rules: Sequence[Rule],
        deliver: Deliver,
        workers: int = 4,
        max_attempts: int = 5,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        duplicate_deliveries: bool = False,
        rescan_interval: float = 1.0,
        on_dead_letter: Callable[[DeliveryRecord], None] | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.dir = Path(state_dir) / "router"
        self.queue_dir = self.dir / "queue"
        self.delivered_log = self.dir / "delivered.jsonl"
        self.deadletter_log = self.dir / "deadletter.jsonl"
        make_private_dir(self.dir)
        make_private_dir(self.queue_dir)
        self.rules = list(rules)
        self.deliver = deliver
        self.workers = workers
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.duplicate_deliveries = duplicate_deliveries
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, str]] = []
        self._seq = 0
        self._in_flight = 0
        self._threads: list[threading.Thread] = []
        self._known: set[str] = set()  # queued or in flight in this process
        self.rescan_interval = rescan_interval
        self.on_dead_letter = on_dead_letter
        self._stopping = False
        self._log_lock = threading.Lock()
        self._random = random.Random()  # noqa: S311 - jitter, not security

    # -- intake -----------------------------------------------------------------

    def submit(self, event: Mapping[str, Any]) -> list[str]:
        """Accept an event: persist one delivery per matching rule; return their ids."""
        matches = matching_rules(self.rules, event)
        data = event.get("data") if isinstance(event.get("data"), Mapping) else {}
        ids: list[str] = []
        copies = 2 if self.duplicate_deliveries else 1
        for rule in matches:
            for copy in range(copies):
                delivery = Delivery(
                    delivery_id=f"{int(time.time() * 1000):013d}-{uuid.uuid4().hex[:12]}",
                    event_id=str(event.get("eventID", "")),
                    event_type=event.get("eventType"),
                    resource_name=(data or {}).get("resourceName"),
                    rule=rule.display_name,
                    function=rule.action.function,
                    event=dict(event),
                )
                self._persist(delivery)
                self._schedule(delivery.delivery_id, 0.0, only_new=True)
                ids.append(delivery.delivery_id)
                log.info("event accepted", extra={
                    "event_id": delivery.event_id, "rule": rule.display_name,
                    "function": delivery.function, "object": delivery.resource_name,
                    "copy": copy + 1})
        return ids

    # -- lifecycle ----------------------------------------------------------------

    def start(self) -> None:
        """Resume persisted deliveries and start the worker pool."""
        with self._cond:
            self._stopping = False
        self.rescan()
        for i in range(self.workers):
            thread = threading.Thread(target=self._work, name=f"router-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)
        if self.rescan_interval > 0:
            thread = threading.Thread(target=self._rescan_loop, name="router-scan", daemon=True)
            thread.start()
            self._threads.append(thread)

    def rescan(self) -> int:
        """Schedule queue records this router does not hold yet; return how many.

        Resumed work is due now (a restart is when a fix is most likely in
        place). The running router rescans every ``rescan_interval`` seconds, so
        records written by another process (``redrive``) are picked up.
        """
        found = 0
        for path in sorted(self.queue_dir.glob("*.json")):
            delivery_id = path.stem
            with self._cond:
                if delivery_id in self._known:
                    continue
            try:
                Delivery.model_validate_json(path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                continue
            except ValueError:
                log.warning("unreadable queue record skipped", extra={"file": str(path)})
                continue
            if self._schedule(delivery_id, 0.0, only_new=True):
                found += 1
        return found

    def _rescan_loop(self) -> None:
        while True:
            with self._cond:
                if self._stopping:
                    return
                self._cond.wait(self.rescan_interval)
                if self._stopping:
                    return
            self.rescan()

    def signal_stop(self) -> None:
        """Ask workers to take no new delivery (``stop`` also waits for them)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the workers after their current attempt; queued records stay on disk."""
        self.signal_stop()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []
        with self._cond:
            self._heap = []
            self._known.clear()

    def __enter__(self) -> Router:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until nothing is queued or in flight; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._heap or self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.1))
        return True

    @contextlib.contextmanager
    def _journals(self) -> Iterator[None]:
        """The journals to this thread and process alone: ``ocift redrive`` rewrites the
        dead-letter journal from another process while a running router appends to it."""
        with self._log_lock:
            fd = os.open(self.dir / "journal.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)

    # -- status -------------------------------------------------------------------

    def status(self, recent: int = 100) -> RouterStatus:
        pending = []
        for path in sorted(self.queue_dir.glob("*.json")):
            with contextlib.suppress(ValueError, OSError):
                pending.append(Delivery.model_validate_json(path.read_text(encoding="utf-8")))
        with self._journals():
            delivered = _read_jsonl(self.delivered_log)
            dead = _read_jsonl(self.deadletter_log)
        retried = sum(max(r.attempts - 1, 0) for r in delivered + dead)
        retried += sum(max(d.attempts - 1, 0) for d in pending)
        with self._cond:
            in_flight = self._in_flight
        return RouterStatus(
            pending=pending, delivered=delivered[-recent:], dead_lettered=dead,
            in_flight=in_flight, pending_count=len(pending), delivered_count=len(delivered),
            dead_lettered_count=len(dead), retried_count=retried)

    # -- internals ----------------------------------------------------------------

    def _path(self, delivery_id: str) -> Path:
        return self.queue_dir / f"{delivery_id}.json"

    def _persist(self, delivery: Delivery) -> None:
        path = self._path(delivery.delivery_id)
        write_private(path, delivery.model_dump_json())

    def _schedule(self, delivery_id: str, due: float, only_new: bool = False) -> bool:
        with self._cond:
            if only_new and delivery_id in self._known:
                return False
            self._known.add(delivery_id)
            self._seq += 1
            heapq.heappush(self._heap, (due, self._seq, delivery_id))
            self._cond.notify_all()
            return True

    def _next(self) -> str | None:
        with self._cond:
            while not self._stopping:
                if self._heap:
                    due = self._heap[0][0]
                    wait = due - time.time()
                    if wait <= 0:
                        _, _, delivery_id = heapq.heappop(self._heap)
                        self._in_flight += 1
                        return delivery_id
                    self._cond.wait(min(wait, 1.0))
                else:
                    self._cond.wait(1.0)
            return None

    def _work(self) -> None:
        while True:
            delivery_id = self._next()
            if delivery_id is None:
                return
            try:
                self._attempt(delivery_id)
            except Exception:  # never lose the worker; the record stays queued
                log.exception("router worker error", extra={"delivery_id": delivery_id})
            finally:
                with self._cond:
                    self._in_flight -= 1
                    self._cond.notify_all()

    def backoff(self, attempts: int) -> float:
        """Delay before attempt ``attempts + 1``: exponential step, jittered in [step/2, step]."""
        ceiling = min(self.backoff_max, self.backoff_base * (2 ** (attempts - 1)))
        return float(self._random.uniform(ceiling / 2, ceiling))

    def _attempt(self, delivery_id: str) -> None:
        path = self._path(delivery_id)
        try:
            delivery = Delivery.model_validate_json(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            with self._cond:
                self._known.discard(delivery_id)
            return  # already finished
        delivery.attempts += 1
        self._persist(delivery)  # the attempt counts even if we crash mid-call
        body = json.dumps(delivery.event).encode()
        try:
            self.deliver(delivery.function, body)
        except Exception as exc:
            delivery.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if delivery.attempts >= self.max_attempts:
                record = self._finish(delivery, self.deadletter_log)
                if self.on_dead_letter is not None:
                    with contextlib.suppress(Exception):
                        self.on_dead_letter(record)
                log.error("delivery dead-lettered", extra={
                    "delivery_id": delivery_id, "function": delivery.function,
                    "attempts": delivery.attempts, "error": delivery.last_error})
                return
            delay = self.backoff(delivery.attempts)
            delivery.next_attempt_at = time.time() + delay
            self._persist(delivery)
            log.warning("delivery failed; will retry", extra={
                "delivery_id": delivery_id, "function": delivery.function,
                "attempts": delivery.attempts, "retry_in_s": round(delay, 3),
                "error": delivery.last_error})
            self._schedule(delivery_id, delivery.next_attempt_at)
            return
        self._finish(delivery, self.delivered_log)
        log.info("event delivered", extra={
            "delivery_id": delivery_id, "function": delivery.function,
            "attempts": delivery.attempts})

    def _finish(self, delivery: Delivery, journal: Path) -> DeliveryRecord:
        record = DeliveryRecord(
            delivery_id=delivery.delivery_id, event_id=delivery.event_id,
            resource_name=delivery.resource_name, rule=delivery.rule,
            function=delivery.function, attempts=delivery.attempts,
            last_error=delivery.last_error, finished_at=_now(),
            event=delivery.event if journal == self.deadletter_log else None)
        with self._journals(), append_private(journal) as sink:
            sink.write(record.model_dump_json(exclude_none=True) + "\n")
        self._path(delivery.delivery_id).unlink(missing_ok=True)
        with self._cond:
            self._known.discard(delivery.delivery_id)
        return record

    def redrive(self, delivery_ids: Sequence[str] | None = None) -> list[str]:
        """Queue dead-lettered deliveries again (all, or the given ids) with fresh attempts.

        Works on a running router (its rescan picks them up) or offline (the
        next ``start`` does). Returns the requeued ids.
        """
        wanted = None if delivery_ids is None else set(delivery_ids)
        with self._journals():
            dead = _read_jsonl(self.deadletter_log)
            keep: list[DeliveryRecord] = []
            requeued: list[str] = []
            for record in dead:
                chosen = wanted is None or record.delivery_id in wanted
                if not chosen or record.event is None:
                    keep.append(record)
                    continue
                self._persist(Delivery(
                    delivery_id=record.delivery_id, event_id=record.event_id,
                    event_type=record.event.get("eventType"),
                    resource_name=record.resource_name, rule=record.rule,
                    function=record.function, event=record.event))
                requeued.append(record.delivery_id)
            write_private(self.deadletter_log,
                          "".join(r.model_dump_json(exclude_none=True) + "\n" for r in keep))
        return requeued


def runner_deliver(invoke: Callable[..., Any]) -> Deliver:
    """Adapt ``FunctionRunner.invoke`` into a :data:`Deliver` (non-2xx raises)."""

    def deliver(function: str, body: bytes) -> None:
        result = invoke(function, body)
        if not result.ok:
            snippet = bytes(result.body[:300]).decode("utf-8", "replace")
            raise DeliveryFailed(f"function {function} answered {result.fdk_status}: {snippet}")

    return deliver
