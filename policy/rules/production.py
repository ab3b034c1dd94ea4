"""Production: its gate (reviewers), its data (never deleted or replaced, backed up) and its alerting."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from policy.rules.model import (
    ALERTS_SUFFIX,
    CHECKLY_CHANNEL,
    CHECKLY_CHECK,
    GH_ENVIRONMENT,
    GH_FILE,
    MONITOR_WORKFLOW,
    RAILWAY_BACKUP_SCHEDULE,
    RAILWAY_CUSTOM_DOMAIN,
    RAILWAY_ENVIRONMENT,
    RAILWAY_INSTANCE,
    RAILWAY_NOTIFICATION_RULE,
    RAILWAY_POSTGRES,
    RAILWAY_PROJECT,
    RAILWAY_SERVICE,
    SCAN_SUFFIX,
    UNKNOWN,
    VERCEL_DOMAIN,
    VERCEL_PROJECT,
    Resource,
    StackFacts,
    _text,
    is_handed_off,
)


def production_environment_protected(r: Resource) -> Iterator[str]:
    """The production GitHub environment: required reviewers, no self-review, admins cannot bypass."""
    if r.type != GH_ENVIRONMENT or is_handed_off(r):  # staging's, declared by production: policy/rules/trust.py
        return
    environment = r.get("environment")
    if environment is UNKNOWN:
        return
    if environment != "production" and r.stack != "production":
        return
    if isinstance(environment, str) and environment.endswith((ALERTS_SUFFIX, SCAN_SUFFIX)):
        # <environment>-alerts holds only the alert mail settings, <environment>-scan only the scanners' tokens:
        # neither can deploy anything, and neither may wait for a reviewer (the mail and the scan must run)
        return
    reviewers = r.get("reviewers")
    if reviewers is not UNKNOWN:
        ids = [
            i
            for rv in reviewers or []
            if isinstance(rv, Mapping)
            for i in [*(rv.get("users") or []), *(rv.get("teams") or [])]
        ]
        if not ids:
            yield (
                f"GitHub environment {environment!r} has no required reviewers: production deploys would not wait "
                "for approval (set maya-infra:github.reviewers)"
            )
    if r.get("preventSelfReview", "prevent_self_review") is not True:
        yield f"GitHub environment {environment!r} lets whoever triggered a deploy approve it (preventSelfReview)"
    if r.get("canAdminsBypass", "can_admins_bypass") is not False:
        yield f"GitHub environment {environment!r} lets repository admins bypass its protection (canAdminsBypass)"


#: Production's stateful and identity objects (components/safety.py): what they are, for the messages.
STATEFUL: Mapping[str, str] = {
    RAILWAY_PROJECT: "the Railway project (every service, variable and volume of the stack lives in it)",
    RAILWAY_ENVIRONMENT: "the Railway environment (its service instances and the database volume live in it)",
    RAILWAY_SERVICE: "the backend service (its id is what CI deploys to)",
    RAILWAY_POSTGRES: "the PostgreSQL service and its volume (production's data)",
    RAILWAY_CUSTOM_DOMAIN: "the backend's custom domain (a name DNS points at)",
    VERCEL_PROJECT: "the Vercel project (its id is what CI deploys to)",
    VERCEL_DOMAIN: "a production domain of the frontend (a name DNS points at)",
    GH_ENVIRONMENT: "the production GitHub environment (its reviewers gate deploys; its secrets live in it)",
}


def _is_stateful(r: Resource) -> bool:
    if r.type not in STATEFUL or is_handed_off(r):  # staging's GitHub half stays destroyable like staging
        return False
    return not (r.type == VERCEL_DOMAIN and _text(r.get("redirect")))  # a redirect domain holds no name of ours


def production_data_never_deleted_or_replaced(r: Resource) -> Iterator[str]:
    """No delete or replace of a stateful resource in production: each is declared ``protect``-ed (so the
    engine refuses to delete or replace it) and never ``delete_before_replace``."""
    if r.stack != "production" or not _is_stateful(r):
        return
    safe_path = (
        "safe path: keep it protected (components/safety.py `stateful`); renames are in-place updates; a change "
        "that needs a new object is made beside the old one and moved to by hand; to really remove it, run "
        f"`pulumi state unprotect '{r.urn}'` deliberately (README, \"Protecting production's data\")"
    )
    if r.protect is False:
        yield (
            f"{r.name} is {STATEFUL[r.type]} and is not protected: this update could delete or replace it "
            f"(the engine allows both once `protect` is gone); {safe_path}"
        )
    if r.delete_before_replace:
        yield f"{r.name} is {STATEFUL[r.type]} and asks to be deleted before it is replaced; {safe_path}"


def production_backed_up(resources: Sequence[Resource], facts: StackFacts) -> Iterator[tuple[str, str | None]]:
    """A production PostgreSQL on Railway has a backup schedule with at least one kind."""
    if facts.stack != "production":
        return
    schedules = [r for r in resources if r.type == RAILWAY_BACKUP_SCHEDULE]
    for database in (r for r in resources if r.type == RAILWAY_POSTGRES):
        if not any(r.get("kinds") for r in schedules):
            yield "production's PostgreSQL has no backup schedule (set maya-infra:backups.kinds)", database.urn


def production_monitored(resources: Sequence[Resource], facts: StackFacts) -> Iterator[tuple[str, str | None]]:
    """A production stack declares uptime checks: Checkly checks, or the scheduled monitor workflow."""
    if facts.stack != "production" or not resources:
        return
    checkly = any(r.type == CHECKLY_CHECK for r in resources)
    workflow = any(r.type == GH_FILE and _text(r.get("file")) == MONITOR_WORKFLOW for r in resources)
    if not (checkly or workflow):
        yield (
            (
                "production is not monitored: no Checkly check and no scheduled monitor workflow "
                "(see docs/monitoring.md)"
            ),
            None,
        )


PRODUCTION_BACKEND_INTERVAL_SECONDS = 30


def _check_interval_seconds(check: Resource) -> int | None:
    """Seconds between runs of a Checkly check (``frequency`` minutes, or 0 with ``frequencyOffset`` seconds)."""
    frequency = check.get("frequency")
    if not isinstance(frequency, int | float):
        return None
    if frequency == 0:
        offset = check.get("frequencyOffset", "frequency_offset")
        return int(offset) if isinstance(offset, int | float) else None
    return int(frequency) * 60


def production_alerting(resources: Sequence[Resource], facts: StackFacts) -> Iterator[tuple[str, str | None]]:
    """Production mails on an outage within a minute, on a high backend 5xx rate, and on a failed or crashed
    deployment.

    A Checkly backend check every 30 s or faster subscribed to an e-mail channel, and a Railway notification
    rule with an e-mail channel (issue 13: the scheduled workflow alone is not a monitor for production).
    """
    if facts.stack != "production" or not resources:
        return
    emails = any(r.type == CHECKLY_CHANNEL and r.get("email") for r in resources)
    fast = [
        r
        for r in resources
        if r.type == CHECKLY_CHECK
        and (_check_interval_seconds(r) or 10**6) <= PRODUCTION_BACKEND_INTERVAL_SECONDS
        and r.get("alertChannelSubscriptions", "alert_channel_subscriptions")
    ]
    if not (emails and fast):
        yield (
            f"production has no Checkly health check every {PRODUCTION_BACKEND_INTERVAL_SECONDS} s that mails "
            "monitoring.alertEmails (set the Checkly account; docs/monitoring.md)",
            None,
        )
    if any(r.type == RAILWAY_POSTGRES or r.type == RAILWAY_INSTANCE for r in resources):
        rules = [r for r in resources if r.type == RAILWAY_NOTIFICATION_RULE and r.get("channel_configs")]
        if not rules:
            yield "production's Railway project mails no one when a deployment fails or crashes", None
        if not any(_is_error_rate_check(r) for r in resources):
            yield (
                "production has no backend 5xx-rate alert: no Checkly check reads Railway's request metrics "
                "and mails monitoring.alertEmails (set monitoring.backendErrorRate.enabled; docs/monitoring.md)",
                None,
            )


#: The root field the backend 5xx-rate check asks Railway for (components/error_rate.py).
ERROR_RATE_FIELD = "httpMetricsGroupedByStatus"


def _is_error_rate_check(r: Resource) -> bool:
    """A Checkly check POSTing Railway's request-metrics query, judging it in a teardown script, that alerts."""
    if r.type != CHECKLY_CHECK:
        return False
    request = r.get("request")
    body = request.get("body") if isinstance(request, Mapping) else None
    teardown = r.get("localTeardownScript", "local_teardown_script")
    subscribed = r.get("alertChannelSubscriptions", "alert_channel_subscriptions")
    return isinstance(body, str) and ERROR_RATE_FIELD in body and bool(teardown) and bool(subscribed)
