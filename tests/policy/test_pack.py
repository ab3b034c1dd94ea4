"""policy/__main__.py, the pack's entry point, run with a stand-in PolicyPack (the real one serves forever):
it declares every rule at its level, and its adapters hand the rules plain data, preview unknowns included."""

from __future__ import annotations

import json
import runpy
from typing import Any

import pulumi
import pulumi_policy
import pytest
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

from config import PROJECT_DIR, read_stack_file
from policy import rules

PACK = PROJECT_DIR / "policy"


@pytest.fixture
def pack(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    built: dict[str, Any] = {}

    class StandIn:
        def __init__(self, name: str, policies: list[Any], **kwargs: Any) -> None:
            built.update(name=name, policies=policies, **kwargs)

    monkeypatch.setattr(pulumi_policy, "PolicyPack", StandIn)
    runpy.run_path(str(PACK / "__main__.py"), run_name="maya_policy_pack")
    return built


def test_pack_files_run_in_the_project_venv() -> None:
    text = (PACK / "PulumiPolicy.yaml").read_text()
    assert "runtime:\n  name: python" in text and "virtualenv: ../venv" in text
    assert (PACK / "../venv").resolve() == (PROJECT_DIR / "venv").resolve()
    assert "pulumi-policy==" in (PROJECT_DIR / "requirements.txt").read_text()


def test_pack_declares_every_rule_at_its_level(pack: dict[str, Any]) -> None:
    assert pack["name"] == "maya-infra"
    declared = {p.name: p for p in pack["policies"]}
    assert list(declared) == [p.name for p in rules.POLICIES]
    assert "github-written-by-production-only" in declared  # the trust family too (policy/rules/trust.py)
    for rule in rules.POLICIES:
        policy = declared[rule.name]
        want = EnforcementLevel.MANDATORY if rule.level == rules.MANDATORY else EnforcementLevel.ADVISORY
        assert policy.enforcement_level == want
        kind = ResourceValidationPolicy if rule.resource_check else StackValidationPolicy
        assert isinstance(policy, kind)


def _opts(secret_outputs: list[str] | None = None) -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), secret_outputs or [])


def _validate(pack: dict[str, Any], name: str, type_: str, props: dict[str, Any], **kw: Any) -> list[str]:
    policy = next(p for p in pack["policies"] if p.name == name)
    urn = f"urn:pulumi:staging::maya-infra::{type_}::r"
    args = ResourceValidationArgs(type_, unknown_checking_proxy(props), urn, "r", _opts(**kw), None)
    reported: list[str] = []
    policy.validate(args, lambda message, _urn=None: reported.append(message))
    return reported


def test_resource_policies_report_through_the_adapter(pack: dict[str, Any]) -> None:
    bad = {"healthcheck_path": "/api/health", "pre_deploy_command": "echo skip"}
    found = _validate(pack, "railway-health-and-migrations", rules.RAILWAY_INSTANCE, bad)
    assert len(found) == 1 and "does not run the migrations" in found[0]
    good = {"healthcheck_path": "/api/health", "pre_deploy_command": rules.MIGRATION_COMMAND}
    assert _validate(pack, "railway-health-and-migrations", rules.RAILWAY_INSTANCE, good) == []


def test_preview_unknowns_are_not_violations(pack: dict[str, Any]) -> None:
    unknown = {"healthcheck_path": UNKNOWN_STRING_VALUE, "pre_deploy_command": UNKNOWN_STRING_VALUE}
    assert _validate(pack, "railway-health-and-migrations", rules.RAILWAY_INSTANCE, unknown) == []


def test_additional_secret_outputs_reach_the_rules(pack: dict[str, Any]) -> None:
    props = {"project_id": UNKNOWN_STRING_VALUE, "variables": {"JWT_SECRET_KEY": "x"}}
    assert _validate(pack, "credentials-are-secrets", rules.RAILWAY_VARIABLES, props)
    ok = _validate(pack, "credentials-are-secrets", rules.RAILWAY_VARIABLES, props, secret_outputs=["variables"])
    assert ok == []


def test_stack_policies_use_the_running_stacks_config(pack: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    raw, _secret = read_stack_file("staging")
    monkeypatch.setenv(
        "PULUMI_CONFIG", json.dumps({k: v if isinstance(v, str) else json.dumps(v) for k, v in raw.items()})
    )
    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", "[]")
    monkeypatch.setattr(pulumi, "get_stack", lambda: "staging")
    policy = next(p for p in pack["policies"] if p.name == "stacks-share-nothing")
    domain = rules.RAILWAY_CUSTOM_DOMAIN
    resources = [
        PolicyResource(
            domain,
            unknown_checking_proxy({"domain": "api.mayassistant.com", "service_id": UNKNOWN_STRING_VALUE}),
            f"urn:pulumi:staging::maya-infra::{domain}::backend-custom-domain",
            "backend-custom-domain",
            _opts(),
            None,
            None,
            [],
            {},
        )
    ]
    reported: list[tuple[str, str | None]] = []
    policy.validate(StackValidationArgs(resources), lambda m, urn=None: reported.append((m, urn)))
    assert len(reported) == 1 and "also belongs to stack 'production'" in reported[0][0]
    assert reported[0][1] == resources[0].urn


def test_the_pack_never_reads_secret_values_into_messages(pack: dict[str, Any]) -> None:
    leaked = _validate(
        pack,
        "no-plaintext-credential-values",
        rules.GH_ENV_VARIABLE,
        {"variableName": "DB", "value": "postgresql://maya:hunter22pw@db.internal:5432/maya"},
    )
    assert leaked and not any("hunter22pw" in m for m in leaked)


def test_pack_is_not_importable_by_accident() -> None:
    # `import policy` must stay cheap and side-effect free: only __main__ builds the pack.
    files = [PACK / "__init__.py", PACK / "credentials.py", *sorted((PACK / "rules").glob("*.py"))]
    assert len(files) > 3, "policy/rules/ holds the rules, one module per family"
    for path in files:
        text = path.read_text()
        assert "PolicyPack(" not in text and "import pulumi_policy" not in text and "from pulumi_policy" not in text
