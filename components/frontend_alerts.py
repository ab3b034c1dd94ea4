"""Vercel's alert on the frontend's error rate: an anomalous share of 5xx answers from its functions.

Vercel is the only party that sees the frontend's real traffic; its built-in alert rule (pulumiverse-vercel
``AlertRule``, type ``built-in``, trigger ``error_anomaly`` filtered to ``statusGroup:5xx``) detects an
anomalous 5xx rate of the project. Delivery is Vercel's own notification to the team's owners (e-mail and
dashboard); the provider offers Slack and webhook links but no arbitrary e-mail address, so
``monitoring.alertEmails`` is not reachable from here — docs/monitoring.md says who is mailed.
Switched off with ``monitoring.vercelErrorAlerts: false`` (for a plan without alert rules).
"""

from __future__ import annotations

import pulumi
import pulumiverse_vercel as vercel

from config import StackConfig

#: Vercel's minimum severity of the anomalies the rule matches (low, medium or high).
MINIMUM_SEVERITY = "medium"


def frontend_error_alert(
    cfg: StackConfig, project_id: pulumi.Input[str], provider: vercel.Provider, parent: pulumi.Resource | None = None
) -> vercel.AlertRule | None:
    """The stack's Vercel alert rule on 5xx anomalies of its project; None when switched off."""
    if cfg.monitoring is None or not cfg.monitoring.vercel_error_alerts:
        return None
    return vercel.AlertRule(
        "frontend-5xx-alert",
        type="built-in",
        name=f"maya {cfg.stack}: frontend 5xx rate",
        rule_scope=vercel.AlertRuleRuleScopeArgs(type="include", project_ids=[project_id]),
        triggers=[vercel.AlertRuleTriggerArgs(type="error_anomaly", filter="statusGroup:5xx")],
        match_minimum_severity_level=MINIMUM_SEVERITY,
        notification_settings=vercel.AlertRuleNotificationSettingsArgs(enable_team_owner_notifications=True),
        tags=["maya", cfg.stack],
        team_id=cfg.frontend.team_id,
        opts=pulumi.ResourceOptions(provider=provider, parent=parent),
    )
