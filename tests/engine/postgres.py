"""A throwaway PostgreSQL server on 127.0.0.1 for the state-backend tests and the team rehearsal.

Debian's ``postgresql`` binaries (found or installed by scripts/provide-postgres.sh) run ``initdb`` into
a temp folder and ``pg_ctl start`` on a free port, with the Unix socket in the same folder (``-k``), so
nothing collides with a system cluster. PostgreSQL refuses to run as root: as root the server runs as
the ``postgres`` system user the package creates. ``stop()`` runs ``pg_ctl stop`` and removes the folder.

Roles: the superuser ``postgres`` (trust over the socket only, for setting up), ``pulumi_state`` (owns the
state database; what CI's ``PULUMI_BACKEND_URL`` logs in as) and, on request, a read-only auditor.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

import psycopg
from psycopg import sql

REPO = Path(__file__).resolve().parents[2]
DATABASE = "pulumi"
OWNER = "pulumi_state"
START_TIMEOUT = 60


def postgres_bin() -> Path:
    """PostgreSQL's server binaries: MAYA_POSTGRES_BIN (scripts/test.sh sets it), else scripts/provide-postgres.sh."""
    given = os.environ.get("MAYA_POSTGRES_BIN")
    if given:
        return Path(given)
    out = subprocess.run(
        ["bash", str(REPO / "scripts" / "provide-postgres.sh")], check=True, capture_output=True, text=True, timeout=900
    )
    return Path(out.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """One cluster in a temp folder; a context manager that always stops it."""

    def __init__(self, bin_dir: Path | None = None) -> None:
        self.bin_dir = bin_dir or postgres_bin()
        self.root = Path(tempfile.mkdtemp(prefix="maya-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.password = secrets.token_urlsafe(18)
        self._as_user: list[str] = []
        self._running = False

    # ---- life cycle ---------------------------------------------------------------------------------------
    def _run(self, *argv: str, timeout: float = 120) -> None:
        result = subprocess.run(
            [*self._as_user, *argv], capture_output=True, text=True, timeout=timeout, check=False, cwd=self.root
        )
        if result.returncode != 0:
            raise RuntimeError(f"{Path(argv[0]).name} failed: {(result.stderr or result.stdout).strip()[-800:]}")

    def start(self) -> PostgresServer:
        if os.geteuid() == 0:  # the server will not run as root
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self._as_user = ["runuser", "-u", "postgres", "--"]
        self._run(
            str(self.bin_dir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--no-instructions",
        )
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            str(self.bin_dir / "pg_ctl"),
            "start",
            "-D",
            str(self.data),
            "-l",
            str(self.root / "server.log"),
            "-w",
            "-t",
            str(START_TIMEOUT),
            "-o",
            options,
            timeout=START_TIMEOUT + 30,
        )
        self._running = True
        with self.admin(autocommit=True) as conn:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(OWNER), sql.Literal(self.password))
            )
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(DATABASE), sql.Identifier(OWNER)))
        return self

    def stop(self) -> None:
        if self._running:
            self._run(str(self.bin_dir / "pg_ctl"), "stop", "-D", str(self.data), "-m", "fast", "-w", timeout=90)
            self._running = False
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    # ---- connections --------------------------------------------------------------------------------------
    def admin(self, database: str = "postgres", *, autocommit: bool = False) -> psycopg.Connection:
        """The superuser over the socket (trust): for setting up roles and for looking at rows."""
        return psycopg.connect(
            host=str(self.root), port=self.port, user="postgres", dbname=database, autocommit=autocommit
        )

    def url(self, user: str = OWNER, password: str | None = None, *, table: str | None = None) -> str:
        """What ``pulumi login`` takes: ``postgres://user:password@127.0.0.1:port/pulumi?sslmode=disable``."""
        secret = self.password if password is None else password
        query = "sslmode=disable" + (f"&table={table}" if table else "")
        return f"postgres://{user}:{secret}@127.0.0.1:{self.port}/{DATABASE}?{query}"

    def add_reader(self, role: str, table: str = "pulumi_state") -> str:
        """A login role with nothing but SELECT on ``table``; returns its password."""
        password = secrets.token_urlsafe(18)
        with self.admin(DATABASE, autocommit=True) as conn:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(password))
            )
            conn.execute(sql.SQL("GRANT SELECT ON {} TO {}").format(sql.Identifier(table), sql.Identifier(role)))
        return password

    def state_keys(self, table: str = "pulumi_state") -> list[str]:
        with self.admin(DATABASE) as conn:
            rows = conn.execute(sql.SQL("SELECT key FROM {} ORDER BY key").format(sql.Identifier(table))).fetchall()
        return [str(row[0]) for row in rows]
