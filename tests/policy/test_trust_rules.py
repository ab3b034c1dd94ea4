"""The blast-radius rules (policy/rules/trust.py, docs/trust.md), called directly: the real program of both stacks
passes them; each unsafe configuration is refused with one message naming what and where."""

from __future__ import annotations

import copy
from typing import Any

import pytest

import config
from config import STACKS, load_from_stack_file
from policy import rules
from policy.rules import Resource, trust
from tests.policy.test_rules import changed, facts, one, program, res

HANDED = "maya:github:HandedOff$maya:github:Pipeline$"
TRUST_CHECKS = {
    trust.github_written_by_production_only,
    trust.stacks_in_separate_accounts,
    trust.handed_off_half_is_the_other_stacks,
    trust.pull_request_secrets_wait_for_a_reviewer,
    trust.required_checks_from_github_actions,
}


def _violations(check: Any, resources: Any, stack_facts: rules.StackFacts) -> list[tuple[str, str | None]]:
    return list(check(resources, stack_facts))


def _moved(r: Resource, urn: str) -> Resource:
    return Resource(r.type, urn, copy.deepcopy(dict(r.props)), r.secret_props, r.secrets_visible)


def _handed(resources: tuple[Resource, ...]) -> list[Resource]:
    return [r for r in resources if rules.is_handed_off(r)]


@pytest.mark.parametrize("stack", STACKS)
def test_the_real_program_passes_the_trust_rules(stack: str) -> None:
    resources = program(stack)
    names = {p.name for p in rules.POLICIES if p.stack_check in TRUST_CHECKS or p.resource_check in TRUST_CHECKS}
    assert len(names) == 5
    found = [v for v in rules.check_all(resources, facts(stack)) if v.policy in names]
    assert found == []
    if stack == "production":  # it declares staging's GitHub half, under the hand-off component
        assert {r.get("environment") for r in _handed(resources)} >= {"staging", "staging-alerts", "preview"}


# ---- github-written-by-production-only ----------------------------------------------------------------------------
def test_a_github_resource_in_staging_is_refused() -> None:
    check = trust.github_written_by_production_only
    assert _violations(check, program("staging"), facts("staging")) == []
    stray = res(rules.GH_ENV_SECRET, {"environment": "staging", "secretName": "X"}, stack="staging", name="x")
    provider = res("pulumi:providers:github", {"owner": "mayassistant"}, stack="staging", name="github")
    found = _violations(check, [*program("staging"), stray, provider], facts("staging"))
    assert [urn for _, urn in found] == [stray.urn, provider.urn]
    assert "written by its approved pipeline only" in found[0][0] and "staging hands its values over" in found[0][0]


def test_staging_holding_the_github_token_is_refused() -> None:
    staging = load_from_stack_file("staging")
    holding = staging.model_copy(update={"declared_secrets": frozenset({"githubToken"})})
    stack_facts = rules.facts_from_config(holding, load_from_stack_file("production"), "staging")
    ((message, urn),) = _violations(trust.github_written_by_production_only, program("staging"), stack_facts)
    assert "holds maya-infra:githubToken" in message and urn is None


# ---- stacks-in-separate-accounts ------------------------------------------------------------------------------------
def _facts_with(stack: str, **changes: dict[str, Any]) -> rules.StackFacts:
    configs = {}
    for name in STACKS:
        cfg = load_from_stack_file(name)
        for section, values in changes.get(name, {}).items():
            cfg = cfg.model_copy(update={section: getattr(cfg, section).model_copy(update=values)})
        configs[name] = cfg
    other = next(s for s in STACKS if s != stack)
    return rules.facts_from_config(configs[stack], configs[other], stack)


@pytest.mark.parametrize("stack", STACKS)
def test_a_shared_railway_workspace_is_refused_in_both_stacks(stack: str) -> None:
    check = trust.stacks_in_separate_accounts
    assert _violations(check, program(stack), facts(stack)) == []
    shared = load_from_stack_file("production").railway.workspace_id
    ((message, _),) = _violations(
        check, program(stack), _facts_with(stack, staging={"railway": {"workspace_id": shared}})
    )
    assert message.startswith("railway.workspaceId: ") and "same Railway workspace" in message
    assert "(fix: pulumi config set --path 'maya-infra:railway.workspaceId'" in message


