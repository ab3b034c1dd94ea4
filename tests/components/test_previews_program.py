"""The program's side of pull-request previews (docs/previews.md), under Pulumi mocks: both stacks declare
Railway's native PR environments off; staging hands the ``preview`` GitHub environment's values over and
production declares that environment for it (docs/trust.md), holding the previews' own tokens and staging's
ids — nothing of production, nothing of the stack's deploy credentials — behind the previews' reviewers."""

from __future__ import annotations

import config
from tests.components.program import HANDED_OFF, RAILWAY, github_half, is_secret, run_both, run_program
from tests.components.test_stack import GH_ENV, GH_FILE, GH_RULESET, GH_SECRET, GH_VARIABLE, VERCEL_PROJECT
from tests.secrets import TEST_SECRETS

PREVIEWS_VERCEL = "test-previews-vercel-token-8d2c"


def test_production_declares_stagings_preview_environment_with_the_previews_own_tokens() -> None:
    staging, production = run_both(staging_secrets={**TEST_SECRETS, "maya-infra:previewsVercelToken": PREVIEWS_VERCEL})
    settings = staging.mocks.one(RAILWAY + "PrEnvironmentSettings").inputs
    assert settings["pr_deploys"] is False and settings["bot_pr_environments"] is False
    half = github_half(production, "staging")
    [environment] = [r.inputs for r in half.of_type(GH_ENV) if r.inputs["environment"] == "preview"]
    # every run of the previews workflow waits for a maintainer: a pull request's code reaches these tokens
    reviewers = config.load_from_stack_file("staging").previews.reviewers
    assert environment["reviewers"] == [{"teams": [r.id for r in reviewers if r.kind == "team"], "users": []}]
    assert environment["preventSelfReview"] is True and environment["canAdminsBypass"] is False
    secrets = {
        r.inputs["secretName"]: r.inputs for r in half.of_type(GH_SECRET) if r.inputs["environment"] == "preview"
    }
    assert set(secrets) == {"RAILWAY_PREVIEW_TOKEN", "VERCEL_TOKEN", "VERCEL_AUTOMATION_BYPASS_SECRET"}
    values = {name: s["value"] for name, s in secrets.items()}
    assert all(is_secret(v) for v in values.values())
    assert values["RAILWAY_PREVIEW_TOKEN"]["value"] == TEST_SECRETS["maya-infra:previewsRailwayToken"]
    assert values["VERCEL_TOKEN"]["value"] == PREVIEWS_VERCEL  # not the stack's own vercelToken
    variables = {
        r.inputs["variableName"]: r.inputs["value"]
        for r in half.of_type(GH_VARIABLE)
        if r.inputs["environment"] == "preview"
    }
    assert variables == {
        "RAILWAY_PROJECT_ID": "backend-project-id",
        "RAILWAY_ENVIRONMENT_ID": "backend-environment-id",
        "RAILWAY_SERVICE_ID": "backend-service-id",
        "VERCEL_PROJECT_ID": "frontend-project-id",
        "VERCEL_ORG_ID": config.load_from_stack_file("staging").frontend.team_id,
    }
    assert ".github/workflows/previews.yml" in {f.inputs["file"] for f in half.of_type(GH_FILE)}
    assert staging.outputs["previews"] == {"max_environments": 5, "sleep_when_idle": True}


def test_without_a_previews_vercel_token_the_preview_environment_gets_no_vercel_token() -> None:
    half = github_half(run_program("production"), "staging")
    names = {r.inputs["secretName"] for r in half.of_type(GH_SECRET) if r.inputs["environment"] == "preview"}
    assert names == {"RAILWAY_PREVIEW_TOKEN", "VERCEL_AUTOMATION_BYPASS_SECRET"}


