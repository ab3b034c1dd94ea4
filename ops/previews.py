"""``previews``: the live pull-request previews of a stack, and removing stale ones (docs/previews.md).

    python -m ops previews --stack staging [--outputs FILE] [--json]
    python -m ops previews --stack staging --prune-older-than 3d [--yes]

Lists every preview environment (``<prefix><number>``, ephemeral) of the stack's Railway project, oldest
first, with its pull request, age, branch, backend URL and — with a Vercel token (VERCEL_TOKEN, else the
stack's ``previewsVercelToken``) — the branch's latest Vercel preview. ``--prune-older-than AGE`` (``36h``,
``3d``) removes the previews older than AGE — each environment with its database, and the branch's Vercel
variable when there is a Vercel token — after the operator types ``prune`` (or with ``--yes``; without a
terminal and without ``--yes`` nothing is removed). The pull request keeps its comment; its next push
recreates the preview.
Credentials: RAILWAY_PREVIEW_TOKEN, else the stack's secret ``previewsRailwayToken``.
The Railway project the outputs name is read once first: it must be the stack's (ops/binding.py). A prune runs
one at a time per stack (ops/lock.py); Ctrl-C during it says which previews were already removed.
Exit status: 0 listed (and pruned); 1 a removal failed, or Railway cannot be reached; 2 configuration,
credentials, wrong stack, another command running on the stack, or not confirmed; 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import re
from datetime import timedelta
from typing import Any, TextIO

from ops import binding
from ops.cli import command
from ops.clock import age, parse_time, utc_now
from ops.console import FAILED, OK, Journal, StackCommand, Streams
from ops.context import OpsError, StackContext
from workflows.scripts import pr_preview as pp

_DURATION = re.compile(r"^([0-9]+)([hd])$")


def duration(text: str) -> timedelta:
    match = _DURATION.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give an age like 36h or 3d")
    amount = int(match.group(1))
    return timedelta(hours=amount) if match.group(2) == "h" else timedelta(days=amount)


def register(subparsers: Any) -> None:
    parser = command(
        subparsers,
        "previews",
        "list the live pull-request previews (age, URLs) and remove stale ones",
        __doc__,
        stack=True,
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per preview")
    parser.add_argument("--prune-older-than", type=duration, metavar="AGE", help="remove previews older than AGE")
    parser.add_argument("--yes", action="store_true", help="prune without asking")
    parser.set_defaults(handler=StackCommand("previews", _action, mutating=_prunes))


def _prunes(args: argparse.Namespace) -> bool:
    return args.prune_older_than is not None


def target_of(ctx: StackContext) -> pp.Target:
    if not ctx.config.previews_active:
        raise OpsError(f"stack {ctx.stack!r} has no pull-request previews (maya-infra:previews; docs/previews.md)")
    previews = ctx.config.previews
    return pp.Target(
        str(ctx.output("railway_project_id")),
        str(ctx.output("railway_environment_id")),
        str(ctx.output("railway_service_id")),
        prefix=previews.environment_prefix,
        max_environments=previews.max_environments,
    )


PREVIEW_CREDENTIAL = ("RAILWAY_PREVIEW_TOKEN", "previewsRailwayToken")


def railway_of(ctx: StackContext) -> pp.Railway:
    """The previews' Railway access, once the project the outputs name is known to be the stack's."""
    with ctx.railway(PREVIEW_CREDENTIAL) as client:  # a malformed or unreachable URL is named here, quickly
        binding.railway_project(ctx, client)
    url, _ = ctx.railway_api()
    return pp.Railway(ctx.secret(*PREVIEW_CREDENTIAL), url)


def vercel_of(ctx: StackContext) -> pp.Vercel | None:
    """The previews' Vercel access (frontend URLs, removing a branch's variable), or None without a token."""
    project_id = ctx.outputs.get("vercel_project_id")
    if not project_id:
        return None
    try:
        token = ctx.secret("VERCEL_TOKEN", "previewsVercelToken")
    except OpsError:
        return None
    return pp.Vercel(token, str(project_id), ctx.config.frontend.team_id, ctx.vercel_api())


def _confirmed(count: int, yes: bool, stdin: TextIO, err: TextIO, journal: Journal) -> bool:
    if yes:
        return True
    if not stdin.isatty():
        raise OpsError("refusing to prune without confirmation: no terminal to ask; pass --yes")
    print(f"Remove {count} preview(s), each with its database? Type 'prune' to confirm: ", end="", file=err, flush=True)
    with journal.prompting():
        return stdin.readline(100).strip() == "prune"


def _action(ctx: StackContext, args: argparse.Namespace, io: Streams) -> int:
    stdin, out, err = io.stdin, io.out, io.err
    target = target_of(ctx)
    railway = railway_of(ctx)
    vercel = vercel_of(ctx)
    now = utc_now()
    try:
        rows = pp.listing(railway, target, now, vercel)
    except pp.PreviewError as exc:
        raise OpsError(str(exc), FAILED) from None
    cap = f"{len(rows)} of at most {target.max_environments}"
    if args.json:
        for row in rows:
            print(json.dumps(row, sort_keys=True), file=out)
    else:
        print(f"stack {ctx.stack} — live previews: {cap}", file=out)
        for row in rows:
            when = age(parse_time(row["created_at"]), now)
            print(f"  #{row['pr']:<6} {row['environment']:<12} {when:>8}  {row['branch'] or '-'}", file=out)
            print(f"          backend  {row['backend_url'] or '-'}", file=out)
            if vercel is not None:
                print(f"          frontend {row['frontend_url'] or '- (no preview build yet)'}", file=out)
    if args.prune_older_than is None:
        return OK
    stale = [r for r in rows if (created := parse_time(r["created_at"])) and now - created > args.prune_older_than]
    if not stale:
        print(f"nothing older than {args.prune_older_than}: nothing to prune", file=out)
        return OK
    for row in stale:
        print(f"  stale: #{row['pr']} {row['environment']} ({age(parse_time(row['created_at']), now)})", file=out)
    if not _confirmed(len(stale), args.yes, stdin, err, io.journal):
        raise OpsError("not confirmed; nothing was removed")
    clients = pp.Clients(railway, vercel, None)
    follow = f"python -m ops previews --stack {ctx.stack}"
    code = OK
    for row in stale:
        what = f"the removal of preview #{row['pr']} ({row['environment']})"
        try:
            with io.journal.sending(what, follow):
                report = pp.down(clients, target, int(row["pr"]), str(row["branch"]))
            io.journal.started(f"pr-{row['pr']}", f"preview #{row['pr']} removed", follow)
            print(f"  removed #{row['pr']}: {report.note}", file=out)
        except pp.PreviewError as exc:
            print(f"  #{row['pr']}: {exc}", file=err)
            code = FAILED
    return code
