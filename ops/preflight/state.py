"""The state backend: reachable, the stack exists (or will be created), the lock is free — read-only.

The backend is ``--backend URL``, else ``PULUMI_BACKEND_URL`` (CI's secret), else the CLI's current login
(``~/.pulumi/credentials.json``). Pulumi's DIY backends keep a stack's checkpoint at
``.pulumi/stacks/maya-infra/<stack>.json`` and a running update's lock at
``.pulumi/locks/organization/maya-infra/<stack>/<id>.json`` (legacy layout: without the project folder);
the PostgreSQL backend keeps each of those files as a row of its table (ops/state_table.py). ``file://`` and
``postgres://`` are read here, the latter in a read-only session; ``s3://`` and Pulumi Cloud are not (they
need the cloud's own SDK or API) and say so.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from ops.preflight.context import Run
from ops.preflight.report import Check, failed, passed, skipped, warned
from ops.state_table import PROJECT, StateTableError, split_url, stack_keys

if TYPE_CHECKING:
    import psycopg

NAME = "state"


def backend_url(run: Run) -> str | None:
    if run.backend_url:
        return run.backend_url
    if run.env.get("PULUMI_BACKEND_URL"):
        return run.env["PULUMI_BACKEND_URL"]
    home = Path(run.env.get("PULUMI_HOME") or Path.home() / ".pulumi")
    try:
        current = json.loads((home / "credentials.json").read_text()).get("current")
    except (OSError, ValueError):
        return None
    return str(current) if current else None


def lock_prefixes(stack: str, prefix: str = "") -> tuple[str, ...]:
    return (f"{prefix}.pulumi/locks/organization/{PROJECT}/{stack}/", f"{prefix}.pulumi/locks/{stack}/")


def _describe(content: Mapping[str, Any]) -> str:
    return (
        f"{content.get('username', '?')}@{content.get('hostname', '?')} (pid {content.get('pid', '?')}) "
        f"since {content.get('timestamp', '?')}"
    )


def _verdicts(run: Run, where: str, exists: bool, locks: list[str]) -> list[Check]:
    stack = run.stack
    checks = [passed(f"{NAME}.backend", f"{where} is reachable")]
    if exists:
        checks.append(passed(f"{NAME}.stack", f"stack {stack} exists"))
    else:
        checks.append(
            warned(
                f"{NAME}.stack",
                f"stack {stack} does not exist in {where}: it will be created",
                f"`pulumi stack init {stack}` with its own passphrase (docs/architecture.md, 'State backend'); "
                f"MAYA already runs: `python -m ops adopt --stack {stack}` before the first `up`",
            )
        )
    if locks:
        checks.append(
            failed(
                f"{NAME}.lock",
                f"stack {stack} is locked by {'; '.join(locks)}",
                f"wait for that update to end; if none is running, `pulumi cancel --stack {stack}`",
            )
        )
    else:
        checks.append(passed(f"{NAME}.lock", "no update holds the stack's lock"))
    return checks


def _file(run: Run, url: str) -> list[Check]:
    raw = unquote(url[len("file://") :])
    root = Path(os.path.expanduser(raw or "~"))
    if not root.is_dir():
        return [failed(f"{NAME}.backend", f"{root} does not exist", f"`pulumi login {url}` after creating the folder")]
    stacks = root / ".pulumi" / "stacks"
    exists = any(
        (stacks / p).is_file()
        for p in (f"{PROJECT}/{run.stack}.json", f"{PROJECT}/{run.stack}.json.gz", f"{run.stack}.json")
    )
    locks = []
    for prefix in lock_prefixes(run.stack):
        folder = root / prefix
        for lock in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            try:
                locks.append(_describe(json.loads(lock.read_text())))
            except (OSError, ValueError):
                locks.append(str(lock))
    return _verdicts(run, str(root), exists, locks)


def read_only_session(conninfo: str) -> psycopg.Connection[Any]:
    """A session that cannot write whatever its role may: preflight reads with ``up``'s own state credentials.
    The server refuses writes in every transaction (``default_transaction_read_only``, autocommit included),
    and psycopg opens its transactions read-only too."""
    import psycopg

    conn = psycopg.connect(conninfo, connect_timeout=5, options="-c default_transaction_read_only=on")
    conn.read_only = True
    return conn


def _postgres(run: Run, url: str) -> list[Check]:
    import psycopg

    try:
        conninfo, table, prefix = split_url(url)
    except StateTableError as exc:
        return [failed(f"{NAME}.backend", str(exc), "fix PULUMI_BACKEND_URL")]
    where = f"postgres://{urlsplit(url).hostname}/{urlsplit(url).path.strip('/')} table {table}"
    try:
        with read_only_session(conninfo) as conn:
            if conn.execute("SELECT to_regclass(%s)", (table,)).fetchone() == (None,):
                return [
                    passed(f"{NAME}.backend", f"{where}: the database answers"),
                    warned(
                        f"{NAME}.stack",
                        f"table {table} does not exist yet: the first `pulumi login` creates it",
                        "grant the state role CREATE on the schema once (docs/architecture.md, 'State backend')",
                    ),
                    passed(f"{NAME}.lock", "no table, so no lock"),
                ]
            keys = list(stack_keys(run.stack, PROJECT, prefix))
            exists = conn.execute(f"SELECT count(*) FROM {table} WHERE key = ANY(%s)", (keys,)).fetchone()  # noqa: S608
            rows = conn.execute(
                f"SELECT key, data FROM {table} WHERE " + " OR ".join(["key LIKE %s"] * 2),  # noqa: S608
                tuple(p.replace("_", "\\_") + "%" for p in lock_prefixes(run.stack, prefix)),
            ).fetchall()
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return [
            failed(f"{NAME}.backend", f"{where}: {first}", "check PULUMI_BACKEND_URL (host, role, password, sslmode)")
        ]
    locks = []
    for key, data in rows:
        try:
            blob = data if isinstance(data, Mapping) else json.loads(data)
            locks.append(_describe(json.loads(base64.b64decode(str(blob.get("data", ""))))))
        except (ValueError, TypeError):
            locks.append(str(key))
    return _verdicts(run, where, bool(exists and exists[0]), locks)


def checks(run: Run) -> list[Check]:
    url = backend_url(run)
    kind = run.cfg.state_backend.kind if run.cfg.state_backend else None
    if url is None:
        return [
            warned(
                f"{NAME}.backend",
                f"no state backend known (stateBackend.kind: {kind or 'not set'}); nothing was checked",
                "pass --backend URL, set PULUMI_BACKEND_URL, or `pulumi login` first",
            )
        ]
    scheme = urlsplit(url).scheme
    if scheme == "file":
        return _file(run, url)
    if scheme in ("postgres", "postgresql"):
        return _postgres(run, url)
    return [
        skipped(
            f"{NAME}.backend",
            f"a {scheme}:// backend is not inspected here (needs its cloud's API): `pulumi stack ls` shows it",
        )
    ]
