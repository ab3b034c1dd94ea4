"""Where the fake Railway behaves like Railway because the product depends on it (tests/fakes/railway/asynchrony.py):
soft deletes, template workflows that fail, forks applied later, domains that start CREATING, and the hourly rate
limit per token — on by default. All of it moves on the fake's clock: nothing here sleeps."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from components.railway import operations as gql
from tests.fakes.railway.core import HOBBY_REQUESTS_PER_HOUR
from tests.fakes.railway.dashboard import Dashboard, DashboardError
from tests.fakes.railway_api import FakeRailway

TOKEN = "fake-railway-token"


#: Long enough that only the fake's clock (``advance``) or polls move asynchronous work here, never a slow machine.
HOUR = 3600.0


@pytest.fixture
def fake() -> Iterator[FakeRailway]:
    with FakeRailway(
        token=TOKEN, template_delay_seconds=HOUR, fork_delay_seconds=HOUR, domain_delay_seconds=HOUR
    ) as server:
        yield server


@pytest.fixture
def human(fake: FakeRailway) -> Dashboard:
    return fake.dashboard()


def _project(human: Dashboard, name: str = "p") -> tuple[str, str]:
    made = human.execute(gql.PROJECT_CREATE, {"input": {"name": name, "defaultEnvironmentName": "staging"}})
    project = made["projectCreate"]
    return project["id"], project["environments"]["edges"][0]["node"]["id"]


def _listed_projects(human: Dashboard) -> set[str]:
    return {e["node"]["id"] for e in human.execute(gql.PROJECTS, {"after": None})["projects"]["edges"]}


# ---- soft deletes ----------------------------------------------------------------------------------------------
def test_a_deleted_project_leaves_the_lists_but_is_readable_by_id_with_deleted_at(
    fake: FakeRailway, human: Dashboard
) -> None:
    project_id, env_id = _project(human)
    service = human.execute(gql.SERVICE_CREATE, {"input": {"projectId": project_id, "name": "api"}})["serviceCreate"]
    assert human.execute(gql.PROJECT, {"id": project_id})["project"]["deletedAt"] is None
    human.execute(gql.PROJECT_DELETE, {"id": project_id})

    assert project_id not in _listed_projects(human)
    project = human.execute(gql.PROJECT, {"id": project_id})["project"]
    assert project["deletedAt"] and project["name"] == "p" and project["services"]["edges"] == []
    assert human.execute(gql.ENVIRONMENT, {"id": env_id})["environment"]["deletedAt"]  # its children too
    assert human.execute(gql.SERVICE, {"id": service["id"]})["service"]["deletedAt"]
    included = human.execute(
        gql.Operation("All", "query All { projects(includeDeleted: true) { edges { node { id deletedAt } } } }"), {}
    )
    assert [e["node"]["id"] for e in included["projects"]["edges"]] == [project_id]
    with pytest.raises(DashboardError, match="Project not found"):  # nothing can be done to it any more
        human.execute(gql.PROJECT_UPDATE, {"id": project_id, "input": {"name": "again"}})

    fake.advance(fake.soft_delete_seconds - 60)
    assert human.execute(gql.PROJECT, {"id": project_id})["project"]["deletedAt"]
    fake.advance(60)  # Railway's grace period is over: gone for good
    with pytest.raises(DashboardError, match="Project not found"):
        human.execute(gql.PROJECT, {"id": project_id})
    assert fake.is_empty()


def test_a_deleted_custom_domain_is_readable_by_id_and_absent_from_the_service_s_domains(human: Dashboard) -> None:
    project_id, env_id = _project(human)
    service_id = human.execute(gql.SERVICE_CREATE, {"input": {"projectId": project_id, "name": "api"}})[
        "serviceCreate"
    ]["id"]
    scope = {"projectId": project_id, "environmentId": env_id, "serviceId": service_id}
    domain = human.execute(gql.CUSTOM_DOMAIN_CREATE, {"input": {**scope, "domain": "api.example.com"}})
    domain_id = domain["customDomainCreate"]["id"]
    human.execute(gql.CUSTOM_DOMAIN_DELETE, {"id": domain_id})
    assert human.execute(gql.DOMAINS, scope)["domains"]["customDomains"] == []
    assert human.execute(gql.CUSTOM_DOMAIN, {"id": domain_id, "projectId": project_id})["customDomain"]["deletedAt"]


# ---- template workflows ------------------------------------------------------------------------------------------
def _deploy_postgres(human: Dashboard, project_id: str, env_id: str) -> str:
    template = human.execute(gql.TEMPLATE, {"code": "postgres"})["template"]
    deployed = human.execute(
        gql.TEMPLATE_DEPLOY,
        {
            "input": {
                "templateId": template["id"],
                "serializedConfig": template["serializedConfig"],
                "projectId": project_id,
                "environmentId": env_id,
            }
        },
    )
    return str(deployed["templateDeployV2"]["workflowId"])


def _status(human: Dashboard, workflow_id: str) -> dict[str, Any]:
    return dict(human.execute(gql.WORKFLOW_STATUS, {"workflowId": workflow_id})["workflowStatus"])


def _instances(human: Dashboard, env_id: str) -> tuple[list[str], int]:
    env = human.execute(gql.ENVIRONMENT_INSTANCES, {"environmentId": env_id})["environment"]
    names = [e["node"]["serviceName"] for e in env["serviceInstances"]["edges"]]
    return names, len(env["volumeInstances"]["edges"])


@pytest.mark.parametrize(("partial", "left"), [(False, ([], 0)), (True, (["Postgres"], 0))])
def test_a_template_workflow_can_fail_leaving_nothing_or_a_service_without_its_volume(
    fake: FakeRailway, human: Dashboard, partial: bool, left: tuple[list[str], int]
) -> None:
    project_id, env_id = _project(human)
    fake.fail_next_template("volume quota exceeded", partial=partial)
    workflow_id = _deploy_postgres(human, project_id, env_id)
    assert _status(human, workflow_id) == {"status": "Running", "error": None}
    assert _status(human, workflow_id) == {"status": "Error", "error": "volume quota exceeded"}
    assert _instances(human, env_id) == left
    second = _deploy_postgres(human, project_id, env_id)  # only the armed one fails
    fake.finish_workflows()
    assert _status(human, second)["status"] == "Complete"
    names, volumes = _instances(human, env_id)
    assert volumes == 1 and len(names) == len(left[0]) + 1


def test_a_template_workflow_completes_on_the_clock_when_nobody_polls(fake: FakeRailway, human: Dashboard) -> None:
    project_id, env_id = _project(human)
    _deploy_postgres(human, project_id, env_id)
    assert _instances(human, env_id) == ([], 0)
    fake.advance(fake.template_delay_seconds)
    assert _instances(human, env_id) == (["Postgres"], 1)


# ---- forks -------------------------------------------------------------------------------------------------------
def test_a_fork_is_listed_at_once_and_gets_its_instances_only_when_railway_applied_it(
    fake: FakeRailway, human: Dashboard
) -> None:
    project_id, staging = _project(human)
    human.execute(gql.SERVICE_CREATE, {"input": {"projectId": project_id, "name": "api"}})
    scope = {"projectId": project_id, "environmentId": staging}
    human.execute(gql.VARIABLE_COLLECTION_UPSERT, {"input": {**scope, "variables": {"SHARED": "1"}}})
    fork = human.execute(
        gql.ENVIRONMENT_CREATE,
        {"input": {"projectId": project_id, "name": "pr-7", "sourceEnvironmentId": staging, "ephemeral": True}},
    )["environmentCreate"]
    listed = human.execute(gql.ENVIRONMENTS, {"projectId": project_id})["environments"]["edges"]
    assert "pr-7" in {e["node"]["name"] for e in listed}
    assert human.execute(gql.VARIABLES, {"projectId": project_id, "environmentId": fork["id"]})["variables"] == {}
    assert _instances(human, fork["id"]) == ([], 0)  # environment(id) reads are how a client notices the fork
    assert _instances(human, fork["id"]) == (["api"], 0)  # ... applied by the second one
    variables = human.execute(gql.VARIABLES, {"projectId": project_id, "environmentId": fork["id"]})["variables"]
    assert variables == {"SHARED": "1"}


def test_a_fork_deleted_before_it_was_applied_leaves_nothing(fake: FakeRailway, human: Dashboard) -> None:
    project_id, staging = _project(human)
    human.execute(gql.SERVICE_CREATE, {"input": {"projectId": project_id, "name": "api"}})
    fork = human.execute(
        gql.ENVIRONMENT_CREATE, {"input": {"projectId": project_id, "name": "pr-8", "sourceEnvironmentId": staging}}
    )["environmentCreate"]
    human.execute(gql.ENVIRONMENT_DELETE, {"id": fork["id"]})
    fake.finish_workflows()
    assert not [key for key in fake.state.instances if key[1] == fork["id"]]


# ---- domains -----------------------------------------------------------------------------------------------------
def test_a_domain_starts_creating_and_becomes_active(fake: FakeRailway, human: Dashboard) -> None:
    project_id, env_id = _project(human)
    service_id = human.execute(gql.SERVICE_CREATE, {"input": {"projectId": project_id, "name": "api"}})[
        "serviceCreate"
    ]["id"]
    scope = {"projectId": project_id, "environmentId": env_id, "serviceId": service_id}
    status = gql.Operation(
        "Status",
        "query Status($projectId: String!, $environmentId: String!, $serviceId: String!) { domains(projectId: "
        "$projectId, environmentId: $environmentId, serviceId: $serviceId) { serviceDomains { syncStatus } "
        "customDomains { syncStatus } } }",
    )
    human.execute(gql.SERVICE_DOMAIN_CREATE, {"input": {"serviceId": service_id, "environmentId": env_id}})
    human.execute(gql.CUSTOM_DOMAIN_CREATE, {"input": {**scope, "domain": "api.example.com"}})
    first = human.execute(status, scope)["domains"]
    assert first == {"serviceDomains": [{"syncStatus": "CREATING"}], "customDomains": [{"syncStatus": "CREATING"}]}
    second = human.execute(status, scope)["domains"]
    assert second == {"serviceDomains": [{"syncStatus": "ACTIVE"}], "customDomains": [{"syncStatus": "ACTIVE"}]}


# ---- the rate limit ----------------------------------------------------------------------------------------------
def _me(fake: FakeRailway, **auth: str) -> httpx.Response:
    headers = auth or {"Authorization": f"Bearer {TOKEN}"}
    return httpx.post(fake.url, json={"query": "query Me { me { id } }"}, headers=headers, timeout=5)


def test_the_hobby_limit_is_on_by_default_per_token_with_retry_after_on_the_fake_s_clock() -> None:
    with FakeRailway(token=TOKEN, budget_window_seconds=60) as fake:
        assert fake.request_budget == HOBBY_REQUESTS_PER_HOUR == 1000
        fake.request_budget = 3  # the default's behaviour, at a size a test can spend
        assert [_me(fake).status_code for _ in range(3)] == [200, 200, 200]
        fake.advance(10)
        refused = _me(fake)
        assert refused.status_code == 429 and 45 <= int(refused.headers["Retry-After"]) <= 50  # the oldest: at 60 s
        assert refused.headers["X-RateLimit-Remaining"] == "0"
        assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert _me(fake, **{"Project-Access-Token": "another-credential"}).status_code == 200  # its own budget
        fake.advance(50)
        assert _me(fake).status_code == 200 and fake.requests_left() == 2
        assert fake.refused_over_budget == 1
