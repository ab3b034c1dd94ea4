"""Taking over the running MAYA on the real engine: the fake Railway seeded with a hand-made "MAYA as it runs
today" — under the names someone typed in the dashboard, with variables set by hand, automatic deploys on —
then `python -m ops adopt --yes`, then `pulumi preview` and `up`.

* The adoption table is a promise, checked as a property over every row of both stacks: an object it calls
  "matches" gets no step in the next preview, one that "differs" gets exactly an in-place update (a name
  that differs is kept: `--yes` recorded it), one that is "missing" is created; nothing else changes.
* Variables nobody declared survive every code change (a variable dropped, renamed, moved to the shared
  variables and back, a setting changed): after each `up` each is still there with its value, no object
  was renamed, and dropping one variable is one `variableDelete` and no other variable write.
* Adopted stays adopted: with the state lost and rebuilt by a plain `up`, nothing adopted becomes ours to
  delete, and a deliberate destroy leaves every adopted object and the data on Railway.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi.runtime import rpc

import config
from components.railway.client import ClientSettings, RailwayClient
from ops import adopt
from ops.adopt_railway import declared_values
from tests.components.program import run_program
from tests.engine.harness import REPO, EngineStack, _merge, engine_bin, local_overrides, make_stack
from tests.fakes.railway_api import FakeRailway
from tests.fakes.running_maya import MARKER, UNDECLARED, RunningMaya, seed
from tests.secrets import TEST_GITHUB_TOKEN, TEST_SECRETS

pytestmark = [pytest.mark.engine, pytest.mark.timeout(1500)]
RAILWAY_TOKEN = TEST_SECRETS["maya-infra:railwayToken"]
#: How the running production was named in the dashboard (the issue's "MAYA" and Railway's default "maya").
DASHBOARD_NAMES = {"project": "MAYA", "service": "maya"}


def _unwrap(value: Any) -> Any:
    if isinstance(value, dict) and rpc.is_rpc_secret(value):
        return _unwrap(value["value"])
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    return value


def declared_variables(stack: str, overrides: Mapping[str, Any]) -> dict[str, str]:
    """The backend variables the program declares for this stack (what the running MAYA already has)."""
    raw, _ = config.read_stack_file(stack)
    merged = {k: _merge(raw.get(k), v) for k, v in overrides.items()}
    mocks = run_program(stack, merged).mocks
    variables = mocks.one("pulumi-python:dynamic/railway:Variables").inputs["variables"]
    return {k: v for k, v in _unwrap(variables).items() if k != "DATABASE_URL"}


def ops_adopt(stack: EngineStack, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        **stack.env,
        "RAILWAY_API_TOKEN": RAILWAY_TOKEN,
        "GITHUB_TOKEN": TEST_GITHUB_TOKEN,
    }
    return subprocess.run(
        [sys.executable, "-m", "ops", "adopt", "--stack", stack.name, "--project-dir", str(stack.project_dir), *args],
        cwd=REPO,
        env=env,
        text=True,
        capture_output=True,
        timeout=900,
        check=False,
    )


def preview_steps(stack: EngineStack) -> dict[str, str]:
    """Railway resource name -> the preview's operation on it (``same`` when nothing changes)."""
    result = stack.cli("preview", "--json", "--non-interactive", "--show-sames")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    steps = json.loads(result.stdout).get("steps") or []
    return {s["urn"].rsplit("::", 1)[-1]: s["op"] for s in steps if "dynamic/railway:" in s["urn"]}


@dataclass
class Adopted:
    stack: EngineStack
    fake: FakeRailway
    running: RunningMaya
    table: adopt.Discovery
    output: str
    requests: int


def _secrets() -> dict[str, str]:
    return {k.split(":", 1)[1]: v for k, v in TEST_SECRETS.items()}


