"""``python -m ops``: parse the command line and run the chosen subcommand.

Whatever happens, the person sees lines, never a traceback: a usage error is one line and exit 2
(:class:`ops.cli.Parser`), a refusal or a failure one line from the handler (:func:`ops.console.run_guarded`),
Ctrl-C one line saying what the run had already started on a platform and how to follow it, and exit 130.
An error nobody foresaw is one line and exit 1 (``MAYA_OPS_DEBUG=1`` shows its traceback, for a bug report).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence

from ops import (
    adopt,
    audit,
    backup,
    handoff,
    health,
    infra_environments,
    plan,
    preflight,
    previews,
    render,
    rollback,
    status,
)
from ops.cli import Parser
from ops.console import FAILED, INTERRUPTED, Streams

#: One module per subcommand group; each adds its subcommands with ``register(subparsers)``.
GROUPS = (
    *(render, status, health, rollback, audit, backup, previews, adopt, preflight),
    *(handoff, plan, infra_environments),  # docs/trust.md
)


def build_parser() -> Parser:
    parser = Parser(prog="python -m ops", description="Operate the MAYA/OMEGA deployment pipeline.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.register(subparsers)
    return parser


def _name(argv: Sequence[str]) -> str:
    words = [a for a in argv if not a.startswith("-")][:2]
    return " ".join(words[:2] if words[:1] == ["rollback"] else words[:1]) or "?"


def main(argv: Sequence[str] | None = None, io: Streams | None = None) -> int:
    """Run one subcommand; its handler returns the exit code (see ops/console.py for their meanings)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    io = io or Streams()
    io.journal.command = _name(argv)
    try:
        args = build_parser().parse_args(argv)
        code: int = args.handler(args, io)
        return code
    except KeyboardInterrupt:
        # the report is one line: a second Ctrl-C cannot cut it; the caller's handler comes back afterwards (an
        # ignored SIGINT would be inherited by every process the caller starts later: tests call main() in-process)
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            print(io.journal.interrupted(), file=io.err, flush=True)
        finally:
            signal.signal(signal.SIGINT, previous)
        return INTERRUPTED
    except Exception as exc:
        if (io.env if io.env is not None else os.environ).get("MAYA_OPS_DEBUG"):
            raise
        print(
            f"ops {io.journal.command}: unexpected error ({type(exc).__name__}: {str(exc)[:300]}); this is a bug "
            "of ops: run again with MAYA_OPS_DEBUG=1 for the traceback and report it",
            file=io.err,
        )
        return FAILED


if __name__ == "__main__":
    sys.exit(main())
