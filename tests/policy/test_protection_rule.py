"""The mandatory rule "no delete or replace of a stateful resource in production", on the real program's
resources with the options the program registers them with, and through the pack's adapter."""

from __future__ import annotations

import runpy
from typing import Any

import pulumi_policy
import pytest
from pulumi_policy import PolicyCustomTimeouts, PolicyResourceOptions, ResourceValidationArgs
from pulumi_policy.proxy import unknown_checking_proxy

from config import PROJECT_DIR
from policy import rules
from tests.components.program import run_program
from tests.components.test_safety import PROTECTED

RULE = rules.BY_NAME["production-data-never-deleted-or-replaced"]


def _declared(stack: str) -> list[rules.Resource]:
    """The program's resources as the pack sees them: inputs plus the protect/delete-before-replace options."""
    mocks = run_program(stack).mocks
    out = []
    for r in mocks.resources:
        opts = mocks.options[r.name]
        out.append(
            rules.Resource(
                r.typ,
                mocks.urn(r),
                dict(r.inputs),
                protect=opts.protect,
                delete_before_replace=opts.delete_before_replace,
            )
        )
    return out


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_the_program_as_declared_passes(stack: str) -> None:
    assert [v for r in _declared(stack) for v in rules.check_resource(r, [RULE])] == []


def test_production_object_without_protect_is_refused_naming_it_and_the_safe_path() -> None:
    postgres = next(r for r in _declared("production") if r.name == "backend-postgres")
    unprotected = rules.Resource(postgres.type, postgres.urn, postgres.props, protect=False)
    [message] = rules.check_resource(unprotected, [RULE])
    assert RULE.level == rules.MANDATORY
    assert message.message.startswith("backend-postgres is the PostgreSQL service and its volume (production's data)")
    assert "pulumi state unprotect" in message.message and "renames are in-place updates" in message.message


def test_every_protected_kind_is_covered_and_redirects_are_not() -> None:
    stateful = {r.name for r in _declared("production") if rules._is_stateful(r)}
    assert stateful == set(PROTECTED)  # the redirect domain (www) holds no name of ours


def test_delete_before_replace_on_production_data_is_refused() -> None:
    project = next(r for r in _declared("production") if r.name == "backend-project")
    risky = rules.Resource(project.type, project.urn, project.props, protect=True, delete_before_replace=True)
    assert "deleted before it is replaced" in rules.check_resource(risky, [RULE])[0].message


def test_unknown_options_and_staging_are_silent() -> None:
    project = next(r for r in _declared("production") if r.name == "backend-project")
    assert rules.check_resource(rules.Resource(project.type, project.urn, project.props), [RULE]) == []
    staging = next(r for r in _declared("staging") if r.name == "backend-project")
    assert rules.check_resource(rules.Resource(staging.type, staging.urn, staging.props, protect=False), [RULE]) == []


@pytest.fixture
def built_pack(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """policy/__main__.py run with a stand-in PolicyPack (the real one serves forever)."""
    built: dict[str, Any] = {}
    monkeypatch.setattr(pulumi_policy, "PolicyPack", lambda name, policies, **kw: built.update(policies=policies))
    runpy.run_path(str(PROJECT_DIR / "policy" / "__main__.py"), run_name="maya_policy_pack")
    return built


def test_the_pack_adapter_hands_the_protect_option_to_the_rule(built_pack: dict[str, Any]) -> None:
    policy = next(p for p in built_pack["policies"] if p.name == RULE.name)
    type_ = rules.RAILWAY_POSTGRES
    urn = f"urn:pulumi:production::maya-infra::maya:railway:Backend${type_}::backend-postgres"
    reported: list[str] = []
    for protect in (True, False):
        opts = PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
        args = ResourceValidationArgs(type_, unknown_checking_proxy({"service_name": "Postgres"}), urn, "p", opts, None)
        policy.validate(args, lambda message, _urn=None: reported.append(message))
    assert len(reported) == 1 and "is not protected" in reported[0]


def test_the_audit_reports_a_production_state_whose_data_is_unprotected() -> None:
    """A state records `protect`: an export from before protection (or after an unprotect) is reported."""
    import json

    state = json.loads((PROJECT_DIR / "tests" / "ops" / "fixtures" / "audit" / "state-production.json").read_text())
    resources = state["deployment"]["resources"]

    def audited(strip: bool) -> list[str]:
        found = []
        for r in resources:
            protect = bool(r.get("protect")) and not strip
            res = rules.from_serialized(r["type"], r["urn"], r.get("inputs") or {}, r.get("outputs"), protect=protect)
            found += [v.message for v in rules.check_resource(res, [RULE])]
        return found

    assert audited(strip=False) == []
    unprotected = audited(strip=True)
    assert len(unprotected) == 5 and any(m.startswith("backend-postgres is the PostgreSQL") for m in unprotected)
