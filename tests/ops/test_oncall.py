"""`ops status`, `ops health` and `ops rollback backend|frontend` against the fake Railway and Vercel APIs
and stand-in endpoints on 127.0.0.1 (see conftest.py: the live backend commit c3 and the live frontend
deployment "bad" are unhealthy; rolling back heals them)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from config import PROJECT_DIR
from ops import health as h
from ops import railway_deploys
from ops import vercel as v
from ops.context import OpsError
from tests.ops import world as w
from tests.ops.apps import FakeApp, fixed, sequence
from tests.ops.oncall_world import RAILWAY_TOKEN, SHAS, VERCEL_TOKEN, Tty, World, build_world
from workflows.scripts import railway_rollback as rr

FAST = ("--poll", "0.05")
QUICK = ("--retry-delay", "0.01")


@pytest.fixture
def make_world(tmp_path: Path) -> Iterator[Callable[..., World]]:
    """``make_world(history=False)``: the backend has one deployment only (see oncall_world.build_world)."""
    started: list[Any] = []
    yield lambda **kwargs: build_world(tmp_path, started, **kwargs)
    for server in reversed(started):
        server.stop()


@pytest.fixture
def world(make_world: Callable[..., World]) -> World:
    return make_world()


@pytest.fixture
def production(make_world: Callable[..., World]) -> World:
    """Production's world: its projects and outputs (the commands refuse another stack's)."""
    return make_world(stack="production")


@pytest.fixture(autouse=True)
def no_pulumi(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials never come from a real `pulumi config get` here (it could reach a real backend)."""
    from ops import context
    from ops.context import OpsError

    def refuse(*args: str, stack: str, timeout: float = 120) -> str:
        raise OpsError("pulumi is not used in these tests")

    monkeypatch.setattr(context, "_pulumi", refuse)


def healthy(world: World) -> None:
    world.backend.route("/api/health", fixed(200, w.HEALTHY_BODY))
    world.frontend.route("/", fixed(200, "<html></html>"))


# ---- status ----------------------------------------------------------------------------------------------------


def test_status_shows_live_deployments_commits_states_and_endpoint_health(world: World) -> None:
    healthy(world)
    result = world.run("status", "--stack", "staging")
    assert result.code == 0, result.text
    lines = result.out.splitlines()
    live = next(line for line in lines if line.strip().startswith("live"))
    assert world.deployments["c3"] in live and SHAS["c3"][:7] in live and "SUCCESS" in live and "ago" in live
    assert any(world.deployments["c2"] in line and "FAILED" in line for line in lines)
    production = next(line for line in lines if line.strip().startswith("production"))
    assert world.vdeployments["bad"] in production and "READY" in production
    assert world.vdeployments["preview"] not in result.out  # production deployments only
    assert "backend   healthy" in result.out and "database: ok, external_apis: ok" in result.out
    assert "frontend  healthy" in result.out
    assert world.railway.count(mutations_only=True) == 0 and world.vercel.count("POST", "/") == 0


def test_status_exits_1_when_an_endpoint_is_unhealthy(world: World) -> None:
    result = world.run("status", "--stack", "staging")
    assert result.code == 1
    assert "backend   UNHEALTHY" in result.out and "external_apis: error" in result.out
    assert "frontend  UNHEALTHY" in result.out and "HTTP 500" in result.out


def test_status_without_vercel_credentials_still_shows_the_rest_and_says_what_to_set(world: World) -> None:
    env = {k: val for k, val in world.env.items() if k != "VERCEL_TOKEN"}
    result = world.run("status", "--stack", "staging", env=env)
    assert result.code == 2
    assert world.deployments["c3"] in result.out  # the backend part is there
    assert "no credentials: set VERCEL_TOKEN" in result.out and "maya-infra:vercelToken" in result.out
    assert "endpoints" in result.out


def test_status_of_a_stack_that_leaves_vercel_out(world: World) -> None:
    healthy(world)
    world.write_outputs(platforms=["railway"], vercel_project_id=None)
    result = world.run("status", "--stack", "staging")
    assert result.code == 0, result.text
    assert "vercel is left out of this stack" in result.out
    assert world.vercel.requests == []


# ---- health ----------------------------------------------------------------------------------------------------


