"""``backup``, ``backups``, ``restore``: the stack's PostgreSQL backups on Railway.

    python -m ops backup  --stack production [--name before-migration-042]   # take one now; waits until it exists
    python -m ops backups --stack production                                 # list them, newest first, with ages
    python -m ops restore --stack production --backup ID [--yes]             # restore; waits; health check
    python -m ops restore --stack production --backup predeploy              # the newest pre-deploy backup

The backups are Railway's backups of the stack's PostgreSQL volume: the scheduled ones
(``maya-infra:backups``, kept for Railway's retention of each kind) and the manual ones taken here (kept
until deleted in the dashboard). The volume is found from the stack's outputs
(``railway_volume_instance_id``; for a stack deployed before that output existed, the PostgreSQL volume of
``railway_environment_id``).

The production deploy job takes one more kind before a deploy that brings new migration files: the
**pre-deploy backup** ``maya-predeploy-<commit>`` (workflows/scripts/predeploy_backup.py). ``backups`` names it
(kind ``pre-deploy <commit>``), and ``restore --backup predeploy`` restores the newest one.

``restore`` overwrites the database with the backup: every write since the backup was taken is lost. On
EVERY stack it says so, with the backup's time, and asks you to type the stack's name unless ``--yes`` (no
terminal and no ``--yes``: refused). It waits for Railway's restore workflow, then probes the backend's
health endpoint (``ops health``) until healthy or ``--health-wait`` seconds have passed.

``backup`` reports the backup IT made: the new backup carrying its name (a name of its own by default,
``manual <stack> <time> <tag>``; a ``--name`` already used by a backup of the volume is refused), never
"the newest backup". ``backup`` and ``restore`` run one at a time per stack (ops/lock.py) and refuse a volume
that Railway is restoring, migrating or updating. Ctrl-C (exit 130) says what Railway was already asked to
do and that ``python -m ops backups --stack S`` shows its progress (the volume's state, the new backup).

Exit status: 0 done; 1 Railway's workflow failed or timed out, or the backend is unhealthy after a
restore; 2 a refusal — wrong stack, another command running on the stack, a volume busy, unknown backup,
a stack without a database volume, missing credentials, not confirmed — or a usage or configuration
problem; 130 interrupted. Nothing secret is printed.
"""

from __future__ import annotations

import argparse
import secrets
from dataclasses import dataclass
from typing import Any

from components.railway import errors
from components.railway import operations as gql
from components.railway.client import RailwayClient
from components.railway.exactly_once import write_once
from ops import binding, health
from ops.cli import command
from ops.clock import age, clock, parse_time, utc_now
from ops.console import FAILED, OK, StackCommand, Streams, Waiter, always, confirm
from ops.context import OpsError, StackContext
from workflows.scripts.predeploy_backup import PREFIX as PREDEPLOY_PREFIX

POSTGRES_MOUNT_PATH = "/var/lib/postgresql/data"  # where Railway's PostgreSQL template mounts its volume
BACKUP_TIMEOUT_SECONDS = 900.0
RESTORE_TIMEOUT_SECONDS = 1800.0
POLL_SECONDS = 3.0
HEALTH_WAIT_SECONDS = 300.0
MAX_LOOKS = 10_000  # a hard bound on every polling loop, on top of its deadline
#: Volume states in which Railway is already working on the volume: no backup or restore is started then.
BUSY = frozenset({"RESTORING", "MIGRATING", "MIGRATION_PENDING", "UPDATING", "DELETING", "DELETED"})


# ---- the database volume ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Volume:
    stack: str
    volume_instance_id: str
    state: str | None

    @property
    def label(self) -> str:
        return f"{self.stack}'s database volume ({self.volume_instance_id})"


def require_database(ctx: StackContext) -> None:
    """Refuse, before asking for any credential, a stack whose config has no Railway database."""
    cfg = ctx.config
    if "railway" not in cfg.platforms:
        raise OpsError(f"stack {ctx.stack!r} has no database volume: Railway is left out of it (maya-infra:platforms)")
    if cfg.backend.database != "railway":
        raise OpsError(
            f"stack {ctx.stack!r} has no database volume on Railway: backend.database is "
            f"{cfg.backend.database!r}; back that database up with its own provider"
        )


