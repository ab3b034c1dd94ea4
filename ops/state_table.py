"""Read a stack's latest checkpoint straight from the Pulumi PostgreSQL state table, read-only.

The Pulumi CLI's PostgreSQL backend (``pulumi login postgres://…``) keeps every state file as one row of
a table (default ``pulumi_state``, or the URL's ``table=``): ``key`` is the file's path, e.g.
``pulumi/.pulumi/stacks/maya-infra/production.json``, ``data`` is JSON ``{"data": "<base64 of the file>"}``.
Keys start with the URL's path (the database name, ``pulumi/`` above): the CLI treats the path of every
non-file backend URL as a folder prefix inside the bucket, the table included.

An auditor cannot use the CLI for this: on opening the backend the CLI runs ``CREATE TABLE IF NOT
EXISTS`` and ``CREATE INDEX IF NOT EXISTS``, which need ownership of the table, so a role that may only
``SELECT`` is turned away before it reads anything. This module needs nothing more than ``SELECT`` on
the table, and opens its session read-only, so even a mis-granted role writes nothing through it.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

DEFAULT_TABLE = "pulumi_state"
PROJECT = "maya-infra"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class StateTableError(Exception):
    """The table cannot be read, or holds no usable checkpoint for the stack; the message says which."""


def split_url(url: str) -> tuple[str, str, str]:
    """(libpq connection URL, table name, key prefix).

    ``table=`` is Pulumi's parameter, not libpq's, so it is removed; the prefix is the URL's path, as the
    CLI uses it (``pulumi/`` for ``postgres://…/pulumi``).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise StateTableError(f"not a postgres:// URL (scheme {parts.scheme!r})")
    query = parse_qsl(parts.query, keep_blank_values=True)
    table = next((value for key, value in query if key == "table"), "") or DEFAULT_TABLE
    if not _IDENTIFIER.match(table):
        raise StateTableError(f"table {table!r} is not a plain SQL identifier")
    rest = urlencode([(key, value) for key, value in query if key != "table"])
    prefix = parts.path.strip("/")
    return (
        urlunsplit((parts.scheme, parts.netloc, parts.path, rest, parts.fragment)),
        table,
        prefix + "/" if prefix else "",
    )


def stack_keys(stack: str, project: str = PROJECT, prefix: str = "") -> tuple[str, ...]:
    """Where the DIY backend keeps a stack's checkpoint: project-scoped (current) or legacy, plain or gzipped."""
    scoped, legacy = f"{prefix}.pulumi/stacks/{project}/{stack}.json", f"{prefix}.pulumi/stacks/{stack}.json"
    return (scoped, f"{scoped}.gz", legacy, f"{legacy}.gz")


def decode_row(key: str, data: Any) -> Mapping[str, Any]:
    """The checkpoint file held by one row (``data`` as psycopg returns a JSON column)."""
    blob = data if isinstance(data, Mapping) else json.loads(data)
    raw = base64.b64decode(str(blob.get("data", "")))
    if key.endswith(".gz"):
        raw = gzip.decompress(raw)
    document = json.loads(raw)
    if not isinstance(document, Mapping):
        raise StateTableError(f"row {key!r} does not hold a JSON object")
    return document


def as_export(checkpoint: Mapping[str, Any], stack: str) -> dict[str, Any]:
    """A checkpoint file (``{"version", "checkpoint": {"latest": …}}``) as `pulumi stack export` prints it."""
    latest = (checkpoint.get("checkpoint") or {}).get("latest")
    if not isinstance(latest, Mapping):
        raise StateTableError(f"stack {stack!r} has a checkpoint but no deployment in it (never updated?)")
    return {"version": checkpoint.get("version", 3), "deployment": dict(latest)}


def read_stack(url: str, stack: str, project: str = PROJECT) -> dict[str, Any]:
    """The latest state of ``stack`` from the table, in the shape of ``pulumi stack export``."""
    import psycopg  # imported here: only this command needs the driver

    conninfo, table, prefix = split_url(url)
    keys = stack_keys(stack, project, prefix)
    try:
        with psycopg.connect(conninfo, connect_timeout=10, options="-c default_transaction_read_only=on") as conn:
            conn.read_only = True
            rows = conn.execute(
                f"SELECT key, data FROM {table} WHERE key = ANY(%s)",  # noqa: S608 - identifier checked above
                (list(keys),),
            ).fetchall()
    except psycopg.Error as exc:
        raise StateTableError(f"cannot read table {table}: {str(exc).strip().splitlines()[0]}") from None
    found = {str(key): data for key, data in rows}
    for key in keys:
        if key in found:
            return as_export(decode_row(key, found[key]), stack)
    raise StateTableError(f"table {table} holds no checkpoint of stack {stack!r} (looked for {', '.join(keys)})")
