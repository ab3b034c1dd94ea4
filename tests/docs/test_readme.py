"""The README's first screen is for a newcomer (issue 27): what this is, and the command that tries it.

A first command at line 39 of a 571-line README was what the on-call engineer met; the reference now lives in
docs/. These keep it so: the rehearsal is the first command, within the first 25 lines; "First deploy"
puts the engine on PATH before its first ``pulumi`` command (the engine script only caches it), and starts
with ``ops preflight`` (issue 25): the read-only check against the real platforms comes before anything that
writes, in the prose and in the commands alike.
"""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def _commands() -> list[tuple[int, str]]:
    """(line number, text) of every line inside a fenced block, in order."""
    found, inside = [], False
    for number, line in enumerate(README.read_text().splitlines(), start=1):
        if line.startswith("```"):
            inside = not inside
        elif inside and line.strip() and not line.lstrip().startswith("#"):
            found.append((number, line.strip()))
    return found


def test_the_first_command_is_the_rehearsal_within_the_first_screen() -> None:
    number, text = _commands()[0]
    assert text.startswith("scripts/rehearse.sh"), text
    assert number <= 25, f"the first command is at line {number} of README.md"


def _first_deploy() -> str:
    return README.read_text().split("\n## First deploy\n", 1)[1].split("\n## ", 1)[0]


def test_first_deploy_puts_the_engine_on_path_before_running_it() -> None:
    section = _first_deploy()
    path_step = section.find('export PATH="$(bash scripts/provide-engine.sh):$PATH"')
    first_pulumi = re.search(r"^pulumi ", section, re.MULTILINE)
    assert path_step != -1 and first_pulumi is not None
    assert path_step < first_pulumi.start()


def test_first_deploy_starts_with_ops_preflight() -> None:
    section = _first_deploy()
    first = section.strip().split("\n\n", 1)[0]
    assert first.startswith("Start with `ops preflight`") and "docs/preflight.md" in first, first
    lines = [line for line in section.splitlines() if line.startswith(("python", "pulumi "))]
    commands = [line.split("#", 1)[0].strip() for line in lines]
    preflight = commands.index("python -m ops preflight --stack staging")
    writes = [i for i, c in enumerate(commands) if c.startswith(("pulumi preview", "pulumi up"))]
    assert writes and preflight < min(writes), commands