def database_volume(ctx: StackContext, client: RailwayClient) -> Volume:
    """The stack's PostgreSQL volume instance on Railway, or a refusal saying why there is none."""
    require_database(ctx)
    volume_id = ctx.outputs.get("railway_volume_instance_id")
    if not volume_id:
        environment = ctx.output("railway_environment_id")
        listed = client.execute(gql.ENVIRONMENT_VOLUME_INSTANCES, {"environmentId": environment})["environment"]
        candidates = [
            edge["node"]
            for edge in listed["volumeInstances"]["edges"]
            if edge["node"].get("mountPath") == POSTGRES_MOUNT_PATH
        ]
        if len(candidates) != 1:
            found = "none" if not candidates else f"{len(candidates)}"
            raise OpsError(
                f"stack {ctx.stack!r} has no single database volume in its Railway environment ({found} mounted "
                f"at {POSTGRES_MOUNT_PATH}); run `pulumi up --stack {ctx.stack}` so it exports "
                "railway_volume_instance_id"
            )
        volume_id = candidates[0]["id"]
    try:
        instance = client.execute(gql.VOLUME_INSTANCE, {"id": volume_id})["volumeInstance"]
    except errors.NotFoundError:
        raise OpsError(
            f"stack {ctx.stack!r} has no database volume: {volume_id} no longer exists in Railway; "
            f"run `pulumi refresh --stack {ctx.stack}` and `pulumi up` to see what happened"
        ) from None
    environment = ctx.outputs.get("railway_environment_id")
    if environment and instance.get("environmentId") not in (None, environment):
        raise OpsError(
            f"the outputs' railway_volume_instance_id {volume_id} is a volume of environment "
            f"{instance.get('environmentId')}, not of stack {ctx.stack}'s environment {environment}: nothing was "
            f"done; check the outputs against `pulumi stack output --stack {ctx.stack}`"
        )
    return Volume(ctx.stack, str(volume_id), instance.get("state"))


def refuse_busy(volume: Volume, action: str, stack: str) -> None:
    """Refuse to start ``action`` while Railway works on the volume (a restore under way, a migration …)."""
    if volume.state in BUSY:
        under_way = "a restore is under way" if volume.state == "RESTORING" else "Railway is working on it"
        raise OpsError(
            f"{volume.label} is {volume.state} ({under_way}): refusing to {action} now; nothing was done. "
            f"`python -m ops backups --stack {stack}` shows the volume's state; try again once it is READY"
        )


def list_backups(client: RailwayClient, volume: Volume) -> list[dict[str, Any]]:
    """The volume's backups, newest first."""
    backups = client.execute(gql.VOLUME_INSTANCE_BACKUPS, {"volumeInstanceId": volume.volume_instance_id})[
        "volumeInstanceBackupList"
    ]
    return sorted(backups, key=lambda b: parse_time(b.get("createdAt")) or utc_now(), reverse=True)


def list_schedules(client: RailwayClient, volume: Volume) -> list[dict[str, Any]]:
    return list(
        client.execute(gql.VOLUME_INSTANCE_BACKUP_SCHEDULES, {"volumeInstanceId": volume.volume_instance_id})[
            "volumeInstanceBackupScheduleList"
        ]
    )


# ---- waiting ---------------------------------------------------------------------------------------------------
def wait_workflow(client: RailwayClient, workflow_id: str, what: str, waiter: Waiter) -> None:
    """Follow one of Railway's workflows until it completes; its failure or the deadline is an error."""
    for _ in range(MAX_LOOKS):
        result = client.execute(gql.WORKFLOW_STATUS, {"workflowId": workflow_id})["workflowStatus"]
        status = result.get("status")
        if status == "Complete":
            return
        if status in ("Error", "NotFound"):
            detail = result.get("error") or ("Railway does not know it" if status == "NotFound" else "no detail")
            raise OpsError(f"Railway's {what} (workflow {workflow_id}) failed: {detail}", FAILED)
        if not waiter.pause(f"{what}: {status}"):
            break
    raise OpsError(
        f"Railway's {what} (workflow {workflow_id}) was still running after {waiter.timeout:.0f}s; "
        "look at the database service in Railway's dashboard before trying again",
        FAILED,
    )


