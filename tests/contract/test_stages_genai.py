"""The train/endpoint/watch logic through the real ``oci`` SDK against the emulator.

No router or fdk here (the e2e test covers those): each step is called as the
functions call it, so the SDK's serialisation, retry strategy and error
mapping meet the emulated services.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest

from deploy.local.emulator import Emulator
from shared import caches, clients, genai
from shared.settings import AuthMode, Settings, TrainingMethod
from shared.stages import watch as watcher
from shared.stages.context import StageContext, context_for, read_status
from shared.stages.endpoint import ensure_endpoint
from shared.stages.train import train_dataset, train_handed_over
from tests.support.targets import set_paces
from tests.support.wait import wait_until

pytestmark = pytest.mark.timeout(120)

BUCKET = "stages"


@pytest.fixture
def settings(emulator: Emulator) -> Iterator[Settings]:
    set_paces(emulator, provisioning_seconds=0.2, seconds_per_epoch=0.02)
    emulator.objectstorage.ensure_bucket(emulator.namespace, BUCKET, emulator.compartment_id)
    caches.reset_all()
    yield Settings(
        bucket=BUCKET, namespace=emulator.namespace, compartment_id=emulator.compartment_id,
        region=emulator.region, auth=AuthMode.CONFIG_FILE,
        oci_config_file=str(emulator.config_file), oci_profile=emulator.profile,
        objectstorage_endpoint=emulator.endpoint, genai_endpoint=emulator.endpoint,
        genai_inference_endpoint=emulator.endpoint, retry_max_attempts=8)
    caches.reset_all()


def _drop(ctx: StageContext, dataset: str, n: int = 40) -> str:
    body = "".join(json.dumps({"prompt": f"{dataset} q{i}?", "completion": f"a{i}."}) + "\n"
                   for i in range(n)).encode()
    return ctx.store.put_bytes(f"training/{dataset}.jsonl", body)


def _state(ctx: StageContext, dataset: str) -> str | None:
    got = read_status(ctx, dataset)
    return got[0].state.value if got else None


def _drive(ctx: StageContext, dataset: str, state: str) -> None:
    """Tick, and run the stage a status write hands over to (as its event would), until
    ``dataset`` is in ``state``."""
    def step() -> bool:
        watcher.tick(ctx.settings, ctx=ctx)
        if _state(ctx, dataset) in ("PENDING_CLUSTER", "QUEUED"):
            train_handed_over(ctx, dataset)
        if _state(ctx, dataset) in ("MODEL_ACTIVE", "PENDING_HOSTING_CLUSTER"):
            ensure_endpoint(ctx, dataset)
        return _state(ctx, dataset) == state

    wait_until(step, f"{dataset} -> {state}")


def test_stages_reach_an_active_endpoint_under_throttling_and_5xx(
        emulator: Emulator, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = context_for(settings)
    etag = _drop(ctx, "fin")
    injected: list[int] = []
    real_draw = emulator.faults.draw

    def counting_draw() -> tuple[float, int | None]:
        latency, status = real_draw()
        if status is not None:
            injected.append(status)
        return latency, status

    monkeypatch.setattr(emulator.faults, "draw", counting_draw)
    emulator.faults.update(rate_429=0.06, rate_500=0.04, seed=3, retry_after_s=0)
    outcome = train_dataset(ctx, "fin", etag)
    assert outcome.status.value in ("pending", "done")
    _drive(ctx, "fin", "ENDPOINT_ACTIVE")
    emulator.faults.update(rate_429=0.0, rate_500=0.0)
    assert {429, 500} <= set(injected)  # both kinds really hit the stages
    status = read_status(ctx, "fin")
    assert status is not None
    control = emulator.genai.control
    assert len([m for m in control.list_models(emulator.compartment_id)
                if m["type"] == "CUSTOM"]) == 1
    assert len(control.list_endpoints(emulator.compartment_id)) == 1
    assert status[0].endpoint_id == control.list_endpoints(emulator.compartment_id)[0]["id"]


def test_invalid_hyperparameters_are_a_recorded_rejection(emulator: Emulator,
                                                         settings: Settings) -> None:
    # OCI caps LoRA batch size at 16 for command-r: caught from the family table before any
    # cluster (issue 23), with the documented range; recorded, never retried.
    bad = settings.model_copy(update={"training_method": TrainingMethod.LORA, "batch_size": 32})
    ctx = context_for(bad)
    etag = _drop(ctx, "lora")
    wait_until(lambda: train_dataset(ctx, "lora", etag).status.value != "pending",
               "fine-tuning cluster")
    got = read_status(ctx, "lora")
    assert got is not None and got[0].state.value == "REJECTED"
    assert "OCIFT_BATCH_SIZE=32 is outside 8 to 16" in got[0].reason
    assert ctx.genai.list_dedicated_ai_clusters(settings.compartment_id).data.items == []
    assert train_dataset(ctx, "lora", etag).status.value == "duplicate"


def test_two_watchers_and_repeated_status_writes_make_one_endpoint(
        emulator: Emulator, settings: Settings) -> None:
    ctx = context_for(settings)
    etag = _drop(ctx, "twin")
    wait_until(lambda: train_dataset(ctx, "twin", etag).status.value != "pending", "cluster")
    wait_until(lambda: (watcher.tick(settings, ctx=ctx), _state(ctx, "twin"))[1]
               == "MODEL_ACTIVE", "training")

    def endpoint_twice() -> None:
        # The same status write delivered twice, concurrently.
        threads = [threading.Thread(target=ensure_endpoint, args=(context_for(settings), "twin"))
                   for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def watchers() -> bool:
        threads = [threading.Thread(target=watcher.tick, args=(settings,)) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if _state(ctx, "twin") == "PENDING_HOSTING_CLUSTER":
            endpoint_twice()  # the watchers' status write, delivered twice to the endpoint stage
        return _state(ctx, "twin") == "ENDPOINT_ACTIVE"

    endpoint_twice()
    wait_until(watchers, "endpoint")
    endpoint_twice()
    control = emulator.genai.control
    assert len(control.list_endpoints(emulator.compartment_id)) == 1
    hosting = [c for c in control.list_clusters(emulator.compartment_id)
               if c["type"] == "HOSTING"]
    assert len(hosting) == 1


def test_base_model_resolution_through_the_sdk(settings: Settings) -> None:
    client = clients.generative_ai(settings)
    ref = genai.resolve_base_model(client, settings)
    assert ref.name == "cohere.command-r-08-2024" and ref.id.startswith("ocid1.")
    llama = settings.model_copy(update={"base_model": "meta.llama-3.3-70b-instruct"})
    assert genai.resolve_base_model(client, llama).name == "meta.llama-3.3-70b-instruct"
    with pytest.raises(genai.PermanentError):
        genai.resolve_base_model(client, settings.model_copy(
            update={"base_model": "cohere.embed-english-v3.0"}))
