"""The ``maya-infra:monitoring`` section: uptime checks, alert channels and the backend's 5xx-rate alert
(docs/monitoring.md). What is active per stack is decided by ``StackConfig`` (config/model.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from config.types import CheckLocation, Email, _Section

MonitoringProvider = Literal["auto", "checkly", "github-actions"]
#: What ``StackConfig.monitoring_mode`` reports (also the ``monitoring`` stack output).
MONITORING_CHECKLY = "checkly"
MONITORING_SCHEDULE = "github-actions schedule (every 5 min)"
MONITORING_NONE = "none"


class HealthAssertion(_Section):
    """One part of the backend's health body that must hold, e.g. ``$.database`` equals ``ok``."""

    path: str = Field(pattern=r"^\$[.\[][^\s]*$", description="JSONPath into the /api/health body")
    equals: str = Field(min_length=1)


class SlackSettings(_Section):
    """Slack alerts (ready, off by default); the webhook URL is the secret ``slackWebhookUrl``."""

    enabled: bool = False
    channel: str = Field(default="#maya-alerts", pattern=r"^#[a-z0-9][a-z0-9._-]{0,79}$")


class PagerDutySettings(_Section):
    """PagerDuty alerts (ready, off by default); the integration key is the secret ``pagerdutyServiceKey``."""

    enabled: bool = False
    account: str | None = Field(default=None, min_length=1)
    service_name: str | None = Field(default=None, min_length=1)


class BackendErrorRateSettings(_Section):
    """The backend's 5xx share alert (docs/monitoring.md, "The backend's 5xx rate"): over the last ``windowMinutes``,
    5xx responses above ``thresholdPercent`` of all requests mail ``alertEmails`` — unless the window saw
    fewer than ``minRequests`` requests, so 1 failure out of 2 requests at 3 a.m. pages nobody.

    Railway counts the requests (``httpMetricsGroupedByStatus``); Checkly polls it every ``frequencyMinutes``
    in a stack it monitors, the scheduled monitor workflow (every 5 min) otherwise (staging only: production's
    metrics token never reaches GitHub).
    """

    enabled: bool = True
    threshold_percent: float = Field(default=5.0, gt=0, lt=100, description="5xx share of all requests, in %")
    window_minutes: int = Field(default=10, ge=1, le=60, description="how far back each poll counts requests")
    min_requests: int = Field(default=50, ge=1, le=1_000_000, description="fewer requests in the window never alert")
    frequency_minutes: Literal[1, 2, 5, 10, 15, 30, 60] = 5

    @model_validator(mode="after")
    def _window_covers_polls(self) -> BackendErrorRateSettings:
        if self.frequency_minutes > self.window_minutes:
            raise ValueError(
                f"frequencyMinutes ({self.frequency_minutes}) must not exceed windowMinutes ({self.window_minutes}): "
                "requests between two polls would never be counted"
            )
        return self


class MonitoringSettings(_Section):
    """Uptime monitoring of the stack (see docs/monitoring.md).

    ``provider``: ``checkly`` declares Checkly checks and needs the Checkly account (secrets
    ``checklyApiKey`` and ``checklyAccountId``); ``github-actions`` relies on the scheduled monitor
    workflow only; ``auto`` uses Checkly when the account is configured and the workflow otherwise.
    """

    provider: MonitoringProvider = "auto"
    alert_emails: tuple[Email, ...] = Field(min_length=1)
    #: Sender of the pipelines' alert mail (SMTP servers often accept only a verified sender).
    alert_from: Email | None = None
    locations: tuple[CheckLocation, ...] = ("us-east-1", "eu-west-1")
    backend_frequency_seconds: Literal[10, 20, 30, 60, 120, 300] = 30
    frontend_frequency_minutes: Literal[1, 2, 5, 10, 15, 30, 60] = 5
    degraded_response_time_ms: int = Field(default=2000, ge=100, le=30000)
    max_response_time_ms: int = Field(default=5000, ge=100, le=30000)
    alert_after_failed_runs: int = Field(default=2, ge=1, le=5, description="consecutive failed runs of the backend")
    retries: int = Field(default=2, ge=0, le=10, description="retries from another location before a run fails")
    health_body: tuple[HealthAssertion, ...] = (
        HealthAssertion(path="$.status", equals="healthy"),
        HealthAssertion(path="$.database", equals="ok"),
        HealthAssertion(path="$.external_apis", equals="ok"),
    )
    slack: SlackSettings = SlackSettings()
    pagerduty: PagerDutySettings = PagerDutySettings()
    #: Vercel's built-in alert rule on an anomalous 5xx rate of the frontend's functions (mails team owners).
    vercel_error_alerts: bool = True
    #: The backend's 5xx share over a window, from Railway's request metrics (docs/monitoring.md).
    backend_error_rate: BackendErrorRateSettings = BackendErrorRateSettings()

    @field_validator("locations")
    @classmethod
    def _two_locations(cls, locations: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(locations)) < 2:
            raise ValueError("needs at least two different locations, so one region's network trouble is not an outage")
        if len(set(locations)) != len(locations):
            raise ValueError("lists a location twice")
        return locations

    @field_validator("alert_emails")
    @classmethod
    def _unique_emails(cls, emails: tuple[str, ...]) -> tuple[str, ...]:
        if len({e.lower() for e in emails}) != len(emails):
            raise ValueError("lists an address twice")
        return emails

    @model_validator(mode="after")
    def _response_times(self) -> MonitoringSettings:
        if self.degraded_response_time_ms >= self.max_response_time_ms:
            raise ValueError(
                f"degradedResponseTimeMs ({self.degraded_response_time_ms}) must be below "
                f"maxResponseTimeMs ({self.max_response_time_ms})"
            )
        return self
