"""The performance stage on staging: a Locust load test and Lighthouse CI after each staging deploy.

DEPLOYMENT_PIPELINE.md tests staging for performance and checks performance before production. After every
staging deploy of either app (so in both the frontend and the backend workflow), one job:

1. installs Locust from its hashed lockfile (workflows/tools.py) and fetches the statistics of the
   last successful run on the staging branch (perf_baseline.py: the ``performance-baseline`` artifact);
2. loads the staging backend's paths and frontend pages (locustfile.py) with ``performance.users`` users
   after a short ramp (``spawnRate``) for ``durationSeconds`` — statistics are reset when the ramp ends, so
   they describe the full load;
3. judges each path's p95 and error rate against its budget and its p95 against the baseline
   (perf_report.py), writing the table into the job summary and keeping Locust's HTML report (artifact
   ``performance-report``);
4. runs Lighthouse CI (``@lhci/cli`` from its npm lock) on ``lighthouse.pages`` and asserts its budgets
   (artifact ``lighthouse-report``, table in the summary);
5. keeps this run's statistics as the next baseline — its last step, so only a run where every budget held.

The job is one of the workflow's stages, so the required check (``frontend-ci``/``backend-ci``) fails with
it and the staging → production gate refuses code whose performance stage failed. Two deploys at once
(a push that changes both apps) queue on one concurrency group, so one load test never measures the other.
The addresses are staging's public ones from its stack config (the frontend's domain, the backend's
``customDomain``): what users reach, CDN included.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from config import StackConfig
from config.performance import PerformanceSettings
from workflows import pins, tools
from workflows.e2e import staging_only
from workflows.pipeline import CHANGES_JOB
from workflows.render import Job, Step, because, expr, job, run_script, setup_node, upload_artifact, write_script

#: The job's id: the gate requires it (``--require-job performance``, workflows/promotion.py).
PERFORMANCE_JOB = "performance"
BASELINE_ARTIFACT = "performance-baseline"
REPORT_ARTIFACT = "performance-report"
LIGHTHOUSE_ARTIFACT = "lighthouse-report"
#: Kept long enough that a quiet staging branch still has a baseline (GitHub's maximum is 90 days).
BASELINE_RETENTION_DAYS = 90
#: Seconds a Lighthouse run of one page takes on a runner, installs and Chrome's start included (a bound).
LIGHTHOUSE_SECONDS_PER_RUN = 30
OUT = "$RUNNER_TEMP/performance"
STATS = f"{OUT}/locust_stats.csv"
BASELINE = "$RUNNER_TEMP/baseline/locust_stats.csv"
LHCI_CONFIG = "$RUNNER_TEMP/lighthouserc.json"
LHCI_OUT = "$RUNNER_TEMP/lighthouse"
#: Locust's virtual environment on the runner (apart from the app's and the other CI tools').
VENV = "$RUNNER_TEMP/performance-tools"
#: Lighthouse CI's folder in the checkout (``npm ci`` there; ``lhci`` runs from there).
LIGHTHOUSE_DIR = f"{tools.FOLDER}/{tools.LIGHTHOUSE}"


def performance_source(configs: Sequence[StackConfig]) -> StackConfig | None:
    """The stack whose performance stage the app workflows run: the one stack with the section (staging)."""
    found = [c for c in configs if c.performance is not None]
    return found[0] if found else None


def plan(cfg: StackConfig) -> dict[str, Any]:
    """``PERFORMANCE_PLAN``: what locustfile.py loads and perf_report.py judges, from ``cfg.performance``."""
    perf = _settings(cfg)
    paths = {
        kind: [
            {"path": p.path, "weight": p.weight, "p95Ms": p.p95_ms, "maxErrorPercent": p.max_error_percent}
            for p in getattr(perf, kind)
        ]
        for kind in ("backend", "frontend")
    }
    lighthouse = perf.lighthouse
    return {
        **paths,
        "minWaitSeconds": perf.min_wait_seconds,
        "maxWaitSeconds": perf.max_wait_seconds,
        "minRequests": perf.min_requests,
        "regressionPercent": perf.regression_percent,
        "regressionFloorMs": perf.regression_floor_ms,
        "lighthouse": {"minScores": lighthouse.min_scores(), "maxMetrics": lighthouse.max_metrics()},
    }


def lighthouserc(cfg: StackConfig) -> dict[str, Any]:
    """Lighthouse CI's configuration: collect the pages ``runs`` times, assert the budgets on the median run."""
    lighthouse = _settings(cfg).lighthouse
    settings: dict[str, Any] = {"chromeFlags": "--headless=new --no-sandbox"}
    if lighthouse.form_factor == "desktop":
        settings["preset"] = "desktop"
    assertions: dict[str, Any] = {
        f"categories:{category}": ["error", {"minScore": score, "aggregationMethod": "median-run"}]
        for category, score in lighthouse.min_scores().items()
    }
    assertions |= {
        audit: ["error", {"maxNumericValue": value, "aggregationMethod": "median-run"}]
        for audit, value in lighthouse.max_metrics().items()
    }
    return {
        "ci": {
            "collect": {
                "url": [cfg.frontend.url + page for page in lighthouse.pages],
                "numberOfRuns": lighthouse.runs,
                "settings": settings,
            },
            "assert": {"assertions": assertions},
            "upload": {"target": "filesystem"},  # --outputDir on the command line: $RUNNER_TEMP is the shell's
        }
    }


