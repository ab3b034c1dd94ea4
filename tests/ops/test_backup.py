"""``ops backup``, ``ops backups`` and ``ops restore`` against the fake Railway API (volume instances,
backups, schedules and restore workflows) and a loopback stand-in of the backend's /api/health."""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from components.railway import provider as p
from components.railway.client import ClientSettings, RailwayClient
from config import PROJECT_DIR
from ops import backup
from ops.console import Streams, run_guarded
from ops.context import StackContext
from tests.fakes.railway_api import FakeRailway
from tests.ops.apps import FakeApp, fixed, sequence

pytestmark = pytest.mark.timeout(120)
TOKEN = "rw-token-backups-3c9e1f7a"
HEALTHY = {"status": "healthy", "database": "ok", "external_apis": "ok"}
UNHEALTHY = {"status": "unhealthy", "database": "error", "external_apis": "ok"}
FAST = ("--poll", "0.01")


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


@dataclass
class Stack:
    fake: FakeRailway
    backend: FakeApp
    client: RailwayClient
    volume: str
    outputs: dict[str, Any]
    outputs_path: Path
    env: dict[str, str]

    def run(self, *argv: str, stdin: io.StringIO | None = None, env: dict[str, str] | None = None) -> Result:
        root = argparse.ArgumentParser(prog="python -m ops")
        backup.register(root.add_subparsers(dest="command", required=True))
        args = root.parse_args(list(argv))
        out, err = io.StringIO(), io.StringIO()
        code = args.handler(args, Streams(self.env if env is None else env, stdin or io.StringIO(), out, err))
        result = Result(code, out.getvalue(), err.getvalue())
        assert TOKEN not in result.text  # nothing secret, ever
        return result

    def write_outputs(self, **changes: Any) -> None:
        self.outputs.update(changes)
        for key in [k for k, v in changes.items() if v is None]:
            del self.outputs[key]
        self.outputs_path.write_text(json.dumps(self.outputs))

    def backups(self) -> list[dict[str, Any]]:
        with self.fake._lock:
            return [dict(b) for b in self.fake.state.backups.values()]

    def add_scheduled_backup(self, kind: str, days_ago: float) -> str:
        """A backup Railway's schedule took ``days_ago`` (the fake does not run schedules by itself)."""
        with self.fake._lock:
            schedule = self.fake.state.backup_schedules[self.volume][kind]
            when = (datetime.now(UTC) - timedelta(days=days_ago)).isoformat().replace("+00:00", "Z")
            backup_id = f"bkp-{kind.lower()}-{days_ago}"
            self.fake.state.backups[backup_id] = {
                "id": backup_id,
                "name": schedule["name"],
                "createdAt": when,
                "expiresAt": (datetime.now(UTC) + timedelta(days=5)).isoformat().replace("+00:00", "Z"),
                "externalId": "snap-x",
                "creatorId": None,
                "referencedMB": 120,
                "usedMB": 120,
                "scheduleId": schedule["id"],
                "volumeInstanceSizeMB": 5000,
                "_volumeInstanceId": self.volume,
                "_seq": self.fake._next_seq(),
            }
            return backup_id


@pytest.fixture
def make_stack(tmp_path: Path) -> Iterator[Any]:
    started: list[Any] = []

    def make(stack: str = "staging") -> Stack:
        fake = FakeRailway(token=TOKEN, deploy_polls_to_finish=2)
        fake.start()
        started.append(fake)
        client = RailwayClient(TOKEN, ClientSettings(endpoint=fake.url, requests_per_second=1000, timeout_seconds=5))

        def provider(cls: type[Any]) -> Any:
            instance = cls()
            instance.use_client(client)
            return instance

        project = provider(p.ProjectProvider).create({"name": f"maya-{stack}", "default_environment_name": stack})
        environment = provider(p.EnvironmentProvider).create({"project_id": project.id, "name": stack})
        postgres = provider(p.PostgresProvider).create(
            {"project_id": project.id, "environment_id": environment.id, "workflow_poll_seconds": 0.01}
        )
        volume = postgres.outs["volume_instance_id"]
        provider(p.BackupScheduleProvider).create({"volume_instance_id": volume, "kinds": ["DAILY", "WEEKLY"]})
        app = FakeApp({"/api/health": fixed(200, HEALTHY), "/": fixed(200, "<html></html>")})
        app.start()
        started.append(app)
        outputs = {
            "stack": stack,
            "backend_url": app.url,
            "frontend_url": app.url,
            "railway_project_id": project.id,
            "railway_environment_id": environment.id,
            "railway_volume_instance_id": volume,
            "backup_schedule": ["DAILY", "WEEKLY"],
        }
        path = tmp_path / f"{stack}-outputs.json"
        path.write_text(json.dumps(outputs))
        env = {
            "MAYA_RAILWAY_API_URL": fake.url,
            "RAILWAY_API_TOKEN": TOKEN,
            "MAYA_OPS_OUTPUTS": str(path),
            "MAYA_OPS_LOCK_DIR": str(tmp_path / "locks"),
        }
        fake.reset_counters()
        return Stack(fake, app, client, volume, outputs, path, env)

    yield make
    for server in reversed(started):
        server.stop()


