"""Apply the pending migrations in order, **all in one transaction**: a failure leaves the schema as it was.

maya-infra commits this file next to the backend's ``apply_migration.py`` and makes it Railway's
pre-deploy command, so every deployment applies what is pending before it starts (a failure stops the
deploy: Railway does not start a deployment whose pre-deploy command fails). The build job of the
backend pipeline runs it against an empty database and then ``--check`` (nothing may be left pending).

Why one transaction: applied one by one, a failure in file k left files 1..k-1 applied under the code that
was still running — and a rollback reverts code, never the schema. So the whole pending batch runs in ONE
transaction (each file's SQL, then its row in ``schema_migrations``), committed only when every file
succeeded; on any error PostgreSQL rolls all of it back. Where PostgreSQL does not allow it — a file with
``CREATE INDEX CONCURRENTLY``, ``VACUUM``, ``ALTER TYPE … ADD VALUE``, ``CREATE/DROP DATABASE``, ``ALTER
SYSTEM``, or its own ``BEGIN``/``COMMIT`` — that file must be the only pending one (deploy it on its own,
after the others): it then runs through the spec's ``apply_migration.py <file>``; mixed into a batch it is
refused before anything runs (docs/gates.md, "Migrations").

The contract it relies on (the spec's "Database Migrations"):

* migrations are ``<dir>/NNN_name.sql``; the number is the version, names sort in apply order;
* ``python apply_migration.py NNN_name.sql`` applies one file (run in the backend folder) and records its
  version in ``schema_migrations(version)``, exiting non-zero when it fails;
* ``DATABASE_URL`` points at the database.

What is pending is read from ``schema_migrations`` (no table yet: nothing applied), compared by version
(``015`` and ``15`` are the same). After each file the version must be recorded, or the run stops: a
script that exits 0 without recording would apply the file again on the next deploy.

Usage: ``python apply_migrations.py [--dir migrations] [--script apply_migration.py] [--check]``
(``--script`` is the spec's one-file script, used only for a lone migration PostgreSQL cannot run in a
transaction; ``schema_migrations(version text primary key, applied_at timestamptz)`` is created when missing.)
Exit status: 0 nothing left pending; 1 a migration failed, was not recorded, or (``--check``) is pending;
2 DATABASE_URL unset (a database that cannot be read is 1).
Standard library, plus psycopg (3) or psycopg2 when installed, else psql.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

_MIGRATION = re.compile(r"^(?P<version>[0-9]+)_[A-Za-z0-9_-]+\.sql$")
#: Statements PostgreSQL will not run inside a transaction block (or whose effect a later statement of the same
#: transaction cannot use), and a file's own transaction control: such a file cannot join the batch.
_NOT_IN_A_TRANSACTION = re.compile(
    r"\b(?:CONCURRENTLY|VACUUM|ALTER\s+SYSTEM|(?:CREATE|DROP)\s+(?:DATABASE|TABLESPACE)|ADD\s+VALUE)\b"
    r"|^\s*(?:BEGIN|COMMIT|ROLLBACK|START\s+TRANSACTION|END)\b",
    re.IGNORECASE | re.MULTILINE,
)
_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)
SCHEMA_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations "
    "(version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
)
_NO_TABLE = ("schema_migrations", "does not exist")


class RunnerError(Exception):
    """A problem that stops the run; its message says what and what to do."""


def _key(version: str) -> str:
    return str(int(version)) if version.strip().isdigit() else version.strip()


def migrations(directory: Path) -> list[tuple[str, str]]:
    """(version, file name) of every migration, in apply order; a bad name or a number used twice stops the run."""
    found: dict[str, str] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _MIGRATION.match(path.name)
        if not match:
            raise RunnerError(f"{path.name}: not NNN_description.sql; rename it")
        key = _key(match.group("version"))
        if key in found:
            raise RunnerError(f"{path.name}: version {key} is already used by {found[key]}")
        found[key] = path.name
    return sorted(((m.split("_", 1)[0], m) for m in found.values()), key=lambda item: int(item[0]))


def pending(all_migrations: Sequence[tuple[str, str]], applied: Iterable[str]) -> list[tuple[str, str]]:
    done = {_key(v) for v in applied if str(v).strip()}
    return [(v, name) for v, name in all_migrations if _key(v) not in done]


def _query_with_driver(url: str, sql: str) -> list[str] | None:
    """Rows of one column through psycopg (3) or psycopg2; None when neither is installed."""
    for module_name in ("psycopg", "psycopg2"):
        try:
            module = __import__(module_name)
        except ImportError:
            continue
        with module.connect(url) as connection, connection.cursor() as cursor:
            cursor.execute(sql)
            return [str(row[0]) for row in cursor.fetchall()]
    return None


def _query_with_psql(url: str, sql: str) -> list[str]:
    if shutil.which("psql") is None:
        raise RunnerError("neither psycopg, psycopg2 nor psql is available to read schema_migrations")
    done = subprocess.run(
        ["psql", url, "--no-psqlrc", "--no-align", "--tuples-only", "--set=ON_ERROR_STOP=1", "--command", sql],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip())
    return [line for line in done.stdout.splitlines() if line.strip()]


def applied_versions(url: str) -> list[str]:
    """The versions recorded in ``schema_migrations``; none when the table does not exist yet."""
    sql = "SELECT version FROM schema_migrations"
    try:
        rows = _query_with_driver(url, sql)
        return rows if rows is not None else _query_with_psql(url, sql)
    except RunnerError:
        raise
    except Exception as exc:  # the drivers' errors have no common base; the message tells them apart
        text = str(exc)
        if all(part in text for part in _NO_TABLE):
            return []
        first = text.splitlines()[0] if text else type(exc).__name__
        raise RunnerError(f"cannot read schema_migrations: {first}") from None


Runner = Callable[[Sequence[str]], int]


def _run(argv: Sequence[str]) -> int:
    return subprocess.run(argv, check=False).returncode


def outside_transactions(directory: Path, todo: Sequence[tuple[str, str]]) -> dict[str, str]:
    """File name -> the statement that keeps it out of a transaction, for the pending files that have one."""
    found = {}
    for _version, name in todo:
        match = _NOT_IN_A_TRANSACTION.search(_COMMENTS.sub(" ", (directory / name).read_text(encoding="utf-8")))
        if match:
            found[name] = " ".join(match.group(0).split()).upper()
    return found


Batch = Callable[[str, Sequence[tuple[str, str]]], None]


def _batch_with_driver(url: str, files: Sequence[tuple[str, str]]) -> bool:
    """Run (version, SQL) pairs and their schema_migrations rows in one transaction; False without a driver."""
    for module_name in ("psycopg", "psycopg2"):
        try:
            module = __import__(module_name)
        except ImportError:
            continue
        connection = module.connect(url)
        try:
            with connection.cursor() as cursor:  # a driver's connection opens the transaction: nothing autocommits
                cursor.execute(SCHEMA_TABLE)
                for version, sql in files:
                    cursor.execute(sql)
                    cursor.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version,))
            connection.commit()
        except Exception:
            connection.rollback()
            raise
        finally:
            connection.close()
        return True
    return False


def _batch_with_psql(url: str, paths: Sequence[tuple[str, Path]]) -> None:
    if shutil.which("psql") is None:
        raise RunnerError("neither psycopg, psycopg2 nor psql is available to apply the migrations")
    argv = ["psql", url, "--no-psqlrc", "--set=ON_ERROR_STOP=1", "--single-transaction", "--command", SCHEMA_TABLE]
    for version, path in paths:
        if not version.isdigit():  # the file name's number (``migrations`` checked it): nothing else is spliced in
            raise RunnerError(f"{path.name}: version {version!r} is not a number")
        record = f"INSERT INTO schema_migrations (version) VALUES ('{version}')"  # noqa: S608 - digits only
        argv += ["--file", str(path), "--command", record]
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip())


def apply_batch(directory: Path, url: str, todo: Sequence[tuple[str, str]]) -> None:
    """Every pending file and its version row in ONE transaction: all of it, or (on any error) none of it."""
    files = [(version, (directory / name).read_text(encoding="utf-8")) for version, name in todo]
    try:
        if not _batch_with_driver(url, files):
            _batch_with_psql(url, [(version, directory / name) for version, name in todo])
    except RunnerError:
        raise
    except Exception as exc:  # the drivers' errors have no common base; the message says what failed
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        names = ", ".join(name for _v, name in todo)
        raise RunnerError(
            f"the batch ({names}) failed and was rolled back — the schema is as it was: {first}; fix the migration "
            "and deploy again"
        ) from None


def apply_pending(
    directory: Path,
    script: str,
    url: str,
    *,
    run: Runner = _run,
    read: Callable[[str], list[str]] = applied_versions,
    batch: Callable[[Path, str, Sequence[tuple[str, str]]], None] = apply_batch,
) -> list[str]:
    """Apply every pending migration in order, in one transaction; the names applied (see the module's doc)."""
    todo = pending(migrations(directory), read(url))
    if not todo:
        return []
    alone = outside_transactions(directory, todo)
    if alone and len(todo) > 1:
        named = "; ".join(f"{name} ({what})" for name, what in alone.items())
        raise RunnerError(
            f"{named}: PostgreSQL cannot run this inside a transaction, so it cannot join the batch of "
            f"{len(todo)} pending migrations; nothing was applied — deploy it on its own, after the others"
        )
    for _version, name in todo:
        print(f"applying {name}", flush=True)
    if alone:  # the one pending file, outside any transaction: the spec's own script applies and records it
        version, name = todo[0]
        code = run([sys.executable, script, name])
        if code != 0:
            raise RunnerError(f"{name} failed (exit {code}); the deploy stops here — fix it and deploy again")
        if _key(version) not in {_key(v) for v in read(url)}:
            raise RunnerError(f"{script} exited 0 but {name} (version {version}) is not in schema_migrations")
        return [name]
    batch(directory, url, todo)
    if {_key(v) for v, _n in todo} - {_key(v) for v in read(url)}:
        raise RunnerError("the batch was committed but schema_migrations does not list every version")
    return [name for _v, name in todo]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="apply_migrations", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=Path("migrations"))
    parser.add_argument("--script", default="apply_migration.py")
    parser.add_argument("--check", action="store_true", help="apply nothing; fail when a migration is pending")
    args = parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        print("::error::DATABASE_URL is not set", file=sys.stderr)
        return 2
    try:
        if args.check:
            left = pending(migrations(args.dir), applied_versions(url))
            for _version, name in left:
                print(f"::error::{name} is not recorded in schema_migrations")
            print(f"{len(left)} migration(s) pending")
            return 1 if left else 0
        done = apply_pending(args.dir, args.script, url)
        print(f"{len(done)} migration(s) applied in one transaction; nothing pending")
        return 0
    except RunnerError as exc:
        print(f"::error::{exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
