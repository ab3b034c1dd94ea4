"""The README's first screen is for a newcomer (issue 27): what this is, and the command that tries it.

A first command at line 39 of a 571-line README was what the on-call engineer met; the reference now lives in
docs/. These keep it so: the rehearsal is the first command, within the first 25 lines, and "First deploy"
puts the engine on PATH before its first ``pulumi`` command (the engine script only caches it).
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


def test_first_deploy_puts_the_engine_on_path_before_running_it() -> None:
    text = README.read_text()
    start = text.index("\n## First deploy\n")
    section = text[start : text.index("\n## ", start + 1)]
    path_step = section.find('export PATH="$(bash scripts/provide-engine.sh):$PATH"')
    first_pulumi = re.search(r"^pulumi ", section, re.MULTILINE)
    assert path_step != -1 and first_pulumi is not None
    assert path_step < first_pulumi.start()
