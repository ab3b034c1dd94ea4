"""The stack update's redeploy is the backend's checked deploy path (components/railway/providers/deploy.py).

Against the fake Railway, whose ``serviceInstanceDeployV2`` without a commit builds "the branch's latest
commit" (a commit nobody has seen: what the old provider did after a settings change): the redeploy runs the
commit that was live, waits while CI's deployment is in flight, and rolls back like CI when it fails.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from components.railway import errors
from components.railway import operations as gql
from components.railway import provider as p
from components.railway.providers import deploy
from tests.fakes.railway_api import FakeRailway
from tests.ops.apps import FakeApp, fixed

Make = Callable[[type[Any]], Any]
LIVE_COMMIT = "a1" * 20
PRE_DEPLOY = "python apply_migrations.py"


@pytest.fixture
def service(make: Make, stack: dict[str, Any], fake: FakeRailway) -> dict[str, Any]:
    """The backend from GitHub, with a live deployment of LIVE_COMMIT that CI made (gated, tested)."""
    scope = {k: stack[k] for k in ("project_id", "environment_id", "service_id")}
    make(p.ServiceInstanceProvider).create(
        {
            "service_id": stack["service_id"],
            "environment_id": stack["environment_id"],
            "source_repo": "mayassistant/maya",
            "root_directory": "backend",
            "pre_deploy_command": PRE_DEPLOY,
        }
    )
    _ci_deploy(make, stack, LIVE_COMMIT, fake)
    fake.reset_counters()
    return scope


def _ci_deploy(make: Make, stack: dict[str, Any], commit: str, fake: FakeRailway, finish: bool = True) -> str:
    deployment = fake.dashboard().execute(  # CI's deploy: not maya-infra's, so not through its exactly-once rule
        gql.SERVICE_INSTANCE_DEPLOY_COMMIT,
        {"serviceId": stack["service_id"], "environmentId": stack["environment_id"], "commitSha": commit},
    )["serviceInstanceDeployV2"]
    if finish:
        fake.advance_deployments()
    return str(deployment)


def _inputs(scope: dict[str, Any], revision: str = "settings-2", timeout: float = 10) -> dict[str, Any]:
    return {**scope, "revision": revision, "timeout_seconds": timeout, "poll_seconds": 0.01, "pre_deploy": PRE_DEPLOY}


def _deployment(fake: FakeRailway, deployment_id: str) -> dict[str, Any]:
    with fake._lock:
        return dict(fake.state.deployments[deployment_id])


def test_a_settings_change_redeploys_the_commit_that_is_live(
    make: Make, service: dict[str, Any], fake: FakeRailway
) -> None:
    made = make(p.DeploymentProvider).create(_inputs(service))
    redeploy = _deployment(fake, made.outs["deployment_id"])
    assert redeploy["meta"]["commitHash"] == LIVE_COMMIT, "Railway must not pick the branch's latest commit"
    assert made.outs["commit"] == LIVE_COMMIT and made.outs["status"] == "SUCCESS"
    assert redeploy["meta"]["serviceManifest"]["deploy"]["preDeployCommand"] == [PRE_DEPLOY]  # the new settings
    assert fake.count("ServiceInstanceDeployCommit") == 1 and fake.count("ServiceInstanceDeployV2") == 0


def test_a_stack_update_that_changes_the_revision_redeploys_the_live_commit(
    make: Make, stack: dict[str, Any], service: dict[str, Any], fake: FakeRailway
) -> None:
    """``up`` after a variable change is an *update* of the Deployment: it redeploys what CI made live since (not
    the commit of the last stack deploy, not Railway's pick); an update that changed nothing deploys nothing."""
    provider = make(p.DeploymentProvider)
    made = provider.create(_inputs(service, revision="settings-1"))
    newer = "d4" * 20
    _ci_deploy(make, stack, newer, fake)  # CI deployed the next commit after that stack update
    fake.reset_counters()
    olds = {**_inputs(service, revision="settings-1"), **made.outs}
    same = provider.update(made.id, olds, _inputs(service, revision="settings-1", timeout=20))
    assert same.outs["deployment_id"] == made.outs["deployment_id"]  # only a wait setting changed
    assert fake.count("ServiceInstanceDeployCommit") == 0
    updated = provider.update(made.id, olds, _inputs(service, revision="settings-2"))
    assert _deployment(fake, updated.outs["deployment_id"])["meta"]["commitHash"] == newer
    assert fake.count("ServiceInstanceDeployCommit") == 1 and fake.count("ServiceInstanceDeployV2") == 0


def test_it_waits_while_ci_deploys_and_then_redeploys_what_ci_made_live(
    make: Make, stack: dict[str, Any], service: dict[str, Any], fake: FakeRailway
) -> None:
    newer = "b2" * 20
    _ci_deploy(make, stack, newer, fake, finish=False)  # CI's deploy job is building the next commit
    provider = make(p.DeploymentProvider)
    finished = []

    def listing(inputs: Any, first: int, statuses: Any = None) -> list[dict[str, Any]]:
        if len(finished) == 2:
            fake.advance_deployments()  # CI's deployment goes live while the stack update waits
        finished.append(1)
        return p.DeploymentProvider._deployments(provider, inputs, first, statuses)

    provider._deployments = listing  # type: ignore[method-assign]
    made = provider.create(_inputs(service))
    assert _deployment(fake, made.outs["deployment_id"])["meta"]["commitHash"] == newer


def test_a_deploy_in_flight_too_long_is_refused_and_nothing_is_deployed(
    make: Make, stack: dict[str, Any], service: dict[str, Any], fake: FakeRailway
) -> None:
    _ci_deploy(make, stack, "c3" * 20, fake, finish=False)
    fake.reset_counters()
    with pytest.raises(errors.DeploymentFailedError, match="another deploy of the service"):
        make(p.DeploymentProvider).create(_inputs(service, timeout=0.2))
    assert fake.count("ServiceInstanceDeployCommit") == 0


def test_a_redeploy_that_crashes_leaves_the_live_one_serving(
    make: Make, service: dict[str, Any], fake: FakeRailway
) -> None:
    live_before = next(d for d in fake.state.deployments.values() if d["status"] == "SUCCESS")["id"]
    fake.fail_next_deploy("CRASHED")
    with pytest.raises(errors.DeploymentFailedError) as failure:
        make(p.DeploymentProvider).create(_inputs(service))
    line = str(failure.value)
    assert "CRASHED" in line and f"Railway still serves {live_before}" in line and "\n" not in line
    assert not [d for d in fake.state.deployments.values() if (d["meta"] or {}).get("reason") == "rollback"]


def test_a_live_redeploy_that_fails_verification_is_rolled_back_like_ci_does_it(
    make: Make, service: dict[str, Any], fake: FakeRailway
) -> None:
    """It went live but not through the migration gate the stack declares: CI's verify fails it, and so does this."""
    live_before = next(d for d in fake.state.deployments.values() if d["status"] == "SUCCESS")["id"]
    with pytest.raises(errors.DeploymentFailedError) as failure:
        make(p.DeploymentProvider).create({**_inputs(service), "pre_deploy": "python apply_migrations.py --v2"})
    line = str(failure.value)
    assert "did not run the migration gate" in line and "rolled back" in line and "\n" not in line
    rollbacks = [d for d in fake.state.deployments.values() if (d["meta"] or {}).get("reason") == "rollback"]
    assert len(rollbacks) == 1 and rollbacks[0]["meta"]["sourceDeploymentId"] == live_before


# ---- the health gate: CI's judgement of the body, not only Railway's HTTP 200 -----------------------------------

HEALTHY = {"status": "healthy", "database": "ok", "external_apis": "ok"}
EXPECT = ["$.status=healthy", "$.database=ok", "$.external_apis=ok"]  # monitoring.healthBody's defaults


def _health(app: FakeApp, *, expect: list[str] | None = None) -> dict[str, Any]:
    return {"health_url": f"{app.url}/api/health", "health_expect": EXPECT if expect is None else expect}


def _rollbacks(fake: FakeRailway) -> list[dict[str, Any]]:
    return [d for d in fake.state.deployments.values() if (d["meta"] or {}).get("reason") == "rollback"]


def test_a_healthy_redeploy_passes_the_body_check(make: Make, service: dict[str, Any], fake: FakeRailway) -> None:
    with FakeApp({"/api/health": fixed(200, {**HEALTHY, "commit": LIVE_COMMIT[:7]})}) as app:
        made = make(p.DeploymentProvider).create({**_inputs(service), **_health(app)})
        assert made.outs["status"] == "SUCCESS" and app.hits == ["/api/health"]
    assert _rollbacks(fake) == []


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ((200, {**HEALTHY, "external_apis": "error"}), '$.external_apis is "error" (expected ok)'),  # 200, sick body
        ((200, "<html>ok</html>"), "the body is not JSON"),
        ((503, HEALTHY), "status 503 (expected 200)"),
        ((200, {**HEALTHY, "commit": "c0ffee1"}), "$.commit is c0ffee1 (expected the deployed a1a1a1a1a1a1)"),
    ],
)
def test_a_redeploy_whose_health_body_fails_is_rolled_back(
    make: Make, service: dict[str, Any], fake: FakeRailway, answer: tuple[int, Any], problem: str
) -> None:
    """Railway's own health check saw HTTP 200 (the deployment is SUCCESS); CI's gate reads the body too."""
    live_before = next(d for d in fake.state.deployments.values() if d["status"] == "SUCCESS")["id"]
    with FakeApp({"/api/health": fixed(*answer)}) as app, pytest.raises(errors.DeploymentFailedError) as failure:
        make(p.DeploymentProvider).create({**_inputs(service), **_health(app)})
    line = str(failure.value)
    assert "is live but unhealthy" in line and problem in line and "rolled back" in line and "\n" not in line
    assert len(app.hits) == deploy.HEALTH_ATTEMPTS  # bounded, every probe failed
    rollbacks = _rollbacks(fake)
    assert len(rollbacks) == 1 and rollbacks[0]["meta"]["sourceDeploymentId"] == live_before


def test_a_fake_railways_domains_are_never_probed(make: Make, service: dict[str, Any], fake: FakeRailway) -> None:
    """Railway on loopback (the rehearsal, these tests) hands out *.up.railway.app names that exist nowhere."""
    assert deploy._loopback(fake.url)
    outside = {"health_url": "https://backend-1a2b.up.railway.app/api/health", "health_expect": EXPECT}
    made = make(p.DeploymentProvider).create({**_inputs(service), **outside})
    assert made.outs["status"] == "SUCCESS" and _rollbacks(fake) == []
    real_railway = "https://backboard.railway.com/graphql/v2"  # the same URL with the real Railway: probed
    judged = deploy.health_judgement(outside, LIVE_COMMIT, real_railway, 1, 0, fetch=lambda *_: (503, b"{}"))
    assert judged.startswith("status 503 (expected 200)")
