"""terraform/ checked without a cloud: it parses, its variables and module calls agree, its names
are the control plane's, the seed's per-environment rules hold (evaluated by real Terraform), it
is fmt-clean, and checkov finds nothing that is not skipped with a reason in place."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import hcl2
import pytest

from cdc_ops.proxy.saturation import NAMESPACE as RDS_NAMESPACE
from cdc_ops.settings import AutoStop, Settings, Thresholds, load_settings
from cdc_ops.tools.packaging import LAMBDAS, PYTHON_VERSION
from tests.conftest import ROOT
from tests.terraform.hcl import (
    MODULES,
    REQUIRED_FILES,
    TERRAFORM,
    all_tf_files,
    blocks,
    code_text,
    locals_of,
    made_values,
    module_dirs,
    outputs,
    resolve_name,
    resources,
    unquote,
    variables,
    variables_used,
)

ISSUE_MODULES = {
    "aurora",
    "aurora-dsql",
    "rds-proxy",
    "aurora-auto-stop",
    "aurora-auto-start",
    "lambda",
    "alarms",
    "dagster",
}
META_ARGUMENTS = {"source", "version", "count", "for_each", "depends_on", "providers"}
ENVIRONMENTS = ("dev", "test", "prod")
# scripts/setup-terraform.sh finds or builds both and names them in TERRAFORM_BIN and
# TERRAFORM_PLUGIN_DIR (scripts/test.sh exports them); without those, PATH and the machine image's.
TERRAFORM_BIN = shutil.which(os.environ.get("TERRAFORM_BIN") or "terraform")
needs_terraform = pytest.mark.skipif(
    TERRAFORM_BIN is None, reason="no terraform binary on this machine"
)
# The AWS provider cannot be downloaded here; this machine image carries one (5.100.0).
PLUGIN_DIR = Path(os.environ.get("TERRAFORM_PLUGIN_DIR") or "/opt/tf-plugins")
AWS_PROVIDER = next(
    PLUGIN_DIR.glob("registry.terraform.io/hashicorp/aws/*/*/terraform-provider-aws_*"), None
)
needs_provider = pytest.mark.skipif(
    TERRAFORM_BIN is None or AWS_PROVIDER is None,
    reason=f"no terraform binary or no AWS provider in {PLUGIN_DIR}",
)

# Actions whose resource AWS only accepts as "*" (no resource-level permissions).
AWS_REQUIRES_STAR = {
    "cloudwatch:GetMetricData",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
    "ecr:GetAuthorizationToken",
}


def _dirs() -> list[Path]:
    return [TERRAFORM, *module_dirs()]


def _id(path: Path) -> str:
    return str(path.relative_to(TERRAFORM)) if path != TERRAFORM else "root"


# -- structure ---------------------------------------------------------------------------------


def test_every_module_of_the_issue_exists_with_its_files() -> None:
    present = {p.name for p in module_dirs()}
    assert present >= ISSUE_MODULES, ISSUE_MODULES - present
    for directory in module_dirs():
        missing = [f for f in REQUIRED_FILES if not (directory / f).is_file()]
        assert not missing, f"{_id(directory)} lacks {missing}"


@pytest.mark.parametrize("path", all_tf_files() + sorted(TERRAFORM.glob("envs/*.tfvars")), ids=_id)
def test_every_file_parses(path: Path) -> None:
    with open(path) as f:
        assert isinstance(hcl2.load(f), dict)


@pytest.mark.parametrize("directory", _dirs(), ids=_id)
def test_variables_are_typed_described_declared_and_used(directory: Path) -> None:
    declared = variables(directory)
    assert declared, f"{_id(directory)} declares no variables"
    for name, body in declared.items():
        assert "type" in body, f"{_id(directory)}: variable {name} has no type"
        assert body.get("description"), f"{_id(directory)}: variable {name} has no description"
    used = variables_used(directory)
    assert not used - declared.keys(), f"{_id(directory)} uses undeclared {used - declared.keys()}"
    assert not declared.keys() - used, f"{_id(directory)} never uses {declared.keys() - used}"


def _module_calls(directory: Path = TERRAFORM) -> list[tuple[str, dict, Path]]:
    return [
        (label, body, (directory / body["source"]).resolve())
        for label, body in blocks(directory, "module")
    ]


def test_module_calls_pass_declared_inputs_and_every_required_one() -> None:
    root_calls = _module_calls()
    assert {source.name for _, _, source in root_calls} >= ISSUE_MODULES
    calls = [(d, call) for d in _dirs() for call in _module_calls(d)]
    assert len(calls) > len(root_calls)  # modules call modules too (aurora-control-function)
    for directory, (label, body, source) in calls:
        where = f"{_id(directory)}: module.{label}"
        declared = variables(source)
        passed = set(body) - META_ARGUMENTS
        assert not passed - declared.keys(), f"{where} passes undeclared {passed - declared.keys()}"
        required = {name for name, var in declared.items() if "default" not in var}
        assert not required - passed, f"{where} misses required {required - passed}"


def test_every_module_output_the_root_reads_exists() -> None:
    sources = {label: source for label, _, source in _module_calls()}
    text = "\n".join(code_text(p) for p in sorted(TERRAFORM.glob("*.tf")))
    aliases = dict(re.findall(r"(\w+)\s*=\s*one\(module\.(\w+)\[\*\]\)", text))
    refs = set(re.findall(r"module\.(\w+)(?:\[[^\]]*\])?\.(\w+)", text))
    refs |= {
        (aliases[a], out) for a, out in re.findall(r"local\.(\w+)\.(\w+)", text) if a in aliases
    }
    assert refs
    for label, output in sorted(refs):
        assert output in outputs(sources[label]), f"module.{label} has no output {output}"


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_each_environment_sets_only_declared_root_variables(environment: str) -> None:
    values = _tfvars(environment)
    declared = variables(TERRAFORM)
    assert not values.keys() - declared.keys(), values.keys() - declared.keys()
    required = {name for name, var in declared.items() if "default" not in var}
    assert required <= values.keys(), required - values.keys()
    assert values["environment"] == environment


def _tfvars(environment: str) -> dict:
    with open(TERRAFORM / "envs" / f"{environment}.tfvars") as f:
        return unquote(hcl2.load(f))


# -- the seed's rules, evaluated by Terraform itself -----------------------------------------------

EXPECTED_PARTS = {
    "dev": {"aurora", "lambda_pg"},
    "test": {"aurora", "lambda_pg", "rds_proxy", "auto_stop", "auto_start", "dagster", "alarms"},
    "prod": {"aurora", "lambda_pg", "rds_proxy", "dagster", "alarms"},
}


@pytest.fixture(scope="module")
def rules_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """modules/environment-rules needs no provider, so `terraform init` works offline."""
    directory = tmp_path_factory.mktemp("rules") / "environment-rules"
    shutil.copytree(MODULES / "environment-rules", directory)
    _terraform(directory, "init", "-input=false", "-no-color")
    return directory


def _terraform(directory: Path, *args: str, stdin: str | None = None) -> str:
    env = {**os.environ, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}
    command = [TERRAFORM_BIN or "terraform", f"-chdir={directory}", *args]
    done = subprocess.run(
        command, input=stdin, capture_output=True, text=True, env=env, timeout=120
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr or done.stdout)
    return done.stdout


def _enabled(rules_dir: Path, values: dict) -> set[str]:
    inputs = variables(MODULES / "environment-rules")
    root = variables(TERRAFORM)
    args = []
    for name in inputs:
        value = values.get(name, unquote(root[name].get("default")))
        args += ["-var", f"{name}={json.dumps(value) if isinstance(value, bool) else value}"]
    out = _terraform(rules_dir, "console", *args, stdin="jsonencode(local.enabled)\n")
    enabled = json.loads(json.loads(out.strip()))
    return {part for part, on in enabled.items() if on}


@needs_terraform
@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_each_environment_gets_the_parts_the_seed_gives_it(rules_dir: Path, environment) -> None:
    assert _enabled(rules_dir, _tfvars(environment)) == EXPECTED_PARTS[environment]


@needs_terraform
def test_no_switch_turns_a_part_on_outside_its_environments(rules_dir: Path) -> None:
    everything = {
        name: True for name in variables(MODULES / "environment-rules") if name != "environment"
    }
    assert "auto_stop" not in _enabled(rules_dir, {**everything, "environment": "prod"})
    assert "rds_proxy" not in _enabled(rules_dir, {**everything, "environment": "dev"})
    assert "auto_stop" not in _enabled(rules_dir, {**_tfvars("test"), "enable_auto_stop": False})


@needs_terraform
def test_an_unknown_environment_is_refused_by_name(rules_dir: Path) -> None:
    with pytest.raises(RuntimeError, match="environment must be one of dev, test, prod"):
        _enabled(rules_dir, {"environment": "staging"})


@pytest.fixture(scope="module")
def initialised_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of terraform/ initialised offline from the provider on this machine."""
    directory = tmp_path_factory.mktemp("root") / "terraform"
    shutil.copytree(TERRAFORM, directory, ignore=shutil.ignore_patterns(".terraform*"))
    _terraform(directory, "init", "-input=false", "-no-color", f"-plugin-dir={PLUGIN_DIR}")
    return directory


