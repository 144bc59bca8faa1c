"""A 404 is "gone" only with proof (shared/errors.py): ``ocift down`` and cluster releases
never take a bare 404 on a resource they still hold for a deletion."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from oci.exceptions import ServiceError

from shared import billing, retire, tags, teardown
from shared.status import ClusterRelease
from tests.support.fakes import make_ctx, make_settings, service_error

SETTINGS = make_settings()
OURS = {tags.PIPELINE: SETTINGS.pipeline_name, tags.ROLE: tags.ROLE_ENDPOINT}


class _Endpoints:
    """GetEndpoint / DeleteEndpoint answering a scripted sequence of states or errors."""

    def __init__(self, reads: list[Any], delete: BaseException | None = None) -> None:
        self.reads = reads
        self.delete = delete
        self.deleted: list[str] = []

    def get_endpoint(self, endpoint_id: str) -> Any:
        got = self.reads.pop(0)
        if isinstance(got, BaseException):
            raise got
        return SimpleNamespace(data=SimpleNamespace(id=endpoint_id, lifecycle_state=got,
                                                    freeform_tags=OURS))

    def delete_endpoint(self, endpoint_id: str) -> None:
        self.deleted.append(endpoint_id)
        if self.delete is not None:
            raise self.delete


ENDPOINT = billing.Resource(id="ep1", kind=billing.ENDPOINT)
NOT_VISIBLE = service_error(404, "NotAuthorizedOrNotFound")


def test_down_raises_on_a_404_before_it_deleted_anything() -> None:
    client = _Endpoints([NOT_VISIBLE])
    with pytest.raises(ServiceError):  # a missing grant, not a resource that is gone
        teardown.delete_one(client, SETTINGS, ENDPOINT, timeout=5, interval=0)
    assert client.deleted == []


def test_down_takes_a_404_after_its_own_delete_as_gone() -> None:
    client = _Endpoints(["ACTIVE", "DELETING", NOT_VISIBLE])
    teardown.delete_one(client, SETTINGS, ENDPOINT, timeout=5, interval=0)
    assert client.deleted == ["ep1"]


def test_down_waits_on_incorrect_state_and_raises_on_a_404_delete() -> None:
    busy = _Endpoints(["ACTIVE", "DELETING", "DELETED"],
                      delete=service_error(409, "IncorrectState"))
    teardown.delete_one(busy, SETTINGS, ENDPOINT, timeout=5, interval=0)
    denied = _Endpoints(["ACTIVE"], delete=NOT_VISIBLE)  # read may, delete may not
    with pytest.raises(ServiceError):
        teardown.delete_one(denied, SETTINGS, ENDPOINT, timeout=5, interval=0)
    outcome = teardown.execute(_Endpoints(["ACTIVE"], delete=NOT_VISIBLE), SETTINGS,
                               teardown.Plan(delete=[ENDPOINT]), timeout=5, interval=0)
    assert outcome.deleted == [] and outcome.failed[0][0] == "ep1"
    assert "404 NotAuthorizedOrNotFound" in outcome.failed[0][1]


def _release_ctx(listed: bool) -> tuple[Any, Any]:
    ctx, _store, ai = make_ctx()
    ai.clusters["c1"] = SimpleNamespace(id="c1", lifecycle_state="ACTIVE",
                                        freeform_tags={}, type="HOSTING")

    def denied(cluster_id: str) -> Any:
        raise NOT_VISIBLE

    ai.get_dedicated_ai_cluster = denied  # type: ignore[method-assign]
    if not listed:
        del ai.clusters["c1"]
    return ctx, ai


def test_a_release_is_done_only_when_the_listing_confirms_the_404() -> None:
    release = ClusterRelease(cluster_id="c1", wait_for=[], reason="test", ready=True)
    ctx, _ = _release_ctx(listed=False)
    assert retire._release(ctx, release) == "already gone"
    ctx, _ = _release_ctx(listed=True)
    with pytest.raises(ServiceError):  # still listed: the 404 is a grant, the cluster bills
        retire._release(ctx, release)


def test_a_cluster_that_refuses_deletion_is_kept_with_the_reason() -> None:
    ctx, _store, ai = make_ctx()
    cluster = SimpleNamespace(id="c2", lifecycle_state="ACTIVE", type="HOSTING",
                              freeform_tags={tags.PIPELINE: SETTINGS.pipeline_name,
                                             tags.ROLE: tags.ROLE_HOSTING_CLUSTER})
    ai.clusters["c2"] = cluster  # an endpoint still on it: OCI answers 409 Conflict
    ai.endpoints["ep2"] = SimpleNamespace(id="ep2", dedicated_ai_cluster_id="c2",
                                          lifecycle_state="ACTIVE")
    kept = retire._release(ctx, ClusterRelease(cluster_id="c2", wait_for=[], reason="t",
                                               ready=True))
    assert kept.startswith("still in use (") and "409 Conflict" in kept
