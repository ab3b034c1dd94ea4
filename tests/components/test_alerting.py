"""Every alert trigger of the spec is declared per stack, mails monitoring.alertEmails where the channel can,
and is listed in the stack output ``alert_rules`` with its configured detection latency (issue 13)."""

from __future__ import annotations

from typing import Any

import pytest

import config
from config.alerts import alert_rules
from tests.components.program import RAILWAY, run_program

VERCEL_ALERT = "vercel:index/alertRule:AlertRule"


def _rules(outputs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["trigger"].split(":")[0].split(" (")[0]: r for r in outputs["alert_rules"]}


@pytest.mark.parametrize("stack_name", config.STACKS)
def test_railway_mails_a_failed_or_crashed_deployment_to_alert_emails(stack_name: str) -> None:
    run = run_program(stack_name)
    cfg = config.load_from_stack_file(stack_name)
    assert cfg.monitoring is not None
    rule = run.mocks.one(RAILWAY + "NotificationRule").inputs
    assert rule["event_types"] == ["Deployment.crashed", "Deployment.failed"]
    assert sorted(c["email"] for c in rule["channel_configs"]) == sorted(cfg.monitoring.alert_emails)
    assert rule["project_id"] == "backend-project-id"  # the stack's own project: it covers this stack only


@pytest.mark.parametrize("stack_name", config.STACKS)
def test_vercel_watches_the_frontend_functions_5xx_rate(stack_name: str) -> None:
    rule = run_program(stack_name).mocks.one(VERCEL_ALERT).inputs
    assert rule["triggers"] == [{"type": "error_anomaly", "filter": "statusGroup:5xx"}]
    assert rule["ruleScope"] == {"type": "include", "projectIds": ["frontend-project-id"]}
    assert rule["notificationSettings"] == {"enableTeamOwnerNotifications": True}


def test_the_stack_output_lists_every_rule_with_its_latency() -> None:
    production = _rules(run_program("production").outputs)
    backend = production["backend health check fails"]
    assert backend["latency_seconds"] == 2 * 30 + (5 + 10)  # 2 failed runs × 30 s + linear retries 5 s, 10 s
    assert backend["mails"] == "maya-oncall@mayassistant.com, maya-release-managers@mayassistant.com"
    assert production["frontend health check fails"]["latency_seconds"] == 300 + (30 + 60)
    assert "performance degraded" in production and "performance failed" in production
    assert production["backend deployment fails or crashes"]["latency_seconds"] is None  # event-driven
    assert production["a pipeline run on main fails"]["detected_by"].startswith("the pipelines' alert job")
    staging = _rules(run_program("staging").outputs)  # no Checkly account: the scheduled fallback, mailed for real
    fallback = staging["backend"]
    assert fallback["detected_by"].startswith("scheduled monitor workflow") and fallback["latency_seconds"] == 425
    assert fallback["mails"] == "maya-dev-alerts@mayassistant.com"


def test_without_a_monitoring_section_nobody_is_mailed_and_nothing_pretends_otherwise() -> None:
    run = run_program("staging", {"maya-infra:monitoring": None})
    assert run.outputs["alert_rules"] == []
    assert not run.mocks.of_type(RAILWAY + "NotificationRule") and not run.mocks.of_type(VERCEL_ALERT)
    cfg = config.load_from_stack_file("staging")
    assert [r.trigger for r in alert_rules(cfg)]  # the committed staging file does alert
