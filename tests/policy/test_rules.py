"""Each rule of the policy pack, called directly with passing and failing resources.

Passing resources come from the real program run under mocks for both stacks (tests/components/program.py),
so "the program passes its own pack" is tested too; failing ones are those records with one thing changed.
The PolicyPack itself is never constructed here (its constructor serves gRPC forever).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

import pytest

from config import STACKS, load_from_stack_file
from policy import rules
from policy.rules import Resource
from tests.components.program import run_program
from workflows import render_app_workflows, render_infra_workflows

WORKFLOW = """\
name: ci
on: {push: {}}
permissions: {}
jobs:
  test:
    runs-on: ubuntu-latest
    permissions:
      contents: read
    steps:
      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1
      - uses: ./.github/actions/local
      - uses: docker://alpine@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
      - run: echo ok
"""


def urn(stack: str, type_: str, name: str) -> str:
    return f"urn:pulumi:{stack}::maya-infra::{type_}::{name}"


def res(type_: str, props: Mapping[str, Any], *, stack: str = "production", name: str = "r", **kw: Any) -> Resource:
    return Resource(type_, urn(stack, type_, name), dict(props), **kw)


def messages(check: Any, resource: Resource) -> list[str]:
    return list(check(resource))


@cache
def program(stack: str) -> tuple[Resource, ...]:
    """The resources the real program declares for a stack, as the audit would see them (secrets marked; URNs as
    the engine makes them, parent components' types included)."""
    run = run_program(stack)
    return tuple(rules.from_serialized(r.typ, run.mocks.urn(r), r.inputs) for r in run.mocks.resources)


def one(resources: Iterable[Resource], type_: str) -> Resource:
    found = [r for r in resources if r.type == type_]
    assert len(found) >= 1, type_
    return found[0]


def changed(r: Resource, **props: Any) -> Resource:
    new = copy.deepcopy(dict(r.props))
    new.update(props)
    return Resource(r.type, r.urn, new, r.secret_props, r.secrets_visible)


def facts(stack: str) -> rules.StackFacts:
    other = rules.other_stack(stack)
    return rules.facts_from_config(load_from_stack_file(stack), load_from_stack_file(other) if other else None, stack)


# ---- the program passes its own pack ------------------------------------------------------------------------
@pytest.mark.parametrize("stack", STACKS)
def test_the_real_program_passes_every_policy(stack: str) -> None:
    resources = program(stack)
    violations = rules.check_all(resources, facts(stack))
    # Under mocks the ProjectToken's additional_secret_outputs are invisible (the mock monitor does not pass
    # options); the real-engine tests run the pack on it, and its exported state shows the token encrypted.
    violations = [
        v for v in violations if not (v.urn or "").endswith(("::backend-ci-token", "::backend-metrics-token"))
    ]
    assert violations == []
    assert rules.VERCEL_ENV in {r.type for r in resources}
    github = {
        rules.GH_ENVIRONMENT,
        rules.GH_RULESET,
        rules.GH_FILE,
    }  # production declares every stack's (docs/trust.md)
    assert (github <= {r.type for r in resources}) is (stack == "production")


def test_policy_table_is_deliberate() -> None:
    names = [p.name for p in rules.POLICIES]
    assert len(names) == len(set(names))
    for p in rules.POLICIES:
        assert p.level in (rules.MANDATORY, rules.ADVISORY)
        assert (p.resource_check is None) != (p.stack_check is None), p.name
        assert p.rationale and p.description
    mandatory = {p.name for p in rules.POLICIES if p.level == rules.MANDATORY}
    assert mandatory == {
        "production-data-never-deleted-or-replaced",
        "production-environment-protected",
        "credentials-are-secrets",
        "railway-health-and-migrations",
        "workflows-least-privilege-pinned",
        "branch-protected-with-ci",
        "stacks-share-nothing",
        "production-backed-up",
        "previews-get-no-production-secret",
        # the blast radius of each credential (policy/rules/trust.py, docs/trust.md)
        "github-written-by-production-only",
        "stacks-in-separate-accounts",
        "handed-off-half-is-the-other-stacks",
        "pull-request-secrets-wait-for-a-reviewer",
        "required-checks-from-github-actions",
    }


# ---- production-environment-protected -----------------------------------------------------------------------
def test_production_environment_passes_and_staging_is_out_of_scope() -> None:
    check = rules.production_environment_protected
    assert messages(check, one(program("production"), rules.GH_ENVIRONMENT)) == []
    # staging's environment, declared by production from staging's hand-off (docs/trust.md), is staging's
    staging = next(
        r for r in program("production") if r.type == rules.GH_ENVIRONMENT and r.get("environment") == "staging"
    )
    assert rules.is_handed_off(staging)
    assert staging.get("reviewers") in (None, []) and messages(check, staging) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"reviewers": None}, "no required reviewers"),
        ({"reviewers": [{"users": [], "teams": []}]}, "no required reviewers"),
        ({"preventSelfReview": False}, "approve it (preventSelfReview)"),
        ({"canAdminsBypass": True}, "bypass its protection"),
    ],
)
def test_production_environment_failures(change: dict[str, Any], expected: str) -> None:
    env = changed(one(program("production"), rules.GH_ENVIRONMENT), **change)
    found = messages(rules.production_environment_protected, env)
    assert len(found) == 1 and expected in found[0]


