"""A staging project on the fake Railway, a staging Vercel project and a repository on the fake GitHub:
the world a pull request's preview is made from (tests of workflows/scripts/pr_preview.py and bench/)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.github_api import FakeGitHub
from tests.fakes.railway.base import POSTGRES_TEMPLATE_ID
from tests.fakes.railway.core import HOBBY_REQUESTS_PER_HOUR
from tests.fakes.railway_api import FakeRailway
from tests.fakes.vercel_api import FakeVercel
from workflows.scripts import pr_preview as pp

RAILWAY_TOKEN = "preview-railway-token-5e1c"
VERCEL_TOKEN = "preview-vercel-token-2a9d"
GITHUB_TOKEN = "preview-github-token-7f3b"
REPOSITORY = "mayassistant/maya"
STRIPE_STAGING = "sk_test_staging_4f8e2d1c9b7a"  # withheld from previews in these tests
JWT_STAGING = "staging-jwt-secret-3c1a"


@dataclass
class World:
    railway: FakeRailway
    vercel: FakeVercel
    github: FakeGitHub
    project_id: str
    staging_id: str
    backend_id: str
    postgres_id: str
    vercel_project: str
    probed: list[str] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        return {
            "RAILWAY_PREVIEW_TOKEN": RAILWAY_TOKEN,
            "RAILWAY_API_URL": self.railway.url,
            "RAILWAY_PROJECT_ID": self.project_id,
            "RAILWAY_ENVIRONMENT_ID": self.staging_id,
            "RAILWAY_SERVICE_ID": self.backend_id,
            "VERCEL_TOKEN": VERCEL_TOKEN,
            "VERCEL_PROJECT_ID": self.vercel_project,
            "VERCEL_API_URL": self.vercel.url,
            "GITHUB_TOKEN": GITHUB_TOKEN,
            "GITHUB_REPOSITORY": REPOSITORY,
            "GITHUB_API_URL": self.github.url + "api/v3",
        }

    def open_pull_request(self, pr: int) -> None:
        """The pull request exists on the fake GitHub (its comments answer 404 until then, as on GitHub)."""
        self.github.add_issue(REPOSITORY, pr, pull_request=True)

    def clients(self, http: pp.Http | None = None) -> pp.Clients:
        clients = pp.clients_from_env(self.env(), http or pp.Http(sleep=lambda _s: None))
        clients.sleep = lambda _s: None

        def check(url: str) -> int:
            self.probed.append(url)
            return 200

        clients.check = check
        return clients

    def environments(self, *, ephemeral: bool = True) -> dict[str, dict[str, Any]]:
        with self.railway._lock:
            return {
                e["name"]: e
                for e in self.railway.state.environments.values()
                if e["projectId"] == self.project_id and e["isEphemeral"] == ephemeral
            }

    def variables(self, environment_id: str, service_id: str) -> dict[str, str]:
        with self.railway._lock:
            return dict(self.railway.state.variables.get((self.project_id, environment_id, service_id), {}))

    def deployments(self, environment_id: str, service_id: str) -> list[dict[str, Any]]:
        with self.railway._lock:
            return [
                d
                for d in self.railway.state.deployments.values()
                if d["environmentId"] == environment_id and d["serviceId"] == service_id
            ]


def _staging(railway: FakeRailway) -> tuple[str, str, str, str]:
    """maya-staging: environment ``staging``, a backend from the repository with its migrations command and
    variables, PostgreSQL from Railway's template (with its volume), the branch trigger, a domain."""
    with railway._lock:
        project = railway._create_project({"name": "maya-staging", "defaultEnvironmentName": "staging"})
        pid = project["id"]
        staging = railway._envs_of(pid)[0]["id"]
        template = railway._postgres_template()["serializedConfig"]
        railway._m_template_deploy_v2(
            None,
            {
                "templateId": POSTGRES_TEMPLATE_ID,
                "serializedConfig": template,
                "projectId": pid,
                "environmentId": staging,
            },
        )
        railway.finish_workflows()  # the template's service and volume appear when its workflow completes
        postgres = next(s["id"] for s in railway._services_of(pid) if s["name"] == "Postgres")
        backend = railway._create_service(
            pid, "backend", environment_id=staging, source={"repo": REPOSITORY}, branch="develop", deploy=False
        )["id"]
        railway._apply_instance_settings(
            railway.state.instances[(backend, staging)],
            {"preDeployCommand": ["python apply_migration.py"], "healthcheckPath": "/api/health"},
        )
        railway._set_vars(
            pid,
            staging,
            backend,
            {
                "DATABASE_URL": "${{Postgres.DATABASE_URL}}",
                "JWT_SECRET_KEY": JWT_STAGING,
                "STRIPE_API_KEY": STRIPE_STAGING,
                "ENVIRONMENT": "staging",
            },
        )
        railway._new_deployment(postgres, staging, "template")
        railway._new_deployment(backend, staging, "deploy")
        railway.advance_deployments()
    return pid, staging, backend, postgres


@contextmanager
def world(*, request_budget: int | None = HOBBY_REQUESTS_PER_HOUR, deploy_polls: int = 1) -> Iterator[World]:
    with (
        FakeRailway(token=RAILWAY_TOKEN, deploy_polls_to_finish=deploy_polls, request_budget=request_budget) as railway,
        FakeVercel(token=VERCEL_TOKEN) as vercel,
        FakeGitHub(token=GITHUB_TOKEN, repos=[REPOSITORY], orgs=["mayassistant"]) as github,
    ):
        pid, staging, backend, postgres = _staging(railway)
        project = vercel.add_project("maya-frontend-staging")
        railway.reset_counters()
        yield World(railway, vercel, github, pid, staging, backend, postgres, project)
        # every GitHub request the script sent, and every answer, matched GitHub's OpenAPI description
        assert github.problems == [], github.problems
