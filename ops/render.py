"""``render-workflows``: write the workflow files a stack would commit, or this repository's own.

    python -m ops render-workflows --stack staging --out DIR   # DIR/<repository>/.github/workflows/*.yml
    python -m ops render-workflows --infra --out .             # ./.github/workflows/infra-*.yml

Output is deterministic: render twice, get the same bytes. Files are written, never deleted; to
regenerate the golden files from scratch use scripts/regenerate-workflows.sh. Exit status: 0 written;
2 an unknown stack, a configuration problem, or an ``--out`` that cannot be written into (one line says why).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from config import STACKS, ConfigError, load_from_stack_file
from ops.cli import command
from ops.console import Streams
from workflows import render_app_workflows, render_infra_workflows


def register(subparsers: Any) -> None:
    parser = command(
        subparsers, "render-workflows", "write the generated GitHub Actions workflows to a folder", __doc__
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--stack", help=f"the stack whose app workflows to write ({' or '.join(STACKS)})")
    which.add_argument("--infra", action="store_true", help="write this repository's own workflows instead")
    parser.add_argument("--out", type=Path, required=True, help="folder to write into (created if missing)")
    parser.set_defaults(handler=run)


def write_files(out: Path, files: dict[str, str]) -> list[Path]:
    """Write ``path -> text`` under ``out``; returns the paths written, in order."""
    written = []
    for relative, text in files.items():
        target = out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written


def run(args: argparse.Namespace, io: Streams) -> int:
    try:
        return _run(args, io)
    except OSError as error:  # --out is a file, read-only, on a missing mount …: say so, never a traceback
        where = error.filename or args.out
        print(f"render-workflows: cannot write into --out {args.out}: {error.strerror or error} ({where})", file=io.err)
        return 2


def _run(args: argparse.Namespace, io: Streams) -> int:
    if args.infra:
        try:
            files = render_infra_workflows()
        except (ConfigError, ValueError) as error:
            print(f"render-workflows: {error}", file=io.err)
            return 2
        written = write_files(args.out, files)
    else:
        if args.stack not in STACKS:
            print(f"render-workflows: unknown stack {args.stack!r}; this project has {', '.join(STACKS)}", file=io.err)
            return 2
        try:
            cfg = load_from_stack_file(args.stack)
        except ConfigError as error:
            print(f"render-workflows: {error}", file=io.err)
            return 2
        written = []
        for repository, files in render_app_workflows(cfg).items():
            written += write_files(args.out / repository, files)
    for path in written:
        print(path, file=io.out)
    return 0
