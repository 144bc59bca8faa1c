"""Endpoint stage against the in-memory fakes of ``tests.support``."""

from __future__ import annotations

from shared import tags
from shared.stages import watch as watcher
from shared.stages.endpoint import ensure_endpoint
from tests.support.fakes import finish_training, make_ctx, start_training


def test_model_active_gets_one_endpoint_on_a_hosting_cluster() -> None:
    ctx, store, ai = make_ctx()
    model_id = finish_training(ctx, ai, "fin")
    assert ensure_endpoint(ctx, "fin").status.value == "pending"
    assert store.status("fin")["state"] == "PENDING_HOSTING_CLUSTER"
    hosting = [c for c in ai.clusters.values() if c.type == "HOSTING"]
    assert len(hosting) == 1 and hosting[0].freeform_tags[tags.MODEL_ID] == model_id
    assert ensure_endpoint(ctx, "fin").status.value == "pending"  # no rewrite, no new cluster
    assert ai.creates.count("cluster") == 2

    ai.activate_clusters()
    assert ensure_endpoint(ctx, "fin").status.value == "done"
    [endpoint] = ai.endpoints.values()
    assert endpoint.model_id == model_id
    assert endpoint.details.content_moderation_config.is_enabled is True
    assert tags.matches(endpoint.freeform_tags, role="endpoint", dataset="fin", model_id=model_id)
    status = store.status("fin")
    assert status["state"] == "ENDPOINT_CREATING" and status["endpoint_id"] == endpoint.id
    # Its own write comes back as an event: a no-op.
    assert ensure_endpoint(ctx, "fin").status.value == "skipped"

    endpoint.lifecycle_state = "ACTIVE"
    watcher.tick(ctx.settings, ctx=ctx)
    assert store.status("fin")["state"] == "ENDPOINT_ACTIVE"
    assert len(ai.endpoints) == 1


def test_a_second_event_after_a_lost_status_write_finds_the_endpoint_by_tags() -> None:
    ctx, store, ai = make_ctx(content_moderation=False)
    finish_training(ctx, ai, "fin")
    ai.activate_clusters()
    ensure_endpoint(ctx, "fin")
    ai.activate_clusters()
    assert ensure_endpoint(ctx, "fin").status.value == "done"
    status = store.status("fin")
    status.update(state="MODEL_ACTIVE", endpoint_id=None)
    ctx.store.put_json("status/fin.json", status)  # as if the ENDPOINT_CREATING write was lost
    assert ensure_endpoint(ctx, "fin").status.value == "duplicate"
    assert len(ai.endpoints) == 1 and ai.creates.count("endpoint") == 1
    [endpoint] = ai.endpoints.values()
    assert endpoint.details.content_moderation_config.is_enabled is False
    assert store.status("fin")["endpoint_id"] == endpoint.id


def test_other_states_and_foreign_models_are_skipped() -> None:
    ctx, _store, ai = make_ctx()
    model_id = start_training(ctx, ai, "fin")
    assert ensure_endpoint(ctx, "fin").status.value == "skipped"  # TRAINING
    assert ensure_endpoint(ctx, "nothing").status.value == "skipped"
    ai.finish(model_id)
    watcher.tick(ctx.settings, ctx=ctx)
    ai.models[model_id].freeform_tags = {}
    outcome = ensure_endpoint(ctx, "fin")
    assert outcome.status.value == "skipped" and "not created by this pipeline" in outcome.reason
    assert not ai.endpoints


def test_failed_model_reason_is_recorded_and_no_endpoint_made() -> None:
    ctx, store, ai = make_ctx()
    finish_training(ctx, ai, "fin", ok=False)
    status = store.status("fin")
    status["reason"] = ""
    ctx.store.put_json("status/fin.json", status)
    assert ensure_endpoint(ctx, "fin").status.value == "done"
    assert store.status("fin")["reason"] == "loss diverged"
    assert ensure_endpoint(ctx, "fin").status.value == "skipped"
    assert not ai.endpoints