def _settings(cfg: StackConfig) -> PerformanceSettings:
    if cfg.performance is None:
        raise ValueError(f"stack {cfg.stack} has no maya-infra:performance section")
    return cfg.performance


def run_seconds(perf: PerformanceSettings) -> int:
    """Locust's ``--run-time``: the ramp, then ``durationSeconds`` at full load."""
    return math.ceil(perf.ramp_seconds) + perf.duration_seconds


def timeout_minutes(perf: PerformanceSettings) -> int:
    """The job's bound: installs and baseline (5 min), the load test, every Lighthouse run, the uploads."""
    lighthouse = perf.lighthouse
    audits = len(lighthouse.pages) * lighthouse.runs * LIGHTHOUSE_SECONDS_PER_RUN if lighthouse.enabled else 0
    return 8 + math.ceil((run_seconds(perf) + audits) / 60)


def _expr_path(path: str) -> str:
    """A ``$RUNNER_TEMP`` path as an action input (``with:`` is not a shell: ``${{ runner.temp }}``)."""
    return path.replace("$RUNNER_TEMP", expr("runner.temp"))


def _load_steps(cfg: StackConfig, perf: PerformanceSettings) -> list[Step]:
    urls: dict[str, str] = {"FRONTEND_URL": cfg.frontend.url}
    if cfg.backend.custom_domain:
        urls["BACKEND_URL"] = f"https://{cfg.backend.custom_domain}"
    locust = [
        "set -euo pipefail",
        f'mkdir -p "{OUT}"',
        f'locust -f "$RUNNER_TEMP/locustfile.py" --headless --users {perf.users} --spawn-rate {perf.spawn_rate:g} \\',
        f"  --run-time {run_seconds(perf)}s --reset-stats --only-summary --exit-code-on-error 0 \\",
        f'  --csv "{OUT}/locust" --html "{OUT}/report.html"',
    ]
    evaluate = run_script(
        "perf_report.py",
        f'evaluate --stats "{STATS}" ${{BASELINE_FILE:+--baseline "$BASELINE_FILE"}} --baseline-note "$BASELINE_NOTE"',
    )
    return [
        {
            "name": "Check out the CI tools' lockfiles",
            "uses": pins.uses("actions/checkout"),
            "with": {"persist-credentials": False, "sparse-checkout": tools.FOLDER},
        },
        {
            "name": "Set up Python",
            "uses": pins.uses("actions/setup-python"),
            "with": {
                "python-version": pins.PYTHON_BACKEND,
                "cache": "pip",
                "cache-dependency-path": f"{tools.FOLDER}/{tools.PERFORMANCE_TOOLS}",
            },
        },
        {
            "name": "Install Locust from its lockfile",
            "run": "\n".join(
                [
                    "set -euo pipefail",
                    *tools.install_in_venv(tools.PERFORMANCE_TOOLS, VENV),
                    f'echo "{VENV}/bin" >> "$GITHUB_PATH"',
                ]
            )
            + "\n",
        },
        write_script("locustfile.py"),
        write_script("perf_report.py"),
        write_script("perf_baseline.py"),
        {
            "name": f"Fetch the baseline: the last successful run on {cfg.github.branch}",
            "id": "baseline",
            "env": {
                "GITHUB_TOKEN": expr("github.token"),
                "REPO": expr("github.repository"),
                "RUN_ID": expr("github.run_id"),
            },
            "run": run_script(
                "perf_baseline.py",
                f'--repo "$REPO" --branch {cfg.github.branch} --artifact {BASELINE_ARTIFACT} '
                f'--out "{BASELINE}" --exclude-run "$RUN_ID"',
            ),
        },
        {
            "name": "Load test of staging (Locust, headless)",
            "env": urls,
            "run": "\n".join(locust) + "\n",
        },
        {
            "name": "Judge the budgets and the regression rule (job summary)",
            "env": {
                "BASELINE_FILE": expr("steps.baseline.outputs.file"),
                "BASELINE_NOTE": expr("steps.baseline.outputs.note"),
            },
            "run": evaluate,
        },
        upload_artifact("Keep the load test report", REPORT_ARTIFACT, _expr_path(OUT)),
    ]


