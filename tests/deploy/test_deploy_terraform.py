"""Static and offline checks of the Terraform in deploy/oci (no cloud, no provider download)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import hcl2
import pytest

from deploy.local.emulator.iam import parse_statement
from deploy.local.policies import render
from shared.settings import Settings, Stage

ROOT = Path(__file__).resolve().parents[2]
TF_DIR = ROOT / "deploy" / "oci"
TF_FILES = sorted(TF_DIR.rglob("*.tf"))
TERRAFORM = shutil.which("terraform")
OCI_MEMORY_MB = {128, 256, 512, 1024, 2048, 3072}


def _load(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        return dict(hcl2.load(handle))


def _unquote(value: str) -> str:
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value


def _resources(kind: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in TF_FILES:
        for block in _load(path).get("resource", []):
            for rtype, named in block.items():
                if _unquote(rtype) == kind:
                    for name, body in named.items():
                        found[_unquote(name)] = body
    return found


def _terraform_output(workdir: Path, name: str) -> Any:
    """``terraform init`` + ``apply`` the configuration in ``workdir`` (no provider, so
    offline) and return output ``name``."""
    assert TERRAFORM is not None
    env = {**os.environ, "TF_CLI_CONFIG_FILE": "", "TF_IN_AUTOMATION": "1",
           "CHECKPOINT_DISABLE": "1", "TF_DATA_DIR": str(workdir / ".terraform")}
    state = f"-state={workdir / 's.tfstate'}"
    for args in (["init", "-input=false", "-backend=false"],
                 ["apply", "-auto-approve", "-input=false", state]):
        done = subprocess.run([TERRAFORM, f"-chdir={workdir}", *args, "-no-color"],
                              capture_output=True, text=True, env=env, timeout=120)
        assert done.returncode == 0, done.stderr
    out = subprocess.run([TERRAFORM, f"-chdir={workdir}", "output", "-json", state, name],
                         capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout)


def _locals() -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for path in TF_FILES:
        for block in _load(path).get("locals", []):
            merged.update({k: v for k, v in block.items() if not k.startswith("__")})
    return merged


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return []


def _allow_statements(text: str) -> list[str]:
    """Policy statement templates: each "Allow ..." string literal, interpolations kept whole."""
    out = []
    for match in re.finditer(r'"Allow ', text):
        i, depth = match.start() + 1, 0
        while i < len(text):
            if text.startswith("${", i):
                depth += 1
                i += 2
                continue
            if text[i] == "}" and depth:
                depth -= 1
            elif text[i] == '"' and not depth:
                break
            i += 1
        out.append(text[match.start() + 1 : i])
    return out


def test_all_files_parse_and_are_terraform_fmt_clean() -> None:
    assert len(TF_FILES) >= 8
    for path in TF_FILES:
        _load(path)
    if TERRAFORM is None:
        pytest.skip("terraform binary not installed: fmt not checked")
    env = {**os.environ, "TF_CLI_CONFIG_FILE": ""}
    done = subprocess.run([TERRAFORM, "fmt", "-check", "-recursive", "-diff", str(TF_DIR)],
                          capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stdout


def test_provider_is_pinned_to_a_range() -> None:
    versions = _load(TF_DIR / "versions.tf")["terraform"][0]
    oci = versions["required_providers"][0]["oci"]
    assert _unquote(oci["source"]) == "oracle/oci"
    version = _unquote(oci["version"])
    assert ">=" in version and "<" in version.replace(">=", "")


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


def test_provider_constraint_admits_no_version_without_the_scheduler_resource() -> None:
    """oci_resource_scheduler_schedule arrived in provider 6.1.0 (CHANGELOG: "6.1.0 (July 02,
    2024) ... Support for Resource Scheduler"); a lower floor lets init pick 6.0.x."""
    assert _resources("oci_resource_scheduler_schedule"), "schedule.tf uses the resource"
    versions = _load(TF_DIR / "versions.tf")["terraform"][0]
    constraint = _unquote(versions["required_providers"][0]["oci"]["version"])
    floors = [_version(c.strip()[2:].strip()) for c in constraint.split(",")
              if c.strip().startswith(">=")]
    assert floors and min(floors) >= (6, 1, 0), constraint


