"""``preflight``: check every assumption about the real platforms before the first write — and write nothing.

    python -m ops preflight --stack production
    python -m ops preflight --stack staging --only railway.schema      # one family or check (repeatable)
    python -m ops preflight --stack staging --backend postgres://…     # inspect this state backend

Checks, in order (docs/preflight.md has each one, what it proves and what it cannot):
  railway   the token's kind and workspaces, the workspace the stack will use, the rate-limit headers, the
            live schema against every document the product sends, the project, the PostgreSQL template
            (service, DATABASE_URL, volume, regions), the notification event names
  github    the token's type and permissions on each managed repository (README's table), the ruleset bypass
            the workflow commit needs
  vercel    the token reaches the team and the project; the deploy token is scoped to this stack's project
  checkly   the API key and account are accepted (when the stack uses Checkly)
  smtp      connect, TLS, AUTH, QUIT — no mail is sent (when maya-infra:smtpUrl is set)
  state     the state backend is reachable, the stack exists or will be created, its lock is free
  dns       what each custom domain points at today, and what Railway or Vercel will ask for

Nothing is changed anywhere: every client refuses a write before sending it (ops/preflight/readonly.py; the
Railway client's read_only switch). Credentials are the stack's own secrets (``pulumi config``), or
``MAYA_INFRA_<KEY>`` per key. The table goes to stdout (and, as Markdown, to ``--summary`` or
$GITHUB_STEP_SUMMARY). Exit status: 0 when no check failed (warnings allowed), 1 when one did, 2 for a usage
or configuration error (nothing checked).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from config import STACKS, ConfigError, load_from_stack_file
from ops.cli import command
from ops.console import Streams, run_guarded
from ops.context import OpsError
from ops.preflight import dns, extras, state
from ops.preflight.context import Run
from ops.preflight.github import GitHubChecks
from ops.preflight.railway import RailwayChecks
from ops.preflight.report import Check, counts, exit_code, failed, markdown_table, text_table
from ops.preflight.schema import Comparison, issue_body
from ops.preflight.vercel import VercelChecks

FAMILIES: tuple[tuple[str, Callable[[Run], list[Check]]], ...] = (
    ("railway", lambda run: RailwayChecks(run).all()),
    ("github", lambda run: GitHubChecks(run).all()),
    ("vercel", lambda run: VercelChecks(run).all()),
    ("checkly", extras.checkly),
    ("smtp", extras.smtp),
    ("state", state.checks),
    ("dns", dns.checks),
)
#: ``--only`` values that name a part of a family rather than a family.
PARTS = {"railway.schema": "railway"}
#: Checks ``--skip`` can leave out (the introspection is the one slow request).
SKIPPABLE = ("railway.schema",)


def _selected(only: Sequence[str]) -> list[str]:
    names = [name for name, _ in FAMILIES]
    unknown = [o for o in only if o not in names and o not in PARTS]
    if unknown:
        raise OpsError(f"--only {', '.join(unknown)}: not a check family ({', '.join([*names, *PARTS])})")
    wanted = {PARTS.get(o, o) for o in only}
    return [n for n in names if not only or n in wanted]


def run_checks(run: Run, only: Sequence[str] = ()) -> list[Check]:
    """Every selected family's checks; a family that breaks becomes one failed row, never a traceback."""
    out: list[Check] = []
    for name, family in FAMILIES:
        if name not in _selected(only):
            continue
        try:
            if name == "railway" and "railway.schema" in only and "railway" not in only:
                out += RailwayChecks(run).all(schema_only=True)
            else:
                out += family(run)
        except Exception as exc:
            out.append(
                failed(
                    name,
                    f"preflight could not complete this check: {type(exc).__name__}: {str(exc)[:300]}",
                    "fix what the message names and re-run; if it is a bug of preflight, report it",
                )
            )
    return out


def register(subparsers: Any) -> None:
    parser = command(
        subparsers,
        "preflight",
        "check the platforms, credentials and state backend before the first up (read-only)",
        __doc__,
    )
    parser.add_argument("--stack", required=True, help="staging or production")
    parser.add_argument(
        "--only", action="append", default=[], metavar="FAMILY", help="run only this family (repeatable)"
    )
    parser.add_argument(
        "--skip", action="append", default=[], metavar="CHECK", help="leave out this check (railway.schema)"
    )
    parser.add_argument(
        "--backend", metavar="URL", help="state backend to inspect (default: PULUMI_BACKEND_URL, else the login)"
    )
    parser.add_argument(
        "--dns-server", metavar="HOST[:PORT]", help="resolver for the DNS checks (default: the system's)"
    )
    parser.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS", help="per request (default 10)")
    parser.add_argument(
        "--summary", type=Path, metavar="FILE", help="append the table as Markdown (default: $GITHUB_STEP_SUMMARY)"
    )
    parser.add_argument(
        "--schema-issue",
        type=Path,
        metavar="FILE",
        help="when a document is refused, write the drift issue's body here",
    )
    parser.set_defaults(handler=main)


def main(args: argparse.Namespace, io: Streams) -> int:
    def body() -> int:
        if args.stack not in STACKS:
            raise OpsError(f"unknown stack {args.stack!r}: this project has {', '.join(STACKS)}")
        if args.timeout <= 0:
            raise OpsError("--timeout must be > 0")
        _selected(args.only)
        try:
            cfg = load_from_stack_file(args.stack)
        except ConfigError as exc:
            raise OpsError(str(exc)) from None
        unknown = [s for s in args.skip if s not in SKIPPABLE]
        if unknown:
            raise OpsError(f"--skip {', '.join(unknown)}: only {', '.join(SKIPPABLE)} can be left out")
        run = Run.of(
            cfg,
            io.env,
            backend_url=args.backend,
            dns_server=args.dns_server,
            timeout=args.timeout,
            skip=tuple(args.skip),
        )
        started = time.monotonic()
        checks = run_checks(run, args.only)
        elapsed = time.monotonic() - started
        requests = ", ".join(f"{k} {v}" for k, v in sorted(run.ledger.requests.items())) or "none"
        print(text_table(checks), file=io.out)
        print(f"\n{counts(checks)}; {elapsed:.1f} s; requests: {requests} (all reads)", file=io.out)
        summary = args.summary or run.env.get("GITHUB_STEP_SUMMARY")
        comparison = run.notes.get("railway.schema")
        try:  # an unusable --summary / --schema-issue path is one line (exit 2), never a traceback
            if summary:
                with Path(summary).open("a", encoding="utf-8") as handle:
                    handle.write(markdown_table(checks, f"Preflight of stack {args.stack}"))
            if args.schema_issue is not None and isinstance(comparison, Comparison) and not comparison.ok:
                args.schema_issue.write_text(issue_body(comparison, args.stack), encoding="utf-8")
        except OSError as exc:
            raise OpsError(f"cannot write {exc.filename}: {exc.strerror} (--summary, --schema-issue)") from None
        return exit_code(checks)

    return run_guarded("preflight", io.err, body)