# ---- backup ----------------------------------------------------------------------------------------------------
def take_backup(ctx: StackContext, args: argparse.Namespace, io: Streams) -> int:
    waiter = Waiter(args.timeout or BACKUP_TIMEOUT_SECONDS, POLL_SECONDS if args.poll is None else args.poll, io.err)
    require_database(ctx)
    client = ctx.railway()
    try:
        return _take_backup(ctx, args, io, client, waiter)
    finally:
        client.close()


def _take_backup(
    ctx: StackContext, args: argparse.Namespace, io: Streams, client: RailwayClient, waiter: Waiter
) -> int:
    out, err, journal = io.out, io.err, io.journal
    binding.railway_project(ctx, client)
    volume = database_volume(ctx, client)
    refuse_busy(volume, "take a backup", ctx.stack)
    existing = list_backups(client, volume)
    # the backup is known by its name: Railway answers the create with a workflow id only
    name = args.name or f"manual {ctx.stack} {clock(utc_now())} {secrets.token_hex(3)}"
    taken = next((b for b in existing if b.get("name") == name), None)
    if taken is not None:
        raise OpsError(
            f"{volume.label} has a backup named {name!r} already ({taken['id']}, taken {taken.get('createdAt')}): "
            "give this one another --name, so that each name says which backup it is"
        )
    before = {b["id"] for b in existing}

    def ours() -> dict[str, Any] | None:
        """The backup this command's request made: new since it looked, and named as it asked."""
        made = [b for b in list_backups(client, volume) if b["id"] not in before and b.get("name") == name]
        if len(made) > 1:
            raise OpsError(
                f"{len(made)} new backups are named {name!r} ({', '.join(b['id'] for b in made)}): another backup "
                "with the same name was taken at the same time, so which one is this command's is unknown",
                FAILED,
            )
        return made[0] if made else None

    send = {"volumeInstanceId": volume.volume_instance_id, "name": name}
    follow = f"python -m ops backups --stack {ctx.stack}"
    what = f"Railway's backup {name!r} of {volume.label}"
    print(f"backing up {volume.label} as {name!r} …", file=err, flush=True)
    # exactly once: if the answer is lost, look for the backup (for railway.settleSeconds) before resending
    with journal.sending(what, follow):
        outcome = write_once(
            client,
            f"backup {name!r}",
            find=ours,
            send=lambda: dict(client.execute(gql.VOLUME_INSTANCE_BACKUP_CREATE, send)["volumeInstanceBackupCreate"]),
            look_first=False,
        )
    workflow_id: str | None = outcome.value.get("workflowId")
    journal.started("backup", what + (f" (workflow {workflow_id})" if workflow_id else ""), follow)
    if workflow_id:
        wait_workflow(client, workflow_id, "backup", waiter)
    for _ in range(MAX_LOOKS):
        made = ours()
        if made is not None:
            created = parse_time(made.get("createdAt"))
            print(
                f"backup {made['id']}\n"
                f"  {name!r} of {volume.label}, taken {clock(created) if created else '?'}; "
                f"restore it with: python -m ops restore --stack {ctx.stack} --backup {made['id']}",
                file=out,
            )
            return OK
        if not waiter.pause("waiting for the backup to be listed"):
            break
    raise OpsError(f"Railway finished the backup but {name!r} is not listed after {waiter.timeout:.0f}s", FAILED)


# ---- backups ---------------------------------------------------------------------------------------------------
def _days(seconds: Any) -> str:
    return f"{int(seconds) // 86400}d" if isinstance(seconds, int | float) else "?"


def show_backups(ctx: StackContext, args: argparse.Namespace, io: Streams) -> int:
    out = io.out
    require_database(ctx)
    client = ctx.railway()
    volume = database_volume(ctx, client)
    schedules = list_schedules(client, volume)
    backups = list_backups(client, volume)
    kind_of = {s["id"]: s["kind"] for s in schedules}
    plan = ", ".join(f"{s['kind']} ({s['cron']}, kept {_days(s.get('retentionSeconds'))})" for s in schedules)
    print(f"backups of {volume.label}", file=out)
    state = volume.state or "?"
    if volume.state == "RESTORING":
        state += " (a restore is under way)"
    print(f"volume: {state}", file=out)
    print(f"schedule: {plan or 'none (set maya-infra:backups and run pulumi up)'}", file=out)
    if not backups:
        print(f"no backups yet; take one with: python -m ops backup --stack {ctx.stack}", file=out)
        return OK
    now = utc_now()
    rows = [("ID", "CREATED", "AGE", "KIND", "EXPIRES", "SIZE", "NAME")]
    for b in backups:
        created, expires = parse_time(b.get("createdAt")), parse_time(b.get("expiresAt"))
        rows.append(
            (
                str(b["id"]),
                clock(created) if created else "?",
                age(created, now),
                _kind(b, kind_of),
                f"in {age(now, expires)}" if expires and expires > now else ("expired" if expires else "never"),
                f"{b['usedMB']} MB" if isinstance(b.get("usedMB"), int) else "-",
                str(b.get("name") or ""),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1], file=out)
    return OK


