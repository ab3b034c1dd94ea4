"""The performance job's baseline: the last successful run's statistics, fetched from GitHub over real HTTP.

perf_baseline.py talks to the fake GitHub (every request and answer checked against GitHub's OpenAPI
description) whose artifact downloads redirect, as GitHub's do, to a storage that refuses a request carrying
the token (tests/fakes/github/artifacts.py). The job's own step is run as the runner runs it, and its output
fed to the judge step.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from config import load_from_stack_file
from tests.fakes.github import FakeGitHub
from tests.fakes.github.artifacts import ArtifactStorage
from tests.fakes.github.server import Fault
from tests.workflows.test_performance_load import SHORT, _run, _step
from workflows.performance import BASELINE_ARTIFACT, PERFORMANCE_JOB, performance_jobs
from workflows.scripts import perf_baseline

REPO = "mayassistant/maya"
TOKEN = "ghs_test-job-token-4b1d"
STATS_HEADER = "Type,Name,Request Count,Failure Count,Median Response Time,Requests/s,50%,95%,99%\n"


def _stats(p95: int) -> bytes:
    return (STATS_HEADER + f"GET,backend /api/health,100,0,10,5.0,10,{p95},{p95 * 2}\n").encode()


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for name, content in files.items():
            bundle.writestr(name, content)
    return buffer.getvalue()


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with ArtifactStorage() as storage, FakeGitHub(repos=[REPO], orgs=["mayassistant"], token=TOKEN) as fake:
        fake.artifact_storage = storage
        yield fake


def _fetch(
    github: FakeGitHub, tmp_path: Path, *extra: str, sleeps: list[float] | None = None
) -> tuple[int, dict[str, str], str]:
    output = tmp_path / "github_output"
    output.write_text("")
    env = {"GITHUB_API_URL": github.url + "api/v3", "GITHUB_TOKEN": TOKEN, "GITHUB_OUTPUT": str(output)}
    argv = ["--repo", REPO, "--branch", "develop", "--artifact", BASELINE_ARTIFACT, "--out", str(tmp_path / "b.csv")]
    status = perf_baseline.main([*argv, *extra], env=env, sleep=(sleeps if sleeps is not None else []).append)
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    return status, outputs, (tmp_path / "b.csv").read_text() if (tmp_path / "b.csv").exists() else ""


def test_the_first_run_has_no_baseline_and_says_so(github: FakeGitHub, tmp_path: Path) -> None:
    github.add_artifact(
        REPO, BASELINE_ARTIFACT, _zip({"locust_stats.csv": _stats(90)}), branch="feature/x", head_sha="f"
    )
    status, outputs, written = _fetch(github, tmp_path)
    assert status == 0 and outputs["file"] == "" and "none" in outputs["note"] and written == ""
    assert github.problems == []


def test_the_newest_unexpired_artifact_of_the_branch_is_fetched_without_sending_the_token_to_storage(
    github: FakeGitHub, tmp_path: Path
) -> None:
    add = github.add_artifact
    add(REPO, BASELINE_ARTIFACT, _zip({"locust_stats.csv": _stats(100)}), branch="develop", head_sha="a", age_days=9)
    wanted = add(
        REPO,
        BASELINE_ARTIFACT,
        _zip({"locust_stats.csv": _stats(200)}),
        branch="develop",
        head_sha="b" * 40,
        age_days=3,
    )
    add(
        REPO,
        BASELINE_ARTIFACT,
        _zip({"locust_stats.csv": _stats(300)}),
        branch="develop",
        head_sha="c",
        age_days=1,
        expired=True,
    )
    add(
        REPO, BASELINE_ARTIFACT, _zip({"locust_stats.csv": _stats(400)}), branch="feature/y", head_sha="d", age_days=0.5
    )
    add(
        REPO,
        "performance-report",
        _zip({"locust_stats.csv": _stats(500)}),
        branch="develop",
        head_sha="e",
        age_days=0.1,
    )
    current = add(
        REPO, BASELINE_ARTIFACT, _zip({"locust_stats.csv": _stats(600)}), branch="develop", head_sha="f", age_days=0
    )
    status, outputs, written = _fetch(github, tmp_path, "--exclude-run", str(current.run_id))
    assert status == 0, outputs
    assert ",200," in written and outputs["file"] == str(tmp_path / "b.csv")
    assert f"run {wanted.run_id} of commit {'b' * 12}" in outputs["note"]
    storage = github.artifact_storage
    assert storage is not None and [r.with_authorization for r in storage.requests] == [False]
    assert github.problems == []
    assert {r.auth_kind for r in github.requests} == {"bearer"}


@pytest.mark.parametrize(
    ("archive", "message"),
    [
        (_zip({"readme.txt": b"x"}), "0 *_stats.csv files"),
        (b"not a zip", "not a zip archive"),
    ],
)
def test_an_unusable_artifact_fails_the_step(
    github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str], archive: bytes, message: str
) -> None:
    github.add_artifact(REPO, BASELINE_ARTIFACT, archive, branch="develop", head_sha="a")
    status, _, written = _fetch(github, tmp_path)
    assert status == 1 and written == ""
    assert message in capsys.readouterr().out


def test_github_unreachable_after_the_retries_fails_rather_than_judging_without_a_baseline(
    github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    github.inject(Fault("actions/list-artifacts-for-repo", 502, times=10))
    sleeps: list[float] = []
    status, outputs, _ = _fetch(github, tmp_path, sleeps=sleeps)
    assert len(sleeps) == 3  # script_http's backoff between the 4 attempts (not waited here)
    assert status == 1 and outputs == {}
    assert "could not be fetched" in capsys.readouterr().out
    assert len([r for r in github.requests if r.operation_id == "actions/list-artifacts-for-repo"]) == 4


@pytest.mark.timeout(120)
def test_the_job_fetches_its_baseline_and_judges_a_regression_against_it(github: FakeGitHub, tmp_path: Path) -> None:
    """The rendered steps end to end: fetch (through bash, as on the runner), then judge with its output."""
    cfg = load_from_stack_file("staging")
    job: dict[str, Any] = performance_jobs([cfg.model_copy(update={"performance": SHORT})], after=["deploy"])[
        PERFORMANCE_JOB
    ]
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    for step in job["steps"]:
        if step["name"].startswith("Write "):
            assert _run(step, temp, {}).returncode == 0
    github.add_artifact(
        REPO, BASELINE_ARTIFACT, _zip({"locust_stats.csv": _stats(100)}), branch="develop", head_sha="a"
    )
    output = tmp_path / "github_output"
    output.write_text("")
    fetched = _run(
        _step(job, "Fetch the baseline"),
        temp,
        {
            "GITHUB_TOKEN": TOKEN,
            "GITHUB_API_URL": github.url + "api/v3",
            "REPO": REPO,
            "RUN_ID": "1",
            "GITHUB_OUTPUT": str(output),
        },
    )
    assert fetched.returncode == 0, fetched.stdout + fetched.stderr
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    (temp / "performance").mkdir()
    (temp / "performance" / "locust_stats.csv").write_bytes(_stats(400) + b",Aggregated,100,0,10,5.0,10,400,800\n")
    judged = _run(
        _step(job, "Judge the budgets"),
        temp,
        {
            "PERFORMANCE_PLAN": job["env"]["PERFORMANCE_PLAN"],
            "BASELINE_FILE": outputs["file"],
            "BASELINE_NOTE": outputs["note"],
        },
    )
    assert judged.returncode == 1, judged.stdout + judged.stderr
    assert "+300 % (100 → 400 ms)" in judged.stdout and "worse than the last successful run" in judged.stdout
    assert "run " in judged.stdout and "of commit a" in judged.stdout  # the baseline's note, in the summary


def test_the_fetch_step_is_the_only_one_with_a_token() -> None:
    """``actions: read`` and the job token reach one step; no step reads a secret."""
    job = performance_jobs([load_from_stack_file("staging")], after=["deploy"])[PERFORMANCE_JOB]
    with_token = [s["name"] for s in job["steps"] if "github.token" in str(s.get("env", {}))]
    assert with_token == ["Fetch the baseline: the last successful run on develop"]
    assert "secrets." not in str(job)
