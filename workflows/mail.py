"""Alert mail from the pipelines: a failed run on a deploy branch, and the scheduled monitor's incidents.

A failing workflow run mails only whoever triggered it, never a list, so the pipelines send the mail
themselves: ``curl`` speaks SMTP (no third-party action to pin), to every address of the stack's
``monitoring.alertEmails``. The SMTP URL (credentials inside, ``smtps://user:password@host:465``) is a
secret of the GitHub environment ``<environment>-alerts`` that maya-infra declares per stack
(components/github.py): it has no required reviewers — an alert must never wait for an approval — and only
the stack's branch may use it; it holds nothing but the mail settings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from config.envvars import ALERTS_SUFFIX
from workflows.pipeline import CHANGES_JOB
from workflows.render import Job, Step, expr, job, script

ALERT_JOB = "alert"
RUN_URL = expr("github.server_url") + "/" + expr("github.repository") + "/actions/runs/" + expr("github.run_id")

_SEND = script("""
    set -euo pipefail
    if [ -z "${SMTP_URL:-}" ] || [ -z "${ALERT_EMAILS:-}" ]; then
      echo "::error::no SMTP_URL or ALERT_EMAILS in this environment: set maya-infra:smtpUrl and monitoring.alertEmails"
      exit 1
    fi
    from="${ALERT_FROM:-${ALERT_EMAILS%%,*}}"
    recipients=()
    IFS=',' read -ra addresses <<<"$ALERT_EMAILS"
    for address in "${addresses[@]}"; do
      address="${address// /}"
      [ -n "$address" ] && recipients+=(--mail-rcpt "$address")
    done
    {
      printf 'From: %s\\r\\n' "$from"
      printf 'To: %s\\r\\n' "$ALERT_EMAILS"
      printf 'Subject: %s\\r\\n' "$SUBJECT"
      printf 'Date: %s\\r\\n' "$(date -R)"
      printf 'Content-Type: text/plain; charset=utf-8\\r\\n\\r\\n'
      printf '%s\\r\\n' "$BODY"
    } > "$RUNNER_TEMP/alert.eml"
    curl --fail --silent --show-error --ssl-reqd --max-time 60 --retry 3 --retry-all-errors \\
      --url "$SMTP_URL" --mail-from "$from" "${recipients[@]}" --upload-file "$RUNNER_TEMP/alert.eml"
    echo "alert mailed to ${#addresses[@]} address(es): $SUBJECT" >> "$GITHUB_STEP_SUMMARY"
    """)


def alerts_environment(environment_expression: str) -> str:
    """The ``environment:`` value of a job that mails: the stack's environment name plus the suffix."""
    return expr(environment_expression) + ALERTS_SUFFIX


def mail_env() -> dict[str, str]:
    """The mail settings of the alerts environment (a job that mails declares that environment)."""
    return {
        "SMTP_URL": expr("secrets.SMTP_URL"),
        "ALERT_EMAILS": expr("vars.ALERT_EMAILS"),
        "ALERT_FROM": expr("vars.ALERT_FROM"),
    }


def send_mail_step(name: str, subject: str, body: str, condition: str | None = None) -> Step:
    """A step mailing ``monitoring.alertEmails``; ``subject`` and ``body`` may hold expressions (passed by env)."""
    step: Step = {"name": name}
    if condition:
        step["if"] = condition
    step["env"] = {**mail_env(), "SUBJECT": subject, "BODY": body}
    step["run"] = _SEND
    return step


def pipeline_alert_job(pipeline: str, needs: Sequence[str], details: Mapping[str, str] | None = None) -> Job:
    """Mails ``alertEmails`` when a run on a deploy branch failed: a stage, the deploy, E2E or the gate.

    Runs only for pushes that deploy (the ``changes`` job named an environment); pull requests mail nobody.
    """
    environment = f"needs.{CHANGES_JOB}.outputs.environment"
    lines = [
        f"The {pipeline} pipeline failed on " + expr("github.ref_name") + " (" + expr("github.sha") + ").",
        "Environment: " + expr(environment),
        "Run: " + RUN_URL,
        "Stage results: " + expr("toJSON(needs)"),
        *(f"{k}: {v}" for k, v in (details or {}).items()),
        "Nothing failed silently: fix the cause, or roll back with `python -m ops rollback`.",
    ]
    return job(
        f"Mail the alert recipients ({pipeline} failed)",
        [
            send_mail_step(
                "Mail monitoring.alertEmails",
                f"[maya {expr(environment)}] {pipeline} pipeline failed on {expr('github.ref_name')}",
                "\n".join(lines),
            )
        ],
        timeout=5,
        needs=[CHANGES_JOB, *needs],
        condition=f"failure() && github.event_name == 'push' && {environment} != ''",
        permissions={},
        environment={"name": alerts_environment(environment)},
    )