def _kind(backup: dict[str, Any], kind_of: dict[str, str]) -> str:
    name = str(backup.get("name") or "")
    if name.startswith(PREDEPLOY_PREFIX):
        return f"pre-deploy {name.removeprefix(PREDEPLOY_PREFIX)}"  # taken by the deploy job, before migrations
    return kind_of.get(backup["scheduleId"], "scheduled") if backup.get("scheduleId") else "manual"


def _chosen(backups: list[dict[str, Any]], wanted: str) -> dict[str, Any] | None:
    """The backup ``wanted`` names: its id, or ``predeploy`` for the newest pre-deploy backup."""
    if wanted == "predeploy":
        return next((b for b in backups if str(b.get("name") or "").startswith(PREDEPLOY_PREFIX)), None)
    return next((b for b in backups if b["id"] == wanted), None)


# ---- restore ---------------------------------------------------------------------------------------------------
def restore(ctx: StackContext, args: argparse.Namespace, io: Streams) -> int:
    waiter = Waiter(args.timeout or RESTORE_TIMEOUT_SECONDS, POLL_SECONDS if args.poll is None else args.poll, io.err)
    if args.health_wait < 0:
        raise OpsError("--health-wait must be >= 0")
    require_database(ctx)
    client = ctx.railway()
    try:
        _restore(ctx, args, io, client, waiter)
    finally:
        client.close()
    out = io.out
    endpoint = next(e for e in health.endpoints_of(ctx) if e.name == "backend")
    print("health check of the backend:", file=out, flush=True)
    watches = health.check([endpoint], wait=args.health_wait, attempts=3, delay=1.0, progress=waiter.progress)
    if health.report(watches, out) != OK:
        print(
            f"the database is restored but the backend is UNHEALTHY: `python -m ops status --stack {ctx.stack}` "
            "shows what runs; see docs/monitoring.md, 'On call'",
            file=out,
        )
        return FAILED
    print("restored and healthy", file=out)
    return OK


def _restore(ctx: StackContext, args: argparse.Namespace, io: Streams, client: RailwayClient, waiter: Waiter) -> None:
    """Check, confirm, send the restore once and follow it until Railway says it is done."""
    binding.railway_project(ctx, client)
    volume = database_volume(ctx, client)
    backup = _chosen(list_backups(client, volume), args.backup)
    if backup is None:
        raise OpsError(
            f"{args.backup!r} is not a backup of {volume.label}; list them with: "
            f"python -m ops backups --stack {ctx.stack}"
        )
    refuse_busy(volume, "restore it", ctx.stack)
    created = parse_time(backup.get("createdAt"))
    taken = f"taken {clock(created)}, {age(created)} ago" if created else "taken at an unknown time"
    name = str(backup.get("name") or "")
    if name.startswith(PREDEPLOY_PREFIX):
        taken += f"; the pre-deploy backup of commit {name.removeprefix(PREDEPLOY_PREFIX)}, before its migrations ran"
    since = clock(created) if created else "the backup was taken (Railway does not say when)"
    confirm(
        ctx.stack,
        f"restore {volume.label} from backup {backup['id']} ({backup.get('name') or 'unnamed'}, {taken}): the "
        f"database becomes what it was then, and every write since {since} is lost",
        yes=args.yes,
        stdin=io.stdin,
        err=io.err,
        destructive=True,
        journal=io.journal,
    )
    send = {"volumeInstanceId": volume.volume_instance_id, "volumeInstanceBackupId": backup["id"]}
    follow = f"python -m ops backups --stack {ctx.stack}"
    what = f"Railway's restore of {volume.label} from backup {backup['id']}"
    print(f"restoring {volume.label} from {backup['id']} …", file=io.err, flush=True)

    def restoring() -> dict[str, Any] | None:
        """A restore that landed although its answer was lost: Railway marks the volume RESTORING."""
        return {"workflowId": None} if _volume_state(client, volume) == "RESTORING" else None

    # exactly once: a restore whose answer was lost is followed (the volume is RESTORING), not sent again;
    # it is sent again only when reads for railway.settleSeconds show that it did not land
    with io.journal.sending(what, follow):
        outcome = write_once(
            client,
            f"restore of {volume.label} from {backup['id']}",
            find=restoring,
            send=lambda: dict(client.execute(gql.VOLUME_INSTANCE_BACKUP_RESTORE, send)["volumeInstanceBackupRestore"]),
            look_first=False,
        )
    workflow_id: str | None = outcome.value.get("workflowId")
    io.journal.started("restore", what + (f" (workflow {workflow_id})" if workflow_id else ""), follow)
    if workflow_id:
        wait_workflow(client, workflow_id, "restore", waiter)
    else:
        _wait_restored(client, volume, waiter)
    state = _volume_state(client, volume)
    print(f"restored {volume.label} from backup {backup['id']} ({taken}); volume state: {state or '?'}", file=io.out)


