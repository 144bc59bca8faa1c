"""The local target: emulator + event router + fdk function runner + gateway + watch ticks.

``LocalTarget`` composes the whole offline pipeline under one state directory:

* the OCI-compatible emulator (``deploy.local.emulator``) on 127.0.0.1, whose
  Object Storage events feed the router;
* the router (rules from ``events/*.json``) delivering to the stage functions;
* the function runner serving ``functions/handler.py`` through the real fdk,
  warm processes per stage (a pool, see ``deploy.local.instances``), configured like the
  OCI deployment;
* the gateway exposing ``POST /infer`` (HTTP intent) and nothing else;
* the watch ticker, calling the ``watch`` function every ``watch_interval``
  seconds with :func:`watch_tick_body`.

``<state_dir>/target.json`` (:class:`TargetInfo`) tells other processes (the
``upload`` command, the project CLI) where the running target listens.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from pydantic import BaseModel

from deploy.local.emulator.iam.engine import Principal
from deploy.local.emulator.iam.principals import function_ocid
from deploy.local.functions import (
    INFER_PATH,
    FunctionDef,
    pipeline_functions,
)
from deploy.local.gateway import Gateway, GatewayRoute
from deploy.local.info import (
    DEFAULT_STATE_DIR,
    INFO_FILE,
    TargetInfo,
    TargetNotRunning,
    read_info,
    running_info,
)
from deploy.local.invocations import (
    EVENTS,
    InvokeGuard,
    gateway_principal,
    schedule_principal,
)
from deploy.local.lock import TargetLock
from deploy.local.orphans import clean_stale
from deploy.local.outcomes import StageOutcome, dataset_of, event_object, from_answer
from deploy.local.policies import STAGE_FILES, render, stage_dynamic_group
from deploy.local.private import (
    acquire_private_umask,
    make_private_dir,
    release_private_umask,
    tighten,
    write_private,
)
from deploy.local.router import (
    DeliveryFailed,
    DeliveryRecord,
    Router,
    RouterStatus,
    runner_deliver,
)
from deploy.local.rules import default_events_dir, load_rules
from deploy.local.runner import FunctionRunner, FunctionState
from shared.settings import AuthMode, Settings, Stage

log = logging.getLogger("ocift.local.target")

__all__ = ["DEFAULT_STATE_DIR", "INFO_FILE", "LocalTarget", "TargetInfo", "TargetNotRunning",
           "TargetStatus", "read_info", "running_info", "upload_file", "watch_tick_body"]



class TargetStatus(BaseModel):
    """Router queue and function processes of a running target."""

    router: RouterStatus
    functions: list[FunctionState]


def watch_tick_body(now: datetime | None = None) -> bytes:
    """The JSON body of a scheduled watch call.

    ``{"source": "ocift.schedule", "kind": "watch-tick", "time": "<RFC 3339 UTC>"}``
    -- what the watch stage accepts from the local ticker (on OCI, the same body
    comes from a scheduled invocation).
    """
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return json.dumps({
        "source": "ocift.schedule",
        "kind": "watch-tick",
        "time": moment.isoformat(timespec="seconds").replace("+00:00", "Z"),
    }).encode()


def upload_file(info: TargetInfo, path: str | Path, object_name: str) -> str:
    """Put ``path`` into the target's bucket through the real oci SDK; return the ETag."""
    import oci

    config = oci.config.from_file(info.config_file, info.profile)
    client = oci.object_storage.ObjectStorageClient(
        config, service_endpoint=info.emulator_endpoint)
    with open(path, "rb") as body:
        response = client.put_object(info.namespace, info.bucket, object_name, body)
    return str(response.headers.get("etag", ""))