@pytest.fixture
def staging(make_stack: Any) -> Stack:
    return make_stack("staging")


@pytest.fixture
def quick_settle(monkeypatch: pytest.MonkeyPatch) -> None:
    """railway.settleSeconds of 1 s instead of the stack file's 60 s: a lost answer is decided quickly."""
    original = ClientSettings.of

    def of(railway: Any, *, endpoint: str | None = None) -> ClientSettings:
        return dataclasses.replace(original(railway, endpoint=endpoint), settle_seconds=1.0)

    monkeypatch.setattr(ClientSettings, "of", of)


# ---- backup ------------------------------------------------------------------------------------------------------
def test_backup_prints_its_id_once_it_exists(staging: Stack) -> None:
    result = staging.run("backup", "--stack", "staging", "--name", "before-migration-042", *FAST)
    assert result.code == 0, result.text
    (made,) = staging.backups()
    assert made["name"] == "before-migration-042" and made["_volumeInstanceId"] == staging.volume
    assert result.out.splitlines()[0] == f"backup {made['id']}"
    assert f"python -m ops restore --stack staging --backup {made['id']}" in result.out
    assert staging.fake.count("VolumeInstanceBackupCreate") == 1
    assert staging.fake.count("WorkflowStatus") >= 2  # it waited for Railway's workflow to complete
    assert staging.fake.invalid_documents == []


def test_backup_names_itself_after_the_stack_and_the_time(staging: Stack) -> None:
    assert staging.run("backup", "--stack", "staging", *FAST).code == 0
    assert staging.run("backup", "--stack", "staging", *FAST).code == 0  # within the same second
    first, second = staging.backups()
    assert re.fullmatch(r"manual staging 20[0-9-]+ [0-9:]+Z [0-9a-f]{6}", first["name"])
    assert first["name"] != second["name"]  # each run's backup is known by a name of its own


@pytest.mark.parametrize("fault", [{"kind": "drop_after"}, {"kind": "http", "status": 503}, {"kind": "drop"}])
def test_a_lost_answer_never_takes_two_backups(staging: Stack, fault: dict[str, Any], quick_settle: None) -> None:
    options = dict(fault)
    staging.fake.inject(options.pop("kind"), match="VolumeInstanceBackupCreate", **options)
    result = staging.run("backup", "--stack", "staging", "--name", "x", *FAST)
    assert result.code == 0, result.text
    assert len(staging.backups()) == 1


def test_backup_survives_rate_limits_and_slow_answers(staging: Stack) -> None:
    staging.fake.inject("http", status=429, retry_after=0, match="VolumeInstanceBackupList", times=2)
    staging.fake.inject("slow", delay=0.2, match="WorkflowStatus")
    assert staging.run("backup", "--stack", "staging", *FAST).code == 0
    assert len(staging.backups()) == 1


def test_backup_whose_workflow_fails_exits_1(staging: Stack) -> None:
    staging.fake.inject("graphql_error", match="WorkflowStatus", message="Internal server error", times=10)
    result = staging.run("backup", "--stack", "staging", *FAST)
    assert result.code == 1 and "WorkflowStatus" in result.err