def _lighthouse_steps(cfg: StackConfig, node_version: str) -> list[Step]:
    """Set up Node, ``npm ci`` the locked @lhci/cli, collect, report, assert; each even after a failed load budget."""
    when = "!cancelled()"  # the audit runs (and reports) even when a load budget failed
    audited = "!cancelled() && steps.lighthouse.outcome == 'success'"
    node = setup_node(node_version, f"{LIGHTHOUSE_DIR}/package-lock.json")
    inside = {"working-directory": LIGHTHOUSE_DIR}  # lhci keeps its runs in ./.lighthouseci between steps
    return [
        {"name": node["name"], "if": when, **{k: v for k, v in node.items() if k != "name"}},
        {
            "name": "Install Lighthouse CI (npm ci from its lock file)",
            "if": when,
            **inside,
            "run": "npm ci --ignore-scripts --no-audit --no-fund",
        },
        {
            "name": "Lighthouse CI: audit the staging pages",
            "id": "lighthouse",
            "if": when,
            **inside,
            "run": "\n".join(
                [
                    "set -euo pipefail",
                    f"cat > \"{LHCI_CONFIG}\" <<'LIGHTHOUSERC'",
                    json.dumps(lighthouserc(cfg), indent=2),
                    "LIGHTHOUSERC",
                    f'npx --no-install lhci collect --config="{LHCI_CONFIG}"',
                    f'npx --no-install lhci upload --config="{LHCI_CONFIG}" --outputDir="{LHCI_OUT}"',
                ]
            )
            + "\n",
        },
        {
            "name": "Lighthouse report (job summary)",
            "if": audited,
            "run": run_script("perf_report.py", f'lighthouse --manifest "{LHCI_OUT}/manifest.json"'),
        },
        {
            "name": "Lighthouse budgets (lhci assert)",
            "if": audited,
            **inside,
            "run": f'npx --no-install lhci assert --config="{LHCI_CONFIG}"',
        },
        upload_artifact("Keep the Lighthouse reports", LIGHTHOUSE_ARTIFACT, _expr_path(LHCI_OUT)),
    ]


def performance_jobs(configs: Sequence[StackConfig], *, after: Sequence[str]) -> dict[str, Job]:
    """``{"performance": job}`` after a staging deploy (``after``: the deploy job and what must finish first),
    or nothing when no stack has ``maya-infra:performance``."""
    cfg = performance_source(configs)
    if cfg is None:
        return {}
    perf = _settings(cfg)
    steps = _load_steps(cfg, perf)
    if perf.lighthouse.enabled:
        steps += _lighthouse_steps(cfg, cfg.frontend.node_version or pins.NODE_VERSION_FALLBACK)
    steps.append(
        upload_artifact(
            "Keep this run as the next baseline (every budget held)",
            BASELINE_ARTIFACT,
            _expr_path(STATS),
            when="success()",
            days=BASELINE_RETENTION_DAYS,
        )
    )
    return {
        PERFORMANCE_JOB: job(
            PERFORMANCE_JOB,  # named like its id: the staging gate finds it by its display name
            steps,
            timeout=timeout_minutes(perf),
            needs=[CHANGES_JOB, *after],
            condition=staging_only([cfg.environment]),
            permissions={
                "contents": "read",
                "actions": because("read", "fetches the last successful run's statistics (artifact)"),
            },
            concurrency={"group": f"performance-{cfg.environment}", "cancel-in-progress": False},
            env={"PERFORMANCE_PLAN": json.dumps(plan(cfg), separators=(",", ":"))},
        )
    }
