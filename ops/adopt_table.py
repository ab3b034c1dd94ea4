"""``ops adopt``'s table: one row per object found (or not), and what the command will write."""

from __future__ import annotations

from dataclasses import dataclass, field

MATCHES, DIFFERS, EXTRA, MISSING = "matches", "differs", "extra", "missing"


@dataclass(frozen=True)
class Row:
    platform: str
    kind: str
    name: str
    id: str
    verdict: str
    detail: str = ""


@dataclass
class Discovery:
    """What ``ops adopt`` found and what it will write."""

    stack: str
    rows: list[Row] = field(default_factory=list)
    #: maya-infra:adopt.railway: kind -> id
    railway_ids: dict[str, str] = field(default_factory=dict)
    #: maya-infra:adopt.imports: Pulumi resource name -> import id
    imports: dict[str, str] = field(default_factory=dict)
    #: The Railway resources (by name) the recording run targets: those found.
    railway_found: list[tuple[str, str]] = field(default_factory=list)  # (type, resource name)
    #: The running names ``--yes`` records, so adopting renames nothing: stack setting -> running name.
    names: dict[str, str] = field(default_factory=dict)
    #: Railway variables that run and that the stack does not declare: (scope, name), names only.
    undeclared: list[tuple[dict[str, str | None], str]] = field(default_factory=list)
    #: Lines printed under the table (what could not be compared, and why).
    notes: list[str] = field(default_factory=list)

    def add(self, *row: str) -> None:
        self.rows.append(Row(*row))

    def count(self, verdict: str) -> int:
        return sum(1 for r in self.rows if r.verdict == verdict)


def render(d: Discovery) -> str:
    """The table: one row per object, columns as wide as their longest cell (ids are never cut)."""
    head = ("platform", "object", "name", "id", "verdict")
    cells = [head, *((r.platform, r.kind, r.name, r.id, r.verdict) for r in d.rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(head))]
    details = ["detail", *(r.detail for r in d.rows)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + "  " + x
        for row, x in zip(cells, details, strict=True)
    ]
    summary = ", ".join(f"{d.count(v)} {v}" for v in (MATCHES, DIFFERS, EXTRA, MISSING))
    lines.append(f"\n{len(d.rows)} objects: {summary}. Extra objects are kept; nothing is created or deleted now.")
    lines += d.notes
    return "\n".join(line.rstrip() for line in lines)