def test_production_environment_without_admin_setting_is_refused() -> None:
    env = one(program("production"), rules.GH_ENVIRONMENT)
    props = {k: v for k, v in env.props.items() if k != "canAdminsBypass"}  # GitHub's default is true
    found = messages(rules.production_environment_protected, Resource(env.type, env.urn, props))
    assert len(found) == 1 and "canAdminsBypass" in found[0]


def test_production_environment_unknown_reviewers_are_not_judged() -> None:
    env = changed(one(program("production"), rules.GH_ENVIRONMENT), reviewers=rules.UNKNOWN)
    assert messages(rules.production_environment_protected, env) == []


# ---- credentials-are-secrets --------------------------------------------------------------------------------
def test_credentials_pass_on_every_platform() -> None:
    for stack in STACKS:
        for r in program(stack):
            if r.type in (rules.VERCEL_ENV, rules.GH_ENV_SECRET, rules.GH_ENV_VARIABLE, rules.RAILWAY_VARIABLES):
                assert messages(rules.credentials_are_secrets, r) == [], r.urn


def test_vercel_credential_must_be_sensitive() -> None:
    plain = res(rules.VERCEL_ENV, {"key": "JWT_SECRET_KEY", "value": "x", "sensitive": False})
    found = messages(rules.credentials_are_secrets, plain)
    assert found and "not sensitive" in found[0]
    ok = res(rules.VERCEL_ENV, {"key": "NEXT_PUBLIC_API_URL", "value": "https://api", "sensitive": False})
    assert messages(rules.credentials_are_secrets, ok) == []
    plural = res(rules.VERCEL_ENVS, {"variables": [{"key": "STRIPE_API_KEY", "value": "x", "sensitive": False}]})
    assert messages(rules.credentials_are_secrets, plural)


def test_vercel_credential_in_plain_state_is_refused() -> None:
    state = rules.from_serialized(
        rules.VERCEL_ENV,
        urn("production", rules.VERCEL_ENV, "v"),
        {"key": "VERCEL_TOKEN", "value": "t", "sensitive": True},
    )
    assert any("plain text in the Pulumi state" in m for m in messages(rules.credentials_are_secrets, state))


def test_github_credential_must_be_a_secret() -> None:
    variable = res(rules.GH_ENV_VARIABLE, {"variableName": "RAILWAY_TOKEN", "value": "x", "environment": "production"})
    assert "environment secret" in messages(rules.credentials_are_secrets, variable)[0]
    by_suffix = res(rules.GH_ENV_VARIABLE, {"variableName": "SENTRY_AUTH_TOKEN", "value": "x"})
    assert messages(rules.credentials_are_secrets, by_suffix)
    secret = one(program("production"), rules.GH_ENV_SECRET)
    leaked = rules.from_serialized(secret.type, secret.urn, {**secret.props, "value": "plain"})
    assert "plain text in the Pulumi state" in messages(rules.credentials_are_secrets, leaked)[0]


