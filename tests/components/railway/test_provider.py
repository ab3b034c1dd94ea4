"""Provider contract tests: every resource's lifecycle through real HTTP against the fake Railway API,
drift, every fault kind, interrupted creates, secrecy and pickling."""

from __future__ import annotations

import logging
import pickle
from collections.abc import Callable
from typing import Any

import dill
import pytest
from pulumi.dynamic import CheckResult, ConfigureRequest
from pulumi.dynamic.config import Config
from pulumi.output import Unknown
from pulumi.runtime import rpc

from components.railway import errors
from components.railway import operations as gql
from components.railway import provider as p
from components.railway.client import RailwayClient
from tests.fakes.railway_api import FakeRailway

pytestmark = pytest.mark.timeout(60)
Make = Callable[[type[Any]], Any]

SETTINGS = {
    "source_repo": "mayassistant/maya",
    "root_directory": "backend",
    "start_command": "uvicorn app.main:app",
    "pre_deploy_command": "python apply_migration.py",
    "healthcheck_path": "/api/health",
    "healthcheck_timeout": 300,
    "num_replicas": 2,
    "region": "us-west2",
    "restart_policy_type": "ON_FAILURE",
    "restart_policy_max_retries": 10,
}


def _lifecycle(make: Make, cls: type[p.RailwayProvider], inputs: dict[str, Any], change: dict[str, Any]) -> Any:
    """check → create → read (no drift) → diff (no change) → diff+update → read → delete → delete again."""
    provider = make(cls)
    checked: CheckResult = provider.check({}, inputs)
    assert checked.failures == [], checked.failures
    created = provider.create(checked.inputs)
    assert created.id
    read = provider.read(created.id, created.outs)
    assert read.id == created.id
    assert provider.diff(created.id, read.outs, inputs).changes is False, "refresh right after create drifted"
    new_inputs = {**inputs, **change}
    diff = provider.diff(created.id, created.outs, new_inputs)
    assert diff.changes is True
    if not diff.replaces:
        updated = provider.update(created.id, created.outs, new_inputs)
        assert all(updated.outs[k] == v for k, v in change.items())
        assert set(created.outs) <= set(updated.outs), "update must return full outputs"
        after = provider.read(created.id, updated.outs)
        assert provider.diff(created.id, after.outs, new_inputs).changes is False
        created.outs = updated.outs
    provider.delete(created.id, created.outs)
    provider.delete(created.id, created.outs)  # idempotent
    return created


def test_project_lifecycle(make: Make, fake: FakeRailway) -> None:
    _lifecycle(
        make,
        p.ProjectProvider,
        {"name": "maya-staging", "default_environment_name": "staging"},
        {"name": "maya-staging-2"},
    )
    assert fake.is_empty()


def test_project_workspace_change_replaces(make: Make) -> None:
    provider = make(p.ProjectProvider)
    diff = provider.diff("id", {"name": "a", "workspace_id": "w1"}, {"name": "a", "workspace_id": "w2"})
    assert diff.changes and diff.replaces == ["workspace_id"]


def test_environment_adopts_the_default_and_creates_others(
    make: Make, stack: dict[str, Any], fake: FakeRailway
) -> None:
    provider = make(p.EnvironmentProvider)
    adopted = provider.create({"project_id": stack["project_id"], "name": "staging"})
    assert adopted.id == stack["environment_id"] and adopted.outs["adopted"] is True
    _lifecycle(make, p.EnvironmentProvider, {"project_id": stack["project_id"], "name": "qa"}, {"name": "qa-2"})
    provider.delete(adopted.id, adopted.outs)  # the default goes with the project
    assert stack["environment_id"] in fake.state.environments


def test_service_lifecycle(make: Make, stack: dict[str, Any]) -> None:
    _lifecycle(make, p.ServiceProvider, {"project_id": stack["project_id"], "name": "worker"}, {"name": "worker-2"})


def test_service_instance_lifecycle(make: Make, stack: dict[str, Any], fake: FakeRailway) -> None:
    inputs = {"service_id": stack["service_id"], "environment_id": stack["environment_id"], **SETTINGS}
    created = _lifecycle(
        make, p.ServiceInstanceProvider, inputs, {"healthcheck_path": "/api/healthz", "num_replicas": 3}
    )
    instance = fake.state.instances[(stack["service_id"], stack["environment_id"])]
    assert instance["healthcheckPath"] == "/api/healthz"
    assert created.outs["revision"]


