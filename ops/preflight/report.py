"""One row per check: its verdict, what was seen, and the one-line fix of a failure; the table and the exit code.

Verdicts: ``pass``; ``warn`` (the first ``up`` works, but something is worth knowing — a value that will be
created, an assumption that could not be confirmed); ``fail`` (the first ``up`` would fail or do harm: fix
it first); ``skip`` (not configured for this stack, or not checkable here, and why). Exit status: 0 when no
check failed (warnings allowed), 1 when one did; usage and configuration errors exit 2 before any check.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

PASS, WARN, FAIL, SKIP = "pass", "warn", "fail", "skip"
VERDICTS = (PASS, WARN, FAIL, SKIP)


@dataclass(frozen=True)
class Check:
    """The verdict of one check. ``fix`` is required for ``fail`` (what to do, one line) and kept short."""

    name: str
    verdict: str
    seen: str
    fix: str = ""

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"{self.name}: verdict {self.verdict!r} is not one of {VERDICTS}")
        if self.verdict == FAIL and not self.fix:
            raise ValueError(f"{self.name}: a failed check must say how to fix it")


def passed(name: str, seen: str) -> Check:
    return Check(name, PASS, seen)


def warned(name: str, seen: str, fix: str = "") -> Check:
    return Check(name, WARN, seen, fix)


def failed(name: str, seen: str, fix: str) -> Check:
    return Check(name, FAIL, seen, fix)


def skipped(name: str, why: str) -> Check:
    return Check(name, SKIP, why)


def exit_code(checks: Iterable[Check]) -> int:
    return 1 if any(c.verdict == FAIL for c in checks) else 0


def counts(checks: Sequence[Check]) -> str:
    return ", ".join(f"{sum(1 for c in checks if c.verdict == v)} {v}" for v in VERDICTS)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def text_table(checks: Sequence[Check], width: int = 100) -> str:
    """The table for a terminal: check, verdict, what was seen; the fix on its own line under a failure."""
    name_w = max([len("check"), *(len(c.name) for c in checks)])
    lines = [f"{'check'.ljust(name_w)}  verdict  seen", f"{'-' * name_w}  -------  {'-' * 40}"]
    for c in checks:
        lines.append(f"{c.name.ljust(name_w)}  {c.verdict.upper().ljust(7)}  {_one_line(c.seen)}")
        if c.fix:
            lines.append(f"{' ' * name_w}  {'':7}  fix: {_one_line(c.fix)}")
    return "\n".join(lines)


def _cell(text: str) -> str:
    return _one_line(text).replace("|", "\\|") or " "


def markdown_table(checks: Sequence[Check], title: str) -> str:
    """The same table in GitHub-flavoured Markdown (a job summary, an issue body)."""
    rows = [
        f"### {title}",
        "",
        f"{counts(checks)}",
        "",
        "| check | verdict | seen | fix |",
        "| --- | --- | --- | --- |",
    ]
    icon = {PASS: "✅ pass", WARN: "⚠️ warn", FAIL: "❌ fail", SKIP: "➖ skip"}
    rows += [f"| `{c.name}` | {icon[c.verdict]} | {_cell(c.seen)} | {_cell(c.fix)} |" for c in checks]
    return "\n".join(rows) + "\n"
