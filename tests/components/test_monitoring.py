"""Monitoring and backups as code: the Checkly resources of both stacks under mocks, the fallback to the
scheduled workflow, the backup schedule the program declares, and the config rules around them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pulumi
import pytest

import config
from program import build as build_stack
from tests.components.program import (
    RAILWAY,
    ProgramRun,
    RecordingMocks,
    _record_options,
    is_secret,
    run_program,
    stack_config,
    staging_handoff,
)
from tests.secrets import EXTERNAL_DATABASE_URL, TEST_CHECKLY_SECRETS, stack_secrets
from workflows import render_app_workflows

CHECK = "checkly:index/check:Check"
GROUP = "checkly:index/checkGroupV2:CheckGroupV2"
CHANNEL = "checkly:index/alertChannel:AlertChannel"
PROVIDER = "pulumi:providers:checkly"

CHECKLY_ACCOUNT = {
    "maya-infra:checklyApiKey": "test-checkly-api-key-5e8c1a3f",
    "maya-infra:checklyAccountId": "test-checkly-account-9d2b7e41",
}
SLACK_WEBHOOK = "https://hooks.slack.com/services/T000/B000/test-slack-hook-7f3a9c2e"
PAGERDUTY_KEY = "test-pagerduty-key-2b6d8e0f"
ALERT_SECRETS = {"maya-infra:slackWebhookUrl": SLACK_WEBHOOK, "maya-infra:pagerdutyServiceKey": PAGERDUTY_KEY}


class ChecklyMocks(RecordingMocks):
    """Checkly ids are numbers (checks reference their group and channels by numeric id)."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        id_, state = super().new_resource(args)
        if args.typ.startswith("checkly:"):
            return str(7000 + len(self.resources)), state
        return id_, state


def run_checkly(
    stack_name: str, overrides: Mapping[str, Any] | None = None, secrets: Mapping[str, str] | None = None
) -> ProgramRun:
    # production declares staging's GitHub half from its hand-off (docs/trust.md), made before these mocks are set
    with staging_handoff():
        return _run_checkly(stack_name, overrides, secrets)


def _run_checkly(stack_name: str, overrides: Mapping[str, Any] | None, secrets: Mapping[str, str] | None) -> ProgramRun:
    mocks = ChecklyMocks()
    pulumi.runtime.set_mocks(mocks, project="maya-infra", stack=stack_name, preview=False)
    _record_options(mocks)
    values, secret_keys = stack_config(
        stack_name, overrides, {**stack_secrets(stack_name), **CHECKLY_ACCOUNT, **(secrets or {})}
    )
    pulumi.runtime.set_all_config(values, secret_keys)
    run = ProgramRun(mocks)

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        exported = build_stack(config.load_from_pulumi())
        return pulumi.Output.from_input(exported).apply(run.outputs.update)

    program()
    return run


def _plain(value: Any) -> Any:
    if is_secret(value):
        return _plain(value["value"])
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _leaves(value: Any, inside_secret: bool = False) -> Iterator[tuple[Any, bool]]:
    if is_secret(value):
        yield from _leaves(value["value"], True)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v, inside_secret)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v, inside_secret)
    else:
        yield value, inside_secret


def _monitoring(raw_stack: str, **changes: Any) -> dict[str, Any]:
    raw, _ = config.read_stack_file(raw_stack)
    return {**raw["maya-infra:monitoring"], **changes}


@pytest.fixture(scope="module", params=config.STACKS)
def checkly_run(request: pytest.FixtureRequest) -> ProgramRun:
    return run_checkly(request.param)


# ---- Checkly resources ---------------------------------------------------------------------------------------
def test_one_group_three_checks_and_an_explicit_provider_with_secret_credentials(checkly_run: ProgramRun) -> None:
    name = checkly_run.outputs["stack"]
    mocks = checkly_run.mocks
    assert checkly_run.outputs["monitoring"] == "checkly"
    provider = mocks.one(PROVIDER)
    for key, value in (("apiKey", "checklyApiKey"), ("accountId", "checklyAccountId")):
        assert is_secret(provider.inputs[key]), key
        assert provider.inputs[key]["value"] == CHECKLY_ACCOUNT[f"maya-infra:{value}"]
    group = mocks.one(GROUP)
    assert group.inputs["name"] == f"maya-{name}" and group.inputs["activated"] is True
    assert name in group.inputs["tags"]
    checks = mocks.of_type(CHECK)
    assert len(checks) == 3  # backend health, frontend, backend 5xx rate
    assert {c.inputs["groupId"] for c in checks} == {_id_of(mocks, GROUP)}  # grouped per stack
    declared = [r for r in mocks.resources if r.typ.startswith("checkly:")]
    assert declared and all(r.provider and "pulumi:providers:checkly" in r.provider for r in declared)