class LocalTarget:
    """The whole pipeline on one machine; see the module docstring."""

    def __init__(
        self,
        state_dir: str | Path = DEFAULT_STATE_DIR,
        bucket: str = "ocift-datasets",
        emulator_port: int = 0,
        gateway_port: int = 0,
        watch_interval: float = 5.0,
        duplicate_deliveries: bool = False,
        max_attempts: int = 5,
        backoff_base: float = 1.0,
        workers: int = 4,
        echo_logs: bool = False,
        settings_overrides: Mapping[str, str] | None = None,
        timeouts: Mapping[Stage, float] | None = None,
        faults: Any = None,
        events_dir: str | Path | None = None,
        max_request_bytes: int | None = None,
        start_functions: bool = False,
        function_overrides: Mapping[str, FunctionDef] | None = None,
        iam_dir: str | Path | None = None,
        instances: Mapping[Stage, int] | None = None,
        max_queued: int | None = None,
        on_outcome: Callable[[StageOutcome], None] | None = None,
        function_site: str | Path | None = None,
    ) -> None:
        self.state_dir = Path(state_dir).resolve()
        self.bucket = bucket
        self.emulator_port = emulator_port
        self.gateway_port = gateway_port
        self.watch_interval = watch_interval
        self.echo_logs = echo_logs
        self.settings_overrides = dict(settings_overrides or {})
        self.timeouts = dict(timeouts or {})
        self.faults = faults
        self.max_request_bytes = max_request_bytes
        self.start_functions = start_functions
        self.function_overrides = dict(function_overrides or {})
        self.iam_dir = iam_dir
        self.function_site = Path(function_site) if function_site is not None else None
        self.instances = dict(instances or {})
        self.max_queued = max_queued
        #: Called with every function call's result (``ocift up`` prints one line each).
        self.on_outcome = on_outcome
        make_private_dir(self.state_dir)
        rules = load_rules(events_dir or default_events_dir(), bucket)
        # The router exists before the emulator so no event is ever dropped; it
        # persists what it accepts and delivers once started.
        self.router = Router(self.state_dir, rules, self._deliver, workers=workers,
                             max_attempts=max_attempts, backoff_base=backoff_base,
                             duplicate_deliveries=duplicate_deliveries,
                             on_dead_letter=self._dead_lettered)
        self.emulator: Any = None
        self.runner: FunctionRunner | None = None
        self.gateway: Gateway | None = None
        self.invoke_guard: InvokeGuard | None = None  # fn-invocation grants (services.json)
        self._gateway_principal = gateway_principal("")
        self._schedule_principal = schedule_principal("")
        self.info: TargetInfo | None = None
        self._ticker: threading.Thread | None = None
        self._stop_ticks = threading.Event()
        self._stopped = threading.Event()
        self._private = False
        self._settings: Settings | None = None
        self.lock = TargetLock(self.state_dir)
        #: What the last start cleaned up after a crash (processes, socket dirs, uploads).
        self.cleaned: dict[str, int] = {}

    # -- lifecycle ----------------------------------------------------------------

    def start(self) -> LocalTarget:
        from deploy.local.emulator import build_emulator

        try:
            # One target per state directory: a second one is refused, naming the first.
            self.lock.acquire()
            if not self._private:
                acquire_private_umask()
                self._private = True
            tighten(self.state_dir)
            self.cleaned = clean_stale(self.state_dir)
            started = time.time()
            self.emulator = build_emulator(self.state_dir / "emulator", port=self.emulator_port,
                                           on_event=self._on_event, faults=self.faults)
            self.emulator.start()
            self.emulator.objectstorage.ensure_bucket(
                self.emulator.namespace, self.bucket, self.emulator.compartment_id,
                object_events_enabled=True)
            self.cleaned["uploads"] = self._abort_stale_uploads(started)
            settings = self.pipeline_settings()
            self._settings = settings
            functions = pipeline_functions(settings, self.settings_overrides, self.timeouts,
                                           self.instances, self.max_queued)
            functions = self._apply_iam(settings, functions)
            functions.update(self.function_overrides)
            self.runner = FunctionRunner(self.state_dir, functions, echo=self.echo_logs,
                                         site_dir=self.function_site)
            if self.start_functions:
                self.runner.start(*[s.value for s in Stage])
            self.router.start()
            limit = self.max_request_bytes or settings.max_request_bytes
            self.gateway = Gateway(self._invoker(self._gateway_principal),
                                   [GatewayRoute(path=INFER_PATH, function=Stage.INFER.value)],
                                   port=self.gateway_port, max_body_bytes=limit)
            self.gateway.start()
            if self.watch_interval > 0:
                self._stop_ticks.clear()
                self._ticker = threading.Thread(target=self._tick_loop, name="watch-ticker",
                                                daemon=True)
                self._ticker.start()
            self.info = self._write_info()
        except BaseException:
            self.stop()
            raise
        self._stopped.clear()
        log.info("local target up", extra={"emulator": self.info.emulator_endpoint,
                                           "gateway": self.info.gateway_url,
                                           "bucket": self.bucket})
        return self

    def pipeline_settings(self) -> Settings:
        """The configuration every function gets (as on OCI, minus the stage)."""
        endpoint = str(self.emulator.endpoint)
        region = getattr(self.emulator, "region", None) or getattr(
            self.emulator.objectstorage, "region", None)
        return Settings(
            bucket=self.bucket, namespace=self.emulator.namespace,
            compartment_id=self.emulator.compartment_id, region=region,
            auth=AuthMode.CONFIG_FILE, oci_config_file=str(self.emulator.config_file),
            oci_profile=str(getattr(self.emulator, "profile", "DEFAULT")),
            objectstorage_endpoint=endpoint, genai_endpoint=endpoint,
            genai_inference_endpoint=endpoint)

    def iam_values(self, settings: Settings) -> dict[str, str]:
        """The values ``deploy/iam/*.json`` are rendered with (as Terraform passes them)."""
        region = settings.region or ""
        return {
            "compartment_ocid": str(self.emulator.compartment_id),
            "bucket_name": self.bucket,
            "region": region,
            # Stand-ins for resources the local target has no emulated API for.
            "gateway_ocid": f"ocid1.apigateway.oc1.{region}.aaaaaaaaocift1oca1gateway",
            "schedule_ocid": f"ocid1.resourceschedule.oc1.{region}.aaaaaaaaocift1oca1watch",
            **{f"{stage}_function_ocid": function_ocid(f"fn-{stage}", region)
               for stage in STAGE_FILES},
            "bucket_kms_key_ocid": "",
            "notification_topic_ocid": self.settings_overrides.get(
                "OCIFT_NOTIFICATION_TOPIC_ID", settings.notification_topic_id or ""),
        }

    def _apply_iam(self, settings: Settings,
                   functions: dict[str, FunctionDef]) -> dict[str, FunctionDef]:
        """Enforce the rendered statements and give each stage function its own principal.

        Each stage signs with its own key as an ``fnfunc`` resource in its dynamic group
        (its resource principal on OCI). A statement that does not parse fails start.
        """
        pipeline = self.settings_overrides.get("OCIFT_PIPELINE_NAME", settings.pipeline_name)
        groups = {stage: stage_dynamic_group(pipeline, stage) for stage in STAGE_FILES}
        values = self.iam_values(settings)
        rendered = render(values, groups, self.iam_dir)
        self.emulator.set_policy([s for stmts in rendered.values() for s in stmts])
        self.invoke_guard = InvokeGuard(
            rendered["services"], self.emulator.tenancy_id, str(self.emulator.compartment_id),
            {stage: values[f"{stage}_function_ocid"] for stage in STAGE_FILES})
        self._gateway_principal = gateway_principal(values["gateway_ocid"])
        self._schedule_principal = schedule_principal(values["schedule_ocid"])
        out = dict(functions)
        for stage in STAGE_FILES:
            if stage not in out:
                continue
            identity = self.emulator.add_function_principal(f"fn-{stage}", [groups[stage]])
            config = {**out[stage].config, "OCIFT_OCI_CONFIG_FILE": str(identity.config_file),
                      "OCIFT_OCI_PROFILE": identity.profile}
            out[stage] = out[stage].model_copy(update={"config": config})
        return out

    def stop(self) -> None:
        """Stop everything; no function process outlives this call."""
        self._stop_ticks.set()
        if self._ticker is not None:
            self._ticker.join(10)
            self._ticker = None
        if self.gateway is not None:
            self.gateway.stop()
            self.gateway = None
        self.router.signal_stop()
        if self.runner is not None:
            self.runner.stop()  # unblocks in-flight deliveries; they stay queued
        self.router.stop()
        if self.runner is not None:
            self.runner.stop()
        if self.emulator is not None:
            self.emulator.stop()
            self.emulator = None
        if self._private:
            release_private_umask()
            self._private = False
        self.lock.release()
        self._stopped.set()

    def __enter__(self) -> LocalTarget:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def run_forever(self) -> None:
        """Serve until Ctrl-C or SIGTERM, then stop cleanly."""
        previous = signal.getsignal(signal.SIGTERM)

        def on_term(signum: int, frame: FrameType | None) -> None:
            raise KeyboardInterrupt

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, on_term)
        try:
            if self.info is None:
                self.start()
            while not self._stopped.wait(1.0):
                pass
        except KeyboardInterrupt:
            log.info("stopping local target")
        finally:
            self.stop()
            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGTERM, previous)

    # -- helpers --------------------------------------------------------------------

    def upload(self, path: str | Path, object_name: str | None = None) -> str:
        """Put a local file into the bucket (as a user would); return its ETag."""
        if self.info is None:
            raise RuntimeError("the target is not started")
        name = object_name or f"raw/{Path(path).name}"
        return upload_file(self.info, path, name)

    def status(self) -> TargetStatus:
        return TargetStatus(router=self.router.status(),
                            functions=self.runner.status() if self.runner else [])

    def wait_idle(self, timeout: float = 120.0) -> bool:
        """Block until the router has nothing queued or in flight."""
        return self.router.wait_idle(timeout)

    # -- internals --------------------------------------------------------------------

    def _abort_stale_uploads(self, started: float) -> int:
        """Abort multipart uploads a previous run left uncommitted; return how many.

        Every writer of such an upload died with that run, so none can ever commit
        it. OCI leaves them to the bucket's lifecycle ABORT rule
        (``deploy/oci/storage.tf``, 2 days;
        https://docs.oracle.com/en-us/iaas/Content/Object/Tasks/usinglifecyclepolicies.htm);
        the local target applies it at once, before any function can start an upload.
        """
        store = self.emulator.objectstorage
        namespace = self.emulator.namespace
        aborted = 0
        for bucket in store.list_buckets(namespace):
            gone = store.abort_uploads_created_before(namespace, bucket.name, started)
            if gone:
                log.info("aborted uncommitted multipart uploads of a previous run",
                         extra={"bucket": bucket.name, "uploads": len(gone)})
            aborted += len(gone)
        return aborted

    def _on_event(self, event: dict[str, Any]) -> None:
        self.router.submit(event)

    def _invoker(self, caller: Principal) -> Callable[..., Any]:
        """The runner's invoke as ``caller`` (API Gateway, Resource Scheduler) calls it:
        checked against the deployed ``fn-invocation`` grants first."""
        assert self.runner is not None
        if self.invoke_guard is None:
            return self.runner.invoke
        return self.invoke_guard.guarded(caller, self.runner.invoke)

    def _deliver(self, function: str, body: bytes) -> None:
        if self.runner is None:
            raise RuntimeError("function runner not started")
        if self.invoke_guard is not None:
            self.invoke_guard.check(EVENTS, function)  # Events' own grant (services.json)
        if self.on_outcome is None:
            runner_deliver(self.runner.invoke)(function, body)
            return
        started = time.monotonic()
        try:
            result = self.runner.invoke(function, body)
        except Exception as exc:
            self._report(function, body, "failed", f"{type(exc).__name__}: {exc}", started)
            raise
        if not result.ok:
            snippet = bytes(result.body[:300]).decode("utf-8", "replace")
            self._report(function, body, "failed",
                         f"answered {result.fdk_status}: {snippet}", started)
            raise DeliveryFailed(f"function {function} answered {result.fdk_status}: {snippet}")
        outcome, reason = from_answer(function, result.body)
        self._report(function, body, outcome, reason, started)

    def _report(self, function: str, body: bytes, outcome: str, reason: str,
                started: float) -> None:
        if self.on_outcome is None:
            return
        name = event_object(body)
        settings = self._settings
        try:
            self.on_outcome(StageOutcome(
                stage=function, object_name=name,
                dataset=dataset_of(settings, name) if settings else None, outcome=outcome,
                reason=reason, elapsed_s=time.monotonic() - started, at=datetime.now()))
        except Exception:  # a printing callback never breaks a delivery
            log.exception("outcome callback failed")

    def _dead_lettered(self, record: DeliveryRecord) -> None:
        if self.on_outcome is None:
            return
        settings = self._settings
        self.on_outcome(StageOutcome(
            stage=record.function, object_name=record.resource_name,
            dataset=dataset_of(settings, record.resource_name) if settings else None,
            outcome="dead-lettered", attempt=record.attempts,
            reason=f"{record.last_error or ''} -- see `ocift status`, retry with "
                   "`ocift redrive`", at=datetime.now()))

    def _tick_loop(self) -> None:
        while not self._stop_ticks.wait(self.watch_interval):
            if self.runner is None:
                continue
            body = watch_tick_body()
            started = time.monotonic()
            try:
                result = self._invoker(self._schedule_principal)(Stage.WATCH.value, body)
            except Exception as exc:
                log.warning("watch tick failed", extra={"error": str(exc)})
                self._report(Stage.WATCH.value, body, "failed", str(exc), started)
                continue
            if not result.ok:
                log.warning("watch tick answered %s", result.fdk_status)
                self._report(Stage.WATCH.value, body, "failed",
                             f"answered {result.fdk_status}", started)
                continue
            outcome, reason = from_answer(Stage.WATCH.value, result.body)
            self._report(Stage.WATCH.value, body, outcome, reason, started)

    def _write_info(self) -> TargetInfo:
        assert self.gateway is not None
        info = TargetInfo(
            state_dir=str(self.state_dir), emulator_endpoint=str(self.emulator.endpoint),
            gateway_url=self.gateway.url, config_file=str(self.emulator.config_file),
            profile=str(getattr(self.emulator, "profile", "DEFAULT")),
            namespace=self.emulator.namespace, compartment_id=self.emulator.compartment_id,
            bucket=self.bucket, region=self.pipeline_settings().region, pid=os.getpid(),
            started_at=datetime.now(UTC).isoformat(timespec="seconds"))
        write_private(self.state_dir / INFO_FILE, info.model_dump_json(indent=2))
        return info

