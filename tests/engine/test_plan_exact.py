"""What the approvers saw is what runs, on the real engine against the fake Railway (docs/trust.md):
``python -m ops plan`` saves a refreshed preview's plan, ``python -m ops apply`` applies exactly it; a Railway
setting changed in the fake between the two is refused with one line and nothing is written.

Production's stack (Railway only: the saved-plan mechanics do not depend on the platform; the GitHub half and
the hand-off run on the engine in test_github_half.py), with the policy pack, as the CI jobs run them.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.engine.harness import REPO, EngineStack, engine_bin, local_overrides
from tests.fakes.railway_api import FakeRailway
from tests.policy.pack_stack import pack_stack
from tests.secrets import TEST_SECRETS

pytestmark = [pytest.mark.engine, pytest.mark.timeout(900)]
COMMIT = "c0ffee" + "0" * 34


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[EngineStack, FakeRailway]]:
    with FakeRailway(token=TEST_SECRETS["maya-infra:railwayToken"], deploy_polls_to_finish=1) as fake:
        yield pack_stack(tmp_path, "production", local_overrides(fake.url, ["railway"]), engine_bin()), fake


def ops(stack: EngineStack, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m ops <args>` as the CI job runs it, on the stack's project copy, with its credentials."""
    return subprocess.run(
        [sys.executable, "-m", "ops", *args, "--stack", stack.name, "--project-dir", str(stack.project_dir)],
        cwd=REPO,
        env={**stack.env, "PYTHONPATH": str(REPO)},
        text=True,
        capture_output=True,
        timeout=900,
        check=False,
    )


def _replicas(fake: FakeRailway, service: str, environment: str) -> int:
    return sum(c["numReplicas"] for c in fake.state.instances[(service, environment)]["multiRegionConfig"].values())


def _set_replicas(stack: EngineStack, replicas: int) -> None:
    path = stack.project_dir / "Pulumi.production.yaml"
    document = yaml.safe_load(path.read_text())
    document["config"]["maya-infra:backend"]["replicas"] = replicas
    path.write_text(yaml.safe_dump(document, sort_keys=True))


def test_the_approved_plan_is_applied_and_a_live_change_since_is_refused_without_a_write(
    world: tuple[EngineStack, FakeRailway], tmp_path: Path
) -> None:
    stack, fake = world
    first = tmp_path / "plan-1"
    planned = ops(stack, "plan", "--out", str(first), "--commit", COMMIT)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert fake.count(mutations_only=True) == 0, "the plan writes nothing"
    summary = (first / "summary.md").read_text()
    assert "## The saved plan of `production`" in summary and "to create" in summary
    plan_text = (first / "plan.json").read_text()
    assert not [k for k, v in TEST_SECRETS.items() if v in plan_text], "the saved plan holds a secret in plain text"

    applied = ops(stack, "apply", "--plan", str(first), "--commit", COMMIT, "--head", COMMIT)
    assert applied.returncode == 0, applied.stdout[-3000:] + applied.stderr[-3000:]
    assert "applied the approved plan of production" in applied.stdout
    outputs = stack.outputs()
    service, environment = outputs["railway_service_id"], outputs["railway_environment_id"]
    assert _replicas(fake, service, environment) == 2

    # a reviewed change: one more replica, planned; then someone edits a setting in Railway's dashboard
    _set_replicas(stack, 3)
    second = tmp_path / "plan-2"
    assert ops(stack, "plan", "--out", str(second), "--commit", COMMIT).returncode == 0
    assert "num_replicas" in (second / "summary.md").read_text()
    fake.update_instance_behind(service, environment, healthcheckTimeout=77)
    fake.reset_counters()
    refused = ops(stack, "apply", "--plan", str(second), "--commit", COMMIT, "--head", COMMIT)
    assert refused.returncode == 2
    (line,) = [x for x in refused.stderr.splitlines() if x.strip()]
    assert line.startswith("ops apply: refused: the update no longer matches the approved preview (backend-settings:")
    assert "healthcheck_timeout" in line and "nothing was written" in line and "re-run the preview" in line
    requests_between, mutations = fake.count(), fake.count(mutations_only=True)
    print(f"\nplan-exact: {requests_between} Railway requests during the refused apply, {mutations} mutations")
    print(f"refusal: {line}")
    assert mutations == 0 and requests_between > 0  # it re-read the live platform, and wrote nothing
    instance = fake.state.instances[(service, environment)]
    assert _replicas(fake, service, environment) == 2 and instance["healthcheckTimeout"] == 77  # nothing applied

    # a newer commit on the branch: the plan is stale, refused before pulumi even starts
    stale = ops(stack, "apply", "--plan", str(second), "--commit", COMMIT, "--head", "f" * 40)
    assert stale.returncode == 2 and "a newer commit (ffffffffffff) is on main" in stale.stderr
    assert fake.count(mutations_only=True) == 0
