"""Every ``python -m ops`` command is declared the same way (ops/cli.py): its module's docstring is its help,
and the commands that act on a stack take ``--stack``/``--outputs`` alike."""

from __future__ import annotations

import argparse
import sys

import pytest

from ops.__main__ import GROUPS, build_parser

#: Commands that read a stack's outputs (through ``pulumi`` or ``--outputs``).
STACK_COMMANDS = {"status", "health", "backup", "backups", "restore", "previews"}


def _commands() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_command_shows_its_modules_docstring() -> None:
    docs = {sys.modules[group.__name__].__doc__ for group in GROUPS}
    commands = _commands()
    assert len(commands) >= 10
    for name, parser in commands.items():
        assert parser.description in docs, f"`ops {name} --help` does not show its module's docstring"
        assert parser.formatter_class is argparse.RawDescriptionHelpFormatter, name


@pytest.mark.parametrize("name", sorted(STACK_COMMANDS))
def test_stack_commands_take_the_same_stack_arguments(name: str) -> None:
    parser = _commands()[name]
    options = {option for action in parser._actions for option in action.option_strings}
    assert {"--stack", "--outputs"} <= options
    with pytest.raises(SystemExit) as exit_:
        parser.parse_args([])  # --stack is required
    assert exit_.value.code == 2


#: The commands that change a stack: each takes the stack's lock (ops/lock.py) and is in the wrong-stack matrix.
MUTATING = {
    ("rollback", "backend"): (),
    ("rollback", "frontend"): (),
    ("backup",): (),
    ("restore",): ("--backup", "b1"),
    ("previews",): ("--prune-older-than", "3d"),
}


def test_every_mutating_command_takes_the_stack_lock() -> None:
    from ops.console import StackCommand

    parser = build_parser()
    for words, more in MUTATING.items():
        args = parser.parse_args([*words, "--stack", "staging", *more])
        assert isinstance(args.handler, StackCommand) and args.handler.mutating is not None, words
        assert args.handler.mutating(args), words
    listing = parser.parse_args(["previews", "--stack", "staging"])
    assert not listing.handler.mutating(listing)  # listing previews changes nothing: no lock
    for reader in ("backups", "status", "health"):
        handler = parser.parse_args([reader, "--stack", "staging"]).handler
        assert getattr(handler, "mutating", None) is None, reader
