"""The scheduled monitor's backend 5xx-rate poll (workflows/scripts/error_rate.py), run as CI runs it: the inlined
script as a process, against the fake Railway over real HTTP, with a project token of the environment.

Also: the fake answers the metrics only to a token of that environment, and the monitor workflow wires the
step (staging's matrix polls, production's never: its token stays in Checkly).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

import config
from tests.fakes.railway_api import FakeRailway
from workflows import monitor
from workflows.scripts import error_rate

pytestmark = pytest.mark.timeout(60)

SCRIPT = Path(error_rate.__file__)
BEARER = "fake-workspace-token"


@dataclass
class World:
    fake: FakeRailway
    service: str
    environment: str
    token: str  # a project token of ``environment``
    other_token: str  # a project token of another environment of the same project


def _project_token(fake: FakeRailway, project: str, environment: str, name: str) -> str:
    answer = httpx.post(
        fake.url,
        json={
            "query": "mutation T($input: ProjectTokenCreateInput!) { projectTokenCreate(input: $input) }",
            "variables": {"input": {"projectId": project, "environmentId": environment, "name": name}},
        },
        headers={"Authorization": f"Bearer {BEARER}"},
        timeout=10,
    ).json()
    return str(answer["data"]["projectTokenCreate"])


@pytest.fixture
def world() -> Iterator[World]:
    with FakeRailway(token=BEARER) as fake:
        project = fake.seed_project("maya-staging", environment="staging")
        environment = fake.environment_id(project, "staging")
        other = httpx.post(
            fake.url,
            json={
                "query": "mutation E($input: EnvironmentCreateInput!) { environmentCreate(input: $input) { id } }",
                "variables": {"input": {"projectId": project, "name": "pr-1"}},
            },
            headers={"Authorization": f"Bearer {BEARER}"},
            timeout=10,
        ).json()["data"]["environmentCreate"]["id"]
        service = fake.seed_service(project, "backend")
        yield World(
            fake,
            service,
            environment,
            _project_token(fake, project, environment, "maya-staging-metrics"),
            _project_token(fake, project, other, "maya-pr-1"),
        )
        assert fake.invalid_documents == [], "every document the script sends validates against Railway's schema"


def _run(world: World, *, token: str | None = None, url: str | None = None, window: int = 15) -> tuple[int, str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "RAILWAY_METRICS_TOKEN": world.token if token is None else token,
        "RAILWAY_SERVICE_ID": world.service,
        "RAILWAY_ENVIRONMENT_ID": world.environment,
        "RAILWAY_API_URL": url or world.fake.url,
    }
    args = ["--threshold", "10", "--window", str(window), "--min-requests", "20", "--timeout", "5"]
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=30, check=False
    )
    return done.returncode, (done.stdout + done.stderr).strip()


def _seed(world: World, **by_status: int) -> None:
    now = time.time()
    for status, count in by_status.items():
        world.fake.seed_http_requests(
            world.service, world.environment, int(status.removeprefix("s")), count, at=now - 60
        )


def test_above_the_threshold_fails_with_one_line_naming_the_rate_and_the_window(world: World) -> None:
    _seed(world, s200=150, s404=10, s500=30, s503=10)
    code, output = _run(world)
    assert code == 1
    assert output == "::error::backend 5xx rate 20.0% (40 of 200 requests) in the last 15 min is above 10%"


def test_below_the_threshold_passes(world: World) -> None:
    _seed(world, s200=190, s500=10)
    code, output = _run(world)
    assert (code, output) == (0, "backend 5xx rate 5.0% (10 of 200 requests) in the last 15 min: within 10%")


def test_fewer_requests_than_the_minimum_pass_even_all_failing(world: World) -> None:
    _seed(world, s500=1, s200=1)
    code, output = _run(world)
    assert code == 0
    assert output == "backend 5xx rate 50.0% (1 of 2 requests) in the last 15 min: fewer than 20 requests, not judged"


def test_requests_older_than_the_window_are_not_counted(world: World) -> None:
    world.fake.seed_http_requests(world.service, world.environment, 500, 500, at=time.time() - 3600)
    _seed(world, s200=100)
    assert _run(world)[0] == 0
    assert _run(world, window=120)[0] == 1  # the same requests, inside a two-hour window


def test_a_token_of_another_environment_is_refused_with_one_clear_message(world: World) -> None:
    _seed(world, s500=100)
    code, output = _run(world, token=world.other_token)
    assert code == 2
    assert output == (
        "::error::the backend 5xx rate is unknown: Railway refused the metrics query (HTTP 200): Not Authorized"
    )


def test_a_railway_outage_or_a_missing_token_is_one_clear_message(world: World) -> None:
    world.fake.inject("http", match="BackendErrorRate", status=503, times=5)
    code, output = _run(world)
    assert code == 2 and output.startswith("::error::the backend 5xx rate is unknown: Railway answered HTTP 503")
    assert "\n" not in output
    code, output = _run(world, url="http://127.0.0.1:9/graphql/v2")  # nothing listens on the discard port
    assert code == 2 and "could not be reached" in output and "\n" not in output
    code, output = _run(world, token="")
    assert code == 2 and "RAILWAY_METRICS_TOKEN" in output and "pulumi up" in output


def test_the_monitor_polls_staging_and_never_carries_production_s_token() -> None:
    staging, production = (config.load_from_stack_file(s) for s in config.STACKS)
    document = yaml.safe_load(monitor.render([staging, production], []))
    job = document["jobs"]["health"]
    matrix = {row["environment"]: row for row in job["strategy"]["matrix"]["include"]}
    assert matrix["staging"]["error_rate_threshold"] == "10" and matrix["staging"]["error_rate_window"] == "15"
    assert matrix["staging"]["error_rate_min_requests"] == "20" and matrix["staging"]["error_rate_off"] == ""
    assert matrix["production"]["error_rate_window"] == ""  # production in the workflow (a rehearsal): not polled
    assert "Checkly" in matrix["production"]["error_rate_off"]
    step = next(s for s in job["steps"] if s.get("id") == "errors")
    assert step["continue-on-error"] is True
    assert step["env"]["RAILWAY_METRICS_TOKEN"] == "${{ secrets.RAILWAY_METRICS_TOKEN }}"
    alert = next(s for s in job["steps"] if s.get("id") == "alert")
    assert "steps.errors.outcome == 'failure'" in alert["if"]
