"""``maya-infra:previews``: on for staging and off for production by default; production and a shared
database are refused; the previews' Railway token is required only when previews are on; the variable
table says what a preview gets of each value (docs/previews.md)."""

from __future__ import annotations

import pytest

import config
from config import envvars
from config.envvars import Target
from tests.config.test_model_and_load import _parse, _problems
from tests.secrets import EXTERNAL_DATABASE_URL, TEST_CHECKLY_SECRETS, TEST_PRODUCTION_SECRETS, TEST_SECRETS

TOKEN = "maya-infra:previewsRailwayToken"
REVIEWERS = [{"kind": "team", "id": 4218002, "name": "maya-infra-maintainers"}]


def test_on_for_staging_and_off_for_production_by_default() -> None:
    staging, production = _parse("staging"), _parse("production")
    assert staging.previews.enabled and staging.previews_active
    assert staging.previews.max_environments == 5 and staging.previews.sleep_when_idle
    assert not production.previews.enabled and not production.previews_active


def test_production_previews_are_refused_with_the_key_and_the_fix() -> None:
    with pytest.raises(config.ConfigError) as exc:
        _parse("production", {"maya-infra:previews": {"enabled": True}})
    problem = _problems(exc)["previews.enabled"]
    assert "production" in problem.message and "--path 'maya-infra:previews.enabled'" in problem.fix


def test_an_external_database_turns_the_default_off_and_refuses_an_explicit_on() -> None:
    secrets = {**TEST_SECRETS, "maya-infra:databaseUrl": EXTERNAL_DATABASE_URL}
    backend = dict(config.read_stack_file("staging")[0]["maya-infra:backend"], database="external")
    assert not _parse("staging", {"maya-infra:backend": backend}, secrets).previews.enabled
    with pytest.raises(config.ConfigError) as exc:
        _parse(
            "staging",
            {"maya-infra:backend": backend, "maya-infra:previews": {"enabled": True, "reviewers": REVIEWERS}},
            secrets,
        )
    assert "own PostgreSQL" in _problems(exc)["previews.enabled"].message


def test_the_previews_token_is_required_only_when_previews_are_on() -> None:
    secrets = {k: v for k, v in TEST_SECRETS.items() if k != TOKEN}
    with pytest.raises(config.ConfigError) as exc:
        _parse("staging", secrets=secrets)
    problem = _problems(exc)["previewsRailwayToken"]
    assert "never production's" in problem.message and "--secret maya-infra:previewsRailwayToken" in problem.fix
    assert not _parse("staging", {"maya-infra:previews": {"enabled": False}}, secrets).previews.enabled
    production = {**secrets, **TEST_CHECKLY_SECRETS, **TEST_PRODUCTION_SECRETS}
    assert _parse("production", secrets=production).stack == "production"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"enabled": True, "maxEnvironments": 0}, "greater than or equal to 1"),
        ({"enabled": True, "environmentPrefix": "PR_"}, "should match pattern"),
        ({"enabled": True, "maxEnviroments": 3}, "did you mean maxEnvironments"),
        ({"maxEnvironments": 3, "reviewers": []}, "name who approves each run"),
    ],
)
def test_bad_preview_settings_name_the_key(value: dict[str, object], message: str) -> None:
    """Each bad setting is named; previews without reviewers are refused (a pull request's code would run with the
    previews' write-capable tokens unapproved, docs/trust.md)."""
    with pytest.raises(config.ConfigError) as exc:
        _parse("staging", {"maya-infra:previews": value})
    assert any(message in p.message for p in exc.value.problems), exc.value


def test_the_table_says_what_a_preview_gets() -> None:
    # no Twilio (real SMS), no error tracker (a pull request's errors must not land in the stack's Sentry)
    assert set(envvars.preview_names(False)) == {"TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "SENTRY_DSN"}
    assert set(envvars.preview_names("fresh")) == {"JWT_SECRET_KEY", "ENCRYPTION_KEY"}
    assert "STRIPE_API_KEY" in envvars.preview_names(True) and "DATABASE_URL" in envvars.preview_names(True)


def test_the_preview_environment_gets_ids_and_tokens_only_when_previews_are_on() -> None:
    staging, production = _parse("staging"), _parse("production")
    names = {v.name for v in envvars.for_target(staging, Target.CI_PREVIEW)}
    assert names == {
        "RAILWAY_PREVIEW_TOKEN", "RAILWAY_PROJECT_ID", "RAILWAY_ENVIRONMENT_ID", "RAILWAY_SERVICE_ID",
        "VERCEL_ORG_ID", "VERCEL_PROJECT_ID", "VERCEL_AUTOMATION_BYPASS_SECRET",
    }  # fmt: skip
    with_vercel = _parse("staging", secrets={**TEST_SECRETS, "maya-infra:previewsVercelToken": "vercel-previews-x1"})
    [token] = [v for v in envvars.for_target(with_vercel, Target.CI_PREVIEW) if v.name == "VERCEL_TOKEN"]
    assert token.source == envvars.ConfigSecret("previewsVercelToken")  # never the stack's own vercelToken
    assert envvars.for_target(production, Target.CI_PREVIEW) == ()


def test_the_automation_bypass_goes_to_the_preview_environment_only_where_previews_are_tested() -> None:
    [bypass] = [v for v in envvars.TABLE if v.name == "VERCEL_AUTOMATION_BYPASS_SECRET"]
    assert bypass.secret and bypass.targets == frozenset({Target.CI_PREVIEW})  # never a deploy environment's
    staging = _parse("staging")
    off = staging.model_copy(update={"frontend": staging.frontend.model_copy(update={"preview_deployments": False})})
    assert bypass.applies_to(staging) and not bypass.applies_to(off)
    assert not bypass.applies_to(_parse("production"))
