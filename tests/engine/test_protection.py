"""Production's data on the real engine: `destroy` is refused before anything is deleted, a replace of a
protected object is refused, the policy pack refuses a program that dropped `protect`, and renaming a
component with an alias deletes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from pulumi import automation as auto

from components.safety import GUARD_NAME
from tests.engine.harness import EngineStack, engine_bin, local_overrides, make_stack
from tests.fakes.railway_api import FakeRailway
from tests.policy.pack_stack import pack_stack, with_pack
from tests.secrets import TEST_SECRETS

pytestmark = [pytest.mark.engine, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def bin_dir() -> Path:
    return engine_bin()


@pytest.fixture
def fake() -> Iterator[FakeRailway]:
    with FakeRailway(token=TEST_SECRETS["maya-infra:railwayToken"], deploy_polls_to_finish=1) as api:
        yield api


def _production(tmp_path: Path, fake: FakeRailway, bin_dir: Path) -> EngineStack:
    stack = pack_stack(tmp_path, "production", local_overrides(fake.url, ["railway"]), bin_dir)
    up = with_pack(stack, "up", "--yes")
    assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
    fake.reset_counters()
    return stack


def _resource_count(stack: EngineStack) -> int:
    return len(stack.export()["deployment"]["resources"])


def test_destroy_of_production_is_refused_before_anything_is_deleted(
    tmp_path: Path, fake: FakeRailway, bin_dir: Path
) -> None:
    stack = _production(tmp_path, fake, bin_dir)
    before = _resource_count(stack)
    with pytest.raises(auto.CommandError) as refused:
        stack.destroy()
    message = str(refused.value)
    assert GUARD_NAME in message and "cannot be deleted" in message and "pulumi state unprotect" in message
    assert fake.count(mutations_only=True) == 0, "a refused destroy must not touch Railway"
    assert _resource_count(stack) == before


def test_replacing_a_protected_production_object_is_refused(tmp_path: Path, fake: FakeRailway, bin_dir: Path) -> None:
    """A change to a replace-only input of the project (its workspace) would make a new project: refused."""
    stack = _production(tmp_path, fake, bin_dir)
    moved = json.dumps({"apiUrl": fake.url, "workspaceId": "ws-other"})
    stack.stack.set_config("maya-infra:railway", auto.ConfigValue(moved))
    result = stack.cli("preview", "--non-interactive")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "unable to replace resource" in output and "backend-project" in output and "marked for protection" in output
    assert fake.count(mutations_only=True) == 0


def test_the_pack_refuses_a_production_program_that_dropped_protect(
    tmp_path: Path, fake: FakeRailway, bin_dir: Path
) -> None:
    """The engine lets a program drop `protect` and replace in one update: the mandatory rule refuses that."""
    stack = pack_stack(tmp_path, "production", local_overrides(fake.url, ["railway"]), bin_dir)
    safety = stack.project_dir / "components" / "safety.py"
    text = safety.read_text()
    sabotaged = text.replace("protect=cfg.is_production, retain_on_delete", "protect=False, retain_on_delete")
    assert sabotaged != text
    safety.write_text(sabotaged)
    result = with_pack(stack, "preview")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "[mandatory]  production-data-never-deleted-or-replaced" in output
    assert "backend-postgres is the PostgreSQL service and its volume" in output and "pulumi state unprotect" in output
    assert fake.count(mutations_only=True) == 0


def test_renaming_the_backend_component_with_an_alias_deletes_nothing(
    tmp_path: Path, fake: FakeRailway, bin_dir: Path
) -> None:
    stack = make_stack(tmp_path, "production", local_overrides(fake.url, ["railway"]), bin_dir=bin_dir)
    stack.up()
    program = stack.project_dir / "program.py"
    text = program.read_text()
    renamed = text.replace(
        'RailwayBackend(\n        "backend",\n        RailwayBackendArgs(',
        'RailwayBackend(\n        "api",\n'
        '        opts=pulumi.ResourceOptions(aliases=[pulumi.Alias(name="backend")]),\n'
        "        args=RailwayBackendArgs(",
    )
    assert renamed != text
    program.write_text(renamed)
    fake.reset_counters()
    preview = stack.preview()
    changes = {k: v for k, v in preview.change_summary.items() if k != "same"}
    assert changes.get("create", 0) == 0 and changes.get("delete", 0) == 0 and changes.get("replace", 0) == 0, changes
    up = stack.up()
    assert up.summary.resource_changes.get("delete", 0) == 0 and up.summary.resource_changes.get("create", 0) == 0
    assert fake.count(mutations_only=True) == 0
    assert any("::api-postgres" in r["urn"] for r in stack.export()["deployment"]["resources"])