def test_health_is_0_when_healthy_and_reports_the_bodys_parts(world: World) -> None:
    healthy(world)
    result = world.run("health", "--stack", "staging")
    assert result.code == 0, result.text
    assert "database: ok" in result.out and result.out.rstrip().endswith("healthy")
    assert world.backend.hits == ["/api/health"] and world.frontend.hits == ["/"]


def test_health_says_what_failed_and_since_when(world: World) -> None:
    world.backend.route("/api/health", fixed(200, {"status": "ok", "database": {"status": "error"}}))
    world.frontend.route("/", fixed(200, "<html></html>"))
    result = world.run("health", "--stack", "staging", *QUICK)
    assert result.code == 1
    assert "backend   UNHEALTHY" in result.out and "failing: database" in result.out
    assert "failing since 20" in result.out and "(3 of 3 probes failed)" in result.out
    assert "frontend  healthy" in result.out
    assert world.backend.hits.count("/api/health") == 3 and world.frontend.hits == ["/"]  # bounded retries


def test_health_wait_retries_until_healthy_and_shows_progress(world: World) -> None:
    world.backend.route("/api/health", sequence([(503, "starting"), (502, "x"), (200, w.HEALTHY_BODY)]))
    world.frontend.route("/", fixed(200, "ok"))
    result = world.run("health", "--stack", "staging", "--wait", "30", *QUICK)
    assert result.code == 0, result.text
    assert "recovered; was failing since" in result.out and "(2 of 3 probes failed)" in result.out
    assert "unhealthy (backend: HTTP 503" in result.err and "s left)" in result.err


def test_health_wait_gives_up_at_the_deadline(world: World) -> None:
    started = time.monotonic()
    result = world.run("health", "--stack", "staging", "--wait", "1", "--retry-delay", "0.2")
    assert result.code == 1
    assert time.monotonic() - started < 10
    assert "UNHEALTHY: see docs/oncall.md" in result.out


def test_health_of_an_endpoint_that_does_not_answer(world: World) -> None:
    world.frontend.stop()
    world.backend.route("/api/health", fixed(200, w.HEALTHY_BODY))
    result = world.run("health", "--stack", "staging", "--attempts", "1")
    assert result.code == 1
    assert "frontend  UNHEALTHY" in result.out and "cannot connect (ConnectError)" in result.out


@pytest.mark.parametrize(
    ("status", "body", "ok", "words"),
    [
        (200, {"status": "healthy", "database": "ok", "external_apis": {"anthropic": "ok", "stripe": "ok"}}, True, []),
        (200, {"status": "ok", "checks": {"database": {"status": "down"}}}, False, ["database"]),
        (200, {"status": "degraded", "database": True}, True, []),
        (200, {"database": False}, False, ["database"]),
        (200, "OK", False, ["not a JSON object"]),
        (503, {"status": "unhealthy"}, False, ["HTTP 503"]),
        (301, None, False, ["HTTP 301"]),
    ],
)
def test_backend_health_rules(status: int, body: object, ok: bool, words: list[str]) -> None:
    with FakeApp({"/api/health": fixed(status, body)}) as app, httpx.Client(follow_redirects=False) as http:
        probe = h.probe(h.Endpoint("backend", f"{app.url}/api/health", "api"), http)
    assert probe.ok is ok, probe
    for word in words:
        assert word in probe.detail


def test_health_parts_keep_only_short_states() -> None:
    parts, bad = h.health_parts(
        {
            "status": "ok",
            "version": "1.2",
            "database": {"status": "ok", "latency_ms": 3},
            "external_apis": {"x": "error"},
        }
    )
    assert parts == {"database": "ok", "external_apis.x": "error"} and bad == ["external_apis.x"]


# ---- rollback backend ------------------------------------------------------------------------------------------


def test_rollback_backend_goes_back_to_the_previous_successful_deployment(world: World) -> None:
    result = world.run("rollback", "backend", "--stack", "staging", *FAST)
    assert result.code == 0, result.text
    assert world.rollbacks() == 1
    sent = next(r for r in world.railway.requests if "deploymentRollback" in r.root_fields)
    assert sent.variables == {"id": world.deployments["c1"]}  # c2 FAILED: never served; skipped
    assert w.live_railway_commit(world.railway, world.ids["railway_service_id"]) == SHAS["c1"]
    assert f"now runs commit {SHAS['c1'][:7]}" in result.out and f"instead of commit {SHAS['c3'][:7]}" in result.out
    assert "backend   healthy" in result.out and result.out.rstrip().endswith("healthy")
    assert "… rollback deployment" in result.err  # progress while waiting


