"""The BackupSchedule provider through real HTTP against the fake Railway API: lifecycle, read-back, drift
(kinds changed, schedule cleared, volume gone), one request per refresh, checks, and faults."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pulumi.output import Unknown

from components.railway import errors
from components.railway import operations as gql
from components.railway import provider as p
from components.railway.client import RailwayClient
from tests.fakes.railway_api import FakeRailway

pytestmark = pytest.mark.timeout(60)
Make = Callable[[type[Any]], Any]


@pytest.fixture
def volume(make: Make, stack: dict[str, Any]) -> str:
    """The volume instance of a PostgreSQL made from Railway's template, as the backend component makes it."""
    postgres = make(p.PostgresProvider).create(
        {"project_id": stack["project_id"], "environment_id": stack["environment_id"], "workflow_poll_seconds": 0.01}
    )
    volume_instance_id: str = postgres.outs["volume_instance_id"]
    assert volume_instance_id
    return volume_instance_id


def _remote_kinds(fake: FakeRailway, volume_instance_id: str) -> list[str]:
    return sorted(fake.state.backup_schedules.get(volume_instance_id, {}))


def test_lifecycle_create_read_update_delete(make: Make, fake: FakeRailway, volume: str) -> None:
    provider = make(p.BackupScheduleProvider)
    checked = provider.check({}, {"volume_instance_id": volume, "kinds": ["WEEKLY", "DAILY"]})
    assert checked.failures == []
    assert checked.inputs["kinds"] == ["DAILY", "WEEKLY"]  # Railway's order: no false diff on refresh
    fake.reset_counters()
    created = provider.create(checked.inputs)
    assert created.id == volume
    assert fake.count("VolumeInstanceBackupScheduleUpdate") == 1
    assert _remote_kinds(fake, volume) == ["DAILY", "WEEKLY"]
    assert created.outs["kinds"] == ["DAILY", "WEEKLY"]
    assert [(s["kind"], s["cron"]) for s in created.outs["schedules"]] == [
        ("DAILY", "0 3 * * *"),
        ("WEEKLY", "0 3 * * 0"),
    ]
    assert all(s["retention_seconds"] > 0 for s in created.outs["schedules"])

    fake.reset_counters()
    read = provider.read(created.id, created.outs)
    assert fake.count() == 1, "refresh must read once"
    assert read.id == volume and read.outs == created.outs  # refresh right after create: no change
    assert provider.diff(created.id, read.outs, checked.inputs).changes is False

    monthly = {**checked.inputs, "kinds": ["DAILY", "WEEKLY", "MONTHLY"]}
    diff = provider.diff(created.id, created.outs, monthly)
    assert diff.changes and diff.replaces == []
    updated = provider.update(created.id, created.outs, monthly)
    assert updated.outs["kinds"] == ["DAILY", "WEEKLY", "MONTHLY"]
    assert _remote_kinds(fake, volume) == ["DAILY", "MONTHLY", "WEEKLY"]
    daily_id = fake.state.backup_schedules[volume]["DAILY"]["id"]
    provider.update(created.id, updated.outs, checked.inputs)  # back to two: the DAILY schedule is kept
    assert _remote_kinds(fake, volume) == ["DAILY", "WEEKLY"]
    assert fake.state.backup_schedules[volume]["DAILY"]["id"] == daily_id

    provider.delete(created.id, updated.outs)
    assert _remote_kinds(fake, volume) == []
    provider.delete(created.id, updated.outs)  # idempotent
    assert fake.invalid_documents == []


def test_diff_is_local_and_a_new_volume_replaces(make: Make, fake: FakeRailway) -> None:
    provider = make(p.BackupScheduleProvider)
    olds = {"volume_instance_id": "vi-1", "kinds": ["DAILY"], "schedules": []}
    fake.reset_counters()
    assert provider.diff("vi-1", olds, {"volume_instance_id": "vi-1", "kinds": ["DAILY"]}).changes is False
    moved = provider.diff("vi-1", olds, {"volume_instance_id": "vi-2", "kinds": ["DAILY"]})
    assert moved.changes and moved.replaces == ["volume_instance_id"]
    assert provider.diff("vi-1", olds, {"volume_instance_id": Unknown(), "kinds": ["DAILY"]}).changes is True
    assert fake.count() == 0


