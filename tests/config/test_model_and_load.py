"""The stack config model: both real stack files validate; every kind of bad input gives one clear error."""

from __future__ import annotations

from typing import Any

import pytest

import config
from tests.secrets import EXTERNAL_DATABASE_URL, TEST_CHECKLY_SECRETS, TEST_SECRETS


def _parse(
    stack: str,
    overrides: dict[str, Any] | None = None,
    secrets: dict[str, str] | None = None,
    plaintext: dict[str, str] | None = None,
) -> config.StackConfig:
    raw, _ = config.read_stack_file(stack)
    raw = {**raw, **(overrides or {})}
    raw = {k: v for k, v in raw.items() if v is not None}
    secret_values = dict(TEST_SECRETS if secrets is None else secrets)
    if secrets is None and stack == "production":
        secret_values.update(TEST_CHECKLY_SECRETS)  # production's config requires the Checkly account
    return config.parse(stack, {**raw, **secret_values, **(plaintext or {})}, set(secret_values))


def _problems(exc: pytest.ExceptionInfo[config.ConfigError]) -> dict[str, config.Problem]:
    return {p.key: p for p in exc.value.problems}


@pytest.mark.parametrize("stack", config.STACKS)
def test_real_stack_files_validate_with_all_secrets(stack: str) -> None:
    cfg = _parse(stack)
    assert cfg.stack == stack
    assert cfg.environment == stack
    assert cfg.platforms == frozenset({"railway", "vercel", "github", "checkly"})
    assert cfg.backend.healthcheck_path == "/api/health"
    assert cfg.backend.root_directory == "backend"
    assert cfg.frontend.root_directory == "omega-frontend"
    assert cfg.secret("jwtSecretKey") is not None
    assert "test-jwt" not in repr(cfg)  # SecretStr never shows its value


def test_spec_values_per_environment() -> None:
    staging, production = _parse("staging"), _parse("production")
    assert staging.frontend.domains == ("staging.mayassistant.com",)
    assert production.frontend.domains == ("mayassistant.com",)
    assert production.frontend.redirect_domains == ("www.mayassistant.com",)
    assert (staging.github.branch, production.github.branch) == ("develop", "main")
    assert production.github.reviewers and production.github.prevent_self_review
    assert staging.github.monorepo and production.github.monorepo
    assert production.backend.replicas >= staging.backend.replicas
    assert staging.frontend.preview_deployments and not production.frontend.preview_deployments


def test_missing_secret_names_the_key_and_the_command() -> None:
    secrets = {k: v for k, v in TEST_SECRETS.items() if k != "maya-infra:jwtSecretKey"}
    with pytest.raises(config.ConfigError) as exc:
        _parse("staging", secrets=secrets)
    problem = _problems(exc)["jwtSecretKey"]
    assert "missing" in problem.message
    assert problem.fix.startswith("pulumi config set --secret maya-infra:jwtSecretKey --stack staging")
    assert "nothing was deployed" in str(exc.value)


def test_malformed_domain_is_reported_with_its_path() -> None:
    raw, _ = config.read_stack_file("production")
    frontend = {**raw["maya-infra:frontend"], "domains": ["https://mayassistant.com/"]}
    with pytest.raises(config.ConfigError) as exc:
        _parse("production", {"maya-infra:frontend": frontend})
    problem = _problems(exc)["frontend.domains[0]"]
    assert "not a domain name" in problem.message
    assert "--path 'maya-infra:frontend.domains[0]'" in problem.fix


@pytest.mark.parametrize("key", ["maya-infra:gihub", "maya-infra:jwtSecret"])
def test_unknown_key_is_an_error_with_a_suggestion(key: str) -> None:
    with pytest.raises(config.ConfigError) as exc:
        _parse("staging", {key: "x"})
    problem = _problems(exc)[key.split(":")[1]]
    assert "not a setting" in problem.message and "did you mean" in problem.message
    assert problem.fix == f"pulumi config rm {key} --stack staging"


def test_unknown_nested_key_is_an_error() -> None:
    raw, _ = config.read_stack_file("staging")
    backend = {**raw["maya-infra:backend"], "healthcheckPth": "/x"}
    with pytest.raises(config.ConfigError) as exc:
        _parse("staging", {"maya-infra:backend": backend})
    assert "did you mean healthcheckPath" in _problems(exc)["backend.healthcheckPth"].message


