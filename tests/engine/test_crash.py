"""Crash recovery on the real engine: ``kill -9`` of ``pulumi up`` while a Railway create is in flight.

The fake holds the create's request (a slow commit) so that the kill lands while the engine waits for
it; the write is then committed on Railway's side after the CLI is gone — the worst case: the object
exists, the state only knows a pending create. Then the README's recovery ("Recovering from an
interrupted `pulumi up`") runs as a user would: ``pulumi cancel`` only if the stack is locked,
``pulumi refresh --clear-pending-creates`` (drops the killed run's pending creates from the state; the
objects themselves stay on Railway), then ``pulumi up``, which adopts them by their natural keys.

It must end with exactly one of every Railway object, no pending operation in the state, and
``pulumi destroy`` must leave the fake empty (the killed run's objects were adopted as ours).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.engine.harness import EngineStack, engine_bin, local_overrides, make_stack
from tests.fakes.railway_api import FakeRailway
from tests.secrets import TEST_SECRETS

pytestmark = [pytest.mark.engine, pytest.mark.timeout(900)]
RAILWAY_TOKEN = TEST_SECRETS["maya-infra:railwayToken"]
HOLD_SECONDS = 6.0

#: (stack, the create in flight when ``pulumi up`` is killed). Both stacks; every kind the issue names.
#: MAYA_CRASH_ALL=1 runs every kill point on both stacks.
_POINTS = [
    ("staging", "ProjectCreate"),
    ("production", "ServiceCreate"),
    ("staging", "TemplateDeployV2"),
    ("production", "ServiceDomainCreate"),
    ("staging", "DeploymentTriggerCreate"),
    ("production", "ProjectTokenCreate"),
    ("staging", "CustomDomainCreate"),
    ("production", "ServiceInstanceDeployV2"),
]
KILL_POINTS = (
    [(s, op) for s in ("staging", "production") for _, op in _POINTS] if os.environ.get("MAYA_CRASH_ALL") else _POINTS
)


@pytest.fixture(scope="session")
def bin_dir() -> Path:
    return engine_bin()


#: What production's deliberate tear-down leaves on Railway: its data and names are retained on delete.
RETAINED_IN_PRODUCTION = ("project", "backend service", "postgres", "volume", "custom domain")


def _objects(fake: FakeRailway) -> dict[str, int]:
    """How many of each Railway object the stack makes exist (goal: 1 each)."""
    state = fake.state
    return {
        "project": len(state.projects),
        "backend service": sum(1 for s in state.services.values() if s["name"] == "backend"),
        "postgres": sum(1 for s in state.services.values() if s["name"].startswith("Postgres")),
        "volume": len(state.volumes),
        "service domain": len(state.service_domains),
        "custom domain": len(state.custom_domains),
        "trigger": len(state.triggers),
        "project token": len(state.project_tokens),
    }


def _cli(stack: EngineStack, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return stack.cli(*args, timeout=timeout)


def _kill_up_during(stack: EngineStack, fake: FakeRailway, operation: str) -> None:
    """Start ``pulumi up``, wait until ``operation`` reaches the fake (held there), then SIGKILL the CLI
    and every process it started (language host, dynamic provider)."""
    fake.inject("slow_commit", match=operation, delay=HOLD_SECONDS)
    process = subprocess.Popen(
        ["pulumi", "up", "--yes", "--skip-preview", "--non-interactive", "--stack", stack.name],
        cwd=stack.project_dir,
        env={**os.environ, **stack.env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    try:
        while not any(r.operation_name == operation and r.fault == "slow_commit" for r in list(fake.requests)):
            if process.poll() is not None:
                raise AssertionError(f"pulumi up ended before sending {operation}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{operation} was never sent")
            time.sleep(0.05)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    time.sleep(HOLD_SECONDS + 1.5)  # the held write commits on Railway's side after the CLI is gone
    fake.finish_workflows()


def _checkpoint(stack: EngineStack) -> Path:
    """The stack's state file in its ``file://`` backend (where the README's recovery puts the .bak back)."""
    backend = stack.env["PULUMI_BACKEND_URL"].removeprefix("file://")
    return Path(backend) / ".pulumi" / "stacks" / "maya-infra" / f"{stack.name}.json"


def _recover(stack: EngineStack) -> list[str]:
    """The README's procedure; returns the steps that were needed."""
    steps: list[str] = []
    refresh_args = ("refresh", "--clear-pending-creates", "--yes", "--skip-preview", "--non-interactive")
    refresh = _cli(stack, *refresh_args)
    if refresh.returncode != 0 and "failed to load checkpoint" in refresh.stdout + refresh.stderr:
        # the kill cut the state file's last write: the previous checkpoint goes back, and look-first takes
        # over whatever the lost write recorded
        steps.append("restore .json.bak")
        checkpoint = _checkpoint(stack)
        shutil.copyfile(checkpoint.with_name(checkpoint.name + ".bak"), checkpoint)
        refresh = _cli(stack, *refresh_args)
    if refresh.returncode != 0 and "locked" in refresh.stdout + refresh.stderr:
        steps.append("cancel")
        assert _cli(stack, "cancel", "--yes").returncode == 0
        refresh = _cli(stack, *refresh_args)
    assert refresh.returncode == 0, refresh.stdout + refresh.stderr
    steps.append("refresh --clear-pending-creates")
    up = _cli(stack, "up", "--yes", "--skip-preview", "--non-interactive")
    steps.append("up")
    assert up.returncode == 0, up.stdout + up.stderr
    return steps