@pytest.mark.parametrize(
    ("inputs", "key", "message"),
    [
        ({"volume_instance_id": "vi", "kinds": []}, "kinds", "at least one of DAILY, WEEKLY, MONTHLY"),
        ({"volume_instance_id": "vi", "kinds": ["HOURLY"]}, "kinds", "are not backup kinds"),
        ({"volume_instance_id": "vi", "kinds": ["DAILY", "DAILY"]}, "kinds", "twice"),
        ({"volume_instance_id": None, "kinds": ["DAILY"]}, "volume_instance_id", "no volume instance"),
    ],
)
def test_check_refuses_what_railway_would(make: Make, inputs: dict[str, Any], key: str, message: str) -> None:
    failures = make(p.BackupScheduleProvider).check({}, inputs).failures
    assert [f.property for f in failures] == [key]
    assert message in failures[0].reason


def test_check_lets_unknowns_through_in_preview(make: Make) -> None:
    assert (
        make(p.BackupScheduleProvider).check({}, {"volume_instance_id": Unknown(), "kinds": ["DAILY"]}).failures == []
    )
    assert make(p.BackupScheduleProvider).check({}, {"volume_instance_id": "vi", "kinds": Unknown()}).failures == []


def test_drift_other_kinds_or_a_cleared_schedule_is_reverted_by_the_next_up(
    make: Make, fake: FakeRailway, client: RailwayClient, volume: str
) -> None:
    provider = make(p.BackupScheduleProvider)
    inputs = {"volume_instance_id": volume, "kinds": ["DAILY", "WEEKLY"]}
    created = provider.create(inputs)

    # someone switched to monthly backups in the dashboard
    client.execute(gql.VOLUME_INSTANCE_BACKUP_SCHEDULE_UPDATE, {"volumeInstanceId": volume, "kinds": ["MONTHLY"]})
    fake.reset_counters()
    drifted = provider.read(created.id, created.outs)
    assert fake.count() == 1
    assert drifted.outs["kinds"] == ["MONTHLY"] and drifted.inputs["kinds"] == ["MONTHLY"]
    assert provider.diff(created.id, drifted.outs, inputs).changes is True
    fixed = provider.update(created.id, drifted.outs, inputs)
    assert fixed.outs["kinds"] == ["DAILY", "WEEKLY"] and _remote_kinds(fake, volume) == ["DAILY", "WEEKLY"]

    # someone turned backups off: the resource stays, its kinds are empty, the next up restores them
    client.execute(gql.VOLUME_INSTANCE_BACKUP_SCHEDULE_UPDATE, {"volumeInstanceId": volume, "kinds": []})
    cleared = provider.read(created.id, fixed.outs)
    assert cleared.id == volume and cleared.outs["kinds"] == [] and cleared.outs["schedules"] == []
    assert provider.diff(created.id, cleared.outs, inputs).changes is True
    provider.update(created.id, cleared.outs, inputs)
    assert _remote_kinds(fake, volume) == ["DAILY", "WEEKLY"]


def test_a_volume_deleted_behind_our_back_drops_the_schedule_from_state(
    make: Make, fake: FakeRailway, volume: str
) -> None:
    provider = make(p.BackupScheduleProvider)
    created = provider.create({"volume_instance_id": volume, "kinds": ["DAILY"]})
    fake.delete_behind("volume_instance", volume)
    gone = provider.read(created.id, created.outs)
    assert gone.id == "" and gone.outs == {}
    provider.delete(created.id, created.outs)  # nothing left to clear: still success


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "http", "status": 429, "retry_after": 1},
        {"kind": "http", "status": 503},
        {"kind": "cloudflare_1015"},
        {"kind": "drop"},
        {"kind": "drop_after"},
        {"kind": "slow", "delay": 0.2},
    ],
)
@pytest.mark.parametrize("operation", ["VolumeInstanceBackupScheduleUpdate", "VolumeInstanceBackupScheduleList"])
def test_faults_during_create_converge(
    make: Make, fake: FakeRailway, volume: str, fault: dict[str, Any], operation: str
) -> None:
    options = dict(fault)
    fake.inject(options.pop("kind"), match=operation, **options)
    created = make(p.BackupScheduleProvider).create({"volume_instance_id": volume, "kinds": ["DAILY", "WEEKLY"]})
    assert created.outs["kinds"] == ["DAILY", "WEEKLY"]
    assert _remote_kinds(fake, volume) == ["DAILY", "WEEKLY"]
    assert len(fake.state.backup_schedules[volume]) == 2