def test_railway_variables_and_token_must_be_stored_secret() -> None:
    variables = res(rules.RAILWAY_VARIABLES, {"variables": {"JWT_SECRET_KEY": "x"}}, name="backend-variables")
    assert "plain text" in messages(rules.credentials_are_secrets, variables)[0]
    declared = res(
        rules.RAILWAY_VARIABLES, {"variables": {"JWT_SECRET_KEY": "x"}}, secret_props=frozenset({"variables"})
    )
    assert messages(rules.credentials_are_secrets, declared) == []
    token = res(rules.RAILWAY_TOKEN, {"name": "maya-infra-production-ci-deploy"})
    assert "CI project token" in messages(rules.credentials_are_secrets, token)[0]
    token_ok = res(rules.RAILWAY_TOKEN, {"name": "t"}, secret_props=frozenset({"token"}))
    assert messages(rules.credentials_are_secrets, token_ok) == []


# ---- railway-health-and-migrations --------------------------------------------------------------------------
def test_railway_service_passes() -> None:
    for stack in STACKS:
        assert messages(rules.railway_health_and_migrations, one(program(stack), rules.RAILWAY_INSTANCE)) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"healthcheck_path": None}, "no health-check path"),
        ({"healthcheck_path": "api/health"}, "no health-check path"),
        ({"pre_deploy_command": None}, "does not run the migrations"),
        ({"pre_deploy_command": "echo skip"}, "does not run the migrations"),
    ],
)
def test_railway_service_failures(change: dict[str, Any], expected: str) -> None:
    instance = changed(one(program("staging"), rules.RAILWAY_INSTANCE), **change)
    found = messages(rules.railway_health_and_migrations, instance)
    assert len(found) == 1 and expected in found[0]


def test_railway_unknown_settings_are_not_judged() -> None:
    instance = changed(
        one(program("staging"), rules.RAILWAY_INSTANCE),
        healthcheck_path=rules.UNKNOWN,
        pre_deploy_command=rules.UNKNOWN,
    )
    assert messages(rules.railway_health_and_migrations, instance) == []
    assert messages(rules.railway_health_and_migrations, res(rules.RAILWAY_TOKEN, {})) == []


# ---- workflows ----------------------------------------------------------------------------------------------
def workflow(content: str, path: str = ".github/workflows/ci.yml") -> Resource:
    return res(rules.GH_FILE, {"file": path, "content": content, "branch": "main", "repository": "maya"})


def test_every_generated_workflow_passes() -> None:
    files = [
        text
        for stack in STACKS
        for repo in render_app_workflows(load_from_stack_file(stack)).values()
        for path, text in repo.items()
        if path.endswith(".yml")  # the backend also gets the migration runner, a Python file
    ]
    files += list(render_infra_workflows().values())
    assert files
    for text in [*files, WORKFLOW]:
        assert messages(rules.workflows_least_privilege_pinned, workflow(text)) == []
        assert messages(rules.workflow_pins_from_table, workflow(text)) == [] or text is WORKFLOW


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (("permissions: {}", "permissions: write-all"), "the workflow grants `permissions: write-all`"),
        (("    permissions:\n      contents: read", "    permissions: write-all"), "job test grants"),
        (("@3d3c42e5aac5ba805825da76410c181273ba90b1", "@v7"), "not pinned"),
        (("@3d3c42e5aac5ba805825da76410c181273ba90b1", "@3d3c42e"), "not pinned"),
        (("alpine@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "alpine:3"), "not pinned"),
        (("jobs:\n", "jobs:\n  reuse:\n    uses: org/repo/.github/workflows/x.yml@main\n"), "job reuse uses"),
        (("name: ci", "name: [ci"), "is not valid YAML"),
    ],
)
def test_workflow_failures(edit: tuple[str, str], expected: str) -> None:
    old, new = edit
    assert old in WORKFLOW
    found = messages(rules.workflows_least_privilege_pinned, workflow(WORKFLOW.replace(old, new, 1)))
    assert len(found) == 1 and expected in found[0], found


