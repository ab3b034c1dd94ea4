"""One deploy per push, shown with the fake Railway: the generated backend workflow's own steps, run for real.

A monorepo push is replayed the way GitHub and Railway see it: Railway's deployment trigger receives the
push (``FakeRailway.simulate_push``: maya-infra turned its automatic deploys off), then the backend
workflow's ``changes`` step decides, and when it says so its deploy and verify steps run against the fake
API with the environment's project token. Goal: a backend change makes exactly one backend deployment; a
push that changes only the frontend makes none.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from components.railway import provider as p
from components.railway.client import ClientSettings, RailwayClient
from config import load_from_stack_file
from tests.fakes.railway_api import FakeRailway
from tests.ops import world as w
from tests.workflows.conftest import load_workflow
from tests.workflows.test_pipeline import _commit, _fake_gh, _git, _run_step
from workflows import render_app_workflows

TOKEN = "account-token-for-the-push-test"
REPOSITORY = "mayassistant/maya"
BRANCH = "main"  # production's route


@pytest.fixture
def fake() -> Iterator[FakeRailway]:
    with FakeRailway(token=TOKEN, deploy_polls_to_finish=0) as server:
        yield server


@pytest.fixture
def backend_workflow() -> dict[str, Any]:
    return load_workflow(
        render_app_workflows(load_from_stack_file("production"))["maya"][".github/workflows/backend.yml"]
    )


@pytest.fixture
def railway(fake: FakeRailway) -> dict[str, str]:
    """The backend service as `pulumi up` leaves it: repository source, trigger with automatic deploys off."""
    client = RailwayClient(TOKEN, ClientSettings(endpoint=fake.url, requests_per_second=1000))

    def made(cls: type[Any], inputs: dict[str, Any]) -> Any:
        provider = cls()
        provider.use_client(client)
        return provider.create(inputs)

    project = made(p.ProjectProvider, {"name": "maya-production", "default_environment_name": "production"})
    environment = made(p.EnvironmentProvider, {"project_id": project.id, "name": "production"})
    service = made(p.ServiceProvider, {"project_id": project.id, "name": "backend"})
    ids = {
        "railway_project_id": project.id,
        "railway_environment_id": environment.id,
        "railway_service_id": service.id,
    }
    scope = {"project_id": ids["railway_project_id"], "environment_id": ids["railway_environment_id"]}
    backend = load_from_stack_file("production").backend
    made(
        p.ServiceInstanceProvider,
        {
            "service_id": ids["railway_service_id"],
            "environment_id": ids["railway_environment_id"],
            "source_repo": REPOSITORY,
            "root_directory": "backend",
            "start_command": backend.start_command,
            "pre_deploy_command": backend.pre_deploy_command,  # the migration gate every deployment runs
            "healthcheck_path": backend.healthcheck_path,
        },
    )
    made(
        p.DeploymentTriggerProvider,
        {
            **scope,
            "service_id": ids["railway_service_id"],
            "provider": "github",
            "repository": REPOSITORY,
            "branch": BRANCH,
            "check_suites": True,
            "root_directory": "backend",
            "auto_deploy": False,
        },
    )
    token = made(p.ProjectTokenProvider, {**scope, "name": "maya-infra-production-ci-deploy"}).outs["token"]
    client.close()
    return {
        "RAILWAY_TOKEN": token,
        "RAILWAY_PROJECT_ID": ids["railway_project_id"],
        "RAILWAY_ENVIRONMENT_ID": ids["railway_environment_id"],
        "RAILWAY_SERVICE_ID": ids["railway_service_id"],
        "RAILWAY_API_URL": fake.url,
    }


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    _git(root, "init", "-q", "-b", BRANCH)
    _commit(root, "backend/app/main.py", "app = 0\n")
    _commit(root, "omega-frontend/app/page.tsx", "export default 0\n")
    return root


def _deployments(fake: FakeRailway, service_id: str) -> int:
    with fake._lock:  # read in-process: no request is recorded
        return sum(1 for d in fake.state.deployments.values() if d["serviceId"] == service_id)


def _step_env(step: dict[str, Any], values: dict[str, str]) -> dict[str, str]:
    """The step's env: literal values as written, expressions replaced by what GitHub would put there."""
    return {k: (values[k] if "${{" in str(v) else str(v)) for k, v in step.get("env", {}).items()}


