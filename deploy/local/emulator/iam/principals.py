"""Who may sign requests to the emulator: the administrator and per-function principals.

The administrator (the generated ``auth/config``: CLI user and tests) is a user in
the ``Administrators`` group, whose tenancy policy OCI creates and keeps
("The Administrators Group and Policy",
https://docs.oracle.com/iaas/Content/Identity/Concepts/policygetstarted.htm).
Each stage function gets its own key pair and config (``auth/principals/<name>/``)
and signs as an ``fnfunc`` resource that belongs to its dynamic group, as a
function's resource principal does on OCI.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass

from deploy.local.emulator.iam.engine import Principal
from deploy.local.emulator.keys import LocalIdentity

ADMIN_GROUP = "Administrators"
ADMIN_STATEMENT = f"Allow group {ADMIN_GROUP} to manage all-resources in tenancy"


def function_ocid(name: str, region: str) -> str:
    """A stable, well-formed fake OCID for the local function ``name``."""
    digest = hashlib.sha256(name.encode()).hexdigest()[:52]
    return f"ocid1.fnfunc.oc1.{region}.aaaaaaaa{digest}"


@dataclass(frozen=True)
class Registered:
    identity: LocalIdentity
    principal: Principal


class PrincipalRegistry:
    """``keyId`` -> :class:`Principal` for every key the verifier accepts."""

    def __init__(self) -> None:
        self._by_key: dict[str, Principal] = {}
        self._lock = threading.Lock()

    def add(self, key_id: str, principal: Principal) -> None:
        with self._lock:
            self._by_key[key_id] = principal

    def lookup(self, key_id: str) -> Principal | None:
        with self._lock:
            return self._by_key.get(key_id)


def admin_principal(user_ocid: str) -> Principal:
    return Principal(id=user_ocid, type="user", groups=frozenset({ADMIN_GROUP}))


def function_principal(ocid: str, dynamic_groups: frozenset[str]) -> Principal:
    return Principal(id=ocid, type="fnfunc", dynamic_groups=dynamic_groups)
