"""``python -m ops``: parse the command line and run the chosen subcommand."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ops import adopt, audit, backup, handoff, health, infra_environments, plan, previews, render, rollback, status
from ops.console import Streams

#: One module per subcommand group; each adds its subcommands with ``register(subparsers)``.
GROUPS = (render, status, health, rollback, audit, backup, previews, adopt, handoff, plan, infra_environments)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ops", description="Operate the MAYA/OMEGA deployment pipeline.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; its handler returns the exit code (2 for a usage or configuration error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    code: int = args.handler(args, Streams())
    return code


if __name__ == "__main__":
    sys.exit(main())
