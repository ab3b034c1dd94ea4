"""`python -m ops render-workflows`, as an operator runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from config import PROJECT_DIR
from ops.__main__ import GROUPS, build_parser
from tests.workflows.conftest import GOLDEN


def _ops(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ops", *args], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.timeout(180)
@pytest.mark.parametrize("stack", ["staging", "production"])
def test_render_workflows_writes_what_the_stack_commits(tmp_path: Path, stack: str) -> None:
    result = _ops("render-workflows", "--stack", stack, "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    out = tmp_path / "out"
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == sorted(
        p.relative_to(GOLDEN / stack).as_posix() for p in (GOLDEN / stack).rglob("*") if p.is_file()
    )
    assert set(result.stdout.split()) == {str(tmp_path / "out" / w) for w in written}
    for path in written:
        assert (tmp_path / "out" / path).read_text() == (GOLDEN / stack / path).read_text()


@pytest.mark.timeout(180)
def test_render_workflows_infra(tmp_path: Path) -> None:
    result = _ops("render-workflows", "--infra", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / ".github" / "workflows").iterdir()) == [
        "infra-drift.yml",
        "infra-preview.yml",
        "infra-schema.yml",
        "infra-up.yml",
    ]


@pytest.mark.timeout(180)
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["render-workflows", "--stack", "prod", "--out", "x"], "unknown stack 'prod'"),
        (["render-workflows", "--out", "x"], "one of the arguments --stack --infra is required"),
        (["render-workflows", "--stack", "staging", "--infra", "--out", "x"], "not allowed with argument"),
        (["render-workflows", "--stack", "staging"], "--out"),
        ([], "COMMAND"),
    ],
)
def test_usage_errors_exit_with_2_and_say_why(args: list[str], message: str) -> None:
    result = _ops(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert not (PROJECT_DIR / "x").exists()


def test_every_group_registers_its_subcommands_with_a_handler() -> None:
    parser = build_parser()
    assert GROUPS
    args = parser.parse_args(["render-workflows", "--infra", "--out", "somewhere"])
    assert callable(args.handler)