@needs_provider
def test_the_root_and_every_module_validate_against_the_aws_provider(initialised_root) -> None:
    assert "The configuration is valid" in _terraform(initialised_root, "validate", "-no-color")


@needs_provider
def test_terraform_test_plans_every_environment_on_a_mocked_provider(
    initialised_root: Path, tmp_path: Path
) -> None:
    """terraform/tests/*.tftest.hcl: a whole plan per environment, and the refusal of a bad one.
    The zips only need to exist (their hash is read at plan time)."""
    for package in LAMBDAS:
        (tmp_path / f"{package}.zip").write_bytes(b"stand-in for `cdc-ops lambda package`")
    out = _terraform(initialised_root, "test", "-no-color", "-var", f"dist_dir={tmp_path}")
    assert re.search(r"Success! (\d+) passed, 0 failed", out), out
    assert int(re.search(r"(\d+) passed", out).group(1)) >= 4, out


# -- names and contracts shared with the control plane -------------------------------------------


def _named(module: str, rtype: str, attribute: str) -> list[str]:
    return [
        value
        for t, _, body in resources(MODULES / module)
        if t == rtype
        for value in made_values(MODULES / module, body, attribute)
    ]


@pytest.mark.parametrize("project", ["cdc-streaming", "acme-cdc"])
@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_names_are_the_control_plane_names(project: str, environment: str) -> None:
    names = load_settings(names={"project": project, "environment": environment}).names

    def made(module: str, rtype: str, attribute: str) -> set[str]:
        return {
            resolve_name(MODULES / module, t, project, environment)
            for t in _named(module, rtype, attribute)
        }

    assert made("aurora", "aws_rds_cluster", "cluster_identifier") == {names.cluster_id}
    assert made("rds-proxy", "aws_db_proxy", "name") == {names.proxy_name}
    # the auto-stop reads AWS/ApiGateway Count by ApiName: a REST API of exactly this name
    assert names.api_name in made("lambda", "aws_api_gateway_rest_api", "name")


