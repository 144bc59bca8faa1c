"""The watcher records a deleted endpoint (issue 27): MODEL_ACTIVE, no endpoint, not re-hosted."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from shared.settings import Settings
from shared.stages.watch.common import owner_of
from shared.stages.watch.gone import moved_for_deleted
from shared.status import DatasetState, DatasetStatus, IllegalTransition

S = DatasetState


def _serving(state: DatasetState = S.ENDPOINT_ACTIVE) -> DatasetStatus:
    return DatasetStatus(dataset="fin", state=state, model_id="m1", endpoint_id="e1",
                         endpoint_state="ACTIVE", hosting_cluster_id="h1",
                         reason="old" if state is S.ENDPOINT_FAILED else "")


@pytest.mark.parametrize("state", [S.ENDPOINT_ACTIVE, S.ENDPOINT_FAILED])
def test_a_deleted_endpoint_moves_the_dataset_to_model_active_with_nothing_hosted(
        state: DatasetState) -> None:
    moved = moved_for_deleted(_serving(state), {"e1": "DELETED"}, {"m1": "ACTIVE"})
    assert moved is not None and moved.state is S.MODEL_ACTIVE
    assert (moved.endpoint_id, moved.endpoint_state, moved.hosting_cluster_id) == (None, None,
                                                                                   None)
    assert moved.unserved and "e1" in moved.unserved
    ctx: Any = SimpleNamespace(settings=Settings())
    assert owner_of(ctx, moved) is None  # no hand-off: down is not undone
    assert owner_of(ctx, moved.moved_to(S.MODEL_ACTIVE, "serve", unserved=None)) is not None


def test_an_endpoint_absent_from_the_listing_is_gone_and_a_live_one_is_not() -> None:
    assert moved_for_deleted(_serving(), {}, {"m1": "ACTIVE"}) is not None
    assert moved_for_deleted(_serving(), {"e1": "ACTIVE"}, {"m1": "ACTIVE"}) is None


def test_endpoint_and_model_gone_is_endpoint_failed_once() -> None:
    moved = moved_for_deleted(_serving(), {}, {})
    assert moved is not None and moved.state is S.ENDPOINT_FAILED
    assert "upload the dataset again" in moved.reason
    assert moved_for_deleted(moved, {}, {}) is None  # recorded once, not rewritten every time


def test_the_move_back_to_model_active_is_only_from_endpoint_states() -> None:
    training = DatasetStatus(dataset="fin", state=S.MODEL_FAILED, reason="x", model_id="m1")
    with pytest.raises(IllegalTransition):
        training.moved_to(S.MODEL_ACTIVE, "no")


def test_a_creating_endpoint_absent_from_a_listing_is_left_to_the_tick() -> None:
    """A listing may lag a create: ENDPOINT_CREATING is followed by GetEndpoint, not here."""
    assert moved_for_deleted(_serving(S.ENDPOINT_CREATING), {}, {"m1": "ACTIVE"}) is None