def _push(
    workflow: dict[str, Any], fake: FakeRailway, railway: dict[str, str], repo: Path, tmp: Path, changed: list[str]
) -> dict[str, Any]:
    """Replay one push to main: Railway's trigger first, then the backend workflow's jobs as GitHub runs them."""
    last_deployed = _git(repo, "rev-parse", "HEAD")
    for path in changed:
        _commit(repo, path, f"changed {path}\n")
    sha = _git(repo, "rev-parse", "HEAD")
    service = railway["RAILWAY_SERVICE_ID"]
    before = _deployments(fake, service)
    by_trigger = fake.simulate_push(REPOSITORY, BRANCH, sha, changed)

    detect = next(s for s in workflow["jobs"]["changes"]["steps"] if s.get("id") == "detect")
    gh = {
        "LAST_SUCCESS": last_deployed,
        "GH_CALLS": str(tmp / "gh-calls"),
        "PATH": f"{_fake_gh(tmp / 'bin')}{os.pathsep}{os.environ['PATH']}",
    }
    github = {"EVENT_NAME": "push", "REF_NAME": BRANCH, "PR_BASE_SHA": "", "GH_TOKEN": "t", "GH_REPO": REPOSITORY}
    code, changes, log = _run_step(detect, repo, {**_step_env(detect, github), **gh}, tmp)
    assert code == 0, log
    ran_deploy = changes["relevant"] == "true" and changes["environment"] != ""
    if ran_deploy:
        runner_temp = tmp / "runner"
        runner_temp.mkdir(exist_ok=True)
        steps = workflow["jobs"]["deploy"]["steps"]
        write = next(s for s in steps if str(s.get("name", "")).startswith("Write railway_rollback.py"))
        assert _run_step(write, repo, {"RUNNER_TEMP": str(runner_temp)}, tmp)[0] == 0
        outputs: dict[str, str] = {}
        for step_id in ("deploy", "verify"):
            step = next(s for s in steps if s.get("id") == step_id)
            values = {**railway, "COMMIT_SHA": sha, "DEPLOYMENT_ID": outputs.get("deployment_id", "")}
            env = {**_step_env(step, values), "RUNNER_TEMP": str(runner_temp), "RAILWAY_API_URL": fake.url}
            code, produced, log = _run_step(step, repo, env, tmp)
            assert code == 0, f"{step_id}: {log}"
            outputs.update(produced)
    return {
        "by_trigger": len(by_trigger),
        "ran_deploy": ran_deploy,
        "backend_deployments": _deployments(fake, service) - before,
        "sha": sha,
    }


@pytest.mark.timeout(120)
def test_a_backend_push_deploys_the_backend_exactly_once(
    backend_workflow: dict[str, Any], fake: FakeRailway, railway: dict[str, str], repo: Path, tmp_path: Path
) -> None:
    push = _push(backend_workflow, fake, railway, repo, tmp_path, ["backend/app/main.py"])
    print("deployments per push (backend change):", push)
    assert push["by_trigger"] == 0, "Railway's trigger deployed by itself: a second deploy path"
    assert push["ran_deploy"] and push["backend_deployments"] == 1
    assert w.live_railway_commit(fake, railway["RAILWAY_SERVICE_ID"]) == push["sha"]  # the live one is CI's


@pytest.mark.timeout(120)
def test_a_frontend_only_push_deploys_no_backend(
    backend_workflow: dict[str, Any], fake: FakeRailway, railway: dict[str, str], repo: Path, tmp_path: Path
) -> None:
    push = _push(backend_workflow, fake, railway, repo, tmp_path, ["omega-frontend/app/page.tsx"])
    print("deployments per push (frontend-only change):", push)
    assert push == {**push, "by_trigger": 0, "ran_deploy": False, "backend_deployments": 0}


@pytest.mark.timeout(120)
def test_with_automatic_deploys_on_a_frontend_only_push_would_redeploy_the_backend(
    backend_workflow: dict[str, Any], fake: FakeRailway, railway: dict[str, str], repo: Path, tmp_path: Path
) -> None:
    """The contrast that gives the tests above their teeth: the trigger's automatic deploys are a second path."""
    with fake._lock:
        for instance in fake.state.instances.values():
            instance["_autoDeploy"] = True
    push = _push(backend_workflow, fake, railway, repo, tmp_path, ["omega-frontend/app/page.tsx"])
    assert push["by_trigger"] == 1 and not push["ran_deploy"] and push["backend_deployments"] == 1
