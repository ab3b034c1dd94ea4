"""``ops preflight``'s state-backend checks on a real PostgreSQL server (tests/engine/postgres.py): the table
as Pulumi's PostgreSQL backend keeps it (one row per file: the stack's checkpoint, a running update's lock),
read through a role that may only SELECT."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import psycopg
import pytest

import config
from ops.preflight import state
from ops.preflight.context import Run
from ops.preflight.report import FAIL, PASS, WARN, Check
from ops.state_table import split_url
from tests.engine.postgres import DATABASE, PostgresServer

TABLE = "pulumi_state"
CREATE = (
    f"CREATE TABLE {TABLE} (key TEXT PRIMARY KEY, data JSON NOT NULL, "
    "updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now())"
)  # Pulumi's own schema (pkg/backend/diy/postgres/schema.sql)


def _file(document: object) -> str:
    return json.dumps({"data": base64.b64encode(json.dumps(document).encode()).decode()})


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    with PostgresServer() as server:
        yield server


def _checks(url: str) -> dict[str, Check]:
    run = Run.of(config.load_from_stack_file("staging"), {"PATH": "/nonexistent"}, backend_url=url)
    return {c.name: c for c in state.checks(run)}


def test_the_table_the_stack_and_its_lock_through_a_select_only_role(postgres: PostgresServer) -> None:
    assert _checks(postgres.url())["state.stack"].verdict == WARN  # no table yet: the first login makes it
    with postgres.admin(DATABASE, autocommit=True) as conn:
        conn.execute(CREATE)
        conn.execute(f"ALTER TABLE {TABLE} OWNER TO pulumi_state")
    password = postgres.add_reader("maya_preflight")
    reader = postgres.url("maya_preflight", password)
    found = _checks(reader)
    assert [found[n].verdict for n in ("state.backend", "state.stack", "state.lock")] == [PASS, WARN, PASS]

    checkpoint = f"{DATABASE}/.pulumi/stacks/maya-infra/staging.json"
    lock = f"{DATABASE}/.pulumi/locks/organization/maya-infra/staging/5f0c2a.json"
    other = f"{DATABASE}/.pulumi/locks/organization/maya-infra/production/77aa.json"
    holder = {"pid": 31337, "username": "runner", "hostname": "gha-12", "timestamp": "2026-12-07T03:00:00Z"}
    with postgres.admin(DATABASE, autocommit=True) as conn:
        for key, document in ((checkpoint, {"version": 3, "checkpoint": {}}), (lock, holder), (other, holder)):
            conn.execute(f"INSERT INTO {TABLE} (key, data) VALUES (%s, %s)", (key, _file(document)))  # noqa: S608
    found = _checks(reader)
    assert found["state.stack"].verdict == PASS
    lock_check = found["state.lock"]
    assert lock_check.verdict == FAIL
    assert "runner@gha-12 (pid 31337) since 2026-12-07T03:00:00Z" in lock_check.seen
    assert lock_check.fix.endswith("`pulumi cancel --stack staging`")
    assert lock_check.seen.count("pid") == 1  # production's lock is production's business

    with postgres.admin(DATABASE, autocommit=True) as conn:
        conn.execute(f"DELETE FROM {TABLE} WHERE key = %s", (lock,))  # noqa: S608
    assert _checks(reader)["state.lock"].verdict == PASS
    assert set(postgres.state_keys()) == {checkpoint, other}  # preflight wrote nothing


def test_a_wrong_password_fails_without_the_password_in_the_message(postgres: PostgresServer) -> None:
    check = _checks(postgres.url(password="not-the-password"))["state.backend"]
    assert check.verdict == FAIL and "PULUMI_BACKEND_URL" in check.fix
    assert "not-the-password" not in check.seen


def test_the_session_refuses_writes_even_to_the_databases_owner(postgres: PostgresServer) -> None:
    """Preflight reads with ``up``'s own state credentials, which may write: the session itself cannot, in a
    transaction psycopg opens and in autocommit alike (the server's default_transaction_read_only)."""
    conninfo, _, _ = split_url(postgres.url())  # pulumi_state: it owns the database
    for autocommit in (False, True):
        with state.read_only_session(conninfo) as conn:
            assert conn.read_only  # psycopg's own BEGIN READ ONLY, beside the server's default
            conn.autocommit = autocommit
            with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
                conn.execute("CREATE TABLE preflight_wrote_this (x int)")
