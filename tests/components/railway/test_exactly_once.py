"""The fault matrix: every kind of Railway create × every fault that hides a duplicate → exactly one object.

Each cell starts from a fresh fake Railway, arms one fault on the create's mutation (or seeds the object
beforehand), runs the provider's ``create`` once — as ``pulumi up`` would — and counts the objects of that
kind in the fake. The faults are the ones under which Railway has done the work but the client cannot
know it (the answer was lost after the commit, the commit landed after the client timed out), plus a
request that never arrived, a 429 with Retry-After, and an object of the same name already there.

Every cell counts what a duplicate would add to, so it can count more than one: objects of the kind for the
creates; for the kinds whose write is idempotent (service settings, variables, backup schedule) every copy of
the written value in the project — a write that leaked to another environment or volume counts — plus every
deployment the write set off (a variable write without ``skipDeploys`` would deploy once per send). Counting
happens after every asynchronous piece of Railway work has finished (a template deploy's workflow that was
sent twice shows its second database only then).

The table of counts is printed at the end of the module (``pytest -s`` or the terminal summary).

The rule's two halves can be switched off here to measure what each one holds (nothing else reads this):
``MAYA_MATRIX_DISABLE=look-first``, ``=settle`` (after a lost answer, send again without looking) or
``=look-first,settle``, e.g.::

    MAYA_MATRIX_DISABLE=settle venv/bin/python -m pytest tests/components/railway/test_exactly_once.py -q
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from components.railway import exactly_once
from components.railway import operations as gql
from components.railway import provider as p
from components.railway.client import ClientSettings, RailwayClient
from components.railway.exactly_once import ADOPTED, CREATED
from components.railway.providers import base
from tests.components.railway.conftest import TOKEN, SleepRecorder
from tests.fakes.railway_api import FakeRailway

pytestmark = pytest.mark.timeout(120)

#: The client gives up on an answer after this long; a slow commit lands well after it.
TIMEOUT = 0.8
SLOW_COMMIT = 2.0
SETTLE = 4.0

FAULTS: dict[str, dict[str, Any]] = {
    "drop before": {"kind": "drop"},
    "drop after commit": {"kind": "drop_after"},
    "5xx after commit": {"kind": "http_after", "status": 502},
    "generic error after commit": {"kind": "graphql_error_after"},
    "slow commit after timeout": {"kind": "slow_commit", "delay": SLOW_COMMIT},
    "429 Retry-After": {"kind": "http", "status": 429, "retry_after": 1},
    "already present": {},
}


#: Which half of the rule this run switches off (see the module docstring); empty: none.
DISABLED = frozenset(part.strip() for part in os.environ.get("MAYA_MATRIX_DISABLE", "").split(",") if part.strip())


@pytest.fixture(autouse=True)
def _switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    unknown = DISABLED - {"look-first", "settle"}
    assert not unknown, f"MAYA_MATRIX_DISABLE: unknown {sorted(unknown)} (look-first, settle)"
    if "look-first" in DISABLED:
        real = exactly_once.write_once
        monkeypatch.setattr(base, "write_once", lambda *a, **k: real(*a, **{**k, "look_first": False}))
    if "settle" in DISABLED:
        monkeypatch.setattr(exactly_once, "settle", lambda *a, **k: None)


@dataclass
class World:
    fake: FakeRailway
    client: RailwayClient
    project_id: str
    environment_id: str
    service_id: str
    other_environment_id: str  # a second environment with its own instance of the service: leaks count

    @property
    def scope(self) -> dict[str, str]:
        return {"project_id": self.project_id, "environment_id": self.environment_id, "service_id": self.service_id}

    def make(self, cls: type[p.RailwayProvider]) -> p.RailwayProvider:
        provider = cls()
        provider.use_client(self.client)
        return provider

    def run(self, query: gql.Operation, variables: dict[str, Any]) -> dict[str, Any]:
        """What was there before (by hand, an earlier tool, CI): sent as a person would, outside maya-infra."""
        return self.fake.dashboard().execute(query, variables)

    def deployments(self) -> int:
        """Deployments of the backend service (no write in this matrix may set one off, but the Deployment)."""
        return _named(self.fake.state.deployments, serviceId=self.service_id)


@dataclass(frozen=True)
class Kind:
    """One kind of create: its mutation, its inputs, how to seed it, and how many of it exist."""

    provider: type[p.RailwayProvider]
    operation: str
    inputs: Callable[[World], dict[str, Any]]
    count: Callable[[World], int]
    seed: Callable[[World], None]


def _project_inputs(w: World) -> dict[str, Any]:
    return {
        "name": "maya-matrix",
        "description": "MAYA/OMEGA backend (staging), managed by maya-infra (stack staging)",
        "default_environment_name": "staging",
    }


def _seed_project(w: World) -> None:
    w.run(gql.PROJECT_CREATE, {"input": {"name": "maya-matrix", "description": "made by hand"}})


def _pg_inputs(w: World) -> dict[str, Any]:
    return {
        "project_id": w.project_id,
        "environment_id": w.environment_id,
        "region": "us-west2",
        "workflow_poll_seconds": 0.2,
        "workflow_timeout_seconds": 8,
    }


def _seed_postgres(w: World) -> None:
    template = w.run(gql.TEMPLATE, {"code": "postgres"})["template"]
    w.run(
        gql.TEMPLATE_DEPLOY,
        {
            "input": {
                "templateId": template["id"],
                "serializedConfig": template["serializedConfig"],
                "projectId": w.project_id,
                "environmentId": w.environment_id,
            }
        },
    )
    w.fake.finish_workflows()


def _deploy_inputs(w: World) -> dict[str, Any]:
    w.__dict__.setdefault("revision", p.revision_of({"matrix": 1}))
    return {**w.scope, "revision": w.__dict__["revision"], "poll_seconds": 0.05, "timeout_seconds": 30}


def _seed_deployment(w: World) -> None:
    _deploy_inputs(w)  # the revision is written first; then something deploys it (an interrupted run, CI)
    w.run(gql.SERVICE_INSTANCE_DEPLOY, {"serviceId": w.service_id, "environmentId": w.environment_id})


def _volume_instance(w: World) -> str:
    if "volume" not in w.__dict__:
        _seed_postgres(w)
        env = w.run(gql.ENVIRONMENT_INSTANCES, {"environmentId": w.environment_id})["environment"]
        w.__dict__["volume"] = env["volumeInstances"]["edges"][0]["node"]["id"]
    return str(w.__dict__["volume"])


def _trigger_inputs(w: World) -> dict[str, Any]:
    return {**w.scope, "provider": "github", "repository": "mayassistant/maya", "branch": "main", "check_suites": True}


def _settings_inputs(w: World) -> dict[str, Any]:
    return {
        "service_id": w.service_id,
        "environment_id": w.environment_id,
        "source_repo": "mayassistant/maya",
        "healthcheck_path": "/api/health",
        "num_replicas": 1,
    }


def _again(kind: str) -> Callable[[World], None]:
    """Seed by running the same create once before (what an earlier, interrupted run left)."""

    def seed(w: World) -> None:
        provider = w.make(KINDS[kind].provider)
        provider.create(KINDS[kind].inputs(w))

    return seed


def _named(table: dict[str, dict[str, Any]], **match: Any) -> int:
    return sum(1 for row in table.values() if all(row.get(k) == v for k, v in match.items()))


KINDS: dict[str, Kind] = {
    "project": Kind(
        p.ProjectProvider,
        "ProjectCreate",
        _project_inputs,
        lambda w: _named(w.fake.state.projects, name="maya-matrix"),
        _seed_project,
    ),
    "environment": Kind(
        p.EnvironmentProvider,
        "EnvironmentCreate",
        lambda w: {"project_id": w.project_id, "name": "preview"},
        lambda w: _named(w.fake.state.environments, name="preview", projectId=w.project_id),
        lambda w: w.run(gql.ENVIRONMENT_CREATE, {"input": {"projectId": w.project_id, "name": "preview"}}) and None,
    ),
    "service": Kind(
        p.ServiceProvider,
        "ServiceCreate",
        lambda w: {"project_id": w.project_id, "name": "api"},
        lambda w: _named(w.fake.state.services, name="api", projectId=w.project_id),
        lambda w: w.run(gql.SERVICE_CREATE, {"input": {"projectId": w.project_id, "name": "api"}}) and None,
    ),
    "service settings": Kind(
        p.ServiceInstanceProvider,
        "ServiceInstanceUpdate",
        _settings_inputs,
        lambda w: (
            w.deployments()
            + sum(
                1
                for (sid, _eid), inst in w.fake.state.instances.items()
                if sid == w.service_id and inst.get("healthcheckPath") == "/api/health"
            )
        ),
        _again("service settings"),
    ),
    "variables": Kind(
        p.VariablesProvider,
        "VariableCollectionUpsert",
        lambda w: {**w.scope, "variables": {"A": "1"}},
        lambda w: (
            w.deployments()
            + sum(
                1 for (pid, _e, _s), values in w.fake.state.variables.items() if pid == w.project_id and "A" in values
            )
        ),
        _again("variables"),
    ),
    "service domain": Kind(
        p.ServiceDomainProvider,
        "ServiceDomainCreate",
        lambda w: {**w.scope, "target_port": 8000},
        lambda w: _named(w.fake.state.service_domains, serviceId=w.service_id, environmentId=w.environment_id),
        lambda w: (
            w.run(
                gql.SERVICE_DOMAIN_CREATE,
                {"input": {"serviceId": w.service_id, "environmentId": w.environment_id, "targetPort": 8000}},
            )
            and None
        ),
    ),
    "custom domain": Kind(
        p.CustomDomainProvider,
        "CustomDomainCreate",
        lambda w: {**w.scope, "domain": "api.matrix.example.com", "target_port": 8000},
        lambda w: _named(w.fake.state.custom_domains, domain="api.matrix.example.com"),
        lambda w: (
            w.run(
                gql.CUSTOM_DOMAIN_CREATE,
                {
                    "input": {
                        "projectId": w.project_id,
                        "environmentId": w.environment_id,
                        "serviceId": w.service_id,
                        "domain": "api.matrix.example.com",
                        "targetPort": 8000,
                    }
                },
            )
            and None
        ),
    ),
    "trigger": Kind(
        p.DeploymentTriggerProvider,
        "DeploymentTriggerCreate",
        _trigger_inputs,
        lambda w: _named(w.fake.state.triggers, serviceId=w.service_id, repository="mayassistant/maya"),
        lambda w: (
            w.run(
                gql.DEPLOYMENT_TRIGGER_CREATE,
                {
                    "input": {
                        "projectId": w.project_id,
                        "environmentId": w.environment_id,
                        "serviceId": w.service_id,
                        "provider": "github",
                        "repository": "mayassistant/maya",
                        "branch": "main",
                        "checkSuites": True,
                    }
                },
            )
            and None
        ),
    ),
    "project token": Kind(
        p.ProjectTokenProvider,
        "ProjectTokenCreate",
        lambda w: {"project_id": w.project_id, "environment_id": w.environment_id, "name": "ci"},
        lambda w: _named(w.fake.state.project_tokens, name="ci", projectId=w.project_id),
        lambda w: (
            w.run(
                gql.PROJECT_TOKEN_CREATE,
                {"input": {"projectId": w.project_id, "environmentId": w.environment_id, "name": "ci"}},
            )
            and None
        ),
    ),
    "postgres": Kind(
        p.PostgresProvider,
        "TemplateDeployV2",
        _pg_inputs,
        lambda w: sum(
            1
            for s in w.fake.state.services.values()
            if s["projectId"] == w.project_id and s["name"].startswith("Postgres")
        ),
        _seed_postgres,
    ),
    "deployment": Kind(
        p.DeploymentProvider,
        "ServiceInstanceDeployV2",
        _deploy_inputs,
        lambda w: _named(w.fake.state.deployments, serviceId=w.service_id),
        _seed_deployment,
    ),
    "backup schedule": Kind(
        p.BackupScheduleProvider,
        "VolumeInstanceBackupScheduleUpdate",
        lambda w: {"volume_instance_id": _volume_instance(w), "kinds": ["DAILY", "WEEKLY"]},
        lambda w: w.deployments() + sum(1 for kinds in w.fake.state.backup_schedules.values() if "DAILY" in kinds),
        _again("backup schedule"),
    ),
}

RESULTS: dict[tuple[str, str], str] = {}


def matrix_table() -> list[str]:
    """The matrix as text (objects of the kind after one create; goal: 1 in every cell).

    Printed in pytest's terminal summary by ``tests/components/railway/conftest.py``."""
    if not RESULTS:
        return []
    width = max(len(k) for k in KINDS) + 2
    cols = list(FAULTS)
    lines = [
        "Railway exactly-once fault matrix (objects of the kind after one create; goal 1)",
        "kind".ljust(width) + " | ".join(c[:14].rjust(14) for c in cols),
    ]
    for kind in KINDS:
        lines.append(kind.ljust(width) + " | ".join(RESULTS.get((kind, c), "-").rjust(14) for c in cols))
    not_one = sum(1 for v in RESULTS.values() if v != "1")
    lines.append(f"scenarios: {len(RESULTS)}, cells with other than exactly one object: {not_one}")
    return lines


