"""Who may invoke which function on the local target: ``services.json`` as OCI checks it.

OCI Functions authorizes every invoke against ``fn-invocation`` (permission
``FN_INVOCATION``), and a statement may name the function it allows: "control access to
invoke functions using function and application OCIDs" (release note 2020-02-19,
https://docs.oracle.com/iaas/releasenotes/changes/c79c2d65-1cc3-4cb5-99dc-6120d0963ff2/;
"Controlling Access to Invoke and Manage Functions",
https://docs.oracle.com/iaas/Content/Functions/Tasks/functionsrestrictinguseraccess.htm),
with ``target.function.id``. The local Events router, gateway and watch ticker invoke
through an :class:`InvokeGuard` built from the very statements Terraform deploys, so a
grant wider or narrower than intended shows up here first: Events may invoke convert,
train and endpoint; the gateway only infer; the schedule only watch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from deploy.local.emulator.iam.engine import Access, Policy, Principal

R = TypeVar("R")

#: OCI Events acts as the service principal ``cloudEvents`` ("Allow service cloudEvents").
EVENTS = Principal(id="cloudEvents", type="service", service="cloudEvents")


def gateway_principal(gateway_ocid: str) -> Principal:
    """API Gateway invokes as ``request.principal.type = 'ApiGateway'`` with its own OCID."""
    return Principal(id=gateway_ocid, type="ApiGateway")


def schedule_principal(schedule_ocid: str) -> Principal:
    """Resource Scheduler invokes as ``request.principal.type = 'resourceschedule'``."""
    return Principal(id=schedule_ocid, type="resourceschedule")


class InvokeDenied(PermissionError):
    """The caller has no ``fn-invocation`` grant for the function (OCI answers 404)."""


class InvokeGuard:
    """Checks ``FN_INVOCATION`` on a function's OCID before a local invoke."""

    def __init__(self, statements: list[str], tenancy_id: str, compartment_id: str,
                 function_ids: Mapping[str, str]) -> None:
        self.policy = Policy(statements, tenancy_id)
        self.compartment_id = compartment_id
        self.function_ids = dict(function_ids)

    def allowed(self, caller: Principal, function: str) -> bool:
        ocid = self.function_ids.get(function)
        if ocid is None:
            return False
        access = Access(operation="InvokeFunction", resource_type="fn-invocation",
                        permissions=("FN_INVOCATION",), compartment_id=self.compartment_id,
                        variables={"target.function.id": ocid})
        return self.policy.allows(caller, access)

    def check(self, caller: Principal, function: str) -> None:
        if not self.allowed(caller, function):
            raise InvokeDenied(
                f"{caller.type} {caller.id} may not invoke function {function}: no "
                "fn-invocation grant for its target.function.id (deploy/iam/services.json)")

    def guarded(self, caller: Principal, invoke: Callable[..., R]) -> Callable[..., R]:
        """``invoke(function, ...)`` that checks first."""

        def call(function: str, *args: Any, **kwargs: Any) -> R:
            self.check(caller, function)
            return invoke(function, *args, **kwargs)

        return call