def test_wrong_type_is_not_coerced() -> None:
    raw, _ = config.read_stack_file("staging")
    backend = {**raw["maya-infra:backend"], "replicas": "2"}
    with pytest.raises(config.ConfigError) as exc:
        _parse("staging", {"maya-infra:backend": backend})
    assert "valid integer" in _problems(exc)["backend.replicas"].message


def test_production_without_reviewers_is_refused() -> None:
    raw, _ = config.read_stack_file("production")
    github = {**raw["maya-infra:github"], "reviewers": []}
    with pytest.raises(config.ConfigError) as exc:
        _parse("production", {"maya-infra:github": github})
    assert "reviewer" in _problems(exc)["github.reviewers"].message


def test_a_secret_stored_in_plain_text_is_refused_without_echoing_it() -> None:
    secrets = {k: v for k, v in TEST_SECRETS.items() if k != "maya-infra:stripeApiKey"}
    with pytest.raises(config.ConfigError) as exc:
        _parse(
            "staging", secrets=secrets, plaintext={"maya-infra:stripeApiKey": TEST_SECRETS["maya-infra:stripeApiKey"]}
        )
    assert "plain text" in _problems(exc)["stripeApiKey"].message
    assert TEST_SECRETS["maya-infra:stripeApiKey"] not in str(exc.value)


def test_all_problems_are_reported_together() -> None:
    raw, _ = config.read_stack_file("staging")
    frontend = {**raw["maya-infra:frontend"], "domains": ["not a domain"]}
    secrets = {k: v for k, v in TEST_SECRETS.items() if k != "maya-infra:railwayToken"}
    with pytest.raises(config.ConfigError) as exc:
        _parse("staging", {"maya-infra:frontend": frontend, "maya-infra:typo": 1}, secrets=secrets)
    assert {"frontend.domains[0]", "typo", "railwayToken"} <= set(_problems(exc))


def test_external_database_needs_its_url_and_a_railway_database_refuses_one() -> None:
    raw, _ = config.read_stack_file("staging")
    external = {**raw["maya-infra:backend"], "database": "external"}
    with pytest.raises(config.ConfigError) as exc:
        _parse("staging", {"maya-infra:backend": external})
    assert "databaseUrl" in _problems(exc)
    ok = _parse(
        "staging",
        {"maya-infra:backend": external},
        secrets={**TEST_SECRETS, "maya-infra:databaseUrl": EXTERNAL_DATABASE_URL},
    )
    assert ok.backend.database == "external"
    with pytest.raises(config.ConfigError) as exc:
        _parse("staging", secrets={**TEST_SECRETS, "maya-infra:databaseUrl": EXTERNAL_DATABASE_URL})
    assert "is set but" in _problems(exc)["databaseUrl"].message


def test_unknown_stack_is_refused() -> None:
    with pytest.raises(config.ConfigError) as exc:
        config.parse("qa", {}, set())
    assert "unknown stack" in str(exc.value)


def test_stack_file_loader_needs_no_secret() -> None:
    cfg = config.load_from_stack_file("production")
    assert cfg.secrets == {}
    assert cfg.github.required_checks == ("frontend-ci", "backend-ci")


# ---- the shared state backend and CI's credentials (issue 17) -------------------------------------------------
@pytest.mark.parametrize(
    ("backend", "words"),
    [
        ({"kind": "postgres", "url": "postgres://u:secret-pw@db/pulumi"}, "PULUMI_BACKEND_URL"),
        ({"kind": "s3", "url": "https://bucket"}, "s3:// bucket URL"),
        ({"kind": "s3", "url": "s3://maya-state/p?region=eu-west-1&secret_access_key=x"}, "must not carry"),
        ({"kind": "pulumi-cloud"}, "organization"),
        ({"kind": "pulumi-cloud", "organization": "maya", "url": "http://api"}, "https://"),
        ({"kind": "postgres", "organization": "maya"}, "only for kind pulumi-cloud"),
        ({"kind": "file"}, "postgres"),
    ],
)
def test_state_backend_is_validated_with_a_clear_message(backend: dict[str, Any], words: str) -> None:
    with pytest.raises(config.ConfigError) as exc:
        _parse("staging", {"maya-infra:stateBackend": backend})
    problems = _problems(exc)
    key = next(k for k in problems if k.startswith("stateBackend"))
    assert words in problems[key].message
    assert "secret-pw" not in str(exc.value)  # a password pasted into the URL is never echoed