def test_service_instance_check_failures(make: Make) -> None:
    provider = make(p.ServiceInstanceProvider)
    failures = provider.check(
        {},
        {
            "service_id": "s",
            "environment_id": "e",
            "healthcheck_path": "api/health",
            "num_replicas": 0,
            "restart_policy_type": "SOMETIMES",
            "source_repo": "not a repo",
        },
    ).failures
    assert {f.property for f in failures} == {"healthcheck_path", "num_replicas", "restart_policy_type", "source_repo"}
    unknown = provider.check({}, {"service_id": rpc.UNKNOWN, "environment_id": "e", "healthcheck_path": rpc.UNKNOWN})
    assert [f.property for f in unknown.failures] == []


def test_diff_never_compares_the_provider_and_reports_unknowns(make: Make) -> None:
    provider = make(p.ServiceInstanceProvider)
    olds = {"service_id": "s", "environment_id": "e", "__provider": "old-code", **SETTINGS}
    assert provider.diff("s:e", olds, {**olds, "__provider": "new-code"}).changes is False
    assert provider.diff("s:e", olds, {**olds, "start_command": Unknown()}).changes is True
    assert provider.diff("s:e", olds, {**olds, "environment_id": "e2"}).replaces == ["environment_id"]


def test_variables_one_request_whatever_their_number(make: Make, stack: dict[str, Any], fake: FakeRailway) -> None:
    scope = {k: stack[k] for k in ("project_id", "environment_id", "service_id")}
    provider = make(p.VariablesProvider)
    for count in (10, 200):
        fake.reset_counters()
        values = {f"VAR_{i}": f"value-{i}" for i in range(count)}
        created = provider.create({**scope, "variables": values})
        # one look first (a set found on Railway is adopted, never deleted), then one write of them all
        assert fake.count("VariableCollectionUpsert") == 1 and fake.count() == 2
        fake.reset_counters()
        changed = {**values, "VAR_1": "changed"}
        provider.update(created.id, created.outs, {**scope, "variables": changed})
        assert fake.count() == 1
        provider.delete(created.id, {**created.outs, "variables": changed})


def test_variables_writes_skip_deploys_and_removed_names_are_deleted(
    make: Make, stack: dict[str, Any], fake: FakeRailway
) -> None:
    scope = {k: stack[k] for k in ("project_id", "environment_id", "service_id")}
    created = _lifecycle(
        make, p.VariablesProvider, {**scope, "variables": {"A": "1", "B": "2"}}, {"variables": {"A": "1", "C": "3"}}
    )
    assert created.outs["variables"] == {"A": "1", "C": "3"} and created.outs["owned"] == ["A", "C"]
    upserts = [r.variables["input"] for r in fake.requests if r.operation_name == "VariableCollectionUpsert"]
    assert all(u["skipDeploys"] is True and u["replace"] is False for u in upserts)
    assert [sorted(u["variables"]) for u in upserts] == [["A", "B"], ["C"]]  # only what changed, by name
    deletes = [r.variables["input"]["name"] for r in fake.requests if r.operation_name == "VariableDelete"]
    # drop B; then the resource's delete removes its own names (twice: the second finds them gone)
    assert deletes == ["B", "A", "C", "A", "C"]
    assert fake.count("ServiceInstanceDeployV2") == 0


def test_variables_check_refuses_reserved_and_bad_names(make: Make) -> None:
    failures = (
        make(p.VariablesProvider)
        .check(
            {},
            {
                "project_id": "p",
                "environment_id": "e",
                "service_id": "s",
                "variables": {"RAILWAY_X": "1", "1BAD": "2", "OK": 3},
            },
        )
        .failures
    )
    assert len(failures) == 3


def test_service_domain_lifecycle_keeps_explicit_port(make: Make, stack: dict[str, Any], fake: FakeRailway) -> None:
    scope = {k: stack[k] for k in ("project_id", "environment_id", "service_id")}
    created = _lifecycle(make, p.ServiceDomainProvider, {**scope, "target_port": 8000}, {"target_port": 8080})
    assert created.outs["url"].startswith("https://") and created.outs["domain"].endswith(".up.railway.app")
    sent = [
        r.variables["input"]["targetPort"]
        for r in fake.requests
        if r.operation_name in ("ServiceDomainCreate", "ServiceDomainUpdate")
    ]
    assert sent == [8000, 8080]


def test_custom_domain_exports_dns_records(make: Make, stack: dict[str, Any]) -> None:
    scope = {k: stack[k] for k in ("project_id", "environment_id", "service_id")}
    provider = make(p.CustomDomainProvider)
    created = provider.create({**scope, "domain": "api.staging.mayassistant.com", "target_port": 8000})
    records = {r["type"]: r for r in created.outs["dns_records"]}
    assert records["CNAME"]["value"] and records["TXT"]["value"]
    assert created.outs["verified"] is False
    assert provider.diff(
        created.id, created.outs, {**scope, "domain": "api2.mayassistant.com", "target_port": 8000}
    ).replaces == ["domain"]
    assert provider.check({}, {**scope, "domain": "https://x"}).failures
    _lifecycle(
        make, p.CustomDomainProvider, {**scope, "domain": "api.example.com", "target_port": 8000}, {"target_port": 8001}
    )