def _pending(stack: EngineStack) -> list[Any]:
    exported = json.loads(_cli(stack, "stack", "export").stdout)
    return list(exported["deployment"].get("pending_operations") or [])


@pytest.fixture
def crash_world(
    request: pytest.FixtureRequest, tmp_path: Path, bin_dir: Path
) -> Iterator[tuple[EngineStack, FakeRailway]]:
    stack_name = request.node.callspec.params["point"][0]
    with FakeRailway(token=RAILWAY_TOKEN, deploy_polls_to_finish=2, template_delay_seconds=0.5) as fake:
        overrides = local_overrides(fake.url, ["railway"])
        stack = make_stack(tmp_path, stack_name, overrides, bin_dir=bin_dir)
        yield stack, fake
        if fake.state.projects:
            _cli(stack, "state", "unprotect", "--all", "--yes")
            _cli(stack, "destroy", "--yes", "--skip-preview", "--non-interactive")


@pytest.mark.parametrize("point", KILL_POINTS, ids=lambda p: f"{p[0]}-{p[1]}")
def test_kill_9_during_a_create_then_the_readme_recovery_leaves_one_of_everything(
    crash_world: tuple[EngineStack, FakeRailway], point: tuple[str, str], record_property: Any
) -> None:
    stack, fake = crash_world
    _kill_up_during(stack, fake, point[1])
    steps = _recover(stack)
    record_property("recovery", " → ".join(steps))
    objects = _objects(fake)
    assert objects == dict.fromkeys(objects, 1), f"duplicates or missing objects after recovery: {objects}"
    assert fake.count("ServiceInstanceDeployV2") <= 2  # the killed run's deploy (if sent) and at most one more
    assert _pending(stack) == [], "a pending operation was left in the state"
    outputs = stack.outputs()
    assert outputs["railway_deployment_status"] == "SUCCESS"

    fake.reset_counters()
    again = _cli(stack, "up", "--yes", "--skip-preview", "--non-interactive")
    assert again.returncode == 0 and fake.count(mutations_only=True) == 0, "the up after recovery is a no-op"

    if point[0] == "production":
        # production is protected and keeps its data on delete (issue 12): refused as it is, and a deliberate
        # tear-down (unprotect, destroy) leaves exactly the retained objects, one of each, and nothing else
        refused = _cli(stack, "destroy", "--yes", "--skip-preview", "--non-interactive")
        assert refused.returncode != 0 and fake.count("ProjectDelete") == 0
        assert _cli(stack, "state", "unprotect", "--all", "--yes").returncode == 0
    destroyed = _cli(stack, "destroy", "--yes", "--skip-preview", "--non-interactive")
    assert destroyed.returncode == 0, destroyed.stdout + destroyed.stderr
    if point[0] == "production":
        # what remains lives in the one retained project: its data and names, plus whatever the recovery
        # adopted inside it (found by look-first, so never deleted by the stack) — one of each, no duplicate
        left = {kind: n for kind, n in _objects(fake).items() if n}
        assert set(RETAINED_IN_PRODUCTION) <= set(left) and set(left.values()) == {1}, f"after destroy: {left}"
    else:
        assert fake.is_empty(), f"orphans after destroy: {fake.state!r}"


@pytest.mark.parametrize("point", [("staging", "ServiceCreate")], ids=lambda p: f"{p[0]}-{p[1]}")
def test_a_state_file_cut_off_by_the_kill_is_recovered_from_its_backup(
    crash_world: tuple[EngineStack, FakeRailway], point: tuple[str, str]
) -> None:
    """The kill can land while the CLI rewrites the state file (seen once under load: ``failed to load
    checkpoint: EOF``). The README's recovery puts ``<stack>.json.bak`` back, then refreshes and converges:
    still one of everything, since every create looks its object up first."""
    stack, fake = crash_world
    _kill_up_during(stack, fake, point[1])
    checkpoint = _checkpoint(stack)
    assert checkpoint.with_name(checkpoint.name + ".bak").is_file()
    checkpoint.write_bytes(b"")  # what a write cut by SIGKILL leaves
    steps = _recover(stack)
    assert steps[0] == "restore .json.bak", steps
    objects = _objects(fake)
    assert objects == dict.fromkeys(objects, 1), f"duplicates or missing objects after recovery: {objects}"
    assert _pending(stack) == []