def _id_of(mocks: RecordingMocks, typ: str) -> int:
    index = next(i for i, r in enumerate(mocks.resources) if r.typ == typ)
    return 7000 + index + 1


def _check(run: ProgramRun, part: str) -> dict[str, Any]:
    found = [c for c in run.mocks.of_type(CHECK) if part in c.inputs["tags"]]
    assert len(found) == 1
    return dict(_plain(found[0].inputs))


def test_backend_health_every_30_seconds_from_two_locations_asserting_status_database_and_external_apis(
    checkly_run: ProgramRun,
) -> None:
    cfg = config.load_from_stack_file(checkly_run.outputs["stack"])
    backend = _check(checkly_run, "backend")
    assert backend["type"] == "API" and backend["activated"] is True and backend["muted"] is False
    assert (backend["frequency"], backend["frequencyOffset"]) == (0, 30)  # Checkly's sub-minute schedule
    assert len(set(backend["locations"])) >= 2 and backend["runParallel"] is True
    request = backend["request"]
    assert request["method"] == "GET"
    assert request["url"] == f"https://{cfg.backend.custom_domain}/api/health"
    assertions = {(a["source"], a.get("property", ""), a["comparison"], a["target"]) for a in request["assertions"]}
    assert ("STATUS_CODE", "", "EQUALS", "200") in assertions
    assert ("JSON_BODY", "$.database", "EQUALS", "ok") in assertions
    assert ("JSON_BODY", "$.external_apis", "EQUALS", "ok") in assertions
    assert backend["degradedResponseTime"] < backend["maxResponseTime"] <= 30000


def test_frontend_every_5_minutes(checkly_run: ProgramRun) -> None:
    cfg = config.load_from_stack_file(checkly_run.outputs["stack"])
    frontend = _check(checkly_run, "frontend")
    assert frontend["type"] == "API" and frontend["frequency"] == 5 and "frequencyOffset" not in frontend
    assert frontend["request"]["url"] == f"{cfg.frontend.url}/"
    assert {"source": "STATUS_CODE", "comparison": "EQUALS", "target": "200"} in frontend["request"]["assertions"]
    assert len(frontend["locations"]) >= 2


def test_one_blip_does_not_alert(checkly_run: ProgramRun) -> None:
    for part in ("backend", "frontend"):
        check = _check(checkly_run, part)
        retry = check["retryStrategy"]
        assert retry["type"] == "LINEAR" and retry["maxRetries"] >= 1 and retry["sameRegion"] is False
        assert retry["maxDurationSeconds"] <= 600
        assert check["useGlobalAlertSettings"] is False
        alert = check["alertSettings"]
        assert alert["escalationType"] == "RUN_BASED"
        assert alert["reminders"][0]["interval"] in (5, 10, 15, 30)
    backend = _check(checkly_run, "backend")["alertSettings"]
    assert backend["runBasedEscalations"][0]["failedRunThreshold"] >= 2  # a 30-second blip never alerts
    assert backend["parallelRunFailureThresholds"][0] == {"enabled": True, "percentage": 50}


def test_email_channels_from_config_and_every_check_subscribed(checkly_run: ProgramRun) -> None:
    cfg = config.load_from_stack_file(checkly_run.outputs["stack"])
    assert cfg.monitoring is not None
    channels = checkly_run.mocks.of_type(CHANNEL)
    assert sorted(c.inputs["email"]["address"] for c in channels) == sorted(cfg.monitoring.alert_emails)
    assert all(c.inputs["sendFailure"] and c.inputs["sendRecovery"] for c in channels)
    ids = {7000 + i + 1 for i, r in enumerate(checkly_run.mocks.resources) if r.typ == CHANNEL}
    for part in ("backend", "frontend"):
        subscribed = {s["channelId"] for s in _check(checkly_run, part)["alertChannelSubscriptions"]}
        assert subscribed == ids
    summary = checkly_run.outputs["monitoring_checks"]
    assert summary["alerts"]["email"] == list(cfg.monitoring.alert_emails)
    assert summary["backend"]["every_seconds"] == 30 and summary["frontend"]["every_minutes"] == 5


def test_staging_and_production_alert_different_people() -> None:
    staging, production = (config.load_from_stack_file(s).monitoring for s in config.STACKS)
    assert staging is not None and production is not None
    assert not {e.lower() for e in staging.alert_emails} & {e.lower() for e in production.alert_emails}
    assert staging.slack.channel != production.slack.channel