def test_deployment_trigger_lifecycle(make: Make, stack: dict[str, Any], fake: FakeRailway) -> None:
    scope = {k: stack[k] for k in ("project_id", "environment_id", "service_id")}
    inputs = {
        **scope,
        "provider": "github",
        "repository": "mayassistant/maya",
        "branch": "develop",
        "check_suites": True,
        "root_directory": "backend",
    }
    _lifecycle(make, p.DeploymentTriggerProvider, inputs, {"branch": "main"})
    created = [r for r in fake.requests if r.operation_name == "DeploymentTriggerCreate"]
    assert created[0].variables["input"]["checkSuites"] is True


def test_deployment_trigger_turns_automatic_deploys_off_and_finds_them_turned_on(
    make: Make, stack: dict[str, Any], fake: FakeRailway
) -> None:
    """CI is the one deploy path: pushes must not deploy by themselves (docs/workflows.md)."""
    scope = {k: stack[k] for k in ("project_id", "environment_id", "service_id")}
    inputs = {
        **scope,
        "provider": "github",
        "repository": "mayassistant/maya",
        "branch": "main",
        "check_suites": True,
        "root_directory": None,
        "auto_deploy": False,
    }
    provider = make(p.DeploymentTriggerProvider)
    created = provider.create(inputs)
    instance = fake.state.instances[(stack["service_id"], stack["environment_id"])]
    assert instance["_autoDeploy"] is False
    assert fake.simulate_push("mayassistant/maya", "main", "a" * 40, ["backend/app.py"]) == []
    state = {**inputs, **created.outs}
    assert provider.read(created.id, state).outs["auto_deploy"] is False

    instance["_autoDeploy"] = True  # someone turned them on in the dashboard: refresh sees it, up reverts it
    drifted = provider.read(created.id, state).outs
    assert drifted["auto_deploy"] is True and provider.diff(created.id, drifted, inputs).changes
    fake.reset_counters()
    provider.update(created.id, drifted, inputs)
    assert instance["_autoDeploy"] is False
    assert [r.operation_name for r in fake.requests] == ["ServiceInstanceAutoDeployUpdate"]  # the trigger untouched


def test_project_token_is_created_once_and_listed(make: Make, stack: dict[str, Any], fake: FakeRailway) -> None:
    scope = {"project_id": stack["project_id"], "environment_id": stack["environment_id"]}
    provider = make(p.ProjectTokenProvider)
    created = provider.create({**scope, "name": "maya-infra-staging-ci-deploy"})
    assert fake.project_token_value(created.id) == created.outs["token"]
    assert provider.diff(created.id, created.outs, {**scope, "name": "other"}).replaces == ["name"]
    assert provider.read(created.id, created.outs).outs["token"] == created.outs["token"]
    provider.delete(created.id, created.outs)
    assert provider.read(created.id, created.outs).id == ""


def test_postgres_from_template_and_adopted_on_retry(make: Make, stack: dict[str, Any], fake: FakeRailway) -> None:
    scope = {
        "project_id": stack["project_id"],
        "environment_id": stack["environment_id"],
        "workflow_poll_seconds": 0.01,
    }
    provider = make(p.PostgresProvider)
    created = provider.create(scope)
    assert created.outs["database_url_reference"] == "${{Postgres.DATABASE_URL}}"
    assert created.outs["volume_id"]
    again = provider.create(scope)  # e.g. the first up died after the template ran
    assert again.id == created.id and fake.count("TemplateDeployV2") == 1
    provider.delete(created.id, created.outs)
    assert created.outs["volume_id"] not in fake.state.volumes


def test_a_failed_template_fails_the_create_and_the_next_up_makes_exactly_one(
    make: Make, stack: dict[str, Any], fake: FakeRailway
) -> None:
    scope = {
        "project_id": stack["project_id"],
        "environment_id": stack["environment_id"],
        "workflow_poll_seconds": 0.01,
    }
    provider = make(p.PostgresProvider)
    fake.fail_next_template("volume quota exceeded")
    with pytest.raises(errors.RailwayError, match="PostgreSQL template failed: volume quota exceeded"):
        provider.create(scope)
    created = provider.create(scope)  # the next up
    assert fake.count("TemplateDeployV2") == 2 and created.outs["volume_instance_id"]
    fake.finish_workflows()
    assert [s["name"] for s in fake.state.services.values() if s["name"].startswith("Postgres")] == ["Postgres"]