def test_gateway_deployment_waits_for_the_invoke_policy() -> None:
    """API Gateway verifies at creation that it may invoke the function; the deployment must
    be created after the policy that grants it ("creating policies" page)."""
    deployment = _resources("oci_apigateway_deployment")["infer"]
    assert "${oci_identity_policy.invokers}" in deployment.get("depends_on", [])
    # ... and that policy is the one holding the gateway's invoke grant (services.json).
    assert _resources("oci_identity_policy")["invokers"]["statements"] == (
        "${local.service_statements}")
    assert any("ApiGateway" in s and "fn-invocation" in s
               for s in render(SAMPLE_VALUES, SAMPLE_GROUPS)["services"])


def test_rendered_invoke_statements_carry_target_function_id() -> None:
    services = render(SAMPLE_VALUES, SAMPLE_GROUPS)["services"]
    invokes = {s for s in services if "fn-invocation" in s}
    expect = {"ApiGateway": {"infer"}, "cloudEvents": {"convert", "train", "endpoint", "evaluate"},
              "resourceschedule": {"watch"}}
    for who, stages in expect.items():
        [statement] = [s for s in invokes if who in s]
        named = {st.value for st in Stage
                 if SAMPLE_VALUES[f"{st.value}_function_ocid"] in statement}
        assert named == stages, statement
        assert statement.count("target.function.id = ") == len(stages)


def test_no_rule_condition_is_written_in_terraform() -> None:
    for path in TF_FILES:
        text = path.read_text()
        assert "com.oraclecloud" not in text, path
        assert "resourceName" not in text, path


def test_rules_are_generated_from_the_events_folder() -> None:
    module = _load(TF_DIR / "modules" / "event_rules" / "main.tf")["locals"][0]
    assert module["rule_files"] == '${fileset(var.events_root, "events/*.json")}'
    # $${...} is Terraform's escape: the replace pattern is the literal ${bucket_name}.
    assert 'replace(file("${var.events_root}/${f}"), "$${bucket_name}", var.bucket_name)' in (
        module["rules"]
    )
    events = _load(TF_DIR / "events.tf")
    call = events["module"][0]['"event_rules"']
    assert call["events_root"] == '"${path.module}/../.."'
    assert (TF_DIR / "../..").resolve() == ROOT
    rule = _resources("oci_events_rule")["pipeline"]
    assert rule["for_each"] == "${toset(keys(module.event_rules.rules))}"
    assert rule["condition"] == "${jsonencode(module.event_rules.rules[each.key].condition)}"
    action = rule["actions"][0]["actions"][0]
    assert action["action_type"] == '"FAAS"'
    assert action["function_id"] == (
        "${oci_functions_function.stage[module.event_rules.rules[each.key].action.function].id}"
    )


def _expected_rules(bucket: str) -> dict[str, Any]:
    return {
        path.stem: json.loads(path.read_text().replace("${bucket_name}", bucket))
        for path in sorted((ROOT / "events").glob("*.json"))
    }


@pytest.mark.skipif(TERRAFORM is None, reason="terraform binary not installed")
def test_terraform_itself_renders_the_rules_from_events(tmp_path: Path) -> None:
    """Evaluate the generation module with terraform (no provider needed, so offline)."""
    assert TERRAFORM is not None
    (tmp_path / "main.tf").write_text(
        'module "rules" {\n'
        f'  source      = "{TF_DIR / "modules" / "event_rules"}"\n'
        f'  events_root = "{ROOT}"\n'
        '  bucket_name = "my-bucket"\n'
        "}\n"
        'output "rules" {\n  value = module.rules.rules\n}\n'
    )
    rendered = _terraform_output(tmp_path, "rules")
    assert rendered == _expected_rules("my-bucket")
    for rule in rendered.values():
        assert rule["condition"]["data"]["additionalDetails"]["bucketName"] == "my-bucket"
    # A condition written twice for one function (two rules, one delivery twice) is a bug;
    # one condition routed to several stages (status/ writes) is not.
    routes = [(json.dumps(r["condition"], sort_keys=True), r["action"]["function"])
              for r in rendered.values()]
    assert len(routes) == len(set(routes))