@pytest.mark.parametrize(
    ("backend", "secrets", "name"),
    [
        ({"kind": "postgres"}, ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE"), "production"),
        (
            {"kind": "s3", "url": "s3://maya-state/production?region=eu-west-1"},
            ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "PULUMI_CONFIG_PASSPHRASE"),
            "production",
        ),
        (
            {"kind": "pulumi-cloud", "organization": "mayassistant"},
            ("PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG_PASSPHRASE"),
            "mayassistant/maya-infra/production",
        ),
    ],
)
def test_each_backend_names_its_environment_secrets(
    backend: dict[str, Any], secrets: tuple[str, ...], name: str
) -> None:
    cfg = _parse("production", {"maya-infra:stateBackend": backend})
    assert cfg.state_backend is not None
    assert cfg.state_backend.secret_names == secrets
    assert cfg.state_backend.stack_name("production") == name


def test_ci_deploy_token_must_not_be_the_team_wide_token() -> None:
    same = {**TEST_SECRETS, "maya-infra:vercelDeployToken": TEST_SECRETS["maya-infra:vercelToken"]}
    with pytest.raises(config.ConfigError) as exc:
        _parse("staging", secrets=same)
    assert "scoped to this stack's Vercel project" in _problems(exc)["vercelDeployToken"].message
    assert TEST_SECRETS["maya-infra:vercelToken"] not in str(exc.value)
    missing = {k: v for k, v in TEST_SECRETS.items() if k != "maya-infra:vercelDeployToken"}
    with pytest.raises(config.ConfigError) as exc:
        _parse("staging", secrets=missing)
    assert "vercelDeployToken" in _problems(exc)


def test_an_empty_vercel_org_id_is_refused_not_written() -> None:
    from config import envvars

    org = next(v for v in envvars.TABLE if v.name == "VERCEL_ORG_ID")
    with pytest.raises(ValueError, match=r"VERCEL_ORG_ID would be empty.*frontend\.teamId"):
        envvars._not_empty(org, "")
    assert envvars._not_empty(org, "team_abc") == "team_abc"


# ---- production's monitor (issue 13): a real 30-second check that mails, refused otherwise ------------------


def test_production_without_the_checkly_account_is_refused_with_the_commands_that_fix_it() -> None:
    with pytest.raises(config.ConfigError) as exc:
        _parse("production", secrets=TEST_SECRETS)
    problems = _problems(exc)
    assert set(problems) == {"checklyApiKey", "checklyAccountId"}
    fix = problems["checklyApiKey"].fix
    assert "pulumi config set --secret maya-infra:checklyApiKey --stack production" in fix


@pytest.mark.parametrize(
    ("monitoring", "key"),
    [
        ({"provider": "github-actions"}, "monitoring.provider"),
        ({"backendFrequencySeconds": 60}, "monitoring.backendFrequencySeconds"),
    ],
)
def test_production_without_a_30_second_monitor_is_refused(monitoring: dict[str, Any], key: str) -> None:
    raw, _ = config.read_stack_file("production")
    section = {**raw["maya-infra:monitoring"], **monitoring}
    secrets = {**TEST_SECRETS, **TEST_CHECKLY_SECRETS} if "provider" not in monitoring else TEST_SECRETS
    with pytest.raises(config.ConfigError) as exc:
        _parse("production", {"maya-infra:monitoring": section}, secrets=secrets)
    assert key in _problems(exc)


def test_staging_may_use_the_scheduled_fallback_and_a_rehearsal_may_leave_checkly_out() -> None:
    assert _parse("staging").monitoring_mode == config.MONITORING_SCHEDULE
    cfg = _parse("production", {"maya-infra:platforms": ["railway", "vercel", "github"]}, secrets=TEST_SECRETS)
    assert cfg.monitoring_mode == config.MONITORING_SCHEDULE
    assert any("checkly is left out" in gap for gap in cfg.safety_gaps())


