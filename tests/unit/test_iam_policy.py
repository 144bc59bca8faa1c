"""The emulator's IAM policy parser and evaluator (OCI "Policy Syntax" and "Conditions")."""

from __future__ import annotations

import pytest

from deploy.local.emulator.iam import (
    Access,
    Policy,
    PolicyParseError,
    Principal,
    admin_principal,
    parse_statement,
)
from deploy.local.emulator.iam.permissions import granted

COMP = "ocid1.compartment.oc1..aaaaaaaacomp"
OTHER = "ocid1.compartment.oc1..aaaaaaaaother"
TENANCY = "ocid1.tenancy.oc1..aaaaaaaatenancy"
FN = Principal(id="ocid1.fnfunc.oc1..fn", type="fnfunc", dynamic_groups=frozenset({"conv-fn"}))


def _policy(*statements: str) -> Policy:
    return Policy(statements, TENANCY, {COMP: "ocift-local"})


def _obj(op: str, perm: str, name: str | None, bucket: str = "b",
         compartment: str | None = COMP) -> Access:
    variables = {"target.bucket.name": bucket}
    if name is not None:
        variables["target.object.name"] = name
    return Access(op, "objects", (perm,), compartment, variables)


@pytest.mark.parametrize(("text", "where", "why"), [
    ("Allow dynamic-group d to read objects in compartment id ocid1.compartment.oc1..a "
     "where target.object.name = /raw/*", "/raw/*", "pattern is not closed"),
    ("Allow dynamic-group d to read objects in compartment id ocid1.compartment.oc1..a "
     "where target.object.name = /ra*w/", "/ra*w/", "'*' is allowed only"),
    ("Allow dynamic-group d to read objekts in tenancy", "objekts", "unknown resource-type"),
    ("Allow dynamic-group d to peek objects in tenancy", "peek", "expected 'inspect'"),
    ("Allow dynamic-group d to read objects in tenancy where target.bucket.name = \"b\"",
     '"b"', "unexpected character"),
    ("Allow dynamic-group d to read objects in tenancy where all {target.bucket.name = 'b'",
     None, "expected ',' or '}'"),
    ("Permit group g to read objects in tenancy", "Permit", "expected 'allow'"),
    ("Allow group g to read objects in tenancy extra", "extra", "expected 'where'"),
])
def test_malformed_statements_name_the_position(text: str, where: str | None, why: str) -> None:
    with pytest.raises(PolicyParseError) as exc:
        parse_statement(text)
    assert why in str(exc.value)
    assert exc.value.position == (text.index(where) if where is not None else len(text))
    assert text in str(exc.value)


def test_keywords_are_case_insensitive_and_groups_nest() -> None:
    stmt = parse_statement(
        "ALLOW Dynamic-Group d TO Manage objects IN compartment ocift-local WHERE "
        "ALL {target.bucket.name = 'b', ANY {request.permission = 'OBJECT_READ', "
        "request.permission = 'OBJECT_CREATE'}}")
    assert stmt.verb == "manage" and stmt.location == ("compartment", "ocift-local")


def test_patterns_match_prefix_suffix_and_contains_case_insensitively() -> None:
    policy = _policy(
        f"Allow dynamic-group conv-fn to read objects in compartment id {COMP} where all "
        "{target.bucket.name = 'b', target.object.name = /raw/*/}",
        f"Allow dynamic-group conv-fn to read objects in compartment id {COMP} where all "
        "{target.bucket.name = 'b', target.object.name = /*.md/}")
    assert policy.allows(FN, _obj("GetObject", "OBJECT_READ", "raw/a.json"))
    assert policy.allows(FN, _obj("GetObject", "OBJECT_READ", "RAW/A.json"))
    assert policy.allows(FN, _obj("GetObject", "OBJECT_READ", "docs/readme.md"))
    assert not policy.allows(FN, _obj("GetObject", "OBJECT_READ", "training/raw/a.json"))
    assert not policy.allows(FN, _obj("GetObject", "OBJECT_READ", "raw/a.json", bucket="c"))
    assert not policy.allows(FN, _obj("PutObject", "OBJECT_CREATE", "raw/a.json"))


def test_a_variable_the_request_lacks_fails_even_with_not_equal() -> None:
    policy = _policy(f"Allow dynamic-group conv-fn to read objects in compartment id {COMP} "
                     "where target.object.name != 'secret'")
    assert policy.allows(FN, _obj("GetObject", "OBJECT_READ", "public"))
    assert not policy.allows(FN, _obj("GetObject", "OBJECT_READ", "secret"))
    assert not policy.allows(FN, _obj("ListObjects", "OBJECT_INSPECT", None))


def test_verbs_are_cumulative_and_families_cover_members() -> None:
    assert granted("inspect", "objects") < granted("read", "objects") < granted(
        "use", "objects") < granted("manage", "objects")
    assert "OBJECT_DELETE" not in granted("use", "objects")
    policy = _policy(f"Allow dynamic-group conv-fn to use object-family in compartment id {COMP}")
    assert policy.allows(FN, _obj("PutObject", "OBJECT_OVERWRITE", "x"))
    assert not policy.allows(FN, _obj("PutObject", "OBJECT_CREATE", "x"))
    assert not policy.allows(FN, _obj("DeleteObject", "OBJECT_DELETE", "x"))


def test_request_permission_narrows_manage() -> None:
    policy = _policy(f"Allow dynamic-group conv-fn to manage generative-ai-model in compartment "
                     f"id {COMP} where request.permission = 'GENERATIVE_AI_MODEL_CREATE'")
    create = Access("CreateModel", "generative-ai-model", ("GENERATIVE_AI_MODEL_CREATE",), COMP)
    delete = Access("DeleteModel", "generative-ai-model", ("GENERATIVE_AI_MODEL_DELETE",), COMP)
    assert policy.allows(FN, create) and not policy.allows(FN, delete)


def test_location_subject_and_permission_list() -> None:
    policy = _policy(f"Allow dynamic-group conv-fn to {{OBJECT_READ}} in compartment id {COMP}")
    assert policy.allows(FN, _obj("GetObject", "OBJECT_READ", "x"))
    assert not policy.allows(FN, _obj("GetObject", "OBJECT_READ", "x", compartment=OTHER))
    assert not policy.allows(FN, _obj("GetObject", "OBJECT_READ", "x", compartment=None))
    stranger = Principal(id="ocid1.fnfunc.oc1..other", type="fnfunc",
                         dynamic_groups=frozenset({"other-fn"}))
    assert not policy.allows(stranger, _obj("GetObject", "OBJECT_READ", "x"))
    admin = _policy("Allow group Administrators to manage all-resources in tenancy")
    assert admin.allows(admin_principal("ocid1.user.oc1..u"),
                        _obj("DeleteObject", "OBJECT_DELETE", "x", compartment=None))
    assert not admin.allows(FN, _obj("GetObject", "OBJECT_READ", "x"))
