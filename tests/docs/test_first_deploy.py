"""The README's "First deploy" starts with ``ops preflight`` (issue 25): the read-only check against the real
platforms comes before anything that writes, in the prose and in the commands alike."""

from __future__ import annotations

from config import PROJECT_DIR


def _section() -> str:
    text = (PROJECT_DIR / "README.md").read_text()
    return text.split("\n## First deploy\n", 1)[1].split("\n## ", 1)[0]


def test_first_deploy_starts_with_ops_preflight() -> None:
    section = _section()
    first = section.strip().split("\n\n", 1)[0]
    assert first.startswith("Start with `ops preflight`") and "docs/preflight.md" in first, first
    lines = [line for line in section.splitlines() if line.startswith(("python", "pulumi "))]
    commands = [line.split("#", 1)[0].strip() for line in lines]
    preflight = commands.index("python -m ops preflight --stack staging")
    writes = [i for i, c in enumerate(commands) if c.startswith(("pulumi preview", "pulumi up"))]
    assert writes and preflight < min(writes), commands