def test_every_stage_has_a_function_with_its_stage_config() -> None:
    local = _locals()
    stages = set(local["stage_defaults"])
    assert stages == {s.value for s in Stage}
    fn = _resources("oci_functions_function")["stage"]
    assert fn["for_each"] == "${local.stages}"
    assert fn["image"] == "${var.image}", "one image for every stage"
    assert "OCIFT_STAGE = each.key" in fn["config"]
    for rule in _expected_rules("b").values():
        assert rule["action"]["function"] in stages


def test_function_config_keys_are_real_settings() -> None:
    text = (TF_DIR / "functions.tf").read_text()
    keys = set(re.findall(r"\b(OCIFT_[A-Z_]+)\s*=", text))
    known = {f"OCIFT_{name.upper()}" for name in Settings.model_fields}
    assert keys <= known, keys - known
    for needed in ("OCIFT_STAGE", "OCIFT_BUCKET", "OCIFT_NAMESPACE", "OCIFT_COMPARTMENT_ID",
                   "OCIFT_AUTH"):
        assert needed in keys
    assert 'OCIFT_AUTH              = "resource_principal"' in text


def test_memory_and_timeouts_fit_oci_and_the_work() -> None:
    sizes = {name: (int(v["memory"]), int(v["timeout"]))
             for name, v in _locals()["stage_defaults"].items()}
    assert set(sizes) == {s.value for s in Stage}
    for stage, (memory, timeout) in sizes.items():
        assert memory in OCI_MEMORY_MB and 1 <= timeout <= 300, stage
    assert 256 <= sizes["convert"][0] <= 512 and sizes["convert"][1] <= 300
    assert sizes["infer"][1] <= 60
    for stage in ("train", "endpoint", "watch"):
        assert sizes[stage] == (256, 150)


def test_every_timeout_exceeds_its_sdk_retry_budget_from_one_table() -> None:
    """Timeout and SDK retry budget sit side by side in ``stage_defaults``; every function is
    configured with that budget, and the local target runs the same numbers (issue 23)."""
    from deploy.local.functions import DEFAULT_RETRY_SECONDS

    found = _locals()
    margin = int(found["timeout_margin_seconds"])
    assert margin >= 30
    for name, s in found["stage_defaults"].items():
        assert int(s["timeout"]) >= int(s["retry"]) + margin, name
        assert DEFAULT_RETRY_SECONDS[Stage(name)] == int(s["retry"]), name
    function = _resources("oci_functions_function")["stage"]
    text = json.dumps(function["config"])
    assert "OCIFT_RETRY_MAX_SECONDS" in text and "each.value.retry" in text
    assert "retry   = s.retry" in (TF_DIR / "functions.tf").read_text()


SAMPLE_VALUES = {
    "compartment_ocid": "ocid1.compartment.oc1..aaaaaaaasamplecompartment",
    "bucket_name": "sample-datasets",
    "region": "eu-frankfurt-1",
    "gateway_ocid": "ocid1.apigateway.oc1.eu-frankfurt-1.aaaaaaaasamplegateway",
    "schedule_ocid": "ocid1.resourceschedule.oc1.eu-frankfurt-1.aaaaaaaasampleschedule",
    "bucket_kms_key_ocid": "ocid1.key.oc1.eu-frankfurt-1.aaaaaaaasamplekey",
    "notification_topic_ocid": "",
    **{f"{s.value}_function_ocid": f"ocid1.fnfunc.oc1.eu-frankfurt-1.aaaaaaaasample{s.value}"
       for s in Stage},
}
SAMPLE_GROUPS = {s.value: f"sample-{s.value}-fn" for s in Stage}


