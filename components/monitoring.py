"""Uptime monitoring of one stack with Checkly: a check group, the backend and frontend checks, alert channels.

Declared by the program when the stack's monitoring uses Checkly (``maya-infra:monitoring.provider`` is
``checkly``, or ``auto`` with the Checkly account set: secrets ``checklyApiKey`` and ``checklyAccountId``);
otherwise the scheduled monitor workflow (workflows/monitor.py) is the stack's monitoring. See
docs/monitoring.md for what is checked, how often, and who is alerted.

Alerting is chosen so that one blip does not page anyone:

* a failed run is first retried from another location (linear back-off), so one region's network trouble
  or one dropped request never fails a run;
* the backend (every 30 s, in parallel from every location) alerts only after ``alertAfterFailedRuns``
  consecutive failed runs, and only when at least half of its locations fail;
* the frontend (every 5 min) alerts after one failed run that survived its retries — waiting for a second
  run would mean ten minutes of outage;
* reminders repeat while a check stays down; recoveries are announced; degraded (slow) results go to
  e-mail and Slack, never to PagerDuty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_checkly as checkly

from components.error_rate import TOKEN_VARIABLE, request_body, setup_script, teardown_script
from config import MonitoringSettings, StackConfig

#: Reminders while a check stays down: how many, and minutes between them (Checkly allows 5/10/15/30).
REMINDERS = {"amount": 3, "interval": 15}
#: Share of the backend's locations that must fail in one parallel run for the run to count as failed.
PARALLEL_FAILURE_PERCENTAGE = 50


@dataclass(frozen=True)
class ErrorRateSource:
    """Where the backend 5xx-rate check reads Railway's request counts (components/error_rate.py)."""

    #: the stack's metrics project token (a secret Output); Checkly holds it as a secret group variable
    token: pulumi.Input[str]
    service_id: pulumi.Input[str]
    environment_id: pulumi.Input[str]


@dataclass(frozen=True)
class CheckMonitoringArgs:
    config: StackConfig
    #: The backend's public base URL (the Railway output, or https://<backend.customDomain>).
    backend_url: pulumi.Input[str]
    provider: checkly.Provider
    #: Railway's request counts for the 5xx-rate check; None without Railway or with the check turned off.
    error_rate: ErrorRateSource | None = None