def _volume_state(client: RailwayClient, volume: Volume) -> str | None:
    state = client.execute(gql.VOLUME_INSTANCE, {"id": volume.volume_instance_id})["volumeInstance"].get("state")
    return str(state) if state else None


def _wait_restored(client: RailwayClient, volume: Volume, waiter: Waiter) -> None:
    """The restore's answer was lost but the volume was seen RESTORING: wait until Railway says READY."""
    for _ in range(MAX_LOOKS):
        state = _volume_state(client, volume)
        if state == "READY":
            return
        if state != "RESTORING":
            raise OpsError(
                f"the answer to the restore request was lost and {volume.label} went from RESTORING to "
                f"{state or 'an unknown state'}: check the database in Railway's dashboard",
                FAILED,
            )
        if not waiter.pause(f"restore: volume {state}"):
            break
    raise OpsError(f"{volume.label} was still restoring after {waiter.timeout:.0f}s", FAILED)


# ---- the commands ----------------------------------------------------------------------------------------------
def register(subparsers: Any) -> None:
    backup = command(
        subparsers, "backup", "take a backup of the stack's database now and wait for it", __doc__, stack=True
    )
    backup.add_argument("--name", help="a label, e.g. before-migration-042 (default: manual <stack> <time>)")
    _timing(backup, BACKUP_TIMEOUT_SECONDS)
    backup.set_defaults(handler=StackCommand("backup", take_backup, mutating=always))

    backups = command(subparsers, "backups", "list the stack's database backups with their ages", __doc__, stack=True)
    backups.set_defaults(handler=StackCommand("backups", show_backups))

    restore_ = command(
        subparsers,
        "restore",
        "restore the stack's database from a backup, then check the backend's health",
        __doc__,
        stack=True,
    )
    restore_.add_argument(
        "--backup",
        required=True,
        metavar="ID",
        help="the backup's id (see `ops backups`), or `predeploy`: the newest pre-deploy backup of the deploy job",
    )
    restore_.add_argument(
        "--yes", action="store_true", help="do not ask for confirmation (every write since the backup is lost)"
    )
    restore_.add_argument(
        "--health-wait",
        type=float,
        default=HEALTH_WAIT_SECONDS,
        metavar="SECONDS",
        help=f"how long the backend may take to be healthy again (default {HEALTH_WAIT_SECONDS:.0f})",
    )
    _timing(restore_, RESTORE_TIMEOUT_SECONDS)
    restore_.set_defaults(handler=StackCommand("restore", restore, mutating=always))


def _timing(parser: argparse.ArgumentParser, timeout: float) -> None:
    parser.add_argument(
        "--timeout", type=float, metavar="SECONDS", help=f"how long to wait for Railway (default {timeout:.0f})"
    )
    parser.add_argument(
        "--poll", type=float, metavar="SECONDS", help=f"seconds between two looks (default {POLL_SECONDS:.0f})"
    )