def _adopt(tmp_path: Path, name: str, fake: FakeRailway) -> Adopted:
    overrides = local_overrides(fake.url, ["railway"])
    stack = make_stack(tmp_path, name, overrides, bin_dir=engine_bin())
    cfg = config.load_from_stack_file(name, stack.project_dir)
    production = name == "production"
    running = seed(
        fake,
        cfg,
        declared_variables(name, overrides),
        # production runs with a health-check timeout nobody wrote down, and its own alert rule
        settings={"healthcheckTimeout": 120} if production else None,
        names=DASHBOARD_NAMES if production else None,
        alert_emails=cfg.monitoring.alert_emails if production and cfg.monitoring else None,
    )
    table = adopt.Discovery(name)
    with RailwayClient(RAILWAY_TOKEN, ClientSettings(endpoint=fake.url, requests_per_second=500)) as client:
        adopt.discover_railway(client, cfg, {}, table, declared_values(cfg, _secrets()))
    fake.reset_counters()
    result = ops_adopt(stack, "--yes")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert fake.count(mutations_only=True) == 0, "adoption must not write to Railway"
    requests = fake.count()
    fake.reset_counters()
    return Adopted(stack, fake, running, table, result.stdout, requests)


@pytest.fixture(params=["staging", "production"])
def adopted(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Adopted]:
    with FakeRailway(token=RAILWAY_TOKEN, deploy_polls_to_finish=1) as fake:
        yield _adopt(tmp_path, request.param, fake)


def _resource(row: adopt.Row, table: adopt.Discovery) -> str | None:
    """The Pulumi name of a table row's resource (found rows: the recording run targeted it)."""
    index = [r for r in table.rows if r.platform == "railway" and r.id != "-" and r.verdict != adopt.EXTRA]
    if row in index:
        return table.railway_found[index.index(row)][1]
    return None


def test_the_adoption_table_is_a_promise(adopted: Adopted) -> None:
    stack, fake, running, table = adopted.stack, adopted.fake, adopted.running, adopted.table
    assert not any(value in adopted.output for value in UNDECLARED.values()), "variable values are never printed"
    for name in UNDECLARED:
        assert name in adopted.output
    written = yaml.safe_load((stack.project_dir / f"Pulumi.{stack.name}.yaml").read_text())["config"]
    assert written["maya-infra:adopt"]["railway"]["project"] == running.project_id
    if stack.name == "production":  # the names it runs under are kept: recorded, never renamed
        assert written["maya-infra:backend"]["projectName"] == "MAYA"
        assert written["maya-infra:backend"]["serviceName"] == "maya"

    steps = preview_steps(stack)
    found = {_resource(r, table): r for r in table.rows if _resource(r, table)}
    for resource, row in found.items():
        names_only = row.detail and all(part.startswith("name: ") for part in row.detail.split("; "))
        expected = "same" if row.verdict == adopt.MATCHES or names_only else "update"
        assert steps.get(resource) == expected, (resource, row, steps.get(resource))
    missing = {r.kind for r in table.rows if r.verdict == adopt.MISSING and r.platform == "railway"}
    created = {n for n, op in steps.items() if op == "create"}
    changed = {n for n, op in steps.items() if op not in ("same", "create")}
    assert changed == {n for n, r in found.items() if steps.get(n) == "update"}, "no step the table did not show"
    assert not {op for op in steps.values()} & {"delete", "replace", "create-replacement", "delete-replaced"}
    assert len(created) == len([r for r in table.rows if r.verdict == adopt.MISSING and r.platform == "railway"])
    assert "projectToken" in missing and "backend-ci-token" in created
    kinds = {r.kind for r in table.rows if r.verdict in (adopt.MATCHES, adopt.DIFFERS)}
    if stack.name == "production":  # every adoptable kind appears in this table
        assert kinds >= {
            "project",
            "environment",
            "service",
            "serviceInstance",
            "variables",
            "postgres",
            "serviceDomain",
            "customDomain",
            "trigger",
            "backupSchedule",
            "deployment",
            "notificationRule",
            "prEnvironmentSettings",
        }
        assert steps["backend-settings"] == "update" and steps["backend-deployment"] == "update"
    assert steps["backend-trigger"] == "update"  # Railway's automatic deploys, read at adoption, turned off
    assert fake.count(mutations_only=True) == 0

    again = ops_adopt(stack, "--yes")  # safe to repeat: what the state holds is not recorded again
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert fake.count(mutations_only=True) == 0
    assert preview_steps(stack) == steps