def test_only_workflow_files_are_judged() -> None:
    assert messages(rules.workflows_least_privilege_pinned, workflow("permissions: write-all", "README.md")) == []


def test_pins_from_table_is_advisory_about_foreign_shas_and_missing_permissions() -> None:
    foreign = WORKFLOW.replace("3d3c42e5aac5ba805825da76410c181273ba90b1", "a" * 40)
    found = messages(rules.workflow_pins_from_table, workflow(foreign))
    assert len(found) == 1 and "not a pin of workflows/pins.py" in found[0]
    found = messages(rules.workflow_pins_from_table, workflow(WORKFLOW.replace("permissions: {}\n", "", 1)))
    assert len(found) == 1 and "no top-level permissions" in found[0]
    assert rules.BY_NAME["workflow-pins-from-table"].level == rules.ADVISORY


# ---- no-plaintext-credential-values (advisory heuristic) ----------------------------------------------------
def test_heuristic_is_quiet_on_the_program() -> None:
    for stack in STACKS:
        for r in program(stack):
            assert messages(rules.no_plaintext_credential_values, r) == [], r.urn


@pytest.mark.parametrize(
    ("resource", "where"),
    [
        (res(rules.GH_ENV_VARIABLE, {"variableName": "DB", "value": "postgresql://maya:hunter22@db:5432/m"}), "value"),
        (res(rules.RAILWAY_INSTANCE, {"start_command": "run --key sk_live_abcdefghijklmnop1234"}), "start_command"),
        (res(rules.VERCEL_ENV, {"key": "TWILIO_AUTH_TOKEN", "value": "abc", "sensitive": False}), "value"),
    ],
)
def test_heuristic_flags_credential_shapes(resource: Resource, where: str) -> None:
    found = messages(rules.no_plaintext_credential_values, resource)
    assert len(found) == 1 and where in found[0]
    assert "hunter22" not in found[0] and "sk_live" not in found[0]


def test_heuristic_skips_what_is_stored_secret() -> None:
    sensitive = res(
        rules.VERCEL_ENV, {"key": "TWILIO_AUTH_TOKEN", "value": "sk_live_abcdefghijklmnop1234", "sensitive": True}
    )
    assert messages(rules.no_plaintext_credential_values, sensitive) == []
    secret = res(rules.GH_ENV_SECRET, {"secretName": "X", "value": "ghp_" + "a" * 36})
    assert messages(rules.no_plaintext_credential_values, secret) == []


# ---- branch-protected-with-ci -------------------------------------------------------------------------------
def without(resources: Iterable[Resource], type_: str) -> list[Resource]:
    return [r for r in resources if r.type != type_]


def replaced(resources: Iterable[Resource], new: Resource) -> list[Resource]:
    return [new if r.urn == new.urn else r for r in resources]


@pytest.mark.parametrize("stack", STACKS)
def test_branch_protection_passes(stack: str) -> None:
    assert list(rules.branch_protected_with_ci(program(stack), facts(stack))) == []
    # without config the branch comes from the environment's deployment policy
    assert list(rules.branch_protected_with_ci(program(stack), rules.StackFacts(stack))) == []


def test_branch_protection_failures() -> None:
    resources = program("production")
    found = list(rules.branch_protected_with_ci(without(resources, rules.GH_RULESET), facts("production")))
    assert len(found) == 1 and "'main' of maya is not protected" in found[0][0]

    ruleset = one(resources, rules.GH_RULESET)
    evaluate = changed(ruleset, enforcement="evaluate")
    assert (
        "not protected"
        in next(iter(rules.branch_protected_with_ci(replaced(resources, evaluate), facts("production"))))[0]
    )

    other_branch = changed(ruleset, conditions={"refName": {"includes": ["refs/heads/develop"], "excludes": []}})
    assert list(rules.branch_protected_with_ci(replaced(resources, other_branch), facts("production")))

    rules_ = copy.deepcopy(dict(ruleset.props["rules"]))
    rules_["requiredStatusChecks"]["requiredChecks"] = [{"context": "frontend-ci"}]
    one_check = changed(ruleset, rules=rules_)
    found = list(rules.branch_protected_with_ci(replaced(resources, one_check), facts("production")))
    assert len(found) == 1 and "['backend-ci']" in found[0][0]