@pytest.mark.parametrize("stack_name", config.STACKS)
def test_slack_and_pagerduty_behind_settings_and_their_keys_stay_secret(stack_name: str) -> None:
    monitoring = _monitoring(stack_name, slack={"enabled": True, "channel": "#oncall"}, pagerduty={"enabled": True})
    run = run_checkly(stack_name, {"maya-infra:monitoring": monitoring}, ALERT_SECRETS)
    channels = run.mocks.of_type(CHANNEL)
    slack = next(c for c in channels if "slack" in c.inputs)
    assert _plain(slack.inputs["slack"]) == {"url": SLACK_WEBHOOK, "channel": "#oncall"}
    pagerduty = next(c for c in channels if "pagerduty" in c.inputs)
    assert pagerduty.inputs["sendDegraded"] is False  # slow is not down: never page for it
    assert _plain(pagerduty.inputs["pagerduty"])["serviceKey"] == PAGERDUTY_KEY
    assert len(channels) == len(_monitoring(stack_name)["alertEmails"]) + 2
    planted = {SLACK_WEBHOOK, PAGERDUTY_KEY, *CHECKLY_ACCOUNT.values()}
    found = 0
    for resource in run.mocks.resources:
        for key, value in resource.inputs.items():
            for leaf, inside_secret in _leaves(value):
                if isinstance(leaf, str) and leaf in planted:
                    found += 1
                    assert inside_secret, f"{resource.typ} {resource.name}.{key} holds a secret in plain text"
    assert found >= 4
    assert not any(secret in repr(run.outputs) for secret in planted)
    assert sorted(run.outputs["secret_names"]["checkly"]) == [
        "PAGERDUTY_SERVICE_KEY",
        "RAILWAY_METRICS_TOKEN",
        "SLACK_WEBHOOK_URL",
    ]


def test_sub_minute_and_minute_schedules_map_to_checkly_frequencies() -> None:
    run = run_checkly("staging", {"maya-infra:monitoring": _monitoring("staging", backendFrequencySeconds=120)})
    backend = _check(run, "backend")
    assert backend["frequency"] == 2 and "frequencyOffset" not in backend
    no_retries = run_checkly("staging", {"maya-infra:monitoring": _monitoring("staging", retries=0)})
    assert _check(no_retries, "backend")["retryStrategy"] == {"type": "NO_RETRIES"}


def test_railway_left_out_the_backend_check_uses_the_custom_domain() -> None:
    run = run_checkly("staging", {"maya-infra:platforms": ["vercel", "github", "checkly"]})
    assert _check(run, "backend")["request"]["url"] == "https://api.staging.mayassistant.com/api/health"


# ---- without a Checkly account: the scheduled workflow ---------------------------------------------------
@pytest.mark.parametrize("stack_name", config.STACKS)
def test_without_a_checkly_account_the_scheduled_workflow_monitors(stack_name: str) -> None:
    # production only where checkly is left out on purpose (a rehearsal): its config requires the account
    overrides = {"maya-infra:platforms": ["railway", "vercel", "github"]} if stack_name == "production" else {}
    run = run_program(stack_name, overrides)
    assert not [r for r in run.mocks.resources if r.typ.startswith("checkly:") or r.typ == PROVIDER]
    assert run.outputs["monitoring"] == "github-actions schedule (every 5 min)"
    # the monitor workflow is among the files committed (production commits both stacks', docs/trust.md)
    assert ".github/workflows/monitor.yml" in str(render_app_workflows(config.load_from_stack_file(stack_name)))
    assert "monitoring_checks" not in run.outputs


def test_provider_github_actions_never_declares_checkly_even_with_an_account() -> None:
    overrides = {"maya-infra:monitoring": _monitoring("staging", provider="github-actions")}
    with pytest.raises(config.ConfigError) as exc:
        run_checkly("staging", overrides)
    assert "is set but monitoring.provider is github-actions" in str(exc.value)
    run = run_program("staging", overrides)
    assert run.outputs["monitoring"] == "github-actions schedule (every 5 min)"


def test_no_monitoring_at_all_is_visible_and_production_is_reported() -> None:
    staging = run_program("staging", {"maya-infra:platforms": ["railway"]})
    assert staging.outputs["monitoring"] == "none"
    values, secret_keys = stack_config("production", {"maya-infra:platforms": ["railway"]})
    cfg = config.parse("production", values, set(secret_keys))
    assert cfg.monitoring_mode == "none"
    assert cfg.safety_gaps() == [
        "production is not monitored: no Checkly account and no scheduled monitor workflow "
        "(github is left out of maya-infra:platforms)"
    ]