def test_up_after_adoption_creates_and_deletes_nothing_and_keeps_the_data(adopted: Adopted) -> None:
    stack, fake, running = adopted.stack, adopted.fake, adopted.running
    stack.up()
    counts = fake.counts()
    creates = {op for op in counts if op.endswith("Create") or op == "TemplateDeployV2"}
    deletes = {op for op in counts if op.endswith("Delete")}
    # the CI token is new on both; staging gets its deploy alert, production's own alert rule runs already and
    # was adopted: a second one would mail every failure twice
    expected = {"ProjectTokenCreate"} | (set() if stack.name == "production" else {"NotificationRuleCreate"})
    assert creates == expected and deletes == set(), counts
    assert counts.get("ServiceInstanceDeployV2", 0) == 0  # the running commit is redeployed, never Railway's pick
    deploys = counts.get("ServiceInstanceDeployCommit", 0)
    assert deploys == (1 if stack.name == "production" else 0)  # only when a setting differs
    assert running.volume_id in fake.state.volumes and fake.state.volumes[running.volume_id]["_marker"] == MARKER
    outputs = stack.outputs()
    assert outputs["railway_project_id"] == running.project_id
    assert outputs["railway_volume_instance_id"] == running.volume_instance_id
    scope = (running.project_id, running.environment_id, running.service_id)
    assert set(UNDECLARED) <= set(fake.state.variables[scope]), "undeclared variables are kept"


# ---- code changes after adoption ----------------------------------------------------------------------------
#: Code changes as an engineer makes them: lines appended to the copy's config/envvars.py (the table).
DROP = 'TABLE = tuple(v for v in TABLE if v.name != "FRONTEND_URL")\n'
RENAME = (
    "import dataclasses as _dc\n"
    'TABLE = tuple(_dc.replace(v, name="APP_ENVIRONMENT") if v.name == "ENVIRONMENT" else v for v in TABLE)\n'
)
TO_SHARED = 'TABLE = tuple(_dc.replace(v, shared=True) if v.name == "PORT" else v for v in TABLE)\n'
BACK_TO_SERVICE = 'TABLE = tuple(_dc.replace(v, shared=False) if v.name == "PORT" else v for v in TABLE)\n'


def _variables(fake: FakeRailway, running: RunningMaya, service: bool = True) -> dict[str, str]:
    key = (running.project_id, running.environment_id, running.service_id if service else None)
    return dict(fake.state.variables.get(key, {}))


def _writes(fake: FakeRailway) -> list[tuple[str, str, Any]]:
    out: list[tuple[str, str, Any]] = []
    for r in fake.requests:
        if r.operation_name == "VariableCollectionUpsert":
            body = r.variables["input"]
            out.append(("upsert", "shared" if body.get("serviceId") is None else "service", sorted(body["variables"])))
        elif r.operation_name == "VariableDelete":
            body = r.variables["input"]
            out.append(("delete", "shared" if body.get("serviceId") is None else "service", body["name"]))
    return out