def test_a_project_created_in_the_other_stacks_workspace_is_refused() -> None:
    check = trust.stacks_in_separate_accounts
    other = load_from_stack_file("production").railway.workspace_id
    project = changed(one(program("staging"), rules.RAILWAY_PROJECT), workspace_id=other)
    found = _violations(check, [project], facts("staging"))
    assert found == [
        (f"Railway project 'maya-staging' is created in stack production's workspace {other}", project.urn)
    ]
    nowhere = changed(project, workspace_id=None)
    assert "names no workspace" in _violations(check, [nowhere], facts("staging"))[0][0]


def test_a_shared_vercel_team_is_refused_unless_stagings_token_is_project_scoped() -> None:
    check = trust.stacks_in_separate_accounts
    team = load_from_stack_file("production").frontend.team_id
    shared = _facts_with("staging", staging={"frontend": {"team_id": team}})
    provider = res("pulumi:providers:vercel", {"team": team}, stack="staging", name="vercel")
    ((message, _),) = _violations(check, [provider], shared)  # one message per unsafe setting
    assert message.startswith("frontend.teamId: ") and "tokenScope' project" in message
    # the config says separate teams, yet the provider acts in production's: the code drifted from its config
    assert _violations(check, [provider], facts("staging")) == [
        (f"the Vercel provider of stack staging acts in stack production's team {team}", provider.urn)
    ]
    scoped = _facts_with("staging", staging={"frontend": {"team_id": team, "token_scope": "project"}})
    assert _violations(check, [provider], scoped) == []


# ---- handed-off-half-is-the-other-stacks --------------------------------------------------------------------------
def test_stagings_object_declared_outside_the_hand_off_is_refused() -> None:
    check = trust.handed_off_half_is_the_other_stacks
    resources = program("production")
    handed = next(
        r for r in _handed(resources) if r.type == rules.GH_ENV_SECRET and r.get("secretName") == "RAILWAY_TOKEN"
    )
    direct = _moved(handed, handed.urn.replace("maya:github:HandedOff$", ""))
    found = _violations(check, [*[r for r in resources if r is not handed], direct], facts("production"))
    assert found == [
        (
            f"ActionsEnvironmentSecret {handed.name} sits in stack staging's GitHub environment or branch but is not "
            "declared from its hand-off (components/handoff.py): production would write staging's settings with its "
            "own values",
            direct.urn,
        )
    ]


def test_a_handed_off_object_in_productions_environment_is_refused() -> None:
    check = trust.handed_off_half_is_the_other_stacks
    resources = program("production")
    handed = next(r for r in _handed(resources) if r.type == rules.GH_ENV_VARIABLE)
    moved = changed(handed, environment="production")
    found = _violations(check, [*[r for r in resources if r is not handed], moved], facts("production"))
    outside = "is declared from staging's hand-off but sits outside staging's places"
    assert [m for m, _ in found] == [f"ActionsEnvironmentVariable {handed.name} {outside}"]


def test_a_production_secret_value_in_stagings_environment_is_refused() -> None:
    """What the pack sees (plaintext): production's RAILWAY_TOKEN wired into staging's environment by mistake."""
    check = trust.handed_off_half_is_the_other_stacks
    own = res(
        rules.GH_ENV_SECRET,
        {
            "repository": "maya",
            "environment": "production",
            "secretName": "RAILWAY_TOKEN",
            "value": "production-project-token-1",
        },
        name="pipeline-maya-secret-RAILWAY_TOKEN",
    )
    urn = (
        f"urn:pulumi:production::maya-infra::{HANDED}{rules.GH_ENV_SECRET}::staging-pipeline-maya-secret-RAILWAY_TOKEN"
    )
    theirs = Resource(
        rules.GH_ENV_SECRET,
        urn,
        {
            "repository": "maya",
            "environment": "staging",
            "secretName": "RAILWAY_TOKEN",
            "value": "production-project-token-1",
        },
    )
    found = [m for m, _ in _violations(check, [own, theirs], facts("production")) if "holds the value" in m]
    assert found == [
        "staging's secret RAILWAY_TOKEN in 'staging' holds the value of production's RAILWAY_TOKEN: a credential of "
        "production would reach staging"
    ]
    assert not [
        m
        for m, _ in _violations(check, [own, changed(theirs, value="staging-token-2")], facts("production"))
        if "holds the value" in m
    ]
    # one scanner key or SMTP account for both stacks acts on no platform: not refused
    shared = [changed(own, secretName="SNYK_TOKEN"), changed(theirs, secretName="SNYK_TOKEN")]
    assert not [m for m, _ in _violations(check, shared, facts("production")) if "holds the value" in m]
    assert {"RAILWAY_TOKEN", "VERCEL_TOKEN", "RAILWAY_PREVIEW_TOKEN"} <= trust.PLATFORM_CREDENTIALS
    assert not {"SNYK_TOKEN", "SAFETY_API_KEY", "SMTP_URL"} & trust.PLATFORM_CREDENTIALS


