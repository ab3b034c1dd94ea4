"""What a health check after a deploy asserts: the status, and the body (``monitoring.healthBody``).

The backend's ``/api/health`` must say the database and the external APIs are fine, not merely answer 200
(DEPLOYMENT_PIPELINE.md "Health Checks: Database, external APIs"). The expectations are the stack's
``monitoring.healthBody`` — the same ones Checkly asserts — or the defaults when a stack has no
monitoring section; workflows/scripts/health_check.py evaluates them.
"""

from __future__ import annotations

import re
import shlex

from config import StackConfig
from config.monitoring import MonitoringSettings

#: Attempts and seconds between them while a new deployment starts answering (about two minutes).
ATTEMPTS = 12
DELAY_SECONDS = 10
_SIMPLE_PATH = re.compile(r"^\$(\.[A-Za-z_][A-Za-z0-9_]*)+$")


def health_expectations(cfg: StackConfig) -> list[str]:
    """``$.path=value`` for each ``healthBody`` assertion; only dotted paths (what the script can read)."""
    body = (cfg.monitoring or MonitoringSettings(alert_emails=("unused@example.com",))).health_body
    unsupported = [a.path for a in body if not _SIMPLE_PATH.match(a.path)]
    if unsupported:
        raise ValueError(
            f"monitoring.healthBody paths {unsupported} are not dotted field paths ($.a.b); the deploy "
            "health checks cannot evaluate them"
        )
    return [f"{a.path}={a.equals}" for a in body]


def health_arguments(cfg: StackConfig) -> str:
    """The arguments of health_check.py after the URL: every expectation, the attempts and the delay."""
    expects = " ".join(f"--expect {shlex.quote(e)}" for e in health_expectations(cfg))
    return f"{expects} --attempts {ATTEMPTS} --delay {DELAY_SECONDS}"