@pytest.mark.parametrize("stack_name", config.STACKS)
def test_the_committed_stacks_are_monitored_and_backed_up(stack_name: str) -> None:
    """What the issue asks to be reported: production (as committed) without monitoring or backups."""
    cfg = config.load_from_stack_file(stack_name)
    assert cfg.monitoring_mode != "none"
    assert cfg.backup_kinds
    assert cfg.safety_gaps() == []
    run = run_program(stack_name)
    assert run.outputs["monitoring"] != "none"
    assert run.outputs["backup_schedule"] == list(cfg.backup_kinds)


# ---- backups in the program ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("stack_name", "kinds"), [("staging", ["DAILY"]), ("production", ["DAILY", "WEEKLY"])])
def test_the_postgres_volume_gets_its_backup_schedule(stack_name: str, kinds: list[str]) -> None:
    run = run_program(stack_name)
    schedule = run.mocks.one(RAILWAY + "BackupSchedule")
    assert schedule.inputs["volume_instance_id"] == "vi-id"  # the Postgres resource's volume instance
    assert schedule.inputs["kinds"] == kinds
    assert run.outputs["backup_schedule"] == kinds
    assert run.outputs["railway_volume_instance_id"] == "vi-id"


def test_default_schedule_per_stack_when_backups_is_not_set() -> None:
    assert config.DEFAULT_BACKUP_KINDS == {"staging": ("DAILY",), "production": ("DAILY", "WEEKLY")}
    run = run_program("production", {"maya-infra:backups": None})
    assert run.mocks.one(RAILWAY + "BackupSchedule").inputs["kinds"] == ["DAILY", "WEEKLY"]


def test_staging_may_switch_backups_off_and_an_external_database_has_none() -> None:
    off = run_program("staging", {"maya-infra:backups": {"kinds": []}})
    assert not off.mocks.of_type(RAILWAY + "BackupSchedule") and off.outputs["backup_schedule"] == []
    raw, _ = config.read_stack_file("production")
    external = run_program(
        "production",
        {"maya-infra:backend": {**raw["maya-infra:backend"], "database": "external"}},
        secrets={
            **stack_secrets("production"),
            **TEST_CHECKLY_SECRETS,
            "maya-infra:databaseUrl": EXTERNAL_DATABASE_URL,
        },
    )
    assert not external.mocks.of_type(RAILWAY + "BackupSchedule")
    assert external.outputs["backup_schedule"] == [] and "railway_volume_instance_id" not in external.outputs


# ---- config rules --------------------------------------------------------------------------------------------------
def _parse(stack_name: str, overrides: dict[str, Any] | None = None, secrets: dict[str, str] | None = None) -> Any:
    raw, _ = config.read_stack_file(stack_name)
    raw = {k: v for k, v in {**raw, **(overrides or {})}.items() if v is not None}
    # production requires the Checkly account: given unless the test passes its own secrets
    checkly = TEST_CHECKLY_SECRETS if stack_name == "production" and secrets is None else {}
    secret_values = {**stack_secrets(stack_name), **checkly, **(secrets or {})}
    return config.parse(stack_name, {**raw, **secret_values}, set(secret_values))


def _problems(
    overrides: dict[str, Any] | None = None, secrets: dict[str, str] | None = None, stack_name: str = "production"
) -> dict[str, config.Problem]:
    with pytest.raises(config.ConfigError) as exc:
        _parse(stack_name, overrides, secrets)
    return {p.key: p for p in exc.value.problems}


def test_production_without_monitoring_is_refused_staging_may_go_without() -> None:
    problem = _problems({"maya-infra:monitoring": None})["monitoring"]
    assert "production must be monitored" in problem.message
    assert "Pulumi.staging.yaml" in problem.fix
    staging = _parse("staging", {"maya-infra:monitoring": None})
    assert staging.monitoring is None and staging.monitoring_mode == "github-actions schedule (every 5 min)"


def test_production_without_backups_is_refused_and_declares_nothing() -> None:
    problem = _problems({"maya-infra:backups": {"kinds": []}})["backups.kinds"]
    assert "must keep backups" in problem.message
    with pytest.raises(config.ConfigError, match="must keep backups"):
        run_program("production", {"maya-infra:backups": {"kinds": []}})
    from tests.components import program

    assert program.LAST_MOCKS is not None and program.LAST_MOCKS.resources == []