def test_iam_tf_takes_every_statement_from_the_policy_data() -> None:
    text = (TF_DIR / "iam.tf").read_text()
    assert _allow_statements(text) == [], "statements belong in deploy/iam/*.json"
    assert 'source   = "./modules/iam_policy"' in text
    assert 'iam_root = "${path.module}/../iam"' in text
    for name in SAMPLE_VALUES:
        assert re.search(rf"\b{name}\s*=", text), name


def test_every_stage_statement_is_compartment_scoped_and_narrow() -> None:
    rendered = render(SAMPLE_VALUES, SAMPLE_GROUPS)
    assert set(rendered) == {*SAMPLE_GROUPS, "services", "tenancy"}
    scope = f"in compartment id {SAMPLE_VALUES['compartment_ocid']}"
    for stage in SAMPLE_GROUPS:
        assert rendered[stage], stage
        for statement in rendered[stage]:
            parsed = parse_statement(statement)
            assert parsed.subject.names == (SAMPLE_GROUPS[stage],)
            assert scope in statement and "all-resources" not in statement
            if parsed.resource_type in ("objects", "buckets"):
                assert "target.bucket.name = 'sample-datasets'" in statement
            if parsed.verb == "manage":
                assert "request.permission = " in statement, statement
            assert "OBJECT_DELETE" not in statement or "AbortMultipartUpload" in statement
    # convert reads raw/ only and never touches Generative AI; infer no objects at all.
    assert not any("generative-ai" in s for s in rendered["convert"])
    assert not any(" objects " in s or " buckets " in s for s in rendered["infer"])
    assert any("/raw/*/" in s for s in rendered["convert"])
    assert not any("/raw/*/" in s for st in ("train", "endpoint", "watch", "infer")
                   for s in rendered[st])


def test_service_statements_pin_the_gateway_and_grant_lifecycle_and_kms() -> None:
    services = render(SAMPLE_VALUES, SAMPLE_GROUPS)["services"]
    assert any("objectstorage-eu-frankfurt-1 to manage object-family" in s for s in services)
    assert any("use keys" in s and "aaaaaaaasamplekey" in s for s in services)
    gateway = [s for s in services if "ApiGateway" in s]
    assert gateway and all(SAMPLE_VALUES["gateway_ocid"] in s for s in gateway)
    without_key = render({**SAMPLE_VALUES, "bucket_kms_key_ocid": ""}, SAMPLE_GROUPS)
    assert not any("use keys" in s for s in without_key["services"])


@pytest.mark.skipif(TERRAFORM is None, reason="terraform binary not installed")
def test_terraform_renders_the_statements_the_local_target_enforces(tmp_path: Path) -> None:
    """templatefile() over deploy/iam gives exactly what deploy.local.policies renders."""
    assert TERRAFORM is not None
    values = ", ".join(f'{k} = "{v}"' for k, v in SAMPLE_VALUES.items())
    groups = ", ".join(f'{k} = "{v}"' for k, v in SAMPLE_GROUPS.items())
    (tmp_path / "main.tf").write_text(
        'module "iam" {\n'
        f'  source         = "{TF_DIR / "modules" / "iam_policy"}"\n'
        f'  iam_root       = "{ROOT / "deploy" / "iam"}"\n'
        f"  values         = {{ {values} }}\n"
        f"  dynamic_groups = {{ {groups} }}\n"
        "}\n"
        'output "statements" {\n  value = module.iam.statements\n}\n'
    )
    rendered = _terraform_output(tmp_path, "statements")
    assert rendered == render(SAMPLE_VALUES, SAMPLE_GROUPS)
    for statements in rendered.values():
        for statement in statements:
            parse_statement(statement)  # the emulator's parser accepts what Terraform deploys


