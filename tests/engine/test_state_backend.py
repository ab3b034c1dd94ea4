"""The shared state backend for real: Pulumi's PostgreSQL DIY backend on a real PostgreSQL server.

A throwaway server (tests/engine/postgres.py) holds the state of both stacks, each with its own
passphrase, as the two GitHub environments do. Covered: preview/up/refresh/export of both stacks through
it; two `pulumi up` of one stack started at the same moment (Pulumi's lock lets at most one run; the
fake Railway then holds one of every object); an auditor role with SELECT only on the state table, which
`python -m ops audit --postgres` can read and which the database refuses any write.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.engine.harness import REPO, EngineStack, engine_bin, local_overrides, make_stack
from tests.engine.postgres import DATABASE, PostgresServer
from tests.fakes.railway_api import FakeRailway
from tests.secrets import TEST_SECRETS

pytestmark = [pytest.mark.engine, pytest.mark.timeout(1800)]
RAILWAY_TOKEN = TEST_SECRETS["maya-infra:railwayToken"]
PASSPHRASES = {"staging": "staging-only-passphrase-1", "production": "production-only-passphrase-2"}
LOCKED = "the stack is currently locked"

#: What makes an object of the fake Railway "the same object twice": the fields that name it.
_NATURAL_KEY = ("projectId", "environmentId", "serviceId", "volumeId", "volumeInstanceId", "name", "domain", "kind")


@pytest.fixture(scope="module")
def bin_dir() -> Path:
    return engine_bin()


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    with PostgresServer() as server:
        yield server


def _stack(root: Path, name: str, fake: FakeRailway, pg: PostgresServer, bin_dir: Path, **kw: Any) -> EngineStack:
    overrides = local_overrides(fake.url, ["railway"], **kw)
    return make_stack(root, name, overrides, bin_dir=bin_dir, backend_url=pg.url(), passphrase=PASSPHRASES[name])


def _changes(summary: dict[str, int] | None) -> dict[str, int]:
    return {k: v for k, v in (summary or {}).items() if k != "same"}


def duplicates(fake: FakeRailway) -> dict[str, list[tuple[Any, ...]]]:
    """Objects of the fake that exist more than once under the same name/scope (goal: none)."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    for table in (
        "projects",
        "environments",
        "services",
        "service_domains",
        "custom_domains",
        "triggers",
        "project_tokens",
        "volumes",
        "volume_instances",
    ):
        rows = [r for r in getattr(fake.state, table).values() if not r.get("deletedAt") and not r.get("_deleted")]
        keys = Counter(tuple(row.get(k) for k in _NATURAL_KEY) for row in rows)
        twice = [key for key, n in keys.items() if n > 1]
        if twice:
            found[table] = twice
    return found


def deployments_per_service(fake: FakeRailway) -> dict[str, int]:
    return dict(Counter(d["serviceId"] for d in fake.state.deployments.values()))


# ---- both stacks through the PostgreSQL backend -----------------------------------------------------------------
@pytest.mark.parametrize("name", ["staging", "production"])
def test_preview_up_refresh_export_through_postgres(
    tmp_path: Path, name: str, postgres: PostgresServer, bin_dir: Path
) -> None:
    with FakeRailway(token=RAILWAY_TOKEN, deploy_polls_to_finish=2) as fake:
        stack = _stack(tmp_path, name, fake, postgres, bin_dir)
        preview = stack.preview()
        assert preview.change_summary.get("create", 0) >= 12 and fake.count(mutations_only=True) == 0
        first = stack.up()
        assert _changes(first.summary.resource_changes) == {"create": first.summary.resource_changes["create"]}
        assert stack.outputs()["railway_deployment_status"] == "SUCCESS"

        fake.reset_counters()
        assert _changes(stack.up().summary.resource_changes) == {} and fake.count() == 0  # no-op, 0 requests
        assert _changes(stack.refresh().summary.resource_changes) == {}

        exported = stack.export()
        urns = {r["urn"] for r in exported["deployment"]["resources"]}
        assert any(u.endswith(f"::{name}-backend-service") or "Service::" in u for u in urns)
        assert f"{DATABASE}/.pulumi/stacks/maya-infra/{name}.json" in postgres.state_keys()
        assert exported["deployment"]["secrets_providers"]["type"] == "passphrase"
        stack.destroy_deliberately()


def test_the_stacks_passphrases_are_separate(tmp_path: Path, postgres: PostgresServer, bin_dir: Path) -> None:
    """Staging's passphrase cannot decrypt production's secrets: each environment holds only its own."""
    with FakeRailway(token=RAILWAY_TOKEN) as fake:
        stack = _stack(tmp_path, "production", fake, postgres, bin_dir)
        wrong = subprocess.run(
            ["pulumi", "config", "get", "maya-infra:railwayToken", "--stack", "production"],
            cwd=stack.project_dir,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, **stack.env, "PULUMI_CONFIG_PASSPHRASE": PASSPHRASES["staging"]},
            check=False,
        )
        assert wrong.returncode != 0 and "passphrase" in wrong.stderr.lower()
        right = stack.cli("config", "get", "maya-infra:railwayToken")
        assert right.returncode == 0 and right.stdout.strip() == RAILWAY_TOKEN


# ---- two updates at the same moment ---------------------------------------------------------------------------
def _lock_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if LOCKED in line), text[-300:])