def test_hand_set_variables_survive_every_code_change_and_a_lost_state(tmp_path: Path) -> None:
    with FakeRailway(token=RAILWAY_TOKEN, deploy_polls_to_finish=1) as fake:
        state = _adopt(tmp_path, "production", fake)
        stack, running = state.stack, state.running
        measured = {"adopt requests": state.requests, "adopt objects": len(state.table.railway_found)}

        def up_and_check(step: str) -> list[tuple[str, str, Any]]:
            fake.reset_counters()
            stack.up()
            service = _variables(fake, running)
            assert {k: service.get(k) for k in UNDECLARED} == UNDECLARED, (step, service)
            assert fake.state.projects[running.project_id]["name"] == "MAYA", step
            assert fake.state.services[running.service_id]["name"] == "maya", step
            measured[f"{step}: requests"] = fake.count()
            measured[f"{step}: mutations"] = fake.count(mutations_only=True)
            return _writes(fake)

        first = up_and_check("first up after adoption")
        assert first == [], "the adopted values are the declared ones: nothing to write"
        envvars = stack.project_dir / "config" / "envvars.py"
        steps = [
            ("drop a variable", DROP, [("delete", "service", "FRONTEND_URL")]),
            (
                "rename one",
                RENAME,
                [("upsert", "service", ["APP_ENVIRONMENT"]), ("delete", "service", "ENVIRONMENT")],
            ),
            (
                "move one to the shared variables",
                TO_SHARED,
                [("upsert", "service", ["PORT"]), ("upsert", "shared", ["PORT"])],
            ),
            ("move it back", BACK_TO_SERVICE, [("upsert", "service", ["PORT"]), ("delete", "shared", "PORT")]),
        ]
        for step, code, writes in steps:
            envvars.write_text(envvars.read_text() + code)
            assert sorted(up_and_check(step)) == sorted(writes), step
        assert measured["drop a variable: mutations"] == 1, measured
        assert _variables(fake, running, service=False) == {}

        # a setting changes: written in place, nothing renamed, nothing else touched
        result = stack.cli("config", "set", "--path", "maya-infra:backend.replicas", "3")
        assert result.returncode == 0, result.stderr
        assert up_and_check("change a setting") == []
        regions = fake.state.instances[(running.service_id, running.environment_id)]["multiRegionConfig"]
        assert sum(r["numReplicas"] for r in regions.values()) == 3

        # the state is lost: a plain up rebuilds it from nothing, finding everything by its natural key
        exported = stack.export()
        before = _origins(exported)
        empty = tmp_path / "lost.json"
        exported["deployment"]["resources"] = []
        empty.write_text(json.dumps(exported))
        lost = stack.cli("stack", "import", "--file", str(empty), "--force")
        assert lost.returncode == 0, lost.stdout + lost.stderr
        up_and_check("up from a lost state")
        after = _origins(stack.export())
        adopted_before = {n for n, o in before.items() if o == "adopted"}
        assert adopted_before >= {"backend-project", "backend-postgres", "backend-variables", "backend-backups"}
        assert {n for n in adopted_before if after.get(n) != "adopted"} == set(), after

        stack.destroy_deliberately()
        assert running.project_id in fake.state.projects and running.service_id in fake.state.services
        assert running.postgres_id in fake.state.services and running.custom_domain_id in fake.state.custom_domains
        assert running.trigger_id in fake.state.triggers and running.service_domain_id in fake.state.service_domains
        assert fake.state.volumes[running.volume_id]["_marker"] == MARKER
        assert {k: _variables(fake, running).get(k) for k in UNDECLARED} == UNDECLARED
        print("measured:", json.dumps(measured, indent=1))


#: Kinds whose delete removes nothing on Railway (settings, a deploy, project flags): their origin protects nothing.
NOTHING_TO_DELETE = ("ServiceInstance", "Deployment", "PrEnvironmentSettings")


def _origins(exported: Mapping[str, Any]) -> dict[str, str]:
    """Railway resource name -> its recorded origin, for the kinds a delete would remove."""
    resources = (exported.get("deployment") or {}).get("resources") or []
    return {
        r["urn"].rsplit("::", 1)[-1]: (r.get("outputs") or {}).get("origin")
        for r in resources
        if "dynamic/railway:" in r.get("type", "") and not r["type"].endswith(NOTHING_TO_DELETE)
    }
