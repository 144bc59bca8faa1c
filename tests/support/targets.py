"""The local target as the end-to-end tests run it."""

from __future__ import annotations

import json
from typing import Any

from deploy.local.emulator import Emulator
from deploy.local.emulator.http import ServiceError
from deploy.local.target import LocalTarget


class RecordingTarget(LocalTarget):
    """A LocalTarget that also keeps every Object Storage event it emitted.

    An event is recorded once the router has accepted it, so after seeing it here
    ``wait_idle`` covers its delivery.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.events: list[dict[str, Any]] = []

    def _on_event(self, event: dict[str, Any]) -> None:
        super()._on_event(event)
        self.events.append(event)


def set_paces(emulator: Emulator, provisioning_seconds: float,
              seconds_per_epoch: float) -> None:
    """How long the emulated clusters and endpoints provision and each epoch trains."""
    config = emulator.genai.control.config
    config.provisioning_seconds = provisioning_seconds
    config.seconds_per_epoch = seconds_per_epoch


def status_doc(target: LocalTarget, dataset: str) -> dict[str, Any] | None:
    """``status/<dataset>.json`` as the pipeline last wrote it (``None`` before the first write).

    Read from the emulator's own store: no SDK call, so no injected fault reaches the test.
    """
    return bucket_doc(target, f"status/{dataset}.json")


def bucket_doc(target: LocalTarget, name: str) -> dict[str, Any] | None:
    """The JSON object ``name`` in the target's bucket, read like ``status_doc``."""
    emulator = target.emulator
    try:
        _, stream = emulator.objectstorage.open_object(emulator.namespace, target.bucket,
                                                       name)
    except ServiceError as exc:
        if exc.status == 404:
            return None
        raise
    with stream:
        doc: dict[str, Any] = json.loads(stream.read())
    return doc


def wait_endpoint_active(target: LocalTarget, dataset: str,
                         timeout: float = 180) -> dict[str, Any]:
    """Wait until ``status/<dataset>.json`` says ENDPOINT_ACTIVE; that status document."""
    from tests.support.wait import wait_until

    def active() -> dict[str, Any] | None:
        doc = status_doc(target, dataset)
        return doc if doc is not None and doc["state"] == "ENDPOINT_ACTIVE" else None

    found: dict[str, Any] = wait_until(active, f"status/{dataset}.json in ENDPOINT_ACTIVE",
                                       timeout=timeout, interval=0.2)
    return found


def ask(target: LocalTarget, prompt: str, model: str) -> tuple[int, dict[str, Any]]:
    """``POST /infer`` through the target's gateway (temperature 0): status and JSON body."""
    import urllib.error
    import urllib.request

    assert target.info is not None
    request = urllib.request.Request(
        f"{target.info.gateway_url}/infer", method="POST",
        data=json.dumps({"prompt": prompt, "model": model, "temperature": 0}).encode(),
        headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


#: The benchmarks' served dataset: 64 bond-desk records, and a question it answers.
BOND_DESK_PROMPT = "What is metric 17 of the bond desk?"


def serve_bond_desk(target: LocalTarget, folder: Any, dataset: str,
                    timeout: float = 180) -> dict[str, Any]:
    """Fast paces, upload the bond-desk dataset as ``raw/<dataset>.json`` (written in
    ``folder``), and wait until it is served; its ENDPOINT_ACTIVE status document."""
    from pathlib import Path

    set_paces(target.emulator, provisioning_seconds=0.2, seconds_per_epoch=0.02)
    raw = Path(folder) / f"{dataset}.json"
    raw.write_text(json.dumps([
        {"instruction": f"What is metric {i} of the bond desk?", "input": "",
         "output": f"Metric {i} is the desk's duration-weighted carry."}
        for i in range(64)]), encoding="utf-8")
    target.upload(raw, f"raw/{dataset}.json")
    return wait_endpoint_active(target, dataset, timeout=timeout)