def test_branch_protection_resource_also_counts() -> None:
    resources = without(program("production"), rules.GH_RULESET)
    protection = res(
        rules.GH_BRANCH_PROTECTION,
        {
            "repositoryId": "maya",
            "pattern": "main",
            "requiredStatusChecks": [{"contexts": ["frontend-ci", "backend-ci"]}],
        },
    )
    assert list(rules.branch_protected_with_ci([*resources, protection], facts("production"))) == []


def test_branch_protection_not_applicable_without_github() -> None:
    railway_only = [r for r in program("staging") if not r.type.startswith("github:")]
    assert list(rules.branch_protected_with_ci(railway_only, facts("staging"))) == []


# ---- stacks-share-nothing -----------------------------------------------------------------------------------
@pytest.mark.parametrize("stack", STACKS)
def test_stacks_share_nothing_passes(stack: str) -> None:
    assert list(rules.stacks_share_nothing(program(stack), facts(stack))) == []


@pytest.mark.parametrize(
    ("type_", "change", "expected"),
    [
        (rules.RAILWAY_CUSTOM_DOMAIN, {"domain": "api.mayassistant.com"}, "domain 'api.mayassistant.com'"),
        (rules.RAILWAY_PROJECT, {"name": "maya-production"}, "Railway project 'maya-production'"),
        (rules.VERCEL_PROJECT, {"name": "maya-frontend"}, "Vercel project 'maya-frontend'"),
        (rules.VERCEL_DOMAIN, {"domain": "www.mayassistant.com"}, "domain 'www.mayassistant.com'"),
        (rules.RAILWAY_TRIGGER, {"branch": "main"}, "branch 'main'"),
        (rules.RAILWAY_TOKEN, {"name": "maya-infra-production-ci-deploy"}, "not named for stack 'staging'"),
    ],
)
def test_staging_sharing_with_production_is_refused(type_: str, change: dict[str, Any], expected: str) -> None:
    resources = program("staging")
    bad = changed(one(resources, type_), **change)
    found = list(rules.stacks_share_nothing(replaced(resources, bad), facts("staging")))
    assert found and expected in found[0][0] and found[0][1] == bad.urn


def test_repository_wide_secrets_are_shared_by_both_stacks() -> None:
    shared = res(rules.GH_REPO_SECRET, {"secretName": "VERCEL_TOKEN", "repository": "maya"}, stack="staging")
    found = list(rules.stacks_share_nothing([*program("staging"), shared], facts("staging")))
    assert len(found) == 1 and "environment-scoped" in found[0][0]


def test_cross_stack_check_needs_the_other_stacks_config() -> None:
    resources = program("staging")
    bad = changed(one(resources, rules.RAILWAY_CUSTOM_DOMAIN), domain="api.mayassistant.com")
    assert list(rules.stacks_share_nothing(replaced(resources, bad), rules.StackFacts("staging"))) == []


# ---- production-backed-up / production-monitored --------------------------------------------------------------
def test_production_without_backups_or_monitoring_is_reported() -> None:
    resources = program("production")
    assert rules.check_stack(resources, facts("production")) == []
    without = tuple(r for r in resources if r.type != rules.RAILWAY_BACKUP_SCHEDULE)
    refused = [v for v in rules.check_stack(without, facts("production")) if v.policy == "production-backed-up"]
    assert refused and refused[0].level == rules.MANDATORY
    unmonitored = tuple(
        r
        for r in resources
        if not (r.type == rules.GH_FILE and r.get("file") == rules.MONITOR_WORKFLOW) and r.type != rules.CHECKLY_CHECK
    )
    reported = [v for v in rules.check_stack(unmonitored, facts("production")) if v.policy == "production-monitored"]
    assert reported and reported[0].level == rules.ADVISORY


def test_staging_is_not_held_to_production_backups() -> None:
    resources = tuple(r for r in program("staging") if r.type != rules.RAILWAY_BACKUP_SCHEDULE)
    assert [v for v in rules.check_stack(resources, facts("staging")) if v.policy.startswith("production-")] == []
