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
