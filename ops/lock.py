"""One mutating command per stack at a time, on this machine: a lock file per stack.

``rollback``, ``backup``, ``restore`` and ``previews --prune-older-than`` hold it from the moment their stack
is loaded until they exit (an exit of any kind, ``kill -9`` included, releases it: it is an ``flock``). A
second one is refused (exit 2) with the one that holds it named: its command line, process id, user, host
and start time. What runs elsewhere (another machine, the pipeline) is detected on the platform by each
command (a rollback deployment in flight, a volume that is restoring, a promotion pending).

The lock file lives in ``MAYA_OPS_LOCK_DIR`` (default: ``<temp dir>/maya-ops-locks``) and is named after the
stack and the ids of its Railway and Vercel projects, so that two copies of a stack (the tests' fakes, two
rehearsals) never share one and a real stack always has the same one.
"""

from __future__ import annotations

import fcntl
import getpass
import hashlib
import os
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ops.clock import clock, utc_now
from ops.context import OpsError, StackContext

LOCK_DIR_ENV = "MAYA_OPS_LOCK_DIR"


def lock_path(ctx: StackContext) -> Path:
    folder = ctx.env.get(LOCK_DIR_ENV) or os.path.join(tempfile.gettempdir(), "maya-ops-locks")
    ids = "|".join(str(ctx.outputs.get(k) or "") for k in ("railway_project_id", "vercel_project_id"))
    return Path(folder) / f"{ctx.stack}-{hashlib.sha256(ids.encode()).hexdigest()[:16]}.lock"


def _holder(command: str, stack: str) -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "?"
    return (
        f"`python -m ops {command} --stack {stack}` (pid {os.getpid()}, {user}@{socket.gethostname()}, "
        f"since {clock(utc_now())})"
    )


@contextmanager
def stack_lock(ctx: StackContext, command: str) -> Iterator[None]:
    """Hold stack ``ctx.stack``'s lock while the block runs, or refuse when another command holds it."""
    path = lock_path(ctx)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise OpsError(
            f"cannot open the lock of stack {ctx.stack!r} at {path} ({exc.strerror}): set {LOCK_DIR_ENV} to a "
            "folder this user may write"
        ) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            held_by = os.pread(fd, 1000, 0).decode(errors="replace").strip() or "another ops command"
            raise OpsError(
                f"{held_by} is changing stack {ctx.stack!r} right now: one mutating command per stack at a time; "
                f"wait for it to finish (`python -m ops status --stack {ctx.stack}` shows what runs), then try "
                "again. Nothing was done."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, _holder(command, ctx.stack).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
