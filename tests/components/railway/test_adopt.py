"""Adoption as each provider's method, over real HTTP against the fake: the recording run's create reads and
records what runs (no mutation); every setting a kind converges is read; objects are found by what they
run, and two candidates are refused; what was adopted stays adopted, even when the state is lost; a project
without a workspace takes the token's."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from components.railway import errors
from components.railway import operations as gql
from components.railway import provider as p
from components.railway.providers.adoption import PINNED_ENV, RECORDING_ENV, AmbiguousAdoption, Runs
from components.railway.providers.database import placed
from components.railway.providers.schema import KINDS, RailwayResource
from tests.fakes.railway_api import FakeRailway

Make = Callable[[type[Any]], Any]
REPO = "mayassistant/maya"


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(RECORDING_ENV, "1")
    yield


def _scope(stack: dict[str, Any]) -> dict[str, Any]:
    return {k: stack[k] for k in ("project_id", "environment_id", "service_id")}


def test_recording_creates_read_and_send_no_mutation(
    make: Make, stack: dict[str, Any], fake: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    variables = make(p.VariablesProvider)
    variables.create({**_scope(stack), "variables": {"A": "running", "EXTRA": "x"}})
    fake.reset_counters()
    monkeypatch.setenv(RECORDING_ENV, "1")
    project = make(p.ProjectProvider).create({"name": "maya-staging", "default_environment_name": "staging"})
    service = make(p.ServiceProvider).create({"project_id": stack["project_id"], "name": "backend"})
    recorded = variables.create({**_scope(stack), "variables": {"A": "config"}})
    assert fake.count(mutations_only=True) == 0
    assert project.id == stack["project_id"] and service.id == stack["service_id"]
    assert project.outs["origin"] == service.outs["origin"] == recorded.outs["origin"] == "adopted"
    # what runs, for the declared names only: the next diff shows A as a real difference, EXTRA never enters
    assert recorded.outs["variables"] == {"A": "running"} and recorded.outs["owned"] == ["A"]
    assert variables.diff(recorded.id, recorded.outs, {**_scope(stack), "variables": {"A": "config"}}).changes


def test_recording_what_is_not_there_fails_naming_it(make: Make, stack: dict[str, Any], recording: None) -> None:
    with pytest.raises(errors.RailwayError, match="not on Railway any more"):
        make(p.ServiceProvider).create({"project_id": stack["project_id"], "name": "no-such-service"})
    with pytest.raises(errors.RailwayError, match="value is shown once"):
        make(p.ProjectTokenProvider).create({**_scope(stack), "name": "ci"})


def test_a_pinned_id_wins_over_the_name(
    make: Make, stack: dict[str, Any], recording: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PINNED_ENV, '{"service": "%s"}' % stack["service_id"])  # noqa: UP031
    found = make(p.ServiceProvider).create({"project_id": stack["project_id"], "name": "renamed-in-config"})
    assert found.id == stack["service_id"] and found.outs["name"] == "backend"  # the rename is an update later


def test_adopted_objects_are_never_deleted(make: Make, stack: dict[str, Any], fake: Any) -> None:
    fake.reset_counters()
    make(p.ServiceProvider).delete(stack["service_id"], {"project_id": stack["project_id"], "origin": "adopted"})
    make(p.ProjectProvider).delete(stack["project_id"], {"name": "maya-staging", "origin": "adopted"})
    make(p.VariablesProvider).delete(
        "id", {**_scope(stack), "variables": {"A": "1"}, "owned": ["A"], "origin": "adopted"}
    )
    assert fake.count(mutations_only=True) == 0
    assert stack["project_id"] in fake.state.projects and stack["service_id"] in fake.state.services


# ---- every setting a kind converges is read at adoption ---------------------------------------------------------
def _world(make: Make, stack: dict[str, Any], fake: FakeRailway) -> dict[str, Any]:
    """One object of every adoptable kind, made through the providers, then changed behind the stack's back
    to values no declaration below asks for: adoption must report the running values."""
    scope = _scope(stack)
    instance = {
        "service_id": stack["service_id"],
        "environment_id": stack["environment_id"],
        "source_repo": REPO,
        "root_directory": "backend",
        "start_command": "uvicorn app.main:app",
        "pre_deploy_command": "python apply_migrations.py",
        "healthcheck_path": "/api/health",
        "healthcheck_timeout": 300,
        "num_replicas": 2,
        "region": "us-west2",
        "restart_policy_type": "ON_FAILURE",
        "restart_policy_max_retries": 10,
    }
    postgres = {**{k: scope[k] for k in ("project_id", "environment_id")}, "region": "us-west2"}
    made: dict[str, Any] = {
        "Project": {"name": "maya-staging", "description": "by hand", "default_environment_name": "staging"},
        "Environment": {"project_id": stack["project_id"], "name": "staging"},
        "Service": {"project_id": stack["project_id"], "name": "backend"},
        "ServiceInstance": instance,
        "Variables": {**scope, "variables": {"A": "1", "B": "2"}},
        "Postgres": {**postgres, "workflow_timeout_seconds": 30, "workflow_poll_seconds": 0.05},
        "ServiceDomain": {**scope, "target_port": 8000},
        "CustomDomain": {**scope, "domain": "api.mayassistant.com", "target_port": 8000},
        "DeploymentTrigger": {**scope, "repository": REPO, "branch": "main", "check_suites": True},
        "Deployment": {**scope, "revision": "r", "timeout_seconds": 30, "poll_seconds": 0.01},
        "NotificationRule": {
            "project_id": stack["project_id"],
            "event_types": ["Deployment.crashed", "Deployment.failed"],
            "channel_configs": [{"type": "email", "email": "oncall@mayassistant.com"}],
        },
        "PrEnvironmentSettings": {"project_id": stack["project_id"]},
    }
    outs = {}
    for kind, inputs in made.items():
        if kind not in ("Project", "Environment", "Service"):
            outs[kind] = make(getattr(p, f"{kind}Provider")).create(inputs).outs
    made["BackupSchedule"] = {"volume_instance_id": outs["Postgres"]["volume_instance_id"], "kinds": ["DAILY"]}
    make(p.BackupScheduleProvider).create(made["BackupSchedule"])
    fake.advance_deployments()
    client = make(p.ProjectProvider).client
    # behind the stack's back, in the dashboard:
    fake.update_instance_behind(
        stack["service_id"],
        stack["environment_id"],
        numReplicas=3,
        region="us-east4-eqdc4a",
        restartPolicyType="ALWAYS",
        healthcheckPath="/health",
        preDeployCommand=["python manage.py migrate"],
    )
    client.execute(
        gql.AUTO_DEPLOY_UPDATE, {"input": {"projectId": scope["project_id"], **_ids(scope), "enabled": True}}
    )
    client.execute(
        gql.VOLUME_INSTANCE_BACKUP_SCHEDULE_UPDATE,
        {"volumeInstanceId": outs["Postgres"]["volume_instance_id"], "kinds": ["DAILY", "WEEKLY"]},
    )
    domains = client.execute(gql.DOMAINS, {**{"projectId": scope["project_id"]}, **_ids(scope)})["domains"]
    client.execute(
        gql.SERVICE_DOMAIN_UPDATE,
        {
            "input": {
                "serviceDomainId": domains["serviceDomains"][0]["id"],
                "domain": domains["serviceDomains"][0]["domain"],
                "environmentId": scope["environment_id"],
                "serviceId": scope["service_id"],
                "targetPort": 3000,
            }
        },
    )
    client.execute(
        gql.CUSTOM_DOMAIN_UPDATE,
        {"id": domains["customDomains"][0]["id"], "environmentId": scope["environment_id"], "targetPort": 3000},
    )
    fake.set_variable_behind(scope["project_id"], scope["environment_id"], scope["service_id"], "B", "by hand")
    with fake._lock:
        fake.state.projects[stack["project_id"]]["prDeploys"] = True
        fake.state.projects[stack["project_id"]]["description"] = "by hand"
    return made


def _ids(scope: dict[str, Any]) -> dict[str, Any]:
    return {"environmentId": scope["environment_id"], "serviceId": scope["service_id"]}


#: What the dashboard changes in _world, as adoption must read it back (kind -> field -> running value).
CHANGED_BEHIND = {
    "ServiceInstance": {
        "num_replicas": 3,
        "region": "us-east4-eqdc4a",
        "restart_policy_type": "ALWAYS",
        "healthcheck_path": "/health",
        "pre_deploy_command": "python manage.py migrate",
    },
    "DeploymentTrigger": {"auto_deploy": True},
    "BackupSchedule": {"kinds": ["DAILY", "WEEKLY"]},
    "ServiceDomain": {"target_port": 3000},
    "CustomDomain": {"target_port": 3000},
    "Variables": {"variables": {"A": "1", "B": "by hand"}},
    "Project": {"description": "by hand"},
    "PrEnvironmentSettings": {"pr_deploys": True},
}


def _unread(kind: type[RailwayResource], outputs: Mapping[str, Any]) -> list[str]:
    """The settings ``up`` converges that adoption did not read (one check, used by both tests below)."""
    return [f.name for f in kind.fields if f.converged and not f.write_only and f.name not in outputs]


def test_adoption_reads_every_setting_each_kind_converges(make: Make, stack: dict[str, Any], fake: FakeRailway) -> None:
    """For every adoptable kind: each setting ``up`` converges (every input not ``local``, not legacy) is in
    what ``adopt`` reports, unless the kind declares why Railway cannot read it (``write_only``) — so a new
    converged setting without its adoption read fails here — and what the dashboard changed is what it reads."""
    made = _world(make, stack, fake)
    fake.reset_counters()
    adoptable = {name: kind for name, kind in KINDS.items() if not kind.not_adoptable}
    assert set(adoptable) == set(made), "every adoptable kind is in this table"
    for name, kind in adoptable.items():
        adopted = make(kind.provider_class).adopt(made[name])
        assert adopted is not None, name
        unread = _unread(kind, adopted.outputs)
        assert unread == [], f"{name}: settings up converges but adoption does not read: {unread}"
        for key, value in CHANGED_BEHIND.get(name, {}).items():
            assert adopted.outputs[key] == value, (name, key)
        assert adopted.outputs["origin"] == "adopted"
    assert fake.count(mutations_only=True) == 0


def test_a_new_converged_setting_without_its_read_is_caught(make: Make, stack: dict[str, Any]) -> None:
    """The check above, shown to fail: a kind declaring a setting its read does not return."""
    kind = KINDS["Service"]
    fields = kind.fields
    try:
        from dataclasses import replace

        extra = replace(next(f for f in fields if f.name == "name"), name="sleep_application", required=False)
        kind.fields = (*fields, extra)
        adopted = make(p.ServiceProvider).adopt({"project_id": stack["project_id"], "name": "backend"})
        assert adopted is not None
        assert _unread(kind, adopted.outputs) == ["sleep_application"]
    finally:
        kind.fields = fields


# ---- found by what it runs; two candidates refused ------------------------------------------------------------
def _runs(stack: dict[str, Any], root: str | None = "backend") -> Runs:
    return Runs(REPO, root, "staging", stack["environment_id"])


def _run_repo(make: Make, stack: dict[str, Any], service_id: str, root: str = "backend") -> None:
    make(p.ServiceInstanceProvider).create(
        {
            "service_id": service_id,
            "environment_id": stack["environment_id"],
            "source_repo": REPO,
            "root_directory": root,
        }
    )


def test_the_service_is_found_by_the_repository_it_runs_whatever_its_name(
    make: Make, stack: dict[str, Any], fake: FakeRailway
) -> None:
    client = fake.dashboard()  # made by hand, before maya-infra
    maya = client.execute(gql.SERVICE_CREATE, {"input": {"projectId": stack["project_id"], "name": "maya"}})
    _run_repo(make, stack, maya["serviceCreate"]["id"])
    _run_repo(make, stack, stack["service_id"], root="worker")  # the same repository, another folder: not it
    adopted = make(p.ServiceProvider).adopt({"project_id": stack["project_id"], "name": "backend"}, runs=_runs(stack))
    assert adopted is not None and adopted.id == maya["serviceCreate"]["id"] and adopted.outputs["name"] == "maya"
    assert [e.label for e in adopted.extras] == ["backend"]  # the other service is listed, left alone


def test_two_services_running_the_repository_are_refused_listing_both(
    make: Make, stack: dict[str, Any], fake: FakeRailway
) -> None:
    client = fake.dashboard()  # made by hand, before maya-infra
    other = client.execute(gql.SERVICE_CREATE, {"input": {"projectId": stack["project_id"], "name": "maya"}})
    _run_repo(make, stack, stack["service_id"])
    _run_repo(make, stack, other["serviceCreate"]["id"])
    with pytest.raises(AmbiguousAdoption) as refused:
        make(p.ServiceProvider).adopt({"project_id": stack["project_id"], "name": "x"}, runs=_runs(stack))
    message = str(refused.value)
    assert stack["service_id"] in message and other["serviceCreate"]["id"] in message
    assert "--id service=<id>" in message
    pinned = make(p.ServiceProvider).adopt(
        {"project_id": stack["project_id"], "name": "x"}, pinned=stack["service_id"], runs=_runs(stack)
    )
    assert pinned is not None and pinned.id == stack["service_id"]  # --id is the fallback


def test_the_project_is_found_by_what_it_runs_when_its_name_differs(make: Make, stack: dict[str, Any]) -> None:
    _run_repo(make, stack, stack["service_id"])
    provider = make(p.ProjectProvider)
    inputs = {"name": "maya-production", "default_environment_name": "staging"}
    assert provider.adopt(inputs) is None  # by name alone, nothing
    adopted = provider.adopt(inputs, runs=_runs(stack))
    assert adopted is not None and adopted.id == stack["project_id"] and adopted.outputs["name"] == "maya-staging"


def test_postgres_is_found_by_its_data_volume_whatever_its_name(
    make: Make, stack: dict[str, Any], fake: FakeRailway
) -> None:
    client = fake.dashboard()  # deployed by hand from Railway's template, before maya-infra
    template = client.execute(gql.TEMPLATE, {"code": "postgres"})["template"]
    deployed = client.execute(
        gql.TEMPLATE_DEPLOY,
        {
            "input": {
                "templateId": template["id"],
                "serializedConfig": placed(template["serializedConfig"], "us-west2"),
                "projectId": stack["project_id"],
                "environmentId": stack["environment_id"],
            }
        },
    )["templateDeployV2"]
    for _ in range(50):
        if client.execute(gql.WORKFLOW_STATUS, {"workflowId": deployed["workflowId"]})["workflowStatus"]["status"] == (
            "Complete"
        ):
            break
    postgres = next(s for s in fake.state.services.values() if s["name"] == "Postgres")
    client.execute(gql.SERVICE_UPDATE, {"id": postgres["id"], "input": {"name": "maya-db"}})
    inputs = {"project_id": stack["project_id"], "environment_id": stack["environment_id"], "service_name": "Postgres"}
    adopted = make(p.PostgresProvider).adopt(inputs, runs=_runs(stack))
    assert adopted is not None and adopted.id == postgres["id"]
    assert adopted.outputs["service_name"] == "maya-db"
    assert adopted.outputs["database_url_reference"] == "${{maya-db.DATABASE_URL}}"
    assert adopted.outputs["volume_instance_id"] and adopted.outputs["region"] == "us-west2"


# ---- adopted stays adopted ------------------------------------------------------------------------------------
MARKED = "MAYA/OMEGA backend (staging), managed by maya-infra (stack staging)"


def test_an_adopted_project_is_marked_adopted_and_a_lost_state_adopts_it_again(
    make: Make, fake: FakeRailway, recording: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = fake.dashboard()  # set up by hand
    running = client.execute(gql.PROJECT_CREATE, {"input": {"name": "maya", "description": "set up by hand"}})
    declared = {"name": "maya", "description": MARKED, "default_environment_name": "production"}
    recorded = make(p.ProjectProvider).create(declared)
    assert recorded.outs["description"] == "set up by hand" and recorded.outs["origin"] == "adopted"

    diff = make(p.ProjectProvider).diff(recorded.id, recorded.outs, declared)
    assert diff.changes  # the next up writes the description, with the adopted marker
    updated = make(p.ProjectProvider).update(recorded.id, recorded.outs, declared)
    written = fake.state.projects[running["projectCreate"]["id"]]["description"]
    assert written == "MAYA/OMEGA backend (staging), adopted by maya-infra (stack staging)"
    assert make(p.ProjectProvider).diff(recorded.id, updated.outs, declared).changes is False  # converged

    monkeypatch.delenv(RECORDING_ENV)  # the state is lost: a plain up creates from nothing, looking first
    again = make(p.ProjectProvider).create(declared)
    assert again.id == recorded.id and again.outs["origin"] == "adopted", "what was adopted stays adopted"
    make(p.ProjectProvider).delete(again.id, again.outs)
    assert again.id in fake.state.projects


def test_an_old_adoption_carrying_the_created_marker_is_remarked(make: Make, fake: FakeRailway) -> None:
    """States adopted before the adopted marker existed wrote "managed by": their next up corrects it."""
    client = fake.dashboard()  # made by an older maya-infra: the fake's own set-up
    made = client.execute(gql.PROJECT_CREATE, {"input": {"name": "maya", "description": MARKED}})["projectCreate"]
    declared = {"name": "maya", "description": MARKED, "default_environment_name": "production"}
    state = {**declared, "origin": "adopted"}
    assert make(p.ProjectProvider).diff(made["id"], state, declared).changes
    make(p.ProjectProvider).update(made["id"], state, declared)
    assert "adopted by maya-infra (stack staging)" in fake.state.projects[made["id"]]["description"]


# ---- a project without a workspace ------------------------------------------------------------------------------
def _rule(project_id: str) -> dict[str, Any]:
    return {
        "project_id": project_id,
        "event_types": ["Deployment.crashed", "Deployment.failed"],
        "channel_configs": [{"type": "email", "email": "oncall@mayassistant.com"}],
    }


def test_a_project_without_a_workspace_takes_the_tokens(make: Make, stack: dict[str, Any], fake: FakeRailway) -> None:
    with fake._lock:
        fake.state.projects[stack["project_id"]]["workspaceId"] = None
    created = make(p.NotificationRuleProvider).create(_rule(stack["project_id"]))
    assert created.outs["rule_workspace_id"] == fake.workspace_id
    assert not [r for r in fake.requests if (r.variables or {}).get("workspaceId") == "None"]


def test_a_token_with_several_workspaces_stops_naming_the_setting(
    make: Make, stack: dict[str, Any], fake: FakeRailway, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fake._lock:
        fake.state.projects[stack["project_id"]]["workspaceId"] = None
    both = {"workspaces": [{"id": "ws-a", "name": "A"}, {"id": "ws-b", "name": "B"}]}
    monkeypatch.setattr(fake, "_q_api_token", lambda info: both, raising=False)
    fake.reset_counters()
    with pytest.raises(
        errors.InvalidInputError, match=r"sees 2 workspaces \(A \(ws-a\), B \(ws-b\)\).*railway.workspaceId"
    ):
        make(p.NotificationRuleProvider).create(_rule(stack["project_id"]))
    assert fake.count(mutations_only=True) == 0