def test_a_template_that_failed_half_way_is_never_adopted_as_a_database(
    make: Make, stack: dict[str, Any], fake: FakeRailway
) -> None:
    """A failed template can leave its service without the volume: a database that loses everything at its
    next restart. The next up refuses it, naming it and the fix, and sends nothing."""
    scope = {
        "project_id": stack["project_id"],
        "environment_id": stack["environment_id"],
        "workflow_poll_seconds": 0.01,
    }
    provider = make(p.PostgresProvider)
    fake.fail_next_template("volume quota exceeded", partial=True)
    with pytest.raises(errors.RailwayError, match="template failed"):
        provider.create(scope)
    fake.reset_counters()
    with pytest.raises(errors.RailwayError, match=r"'Postgres' has no volume.*delete it in Railway") as refused:
        provider.create(scope)
    assert "Traceback" not in str(refused.value) and fake.count(mutations_only=True) == 0


def _deploy_inputs(stack: dict[str, Any], revision: str = "r1") -> dict[str, Any]:
    return {
        "project_id": stack["project_id"],
        "environment_id": stack["environment_id"],
        "service_id": stack["service_id"],
        "revision": revision,
        "timeout_seconds": 10,
        "poll_seconds": 0.01,
    }


def test_deployment_deploys_once_per_revision_and_waits(make: Make, stack: dict[str, Any], fake: FakeRailway) -> None:
    provider = make(p.DeploymentProvider)
    created = provider.create(_deploy_inputs(stack))
    assert created.outs["status"] == "SUCCESS"
    assert provider.diff(created.id, created.outs, _deploy_inputs(stack)).changes is False
    changed = _deploy_inputs(stack, "r2")
    assert provider.diff(created.id, created.outs, changed).changes is True
    updated = provider.update(created.id, created.outs, changed)
    assert updated.outs["deployment_id"] != created.outs["deployment_id"]
    assert fake.count("ServiceInstanceDeployV2") == 2
    same_revision = {**_deploy_inputs(stack, "r2"), "timeout_seconds": 20}
    provider.update(created.id, updated.outs, same_revision)
    assert fake.count("ServiceInstanceDeployV2") == 2  # a wait setting alone deploys nothing


@pytest.mark.parametrize("status", ["FAILED", "CRASHED"])
def test_failed_deployment_is_named_in_the_error(
    make: Make, stack: dict[str, Any], fake: FakeRailway, status: str
) -> None:
    fake.fail_next_deploy(status)
    with pytest.raises(errors.DeploymentFailedError) as exc:
        make(p.DeploymentProvider).create(_deploy_inputs(stack))
    (deployment_id,) = fake.state.deployments
    line = str(exc.value)
    assert deployment_id in line and status in line and "\n" not in line
    assert "stack staging, service backend" in line
    assert f"railway logs --deployment {deployment_id}" in line and "python -m ops status --stack staging" in line


def test_deployment_wait_is_bounded(make: Make, stack: dict[str, Any], fake: FakeRailway) -> None:
    with FakeRailway(token="fake-railway-token", deploy_polls_to_finish=10_000) as slow:
        client = RailwayClient(
            "fake-railway-token",
            type(make(p.ProjectProvider).client.settings)(endpoint=slow.url, requests_per_second=1000),
        )
        provider = p.DeploymentProvider()
        provider.use_client(client)
        project = p.ProjectProvider()
        project.use_client(client)
        made = project.create({"name": "x", "default_environment_name": "staging"})
        service = p.ServiceProvider()
        service.use_client(client)
        svc = service.create({"project_id": made.id, "name": "backend"})
        inputs = {
            "project_id": made.id,
            "environment_id": made.outs["default_environment_id"],
            "service_id": svc.id,
            "revision": "r",
            "timeout_seconds": 0.3,
            "poll_seconds": 0.05,
        }
        with pytest.raises(errors.DeploymentFailedError, match="deployTimeoutSeconds"):
            provider.create(inputs)


def test_refresh_of_a_crashed_service_leads_to_a_redeploy(make: Make, stack: dict[str, Any], fake: FakeRailway) -> None:
    provider = make(p.DeploymentProvider)
    created = provider.create(_deploy_inputs(stack))
    fake.state.deployments[created.outs["deployment_id"]]["status"] = "CRASHED"
    read = provider.read(created.id, created.outs)
    assert read.outs["status"] == "CRASHED"
    assert provider.diff(created.id, read.outs, _deploy_inputs(stack)).changes is True