def test_a_second_rollback_never_returns_to_the_deployment_the_first_rolled_back_from(world: World) -> None:
    assert world.run("rollback", "backend", "--stack", "staging", *FAST).code == 0  # c3 (bad) -> copy of c1
    world.railway.requests.clear()
    second = world.run("rollback", "backend", "--stack", "staging", *FAST)
    sent = [r.variables["id"] for r in world.railway.requests if "deploymentRollback" in r.root_fields]
    assert world.deployments["c3"] not in sent, "went back to the deployment the first rollback left"
    assert world.deployments["c1"] not in sent, "a rollback to what is already live changes nothing"
    assert f"note: not {world.deployments['c3']}: rolled back from" in second.out
    assert f"note: not {world.deployments['c1']}: runs the same as the current deployment" in second.out


def test_rollback_backend_to_a_given_deployment(world: World) -> None:
    older = next(
        d["id"]
        for d in world.railway.state.deployments.values()
        if d["meta"].get("reason") == "serviceCreate" and d["status"] == "REMOVED"
    )
    result = world.run("rollback", "backend", "--stack", "staging", "--to", older, *FAST)
    assert result.code == 0, result.text
    assert next(r for r in world.railway.requests if "deploymentRollback" in r.root_fields).variables == {"id": older}


@pytest.mark.parametrize(
    ("which", "message"),
    [
        ("missing", "there is no Railway deployment 'does-not-exist'"),
        ("c2", "Railway cannot roll back to"),
        ("c3", "is the live one already"),
    ],
)
def test_rollback_backend_refuses_a_bad_to(world: World, which: str, message: str) -> None:
    target = "does-not-exist" if which == "missing" else world.deployments[which]
    result = world.run("rollback", "backend", "--stack", "staging", "--to", target, *FAST)
    assert result.code == 2
    assert message in result.err
    assert world.rollbacks() == 0


def test_rollback_backend_refuses_a_deployment_of_another_service(world: World) -> None:
    other = w.railway_service(world.client, "another-project", "staging")
    first = w.railway_deploy(world.client, world.railway, other, "a" * 40)
    w.railway_deploy(world.client, world.railway, other, "b" * 40)
    result = world.run("rollback", "backend", "--stack", "staging", "--to", first, *FAST)
    assert result.code == 2 and "is not one of this stack's backend" in result.err
    assert world.rollbacks() == 0


def test_rollback_backend_refuses_when_there_is_nothing_to_roll_back_to(make_world: Callable[..., World]) -> None:
    world = make_world(history=False)
    for d in world.railway.state.deployments.values():  # forget the serviceCreate one: one deployment left
        d["_deleted"] = d["meta"].get("reason") == "serviceCreate"
    result = world.run("rollback", "backend", "--stack", "staging", *FAST)
    assert result.code == 2
    assert "nothing to roll back to" in result.err and world.deployments["c1"] in result.err
    assert world.rollbacks() == 0


def test_rollback_backend_on_production_needs_a_terminal_or_yes(production: World) -> None:
    result = production.run("rollback", "backend", "--stack", "production", *FAST)
    assert result.code == 2
    assert "no terminal to ask; pass --yes" in result.err
    assert production.rollbacks() == 0


def test_rollback_backend_on_production_asks_for_the_stack_name(production: World) -> None:
    result = production.run("rollback", "backend", "--stack", "production", *FAST, stdin=Tty("prod\n"))
    assert result.code == 2 and "not confirmed" in result.err and "Type the stack name (production)" in result.err
    assert production.rollbacks() == 0
    result = production.run("rollback", "backend", "--stack", "production", *FAST, stdin=Tty("production\n"))
    assert result.code == 0, result.text
    assert production.rollbacks() == 1


def test_rollback_backend_on_production_with_yes(production: World) -> None:
    result = production.run("rollback", "backend", "--stack", "production", "--yes", *FAST)
    assert result.code == 0, result.text
    assert "Type the stack name" not in result.err


