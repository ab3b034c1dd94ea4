"""Apply each pending migration in order, the way DEPLOYMENT_PIPELINE.md runs one (``apply_migration.py <file>``).

maya-infra commits this file next to the backend's ``apply_migration.py`` and makes it Railway's
pre-deploy command, so every deployment applies what is pending before it starts (a failure stops the
deploy: Railway does not start a deployment whose pre-deploy command fails). The build job of the
backend pipeline runs it against an empty database and then ``--check`` (nothing may be left pending).

The contract it relies on (the spec's "Database Migrations"):

* migrations are ``<dir>/NNN_name.sql``; the number is the version, names sort in apply order;
* ``python apply_migration.py NNN_name.sql`` applies one file (run in the backend folder) and records its
  version in ``schema_migrations(version)``, exiting non-zero when it fails;
* ``DATABASE_URL`` points at the database.

What is pending is read from ``schema_migrations`` (no table yet: nothing applied), compared by version
(``015`` and ``15`` are the same). After each file the version must be recorded, or the run stops: a
script that exits 0 without recording would apply the file again on the next deploy.

Usage: ``python apply_migrations.py [--dir migrations] [--script apply_migration.py] [--check]``
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


def apply_pending(
    directory: Path, script: str, url: str, *, run: Runner = _run, read: Callable[[str], list[str]] = applied_versions
) -> list[str]:
    """Apply every pending migration in order through ``script``; the names applied. Stops at the first failure."""
    todo = pending(migrations(directory), read(url))
    done: list[str] = []
    for version, name in todo:
        print(f"applying {name}", flush=True)
        code = run([sys.executable, script, name])
        if code != 0:
            raise RunnerError(f"{name} failed (exit {code}); the deploy stops here — fix it and deploy again")
        if _key(version) not in {_key(v) for v in read(url)}:
            raise RunnerError(f"{script} exited 0 but {name} (version {version}) is not in schema_migrations")
        done.append(name)
    return done


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
        print(f"{len(done)} migration(s) applied; nothing pending")
        return 0
    except RunnerError as exc:
        print(f"::error::{exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