def _slug(value: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")


def _schedule(seconds: int) -> tuple[int, int | None]:
    """Checkly's ``frequency`` (minutes), or 0 with ``frequency_offset`` (10/20/30 s) for sub-minute checks."""
    if seconds < 60:
        return 0, seconds
    return seconds // 60, None


def _alert_after(failed_runs: int) -> dict[str, Any]:
    """Checkly's escalation: alert after ``failed_runs`` failed runs in a row, then remind while it stays down."""
    return {
        "escalation_type": "RUN_BASED",
        "run_based_escalations": [{"failed_run_threshold": failed_runs}],
        "reminders": [REMINDERS],
    }


def _retries(count: int, backoff_seconds: int, max_duration_seconds: int) -> dict[str, Any]:
    if count == 0:
        return {"type": "NO_RETRIES"}
    return {
        "type": "LINEAR",
        "base_backoff_seconds": backoff_seconds,
        "max_retries": count,
        "max_duration_seconds": max_duration_seconds,
        "same_region": False,  # retry from another location: a regional blip is not an outage
    }


def _channel_id(channel: checkly.AlertChannel) -> pulumi.Output[int]:
    return channel.id.apply(int)  # Checkly ids are numbers; the provider hands them over as strings


class CheckMonitoring(pulumi.ComponentResource):
    """Checkly check group ``maya-<stack>``, its checks (backend health, frontend, backend 5xx rate) and the
    stack's alert channels.

    Built in named steps — channels, group, backend check, frontend check, summary — each declaring what
    its name says; resource names are unchanged from the single-constructor version (no replacement).
    """

    group_id: pulumi.Output[str]
    backend_check_id: pulumi.Output[str]
    frontend_check_id: pulumi.Output[str]
    #: the backend 5xx-rate check, or None (no Railway, or ``monitoring.backendErrorRate.enabled`` false)
    error_rate_check_id: pulumi.Output[str] | None
    #: What is monitored, how often and who is alerted (a stack output; never a secret value).
    summary: dict[str, Any]

    def __init__(self, name: str, args: CheckMonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("maya:monitoring:Checkly", name, None, opts)
        cfg = args.config
        mon = cfg.monitoring
        if mon is None:
            raise ValueError("maya-infra:monitoring is not set: nothing to monitor with")
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        tags = ["maya", cfg.stack]

        channels = self._alert_channels(name, cfg, mon, child)
        subscriptions = [{"channel_id": _channel_id(c), "activated": True} for c in channels]
        error_rate = args.error_rate if mon.backend_error_rate.enabled else None
        group = self._group(name, cfg, tags, child, error_rate)
        health_url = pulumi.Output.concat(args.backend_url, cfg.backend.healthcheck_path)
        backend = self._backend_check(name, cfg, mon, health_url, group.id.apply(int), subscriptions, tags, child)
        frontend = self._frontend_check(name, cfg, mon, group.id.apply(int), subscriptions, tags, child)
        rate_check = (
            self._error_rate_check(name, cfg, mon, error_rate, group.id.apply(int), subscriptions, tags, child)
            if error_rate is not None
            else None
        )

        self.group_id = group.id
        self.backend_check_id = backend.id
        self.frontend_check_id = frontend.id
        self.error_rate_check_id = rate_check.id if rate_check is not None else None
        self.summary = self._summary(cfg, mon, health_url, error_rate is not None)
        self.register_outputs(
            {
                "group_id": self.group_id,
                "backend_check_id": self.backend_check_id,
                "frontend_check_id": self.frontend_check_id,
                "error_rate_check_id": self.error_rate_check_id,
            }
        )

    # ---- step 1: alert channels: e-mail always; Slack and PagerDuty behind their settings ------------------
    def _alert_channels(
        self, name: str, cfg: StackConfig, mon: MonitoringSettings, child: pulumi.ResourceOptions
    ) -> list[checkly.AlertChannel]:
        channels = [self._email_channel(name, address, child) for address in mon.alert_emails]
        if mon.slack.enabled:
            channels.append(
                checkly.AlertChannel(
                    f"{name}-slack",
                    slack={"url": self._secret(cfg, "slackWebhookUrl"), "channel": mon.slack.channel},
                    send_failure=True,
                    send_recovery=True,
                    send_degraded=True,
                    opts=pulumi.ResourceOptions.merge(
                        child, pulumi.ResourceOptions(additional_secret_outputs=["slack"])
                    ),
                )
            )
        if mon.pagerduty.enabled:
            channels.append(
                checkly.AlertChannel(
                    f"{name}-pagerduty",
                    pagerduty={
                        "service_key": self._secret(cfg, "pagerdutyServiceKey"),
                        "account": mon.pagerduty.account,
                        "service_name": mon.pagerduty.service_name,
                    },
                    send_failure=True,
                    send_recovery=True,  # resolves the incident
                    send_degraded=False,  # slow is not down: never page for it
                    opts=pulumi.ResourceOptions.merge(
                        child, pulumi.ResourceOptions(additional_secret_outputs=["pagerduty"])
                    ),
                )
            )
        return channels

    @staticmethod
    def _email_channel(name: str, address: str, child: pulumi.ResourceOptions) -> checkly.AlertChannel:
        """One address: failures, recoveries, degraded (slow) results as their own mails, and expiring TLS."""
        return checkly.AlertChannel(
            f"{name}-email-{_slug(address)}",
            email={"address": address},
            send_failure=True,
            send_recovery=True,
            send_degraded=True,
            ssl_expiry=True,
            ssl_expiry_threshold=14,
            opts=child,
        )

    # ---- step 2: one group per stack ---------------------------------------------------------------------
    @staticmethod
    def _group(
        name: str,
        cfg: StackConfig,
        tags: list[str],
        child: pulumi.ResourceOptions,
        error_rate: ErrorRateSource | None = None,
    ) -> checkly.CheckGroupV2:
        """The group; with the 5xx-rate check it holds the metrics token as a *secret* environment variable
        (never shown again in Checkly's UI or API, and a secret in Pulumi's state)."""
        extra: dict[str, Any] = {}
        opts = child
        if error_rate is not None:
            extra["environment_variables"] = [
                {
                    "key": TOKEN_VARIABLE,
                    "value": pulumi.Output.secret(error_rate.token),
                    "secret": True,
                    "locked": True,
                }
            ]
            opts = pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(additional_secret_outputs=["environment_variables"])
            )
        return checkly.CheckGroupV2(
            f"{name}-group",
            name=f"maya-{cfg.stack}",
            activated=True,
            muted=False,
            concurrency=2,
            tags=tags,
            opts=opts,
            **extra,
        )

    # ---- step 3: backend: /api/health every 30 s from every location, status and body asserted -----------
    @staticmethod
    def _backend_check(
        name: str,
        cfg: StackConfig,
        mon: MonitoringSettings,
        health_url: pulumi.Output[str],
        group_id: pulumi.Output[int],
        subscriptions: list[dict[str, Any]],
        tags: list[str],
        child: pulumi.ResourceOptions,
    ) -> checkly.Check:
        frequency, frequency_offset = _schedule(mon.backend_frequency_seconds)
        assertions: list[dict[str, str]] = [{"source": "STATUS_CODE", "comparison": "EQUALS", "target": "200"}]
        assertions += [
            {"source": "JSON_BODY", "property": a.path, "comparison": "EQUALS", "target": a.equals}
            for a in mon.health_body
        ]
        return checkly.Check(
            f"{name}-backend-health",
            name=f"maya {cfg.stack}: backend {cfg.backend.healthcheck_path}",
            type="API",
            activated=True,
            muted=False,
            frequency=frequency,
            frequency_offset=frequency_offset,
            locations=list(mon.locations),
            run_parallel=True,
            degraded_response_time=mon.degraded_response_time_ms,
            max_response_time=mon.max_response_time_ms,
            group_id=group_id,
            tags=[*tags, "backend"],
            request={
                "method": "GET",
                "url": health_url,
                "follow_redirects": False,
                "skip_ssl": False,
                "assertions": assertions,
            },
            retry_strategy=_retries(mon.retries, backoff_seconds=5, max_duration_seconds=60),
            use_global_alert_settings=False,
            alert_settings={
                **_alert_after(mon.alert_after_failed_runs),
                "parallel_run_failure_thresholds": [{"enabled": True, "percentage": PARALLEL_FAILURE_PERCENTAGE}],
            },
            alert_channel_subscriptions=subscriptions,
            opts=child,
        )

    # ---- step 4: frontend: the site every 5 minutes --------------------------------------------------------
    @staticmethod
    def _frontend_check(
        name: str,
        cfg: StackConfig,
        mon: MonitoringSettings,
        group_id: pulumi.Output[int],
        subscriptions: list[dict[str, Any]],
        tags: list[str],
        child: pulumi.ResourceOptions,
    ) -> checkly.Check:
        return checkly.Check(
            f"{name}-frontend",
            name=f"maya {cfg.stack}: frontend {cfg.frontend.primary_domain}",
            type="API",
            activated=True,
            muted=False,
            frequency=mon.frontend_frequency_minutes,
            locations=list(mon.locations),
            run_parallel=False,
            degraded_response_time=mon.degraded_response_time_ms,
            max_response_time=mon.max_response_time_ms,
            group_id=group_id,
            tags=[*tags, "frontend"],
            request={
                "method": "GET",
                "url": f"{cfg.frontend.url}/",
                "follow_redirects": True,
                "skip_ssl": False,
                "assertions": [{"source": "STATUS_CODE", "comparison": "EQUALS", "target": "200"}],
            },
            retry_strategy=_retries(mon.retries, backoff_seconds=30, max_duration_seconds=300),
            use_global_alert_settings=False,
            alert_settings=_alert_after(1),
            alert_channel_subscriptions=subscriptions,
            opts=child,
        )

    # ---- step 5: the backend's 5xx share, from Railway's request counts (components/error_rate.py) --------
    @staticmethod
    def _error_rate_check(
        name: str,
        cfg: StackConfig,
        mon: MonitoringSettings,
        source: ErrorRateSource,
        group_id: pulumi.Output[int],
        subscriptions: list[dict[str, Any]],
        tags: list[str],
        child: pulumi.ResourceOptions,
    ) -> checkly.Check:
        """POSTs Railway's metrics query every ``frequencyMinutes``; the teardown script fails the run when the
        5xx share of the last ``windowMinutes`` is above ``thresholdPercent`` (with ``minRequests`` at least).

        One location per run (the answer is Railway's, the same from anywhere); one failed run alerts — the
        window already smooths a blip — after the retries that absorb a passing Railway API error.
        """
        rate = mon.backend_error_rate
        return checkly.Check(
            f"{name}-backend-error-rate",
            name=f"maya {cfg.stack}: backend 5xx rate",
            type="API",
            activated=True,
            muted=False,
            frequency=rate.frequency_minutes,
            locations=list(mon.locations),
            run_parallel=False,
            degraded_response_time=10000,  # Railway's API, not the backend: its speed is not what is watched
            max_response_time=30000,
            group_id=group_id,
            tags=[*tags, "error-rate"],
            request={
                "method": "POST",
                "url": cfg.railway.api_url,
                "body": request_body(source.service_id, source.environment_id),
                "body_type": "JSON",
                "headers": {"Content-Type": "application/json"},
                "follow_redirects": False,
                "skip_ssl": False,
                "assertions": [{"source": "STATUS_CODE", "comparison": "EQUALS", "target": "200"}],
            },
            local_setup_script=setup_script(rate),
            local_teardown_script=teardown_script(rate),
            retry_strategy=_retries(mon.retries, backoff_seconds=5, max_duration_seconds=60),
            use_global_alert_settings=False,
            alert_settings=_alert_after(1),
            alert_channel_subscriptions=subscriptions,
            opts=child,
        )

    # ---- step 6: what the stack output says ------------------------------------------------------------------
    @staticmethod
    def _summary(
        cfg: StackConfig, mon: MonitoringSettings, health_url: pulumi.Output[str], error_rate: bool = False
    ) -> dict[str, Any]:
        rate = mon.backend_error_rate
        return {
            "group": f"maya-{cfg.stack}",
            "backend": {
                "url": health_url,
                "every_seconds": mon.backend_frequency_seconds,
                "locations": list(mon.locations),
                "asserts": ["status 200", *(f"{a.path} == {a.equals}" for a in mon.health_body)],
                "alert_after_failed_runs": mon.alert_after_failed_runs,
                "degraded_after_ms": mon.degraded_response_time_ms,
                "failed_after_ms": mon.max_response_time_ms,
            },
            "frontend": {
                "url": f"{cfg.frontend.url}/",
                "every_minutes": mon.frontend_frequency_minutes,
                "locations": list(mon.locations),
            },
            "backend_error_rate": (
                {
                    "above_percent": rate.threshold_percent,
                    "window_minutes": rate.window_minutes,
                    "min_requests": rate.min_requests,
                    "every_minutes": rate.frequency_minutes,
                }
                if error_rate
                else "off"
            ),
            "alerts": {
                "email": list(mon.alert_emails),
                "slack": mon.slack.channel if mon.slack.enabled else None,
                "pagerduty": mon.pagerduty.enabled,
            },
        }

    @staticmethod
    def _secret(cfg: StackConfig, key: str) -> pulumi.Output[str]:
        value = cfg.secret(key)
        if value is None:
            raise KeyError(f"maya-infra:{key} is required here")
        return pulumi.Output.secret(value.get_secret_value())


def checkly_provider(cfg: StackConfig) -> checkly.Provider:
    """The explicit Checkly provider of the stack: its API key and account id are secrets."""
    api_key, account_id = cfg.secret("checklyApiKey"), cfg.secret("checklyAccountId")
    if api_key is None or account_id is None:
        raise KeyError("maya-infra:checklyApiKey and maya-infra:checklyAccountId are required for Checkly")
    return checkly.Provider(
        "checkly",
        api_key=pulumi.Output.secret(api_key.get_secret_value()),
        account_id=pulumi.Output.secret(account_id.get_secret_value()),
    )