def test_lambdas_run_the_packaged_handlers_on_the_packaged_python() -> None:
    by_suffix = {
        "-producer-api-pg": "producer_api_pg",
        "-producer-api-dsql": "producer_api_dsql",
        "-aurora-auto-stop": "auto_stop",
        "-aurora-auto-start": "auto_start",
    }
    handlers = {}  # function name suffix -> handler
    for directory in module_dirs():
        for rtype, _, body in resources(directory):
            if rtype == "aws_lambda_function":
                assert body["runtime"] == f"python{PYTHON_VERSION}", body["runtime"]
                if body["handler"] != "${var.handler}":
                    names = made_values(directory, body, "function_name")
                    made = made_values(directory, body, "handler")
                    made = made * len(names) if len(made) == 1 else made
                    for name, handler in zip(names, made, strict=True):
                        name = resolve_name(directory, name, "p", "e")
                        handlers[name.removeprefix("p-e")] = handler
        # the shared function of the auto-start and the auto-stop, named after its purpose
        for _, body, source in _module_calls(directory):
            if source.name == "aurora-control-function":
                handlers[f"-aurora-{body['purpose']}"] = body["handler"]
    assert set(handlers) == set(by_suffix)
    for suffix, handler in handlers.items():
        assert handler == LAMBDAS[by_suffix[suffix]].handler, suffix
    text = code_text(TERRAFORM / "main.tf")
    for package in LAMBDAS:
        assert f'"${{var.dist_dir}}/{package}.zip"' in text


