"""The NotificationRule provider through real HTTP against the fake Railway API: lifecycle, adoption of an
identical rule, a lost answer never making a second rule, drift, a rule deleted behind our back, checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pulumi.output import Unknown

from components.railway import provider as p
from components.railway.providers.alerts import DEPLOYMENT_FAILURE_EVENTS, email_channel
from tests.fakes.railway_api import FakeRailway

pytestmark = pytest.mark.timeout(60)
Make = Callable[[type[Any]], Any]
ONCALL = ["oncall@mayassistant.com", "release@mayassistant.com"]


def _inputs(stack: dict[str, Any], addresses: list[str] = ONCALL) -> dict[str, Any]:
    return {
        "project_id": stack["project_id"],
        "event_types": list(DEPLOYMENT_FAILURE_EVENTS),
        "channel_configs": [email_channel(a) for a in addresses],
        "ephemeral_environments": False,
    }


def _remote(fake: FakeRailway) -> list[dict[str, Any]]:
    return list(fake.state.notification_rules.values())


def test_lifecycle_create_read_update_delete(make: Make, fake: FakeRailway, stack: dict[str, Any]) -> None:
    provider = make(p.NotificationRuleProvider)
    checked = provider.check({}, _inputs(stack))
    assert checked.failures == []
    fake.reset_counters()
    created = provider.create(checked.inputs)
    assert fake.count("NotificationRuleCreate") == 1
    [rule] = _remote(fake)
    assert rule["id"] == created.id and rule["projectId"] == stack["project_id"]
    assert sorted(rule["eventTypes"]) == ["Deployment.crashed", "Deployment.failed"]
    assert sorted(c["config"]["email"] for c in rule["channels"]) == ONCALL
    assert created.outs["rule_workspace_id"] == fake.workspace_id  # taken from the project when not configured
    assert created.outs["channel_count"] == 2

    fake.reset_counters()
    read = provider.read(created.id, created.outs)
    assert fake.count() == 1, "refresh reads the project's rules once"
    assert read.id == created.id
    assert provider.diff(created.id, read.outs, checked.inputs).changes is False

    one = provider.check({}, _inputs(stack, ONCALL[:1])).inputs
    diff = provider.diff(created.id, read.outs, one)
    assert diff.changes and diff.replaces == []
    updated = provider.update(created.id, read.outs, one)
    assert updated.outs["channel_count"] == 1
    assert [c["config"]["email"] for c in _remote(fake)[0]["channels"]] == ONCALL[:1]

    provider.delete(created.id, updated.outs)
    assert _remote(fake) == []
    provider.delete(created.id, updated.outs)  # idempotent: already gone is success
    assert fake.invalid_documents == [] and fake.unimplemented == []


def test_an_identical_rule_is_adopted_not_duplicated(make: Make, fake: FakeRailway, stack: dict[str, Any]) -> None:
    provider = make(p.NotificationRuleProvider)
    first = provider.create(provider.check({}, _inputs(stack)).inputs)
    fake.reset_counters()
    again = provider.create(provider.check({}, _inputs(stack, list(reversed(ONCALL)))).inputs)
    assert again.id == first.id
    assert fake.count("NotificationRuleCreate") == 0 and len(_remote(fake)) == 1


def test_a_lost_answer_never_makes_a_second_rule(make: Make, fake: FakeRailway, stack: dict[str, Any]) -> None:
    fake.inject("drop_after", match="NotificationRuleCreate")  # applied, then the connection drops
    created = make(p.NotificationRuleProvider).create(_inputs(stack))
    assert len(_remote(fake)) == 1 and _remote(fake)[0]["id"] == created.id


def test_drift_and_a_rule_deleted_behind_our_back(make: Make, fake: FakeRailway, stack: dict[str, Any]) -> None:
    provider = make(p.NotificationRuleProvider)
    inputs = provider.check({}, _inputs(stack)).inputs
    created = provider.create(inputs)
    with fake._lock:  # someone drops an address in the dashboard
        rule = fake.state.notification_rules[created.id]
        rule["channels"] = rule["channels"][:1]
    read = provider.read(created.id, created.outs)
    assert read.outs["channel_count"] == 1
    assert provider.diff(created.id, read.outs, inputs).changes  # the next up puts the address back
    with fake._lock:
        del fake.state.notification_rules[created.id]
    gone = provider.read(created.id, created.outs)
    assert gone.id == ""  # dropped from state: the next up recreates it


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"event_types": []}, "event_types"),
        ({"channel_configs": []}, "channel_configs"),
        ({"channel_configs": [{"email": "x@y.z"}]}, "channel_configs"),
        ({"severities": ["LOUD"]}, "severities"),
        ({"project_id": ""}, "project_id"),
    ],
)
def test_check_refuses_what_railway_would(make: Make, stack: dict[str, Any], change: dict[str, Any], key: str) -> None:
    failures = make(p.NotificationRuleProvider).check({}, {**_inputs(stack), **change}).failures
    assert [f.property for f in failures] == [key]


def test_check_lets_unknowns_through_in_preview(make: Make) -> None:
    news = {"project_id": Unknown(), "event_types": ["Deployment.failed"], "channel_configs": Unknown()}
    assert make(p.NotificationRuleProvider).check({}, news).failures == []
