"""Taking over the running MAYA on the real engine, both stacks: the fake Railway seeded with a hand-made
"MAYA as it runs today" → `python -m ops adopt --yes` → `pulumi preview` shows no create, delete or replace
of what runs → `up` sends no create or delete mutation (but the new CI token's) and deploys only when a
setting differs → the database volume and its data are untouched → `destroy` leaves the adopted objects."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from pulumi import automation as auto
from pulumi.runtime import rpc

import config
from tests.components.program import run_program
from tests.engine.harness import REPO, EngineStack, _merge, engine_bin, local_overrides, make_stack
from tests.fakes.railway_api import FakeRailway
from tests.fakes.running_maya import MARKER, UNDECLARED, RunningMaya, seed
from tests.secrets import TEST_GITHUB_TOKEN, TEST_SECRETS

pytestmark = [pytest.mark.engine, pytest.mark.timeout(1200)]
RAILWAY_TOKEN = TEST_SECRETS["maya-infra:railwayToken"]
#: The one object the running MAYA cannot give us: a CI token's value is shown once, so ours is new.
NEW_TOKEN = "backend-ci-token"
#: What the running MAYA never had, so the stack adds it (new objects beside what runs, never a copy of one):
#: the CI token (a token's value is shown once), Railway's deploy-failure mail (issue 13), and the
#: record of Railway's own PR environments kept off (a project setting; issue 15).
NEW_OBJECTS = {NEW_TOKEN, "backend-deploy-alert", "backend-pr-environments"}


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
    return dict(_unwrap(variables))


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


def preview_steps(stack: EngineStack) -> list[dict[str, Any]]:
    result = stack.cli("preview", "--json", "--non-interactive")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return list(json.loads(result.stdout).get("steps") or [])


@pytest.fixture(params=["staging", "production"])
def adopted(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[EngineStack, FakeRailway, RunningMaya]]:
    name = request.param
    with FakeRailway(token=RAILWAY_TOKEN, deploy_polls_to_finish=1) as fake:
        overrides = local_overrides(fake.url, ["railway"])
        stack = make_stack(tmp_path, name, overrides, bin_dir=engine_bin())
        cfg = config.load_from_stack_file(name, stack.project_dir)
        # production runs with a health-check timeout nobody wrote down: a real difference to report
        settings = {"healthcheckTimeout": 120} if name == "production" else None
        running = seed(fake, cfg, declared_variables(name, overrides), settings=settings)
        adopt = ops_adopt(stack, "--yes")
        assert adopt.returncode == 0, adopt.stdout[-4000:] + adopt.stderr[-4000:]
        assert fake.count(mutations_only=True) == 0, "adoption must not write to Railway"
        running.ids["adopt_output"] = adopt.stdout
        running.ids["adopt_requests"] = str(fake.count())
        fake.reset_counters()
        yield stack, fake, running


def test_adoption_reports_and_records_without_writing(adopted: tuple[EngineStack, FakeRailway, RunningMaya]) -> None:
    stack, fake, running = adopted
    table = running.ids["adopt_output"]
    for name in UNDECLARED:
        assert name in table and "kept, never deleted" in table
    assert not any(value in table for value in UNDECLARED.values()), "variable values are never printed"
    assert running.project_id in table and running.volume_id in table
    if stack.name == "production":
        assert "healthcheck_timeout: runs 120, config 300" in table
    written = (stack.project_dir / f"Pulumi.{stack.name}.yaml").read_text()
    assert f"project: {running.project_id}" in written and "removeUndeclaredVariables: false" in written

    steps = preview_steps(stack)
    # cloud objects only: components (the production destroy guard) hold nothing outside the state
    objects = [s for s in steps if not s["urn"].split("::")[-2].split("$")[-1].startswith("maya:")]
    ops_by_kind = {(s["op"], s["urn"].rsplit("::", 1)[-1]) for s in objects if s["op"] != "same"}
    assert {n for op, n in ops_by_kind if op == "create"} == NEW_OBJECTS
    assert not [n for op, n in ops_by_kind if op in ("delete", "replace", "create-replacement", "delete-replaced")]
    updates = {n for op, n in ops_by_kind if op == "update"}
    # each update is a "differs" row of the table: the hand-written project description everywhere, and in
    # production the health-check timeout, with the one deploy it needs
    assert "description: runs 'MAYA backend (set up by hand)'" in table
    if stack.name == "production":
        assert updates == {"backend-project", "backend-settings", "backend-deployment"}
    else:
        assert updates == {"backend-project"}
    assert fake.count(mutations_only=True) == 0

    again = ops_adopt(stack, "--yes")  # safe to repeat: what the state holds is not recorded again
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert fake.count(mutations_only=True) == 0
    assert {(s["op"], s["urn"]) for s in preview_steps(stack)} == {(s["op"], s["urn"]) for s in steps}


def test_up_after_adoption_creates_and_deletes_nothing_and_keeps_the_data(
    adopted: tuple[EngineStack, FakeRailway, RunningMaya],
) -> None:
    stack, fake, running = adopted
    stack.up()
    counts = fake.counts()
    creates = {op for op in counts if op.endswith("Create") or op == "TemplateDeployV2"}
    deletes = {op for op in counts if op.endswith("Delete")}
    assert creates == {"ProjectTokenCreate", "NotificationRuleCreate"} and deletes == set(), counts
    deploys = counts.get("ServiceInstanceDeployV2", 0)
    assert deploys == (1 if stack.name == "production" else 0)  # only when a setting differs
    assert running.volume_id in fake.state.volumes and fake.state.volumes[running.volume_id]["_marker"] == MARKER
    outputs = stack.outputs()
    assert outputs["railway_project_id"] == running.project_id
    assert outputs["railway_volume_instance_id"] == running.volume_instance_id
    scope = (running.project_id, running.environment_id, running.service_id)
    assert set(UNDECLARED) <= set(fake.state.variables[scope]), "undeclared variables are kept"

    fake.reset_counters()
    assert {k: v for k, v in stack.up().summary.resource_changes.items() if k != "same"} == {}
    assert fake.count(mutations_only=True) == 0

    if stack.name == "production":
        with pytest.raises(auto.CommandError) as refused:
            stack.destroy()
        assert "pulumi state unprotect" in str(refused.value)
    stack.destroy_deliberately()
    assert running.project_id in fake.state.projects and running.service_id in fake.state.services
    assert running.postgres_id in fake.state.services and running.custom_domain_id in fake.state.custom_domains
    assert running.trigger_id in fake.state.triggers and running.service_domain_id in fake.state.service_domains
    assert fake.state.volumes[running.volume_id]["_marker"] == MARKER
    assert set(UNDECLARED) <= set(fake.state.variables[scope])