def _setting_exists(env_var: str) -> bool:
    if env_var == "CDC_OPS_ENV":
        return True
    model: type = Settings
    for part in env_var.removeprefix("CDC_OPS_").lower().split("__"):
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return False
        model = field.annotation
    return True


def test_every_cdc_ops_variable_terraform_sets_is_a_setting() -> None:
    found = set()
    for path in all_tf_files():
        found |= set(re.findall(r"\bCDC_OPS_[A-Z0-9_]*[A-Z0-9]\b", code_text(path)))
    unknown = sorted(v for v in found if not _setting_exists(v))
    assert not unknown, f"not cdc-ops settings: {unknown}"
    # what ties the deployed parts to the same resources
    assert {
        "CDC_OPS_ENV",
        "CDC_OPS_NAMES__CLUSTER_ID",
        "CDC_OPS_NAMES__API_NAME",
        "CDC_OPS_DATABASE__PASSWORD_SECRET_ARN",
        "CDC_OPS_DAGSTER__POSTGRES_STORAGE_URL",
    } <= found


def test_alarms_watch_the_metrics_the_control_plane_reads() -> None:
    alarms = {
        body["metric_name"]: body
        for rtype, _, body in resources(MODULES / "alarms")
        if rtype == "aws_cloudwatch_metric_alarm"
    }
    latency = alarms["DatabaseConnectionsBorrowLatency"]
    assert latency["namespace"] == RDS_NAMESPACE
    assert "ProxyName" in latency["dimensions"]
    slot = alarms["ReplicationSlotDiskUsage"]
    assert slot["namespace"] == "AWS/RDS" and "DBClusterIdentifier" in slot["dimensions"]
    errors = alarms["Errors"]
    assert errors["namespace"] == "AWS/Lambda" and "FunctionName" in errors["dimensions"]
    runbook = (ROOT / "docs" / "runbook.md").read_text()
    anchors = set(re.findall(r"^## ([a-z0-9-]+)$", runbook, flags=re.M))
    runbook_local = locals_of(MODULES / "alarms")["runbook"]
    for body in alarms.values():
        description = body["alarm_description"].replace("${local.runbook}", runbook_local)
        link = re.search(r"docs/runbook\.md#([a-z0-9-]+)", description)
        assert link and link.group(1) in anchors, description
    declared = variables(MODULES / "alarms")
    thresholds = Thresholds()
    # microseconds, as CloudWatch publishes it; the same default as the proxy sensor's warning
    assert (
        declared["borrow_latency_threshold_us"]["default"]
        == thresholds.borrow_latency_warn_ms * 1000
    )
    assert (
        declared["replication_slot_disk_usage_threshold_bytes"]["default"]
        == thresholds.slot_lag_warn_bytes
    )


def test_seed_sizing_of_rds_proxy_and_the_auto_stop() -> None:
    proxy = variables(MODULES / "rds-proxy")
    assert proxy["max_connections_percent"]["default"] == 80
    assert proxy["max_idle_connections_percent"]["default"] == 50
    assert proxy["connection_borrow_timeout"]["default"] == 120
    stop = variables(MODULES / "aurora-auto-stop")
    assert stop["schedule_expression"]["default"] == "rate(1 hour)"
    window = AutoStop().inactivity_window_h
    assert stop["inactivity_hours"]["default"] == window
    assert variables(TERRAFORM)["inactivity_hours"]["default"] == window
    # the cluster parameter group turns logical replication on (static: pending-reboot)
    aurora = code_text(MODULES / "aurora" / "main.tf")
    assert re.search(r'name\s*=\s*"rds\.logical_replication",\s*value\s*=\s*"1"', aurora)
    assert "aws_rds_cluster_parameter_group" in aurora


# -- IAM -------------------------------------------------------------------------------------------