def test_production_has_no_preview_of_its_own_and_keeps_railways_pr_environments_off() -> None:
    run = run_program("production")
    assert run.mocks.one(RAILWAY + "PrEnvironmentSettings").inputs["pr_deploys"] is False
    own = [r for r in run.mocks.resources if HANDED_OFF not in run.mocks.urn(r)]
    assert not [r for r in own if (r.inputs or {}).get("environment") == "preview"]
    assert run.outputs["previews"] == "off"


BYPASS = "vercel:index/projectProtectionBypass:ProjectProtectionBypass"
MOCK_BYPASS = "mockBypassSecret0123456789abcdef"  # what the mocks answer for the secret Vercel generates


def test_staging_declares_the_automation_bypass_and_it_is_sealed_only_in_the_preview_environment() -> None:
    staging, production = run_both()
    bypass = staging.mocks.one(BYPASS)
    assert bypass.inputs["projectId"] == staging.mocks.one(VERCEL_PROJECT).name + "-id"  # staging's own project
    assert "secret" not in bypass.inputs  # Vercel generates it; the program reads it back
    assert staging.outputs["github_handoff"]["preview"]["VERCEL_AUTOMATION_BYPASS_SECRET"]["secret"] is True
    assert "github_handoff" in staging.secret_outputs  # the hand-off is a secret output as a whole
    holders = [
        r for r in production.mocks.of_type(GH_SECRET) if r.inputs["secretName"] == "VERCEL_AUTOMATION_BYPASS_SECRET"
    ]
    assert [r.inputs["environment"] for r in holders] == ["preview"]
    [holder] = holders
    assert HANDED_OFF in production.mocks.urn(holder)
    assert is_secret(holder.inputs["value"]) and holder.inputs["value"]["value"] == MOCK_BYPASS
    leaked = [(r.typ, r.name) for r in production.mocks.resources if r is not holder and MOCK_BYPASS in repr(r.inputs)]
    assert leaked == []  # nowhere else: not staging's environment, not a Vercel variable, not an output
    assert MOCK_BYPASS not in repr(production.outputs)
    [ruleset] = github_half(production, "staging").of_type(GH_RULESET)
    checks = [c["context"] for c in ruleset.inputs["rules"]["requiredStatusChecks"]["requiredChecks"]]
    assert checks == ["frontend-ci", "backend-ci", "preview-e2e"]  # a failed E2E against the preview blocks merging


def test_production_declares_no_bypass_of_its_own_and_requires_no_preview_check() -> None:
    run = run_program("production")
    assert run.mocks.of_type(BYPASS) == []
    own = github_half(run, "production")
    assert not [r for r in own.of_type(GH_SECRET) if r.inputs["secretName"] == "VERCEL_AUTOMATION_BYPASS_SECRET"]
    [ruleset] = own.of_type(GH_RULESET)
    checks = [c["context"] for c in ruleset.inputs["rules"]["requiredStatusChecks"]["requiredChecks"]]
    assert checks == ["frontend-ci", "backend-ci"]


def test_without_vercel_previews_there_is_no_bypass_and_no_e2e_check() -> None:
    overrides = {"maya-infra:frontend": _frontend(previewDeployments=False)}
    run = run_program("staging", overrides=overrides)
    assert run.mocks.of_type(BYPASS) == []
    assert set(run.outputs["github_handoff"]["preview"]) == {
        "RAILWAY_PREVIEW_TOKEN", "RAILWAY_PROJECT_ID", "RAILWAY_ENVIRONMENT_ID", "RAILWAY_SERVICE_ID",
        "VERCEL_ORG_ID", "VERCEL_PROJECT_ID",
    }  # fmt: skip
    cfg = config.load_from_stack_file("staging")
    off = cfg.model_copy(update={"frontend": cfg.frontend.model_copy(update={"preview_deployments": False})})
    assert off.required_status_checks == ("frontend-ci", "backend-ci")


def _frontend(**changes: object) -> dict[str, object]:
    raw, _ = config.read_stack_file("staging")
    return {**dict(raw["maya-infra:frontend"]), **changes}
