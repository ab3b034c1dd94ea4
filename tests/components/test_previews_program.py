"""The program's side of pull-request previews (docs/previews.md), under Pulumi mocks: both stacks declare
Railway's native PR environments off; only staging declares the ``preview`` GitHub environment, holding the
previews' own tokens and staging's ids — nothing of production, nothing of the stack's deploy credentials."""

from __future__ import annotations

from tests.components.program import RAILWAY, is_secret, run_program
from tests.components.test_stack import GH_ENV, GH_FILE, GH_RULESET, GH_SECRET, GH_VARIABLE, VERCEL_PROJECT
from tests.secrets import TEST_SECRETS

PREVIEWS_VERCEL = "test-previews-vercel-token-8d2c"


def test_staging_declares_the_preview_environment_with_its_own_tokens() -> None:
    run = run_program("staging", secrets={**TEST_SECRETS, "maya-infra:previewsVercelToken": PREVIEWS_VERCEL})
    settings = run.mocks.one(RAILWAY + "PrEnvironmentSettings").inputs
    assert settings["pr_deploys"] is False and settings["bot_pr_environments"] is False
    [environment] = [r.inputs for r in run.mocks.of_type(GH_ENV) if r.inputs["environment"] == "preview"]
    assert "reviewers" not in environment or not environment["reviewers"]
    secrets = {
        r.inputs["secretName"]: r.inputs for r in run.mocks.of_type(GH_SECRET) if r.inputs["environment"] == "preview"
    }
    assert set(secrets) == {"RAILWAY_PREVIEW_TOKEN", "VERCEL_TOKEN", "VERCEL_AUTOMATION_BYPASS_SECRET"}
    values = {name: s["value"] for name, s in secrets.items()}
    assert all(is_secret(v) for v in values.values())
    assert values["RAILWAY_PREVIEW_TOKEN"]["value"] == TEST_SECRETS["maya-infra:previewsRailwayToken"]
    assert values["VERCEL_TOKEN"]["value"] == PREVIEWS_VERCEL  # not the stack's own vercelToken
    variables = {
        r.inputs["variableName"]: r.inputs["value"]
        for r in run.mocks.of_type(GH_VARIABLE)
        if r.inputs["environment"] == "preview"
    }
    assert variables == {
        "RAILWAY_PROJECT_ID": "backend-project-id",
        "RAILWAY_ENVIRONMENT_ID": "backend-environment-id",
        "RAILWAY_SERVICE_ID": "backend-service-id",
        "VERCEL_PROJECT_ID": "frontend-project-id",
        "VERCEL_ORG_ID": "team_mock",
    }
    assert ".github/workflows/previews.yml" in {f.inputs["file"] for f in run.mocks.of_type(GH_FILE)}
    assert run.outputs["previews"] == {"max_environments": 5, "sleep_when_idle": True}


def test_without_a_previews_vercel_token_the_preview_environment_gets_no_vercel_token() -> None:
    run = run_program("staging")
    names = {r.inputs["secretName"] for r in run.mocks.of_type(GH_SECRET) if r.inputs["environment"] == "preview"}
    assert names == {"RAILWAY_PREVIEW_TOKEN", "VERCEL_AUTOMATION_BYPASS_SECRET"}


def test_production_declares_no_preview_and_keeps_railways_pr_environments_off() -> None:
    run = run_program("production")
    assert run.mocks.one(RAILWAY + "PrEnvironmentSettings").inputs["pr_deploys"] is False
    assert not [r for r in run.mocks.resources if (r.inputs or {}).get("environment") == "preview"]
    assert run.outputs["previews"] == "off"


BYPASS = "vercel:index/projectProtectionBypass:ProjectProtectionBypass"
MOCK_BYPASS = "mockBypassSecret0123456789abcdef"  # what the mocks answer for the secret Vercel generates


def test_staging_declares_the_automation_bypass_and_seals_it_only_in_the_preview_environment() -> None:
    run = run_program("staging")
    bypass = run.mocks.one(BYPASS)
    assert bypass.inputs["projectId"] == run.mocks.one(VERCEL_PROJECT).name + "-id"  # staging's own project
    assert "secret" not in bypass.inputs  # Vercel generates it; the program reads it back
    holders = [r for r in run.mocks.of_type(GH_SECRET) if r.inputs["secretName"] == "VERCEL_AUTOMATION_BYPASS_SECRET"]
    assert [r.inputs["environment"] for r in holders] == ["preview"]
    [holder] = holders
    assert is_secret(holder.inputs["value"]) and holder.inputs["value"]["value"] == MOCK_BYPASS
    leaked = [(r.typ, r.name) for r in run.mocks.resources if r is not holder and MOCK_BYPASS in repr(r.inputs)]
    assert leaked == []  # nowhere else: not staging's environment, not a Vercel variable, not an output
    assert MOCK_BYPASS not in repr(run.outputs)
    [ruleset] = run.mocks.of_type(GH_RULESET)
    checks = [c["context"] for c in ruleset.inputs["rules"]["requiredStatusChecks"]["requiredChecks"]]
    assert checks == ["frontend-ci", "backend-ci", "preview-e2e"]  # a failed E2E against the preview blocks merging


def test_production_declares_no_bypass_and_requires_no_preview_check() -> None:
    run = run_program("production")
    assert run.mocks.of_type(BYPASS) == []
    assert not [r for r in run.mocks.of_type(GH_SECRET) if r.inputs["secretName"] == "VERCEL_AUTOMATION_BYPASS_SECRET"]
    [ruleset] = run.mocks.of_type(GH_RULESET)
    checks = [c["context"] for c in ruleset.inputs["rules"]["requiredStatusChecks"]["requiredChecks"]]
    assert checks == ["frontend-ci", "backend-ci"]


def test_without_vercel_previews_there_is_no_bypass_and_no_e2e_check() -> None:
    run = run_program("staging", overrides={"maya-infra:frontend": _frontend(previewDeployments=False)})
    assert run.mocks.of_type(BYPASS) == []
    names = {r.inputs["secretName"] for r in run.mocks.of_type(GH_SECRET) if r.inputs["environment"] == "preview"}
    assert names == {"RAILWAY_PREVIEW_TOKEN"}
    assert run.outputs["required_checks"] == ["frontend-ci", "backend-ci"]


def _frontend(**changes: object) -> dict[str, object]:
    from config import read_stack_file

    raw, _ = read_stack_file("staging")
    return {**dict(raw["maya-infra:frontend"]), **changes}