@pytest.mark.parametrize(
    ("changes", "key", "message"),
    [
        ({"locations": ["us-east-1"]}, "monitoring.locations", "at least two different locations"),
        ({"locations": ["us-east-1", "us-east-1"]}, "monitoring.locations", "at least two different locations"),
        ({"locations": ["mars-1", "us-east-1"]}, "monitoring.locations[0]", "not a Checkly location"),
        ({"alertEmails": []}, "monitoring.alertEmails", "at least 1 item"),
        ({"alertEmails": ["oncall"]}, "monitoring.alertEmails[0]", "not an e-mail address"),
        ({"backendFrequencySeconds": 45}, "monitoring.backendFrequencySeconds", "Input should be"),
        ({"degradedResponseTimeMs": 6000, "maxResponseTimeMs": 5000}, "monitoring", "must be below"),
        ({"provider": "datadog"}, "monitoring.provider", "Input should be"),
        ({"alertAfterFailedRuns": 9}, "monitoring.alertAfterFailedRuns", "less than or equal to 5"),
        ({"healthBody": [{"path": "checks.database", "equals": "ok"}]}, "monitoring.healthBody[0].path", "match"),
        ({"slak": {"enabled": True}}, "monitoring.slak", "not a known setting"),
    ],
)
def test_bad_monitoring_settings_are_reported_with_their_key(changes: dict[str, Any], key: str, message: str) -> None:
    problems = _problems({"maya-infra:monitoring": _monitoring("production", **changes)})
    assert key in problems, sorted(problems)
    assert message in problems[key].message


@pytest.mark.parametrize(
    ("kinds", "message"), [(["HOURLY"], "Input should be"), (["DAILY", "DAILY"], "lists a kind twice")]
)
def test_bad_backup_kinds_are_reported(kinds: list[str], message: str) -> None:
    problems = _problems({"maya-infra:backups": {"kinds": kinds}}, stack_name="staging")
    assert any(message in p.message for k, p in problems.items() if k.startswith("backups.kinds"))


def test_checkly_secrets_are_required_only_when_used() -> None:
    # provider checkly: the whole account is required
    problems = _problems({"maya-infra:monitoring": _monitoring("production", provider="checkly")}, {})
    assert {"checklyApiKey", "checklyAccountId"} <= set(problems)
    assert problems["checklyApiKey"].fix.startswith("pulumi config set --secret maya-infra:checklyApiKey")
    # auto with half an account: the other half is missing
    half = {"maya-infra:checklyApiKey": CHECKLY_ACCOUNT["maya-infra:checklyApiKey"]}
    assert set(_problems(secrets=half)) == {"checklyAccountId"}
    # Slack on, with Checkly: the webhook is required; set while Slack is off: refused as unused
    slack_on = {"maya-infra:monitoring": _monitoring("production", slack={"enabled": True})}
    assert "slackWebhookUrl" in _problems(slack_on, CHECKLY_ACCOUNT)
    unused = _problems(secrets={**CHECKLY_ACCOUNT, "maya-infra:pagerdutyServiceKey": PAGERDUTY_KEY})
    assert "monitoring.pagerduty.enabled is false" in unused["pagerdutyServiceKey"].message
    # and with everything in place, the stack validates
    cfg = _parse(
        "production",
        {"maya-infra:monitoring": _monitoring("production", slack={"enabled": True}, pagerduty={"enabled": True})},
        {**CHECKLY_ACCOUNT, **ALERT_SECRETS},
    )
    assert cfg.uses_checkly and cfg.monitoring_mode == "checkly"


def test_a_webhook_that_is_not_https_is_refused_without_echoing_it() -> None:
    plain = "http://hooks.example.invalid/test-insecure-hook-41d0"
    with pytest.raises(config.ConfigError) as exc:
        _parse(
            "staging",
            {"maya-infra:monitoring": _monitoring("staging", slack={"enabled": True})},
            {**CHECKLY_ACCOUNT, "maya-infra:slackWebhookUrl": plain},
        )
    assert "https://" in str(exc.value) and plain not in str(exc.value)


def test_the_stack_file_alone_knows_checkly_is_configured() -> None:
    """Tools without the passphrase (ops, audit) see which monitoring is active from the secret names."""
    raw, _ = config.read_stack_file("production")
    raw.update({k: {"secure": "v1:ciphertext"} for k in CHECKLY_ACCOUNT})
    secret_keys = set(CHECKLY_ACCOUNT)
    cfg = config.parse(
        "production", {k: v for k, v in raw.items() if k not in secret_keys}, secret_keys, require_secrets=False
    )
    assert cfg.monitoring_mode == "checkly"