@pytest.fixture
def world() -> Iterator[World]:
    with FakeRailway(token=TOKEN, deploy_polls_to_finish=2) as fake:
        human = fake.dashboard()
        project = human.execute(gql.PROJECT_CREATE, {"input": {"name": "parent", "defaultEnvironmentName": "staging"}})
        project = project["projectCreate"]
        env_id = project["environments"]["edges"][0]["node"]["id"]
        service = human.execute(gql.SERVICE_CREATE, {"input": {"projectId": project["id"], "name": "backend"}})
        other = human.execute(gql.ENVIRONMENT_CREATE, {"input": {"projectId": project["id"], "name": "other"}})
        settings = ClientSettings(
            endpoint=fake.url,
            requests_per_second=1000,
            max_attempts=6,
            timeout_seconds=TIMEOUT,
            connect_timeout_seconds=2,
            backoff_base_seconds=0.01,
            backoff_cap_seconds=1,
            deadline_seconds=60,
            settle_seconds=SETTLE,
        )
        client = RailwayClient(TOKEN, settings, sleep=SleepRecorder(fake))
        service_id = service["serviceCreate"]["id"]
        yield World(fake, client, project["id"], env_id, service_id, other["environmentCreate"]["id"])
        client.close()


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("kind", list(KINDS))
def test_exactly_one_object_under_every_fault(world: World, kind: str, fault: str) -> None:
    spec = KINDS[kind]
    RESULTS[(kind, fault)] = "error"
    if fault == "already present":
        spec.seed(world)
        assert spec.count(world) == 1, "the seed made no object"
    inputs = spec.inputs(world)  # may prepare what the create needs (a volume, a written revision)
    options = dict(FAULTS[fault])
    if options:
        world.fake.inject(options.pop("kind"), match=spec.operation, **options)
    created = world.make(spec.provider).create(inputs)
    _let_railway_finish(world)
    count = spec.count(world)
    RESULTS[(kind, fault)] = str(count)
    assert count == 1, f"{kind} under '{fault}': {count} objects"
    assert created.id
    assert world.fake.invalid_documents == []
    if fault != "already present":
        assert created.outs.get("origin") in (CREATED, None) or kind == "environment"
    elif kind in ("project", "environment", "service", "service domain", "custom domain", "trigger", "postgres"):
        assert created.outs["origin"] == ADOPTED, "an object that was there before is adopted, not ours"
    if kind == "project token":
        assert world.fake.project_token_value(created.id) == created.outs["token"], "the token we hold is listed"


def _let_railway_finish(world: World) -> None:
    """Before counting, every piece of Railway's work lands: a slow commit still held on the server, then
    every workflow (a template deploy sent twice shows its second database only when its workflow ends)."""
    deadline = time.monotonic() + SLOW_COMMIT + 1
    while time.monotonic() < deadline and any(
        r.fault == "slow_commit" and r.http_status is None for r in world.fake.requests
    ):
        time.sleep(0.05)
    world.fake.finish_workflows()
