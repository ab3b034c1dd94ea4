"""previews-get-no-production-secret (policy/rules/previews.py): the real program passes it in both stacks; each way a
production value could reach a pull request's preview is refused (docs/previews.md)."""

from __future__ import annotations

from typing import Any

import pytest

from policy import rules
from policy.rules import Resource
from tests.policy.test_rules import changed, facts, program, res


def _check(resources: Any, stack: str) -> list[str]:
    return [m for m, _urn in rules.previews_get_no_production_secret(list(resources), facts(stack))]


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_the_real_program_passes(stack: str) -> None:
    assert _check(program(stack), stack) == []
    assert any(r.type == rules.RAILWAY_PR_SETTINGS for r in program(stack))


def test_the_rule_is_mandatory() -> None:
    assert rules.BY_NAME["previews-get-no-production-secret"].level == rules.MANDATORY


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_railways_own_pr_environments_are_refused(stack: str) -> None:
    resources = [changed(r, pr_deploys=True) if r.type == rules.RAILWAY_PR_SETTINGS else r for r in program(stack)]
    [message] = _check(resources, stack)
    assert "Railway's own PR environments" in message


@pytest.mark.parametrize(
    ("type_", "props", "expected"),
    [
        (rules.GH_ENVIRONMENT, {"environment": "preview", "repository": "maya"}, "'preview' GitHub environment"),
        (rules.GH_ENV_SECRET, {"environment": "preview", "secretName": "RAILWAY_TOKEN"}, "RAILWAY_TOKEN"),
        (rules.GH_ENV_VARIABLE, {"environment": "preview", "variableName": "RAILWAY_PROJECT_ID"}, "RAILWAY_PROJECT_ID"),
        (rules.VERCEL_ENV, {"key": "NEXT_PUBLIC_API_URL", "targets": ["production", "preview"]}, "preview target"),
        (rules.VERCEL_ENV, {"key": "NEXT_PUBLIC_API_URL", "targets": ["preview"], "gitBranch": "x"}, "preview"),
        (rules.VERCEL_BYPASS, {"projectId": "prj_1", "note": "e2e"}, "Protection Bypass for Automation"),
    ],
)
def test_production_declaring_anything_a_preview_reads_is_refused(
    type_: str, props: dict[str, Any], expected: str
) -> None:
    [message] = _check([*program("production"), res(type_, props, stack="production")], "production")
    assert expected in message and "production declares" in message
    assert _check([*program("staging"), res(type_, props, stack="staging")], "staging") == []


def _previews_file(resources: tuple[Resource, ...]) -> Resource:
    return next(r for r in resources if r.type == rules.GH_FILE and r.get("file") == rules.PREVIEWS_WORKFLOW)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            "--withhold TWILIO_ACCOUNT_SID,TWILIO_AUTH_TOKEN,SENTRY_DSN",
            "does not --withhold SENTRY_DSN, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN",
        ),
        ("--fresh JWT_SECRET_KEY,ENCRYPTION_KEY", "does not --fresh ENCRYPTION_KEY, JWT_SECRET_KEY"),
    ],
)
def test_a_workflow_that_copies_what_the_table_withholds_is_refused(edit: str, expected: str) -> None:
    resources = program("production")  # it commits every stack's workflow files (docs/trust.md)
    for workflow in [r for r in resources if r.type == rules.GH_FILE and r.get("file") == rules.PREVIEWS_WORKFLOW]:
        content = str(workflow.get("content"))
        assert edit in content
        bad = changed(workflow, content=content.replace(edit, ""))
        [message] = _check([bad if r is workflow else r for r in resources], "production")
        assert expected in message


def test_a_live_stripe_key_copied_to_previews_is_refused() -> None:
    resources = program("staging")
    variables = next(r for r in resources if r.type == rules.RAILWAY_VARIABLES)
    live = {"STRIPE_API_KEY": "sk_live_51Hxyz0123456789abcdef", "ENVIRONMENT": "staging"}
    [message] = _check([changed(variables, variables=live) if r is variables else r for r in resources], "staging")
    assert "live-mode Stripe key" in message and "sk_live" not in message
    test_key = {"STRIPE_API_KEY": "sk_test_51Hxyz0123456789abcdef"}
    assert _check([changed(variables, variables=test_key) if r is variables else r for r in resources], "staging") == []
    # without previews (production), the rule has nothing to say about Stripe
    prod_vars = next(r for r in program("production") if r.type == rules.RAILWAY_VARIABLES)
    prod = [changed(prod_vars, variables=live) if r is prod_vars else r for r in program("production")]
    assert _check(prod, "production") == []
