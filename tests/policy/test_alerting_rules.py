"""production-alerting: production mails within a minute of an outage and on a failed or crashed deployment;
the alerts environment is out of the production-reviewers rule; and the pack sees the real program pass."""

from __future__ import annotations

from policy import rules
from tests.policy.test_rules import changed, facts, program


def _alerting(resources: tuple[rules.Resource, ...]) -> list[str]:
    return [m for m, _ in rules.production_alerting(resources, facts("production"))]


def test_the_real_production_program_alerts_as_the_spec_asks() -> None:
    assert _alerting(program("production")) == []
    assert list(rules.production_alerting(program("staging"), facts("staging"))) == []  # staging may fall back


def test_a_slow_or_unsubscribed_check_or_no_email_channel_is_reported() -> None:
    resources = program("production")
    slow = tuple(
        changed(r, frequency=1, frequencyOffset=None) if r.type == rules.CHECKLY_CHECK else r for r in resources
    )
    assert any("every 30 s" in m for m in _alerting(slow))
    silent = tuple(changed(r, alertChannelSubscriptions=[]) if r.type == rules.CHECKLY_CHECK else r for r in resources)
    assert any("every 30 s" in m for m in _alerting(silent))
    no_mail = tuple(r for r in resources if r.type != rules.CHECKLY_CHANNEL)
    assert any("every 30 s" in m for m in _alerting(no_mail))


def test_production_without_the_backend_error_rate_check_is_reported() -> None:
    resources = program("production")
    rate = [r for r in resources if rules._is_error_rate_check(r)]
    assert len(rate) == 1
    without = tuple(r for r in resources if r not in rate)
    assert any("no backend 5xx-rate alert" in m for m in _alerting(without))
    unsubscribed = tuple(changed(r, alertChannelSubscriptions=[]) if r in rate else r for r in resources)
    assert any("no backend 5xx-rate alert" in m for m in _alerting(unsubscribed))
    no_verdict = tuple(changed(r, localTeardownScript=None) if r in rate else r for r in resources)
    assert any("no backend 5xx-rate alert" in m for m in _alerting(no_verdict))


def test_a_railway_project_that_mails_no_one_on_a_failed_deploy_is_reported() -> None:
    resources = tuple(r for r in program("production") if r.type != rules.RAILWAY_NOTIFICATION_RULE)
    assert _alerting(resources) == ["production's Railway project mails no one when a deployment fails or crashes"]


def test_the_alerts_environment_needs_no_reviewers_but_the_production_one_does() -> None:
    environments = [r for r in program("production") if r.type == rules.GH_ENVIRONMENT]
    alerts = next(r for r in environments if str(r.get("environment")).endswith("-alerts"))
    deploy = next(r for r in environments if r.get("environment") == "production")
    assert list(rules.production_environment_protected(alerts)) == []
    assert list(rules.production_environment_protected(changed(deploy, reviewers=[])))