# ---- drift ----------------------------------------------------------------------------------------------
def test_drift_changed_and_deleted_behind_our_back(make: Make, stack: dict[str, Any], fake: FakeRailway) -> None:
    scope = {k: stack[k] for k in ("project_id", "environment_id", "service_id")}
    settings = make(p.ServiceInstanceProvider)
    inst_inputs = {"service_id": stack["service_id"], "environment_id": stack["environment_id"], **SETTINGS}
    inst = settings.create(inst_inputs)
    variables = make(p.VariablesProvider)
    var_inputs = {**scope, "variables": {"A": "1", "B": "2"}}
    var = variables.create(var_inputs)

    fake.update_instance_behind(stack["service_id"], stack["environment_id"], healthcheckPath="/broken")
    fake.set_variable_behind(stack["project_id"], stack["environment_id"], stack["service_id"], "B", None)
    fake.set_variable_behind(stack["project_id"], stack["environment_id"], stack["service_id"], "EXTRA", "x")
    fake.reset_counters()

    inst_read = settings.read(inst.id, inst.outs)
    var_read = variables.read(var.id, var.outs)
    assert fake.count() == 2  # one read per resource
    assert inst_read.outs["healthcheck_path"] == "/broken" and inst_read.inputs["healthcheck_path"] == "/broken"
    assert var_read.outs["variables"] == {"A": "1"}, "a name nobody declared never enters the state"

    assert settings.diff(inst.id, inst_read.outs, inst_inputs).changes is True
    fixed = settings.update(inst.id, inst_read.outs, inst_inputs)
    assert fixed.outs["revision"] != inst.outs["revision"]  # a restore is a write: it leads to a deploy
    variables.update(var.id, var_read.outs, var_inputs)
    assert fake.state.instances[(stack["service_id"], stack["environment_id"])]["healthcheckPath"] == "/api/health"
    remote = fake.state.variables[(stack["project_id"], stack["environment_id"], stack["service_id"])]
    assert {k: v for k, v in remote.items() if not k.startswith("RAILWAY_")} == {"A": "1", "B": "2", "EXTRA": "x"}


@pytest.mark.parametrize(
    ("kind", "cls", "make_inputs"),
    [
        ("project", p.ProjectProvider, lambda s: {"name": "gone", "default_environment_name": "x"}),
        ("service", p.ServiceProvider, lambda s: {"project_id": s["project_id"], "name": "gone"}),
        ("environment", p.EnvironmentProvider, lambda s: {"project_id": s["project_id"], "name": "gone"}),
        (
            "custom_domain",
            p.CustomDomainProvider,
            lambda s: {
                **{k: s[k] for k in ("project_id", "environment_id", "service_id")},
                "domain": "api.gone.example.com",
                "target_port": 8000,
            },
        ),
        (
            "domain",
            p.ServiceDomainProvider,
            lambda s: {**{k: s[k] for k in ("project_id", "environment_id", "service_id")}, "target_port": 8000},
        ),
        (
            "trigger",
            p.DeploymentTriggerProvider,
            lambda s: {
                **{k: s[k] for k in ("project_id", "environment_id", "service_id")},
                "provider": "github",
                "repository": "o/r",
                "branch": "main",
                "check_suites": True,
            },
        ),
    ],
)
def test_deleted_behind_our_back_is_dropped_from_state(
    make: Make,
    stack: dict[str, Any],
    fake: FakeRailway,
    kind: str,
    cls: type[p.RailwayProvider],
    make_inputs: Callable[[dict[str, Any]], dict[str, Any]],
) -> None:
    """Railway soft-deletes: the object leaves every list but stays readable by id with ``deletedAt`` set (for
    48 h) — a refresh must read that as gone, not as the object."""
    provider = make(cls)
    created = provider.create(make_inputs(stack))
    fake.delete_behind(kind, created.id)
    gone = provider.read(created.id, created.outs)
    assert gone.id == "" and gone.outs == {}
    provider.delete(created.id, created.outs)  # and deleting it again is fine
    fake.advance(fake.soft_delete_seconds)  # purged: read by id answers "not found", still gone
    assert provider.read(created.id, created.outs).id == ""


