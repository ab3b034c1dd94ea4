"""Every section a script, a help text, a message or a document points to exists (issue 27).

Two kinds of pointers are checked, over the whole repository (product code, scripts, workflows, stack files,
tests and docs):

* prose pointers — ``README, "State backend"``, ``README.md, 'Protecting production'``, ``docs/oncall.md,
  "Database restore"``, ``README ("The fake GitHub")`` — must name the beginning of a heading of that file;
* Markdown links with a fragment in README.md and docs/*.md — ``[x](#state-backend)``,
  ``[x](docs/oncall.md#database-restore)`` — must name a heading's GitHub anchor in the file they point to.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("*.py", "*.sh", "*.md", "*.yml", "*.yaml", "*.toml", "run")
SKIP = ("venv", ".git", "tests/workflows/golden", "node_modules", "tests/docs/test_anchors.py")  # its own examples
#: ``README, "X"`` / ``docs/x.md, 'X'`` / ``README ("X")`` / ``README's "X"``: the file, then a quoted title
POINTER = re.compile(
    r"""(?P<file>README(?:\.md)?|docs/[a-z0-9_-]+\.md)(?:'s)?(?:,\s*|\s+\(|\s+section\s+|\s+)"""
    r"""["“'](?P<title>[A-Z][^"”'\n]{2,80}?)["”']"""
)
LINK = re.compile(r"\]\((?P<target>[^)\s#]*)#(?P<anchor>[^)\s]+)\)")


def _files() -> list[Path]:
    found: set[Path] = set()
    for pattern in SOURCES:
        for path in ROOT.rglob(pattern):
            relative = path.relative_to(ROOT).as_posix()
            if path.is_file() and not any(relative == s or relative.startswith(f"{s}/") for s in SKIP):
                found.add(path)
    return sorted(found)


@cache
def headings(path: Path) -> tuple[str, ...]:
    """The headings of a Markdown file, without their markup (code fences skipped)."""
    out, fenced = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (match := re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)):
            out.append(match.group(1).replace("`", "").replace("**", ""))
    return tuple(out)


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def pointers() -> list[tuple[str, str, str]]:
    """(where, target file, title) of every prose pointer."""
    out = []
    for path in _files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for match in POINTER.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            target = "README.md" if match.group("file").startswith("README") else match.group("file")
            out.append((f"{path.relative_to(ROOT)}:{line}", target, match.group("title")))
    return out


def links() -> list[tuple[str, Path, str]]:
    """(where, target file, anchor) of every Markdown link with a fragment in README.md and docs/*.md."""
    out = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = path.read_text(encoding="utf-8")
        for match in LINK.finditer(text):
            target = (path.parent / match.group("target")).resolve() if match.group("target") else path
            line = text.count("\n", 0, match.start()) + 1
            out.append((f"{path.relative_to(ROOT)}:{line}", target, match.group("anchor")))
    return out


def _normal(text: str) -> str:
    return text.replace("’", "'").replace("`", "").strip().lower()


def test_prose_pointers_name_existing_sections() -> None:
    found = pointers()
    assert len(found) >= 20, "the pattern no longer finds the pointers"
    broken = []
    for where, target, title in found:
        path = ROOT / target
        if not path.exists():
            broken.append(f"{where}: {target} does not exist")
        elif not any(_normal(h).startswith(_normal(title)) for h in headings(path)):
            broken.append(f"{where}: {target} has no section {title!r}")
    assert not broken, "\n".join(broken)


def test_markdown_links_name_existing_anchors() -> None:
    found = links()
    assert found, "the pattern no longer finds the links"
    broken = [
        f"{where}: no heading #{fragment} in {target.relative_to(ROOT)}"
        for where, target, fragment in found
        if target.suffix == ".md" and (not target.exists() or fragment not in {anchor(h) for h in headings(target)})
    ]
    assert not broken, "\n".join(broken)


@pytest.mark.parametrize(
    ("text", "target", "title"),
    [
        ("see README, 'State backend' for", "README", "State backend"),
        ('(docs/oncall.md, "Database restore")', "docs/oncall.md", "Database restore"),
        ('README ("The fake GitHub")', "README", "The fake GitHub"),
    ],
)
def test_the_pointer_pattern_finds_each_form(text: str, target: str, title: str) -> None:
    match = POINTER.search(text)
    assert match is not None and (match.group("file"), match.group("title")) == (target, title)


def test_anchors_follow_githubs_rule() -> None:
    assert anchor("Try it locally (one command, no account)") == "try-it-locally-one-command-no-account"
    assert anchor("Day 2: on call, backups and restore, audit, recovery") == (
        "day-2-on-call-backups-and-restore-audit-recovery"
    )
