"""Scheduled monitoring of every environment: backend health endpoint and frontend, alerting by issue.

The URLs are written into the workflow from each stack's config (frontend.domains, backend.customDomain,
backend.healthcheckPath) rather than read from the environments' BACKEND_URL/FRONTEND_URL variables: a job
can only read an environment's variables by declaring the environment, and production's required
reviewers would then hold every run, every five minutes, for approval.

The backend's 5xx share over ``monitoring.backendErrorRate.windowMinutes`` is read from Railway's request
metrics (workflows/scripts/error_rate.py) where this workflow is the stack's poller — staging without
Checkly; production's metrics token never reaches GitHub. Its token, service and environment ids are the
secret/variables of the backend repository's ``<environment>-alerts`` (config/envvars.py).

The backend's health body is asserted like the deploy jobs do (``monitoring.healthBody``: database,
external APIs), not only its status. The run itself stays green while an environment is down: the issue
and the mail are the alert (a failing scheduled run would mail whoever last edited the schedule, every
five minutes). A new incident and its recovery are mailed to the stack's ``monitoring.alertEmails``
through the environment ``<environment>-alerts`` (workflows/mail.py), once each, not every run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from config import StackConfig
from config.monitoring import MONITORING_SCHEDULE
from workflows.alerts import clear_alert, raise_alert
from workflows.mail import RUN_URL, alerts_environment, send_mail_step
from workflows.pipeline import Route, routes_source
from workflows.render import because, dump, expr, header, job, run_script, script, write_script
from workflows.smoke import health_expectations

PATH = ".github/workflows/monitor.yml"
SCHEDULE = "*/5 * * * *"  # GitHub's shortest interval; runs can start late when GitHub is busy
LABEL = "monitoring"

_ERROR_RATE = script(f"""
    set -euo pipefail
    if [ -z "$WINDOW" ]; then
      echo "::notice::the backend 5xx rate is not polled here: $WHY"
      exit 0
    fi
    {run_script("error_rate.py", '--threshold "$THRESHOLD" --window "$WINDOW" --min-requests "$MIN_REQUESTS"')}
    """)

_CHECK = script(f"""
    set -euo pipefail
    if [ -z "$URL" ]; then
      echo "::notice::not monitored: set backend.customDomain in this stack's config"
      exit 0
    fi
    {run_script("health_check.py", '"$URL" --expect-env EXPECT --attempts 3 --delay 10')}
    """)


def _error_rate(cfg: StackConfig) -> dict[str, str]:
    """The 5xx-rate poll's settings for this environment; empty (with the reason) where the workflow does not poll.

    Only a stack whose ``error_rate_poller`` is this workflow has the metrics token in its alerts environment;
    production's never leaves Checkly (docs/monitoring.md).
    """
    rate = cfg.monitoring.backend_error_rate if cfg.monitoring else None
    if cfg.error_rate_poller == MONITORING_SCHEDULE and rate is not None:
        return {
            "error_rate_threshold": f"{rate.threshold_percent:g}",
            "error_rate_window": str(rate.window_minutes),
            "error_rate_min_requests": str(rate.min_requests),
            "error_rate_api_url": cfg.railway.api_url,
            "error_rate_off": "",
        }
    why = (
        "production's metrics token never reaches GitHub; Checkly polls it"
        if cfg.is_production
        else "monitoring.backendErrorRate is off, or Railway is not in this stack"
    )
    return {
        "error_rate_threshold": "",
        "error_rate_window": "",
        "error_rate_min_requests": "",
        "error_rate_api_url": "",
        "error_rate_off": why,
    }


def _target(cfg: StackConfig) -> dict[str, str]:
    backend = f"https://{cfg.backend.custom_domain}{cfg.backend.healthcheck_path}" if cfg.backend.custom_domain else ""
    return {
        "environment": cfg.environment,
        "backend_health_url": backend,
        "backend_expect": "\n".join(health_expectations(cfg)),
        "frontend_url": f"{cfg.frontend.url}/",
        **_error_rate(cfg),
    }


#: A check step's outcome, in the alert and the mail.
_OUTCOMES = {
    "backend health": expr("steps.backend.outcome") + " (" + expr("matrix.backend_health_url") + ")",
    "frontend": expr("steps.frontend.outcome") + " (" + expr("matrix.frontend_url") + ")",
}
_CHECK_IDS = ("backend", "frontend", "errors")
_TITLE = "Monitoring: " + expr("matrix.environment") + " is unhealthy"


def _check_steps() -> list[dict[str, Any]]:
    """The three checks; each may fail (``continue-on-error``) so that the alert steps see every outcome."""
    return [
        write_script("health_check.py"),
        write_script("error_rate.py"),
        {
            "name": "Check the backend health endpoint (status and body)",
            "id": "backend",
            "continue-on-error": True,
            "env": {"URL": expr("matrix.backend_health_url"), "EXPECT": expr("matrix.backend_expect")},
            "run": _CHECK,
        },
        {
            "name": "Check the frontend",
            "id": "frontend",
            "continue-on-error": True,
            "env": {"URL": expr("matrix.frontend_url"), "EXPECT": ""},
            "run": _CHECK,
        },
        {
            "name": "Check the backend 5xx rate (Railway's request metrics)",
            "id": "errors",
            "continue-on-error": True,
            "env": {
                "THRESHOLD": expr("matrix.error_rate_threshold"),
                "WINDOW": expr("matrix.error_rate_window"),
                "MIN_REQUESTS": expr("matrix.error_rate_min_requests"),
                "WHY": expr("matrix.error_rate_off"),
                "RAILWAY_API_URL": expr("matrix.error_rate_api_url"),
                "RAILWAY_METRICS_TOKEN": expr("secrets.RAILWAY_METRICS_TOKEN"),
                "RAILWAY_SERVICE_ID": expr("vars.RAILWAY_SERVICE_ID"),
                "RAILWAY_ENVIRONMENT_ID": expr("vars.RAILWAY_ENVIRONMENT_ID"),
            },
            "run": _ERROR_RATE,
        },
    ]


def _alert_steps() -> list[dict[str, Any]]:
    """One issue per unhealthy environment, mailed once when it opens and once when it closes (not every run)."""
    failing = " || ".join(f"steps.{i}.outcome == 'failure'" for i in _CHECK_IDS)
    healthy = " && ".join(f"steps.{i}.outcome == 'success'" for i in _CHECK_IDS)
    errors_line = "backend 5xx rate: " + expr("steps.errors.outcome") + " (the run's log says the rate and window)"
    return [
        raise_alert(_TITLE, LABEL, failing, {**_OUTCOMES, "backend 5xx rate": expr("steps.errors.outcome")}),
        send_mail_step(
            "Mail the alert recipients: a new incident",
            "[maya " + expr("matrix.environment") + "] unhealthy: " + _TITLE,
            "\n".join(
                [
                    _TITLE,
                    *(f"{name}: {outcome}" for name, outcome in _OUTCOMES.items()),
                    errors_line,
                    "Run: " + RUN_URL,
                    "The issue labelled monitoring stays open until a check passes; recovery is mailed too.",
                ]
            ),
            "steps.alert.outputs.opened == 'true'",
        ),
        clear_alert(_TITLE, LABEL, healthy),
        send_mail_step(
            "Mail the alert recipients: recovered",
            "[maya " + expr("matrix.environment") + "] recovered",
            expr("matrix.environment") + " is healthy again (" + RUN_URL + ").",
            "steps.recovery.outputs.closed == 'true'",
        ),
    ]


def render(configs: Sequence[StackConfig], routes: Sequence[Route]) -> str:
    """The monitor workflow, checking the environments of every stack in ``configs``."""
    steps = [*_check_steps(), *_alert_steps()]
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
                environment={"name": alerts_environment("matrix.environment")},
            ),
        },
    }
    return dump(
        document,
        header(
            f"Monitoring: every environment's backend health endpoint (status and body), frontend and backend 5xx rate "
            "(Railway's request metrics, where this workflow polls them), on the schedule "
            f"'{SCHEDULE}'; an unhealthy environment opens (or updates) one issue labelled '{LABEL}', closed on "
            "recovery; the new incident and the recovery are mailed to the stack's monitoring.alertEmails.",
            routes_source(routes),
            notes,
        ),
    )