# ---- faults ---------------------------------------------------------------------------------------------
def test_the_hourly_limit_reached_in_the_middle_of_a_create_is_waited_out_once(
    make: Make, stack: dict[str, Any], fake: FakeRailway, sleeps: Any
) -> None:
    """Railway's limit is on in every provider test (the fake's default: 1,000 requests an hour per token).
    Here its window is shrunk to be reachable: the create's mutation is refused with 429, the client waits
    what Retry-After says (on the fake's clock: no real wait) and sends it again — one service."""
    left = fake.requests_left()
    assert fake.request_budget == 1000 and left is not None and left < 1000
    fake.budget_window_seconds = 120
    fake.request_budget = (1000 - left) + 1  # what the fixture spent, and one more: the look, not the create
    created = make(p.ServiceProvider).create({"project_id": stack["project_id"], "name": "worker"})
    assert fake.refused_over_budget >= 1 and fake.count("ServiceCreate") == 2 + fake.refused_over_budget
    assert sleeps.waits and sum(sleeps.waits) >= 100, "Railway's Retry-After was waited, in full"
    workers = [s for s in fake.state.services.values() if s["name"] == "worker"]
    assert [s["id"] for s in workers] == [created.id]


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "http", "status": 429, "retry_after": 1},
        {"kind": "http", "status": 503},
        {"kind": "cloudflare_1015"},
        {"kind": "drop"},
        {"kind": "drop_after"},
        {"kind": "slow", "delay": 0.2},
    ],
)
@pytest.mark.parametrize(
    "operation",
    [
        "ServiceCreate",
        "ServiceDomainCreate",
        "DeploymentTriggerCreate",
        "ProjectTokenCreate",
        "VariableCollectionUpsert",
        "ServiceInstanceDeployV2",
    ],
)
def test_every_fault_during_create_converges_without_duplicates(
    make: Make, stack: dict[str, Any], fake: FakeRailway, fault: dict[str, Any], operation: str
) -> None:
    scope = {k: stack[k] for k in ("project_id", "environment_id", "service_id")}
    cases: dict[str, tuple[type[p.RailwayProvider], dict[str, Any]]] = {
        "ServiceCreate": (p.ServiceProvider, {"project_id": stack["project_id"], "name": "api"}),
        "ServiceDomainCreate": (p.ServiceDomainProvider, {**scope, "target_port": 8000}),
        "DeploymentTriggerCreate": (
            p.DeploymentTriggerProvider,
            {**scope, "provider": "github", "repository": "o/r", "branch": "main"},
        ),
        "ProjectTokenCreate": (
            p.ProjectTokenProvider,
            {"project_id": stack["project_id"], "environment_id": stack["environment_id"], "name": "ci"},
        ),
        "VariableCollectionUpsert": (p.VariablesProvider, {**scope, "variables": {"A": "1"}}),
        "ServiceInstanceDeployV2": (p.DeploymentProvider, _deploy_inputs(stack)),
    }
    cls, inputs = cases[operation]
    options = dict(fault)
    fake.inject(options.pop("kind"), match=operation, **options)
    created = make(cls).create(inputs)
    assert created.id
    state = fake.state
    counts = {
        "ServiceCreate": lambda: sum(1 for s in state.services.values() if s["name"] == "api"),
        "ServiceDomainCreate": lambda: len(state.service_domains),
        "DeploymentTriggerCreate": lambda: len(state.triggers),
        "ProjectTokenCreate": lambda: len(state.project_tokens),
        "VariableCollectionUpsert": lambda: 1,
        "ServiceInstanceDeployV2": lambda: len(state.deployments),
    }
    assert counts[operation]() == 1, f"{operation} was duplicated"
    if operation == "ProjectTokenCreate":
        assert fake.project_token_value(created.id) == created.outs["token"]


def test_failure_in_the_middle_of_a_create_then_retry_converges(
    make: Make, stack: dict[str, Any], fake: FakeRailway
) -> None:
    """The PostgreSQL create dies after the template ran (its workflow poll fails hard); a retry adopts."""
    scope = {
        "project_id": stack["project_id"],
        "environment_id": stack["environment_id"],
        "workflow_poll_seconds": 0.01,
    }
    fake.inject(
        "graphql_error", match="WorkflowStatus", message="Workflow failed", extensions={"code": "BAD_USER_INPUT"}
    )
    with pytest.raises(errors.RailwayError):
        make(p.PostgresProvider).create(scope)
    retried = make(p.PostgresProvider).create(scope)
    assert retried.outs["database_url_reference"] == "${{Postgres.DATABASE_URL}}"
    assert sum(1 for s in fake.state.services.values() if s["name"] == "Postgres") == 1


def test_graphql_error_on_an_update_fails_cleanly_and_loses_nothing(
    make: Make, stack: dict[str, Any], fake: FakeRailway
) -> None:
    scope = {k: stack[k] for k in ("project_id", "environment_id", "service_id")}
    provider = make(p.VariablesProvider)
    created = provider.create({**scope, "variables": {"A": "1"}})
    fake.inject(
        "graphql_error",
        match="VariableCollectionUpsert",
        message="Invalid value",
        extensions={"code": "BAD_USER_INPUT"},
    )
    with pytest.raises(errors.InvalidInputError):
        provider.update(created.id, created.outs, {**scope, "variables": {"A": "2"}})
    assert fake.state.variables[(stack["project_id"], stack["environment_id"], stack["service_id"])]["A"] == "1"
    provider.update(created.id, created.outs, {**scope, "variables": {"A": "2"}})  # the next up converges


