"""Invoke grants narrowed by ``target.function.id`` (issue 23), as deployed and as enforced
locally: Events -> convert/train/endpoint/evaluate only; the gateway -> infer only; the schedule ->
watch only."""

from __future__ import annotations

import pytest

from deploy.local.emulator.iam import parse_statement
from deploy.local.invocations import (
    EVENTS,
    InvokeDenied,
    InvokeGuard,
    gateway_principal,
    schedule_principal,
)
from deploy.local.policies import render
from shared.settings import Stage

COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaatestcompartment"
GATEWAY = "ocid1.apigateway.oc1.eu-frankfurt-1.aaaaaaaatestgateway"
SCHEDULE = "ocid1.resourceschedule.oc1.eu-frankfurt-1.aaaaaaaatestschedule"
FUNCTIONS = {s.value: f"ocid1.fnfunc.oc1.eu-frankfurt-1.aaaaaaaatest{s.value}" for s in Stage}
VALUES = {
    "compartment_ocid": COMPARTMENT, "bucket_name": "b", "region": "eu-frankfurt-1",
    "gateway_ocid": GATEWAY, "schedule_ocid": SCHEDULE, "bucket_kms_key_ocid": "",
    "notification_topic_ocid": "",
    **{f"{name}_function_ocid": ocid for name, ocid in FUNCTIONS.items()},
}


@pytest.fixture
def guard() -> InvokeGuard:
    services = render(VALUES, {s.value: f"g-{s.value}" for s in Stage})["services"]
    return InvokeGuard(services, "ocid1.tenancy.oc1..aaaaaaaatest", COMPARTMENT, FUNCTIONS)


@pytest.mark.parametrize(("caller", "allowed"), [
    (EVENTS, {"convert", "train", "endpoint", "evaluate"}),
    (gateway_principal(GATEWAY), {"infer"}),
    (schedule_principal(SCHEDULE), {"watch"}),
    (gateway_principal("ocid1.apigateway.oc1.eu-frankfurt-1.aaaaaaaaanother"), set()),
    (schedule_principal("ocid1.resourceschedule.oc1.eu-frankfurt-1.aaaaaaaaother"), set()),
])
def test_each_invoker_reaches_only_its_functions(guard: InvokeGuard, caller: object,
                                                 allowed: set[str]) -> None:
    got = {name for name in FUNCTIONS if guard.allowed(caller, name)}  # type: ignore[arg-type]
    assert got == allowed


def test_a_denied_invoke_names_the_caller_and_the_function(guard: InvokeGuard) -> None:
    calls: list[str] = []
    invoke = guard.guarded(gateway_principal(GATEWAY), lambda fn, body: calls.append(fn))
    invoke("infer", b"{}")
    with pytest.raises(InvokeDenied, match="may not invoke function watch"):
        invoke("watch", b"{}")
    assert calls == ["infer"]


def test_every_rendered_invoke_statement_carries_target_function_id() -> None:
    services = render(VALUES, {s.value: f"g-{s.value}" for s in Stage})["services"]
    invokes = [s for s in services if "fn-invocation" in s]
    assert len(invokes) == 3
    for statement in invokes:
        parse_statement(statement)
        assert "target.function.id = '" in statement, statement
    named = {name for name, ocid in FUNCTIONS.items() if any(ocid in s for s in invokes)}
    assert named == {s.value for s in Stage}  # each function named by exactly its invoker
