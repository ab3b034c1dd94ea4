"""The performance job's steps, run as the runner runs them, with Locust really loading a local server.

The job is rendered from staging's config with a short run (4 s at full load), its ``Write …`` steps write the
scripts into a temporary ``$RUNNER_TEMP``, its load-test step runs ``locust`` headless against a server on
127.0.0.1 that the test slows down or makes fail on purpose, and its judge step evaluates the statistics.
Each rule is seen failing on its own: the p95 budget, the error-rate budget, the regression rule against a
baseline (while the budget holds), and too few requests to judge.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from config import load_from_stack_file
from config.performance import LoadPath, PerformanceSettings
from workflows.performance import PERFORMANCE_JOB, performance_jobs, plan
from workflows.scripts.perf_report import read_stats

VENV_BIN = Path(sys.executable).parent


@dataclass
class Behaviour:
    """What the server does per path: extra delay in seconds, and every n-th request answered 500."""

    delay: dict[str, float] = field(default_factory=dict)
    fail_every: dict[str, int] = field(default_factory=dict)
    seen: dict[str, int] = field(default_factory=dict)


class _Handler(BaseHTTPRequestHandler):
    behaviour: ClassVar[Behaviour] = Behaviour()
    lock: ClassVar[threading.Lock] = threading.Lock()

    def do_GET(self) -> None:
        b = self.behaviour
        with self.lock:
            count = b.seen[self.path] = b.seen.get(self.path, 0) + 1
        time.sleep(b.delay.get(self.path, 0.0))
        every = b.fail_every.get(self.path)
        status = 500 if every and count % every == 0 else 200
        body = b'{"status":"healthy","database":"ok"}' if self.path.startswith("/api") else b"<html>MAYA</html>"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


SHORT = PerformanceSettings(
    users=4,
    spawn_rate=4,
    duration_seconds=10,
    min_wait_seconds=0.02,
    max_wait_seconds=0.05,
    backend=(LoadPath(path="/api/health", weight=4, p95_ms=1000),),
    frontend=(LoadPath(path="/", weight=1, p95_ms=1000),),
    min_requests=3,  # a run of a few seconds on a busy shared machine: enough to judge, never flaky
)


@pytest.fixture(scope="module")
def job() -> dict[str, Any]:
    """The performance job of staging's config, with a run of 1 s of ramp and 4 s at full load.

    ``model_copy`` skips validation, which refuses runs shorter than 10 s (too short to mean anything on
    staging); the steps themselves are the ones staging's workflow has.
    """
    cfg = load_from_stack_file("staging")
    short = cfg.model_copy(update={"performance": SHORT.model_copy(update={"duration_seconds": 4})})
    return performance_jobs([short], after=["deploy"])[PERFORMANCE_JOB]


def _step(job: dict[str, Any], prefix: str) -> dict[str, Any]:
    return next(s for s in job["steps"] if s["name"].startswith(prefix))


def _run(
    step: dict[str, Any], runner_temp: Path, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """The step's ``run:`` under bash, as the runner runs it (``set -e`` of the script itself, no login shell)."""
    environment = {
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",  # `locust` from the venv, like the job's pip install
        "RUNNER_TEMP": str(runner_temp),
        "HOME": os.environ.get("HOME", "/root"),
        **{k: str(v) for k, v in (step.get("env") or {}).items() if "${{" not in str(v)},
        **env,
    }
    return subprocess.run(
        ["bash", "-e", "-c", step["run"]], env=environment, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def runner_temp(job: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """$RUNNER_TEMP after the job's ``Write …`` steps: the scripts, exactly as the workflow inlines them."""
    temp = tmp_path_factory.mktemp("runner-temp")
    for step in job["steps"]:
        if step["name"].startswith("Write "):
            assert _run(step, temp, {}).returncode == 0
    assert {p.name for p in temp.iterdir()} >= {"locustfile.py", "perf_report.py", "perf_baseline.py", "script_http.py"}
    return temp


def _load(job: dict[str, Any], runner_temp: Path, server: str, behaviour: Behaviour, name: str) -> Path:
    """One real Locust run of the job's load-test step against the server; returns its stats CSV (kept as ``name``)."""
    _Handler.behaviour = behaviour
    result = _run(
        _step(job, "Load test of staging"),
        runner_temp,
        {"PERFORMANCE_PLAN": job["env"]["PERFORMANCE_PLAN"], "BACKEND_URL": server, "FRONTEND_URL": server},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = runner_temp / "performance"
    assert (out / "report.html").stat().st_size > 10_000  # Locust's HTML report, kept as an artifact
    kept = runner_temp / f"{name}_stats.csv"
    kept.write_bytes((out / "locust_stats.csv").read_bytes())
    return kept


def _judge(
    job: dict[str, Any], runner_temp: Path, stats: Path, plan_json: str, baseline: Path | None = None
) -> tuple[int, str]:
    """The job's judge step on ``stats`` (copied where the step reads it); exit status and the job summary."""
    (runner_temp / "performance" / "locust_stats.csv").write_bytes(stats.read_bytes())
    summary = runner_temp / "summary.md"
    summary.write_text("")
    result = _run(
        _step(job, "Judge the budgets"),
        runner_temp,
        {
            "PERFORMANCE_PLAN": plan_json,
            "BASELINE_FILE": str(baseline or ""),
            "BASELINE_NOTE": "",
            "GITHUB_STEP_SUMMARY": str(summary),
        },
    )
    assert result.returncode in (0, 1), result.stdout + result.stderr
    return result.returncode, result.stdout + summary.read_text()


def _plan(**changes: Any) -> str:
    """PERFORMANCE_PLAN for staging's config with :data:`SHORT`'s paths, changed as given."""
    cfg = load_from_stack_file("staging")
    return json.dumps(plan(cfg.model_copy(update={"performance": SHORT.model_copy(update=changes)})))


def _path(p95_ms: int = 1000, max_error_percent: float = 1.0, path: str = "/api/health") -> tuple[LoadPath, ...]:
    return (LoadPath(path=path, weight=2, p95_ms=p95_ms, max_error_percent=max_error_percent),)


@pytest.fixture(scope="module")
def fast(job: dict[str, Any], runner_temp: Path, server: str) -> Path:
    return _load(job, runner_temp, server, Behaviour(), "fast")


@pytest.fixture(scope="module")
def slow(job: dict[str, Any], runner_temp: Path, server: str) -> Path:
    return _load(job, runner_temp, server, Behaviour(delay={"/api/health": 0.3}), "slow")


@pytest.fixture(scope="module")
def failing(job: dict[str, Any], runner_temp: Path, server: str) -> Path:
    return _load(job, runner_temp, server, Behaviour(fail_every={"/": 2}), "failing")


@pytest.mark.timeout(120)
def test_a_healthy_staging_passes_every_budget_and_reports_a_table(
    job: dict[str, Any], runner_temp: Path, fast: Path
) -> None:
    stats = read_stats(fast)
    assert stats["backend /api/health"].requests >= 3 and stats["frontend /"].requests >= 3
    # weight 4 against 1: a share of 80 %; at least twice the other's requests (2.6 standard errors below 80 % at
    # 60 requests, 3.3 above the 50 % of ignored weights)
    assert stats["backend /api/health"].requests >= 2 * stats["frontend /"].requests, stats
    status, report = _judge(job, runner_temp, fast, _plan())
    assert status == 0, report
    assert "| `backend /api/health` |" in report and "| `frontend /` |" in report and "| all |" in report
    assert "Baseline: none, the first successful run" in report and "new: no baseline" in report
    assert "Every budget holds" in report
    same, report = _judge(job, runner_temp, fast, _plan(), baseline=fast)
    assert same == 0 and "+0 %" in report, report


@pytest.mark.timeout(120)
def test_a_slow_path_fails_its_p95_budget(job: dict[str, Any], runner_temp: Path, slow: Path) -> None:
    assert (read_stats(slow)["backend /api/health"].p95 or 0) >= 300
    status, report = _judge(job, runner_temp, slow, _plan(backend=_path(p95_ms=250)))
    assert status == 1 and "p95" in report and "over its budget of 250 ms" in report, report
    assert "::error::backend /api/health: p95" in report
    assert _judge(job, runner_temp, slow, _plan(backend=_path(p95_ms=5000)))[0] == 0


@pytest.mark.timeout(120)
def test_a_slower_release_fails_the_regression_rule_while_its_budget_holds(
    job: dict[str, Any], runner_temp: Path, fast: Path, slow: Path
) -> None:
    loose = _plan(backend=_path(p95_ms=5000))
    status, report = _judge(job, runner_temp, slow, loose, baseline=fast)
    assert status == 1 and "worse than the last successful run" in report, report
    # the same slow-down is within a tolerance of 100 000 %, or within a floor of 10 s: both pass
    assert _judge(job, runner_temp, slow, _plan(backend=_path(p95_ms=5000), regression_percent=100_000), fast)[0] == 0
    assert _judge(job, runner_temp, slow, _plan(backend=_path(p95_ms=5000), regression_floor_ms=10_000), fast)[0] == 0


@pytest.mark.timeout(120)
def test_failing_requests_fail_the_error_budget(job: dict[str, Any], runner_temp: Path, failing: Path) -> None:
    stats = read_stats(failing)["frontend /"]
    assert 30 <= stats.error_percent <= 70, stats  # every second request answered 500
    status, report = _judge(job, runner_temp, failing, _plan())
    assert status == 1 and "frontend /: " in report and "over its budget of 1 %" in report, report
    tolerant = (LoadPath(path="/", weight=1, p95_ms=1000, max_error_percent=80),)
    assert _judge(job, runner_temp, failing, _plan(frontend=tolerant))[0] == 0


@pytest.mark.timeout(120)
def test_too_few_requests_cannot_pass(job: dict[str, Any], runner_temp: Path, fast: Path) -> None:
    status, report = _judge(job, runner_temp, fast, _plan(min_requests=100_000))
    assert status == 1 and "too few to judge" in report, report
    unloaded = (*_path(), LoadPath(path="/api/never-loaded", p95_ms=1000))  # in the budgets, not in the run
    status, report = _judge(job, runner_temp, fast, _plan(backend=unloaded))
    assert status == 1 and "backend /api/never-loaded: 0 requests" in report, report
