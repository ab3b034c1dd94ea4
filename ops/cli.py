"""How every ``python -m ops`` subcommand is declared: one parser per command, its module's docstring as help.

Each ops module registers its commands through :func:`command`, so ``--help`` always shows the module's
docstring as written (the operator's manual for that command) and every command that acts on a stack takes the
same ``--stack``/``--outputs`` pair (:func:`stack_arguments`). A usage error is one line on stderr and exit 2
(:class:`Parser`), like every other refusal of ``ops``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, NoReturn

USAGE = 2


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is ONE line (``python -m ops restore: --backup is required; see --help``)."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: {message} (see `{self.prog} --help`)", file=sys.stderr)
        sys.exit(USAGE)


def stack_arguments(parser: argparse.ArgumentParser) -> None:
    """``--stack`` (required) and ``--outputs`` (the stack's outputs as JSON, for runs without ``pulumi``)."""
    parser.add_argument("--stack", required=True, help="staging or production")
    parser.add_argument(
        "--outputs",
        type=Path,
        help="the stack's outputs as JSON (default: MAYA_OPS_OUTPUTS, else pulumi); they must be this stack's "
        "(their `stack` output says which)",
    )


def command(
    subparsers: Any, name: str, summary: str, doc: str | None, *, stack: bool = False
) -> argparse.ArgumentParser:
    """A subcommand ``name``: ``summary`` in the command list, ``doc`` (the module docstring) as its description."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name, help=summary, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    if stack:
        stack_arguments(parser)
    return parser