# ---- backups -----------------------------------------------------------------------------------------------------
def test_backups_lists_newest_first_with_ages_kinds_and_the_schedule(staging: Stack) -> None:
    weekly = staging.add_scheduled_backup("WEEKLY", days_ago=3)
    daily = staging.add_scheduled_backup("DAILY", days_ago=0.5)
    assert staging.run("backup", "--stack", "staging", "--name", "before-migration", *FAST).code == 0
    manual = next(b["id"] for b in staging.backups() if b["name"] == "before-migration")
    staging.fake.reset_counters()
    result = staging.run("backups", "--stack", "staging")
    assert result.code == 0, result.text
    assert staging.fake.count(mutations_only=True) == 0  # listing changes nothing
    assert "schedule: DAILY (0 3 * * *, kept 6d), WEEKLY (0 3 * * 0, kept 30d)" in result.out
    lines = result.out.splitlines()
    rows = [line for line in lines if line.startswith((manual, daily, weekly))]
    assert [row.split()[0] for row in rows] == [manual, daily, weekly]  # newest first
    assert "manual" in rows[0] and "before-migration" in rows[0]
    assert "DAILY" in rows[1] and " 12h " in rows[1] and "in 4d" in rows[1]
    assert "WEEKLY" in rows[2] and " 3d 0h " in rows[2] and "120 MB" in rows[2]


def test_backups_of_a_new_stack(staging: Stack) -> None:
    result = staging.run("backups", "--stack", "staging")
    assert result.code == 0 and "no backups yet; take one with: python -m ops backup --stack staging" in result.out


# ---- restore -----------------------------------------------------------------------------------------------------
def test_backup_then_restore_then_health(staging: Stack) -> None:
    made = staging.run("backup", "--stack", "staging", "--name", "good", *FAST)
    backup_id = made.out.split()[1]
    staging.backend.hits.clear()
    result = staging.run("restore", "--stack", "staging", "--backup", backup_id, "--yes", *FAST)
    assert result.code == 0, result.text
    assert staging.fake.count("VolumeInstanceBackupRestore") == 1
    with staging.fake._lock:
        assert staging.fake.state.volume_instances[staging.volume]["state"] == "READY"
        restores = [w for w in staging.fake.state.workflows.values() if w["kind"] == "backupRestore"]
    assert [(w["backupId"], w["status"]) for w in restores] == [(backup_id, "Complete")]
    assert "volume state: READY" in result.out and "restored and healthy" in result.out
    assert "/api/health" in staging.backend.hits


def test_restore_names_and_picks_the_pre_deploy_backup(staging: Stack) -> None:
    """The production deploy job's backup before new migrations (maya-predeploy-<commit>): listed by kind, and
    ``--backup predeploy`` restores the newest one."""
    staging.run("backup", "--stack", "staging", "--name", "maya-predeploy-0123456789ab", *FAST)
    staging.run("backup", "--stack", "staging", "--name", "later-manual", *FAST)
    listed = staging.run("backups", "--stack", "staging")
    assert "pre-deploy 0123456789ab" in listed.out
    result = staging.run("restore", "--stack", "staging", "--backup", "predeploy", "--yes", *FAST)
    assert result.code == 0, result.text
    assert "the pre-deploy backup of commit 0123456789ab, before its migrations ran" in result.text
    with staging.fake._lock:
        [restore] = [w for w in staging.fake.state.workflows.values() if w["kind"] == "backupRestore"]
        predeploy = next(b for b in staging.fake.state.backups.values() if b["name"].startswith("maya-predeploy-"))
    assert restore["backupId"] == predeploy["id"]


def test_restore_that_leaves_the_backend_unhealthy_exits_1(staging: Stack) -> None:
    backup_id = staging.add_scheduled_backup("DAILY", days_ago=1)
    staging.backend.route("/api/health", fixed(503, UNHEALTHY))
    result = staging.run("restore", "--stack", "staging", "--backup", backup_id, "--yes", "--health-wait", "0", *FAST)
    assert result.code == 1
    assert "UNHEALTHY" in result.out and "the database is restored but the backend is UNHEALTHY" in result.out


def test_restore_waits_for_the_backend_to_come_back(staging: Stack) -> None:
    backup_id = staging.add_scheduled_backup("DAILY", days_ago=1)
    staging.backend.route("/api/health", sequence([(503, UNHEALTHY), (200, HEALTHY)]))
    result = staging.run("restore", "--stack", "staging", "--backup", backup_id, "--yes", *FAST)
    assert result.code == 0 and "recovered" in result.out


def test_restore_refuses_an_unknown_backup(staging: Stack, make_stack: Any) -> None:
    result = staging.run("restore", "--stack", "staging", "--backup", "no-such-backup", *FAST)
    assert result.code == 2
    assert "'no-such-backup' is not a backup of staging's database volume" in result.err
    assert "python -m ops backups --stack staging" in result.err
    other = make_stack("staging")  # a backup of another volume is not one of ours either
    foreign = other.add_scheduled_backup("DAILY", days_ago=1)
    assert staging.run("restore", "--stack", "staging", "--backup", foreign, *FAST).code == 2
    assert staging.fake.count("VolumeInstanceBackupRestore") == 0


