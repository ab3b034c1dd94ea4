"""The backend 5xx-rate alert: the Checkly check the program declares, its JavaScript run FOR REAL with node
against the fake Railway, the metrics token, and the staging fallback's wiring.

The JS harness gives the scripts what Checkly's runtime gives them (``request``, ``response``, ``process.env``;
a throw fails the run): the setup script's request is sent to the fake Railway over HTTP, and the fake's
answer is handed to the teardown script.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import config
from components import error_rate
from config.monitoring import BackendErrorRateSettings
from tests.components.program import RAILWAY, ProgramRun, is_secret, run_program
from tests.components.test_monitoring import CHECK, GROUP, _plain, run_checkly
from tests.fakes.railway_api import FakeRailway
from tests.workflows.test_error_rate import BEARER, _project_token
from workflows.scripts import error_rate as python_poller

pytestmark = pytest.mark.timeout(120)

NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed")
HARNESS = """
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'))
const request = input.request
const response = input.response
Object.assign(process.env, input.env)
;(async () => {
%s
})().then(
  () => console.log('RESULT ' + JSON.stringify({ ok: true, request })),
  (e) => console.log('RESULT ' + JSON.stringify({ ok: false, error: e.message, request })),
)
"""
RATE = BackendErrorRateSettings(threshold_percent=2.0, window_minutes=5, min_requests=20, frequency_minutes=1)


def _node(script: str, request: dict[str, Any], response: dict[str, Any] | None, env: dict[str, str]) -> dict[str, Any]:
    assert NODE is not None
    done = subprocess.run(
        [NODE, "-e", HARNESS % script],
        input=json.dumps({"request": request, "response": response, "env": env}),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    result = next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))
    return dict(json.loads(result.removeprefix("RESULT ")), log=done.stdout)


class Railway:
    """The fake Railway with one service and a metrics token of its environment."""

    def __init__(self, fake: FakeRailway) -> None:
        self.fake = fake
        project = fake.seed_project("maya-production", environment="production")
        self.environment = fake.environment_id(project, "production")
        self.service = fake.seed_service(project, "backend")
        self.token = _project_token(fake, project, self.environment, "maya-production-metrics")

    def check_run(self, rate: BackendErrorRateSettings = RATE, token: str | None = None) -> dict[str, Any]:
        """One run of the Checkly check: setup (node) → the POST to the fake → teardown (node)."""
        request = {
            "method": "POST",
            "url": self.fake.url,
            "headers": {"Content-Type": "application/json"},
            "body": error_rate.body_json(self.service, self.environment),
        }
        env = {error_rate.TOKEN_VARIABLE: self.token if token is None else token}
        setup = _node(error_rate.setup_script(rate), request, None, env)
        if not setup["ok"]:
            return setup
        sent = setup["request"]
        answer = httpx.post(sent["url"], content=sent["body"], headers=sent["headers"], timeout=10)
        response = {"statusCode": answer.status_code, "body": answer.text, "headers": dict(answer.headers)}
        return _node(error_rate.teardown_script(rate), sent, response, env)

    def seed(self, **by_status: int) -> None:
        for status, count in by_status.items():
            self.fake.seed_http_requests(
                self.service, self.environment, int(status.removeprefix("s")), count, at=time.time() - 30
            )


@pytest.fixture
def railway() -> Iterator[Railway]:
    with FakeRailway(token=BEARER) as fake:
        yield Railway(fake)
        assert fake.invalid_documents == [], "the check's document validates against Railway's schema"


# ---- the JavaScript, with node, against the fake ------------------------------------------------------------
@needs_node
def test_above_the_threshold_the_teardown_throws_naming_rate_and_window(railway: Railway) -> None:
    railway.seed(s200=90, s500=6, s502=4)
    run = railway.check_run()
    assert run["ok"] is False
    assert run["error"] == "backend 5xx rate 10.0% (10 of 100 requests) in the last 5 min is above 2%"


@needs_node
def test_below_the_threshold_or_with_too_few_requests_the_run_passes(railway: Railway) -> None:
    railway.seed(s200=99, s500=1)
    run = railway.check_run()
    assert run["ok"] is True and "backend 5xx rate 1.0% (1 of 100 requests) in the last 5 min: within 2%" in run["log"]
    quiet = railway.check_run(BackendErrorRateSettings(threshold_percent=2, window_minutes=5, min_requests=500))
    assert quiet["ok"] is True and "fewer than 500 requests, not judged" in quiet["log"]


@needs_node
def test_the_setup_sets_the_window_and_the_token_header(railway: Railway) -> None:
    before = time.time()
    request = {"method": "POST", "url": "x", "headers": {}, "body": error_rate.body_json("s", "e")}
    run = _node(error_rate.setup_script(RATE), request, None, {error_rate.TOKEN_VARIABLE: "tok"})
    assert run["ok"] is True and run["request"]["headers"]["Project-Access-Token"] == "tok"
    variables = json.loads(run["request"]["body"])["variables"]
    start, end = (python_poller.datetime.fromisoformat(variables[k]).timestamp() for k in ("startDate", "endDate"))
    assert end - start == RATE.window_minutes * 60 and before - 1 <= end <= time.time() + 1
    missing = _node(error_rate.setup_script(RATE), request, None, {})
    assert missing["ok"] is False and "RAILWAY_METRICS_TOKEN is not set" in missing["error"]


@needs_node
def test_a_refused_token_or_a_railway_error_fails_the_run_saying_so(railway: Railway) -> None:
    railway.seed(s200=100)
    refused = railway.check_run(token="not-a-token")
    assert refused["ok"] is False and refused["error"].startswith("the backend 5xx rate is unknown: Railway refused")
    railway.fake.inject("http", match="BackendErrorRate", status=502)
    down = railway.check_run()
    assert down["ok"] is False
    assert down["error"] == "the backend 5xx rate is unknown: Railway answered HTTP 502 without JSON"


@needs_node
@pytest.mark.parametrize(("errors", "total"), [(0, 0), (1, 3), (7, 200), (33, 1000), (21, 1000), (50, 50)])
def test_the_js_and_the_python_poller_agree(errors: int, total: int) -> None:
    rate = BackendErrorRateSettings(threshold_percent=2.5, window_minutes=10, min_requests=3)
    groups = [{"statusCode": 500, "samples": [{"ts": 0, "value": errors}]}]
    groups.append({"statusCode": 200, "samples": [{"ts": 0, "value": total - errors}]})
    body = json.dumps({"data": {"httpMetricsGroupedByStatus": groups}})
    run = _node(error_rate.teardown_script(rate), {}, {"statusCode": 200, "body": body}, {})
    alert, line = python_poller.verdict(*python_poller.counts(groups), 2.5, 10, 3)
    assert run["ok"] is (not alert)
    if alert:
        assert run["error"] == line
    else:
        assert line in run["log"].splitlines()


@needs_node
@pytest.mark.parametrize(
    ("errors", "total", "alert"),
    [
        (25, 1000, False),  # exactly on 2.5 %: "above" the threshold alerts, "at" it does not
        (26, 1000, True),
        (5, 200, False),  # on it again, with other numbers
        (3, 3, True),  # exactly min_requests: judged
        (2, 2, False),  # one fewer: not judged, whatever the share
    ],
)
def test_on_the_threshold_and_on_the_minimum_both_pollers_decide_the_same_pinned_way(
    errors: int, total: int, alert: bool
) -> None:
    rate = BackendErrorRateSettings(threshold_percent=2.5, window_minutes=10, min_requests=3)
    groups = [{"statusCode": 503, "samples": [{"ts": 0, "value": errors}]}]
    groups.append({"statusCode": 200, "samples": [{"ts": 0, "value": total - errors}]})
    body = json.dumps({"data": {"httpMetricsGroupedByStatus": groups}})
    run = _node(error_rate.teardown_script(rate), {}, {"statusCode": 200, "body": body}, {})
    python_alert, _line = python_poller.verdict(*python_poller.counts(groups), 2.5, 10, 3)
    assert (run["ok"] is not alert, python_alert) == (True, alert)


def test_both_pollers_send_one_document() -> None:
    body = json.loads(error_rate.body_json("svc", "env"))
    assert error_rate.QUERY == python_poller.QUERY and error_rate.STEP_SECONDS == python_poller.STEP_SECONDS
    assert body["query"] == python_poller.QUERY and body["operationName"] == error_rate.OPERATION_NAME
    assert f"query {error_rate.OPERATION_NAME}(" in python_poller.QUERY


# ---- the program: production's Checkly check, its secret token; staging's fallback ---------------------------
@pytest.fixture(scope="module")
def production() -> ProgramRun:
    return run_checkly("production")


def test_production_declares_the_check_with_the_scripts_and_the_alert_channels(production: ProgramRun) -> None:
    cfg = config.load_from_stack_file("production")
    rate = cfg.monitoring.backend_error_rate if cfg.monitoring else None
    assert rate is not None
    checks = [c for c in production.mocks.of_type(CHECK) if "error-rate" in c.inputs["tags"]]
    assert len(checks) == 1
    check = dict(_plain(checks[0].inputs))
    assert check["name"] == "maya production: backend 5xx rate" and check["frequency"] == rate.frequency_minutes
    request = check["request"]
    assert request["method"] == "POST" and request["url"] == "https://backboard.railway.com/graphql/v2"
    assert json.loads(request["body"])["query"] == python_poller.QUERY
    assert "Project-Access-Token" not in json.dumps(request)  # the token is set by the setup script, from the group
    assert check["localSetupScript"] == error_rate.setup_script(rate)
    assert check["localTeardownScript"] == error_rate.teardown_script(rate)
    health = next(c for c in production.mocks.of_type(CHECK) if "backend" in c.inputs["tags"])
    assert check["alertChannelSubscriptions"] == _plain(health.inputs["alertChannelSubscriptions"])
    assert check["alertSettings"]["runBasedEscalations"] == [{"failedRunThreshold": 1}]


def test_the_metrics_token_is_its_own_resource_and_a_checkly_secret(production: ProgramRun) -> None:
    tokens = {r.name: r for r in production.mocks.of_type(RAILWAY + "ProjectToken")}
    assert set(tokens) == {"backend-ci-token", "backend-metrics-token"}
    assert tokens["backend-metrics-token"].inputs["name"] == "maya-production-metrics"
    group = production.mocks.one(GROUP)
    assert is_secret(group.inputs["environmentVariables"])  # secret in Pulumi's state, whole
    (plain,) = _plain(group.inputs["environmentVariables"])
    assert plain["key"] == "RAILWAY_METRICS_TOKEN" and plain["secret"] is True  # and never shown by Checkly
    assert plain["value"] == "mock-project-token-value"
    gh_secrets = [r for r in production.mocks.resources if r.typ.startswith("github:") and "METRICS" in r.name]
    assert gh_secrets == []  # production's token never reaches GitHub
    assert any(
        "5xx" in rule["trigger"] and rule["latency_seconds"] == 5 * 60 + 60 + 15
        for rule in production.outputs["alert_rules"]
    )


def test_staging_without_checkly_puts_its_token_only_into_its_alerts_environment() -> None:
    run = run_program("staging")
    assert run.outputs["monitoring"] == config.MONITORING_SCHEDULE
    token = next(r for r in run.mocks.of_type(RAILWAY + "ProjectToken") if r.name == "backend-metrics-token")
    assert token.inputs["name"] == "maya-staging-metrics"
    secrets = [r for r in run.mocks.of_type("github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret")]
    metrics = [r for r in secrets if r.inputs["secretName"] == "RAILWAY_METRICS_TOKEN"]
    assert [r.inputs["environment"] for r in metrics] == ["staging-alerts"]
    assert is_secret(metrics[0].inputs["value"])
    variables = {
        (r.inputs["environment"], r.inputs["variableName"])
        for r in run.mocks.of_type("github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable")
    }
    assert {("staging-alerts", "RAILWAY_SERVICE_ID"), ("staging-alerts", "RAILWAY_ENVIRONMENT_ID")} <= variables
    assert not any(r.typ.startswith("checkly:") for r in run.mocks.resources)


def test_turned_off_in_staging_there_is_no_token_and_nothing_in_github() -> None:
    raw, _ = config.read_stack_file("staging")
    monitoring = {**raw["maya-infra:monitoring"], "backendErrorRate": {"enabled": False}}
    run = run_program("staging", {"maya-infra:monitoring": monitoring})
    assert [r.name for r in run.mocks.of_type(RAILWAY + "ProjectToken")] == ["backend-ci-token"]
    assert not [r for r in run.mocks.resources if "RAILWAY_METRICS_TOKEN" in r.name]
    assert not any("5xx above" in rule["trigger"] for rule in run.outputs["alert_rules"])


def test_with_split_repositories_only_the_backend_s_alerts_environment_holds_the_token() -> None:
    raw, _ = config.read_stack_file("staging")
    github = {**raw["maya-infra:github"], "frontendRepository": "maya-web", "backendRepository": "maya-api"}
    run = run_program("staging", {"maya-infra:github": github})
    holders = {
        (r.inputs["repository"], r.inputs["environment"])
        for r in run.mocks.of_type("github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret")
        if r.inputs["secretName"] == "RAILWAY_METRICS_TOKEN"
    }
    assert holders == {("maya-api", "staging-alerts")}  # the monitor runs there; the frontend's never needs it
    smtp = {
        r.inputs["repository"]
        for r in run.mocks.of_type("github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret")
        if r.inputs["secretName"] == "SMTP_URL"
    }
    assert smtp == {"maya-api", "maya-web"}
