"""Error tracking (Sentry) through the variable table: the real program under mocks, with and without it.

With ``maya-infra:errorTracking`` and its secrets, the backend's Railway variables carry the DSN (a secret,
like every backend variable), the environment and the release reference to the deployed commit; the frontend
build gets the public DSN; each CI environment gets the auth token (a secret) and the organization and project
the deploy job marks releases in; the policy pack finds nothing to refuse. Without it, none of them exists.
"""

from __future__ import annotations

from typing import Any

import pytest

from policy import rules
from tests.components.program import RAILWAY, ProgramRun, is_secret, run_program
from tests.config.test_performance import DSN, FRONTEND_DSN, SENTRY_SECRETS, TRACKING_SECTION
from tests.policy.test_rules import facts, urn
from tests.secrets import TEST_CHECKLY_SECRETS, stack_secrets

VERCEL_ENV = "vercel:index/projectEnvironmentVariable:ProjectEnvironmentVariable"
GH_SECRET = "github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret"
GH_VARIABLE = "github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable"


def _plain(value: Any) -> Any:
    return _plain(value["value"]) if is_secret(value) else value


@pytest.fixture(scope="module", params=["staging", "production"])
def tracked(request: pytest.FixtureRequest) -> ProgramRun:
    secrets = {**stack_secrets(request.param), **SENTRY_SECRETS}
    if request.param == "production":
        secrets |= TEST_CHECKLY_SECRETS
    return run_program(request.param, {"maya-infra:errorTracking": TRACKING_SECTION}, secrets)


def test_the_backend_gets_the_dsn_as_a_secret_and_the_deployed_commit_as_its_release(tracked: ProgramRun) -> None:
    variables = tracked.mocks.one(RAILWAY + "Variables").inputs["variables"]
    assert is_secret(variables)
    values = variables["value"]
    assert values["SENTRY_DSN"] == DSN
    assert values["SENTRY_ENVIRONMENT"] == tracked.outputs["stack"]
    assert values["SENTRY_RELEASE"] == "${{RAILWAY_GIT_COMMIT_SHA}}"


def test_the_frontend_build_gets_the_public_dsn(tracked: ProgramRun) -> None:
    envs = {r.inputs["key"]: r.inputs for r in tracked.mocks.of_type(VERCEL_ENV)}
    assert _plain(envs["NEXT_PUBLIC_SENTRY_DSN"]["value"]) == FRONTEND_DSN
    assert _plain(envs["NEXT_PUBLIC_SENTRY_ENVIRONMENT"]["value"]) == tracked.outputs["stack"]


def _handed_ci(run: ProgramRun) -> dict[str, Any]:
    """Staging's CI values as it hands them to production (its ``github_handoff`` output; docs/trust.md)."""
    handoff = run.outputs["github_handoff"]
    document = handoff["value"] if is_secret(handoff) else handoff
    (values,) = document["ci"].values()  # a monorepo: one repository
    return dict(values)


def test_each_deploy_environment_holds_the_token_as_a_secret_and_the_projects_as_variables(
    tracked: ProgramRun,
) -> None:
    """Production declares its own environment's values; staging declares no GitHub resource and hands its
    values over (production's program writes them into staging's environment: tests/components/test_handoff*)."""
    stack = tracked.outputs["stack"]
    if stack == "staging":
        assert not tracked.mocks.of_type(GH_SECRET) and not tracked.mocks.of_type(GH_VARIABLE)
        handed = _handed_ci(tracked)
        assert handed["SENTRY_AUTH_TOKEN"] == {"value": SENTRY_SECRETS["maya-infra:sentryAuthToken"], "secret": True}
        variables = {k: v["value"] for k, v in handed.items() if not v["secret"]}
    else:
        secrets = [r.inputs for r in tracked.mocks.of_type(GH_SECRET) if r.inputs["secretName"] == "SENTRY_AUTH_TOKEN"]
        assert [s["environment"] for s in secrets] == [stack]  # the deploy environment only (a monorepo: once)
        assert is_secret(secrets[0]["plaintextValue"] if "plaintextValue" in secrets[0] else secrets[0]["value"])
        variables = {
            r.inputs["variableName"]: r.inputs["value"]
            for r in tracked.mocks.of_type(GH_VARIABLE)
            if r.inputs["environment"] == stack
        }
    assert variables["SENTRY_ORG"] == "mayassistant" and variables["SENTRY_URL"] == "https://sentry.io/"
    assert variables["SENTRY_FRONTEND_PROJECT"] == "maya-frontend"
    assert variables["SENTRY_BACKEND_PROJECT"] == "maya-backend"


def _violations(run: ProgramRun) -> set[tuple[str, str | None]]:
    stack = run.outputs["stack"]
    resources = [rules.from_serialized(r.typ, urn(stack, r.typ, r.name), r.inputs) for r in run.mocks.resources]
    return {(v.policy, v.urn) for v in rules.check_all(resources, facts(stack))}


def test_the_policy_pack_finds_nothing_new(tracked: ProgramRun) -> None:
    """Whatever the pack says of the stack without a tracker, the tracker's variables add nothing to it."""
    assert _violations(tracked) == _violations(run_program(tracked.outputs["stack"]))


def test_without_a_tracker_nothing_of_sentry_is_declared() -> None:
    run = run_program("staging")
    names = set(run.mocks.one(RAILWAY + "Variables").inputs["variables"]["value"])
    names |= {r.inputs["key"] for r in run.mocks.of_type(VERCEL_ENV)}
    names |= {r.inputs["secretName"] for r in run.mocks.of_type(GH_SECRET)}
    names |= {r.inputs["variableName"] for r in run.mocks.of_type(GH_VARIABLE)}
    assert not {n for n in names if "SENTRY" in n}