def test_dynamic_groups_match_each_function_by_ocid() -> None:
    group = _resources("oci_identity_dynamic_group")["stage"]
    assert group["for_each"] == "${local.stages}"
    rule = _unquote(group["matching_rule"])
    assert "resource.type = 'fnfunc'" in rule
    assert "resource.id = '${oci_functions_function.stage[each.key].id}'" in rule


def test_bucket_is_private_with_object_events() -> None:
    bucket = _resources("oci_objectstorage_bucket")["datasets"]
    assert bucket["object_events_enabled"] is True
    assert bucket["access_type"] == '"NoPublicAccess"'


def test_watcher_is_scheduled_and_gateway_routes_infer() -> None:
    schedule = _resources("oci_resource_scheduler_schedule")["watch"]
    assert schedule["resources"][0]["id"] == '${oci_functions_function.stage["watch"].id}'
    assert "functionsschedulingfunctions" in (TF_DIR / "schedule.tf").read_text()
    deployment = _resources("oci_apigateway_deployment")["infer"]
    route = deployment["specification"][0]["routes"][0]
    assert _unquote(route["path"]) == "/infer" and route["methods"] == ['"POST"']
    assert route["backend"][0]["function_id"] == '${oci_functions_function.stage["infer"].id}'
    logging = deployment["specification"][0]["logging_policies"][0]
    assert logging["access_log"][0]["is_enabled"] is True
    logs = _resources("oci_logging_log")
    assert {"functions", "gateway"} <= set(logs)


def test_variables_and_outputs_are_documented() -> None:
    for block in _load(TF_DIR / "variables.tf")["variable"]:
        for name, body in block.items():
            assert body.get("description"), name
    for name in ("tenancy_ocid", "compartment_ocid", "subnet_ocid", "image"):
        body = next(b[f'"{name}"'] for b in _load(TF_DIR / "variables.tf")["variable"]
                    if f'"{name}"' in b)
        assert "validation" in body, name
    outputs = {_unquote(k) for b in _load(TF_DIR / "outputs.tf")["output"] for k in b}
    assert {"bucket_name", "namespace", "infer_url", "function_ids", "event_rule_ids"} <= outputs


def test_resource_manager_schema_covers_every_variable() -> None:
    import yaml

    schema = yaml.safe_load((TF_DIR / "schema.yaml").read_text())
    declared = {
        _unquote(name): body
        for block in _load(TF_DIR / "variables.tf")["variable"] for name, body in block.items()
    }
    assert set(schema["variables"]) == set(declared)
    grouped = [v for group in schema["variableGroups"] for v in group["variables"]]
    assert sorted(grouped) == sorted(declared)
    for name, body in declared.items():
        if "default" not in body:
            assert schema["variables"][name].get("required") is True, name


def test_local_function_limits_match_what_terraform_deploys() -> None:
    """deploy/local runs each stage with the memory and timeout the Terraform gives it."""
    from deploy.local.functions import DEFAULT_MEMORY, DEFAULT_TIMEOUTS

    stage_defaults = _load(TF_DIR / "functions.tf")["locals"][0]["stage_defaults"]
    assert set(stage_defaults) == {s.value for s in Stage}
    for stage in Stage:
        assert DEFAULT_MEMORY[stage] == stage_defaults[stage.value]["memory"], stage
        assert DEFAULT_TIMEOUTS[stage] == stage_defaults[stage.value]["timeout"], stage


def test_readme_lists_every_policy_statement_with_its_reason() -> None:
    """deploy/oci/README.md shows exactly the statements deploy/iam/ holds (regenerate with
    ``python -m deploy.local.policies``)."""
    from deploy.local.policies import load_policy_files, markdown

    readme = (TF_DIR / "README.md").read_text(encoding="utf-8")
    assert markdown(load_policy_files()) in readme
