"""A small deployment history on the fake Railway and fake Vercel APIs, and health endpoints that follow
what is live: shared by the on-call command tests and the rehearsal's ``--serve`` mode.

The backend stand-in answers ``/api/health`` with 503 (``external_apis: error``) while the live Railway
deployment runs a commit listed in ``bad_commits``; the frontend stand-in answers 500 while Vercel's
production deployment is one listed in ``bad_deployments``. Rolling back therefore heals them, as it
would in real life.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from components.railway import operations as gql
from components.railway.operations import Operation
from tests.fakes.railway.dashboard import Dashboard
from tests.fakes.railway_api import FakeRailway
from tests.fakes.vercel_api import FakeVercel
from tests.ops.apps import Answer

DEPLOY_COMMIT = Operation(
    "DeployCommit",
    "mutation DeployCommit($serviceId: String!, $environmentId: String!, $commitSha: String) "
    "{ serviceInstanceDeployV2(serviceId: $serviceId, environmentId: $environmentId, commitSha: $commitSha) }",
    idempotent=False,
)
HEALTHY_BODY = {"status": "healthy", "database": "ok", "external_apis": "ok"}
UNHEALTHY_BODY = {"status": "unhealthy", "database": "ok", "external_apis": "error"}
VERCEL_HISTORY = ("good1", "broken", "good2", "preview", "bad")  # oldest first; see vercel_history()


def railway_service(client: Dashboard, project: str, environment: str) -> dict[str, str]:
    """A project, its environment and a ``backend`` service connected to a repository."""
    created = client.execute(gql.PROJECT_CREATE, {"input": {"name": project, "defaultEnvironmentName": environment}})
    project_id = created["projectCreate"]["id"]
    environment_id = created["projectCreate"]["environments"]["edges"][0]["node"]["id"]
    service = client.execute(
        gql.SERVICE_CREATE,
        {"input": {"projectId": project_id, "name": "backend", "source": {"repo": "mayassistant/maya"}}},
    )
    return {
        "railway_project_id": project_id,
        "railway_environment_id": environment_id,
        "railway_service_id": service["serviceCreate"]["id"],
    }


def railway_deploy(client: Dashboard, fake: FakeRailway, ids: dict[str, str], sha: str, fail: str | None = None) -> str:
    """Deploy ``sha`` as CI would and let it finish (``fail``: "FAILED"/"CRASHED")."""
    if fail:
        fake.fail_next_deploy(fail, ids["railway_service_id"])
    deployment_id = client.execute(
        DEPLOY_COMMIT,
        {
            "serviceId": ids["railway_service_id"],
            "environmentId": ids["railway_environment_id"],
            "commitSha": sha,
        },
    )["serviceInstanceDeployV2"]
    fake.advance_deployments()
    return str(deployment_id)


def live_railway_commit(fake: FakeRailway, service_id: str) -> str | None:
    with fake._lock:  # the fake's state, read in-process (no request is recorded)
        live = [
            d
            for d in fake.state.deployments.values()
            if d["serviceId"] == service_id and d["status"] in ("SUCCESS", "SLEEPING")
        ]
        live.sort(key=lambda d: d["_seq"], reverse=True)
        return str((live[0]["meta"] or {}).get("commitHash")) if live else None


def backend_health(fake: FakeRailway, service_id: str, bad_commits: Iterable[str]) -> Callable[[], Answer]:
    bad = set(bad_commits)

    def answer() -> Answer:
        commit = live_railway_commit(fake, service_id)
        if commit is None:
            return 502, "Application failed to respond"
        return (503, UNHEALTHY_BODY) if commit in bad else (200, HEALTHY_BODY)

    return answer


def frontend_page(fake: FakeVercel, project_id: str, bad_deployments: Iterable[str]) -> Callable[[], Answer]:
    bad = set(bad_deployments)

    def answer() -> Answer:
        current = fake.production_of(project_id)
        return (500, "<h1>Internal Server Error</h1>") if current in bad else (200, "<html>MAYA</html>")

    return answer


def vercel_history(fake: FakeVercel, project_id: str, shas: dict[str, str]) -> dict[str, str]:
    """Production deployments ``good1``, ``broken`` (ERROR), ``good2``, ``preview``, ``bad`` (newest, live)."""
    out: dict[str, Any] = {}
    out["good1"] = fake.add_deployment(project_id, sha=shas["good1"])
    out["broken"] = fake.add_deployment(project_id, sha=shas["broken"], state="ERROR")
    out["good2"] = fake.add_deployment(project_id, sha=shas["good2"])
    out["preview"] = fake.add_deployment(project_id, sha=shas["preview"], target=None)
    out["bad"] = fake.add_deployment(project_id, sha=shas["bad"])
    return out