def test_railways_generic_error_on_an_idempotent_write_is_retried(
    make: Make, stack: dict[str, Any], fake: FakeRailway
) -> None:
    scope = {k: stack[k] for k in ("project_id", "environment_id", "service_id")}
    provider = make(p.VariablesProvider)
    created = provider.create({**scope, "variables": {"A": "1"}})
    fake.inject("graphql_error", match="VariableCollectionUpsert", message="Problem processing request")
    provider.update(created.id, created.outs, {**scope, "variables": {"A": "2"}})
    assert fake.state.variables[(stack["project_id"], stack["environment_id"], stack["service_id"])]["A"] == "2"


# ---- secrecy and pickling ------------------------------------------------------------------------------
def test_no_token_or_secret_value_in_logs_or_errors(
    make: Make,
    stack: dict[str, Any],
    fake: FakeRailway,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "sk-live-very-secret-value-42"
    scope = {k: stack[k] for k in ("project_id", "environment_id", "service_id")}
    fake.inject("http", status=503, match="VariableCollectionUpsert")
    fake.inject(
        "graphql_error",
        match="VariableCollectionUpsert",
        message=f"value {secret} rejected",
        extensions={"code": "BAD_USER_INPUT"},
    )
    with pytest.raises(errors.RailwayError) as exc:
        make(p.VariablesProvider).create({**scope, "variables": {"STRIPE_API_KEY": secret}})
    out = capsys.readouterr()
    for text in (str(exc.value), caplog.text, out.out, out.err):
        assert secret not in text and "fake-railway-token" not in text


def test_no_value_or_token_in_logs_or_output_when_writes_succeed(
    make: Make,
    stack: dict[str, Any],
    fake: FakeRailway,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The succeeding path too (create, a retried update, refresh, a token made): nothing logs a value."""
    caplog.set_level(logging.DEBUG)
    first, second = "sk-live-written-fine-value-77", "sk-live-rotated-value-78"
    scope = {k: stack[k] for k in ("project_id", "environment_id", "service_id")}
    variables = make(p.VariablesProvider)
    created = variables.create({**scope, "variables": {"STRIPE_API_KEY": first}})
    fake.inject("http", status=503, match="VariableCollectionUpsert")  # retried, then written: logged as a retry
    updated = variables.update(created.id, created.outs, {**scope, "variables": {"STRIPE_API_KEY": second}})
    variables.read(created.id, updated.outs)
    token = make(p.ProjectTokenProvider).create(
        {**{k: scope[k] for k in ("project_id", "environment_id")}, "name": "ci"}
    )
    out = capsys.readouterr()
    assert "VariableCollectionUpsert: retry 1/" in caplog.text, "the logs were captured (the test can see them)"
    for text in (caplog.text, out.out, out.err):
        for value in (first, second, token.outs["token"], "fake-railway-token"):
            assert value not in text


def test_providers_pickle_by_reference_without_client_or_lock(make: Make) -> None:
    for cls in (
        p.ProjectProvider,
        p.EnvironmentProvider,
        p.ServiceProvider,
        p.ServiceInstanceProvider,
        p.VariablesProvider,
        p.ServiceDomainProvider,
        p.CustomDomainProvider,
        p.DeploymentTriggerProvider,
        p.ProjectTokenProvider,
        p.PostgresProvider,
        p.DeploymentProvider,
    ):
        configured = make(cls)  # has a live client
        blob = dill.dumps(configured, protocol=pickle.DEFAULT_PROTOCOL, recurse=True)
        assert b"components.railway.provider" in blob
        assert b"fake-railway-token" not in blob and b"httpx" not in blob and b"lock" not in blob.lower()
        restored = dill.loads(blob)  # noqa: S301 - our own bytes
        assert type(restored) is cls and restored._client is None


def test_configure_reads_token_and_api_url_from_stack_config(fake: FakeRailway) -> None:
    provider = p.ProjectProvider()
    raw = {
        "maya-infra:railwayToken": "fake-railway-token",
        "maya-infra:railway": f'{{"apiUrl": "{fake.url}", "requestsPerSecond": 50}}',
    }
    provider.configure(ConfigureRequest(Config(raw, "maya-infra")))
    created = provider.create({"name": "configured", "default_environment_name": "staging"})
    assert created.id in fake.state.projects
    assert provider.client.settings.endpoint == fake.url


def test_unconfigured_provider_says_what_is_missing() -> None:
    with pytest.raises(errors.NotAuthorizedError, match="not configured"):
        p.ProjectProvider().create({"name": "x"})


def test_our_errors_reach_the_user_as_one_line_not_a_traceback() -> None:
    """Inside Pulumi's dynamic-provider server every exception becomes ``traceback.format_exc()``."""
    import traceback
    import types

    from components.railway.providers.base import one_line_errors_in_provider_server

    server = types.SimpleNamespace(_abort_with_traceback=lambda fn: fn, traceback=traceback)
    assert one_line_errors_in_provider_server(server) is True
    try:
        raise errors.DeploymentFailedError("Deployment", "stack staging, service backend: deployment d1 FAILED")
    except errors.RailwayError:
        text = server.traceback.format_exc()
    assert text == "Railway Deployment: stack staging, service backend: deployment d1 FAILED"
    try:
        raise KeyError("a bug")
    except KeyError:
        assert "Traceback (most recent call last)" in server.traceback.format_exc()
    assert one_line_errors_in_provider_server(types.SimpleNamespace()) is False


# ---- origin: what the stack created, and what it only adopted ------------------------------------------------
MARKED = "MAYA/OMEGA backend (staging), managed by maya-infra (stack staging)"


def test_a_project_found_with_our_marker_is_ours_and_without_it_is_adopted(make: Make, fake: FakeRailway) -> None:
    human = fake.dashboard()  # made before: by an interrupted run of ours, and by hand
    human.execute(gql.PROJECT_CREATE, {"input": {"name": "ours", "description": MARKED}})
    human.execute(gql.PROJECT_CREATE, {"input": {"name": "maya", "description": "the running MAYA"}})
    ours = make(p.ProjectProvider).create({"name": "ours", "description": MARKED, "default_environment_name": "x"})
    theirs = make(p.ProjectProvider).create({"name": "maya", "description": MARKED, "default_environment_name": "x"})
    assert (ours.outs["origin"], theirs.outs["origin"]) == ("created", "adopted")
    assert len(fake.state.projects) == 2, "both were adopted by name, none created"

    make(p.ProjectProvider).delete(theirs.id, theirs.outs)
    assert theirs.id in fake.state.projects, "the stack never deletes what it did not create"
    make(p.ProjectProvider).delete(ours.id, ours.outs)
    assert ours.id not in fake.state.projects


def test_children_found_before_any_create_are_adopted_and_kept(
    make: Make, stack: dict[str, Any], fake: FakeRailway
) -> None:
    existing = fake.dashboard().execute(
        gql.SERVICE_CREATE, {"input": {"projectId": stack["project_id"], "name": "worker"}}
    )
    service = make(p.ServiceProvider).create({"project_id": stack["project_id"], "name": "worker"})
    assert service.id == existing["serviceCreate"]["id"] and service.outs["origin"] == "adopted"
    make(p.ServiceProvider).delete(service.id, service.outs)
    assert service.id in fake.state.services
    made = make(p.ServiceProvider).create({"project_id": stack["project_id"], "name": "fresh"})
    assert made.outs["origin"] == "created"
    make(p.ServiceProvider).delete(made.id, made.outs)
    assert made.id not in fake.state.services


def test_postgres_is_placed_in_the_requested_region_and_never_moved_implicitly(
    make: Make, stack: dict[str, Any], fake: FakeRailway
) -> None:
    inputs = {
        "project_id": stack["project_id"],
        "environment_id": stack["environment_id"],
        "service_name": "Postgres",
        "region": "us-east4-eqdc4a",
        "workflow_timeout_seconds": 30,
        "workflow_poll_seconds": 0.05,
    }
    created = make(p.PostgresProvider).create(inputs)
    volume = fake.state.volume_instances[created.outs["volume_instance_id"]]
    assert volume["region"] == "us-east4-eqdc4a"
    read = make(p.PostgresProvider).read(created.id, created.outs)
    assert read.outs["region"] == "us-east4-eqdc4a"
    assert make(p.PostgresProvider).diff(created.id, read.outs, inputs).changes is False

    volume["region"] = "europe-west4-drams3a"  # moved in the dashboard: drift
    drifted = make(p.PostgresProvider).read(created.id, created.outs)
    assert make(p.PostgresProvider).diff(created.id, drifted.outs, inputs).changes is True
    with pytest.raises(
        errors.InvalidInputError, match=r"europe-west4-drams3a.*us-east4-eqdc4a.*not done by `pulumi up`"
    ):
        make(p.PostgresProvider).update(created.id, drifted.outs, inputs)


def test_deployment_refresh_reads_the_active_deployment_not_the_newest(
    make: Make, stack: dict[str, Any], fake: FakeRailway
) -> None:
    provider = make(p.DeploymentProvider)
    created = provider.create(_deploy_inputs(stack))
    fake.fail_next_deploy("FAILED")
    fake.dashboard().execute(  # CI deploys too
        gql.SERVICE_INSTANCE_DEPLOY, {"serviceId": stack["service_id"], "environmentId": stack["environment_id"]}
    )
    fake.advance_deployments()  # a newer attempt failed; the old one still serves
    read = provider.read(created.id, created.outs)
    assert read.outs["deployment_id"] == created.outs["deployment_id"] and read.outs["status"] == "SUCCESS"