def test_staging_rollbacks_do_not_ask(world: World) -> None:
    for which in ("backend", "frontend"):
        result = world.run("rollback", which, "--stack", "staging", *FAST)
        assert result.code == 0, result.text
        assert "Type the stack name" not in result.err


def test_rollback_backend_that_stays_unhealthy_exits_1(world: World) -> None:
    world.backend.route("/api/health", fixed(503, {"status": "unhealthy", "database": "error"}))
    result = world.run("rollback", "backend", "--stack", "staging", "--timeout", "2", *FAST)
    assert result.code == 1
    assert world.rollbacks() == 1
    assert "UNHEALTHY after the rollback" in result.out and "database: error" in result.out


def test_rollback_backend_whose_deployment_fails_exits_1(world: World) -> None:
    world.railway.fail_next_deploy("CRASHED", world.ids["railway_service_id"])
    result = world.run("rollback", "backend", "--stack", "staging", *FAST)
    assert result.code == 1
    assert "FAILED: the rollback deployment is CRASHED" in result.out


def test_rollback_backend_without_credentials_or_with_a_wrong_token(world: World) -> None:
    env = {k: val for k, val in world.env.items() if k != "RAILWAY_API_TOKEN"}
    result = world.run("rollback", "backend", "--stack", "staging", *FAST, env=env)
    assert result.code == 2 and "no credentials: set RAILWAY_API_TOKEN" in result.err
    result = world.run(
        "rollback", "backend", "--stack", "staging", *FAST, env={**world.env, "RAILWAY_API_TOKEN": "wrong-token-x"}
    )
    assert result.code == 2 and "Not Authorized" in result.err and "wrong-token-x" not in result.text
    assert world.rollbacks() == 0


def test_the_rollback_deployment_is_the_one_the_request_made_never_the_newest() -> None:
    def dep(id_: str, minute: int, status: str = "SUCCESS", **meta: str) -> dict[str, object]:
        return {"id": id_, "status": status, "createdAt": f"2026-01-01T00:{minute:02d}:00Z", "meta": meta}

    known = {"c1", "c2", "c3"}
    ours = dep("r1", 5, "BUILDING", reason="rollback", sourceDeploymentId="c1")
    newer_ci = dep("c4", 6, "QUEUED", reason="deploy")
    someone_elses = dep("r0", 4, "REMOVED", reason="rollback", sourceDeploymentId="c2")
    listed = [newer_ci, ours, someone_elses, dep("c3", 3), dep("c2", 2, "FAILED"), dep("c1", 1, "REMOVED")]
    assert railway_deploys.rollback_of(listed, "c1", known) is ours
    assert railway_deploys.rollback_of([newer_ci, someone_elses], "c1", known) is None  # not there yet
    twice = [dep("r2", 7, reason="rollback", sourceDeploymentId="c1"), *listed]
    with pytest.raises(OpsError, match="2 rollbacks to c1"):
        railway_deploys.rollback_of(twice, "c1", known)
    assert railway_deploys.rollback_in_flight(listed) is ours
    assert railway_deploys.rollback_in_flight([newer_ci, someone_elses]) is None  # a CI deploy is no rollback


def test_the_command_and_the_pipeline_choose_with_the_same_function() -> None:
    assert railway_deploys.previous_successful_deployment is rr.previous_successful_deployment
    assert railway_deploys.deployment_after is rr.deployment_after
    assert railway_deploys.LIVE is rr.LIVE


# ---- rollback frontend -----------------------------------------------------------------------------------------


def test_rollback_frontend_promotes_the_previous_ready_production_deployment(world: World) -> None:
    result = world.run("rollback", "frontend", "--stack", "staging", *FAST)
    assert result.code == 0, result.text
    assert world.promotions() == [world.vdeployments["good2"]]
    assert world.vercel.production_of(world.project_id) == world.vdeployments["good2"]
    assert "frontend  healthy" in result.out
    sha = world.vercel.deployments[world.vdeployments["good2"]]["meta"]["githubCommitSha"]
    assert f"now serves commit {sha[:7]}" in result.out
    assert world.vercel.count("POST", f"/v10/projects/{world.project_id}/promote/") == 1


def test_rollback_frontend_twice_skips_the_errored_deployment(world: World) -> None:
    assert world.run("rollback", "frontend", "--stack", "staging", *FAST).code == 0
    assert world.run("rollback", "frontend", "--stack", "staging", *FAST).code == 0
    assert world.promotions() == [world.vdeployments["good2"], world.vdeployments["good1"]]