def _up_process(stack: EngineStack, log: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ["pulumi", "up", "--yes", "--skip-preview", "--color", "never", "--stack", stack.name],
        cwd=stack.project_dir,
        env={**os.environ, **stack.env},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_two_concurrent_ups_of_one_stack_one_runs_the_other_is_locked_out(
    tmp_path: Path, postgres: PostgresServer, bin_dir: Path, record_property: Any
) -> None:
    # slow deploys keep the winner's update (and its lock) going while the loser starts
    with FakeRailway(token=RAILWAY_TOKEN, deploy_polls_to_finish=60) as fake:
        stack = _stack(tmp_path, "staging", fake, postgres, bin_dir)
        logs = [tmp_path / "up-a.log", tmp_path / "up-b.log"]
        start = threading.Barrier(2)
        procs: list[subprocess.Popen[str]] = [None, None]  # type: ignore[list-item]

        def launch(index: int) -> None:
            start.wait()
            procs[index] = _up_process(stack, logs[index])

        threads = [threading.Thread(target=launch, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        codes = [proc.wait(timeout=900) for proc in procs]
        texts = [log.read_text() for log in logs]
        winners = [i for i, code in enumerate(codes) if code == 0]
        losers = [i for i, code in enumerate(codes) if code != 0]
        report = {
            "exit codes": codes,
            "winner": [logs[i].name for i in winners],
            "loser message": [
                next((ln for ln in texts[i].splitlines() if LOCKED in ln), texts[i][-300:]) for i in losers
            ],
            "deployments per service": deployments_per_service(fake),
            "projects": len(fake.state.projects),
        }
        record_property("concurrent_up", json.dumps(report))
        print("concurrent up:", json.dumps(report, indent=2))
        assert len(winners) <= 1, "both updates ran: the lock did not hold"
        for i in losers:
            assert LOCKED in texts[i] and "pulumi cancel" in texts[i], texts[i][-2000:]
        assert len(winners) == 1, f"both updates were refused (Pulumi's check-write-check lock race): {report}"

        # the state is intact: it knows every object, and the fake holds each exactly once
        assert duplicates(fake) == {}
        assert len(fake.state.projects) == 1 and set(deployments_per_service(fake).values()) == {1}
        locks = [k for k in postgres.state_keys() if k.startswith(f"{DATABASE}/.pulumi/locks/")]
        assert locks == [], "a lock was left behind"
        fake.reset_counters()
        again = stack.up()
        assert _changes(again.summary.resource_changes) == {} and fake.count() == 0
        assert _changes(stack.refresh().summary.resource_changes) == {}
        assert not stack.export()["deployment"].get("pending_operations")
        stack.destroy_deliberately()


# ---- the auditor ------------------------------------------------------------------------------------------------
def _audit(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ops", "audit", *argv, "--format", "json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_auditor_with_select_only_can_audit_and_cannot_write(
    tmp_path: Path, postgres: PostgresServer, bin_dir: Path, record_property: Any
) -> None:
    with FakeRailway(token=RAILWAY_TOKEN) as fake:
        stack = _stack(tmp_path, "production", fake, postgres, bin_dir)
        stack.up()
        cli_export = stack.cli("stack", "export")  # as an operator exports it: secrets stay encrypted
        assert cli_export.returncode == 0, cli_export.stderr
        exported = json.loads(cli_export.stdout)
        password = postgres.add_reader("maya_auditor")
        reader_url = postgres.url("maya_auditor", "").replace("maya_auditor:@", "maya_auditor@")

        from_table = _audit("--postgres", reader_url, "--stack", "production", env={"PGPASSWORD": password})
        export_file = tmp_path / "export.json"
        export_file.write_text(json.dumps(exported))
        from_export = _audit(str(export_file))
        assert from_table.returncode in (0, 1), from_table.stderr  # 1 = findings; both are a completed audit
        assert json.loads(from_table.stdout) == json.loads(from_export.stdout)  # the same report as from the CLI
        assert json.loads(from_table.stdout)["summary"]["by_platform"]["railway"] >= 12
        assert password not in from_table.stdout + from_table.stderr

        refused = []
        with psycopg.connect(reader_url, password=password, autocommit=True) as conn:
            for statement in (
                "UPDATE pulumi_state SET data = data",
                "DELETE FROM pulumi_state",
                "INSERT INTO pulumi_state (key, data) VALUES ('x', '{}')",
                "DROP TABLE pulumi_state",
                "CREATE TABLE IF NOT EXISTS pulumi_state (key TEXT PRIMARY KEY, data JSON NOT NULL)",
            ):
                try:
                    conn.execute(statement)
                except psycopg.errors.InsufficientPrivilege as exc:
                    refused.append((statement.split()[0], str(exc).splitlines()[0]))
        record_property("auditor_writes", json.dumps(refused))
        print("auditor write attempts:", json.dumps(refused, indent=2))
        assert [verb for verb, _ in refused] == ["UPDATE", "DELETE", "INSERT", "DROP", "CREATE"]
        assert json.loads(stack.cli("stack", "export").stdout) == exported  # nothing changed

        # the documented limit: the CLI itself cannot open the backend with this role
        login = subprocess.run(
            ["pulumi", "stack", "ls"],
            cwd=stack.project_dir,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, **stack.env, "PULUMI_BACKEND_URL": postgres.url("maya_auditor", password)},
            check=False,
        )
        # PostgreSQL 15 answers "permission denied for schema public" (or "must be owner of table")
        assert login.returncode != 0 and "failed to create table pulumi_state" in login.stderr, login.stderr
        assert password not in login.stderr
        stack.destroy_deliberately()
