"""How every ``python -m ops`` subcommand is declared: one parser per command, its module's docstring as help.

Each ops module registers its commands through :func:`command`, so ``--help`` always shows the module's
docstring as written (the operator's manual for that command) and every command that acts on a stack takes the
same ``--stack``/``--outputs`` pair (:func:`stack_arguments`).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def stack_arguments(parser: argparse.ArgumentParser) -> None:
    """``--stack`` (required) and ``--outputs`` (the stack's outputs as JSON, for runs without ``pulumi``)."""
    parser.add_argument("--stack", required=True, help="staging or production")
    parser.add_argument(
        "--outputs", type=Path, help="the stack's outputs as JSON (default: MAYA_OPS_OUTPUTS, else pulumi)"
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