# ---- monitoring.backendErrorRate -------------------------------------------------------------------------------
def test_both_stack_files_set_the_backend_error_rate_production_stricter() -> None:
    staging, production = (_parse(s).monitoring for s in ("staging", "production"))
    assert staging is not None and production is not None
    s, p = staging.backend_error_rate, production.backend_error_rate
    assert s.enabled and p.enabled
    assert p.threshold_percent < s.threshold_percent and p.window_minutes < s.window_minutes
    assert p.frequency_minutes <= s.frequency_minutes and p.min_requests <= s.min_requests
    assert _parse("production").error_rate_poller == config.MONITORING_CHECKLY
    assert _parse("staging").error_rate_poller == config.MONITORING_SCHEDULE


@pytest.mark.parametrize(
    ("value", "key", "words"),
    [
        ({"thresholdPercent": 0}, "monitoring.backendErrorRate.thresholdPercent", "greater than 0"),
        ({"thresholdPercent": 100}, "monitoring.backendErrorRate.thresholdPercent", "less than 100"),
        ({"thresholdPercent": "5%"}, "monitoring.backendErrorRate.thresholdPercent", "number"),
        ({"windowMinutes": 0}, "monitoring.backendErrorRate.windowMinutes", "greater than or equal to 1"),
        ({"windowMinutes": 61}, "monitoring.backendErrorRate.windowMinutes", "less than or equal to 60"),
        ({"minRequests": 0}, "monitoring.backendErrorRate.minRequests", "greater than or equal to 1"),
        ({"frequencyMinutes": 3}, "monitoring.backendErrorRate.frequencyMinutes", "1, 2, 5"),
        ({"windowMinutes": 5, "frequencyMinutes": 10}, "monitoring.backendErrorRate", "must not exceed windowMinutes"),
        ({"threshold": 5}, "monitoring.backendErrorRate.threshold", ""),
        ({"enabled": "yes"}, "monitoring.backendErrorRate.enabled", "boolean"),
    ],
)
def test_a_bad_backend_error_rate_is_one_clear_problem_naming_the_key(
    value: dict[str, Any], key: str, words: str
) -> None:
    raw, _ = config.read_stack_file("staging")
    section = {**raw["maya-infra:monitoring"], "backendErrorRate": value}
    with pytest.raises(config.ConfigError) as exc:
        _parse("staging", {"maya-infra:monitoring": section})
    problems = exc.value.problems
    assert [p.key for p in problems] == [key], problems
    assert words in problems[0].message


def test_defaults_apply_and_production_may_not_turn_it_off() -> None:
    raw, _ = config.read_stack_file("staging")
    section = {k: v for k, v in raw["maya-infra:monitoring"].items() if k != "backendErrorRate"}
    rate = _parse("staging", {"maya-infra:monitoring": section}).monitoring.backend_error_rate  # type: ignore[union-attr]
    assert (rate.enabled, rate.threshold_percent, rate.window_minutes, rate.min_requests) == (True, 5.0, 10, 50)
    raw, _ = config.read_stack_file("production")
    off = {**raw["maya-infra:monitoring"], "backendErrorRate": {"enabled": False}}
    with pytest.raises(config.ConfigError) as exc:
        _parse("production", {"maya-infra:monitoring": off})
    assert "monitoring.backendErrorRate.enabled" in _problems(exc)


def test_no_up_may_be_told_to_remove_undeclared_variables() -> None:
    """``adopt.removeUndeclaredVariables: true`` (older versions let the next writes remove them) is refused
    with the one command that removes them after listing them; ``false`` (what older ``ops adopt`` wrote)
    still loads."""
    with pytest.raises(config.ConfigError) as exc:
        _parse("staging", {"maya-infra:adopt": {"removeUndeclaredVariables": True}})
    problem = next(p for p in exc.value.problems if "removeUndeclaredVariables" in p.key)
    assert "ops adopt --stack <stack> --remove-undeclared-variables" in problem.message
    assert _parse("staging", {"maya-infra:adopt": {"removeUndeclaredVariables": False}}).adopt.railway == {}