def test_a_graphql_error_fails_cleanly_and_the_next_update_converges(
    make: Make, fake: FakeRailway, volume: str
) -> None:
    provider = make(p.BackupScheduleProvider)
    inputs = {"volume_instance_id": volume, "kinds": ["DAILY"]}
    created = provider.create(inputs)
    fake.inject(
        "graphql_error",
        match="VolumeInstanceBackupScheduleUpdate",
        message="Volume is being migrated",
        extensions={"code": "BAD_USER_INPUT"},
    )
    changed = {**inputs, "kinds": ["DAILY", "MONTHLY"]}
    with pytest.raises(errors.InvalidInputError, match="VolumeInstanceBackupScheduleUpdate"):
        provider.update(created.id, created.outs, changed)
    assert _remote_kinds(fake, volume) == ["DAILY"]
    assert provider.update(created.id, created.outs, changed).outs["kinds"] == ["DAILY", "MONTHLY"]


def test_railways_generic_error_on_an_idempotent_update_is_retried(make: Make, fake: FakeRailway, volume: str) -> None:
    provider = make(p.BackupScheduleProvider)
    created = provider.create({"volume_instance_id": volume, "kinds": ["DAILY"]})
    fake.inject("graphql_error", match="VolumeInstanceBackupScheduleUpdate", message="Problem processing request")
    changed = {"volume_instance_id": volume, "kinds": ["DAILY", "MONTHLY"]}
    assert provider.update(created.id, created.outs, changed).outs["kinds"] == ["DAILY", "MONTHLY"]
    assert fake.count("VolumeInstanceBackupScheduleUpdate") == 3  # create, the failed one, its retry


def test_an_unknown_volume_is_a_clear_error(make: Make) -> None:
    with pytest.raises(errors.NotFoundError, match="VolumeInstance not found"):
        make(p.BackupScheduleProvider).create({"volume_instance_id": "no-such-volume", "kinds": ["DAILY"]})


def test_a_schedule_found_on_create_is_adopted_and_never_cleared(make: Any, stack: dict[str, Any], fake: Any) -> None:
    """A state rebuilt from nothing: the volume already takes backups, so the schedule is adopted (no write
    when it already matches) and a destroy leaves it."""
    postgres = make(p.PostgresProvider).create(
        {
            "project_id": stack["project_id"],
            "environment_id": stack["environment_id"],
            "workflow_timeout_seconds": 30,
            "workflow_poll_seconds": 0.05,
        }
    )
    volume = postgres.outs["volume_instance_id"]
    make(p.BackupScheduleProvider).client.execute(
        gql.VOLUME_INSTANCE_BACKUP_SCHEDULE_UPDATE, {"volumeInstanceId": volume, "kinds": ["DAILY"]}
    )
    fake.reset_counters()
    adopted = make(p.BackupScheduleProvider).create({"volume_instance_id": volume, "kinds": ["DAILY"]})
    assert adopted.outs["origin"] == "adopted" and fake.count(mutations_only=True) == 0
    make(p.BackupScheduleProvider).delete(adopted.id, adopted.outs)
    listed = make(p.BackupScheduleProvider).client.execute(
        gql.VOLUME_INSTANCE_BACKUP_SCHEDULES, {"volumeInstanceId": volume}
    )["volumeInstanceBackupScheduleList"]
    assert [s["kind"] for s in listed] == ["DAILY"]