def _statements() -> list[tuple[str, bool, dict]]:
    """(where, is a KMS key policy, statement) for every policy document."""
    found = []
    for directory in _dirs():
        key_policies = {
            m
            for rtype, _, body in resources(directory)
            if rtype == "aws_kms_key"
            for m in re.findall(
                r"data\.aws_iam_policy_document\.(\w+)(?:\[\d+\])?\.json", body.get("policy", "")
            )
        }
        local_values = locals_of(directory)
        for rtype, name, body in resources(directory, "data"):
            if rtype == "aws_iam_policy_document":
                # plain statements, and the content of `dynamic "statement"` blocks
                dynamic = [
                    content
                    for block in body.get("dynamic", [])
                    for content in block.get("statement", {}).get("content", [])
                ]
                for parsed in [*body.get("statement", []), *dynamic]:
                    statement = copy.deepcopy(parsed)  # the parse is cached: normalise a copy
                    if isinstance(statement.get("actions"), str):  # an expression
                        statement["actions"] = [statement["actions"]]
                    for principal in statement.get("principals", []):
                        # a principal named through a local ("${local.root}"): its value
                        principal["identifiers"] = [
                            local_values.get(i[8:-1], i) if i.startswith("${local.") else i
                            for i in principal.get("identifiers", [])
                        ]
                    found.append((f"{_id(directory)}:{name}", name in key_policies, statement))
    return found


def _is_key_policy_admin(statement: dict) -> bool:
    identifiers = [i for p in statement.get("principals", []) for i in p.get("identifiers", [])]
    return (
        statement.get("actions") == ["kms:*"]
        and all(":root" in i for i in identifiers)
        and identifiers
    )


def test_iam_has_no_wildcard_beyond_what_aws_requires() -> None:
    statements = _statements()
    assert len(statements) > 20
    for where, key_policy, statement in statements:
        assert "not_actions" not in statement and "not_resources" not in statement, where
        actions = statement.get("actions", [])
        admin = key_policy and _is_key_policy_admin(statement)
        # an expression's action names are its string literals
        names = [n for a in actions for n in (re.findall(r'"([^"]*)"', a) if "${" in a else [a])]
        for action in names:
            assert admin or not set("*?") & set(action), f"{where}: wildcard action {action}"
        # in a key policy "*" is the key itself: a key policy names no other resource
        if "*" in statement.get("resources", []):
            assert key_policy or set(actions) <= AWS_REQUIRES_STAR, (
                f"{where}: resource * for {sorted(set(actions) - AWS_REQUIRES_STAR)}"
            )
    for path in all_tf_files():
        assert '"Action"' not in code_text(path), f"{_id(path)}: write policies as documents"


def test_every_wildcard_is_commented_where_it_is() -> None:
    wildcard = re.compile(r'^\s*(resources|actions)\s*=\s*\[[^\]]*"(\*|kms:\*)"')
    found = 0
    for path in all_tf_files():
        lines = path.read_text().splitlines()
        for number, line in enumerate(lines):
            if wildcard.search(line):
                found += 1
                above = next((x.strip() for x in reversed(lines[:number]) if x.strip()), "")
                assert above.startswith("#"), f"{_id(path)}:{number + 1}: no comment says why"
    assert found


# -- tools -----------------------------------------------------------------------------------------


@needs_terraform
def test_terraform_fmt_is_clean() -> None:
    command = [TERRAFORM_BIN or "terraform", "fmt", "-check", "-recursive", "-diff", str(TERRAFORM)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_checkov_fails_nothing_and_every_skip_says_why() -> None:
    checkov = ROOT / ".venv-checkov" / "bin" / "checkov"
    if not checkov.exists():
        pytest.fail("checkov is missing: run scripts/setup.sh (it installs .venv-checkov)")
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CKV_NO_UPDATE_CHECK": "1"}
    done = subprocess.run(
        [
            str(checkov),
            "-d",
            str(TERRAFORM),
            "--framework",
            "terraform",
            "-o",
            "json",
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    report = json.loads(done.stdout)
    results, summary = report["results"], report["summary"]
    failed = [
        f"{c['check_id']} {c['resource']} {c['file_path']}:{c['file_line_range'][0]}"
        for c in results["failed_checks"]
    ]
    assert not failed, "\n".join(failed)
    assert summary["passed"] > 200, summary  # the scan really looked at the modules
    for check in results["skipped_checks"]:
        reason = (check["check_result"].get("suppress_comment") or "").strip()
        assert len(reason) >= 20 and reason != "No comment provided", (
            f"{check['check_id']} {check['resource']}: skipped without a reason"
        )
