"""The performance stage in the rendered workflows, and Lighthouse CI's budgets judged by the real ``lhci``.

The stage runs after either app's staging deploy (frontend.yml and backend.yml), never for production or a
pull request; the required check of each workflow (what the staging → production gate asks of the staged
commit) needs it; its budgets are staging's config; its tools come from the committed lock files. The
Lighthouse budgets are handed to ``lhci assert`` (installed from the same lock by scripts/provide-lhci.sh)
over Lighthouse reports made to pass or fail.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from config import PROJECT_DIR, load_from_stack_file
from workflows import pins, tools
from workflows.performance import (
    BASELINE_ARTIFACT,
    LIGHTHOUSE_ARTIFACT,
    PERFORMANCE_JOB,
    REPORT_ARTIFACT,
    lighthouserc,
    performance_jobs,
    plan,
)
from workflows.scripts import perf_report

APPS = {"frontend.yml": "frontend-ci", "backend.yml": "backend-ci"}


def _app(workflows: dict[str, dict[str, Any]], stack: str, file: str) -> dict[str, Any]:
    return workflows[f"{stack}/maya/.github/workflows/{file}"]


@pytest.mark.parametrize("stack", ["staging", "production"])
@pytest.mark.parametrize("file", sorted(APPS))
def test_the_stage_runs_after_either_apps_staging_deploy_and_the_gate_needs_it(
    workflows: dict[str, dict[str, Any]], stack: str, file: str
) -> None:
    jobs = _app(workflows, stack, file)["jobs"]
    perf = jobs[PERFORMANCE_JOB]
    assert "deploy" in perf["needs"] and "changes" in perf["needs"]
    assert perf["if"] == "needs.deploy.result == 'success' && (needs.changes.outputs.environment == 'staging')"
    assert PERFORMANCE_JOB in jobs[APPS[file]]["needs"]  # the required check: the gate asks it of the staged code
    assert PERFORMANCE_JOB in jobs["alert"]["needs"]  # a failed stage on develop mails the on-call
    assert perf["concurrency"] == {"group": "performance-staging", "cancel-in-progress": False}
    assert perf["permissions"] == {"contents": "read", "actions": "read"}
    assert "environment" not in perf  # reads no secret: no deployment record, nothing for the gate to mistake


def test_the_stage_loads_what_users_reach_after_the_e2e_tests(workflows: dict[str, dict[str, Any]]) -> None:
    """E2E and the load test never run against staging at the same time (one would skew the other), and the
    frontend's load test waits for the promotion: before it, the staging domain still serves the old deployment."""
    front = _app(workflows, "staging", "frontend.yml")["jobs"][PERFORMANCE_JOB]
    assert front["needs"] == ["changes", "deploy", "e2e", "promote"]
    assert _app(workflows, "staging", "backend.yml")["jobs"][PERFORMANCE_JOB]["needs"] == ["changes", "deploy", "e2e"]


@pytest.mark.parametrize("file", sorted(APPS))
def test_the_staging_gate_requires_the_stage_of_the_staging_run(
    workflows: dict[str, dict[str, Any]], file: str
) -> None:
    jobs = _app(workflows, "production", file)["jobs"]
    gate = next(s for s in jobs["staging-gate"]["steps"] if s["name"].startswith("Require this code"))
    assert "--require-job performance" in gate["run"]
    assert jobs[PERFORMANCE_JOB]["name"] == PERFORMANCE_JOB  # the gate finds a job by its display name


def test_the_budgets_are_stagings_config_in_both_stacks_files(workflows: dict[str, dict[str, Any]]) -> None:
    staging = load_from_stack_file("staging")
    for stack in ("staging", "production"):
        perf = _app(workflows, stack, "backend.yml")["jobs"][PERFORMANCE_JOB]
        assert json.loads(perf["env"]["PERFORMANCE_PLAN"]) == plan(staging)
        load = next(s for s in perf["steps"] if s["name"].startswith("Load test"))
        assert load["env"] == {
            "FRONTEND_URL": "https://staging.mayassistant.com",
            "BACKEND_URL": "https://api.staging.mayassistant.com",
        }
        assert "--users 10 --spawn-rate 5" in load["run"] and "--run-time 62s --reset-stats" in load["run"]


def test_no_stage_without_a_performance_section() -> None:
    staging = load_from_stack_file("staging")
    assert performance_jobs([staging.model_copy(update={"performance": None})], after=["deploy"]) == {}


