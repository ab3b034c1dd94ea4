"""``maya-infra:performance`` (the staging performance stage) and ``maya-infra:errorTracking`` (Sentry): the
stack files' defaults, and every bad value as one problem naming its key and its fix."""

from __future__ import annotations

from typing import Any

import pytest

import config
from config import envvars
from config.envvars import Target
from tests.config.test_model_and_load import _parse, _problems
from tests.secrets import TEST_SECRETS

PERF = "maya-infra:performance"
TRACKING = "maya-infra:errorTracking"
DSN = "https://0123456789abcdef0123456789abcdef@o4501.ingest.sentry.io/4505"
FRONTEND_DSN = "https://fedcba9876543210fedcba9876543210@o4501.ingest.sentry.io/4506"
SENTRY_SECRETS = {"maya-infra:sentryDsn": DSN, "maya-infra:sentryAuthToken": "sntrys_test-auth-token-7c1e"}
TRACKING_SECTION = {
    "organization": "mayassistant",
    "backendProject": "maya-backend",
    "frontendProject": "maya-frontend",
    "frontendDsn": FRONTEND_DSN,
}


def _performance(**changes: Any) -> dict[str, Any]:
    section = dict(config.read_stack_file("staging")[0][PERF])
    section.update(changes)
    return section


def test_staging_runs_the_stage_and_production_carries_none() -> None:
    staging, production = _parse("staging"), _parse("production")
    perf = staging.performance
    assert perf is not None and production.performance is None
    assert [p.path for p in perf.backend] == ["/api/health"] and [p.path for p in perf.frontend] == ["/"]
    assert perf.users == 10 and perf.ramp_seconds == 2 and perf.duration_seconds == 60
    assert perf.regression_percent == 20 and perf.lighthouse.pages == ("/",)
    assert perf.lighthouse.min_scores() == {"performance": 0.7, "accessibility": 0.9, "best-practices": 0.9}


@pytest.mark.parametrize(
    ("changes", "key", "message"),
    [
        ({"users": 0}, "performance.users", "greater than or equal to 1"),
        ({"users": "10"}, "performance.users", "valid integer"),
        ({"spawnRate": 0}, "performance.spawnRate", "greater than 0"),
        ({"durationSeconds": 5}, "performance.durationSeconds", "greater than or equal to 10"),
        ({"users": 600, "spawnRate": 1}, "performance", "raise spawnRate to at least 5"),
        ({"minWaitSeconds": 3}, "performance", "must not exceed maxWaitSeconds"),
        ({"backend": [], "frontend": []}, "performance", "no path to load"),
        ({"backend": [{"path": "api/health", "p95Ms": 800}]}, "performance.backend[0].path", "starting with '/'"),
        ({"backend": [{"path": "/api/health"}]}, "performance.backend[0].p95Ms", "is required"),
        (
            {"frontend": [{"path": "/", "p95Ms": 1, "maxErrorPercent": 101}]},
            "performance.frontend[0].maxErrorPercent",
            "100",
        ),
        ({"frontend": [{"path": "/", "p95Ms": 9}, {"path": "/", "p95Ms": 8}]}, "performance.frontend", "twice"),
        ({"frontend": [{"path": "/", "p95Ms": 9, "p95MS": 9}]}, "performance.frontend[0].p95MS", "did you mean p95Ms"),
        ({"regressionPercent": 0}, "performance.regressionPercent", "greater than 0"),
        ({"lighthouse": {"pages": []}}, "performance.lighthouse.pages", "at least 1"),
        ({"lighthouse": {"performance": 1.5}}, "performance.lighthouse.performance", "less than or equal to 1"),
        ({"lighthouse": {"formFactor": "tablet"}}, "performance.lighthouse.formFactor", "'mobile' or 'desktop'"),
        ({"usres": 10}, "performance.usres", "did you mean users"),
    ],
)
def test_each_bad_value_is_one_problem_with_its_key_and_fix(changes: dict[str, Any], key: str, message: str) -> None:
    with pytest.raises(config.ConfigError) as exc:
        _parse("staging", {PERF: _performance(**changes)})
    assert list(_problems(exc)) == [key], exc.value
    problem = _problems(exc)[key]
    assert message in problem.message, problem
    assert f"'maya-infra:{key}'" in problem.fix or f"maya-infra:{key} " in problem.fix, problem.fix


def test_production_refuses_the_section_with_the_command_that_removes_it() -> None:
    with pytest.raises(config.ConfigError) as exc:
        _parse("production", {PERF: _performance()})
    problem = _problems(exc)["performance"]
    assert "staging only" in problem.message
    assert problem.fix == "pulumi config rm maya-infra:performance --stack production"


def test_backend_paths_need_the_backend_custom_domain() -> None:
    backend = dict(config.read_stack_file("staging")[0]["maya-infra:backend"], customDomain=None)
    with pytest.raises(config.ConfigError) as exc:
        _parse("staging", {"maya-infra:backend": backend, PERF: _performance()})
    problem = _problems(exc)["performance.backend"]
    assert "backend.customDomain" in problem.message and "backend.customDomain" in problem.fix
    frontend_only = _parse("staging", {"maya-infra:backend": backend, PERF: _performance(backend=[])})
    assert frontend_only.performance is not None and not frontend_only.performance.backend