def test_stagings_branch_left_unprotected_by_the_hand_off_is_refused() -> None:
    check = trust.handed_off_half_is_the_other_stacks
    resources = [r for r in program("production") if not (rules.is_handed_off(r) and r.type == rules.GH_RULESET)]
    assert _violations(check, resources, facts("production")) == [
        ("branch 'develop' of maya (staging) is not protected by an active ruleset", None)
    ]


# ---- pull-request-secrets-wait-for-a-reviewer -----------------------------------------------------------------------
def _preview_environment(resources: tuple[Resource, ...]) -> Resource:
    return next(r for r in _handed(resources) if r.type == rules.GH_ENVIRONMENT and r.get("environment") == "preview")


def test_the_preview_environment_without_reviewers_is_refused() -> None:
    check = trust.pull_request_secrets_wait_for_a_reviewer
    resources = program("production")
    assert _violations(check, resources, facts("production")) == []
    preview = _preview_environment(resources)
    bare = changed(preview, reviewers=[])
    ((message, urn),) = _violations(check, [*[r for r in resources if r is not preview], bare], facts("production"))
    assert urn == bare.urn
    assert message.startswith("GitHub environment 'preview' of maya holds RAILWAY_PREVIEW_TOKEN")
    assert "admits every branch" in message and "maya-infra:previews.reviewers" in message
    self_review = changed(preview, preventSelfReview=False)
    found = _violations(check, [*[r for r in resources if r is not preview], self_review], facts("production"))
    assert [m.split(", and ")[1] for m, _ in found] == [
        "whoever opened the pull request may approve their own run (set preventSelfReview)"
    ]


def test_a_branch_restricted_environment_needs_no_reviewer() -> None:
    """staging's own environment admits develop only: a pull request's branch never is develop's name."""
    check = trust.pull_request_secrets_wait_for_a_reviewer
    resources = program("production")
    staging = next(
        r for r in _handed(resources) if r.type == rules.GH_ENVIRONMENT and r.get("environment") == "staging"
    )
    assert not trust._reviewer_ids(staging)
    assert _violations(check, resources, facts("production")) == []
    opened = changed(staging, deploymentBranchPolicy=None)
    ((message, _),) = _violations(check, [*[r for r in resources if r is not staging], opened], facts("production"))
    assert message.startswith("GitHub environment 'staging' of maya holds ")


# ---- required-checks-from-github-actions ---------------------------------------------------------------------------
def test_required_checks_without_github_actions_are_refused() -> None:
    check = trust.required_checks_from_github_actions
    ruleset = one(program("production"), rules.GH_RULESET)
    assert list(check(ruleset)) == []
    rules_ = copy.deepcopy(dict(ruleset.get("rules")))
    rules_["requiredStatusChecks"]["requiredChecks"][1].pop("integrationId")
    ((message,),) = [list(check(changed(ruleset, rules=rules_)))]
    assert "required check 'backend-ci' does not name GitHub Actions (integration_id 15368)" in message
    classic = res(rules.GH_BRANCH_PROTECTION, {"pattern": "main", "requiredStatusChecks": [{"contexts": ["ci"]}]})
    assert ["use a ruleset" in m for m in check(classic)] == [True]
    v3 = res(rules.GH_BRANCH_PROTECTION_V3, {"branch": "main", "requiredStatusChecks": [{"checks": ["ci:15368"]}]})
    assert list(check(v3)) == []


def test_the_config_refuses_what_the_pack_refuses() -> None:
    """The mandatory rules restate what the config guarantees: the same unsafe settings fail there first."""
    with pytest.raises(config.ConfigError):
        config.parse("staging", {}, {"maya-infra:githubToken"}, require_secrets=False)