def test_tools_come_from_the_committed_lock_files_and_the_reports_are_kept(
    workflows: dict[str, dict[str, Any]], rendered: dict[str, str]
) -> None:
    steps = _app(workflows, "staging", "backend.yml")["jobs"][PERFORMANCE_JOB]["steps"]
    runs = "\n".join(str(s.get("run", "")) for s in steps)
    lock = f'--requirement "$GITHUB_WORKSPACE/{tools.FOLDER}/{tools.PERFORMANCE_TOOLS}"'
    assert f"pip install --require-hashes --no-deps {lock}" in runs
    assert "npm ci --ignore-scripts" in runs and "npm install" not in runs and "pip install locust" not in runs
    uploads = {s["with"]["name"]: s for s in steps if "upload-artifact" in str(s.get("uses"))}
    assert set(uploads) == {REPORT_ARTIFACT, LIGHTHOUSE_ARTIFACT, BASELINE_ARTIFACT}
    assert steps[-1] is uploads[BASELINE_ARTIFACT] and uploads[BASELINE_ARTIFACT]["if"] == "success()"
    assert uploads[BASELINE_ARTIFACT]["with"]["retention-days"] == 90
    assert rendered[f"staging/maya/{tools.FOLDER}/{tools.PERFORMANCE_TOOLS}"].count("--hash=sha256:") > 40
    lock = json.loads(rendered[f"staging/maya/{tools.FOLDER}/{tools.LIGHTHOUSE}/package-lock.json"])
    assert lock["packages"]["node_modules/@lhci/cli"]["version"] == "0.14.0"
    assert all("integrity" in p for name, p in lock["packages"].items() if name)


def test_the_lockfiles_hold_the_pinned_versions() -> None:
    """The lockfiles scripts/lock-ci-tools.sh made from workflows/pins.py, and the tests' Locust is the job's."""
    for lock, pinned in (
        (tools.PERFORMANCE_TOOLS, pins.PERFORMANCE_PYPI_TOOLS),
        (tools.RELEASE_TOOLS, pins.RELEASE_PYPI_TOOLS),
    ):
        text = tools.lockfile(lock)
        for name, version in pinned.items():
            assert re.search(rf"^{re.escape(name)}=={re.escape(version)} \\\n    --hash=sha256:", text, re.M), lock
    npm = json.loads(tools.lockfile(f"{tools.LIGHTHOUSE}/package-lock.json"))
    assert npm["packages"][""]["dependencies"] == pins.LIGHTHOUSE_NPM_TOOLS == {"@lhci/cli": "0.14.0"}
    assert f"locust=={pins.PERFORMANCE_PYPI_TOOLS['locust']}" in (PROJECT_DIR / "requirements-dev.txt").read_text()


# ---- Lighthouse CI ----------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def lhci() -> str:
    """Lighthouse CI installed with `npm ci` from the committed lock file (scripts/provide-lhci.sh, cached)."""
    result = subprocess.run(
        ["bash", str(PROJECT_DIR / "scripts" / "provide-lhci.sh")],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"scripts/provide-lhci.sh failed (npm ci of the lock file):\n{result.stderr}"
    return result.stdout.strip().splitlines()[-1]


def _rendered_lighthouserc(workflows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    steps = _app(workflows, "staging", "frontend.yml")["jobs"][PERFORMANCE_JOB]["steps"]
    run = next(s["run"] for s in steps if s["name"].startswith("Lighthouse CI: audit"))
    return dict(json.loads(run.split("<<'LIGHTHOUSERC'\n", 1)[1].split("\nLIGHTHOUSERC\n", 1)[0]))


def _report(url: str, *, scores: dict[str, float], lcp: float, tbt: float = 100, cls: float = 0.01) -> dict[str, Any]:
    """A Lighthouse result (LHR) with what ``lhci assert`` reads: category scores and metric values."""
    categories = {"performance": 0.9, "accessibility": 0.95, "best-practices": 0.95, "seo": 0.5, **scores}
    metrics = {
        "largest-contentful-paint": lcp,
        "total-blocking-time": tbt,
        "cumulative-layout-shift": cls,
        "first-contentful-paint": lcp / 2,  # with `interactive`, what picks the median run
        "interactive": lcp * 1.5,
    }
    return {
        "requestedUrl": url,
        "finalUrl": url,
        "finalDisplayedUrl": url,
        "fetchTime": "2026-12-07T00:00:00.000Z",
        "lighthouseVersion": "12.1.0",
        "runWarnings": [],
        "configSettings": {"formFactor": "mobile"},
        "categories": {c: {"id": c, "score": s, "auditRefs": []} for c, s in categories.items()},
        "audits": {a: {"id": a, "score": 1, "numericValue": v} for a, v in metrics.items()},
    }


def _assert(lhci: str, rc: dict[str, Any], runs: list[dict[str, Any]], folder: Path) -> tuple[int, str]:
    """``lhci assert`` over ``runs`` as ``lhci collect`` leaves them: exit status and its output (no colours)."""
    (folder / ".lighthouseci").mkdir(parents=True)
    for index, lhr in enumerate(runs):
        (folder / ".lighthouseci" / f"lhr-{index}.json").write_text(json.dumps(lhr))
    (folder / "lighthouserc.json").write_text(json.dumps(rc))
    command = [lhci, "assert", "--config=lighthouserc.json"]
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=120, check=False)
    return done.returncode, re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)