# ---- error tracking ----------------------------------------------------------------------------------------


def _tracked(stack: str = "staging", secrets: dict[str, str] | None = None, **section: Any) -> config.StackConfig:
    values = {**TEST_SECRETS, **(SENTRY_SECRETS if secrets is None else secrets)}
    if stack == "production":
        values |= {"maya-infra:checklyApiKey": "k-1", "maya-infra:checklyAccountId": "a-1"}
    return _parse(stack, {TRACKING: {**TRACKING_SECTION, **section}}, values)


def _names(cfg: config.StackConfig, target: Target) -> set[str]:
    return {v.name for v in envvars.for_target(cfg, target) if v.name.startswith(("SENTRY", "NEXT_PUBLIC_SENTRY"))}


@pytest.mark.parametrize("stack", config.STACKS)
def test_without_a_tracker_no_sentry_variable_exists(stack: str) -> None:
    cfg = _parse(stack)
    assert cfg.error_tracking is None
    for target in Target:
        assert not _names(cfg, target), target


def test_with_sentry_every_variable_goes_where_the_table_says() -> None:
    cfg = _tracked()
    assert _names(cfg, Target.BACKEND) == {"SENTRY_DSN", "SENTRY_ENVIRONMENT", "SENTRY_RELEASE"}
    assert _names(cfg, Target.FRONTEND_BUILD) == {"NEXT_PUBLIC_SENTRY_DSN", "NEXT_PUBLIC_SENTRY_ENVIRONMENT"}
    assert _names(cfg, Target.CI_FRONTEND) == {
        "SENTRY_AUTH_TOKEN",
        "SENTRY_URL",
        "SENTRY_ORG",
        "SENTRY_FRONTEND_PROJECT",
    }
    assert _names(cfg, Target.CI_BACKEND) == {"SENTRY_AUTH_TOKEN", "SENTRY_URL", "SENTRY_ORG", "SENTRY_BACKEND_PROJECT"}
    secret = {v.name for v in envvars.TABLE if v.secret and v.name.startswith("SENTRY")}
    assert secret == {"SENTRY_DSN", "SENTRY_AUTH_TOKEN"}  # the frontend's DSN is public by design
    release = next(v for v in envvars.TABLE if v.name == "SENTRY_RELEASE")
    assert isinstance(release.source, envvars.Setting)
    assert release.source.pick(cfg) == "${{RAILWAY_GIT_COMMIT_SHA}}"  # the commit of the running deployment
    assert "SENTRY_DSN" in envvars.preview_names(False)  # a pull request never reports into the stack's project


@pytest.mark.parametrize(
    ("secrets", "section", "key", "message"),
    [
        ({"maya-infra:sentryAuthToken": "t"}, {}, "sentryDsn", "is missing"),
        ({"maya-infra:sentryDsn": DSN}, {}, "sentryAuthToken", "is missing"),
        (
            {**SENTRY_SECRETS, "maya-infra:sentryDsn": "https://sentry.io/not-a-dsn"},
            {},
            "sentryDsn",
            "not a Sentry DSN",
        ),
        (SENTRY_SECRETS, {"frontendDsn": "http://key@sentry.io/1"}, "errorTracking.frontendDsn", "not a Sentry DSN"),
        (SENTRY_SECRETS, {"organization": "Maya Org"}, "errorTracking.organization", "not a Sentry slug"),
        (SENTRY_SECRETS, {"provider": "rollbar"}, "errorTracking.provider", "'sentry'"),
    ],
)
def test_each_bad_tracker_setting_is_one_problem(
    secrets: dict[str, str], section: dict[str, Any], key: str, message: str
) -> None:
    with pytest.raises(config.ConfigError) as exc:
        _tracked(secrets=secrets, **section)
    assert list(_problems(exc)) == [key], exc.value
    assert message in _problems(exc)[key].message
    assert "maya-infra:" + key.split(".")[0] in _problems(exc)[key].fix


@pytest.mark.parametrize("key", ["maya-infra:sentryDsn", "maya-infra:sentryAuthToken"])
def test_a_sentry_secret_without_the_section_is_refused(key: str) -> None:
    with pytest.raises(config.ConfigError) as exc:
        _parse("staging", secrets={**TEST_SECRETS, key: SENTRY_SECRETS[key]})
    problem = _problems(exc)[key.split(":")[1]]
    assert "errorTracking is not" in problem.message and problem.fix.startswith("pulumi config rm")


def test_a_secret_dsn_must_not_be_plain_text() -> None:
    with pytest.raises(config.ConfigError) as exc:
        _parse(
            "staging",
            {TRACKING: TRACKING_SECTION},
            {**TEST_SECRETS, "maya-infra:sentryAuthToken": "t"},
            plaintext={"maya-infra:sentryDsn": DSN},
        )
    assert "plain text" in _problems(exc)["sentryDsn"].message