def test_rollback_frontend_waits_for_an_accepted_promotion(world: World) -> None:
    world.vercel.promote_polls = 3
    result = world.run("rollback", "frontend", "--stack", "staging", *FAST)
    assert result.code == 0, result.text
    assert "promotion of" in result.err and ("pending" in result.err or "in-progress" in result.err)


def test_rollback_frontend_whose_promotion_fails_exits_1(world: World) -> None:
    world.vercel.promote_polls = 1
    world.vercel.fail_next_promote()
    result = world.run("rollback", "frontend", "--stack", "staging", *FAST)
    assert result.code == 1
    assert "FAILED: the promotion is failed" in result.out and world.vdeployments["bad"] in result.out


@pytest.mark.parametrize(
    ("which", "message"),
    [
        ("missing", "there is no Vercel deployment 'dpl_missing'"),
        ("preview", "is a preview deployment"),
        ("broken", "is ERROR, not READY"),
        ("bad", "serves production already"),
    ],
)
def test_rollback_frontend_refuses_a_bad_to(world: World, which: str, message: str) -> None:
    target = "dpl_missing" if which == "missing" else world.vdeployments[which]
    result = world.run("rollback", "frontend", "--stack", "staging", "--to", target, *FAST)
    assert result.code == 2
    assert message in result.err
    assert world.promotions() == []


def test_rollback_frontend_to_a_given_deployment(world: World) -> None:
    target = world.vdeployments["good1"]
    assert world.run("rollback", "frontend", "--stack", "staging", "--to", target, *FAST).code == 0
    assert world.promotions() == [target]


def test_rollback_frontend_refuses_when_there_is_nothing_to_roll_back_to(make_world: Callable[..., World]) -> None:
    world = make_world(vercel_history=False)
    result = world.run("rollback", "frontend", "--stack", "staging", *FAST)
    assert result.code == 2 and "nothing to roll back to" in result.err
    assert world.promotions() == []


def test_rollback_frontend_on_production_needs_confirmation(production: World) -> None:
    result = production.run("rollback", "frontend", "--stack", "production", *FAST)
    assert result.code == 2 and "pass --yes" in result.err and production.promotions() == []
    result = production.run("rollback", "frontend", "--stack", "production", *FAST, stdin=Tty("production\n"))
    assert result.code == 0, result.text


def test_rollback_frontend_of_a_stack_without_vercel(world: World) -> None:
    world.write_outputs(platforms=["railway", "github"], vercel_project_id=None)
    result = world.run("rollback", "frontend", "--stack", "staging", *FAST)
    assert result.code == 2 and "leaves Vercel out" in result.err


def test_rollback_frontend_with_a_wrong_token_or_team(world: World) -> None:
    result = world.run(
        "rollback", "frontend", "--stack", "staging", *FAST, env={**world.env, "VERCEL_TOKEN": "nope-nope-nope"}
    )
    assert result.code == 2 and "HTTP 403" in result.err and "nope-nope-nope" not in result.text
    # the project asked for in another team than its own (frontend.teamId wrong): Vercel refuses, the fix is named
    world.vercel.team_id = "team_someoneElse"
    result = world.run("rollback", "frontend", "--stack", "staging", *FAST)
    assert result.code == 2 and "HTTP 403" in result.err and "frontend.teamId" in result.err


def test_vercel_client_sends_the_team_and_retries_transient_errors(world: World) -> None:
    world.vercel.team_id = "team_maya"
    world.vercel.inject(503, times=2)
    waits: list[float] = []
    with v.VercelClient(VERCEL_TOKEN, world.vercel.url, "team_maya", sleep=waits.append) as client:
        assert client.project(world.project_id)["id"] == world.project_id
    assert len(waits) == 2
    assert all(r.query.get("teamId") == "team_maya" for r in world.vercel.requests)
    world.vercel.inject(503, times=5)
    with (
        v.VercelClient(VERCEL_TOKEN, world.vercel.url, "team_maya", sleep=lambda _: None) as client,
        pytest.raises(v.VercelError, match="gave up after 4 attempts"),
    ):
        client.project(world.project_id)
    with pytest.raises(v.VercelError, match="https only"):
        v.VercelClient(VERCEL_TOKEN, "http://api.vercel.example")


