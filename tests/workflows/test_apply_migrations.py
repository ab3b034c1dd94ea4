"""The pre-deploy migration runner (workflows/scripts/apply_migrations.py) against a real PostgreSQL.

The backend's ``apply_migration.py`` here is a stand-in that keeps the spec's contract: apply one file and
record its version in ``schema_migrations`` in the same transaction, exit non-zero on failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from subprocess import CompletedProcess

import psycopg
import pytest

from tests.workflows.postgres import postgres_server

pytestmark = pytest.mark.timeout(180)
RUNNER = Path(__file__).resolve().parents[2] / "workflows" / "scripts" / "apply_migrations.py"

APPLY_ONE = """
import pathlib, sys, psycopg
name = sys.argv[1]
version = name.split("_", 1)[0]
with psycopg.connect(__import__("os").environ["DATABASE_URL"]) as db:
    db.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, applied_at timestamptz)")
    db.execute(pathlib.Path("migrations", name).read_text())
    db.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version,))
"""


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture
def database(server: str) -> Iterator[str]:
    """A fresh database per test on the shared server."""
    name = f"maya_{os.urandom(4).hex()}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    yield server.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


def _backend(tmp_path: Path, files: dict[str, str], script: str = APPLY_ONE) -> Path:
    (tmp_path / "migrations").mkdir()
    for name, sql in files.items():
        (tmp_path / "migrations" / name).write_text(sql)
    (tmp_path / "apply_migration.py").write_text(script)
    return tmp_path


def _runner(backend: Path, url: str, *args: str, python: Sequence[str] = (sys.executable,)) -> CompletedProcess[str]:
    return subprocess.run(
        [*python, str(RUNNER), *args],
        cwd=backend,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _versions(url: str) -> list[str]:
    with psycopg.connect(url) as db:
        return [row[0] for row in db.execute("SELECT version FROM schema_migrations ORDER BY version")]


def test_applies_each_pending_file_in_order_then_finds_nothing(tmp_path: Path, database: str) -> None:
    backend = _backend(
        tmp_path,
        {
            "002_add_column.sql": "ALTER TABLE tenants ADD COLUMN plan text NOT NULL DEFAULT 'free';",
            "001_tenants.sql": "CREATE TABLE tenants (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text);",
        },
    )
    first = _runner(backend, database)
    assert first.returncode == 0, first.stderr
    assert first.stdout.index("applying 001_tenants.sql") < first.stdout.index("applying 002_add_column.sql")
    assert _versions(database) == ["001", "002"]
    again = _runner(backend, database)
    assert again.returncode == 0 and "applying" not in again.stdout and "0 migration(s) applied" in again.stdout
    assert _runner(backend, database, "--check").returncode == 0

    (backend / "migrations" / "003_plans.sql").write_text("CREATE TABLE plans (name text PRIMARY KEY);")
    check = _runner(backend, database, "--check")
    assert check.returncode == 1 and "003_plans.sql is not recorded" in check.stdout
    assert _runner(backend, database).returncode == 0 and _versions(database) == ["001", "002", "003"]


#: The spec's one-file script as a backend would write it for statements outside transactions (autocommit).
AUTOCOMMIT_ONE = APPLY_ONE.replace('environ["DATABASE_URL"])', 'environ["DATABASE_URL"], autocommit=True)')


def _tables(url: str) -> list[str]:
    with psycopg.connect(url) as db:
        rows = db.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
        return [row[0] for row in rows]


def test_a_failing_migration_leaves_the_schema_as_it_was(tmp_path: Path, database: str) -> None:
    """File 3 of a batch fails: files 1 and 2 are rolled back with it (the old runner left them applied under the
    code still running, which a rollback of the code does not undo)."""
    backend = _backend(
        tmp_path,
        {
            "001_tenants.sql": "CREATE TABLE tenants (id int PRIMARY KEY);",
            "002_plans.sql": "CREATE TABLE plans (name text PRIMARY KEY); INSERT INTO plans VALUES ('free');",
            "003_broken.sql": "ALTER TABLE no_such_table ADD COLUMN x int;",
            "004_later.sql": "CREATE TABLE later (id int);",
        },
    )
    (tmp_path / "migrations" / "000_base.sql").write_text("CREATE TABLE base (id int);")
    ok = _runner(backend, database)  # everything up to the broken file, as on a first deploy, fails as one
    assert ok.returncode == 1
    assert "rolled back — the schema is as it was" in ok.stderr and "no_such_table" in ok.stderr
    assert _tables(database) == []  # not even schema_migrations: the batch's first statement was rolled back too
    (tmp_path / "migrations" / "003_broken.sql").write_text("ALTER TABLE tenants ADD COLUMN x int;")
    fixed = _runner(backend, database)
    assert fixed.returncode == 0, fixed.stderr
    assert _versions(database) == ["000", "001", "002", "003", "004"]
    assert _tables(database) == ["base", "later", "plans", "schema_migrations", "tenants"]


def test_without_a_driver_psql_runs_the_batch_in_one_transaction_too(tmp_path: Path, database: str) -> None:
    """A backend image without psycopg applies the batch through ``psql --single-transaction``: all or nothing."""
    if shutil.which("psql") is None:
        pytest.skip("no psql on PATH: the runner's fallback cannot run here")
    backend = _backend(
        tmp_path,
        {
            "001_tenants.sql": "CREATE TABLE tenants (id int PRIMARY KEY);",
            "002_broken.sql": "SELECT no_such_function();",
        },
    )
    no_driver = (sys.executable, "-S")  # no site-packages: neither psycopg nor psycopg2 can be imported
    failed = _runner(backend, database, python=no_driver)
    assert failed.returncode == 1 and "rolled back — the schema is as it was" in failed.stderr, failed.stderr
    assert _tables(database) == []
    (tmp_path / "migrations" / "002_broken.sql").write_text("ALTER TABLE tenants ADD COLUMN plan text;")
    done = _runner(backend, database, python=no_driver)
    assert done.returncode == 0, done.stderr
    assert _versions(database) == ["001", "002"]


def test_a_later_failing_batch_keeps_what_earlier_deploys_applied(tmp_path: Path, database: str) -> None:
    backend = _backend(tmp_path, {"001_tenants.sql": "CREATE TABLE tenants (id int PRIMARY KEY);"})
    assert _runner(backend, database).returncode == 0
    (tmp_path / "migrations" / "002_column.sql").write_text("ALTER TABLE tenants ADD COLUMN plan text;")
    (tmp_path / "migrations" / "003_broken.sql").write_text("SELECT no_such_function();")
    assert _runner(backend, database).returncode == 1
    assert _versions(database) == ["001"]
    with psycopg.connect(database) as db:
        columns = [
            r[0] for r in db.execute("SELECT column_name FROM information_schema.columns WHERE table_name = 'tenants'")
        ]
    assert columns == ["id"]  # 002's column is not there: the batch is all or nothing


def test_a_migration_postgres_cannot_run_in_a_transaction_must_deploy_alone(tmp_path: Path, database: str) -> None:
    backend = _backend(
        tmp_path,
        {
            "001_tenants.sql": "CREATE TABLE tenants (id int PRIMARY KEY, name text);",
            "002_index.sql": "-- big table\nCREATE INDEX CONCURRENTLY tenants_name ON tenants (name);",
        },
        AUTOCOMMIT_ONE,
    )
    mixed = _runner(backend, database)
    assert (
        mixed.returncode == 1
        and "002_index.sql (CONCURRENTLY)" in mixed.stderr
        and "deploy it on its own" in mixed.stderr
    )
    assert _tables(database) == []  # refused before anything ran
    (tmp_path / "migrations" / "002_index.sql").unlink()
    assert _runner(backend, database).returncode == 0
    (tmp_path / "migrations" / "002_index.sql").write_text("CREATE INDEX CONCURRENTLY tenants_name ON tenants (name);")
    alone = _runner(backend, database)  # the lone pending file: the spec's apply_migration.py, no transaction
    assert alone.returncode == 0, alone.stderr
    assert _versions(database) == ["001", "002"]


def test_a_lone_script_run_that_does_not_record_the_version_is_caught(tmp_path: Path, database: str) -> None:
    silent = AUTOCOMMIT_ONE.replace('db.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version,))', "")
    backend = _backend(tmp_path, {"001_index.sql": "VACUUM;"}, silent)
    done = _runner(backend, database)
    assert done.returncode == 1 and "is not in schema_migrations" in done.stderr


def test_bad_names_and_a_version_used_twice_are_refused_before_anything_runs(tmp_path: Path, database: str) -> None:
    backend = _backend(tmp_path, {"001_a.sql": "SELECT 1;", "01_b.sql": "SELECT 1;"})
    done = _runner(backend, database)
    assert done.returncode == 1 and "already used" in done.stderr
    with psycopg.connect(database) as db:
        assert db.execute("SELECT to_regclass('schema_migrations')").fetchone() == (None,)
