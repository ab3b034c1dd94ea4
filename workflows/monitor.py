"""Scheduled monitoring of every environment: backend health endpoint and frontend, alerting by issue.

The URLs are written into the workflow from each stack's config (frontend.domains, backend.customDomain,
backend.healthcheckPath) rather than read from the environments' BACKEND_URL/FRONTEND_URL variables: a job
can only read an environment's variables by declaring the environment, and production's required
reviewers would then hold every run, every five minutes, for approval.

The run itself stays green while an environment is down: the issue is the alert. A failing scheduled run
would also mail whoever last edited the schedule, every five minutes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from config import StackConfig
from workflows.alerts import clear_alert, raise_alert
from workflows.pipeline import Route, routes_source
from workflows.render import because, dump, expr, header, job, script

PATH = ".github/workflows/monitor.yml"
SCHEDULE = "*/5 * * * *"  # GitHub's shortest interval; runs can start late when GitHub is busy
LABEL = "monitoring"

_CHECK = script("""
    set -euo pipefail
    if [ -z "$URL" ]; then
      echo "::notice::not monitored: set backend.customDomain in this stack's config"
      exit 0
    fi
    curl --fail --silent --show-error --location --output /dev/null --write-out "%{http_code} in %{time_total}s\\n" \\
      --max-time 15 --retry 2 --retry-delay 10 --retry-all-errors "$URL"
    """)


def _target(cfg: StackConfig) -> dict[str, str]:
    backend = f"https://{cfg.backend.custom_domain}{cfg.backend.healthcheck_path}" if cfg.backend.custom_domain else ""
    return {"environment": cfg.environment, "backend_health_url": backend, "frontend_url": f"{cfg.frontend.url}/"}


def render(configs: Sequence[StackConfig], routes: Sequence[Route]) -> str:
    """The monitor workflow, checking the environments of every stack in ``configs``."""
    failing = "steps.backend.outcome == 'failure' || steps.frontend.outcome == 'failure'"
    healthy = "steps.backend.outcome == 'success' && steps.frontend.outcome == 'success'"
    title = "Monitoring: " + expr("matrix.environment") + " is unhealthy"
    steps: list[dict[str, Any]] = [
        {
            "name": "Check the backend health endpoint",
            "id": "backend",
            "continue-on-error": True,
            "env": {"URL": expr("matrix.backend_health_url")},
            "run": _CHECK,
        },
        {
            "name": "Check the frontend",
            "id": "frontend",
            "continue-on-error": True,
            "env": {"URL": expr("matrix.frontend_url")},
            "run": _CHECK,
        },
        raise_alert(
            title,
            LABEL,
            failing,
            {
                "backend health": expr("steps.backend.outcome") + " (" + expr("matrix.backend_health_url") + ")",
                "frontend": expr("steps.frontend.outcome") + " (" + expr("matrix.frontend_url") + ")",
            },
        ),
        clear_alert(title, LABEL, healthy),
    ]
    unmonitored = [c.environment for c in configs if not c.backend.custom_domain]
    notes = (
        [f"The backend of {', '.join(unmonitored)} is not monitored: its stack sets no backend.customDomain."]
        if unmonitored
        else []
    )
    document = {
        "name": "monitor",
        "on": {"schedule": [{"cron": SCHEDULE}], "workflow_dispatch": {}},
        "permissions": {},
        "concurrency": {"group": "monitor", "cancel-in-progress": False},
        "jobs": {
            "health": job(
                "Health of " + expr("matrix.environment"),
                steps,
                timeout=10,
                permissions={"issues": because("write", "opens, updates and closes the alert issue")},
                strategy={"fail-fast": False, "matrix": {"include": [_target(c) for c in configs]}},
            ),
        },
    }
    return dump(
        document,
        header(
            f"Monitoring: every environment's backend health endpoint and frontend, on the schedule '{SCHEDULE}'; "
            f"an unhealthy environment opens (or updates) one issue labelled '{LABEL}', closed on recovery.",
            routes_source(routes),
            notes,
        ),
    )