def test_vercel_decisions() -> None:
    def d(uid: str, minute: int, state: str = "READY") -> dict[str, object]:
        served = {"target": "production", "readySubstate": "PROMOTED"}  # it served production (see vercel_api.py)
        return {"uid": uid, "created": minute * 60_000, "state": state, **served}

    history = [d("d1", 1), d("d2", 2, "ERROR"), d("d3", 3), d("d4", 4, "BUILDING")]
    assert v.previous_production_deployment(history, "d3") == history[0]
    assert v.previous_production_deployment(history, "d1") is None
    assert v.production_deployment_id({}, history) == "d3"  # no targets.production: the newest READY
    assert v.production_deployment_id({"targets": {"production": {"id": "d1"}}}, history) == "d1"


# ---- bad input and the command line ----------------------------------------------------------------------------


def _cli(*argv: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ops", *argv],
        cwd=PROJECT_DIR,
        env={"PATH": "/usr/bin:/bin", **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.timeout(120)
def test_the_command_line_end_to_end(world: World) -> None:
    healthy(world)
    result = _cli("status", "--stack", "staging", env=world.env)
    assert result.returncode == 0, result.stderr
    assert world.deployments["c3"] in result.stdout
    world.railway.reset_counters()
    result = _cli("rollback", "backend", "--stack", "production", env=world.env, stdin="production\n")
    assert result.returncode == 2 and "are stack staging's, not production's" in result.stderr
    assert world.railway.count() == 0  # refused from the outputs alone
    result = _cli("health", "--stack", "prod", env=world.env)
    assert result.returncode == 2 and "unknown stack 'prod'" in result.stderr
    result = _cli("rollback", "sideways", "--stack", "staging", env=world.env)
    assert result.returncode == 2 and "invalid choice" in result.stderr
    for text in (RAILWAY_TOKEN, VERCEL_TOKEN):
        assert text not in result.stdout + result.stderr


def test_unknown_stack_and_unreadable_outputs(world: World) -> None:
    result = world.run("status", "--stack", "prod")
    assert result.code == 2 and "unknown stack 'prod'" in result.err
    world.outputs_path.write_text("{not json")
    result = world.run("health", "--stack", "staging")
    assert result.code == 2 and "cannot read stack outputs" in result.err
    world.outputs_path.write_text(json.dumps({"stack": "staging", "frontend_url": world.frontend.url}))
    result = world.run("health", "--stack", "staging")
    assert result.code == 2 and "has no output 'backend_url'" in result.err


def test_every_oncall_group_is_registered_in_ops_main() -> None:
    from ops import health, rollback, status
    from ops.__main__ import GROUPS, build_parser

    assert {health, rollback, status} <= set(GROUPS)
    args = build_parser().parse_args(["rollback", "frontend", "--stack", "staging", "--to", "dpl_x", "--yes"])
    assert callable(args.handler) and args.to == "dpl_x" and args.yes


def test_confirmation_reads_one_line_only() -> None:
    from ops.console import confirm
    from ops.context import OpsError

    confirm("staging", "x", yes=False, stdin=io.StringIO(), err=io.StringIO())  # staging: never asks
    with pytest.raises(OpsError, match="not confirmed"):
        confirm("production", "x", yes=False, stdin=Tty("production-ish\n"), err=io.StringIO())


def test_status_lists_every_active_alert_rule_and_where_it_sends(world: World) -> None:
    from config import load_from_stack_file
    from config.alerts import alert_rules

    healthy(world)
    rules = [r.as_output() for r in alert_rules(load_from_stack_file("staging"))]
    world.write_outputs(alert_rules=rules)
    result = world.run("status", "--stack", "staging")
    assert result.code == 0, result.text
    assert f"alerts — {len(rules)} active rule(s)" in result.out
    assert "Railway notification rule (Deployment.failed, Deployment.crashed)" in result.out
    assert "mails maya-dev-alerts@mayassistant.com" in result.out and "≤ " in result.out
    assert "high error rate: backend 5xx above 10% of requests over 15 min" in result.out
    assert "≤ 1325 s" in result.out  # window + schedule + step + mail job, as configured
    world.write_outputs(alert_rules=None)
    assert "no alert_rules output yet" in world.run("status", "--stack", "staging").out