@pytest.mark.timeout(300)
def test_lighthouse_budgets_pass_and_fail_as_configured(
    lhci: str, workflows: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    rc = _rendered_lighthouserc(workflows)
    assert rc == lighthouserc(load_from_stack_file("staging"))
    assert (
        rc["ci"]["collect"]["url"] == ["https://staging.mayassistant.com/"] and rc["ci"]["collect"]["numberOfRuns"] == 3
    )
    assert "categories:seo" not in rc["ci"]["assert"]["assertions"]  # staging tells crawlers not to index it
    url = rc["ci"]["collect"]["url"][0]
    good = [_report(url, scores={}, lcp=lcp) for lcp in (2000, 2500, 3900)]
    assert _assert(lhci, rc, good, tmp_path / "good")[0] == 0
    # the median run decides: one slow run of three does not fail the page, a slow median does
    one_slow = [_report(url, scores={}, lcp=lcp) for lcp in (2000, 2500, 9000)]
    assert _assert(lhci, rc, one_slow, tmp_path / "one-slow")[0] == 0
    slow = [_report(url, scores={}, lcp=lcp) for lcp in (2000, 4500, 9000)]
    status, output = _assert(lhci, rc, slow, tmp_path / "slow")
    assert status == 1 and "largest-contentful-paint failure for maxNumericValue" in output, output
    inaccessible = [_report(url, scores={"accessibility": 0.8}, lcp=lcp) for lcp in (2000, 2500, 3000)]
    status, output = _assert(lhci, rc, inaccessible, tmp_path / "a11y")
    assert status == 1 and "accessibility" in output and "minScore" in output, output
    janky = [_report(url, scores={}, lcp=lcp, cls=0.3) for lcp in (2000, 2500, 3000)]
    status, output = _assert(lhci, rc, janky, tmp_path / "cls")
    assert status == 1 and "cumulative-layout-shift failure" in output, output


def test_the_lighthouse_table_shows_each_page_against_its_budgets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    staging = load_from_stack_file("staging")
    good = tmp_path / "good.json"
    good.write_text(json.dumps(_report("https://staging.mayassistant.com/", scores={}, lcp=2100)))
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(_report("https://staging.mayassistant.com/pricing", scores={"performance": 0.5}, lcp=5200))
    )
    manifest = tmp_path / "manifest.json"
    entries = [
        {
            "url": "https://staging.mayassistant.com/",
            "isRepresentativeRun": True,
            "jsonPath": str(good),
            "htmlPath": "/r/a.html",
        },
        {"url": "https://staging.mayassistant.com/", "isRepresentativeRun": False, "jsonPath": "/nowhere.json"},
        {
            "url": "https://staging.mayassistant.com/pricing",
            "isRepresentativeRun": True,
            "jsonPath": str(bad),
            "htmlPath": "/r/b.html",
        },
    ]
    manifest.write_text(json.dumps(entries))
    summary = tmp_path / "summary.md"
    env = {"PERFORMANCE_PLAN": json.dumps(plan(staging)), "GITHUB_STEP_SUMMARY": str(summary)}
    assert perf_report.main(["lighthouse", "--manifest", str(manifest)], env=env) == 0
    table = summary.read_text()
    rows = [line for line in table.splitlines() if line.startswith("| https://")]
    assert len(rows) == 2
    assert "0.90 ✅ (≥ 0.7)" in rows[0] and "2100 ms ✅ (≤ 4000 ms)" in rows[0] and "`a.html`" in rows[0]
    assert "0.50 ❌ (≥ 0.7)" in rows[1] and "5200 ms ❌ (≤ 4000 ms)" in rows[1]
    assert "| 0.50 |" in rows[0]  # SEO: reported, not judged
    assert perf_report.main(["lighthouse", "--manifest", str(tmp_path / "missing.json")], env=env) == 2
    assert "no Lighthouse CI manifest" in capsys.readouterr().out
