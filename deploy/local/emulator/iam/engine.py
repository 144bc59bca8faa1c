"""Evaluates parsed statements against one request, as OCI IAM does.

A request needs every permission its operation requires (:mod:`.operations`);
each is allowed when some statement names the principal, covers the target's
compartment, grants the permission on the operation's resource-type and whose
``where`` clause holds with ``request.permission`` set to that permission. A
variable the request does not carry makes its comparison false, whatever the
operator ("Variables that Aren't Applicable to a Request Result in a Declined
Request", https://docs.oracle.com/iaas/Content/Identity/policysyntax/conditions.htm).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from deploy.local.emulator.iam.permissions import covers, granted
from deploy.local.emulator.iam.policy import (
    Comparison,
    Condition,
    Group,
    Statement,
    parse_statement,
)


@dataclass(frozen=True)
class Principal:
    """Who signed a request: a user in groups, or a resource in dynamic groups."""

    id: str
    type: str  # "user", "fnfunc", "ApiGateway", "service", ...
    groups: frozenset[str] = frozenset()
    dynamic_groups: frozenset[str] = frozenset()
    service: str | None = None


@dataclass(frozen=True)
class Access:
    """What one request asks for: permissions on a resource-type in a compartment."""

    operation: str
    resource_type: str
    permissions: tuple[str, ...]
    compartment_id: str | None
    variables: Mapping[str, str] = field(default_factory=dict)


class Policy:
    """A set of parsed statements plus the tenancy's compartments (id -> name)."""

    def __init__(self, statements: Iterable[Statement | str], tenancy_id: str,
                 compartments: Mapping[str, str] | None = None) -> None:
        self.statements = [parse_statement(s) if isinstance(s, str) else s for s in statements]
        self.tenancy_id = tenancy_id
        self.compartments = dict(compartments or {})

    def allows(self, principal: Principal, access: Access) -> bool:
        """True when every permission ``access`` needs is granted to ``principal``."""
        return all(self.allows_permission(principal, access, p) for p in access.permissions)

    def allows_permission(self, principal: Principal, access: Access, permission: str) -> bool:
        variables = {
            "request.permission": permission,
            "request.operation": access.operation,
            "request.principal.type": principal.type,
            "request.principal.id": principal.id,
            **access.variables,
        }
        if access.compartment_id:
            variables.setdefault("target.compartment.id", access.compartment_id)
        if principal.type == "user":
            variables["request.user.id"] = principal.id
        for stmt in self.statements:
            if not _subject_matches(stmt, principal):
                continue
            if not self._location_covers(stmt, access.compartment_id):
                continue
            if stmt.permissions:
                if permission not in stmt.permissions:
                    continue
            elif stmt.resource_type is None or stmt.verb is None or not covers(
                    stmt.resource_type, access.resource_type) or permission not in granted(
                    stmt.verb, access.resource_type):
                continue
            if stmt.condition is None or _holds(stmt.condition, variables):
                return True
        return False

    def _location_covers(self, stmt: Statement, compartment_id: str | None) -> bool:
        kind, value = stmt.location
        if kind == "tenancy":
            return True
        if compartment_id is None:
            return False
        if kind == "compartment-id":
            return value == compartment_id
        return self.compartments.get(compartment_id, "").lower() == value.lower()


def _subject_matches(stmt: Statement, principal: Principal) -> bool:
    subject = stmt.subject
    if subject.kind == "any-user":
        return True
    if subject.kind == "any-group":
        return bool(principal.groups)
    if subject.kind == "group":
        names = {n.lower() for n in subject.names} | set(subject.ids)
        return bool(names & {g.lower() if not g.startswith("ocid1.") else g
                             for g in principal.groups})
    if subject.kind == "dynamic-group":
        names = {n.lower() for n in subject.names} | set(subject.ids)
        return bool(names & {g.lower() if not g.startswith("ocid1.") else g
                             for g in principal.dynamic_groups})
    if subject.kind == "service":
        return principal.service is not None and principal.service.lower() in {
            n.lower() for n in subject.names}
    return False


def _holds(cond: Condition, variables: Mapping[str, str]) -> bool:
    if isinstance(cond, Group):
        results = (_holds(c, variables) for c in cond.items)
        return any(results) if cond.mode == "any" else all(results)
    assert isinstance(cond, Comparison)
    actual = variables.get(cond.variable)
    if actual is None:
        return False
    same = cond.value.matches(actual)
    return same if cond.op == "=" else not same
