"""Every alert rule a stack declares: which trigger, which channel detects it, who is mailed, how fast.

One pure function of the validated config, so the stack output ``alert_rules``, ``python -m ops status``
and docs/monitoring.md's table all say the same thing. The latencies are *as configured*: the worst case
from the moment something breaks to the moment the mail is handed to the mail system, from the check
intervals, escalation thresholds and retry back-offs the program declares (components/monitoring.py,
workflows/*). Platform-side delays (Checkly's, Railway's and GitHub's queues, mail delivery) come on top
and are not under our control; where a channel publishes none, the entry says so.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from config.model import StackConfig
from config.monitoring import MONITORING_CHECKLY, MONITORING_SCHEDULE

#: Checkly retries a failed run from another location with a linear back-off (components/monitoring.py); the
#: 5xx-rate check retries a failed Railway API call the same way as the backend check.
BACKEND_RETRY_BACKOFF_SECONDS = ERROR_RATE_RETRY_BACKOFF_SECONDS = 5
FRONTEND_RETRY_BACKOFF_SECONDS = 30
#: The scheduled monitor: GitHub's shortest schedule, and what one check may take (3 attempts, 10 s apart).
SCHEDULE_SECONDS = 300
SCHEDULE_CHECK_SECONDS = 3 * 15 + 2 * 10
#: A job that mails after a failed pipeline job: runner start plus the curl (bounded by its own timeout).
ALERT_JOB_SECONDS = 60


@dataclass(frozen=True)
class AlertRule:
    trigger: str
    detected_by: str
    mails: str
    #: worst case from the failure to the mail being sent, as configured; None when the channel publishes none
    latency_seconds: int | None
    how: str

    def as_output(self) -> dict[str, object]:
        return asdict(self)


def _linear_backoff(retries: int, base: int) -> int:
    """Seconds waited before the retries of one run: base, 2×base, … (Checkly's LINEAR strategy)."""
    return sum(base * (i + 1) for i in range(retries))


def alert_rules(cfg: StackConfig) -> list[AlertRule]:
    """The stack's active alert rules; empty without ``maya-infra:monitoring`` (nobody to mail)."""
    mon = cfg.monitoring
    if mon is None:
        return []
    emails = ", ".join(mon.alert_emails)
    rules: list[AlertRule] = []
    if cfg.monitoring_mode == MONITORING_CHECKLY:
        interval, runs = mon.backend_frequency_seconds, mon.alert_after_failed_runs
        backend_retry = _linear_backoff(mon.retries, BACKEND_RETRY_BACKOFF_SECONDS)
        frontend_every = mon.frontend_frequency_minutes * 60
        frontend_retry = _linear_backoff(mon.retries, FRONTEND_RETRY_BACKOFF_SECONDS)
        rules += [
            AlertRule(
                "backend health check fails (status, or the body: database, external APIs)",
                f"Checkly, every {interval} s from {len(mon.locations)} locations",
                emails,
                runs * interval + backend_retry,
                f"{runs} failed runs in a row × {interval} s + {backend_retry} s of retries",
            ),
            AlertRule(
                "frontend health check fails",
                f"Checkly, every {mon.frontend_frequency_minutes} min",
                emails,
                frontend_every + frontend_retry,
                f"1 failed run × {frontend_every} s + {frontend_retry} s of retries",
            ),
            AlertRule(
                f"performance degraded: a response slower than {mon.degraded_response_time_ms} ms",
                "Checkly (degraded state; mailed as 'degraded', never paged)",
                emails,
                runs * interval + backend_retry,
                f"same cadence as the backend check ({interval} s × {runs})",
            ),
            AlertRule(
                f"performance failed: a response slower than {mon.max_response_time_ms} ms",
                "Checkly (the run fails: a health check failure)",
                emails,
                runs * interval + backend_retry,
                f"same cadence as the backend check ({interval} s × {runs})",
            ),
        ]
    elif cfg.monitoring_mode == MONITORING_SCHEDULE:
        latency = SCHEDULE_SECONDS + SCHEDULE_CHECK_SECONDS + ALERT_JOB_SECONDS
        rules.append(
            AlertRule(
                "backend (status and body) or frontend health check fails",
                "scheduled monitor workflow, every 5 min (GitHub may start it late)",
                emails,
                latency,
                f"{SCHEDULE_SECONDS} s schedule + {SCHEDULE_CHECK_SECONDS} s of attempts + mail job",
            )
        )
    rules += _error_rate_rules(cfg, emails)
    if "railway" in cfg.platforms:
        rules.append(
            AlertRule(
                "backend deployment fails or crashes (any deploy: CI, auto-deploy, dashboard, restart)",
                "Railway notification rule (Deployment.failed, Deployment.crashed)",
                emails,
                None,
                "event-driven: Railway mails when the deployment changes state (no published delay)",
            )
        )
    if "github" in cfg.platforms:
        rules.append(
            AlertRule(
                f"a pipeline run on {cfg.github.branch} fails (a stage, the deploy to Railway or Vercel, smoke or "
                "E2E tests, the staging gate)",
                "the pipelines' alert job (GitHub Actions)",
                emails,
                ALERT_JOB_SECONDS,
                "the failing job's own run time, then the alert job",
            )
        )
    if "vercel" in cfg.platforms and mon.vercel_error_alerts:
        rules.append(
            AlertRule(
                "frontend functions: anomalous 5xx rate",
                "Vercel alert rule (error_anomaly, statusGroup 5xx)",
                "the Vercel team's owners (Vercel mails only team members; no list address)",
                None,
                "Vercel's anomaly detection (no published delay)",
            )
        )
    return rules


def _error_rate_rules(cfg: StackConfig, emails: str) -> list[AlertRule]:
    """The backend's 5xx share over the window, from Railway's request counts (docs/monitoring.md).

    Worst case: the 5xx start right after a poll and fill the window (``windowMinutes``), the next poll comes
    at most ``frequencyMinutes`` later (the scheduled workflow: every 5 min, its step bounded like a check),
    then the retries (Checkly) or the mail job (the workflow).
    """
    mon, poller = cfg.monitoring, cfg.error_rate_poller
    if mon is None or poller is None:
        return []
    rate = mon.backend_error_rate
    window = rate.window_minutes * 60
    trigger = (
        f"high error rate: backend 5xx above {rate.threshold_percent:g}% of requests over {rate.window_minutes} min "
        f"(at least {rate.min_requests} requests)"
    )
    if poller == MONITORING_CHECKLY:
        every = rate.frequency_minutes * 60
        retry = _linear_backoff(mon.retries, ERROR_RATE_RETRY_BACKOFF_SECONDS)
        return [
            AlertRule(
                trigger,
                f"Checkly, Railway's request metrics every {rate.frequency_minutes} min (teardown script)",
                emails,
                window + every + retry,
                f"{window} s window + {every} s between polls + {retry} s of retries (1 failed run alerts)",
            )
        ]
    latency = window + SCHEDULE_SECONDS + SCHEDULE_CHECK_SECONDS + ALERT_JOB_SECONDS
    return [
        AlertRule(
            trigger,
            "scheduled monitor workflow, Railway's request metrics every 5 min (GitHub may start it late)",
            emails,
            latency,
            f"{window} s window + {SCHEDULE_SECONDS} s schedule + {SCHEDULE_CHECK_SECONDS} s step + mail job",
        )
    ]