def test_restore_on_production_needs_a_terminal_or_yes(make_stack: Any) -> None:
    production = make_stack("production")
    backup_id = production.add_scheduled_backup("DAILY", days_ago=1)
    argv = ("restore", "--stack", "production", "--backup", backup_id, *FAST)
    piped = production.run(*argv, stdin=io.StringIO("production\n"))
    assert piped.code == 2 and "pass --yes" in piped.err
    wrong = production.run(*argv, stdin=Tty("staging\n"))
    assert wrong.code == 2 and "not confirmed" in wrong.err
    assert production.fake.count("VolumeInstanceBackupRestore") == 0
    asked = production.run(*argv, stdin=Tty("production\n"))
    assert asked.code == 0, asked.text
    assert f"restore production's database volume ({production.volume}) from backup {backup_id}" in asked.err
    taken = next(b for b in production.backups() if b["id"] == backup_id)["createdAt"]
    when = datetime.fromisoformat(taken.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M:%SZ")
    assert f"every write since {when} is lost" in asked.err  # what is lost, with the backup's time
    assert production.run(*argv, "--yes").code == 0
    assert production.fake.count("VolumeInstanceBackupRestore") == 2


def test_restore_on_staging_asks_too_and_says_what_is_lost(staging: Stack) -> None:
    backup_id = staging.add_scheduled_backup("DAILY", days_ago=1)
    argv = ("restore", "--stack", "staging", "--backup", backup_id, *FAST)
    piped = staging.run(*argv)
    assert piped.code == 2 and "no terminal to ask; pass --yes" in piped.err and "every write since" in piped.err
    wrong = staging.run(*argv, stdin=Tty("production\n"))
    assert wrong.code == 2 and "not confirmed" in wrong.err
    assert staging.fake.count("VolumeInstanceBackupRestore") == 0
    asked = staging.run(*argv, stdin=Tty("staging\n"))
    assert asked.code == 0, asked.text
    assert "Type the stack name (staging) to confirm" in asked.err and "every write since" in asked.err
    assert staging.fake.count("VolumeInstanceBackupRestore") == 1


def test_a_lost_restore_answer_is_followed_not_repeated(staging: Stack, quick_settle: None) -> None:
    backup_id = staging.add_scheduled_backup("DAILY", days_ago=1)
    staging.fake.inject("drop_after", match="VolumeInstanceBackupRestore")

    def railway_finishes() -> None:  # nobody polls the lost workflow: Railway finishes it by itself
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with staging.fake._lock:
                if staging.fake.state.volume_instances[staging.volume]["state"] == "RESTORING":
                    break
            time.sleep(0.01)
        time.sleep(0.3)
        with staging.fake._lock:
            staging.fake.state.volume_instances[staging.volume]["state"] = "READY"

    finisher = threading.Thread(target=railway_finishes)
    finisher.start()
    result = staging.run("restore", "--stack", "staging", "--backup", backup_id, "--yes", *FAST)
    finisher.join()
    assert result.code == 0, result.text
    assert staging.fake.count("VolumeInstanceBackupRestore") == 1


def test_a_lost_restore_answer_is_sent_again_only_after_reads_show_it_did_not_land(
    staging: Stack, quick_settle: None
) -> None:
    backup_id = staging.add_scheduled_backup("DAILY", days_ago=1)
    staging.fake.inject("http", status=503, match="VolumeInstanceBackupRestore")  # refused before applying
    result = staging.run("restore", "--stack", "staging", "--backup", backup_id, "--yes", *FAST)
    assert result.code == 0, result.text
    assert staging.fake.count("VolumeInstanceBackupRestore") == 2  # the first never landed: no volume RESTORING
    assert staging.fake.count("VolumeInstance") >= 2  # it looked before sending again
    with staging.fake._lock:
        restores = [w for w in staging.fake.state.workflows.values() if w["kind"] == "backupRestore"]
    assert len(restores) == 1


def test_restore_that_does_not_finish_in_time_exits_1(staging: Stack) -> None:
    backup_id = staging.add_scheduled_backup("DAILY", days_ago=1)
    staging.fake.inject("slow", delay=0.5, match="WorkflowStatus", times=5)
    result = staging.run("restore", "--stack", "staging", "--backup", backup_id, "--yes", "--timeout", "0.3", *FAST)
    assert result.code == 1 and "still running after" in result.err


# ---- refusals ------------------------------------------------------------------------------------------------------
def test_missing_credentials_are_refused_with_what_to_set(staging: Stack) -> None:
    env = {k: v for k, v in staging.env.items() if k != "RAILWAY_API_TOKEN"}
    for argv in (("backup", "--stack", "staging"), ("backups", "--stack", "staging")):
        result = staging.run(*argv, env=env)
        assert result.code == 2 and "no credentials: set RAILWAY_API_TOKEN" in result.err
    wrong = staging.run("backups", "--stack", "staging", env={**staging.env, "RAILWAY_API_TOKEN": "wrong-token-x"})
    assert wrong.code == 2 and "RAILWAY_API_TOKEN" in wrong.err
    assert staging.backups() == []


def _ctx(stack: Stack, **backend_changes: Any) -> StackContext:
    ctx = StackContext.load("staging", stack.outputs_path, stack.env)
    cfg = ctx.config.model_copy(update={"backend": ctx.config.backend.model_copy(update=backend_changes)})
    return StackContext(ctx.stack, cfg, ctx.outputs, ctx.env)


def test_a_stack_without_a_database_volume_is_refused(staging: Stack) -> None:
    args = argparse.Namespace(name=None, timeout=None, poll=0.01)
    external = _ctx(staging, database="external")
    err = io.StringIO()
    code = run_guarded("backup", err, lambda: backup.take_backup(external, args, Streams(err=err)))
    assert code == 2 and "backend.database is 'external'" in err.getvalue()
    assert staging.fake.count() == 0  # refused before any request (no credential needed either)

    left_out = StackContext("staging", external.config.model_copy(update={"platforms": frozenset({"vercel"})}), {}, {})
    err = io.StringIO()
    assert run_guarded("backups", err, lambda: backup.show_backups(left_out, args, Streams(err=err))) == 2
    assert "Railway is left out of it" in err.getvalue()

    staging.fake.delete_behind("volume_instance", staging.volume)
    gone = staging.run("backups", "--stack", "staging")
    assert gone.code == 2 and f"{staging.volume} no longer exists in Railway" in gone.err


def test_the_volume_is_found_without_the_output_and_refused_when_there_is_none(staging: Stack) -> None:
    staging.write_outputs(railway_volume_instance_id=None)  # a stack deployed before the output existed
    assert staging.run("backup", "--stack", "staging", *FAST).code == 0
    assert staging.backups()[0]["_volumeInstanceId"] == staging.volume
    staging.fake.delete_behind("volume_instance", staging.volume)
    result = staging.run("backups", "--stack", "staging")
    assert result.code == 2 and "has no single database volume" in result.err


def test_bad_timing_options_are_usage_errors(staging: Stack) -> None:
    assert staging.run("backup", "--stack", "staging", "--poll", "-1").code == 2
    result = staging.run("restore", "--stack", "staging", "--backup", "x", "--health-wait", "-1")
    assert result.code == 2 and "--health-wait" in result.err


# ---- the command line ----------------------------------------------------------------------------------------------
def test_backup_commands_are_registered_in_ops_main() -> None:
    from ops.__main__ import GROUPS, build_parser

    assert backup in GROUPS
    args = build_parser().parse_args(["restore", "--stack", "production", "--backup", "b1", "--yes"])
    assert args.handler.action is backup.restore and args.backup == "b1" and args.yes
    assert build_parser().parse_args(["backups", "--stack", "staging"]).handler.action is backup.show_backups


def test_end_to_end_as_an_operator_runs_it(staging: Stack) -> None:
    def cli(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ops", *argv],
            cwd=PROJECT_DIR,
            env={"PATH": "/usr/bin:/bin", **staging.env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    made = cli("backup", "--stack", "staging", "--name", "before-risky-migration", *FAST)
    assert made.returncode == 0, made.stderr
    backup_id = made.stdout.split()[1]
    listed = cli("backups", "--stack", "staging")
    assert listed.returncode == 0 and backup_id in listed.stdout
    restored = cli("restore", "--stack", "staging", "--backup", backup_id, "--yes", *FAST)
    assert restored.returncode == 0, restored.stderr
    assert "restored and healthy" in restored.stdout
    refused = cli("restore", "--stack", "staging", "--backup", "nope", *FAST)
    assert refused.returncode == 2 and "is not a backup of" in refused.stderr
    for result in (made, listed, restored, refused):
        assert TOKEN not in result.stdout + result.stderr
