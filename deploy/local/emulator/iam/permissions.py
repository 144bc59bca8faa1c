"""Resource-types, families and the permissions each verb grants.

Verbs are cumulative: inspect ⊂ read ⊂ use ⊂ manage ("Verbs":
https://docs.oracle.com/iaas/Content/Identity/Concepts/policysyntax.htm). The
tables below are copied by hand from each service's policy reference:

* Object Storage — "Details for Object Storage, Archive Storage, and Data Transfer",
  https://docs.oracle.com/iaas/Content/Identity/Reference/objectstoragepolicyreference.htm
* Generative AI — "Getting Access to Generative AI" and the per-resource "API-Level
  Permissions" pages, https://docs.oracle.com/iaas/Content/generative-ai/iam-policies.htm
  and https://docs.oracle.com/iaas/Content/generative-ai/model-permissions.htm
* Functions — "Details for Functions",
  https://docs.oracle.com/iaas/Content/Identity/Reference/functionspolicyreference.htm

Resource-types the emulator serves no operation for (``repos``, ``keys``,
``ons-topics``, ...) are known to the parser so the deployed statements parse,
but grant nothing locally.
"""

from __future__ import annotations

from collections.abc import Mapping

VERBS = ("inspect", "read", "use", "manage")


def _ladder(inspect: tuple[str, ...], read: tuple[str, ...], use: tuple[str, ...],
            manage: tuple[str, ...]) -> dict[str, frozenset[str]]:
    """Cumulative permission sets per verb from the "+" rows of a reference table."""
    out: dict[str, frozenset[str]] = {}
    acc: set[str] = set()
    for verb, extra in zip(VERBS, (inspect, read, use, manage), strict=True):
        acc |= set(extra)
        out[verb] = frozenset(acc)
    return out


def _genai(prefix: str) -> dict[str, frozenset[str]]:
    # Generative AI "Permissions for Managing Models" table: INSPECT (List*), READ (Get*),
    # UPDATE (use), MOVE / CREATE / DELETE (manage).
    return _ladder((f"{prefix}_INSPECT",), (f"{prefix}_READ",), (f"{prefix}_UPDATE",),
                   (f"{prefix}_MOVE", f"{prefix}_CREATE", f"{prefix}_DELETE"))


#: Individual resource-type -> verb -> permissions.
VERB_PERMISSIONS: Mapping[str, Mapping[str, frozenset[str]]] = {
    # Object Storage: "Details for Verb + Resource-Type Combinations".
    "objectstorage-namespaces": _ladder(("OBJECTSTORAGE_NAMESPACE_READ",), (), (),
                                        ("OBJECTSTORAGE_NAMESPACE_UPDATE",)),
    "buckets": _ladder(("BUCKET_INSPECT",), ("BUCKET_READ",), ("BUCKET_UPDATE",),
                       ("BUCKET_CREATE", "BUCKET_DELETE", "PAR_MANAGE", "RETENTION_RULE_MANAGE",
                        "RETENTION_RULE_LOCK_OVERRIDE")),
    "objects": _ladder(("OBJECT_INSPECT",), ("OBJECT_READ",), ("OBJECT_OVERWRITE",),
                       ("OBJECT_CREATE", "OBJECT_DELETE", "OBJECT_RESTORE",
                        "OBJECT_VERSION_DELETE")),
    # Generative AI: one table per resource-type.
    "generative-ai-model": _genai("GENERATIVE_AI_MODEL"),
    "generative-ai-dedicated-ai-cluster": _genai("GENERATIVE_AI_DEDICATED_AI_CLUSTER"),
    "generative-ai-endpoint": _genai("GENERATIVE_AI_ENDPOINT"),
    "generative-ai-work-request": _ladder(("GENERATIVE_AI_WORK_REQUEST_INSPECT",),
                                          ("GENERATIVE_AI_WORK_REQUEST_READ",), (), ()),
    "generative-ai-chat": _ladder((), (), ("GENERATIVE_AI_CHAT",), ()),
    "generative-ai-text-generation": _ladder((), (), ("GENERATIVE_AI_TEXT_GENERATE",), ()),
    "generative-ai-text-summarization": _ladder((), (), ("GENERATIVE_AI_TEXT_SUMMARIZE",), ()),
    "generative-ai-text-embedding": _ladder((), (), ("GENERATIVE_AI_TEXT_EMBED",), ()),
    # Functions.
    "fn-app": _ladder(("FN_APP_LIST",), ("FN_APP_READ",), (),
                      ("FN_APP_CREATE", "FN_APP_DELETE", "FN_APP_UPDATE")),
    "fn-function": _ladder(("FN_FUNCTION_LIST",), ("FN_FUNCTION_READ",), (),
                           ("FN_FUNCTION_CREATE", "FN_FUNCTION_DELETE", "FN_FUNCTION_UPDATE")),
    "fn-invocation": _ladder((), (), ("FN_INVOCATION",), ()),
}

#: Aggregate resource-types ("<verb> <family>" = one statement per member).
FAMILIES: Mapping[str, tuple[str, ...]] = {
    "object-family": ("objectstorage-namespaces", "buckets", "objects"),
    "generative-ai-family": tuple(t for t in VERB_PERMISSIONS if t.startswith("generative-ai-")),
    "functions-family": ("fn-app", "fn-function", "fn-invocation"),
}

#: Resource-types the deployed policies name but the emulator serves nothing for.
OTHER_RESOURCE_TYPES = frozenset({
    "repos", "keys", "vaults", "key-family", "ons-topics", "ons-family",
    "virtual-network-family", "vcns", "subnets", "metrics", "log-groups", "logging-family",
    "api-gateway-family", "resource-schedule", "tag-namespaces", "compartments", "users",
    "groups", "dynamic-groups", "policies",
})


def is_known_resource_type(name: str) -> bool:
    return (name == "all-resources" or name in VERB_PERMISSIONS or name in FAMILIES
            or name in OTHER_RESOURCE_TYPES)


def covers(statement_type: str, resource_type: str) -> bool:
    """True if a statement about ``statement_type`` applies to ``resource_type``."""
    if statement_type in ("all-resources", resource_type):
        return True
    return resource_type in FAMILIES.get(statement_type, ())


def granted(verb: str, resource_type: str) -> frozenset[str]:
    """Permissions ``verb`` grants on the individual ``resource_type``."""
    return VERB_PERMISSIONS.get(resource_type, {}).get(verb, frozenset())
