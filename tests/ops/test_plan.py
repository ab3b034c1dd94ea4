"""``ops plan`` / ``ops apply`` with a stand-in for the pulumi CLI (the real engine runs them in
tests/engine/test_plan_exact.py): every guard refuses with one line before ``pulumi up`` is even started."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from config import handoff, load_from_stack_file
from ops import plan as ops_plan
from ops.context import OpsError
from tests.components.program import staging_handoff

PREVIEW_TEXT = (
    "Previewing update (production):\n ~ backend-settings update [diff: ~num_replicas]\nResources:\n    ~ 1 to update\n"
)


class FakeCli:
    """Answers ``pulumi stack export|preview|up`` like the CLI would; records every command it got."""

    def __init__(self) -> None:
        self.state = '{"deployment": {"resources": []}}'
        self.up_output = "Updating (production):\n ~ backend-settings updated\n"
        self.up_code = 0
        self.calls: list[list[str]] = []

    def __call__(self, args: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append(args)
        verb = args[1]
        if verb == "stack":
            return subprocess.CompletedProcess(args, 0, self.state, "")
        if verb == "preview":
            Path(args[args.index("--save-plan") + 1]).write_text('{"resourcePlans": {}}')
            return subprocess.CompletedProcess(args, 0, PREVIEW_TEXT, "")
        if verb == "up":
            assert kw["env"]["PULUMI_EXPERIMENTAL"] == "true"
            return subprocess.CompletedProcess(args, self.up_code, self.up_output, "")
        raise AssertionError(args)

    def ups(self) -> list[list[str]]:
        return [c for c in self.calls if c[1] == "up"]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[FakeCli, ops_plan.Pulumi, Path]]:
    with staging_handoff() as directory:
        cli = FakeCli()
        env = {"MAYA_HANDOFF_DIR": str(directory)}
        yield cli, ops_plan.Pulumi("production", env=env, run=cli), tmp_path / "plan"


def _planned(world: tuple[FakeCli, ops_plan.Pulumi, Path], commit: str = "a" * 40) -> ops_plan.PlanRecord:
    _, pulumi, out = world
    record, summary = ops_plan.make_plan(load_from_stack_file("production"), out, commit, pulumi)
    assert "## The saved plan of `production`" in summary and "~ 1 to update" in summary
    return record


def test_the_plan_records_what_it_was_made_from(world: tuple[FakeCli, ops_plan.Pulumi, Path]) -> None:
    cli, _, out = world
    record = _planned(world)
    assert record.commit == "a" * 40 and len(record.state_sha256) == 64 and set(record.handoffs) == {"staging"}
    preview = next(c for c in cli.calls if c[1] == "preview")
    assert "--refresh" in preview and "--save-plan" in preview and preview[-2:] == ["--stack", "production"]
    assert preview[preview.index("--policy-pack") : preview.index("--policy-pack") + 2] == ["--policy-pack", "policy"]
    assert json.loads((out / ops_plan.META_FILE).read_text())["stack"] == "production"


def test_the_approved_plan_is_applied_with_its_own_preview(world: tuple[FakeCli, ops_plan.Pulumi, Path]) -> None:
    cli, pulumi, out = world
    _planned(world)
    ops_plan.apply_plan(load_from_stack_file("production"), out, "a" * 40, "a" * 40, pulumi)
    (up,) = cli.ups()
    assert "--plan" in up and "--refresh" in up and "--skip-preview" not in up  # its preview checks the plan first


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("commit", "the saved plan was made from commit aaaaaaaaaaaa, this code is bbbbbbbbbbbb"),
        ("head", "a newer commit (cccccccccccc) is on main: this plan of aaaaaaaaaaaa is stale"),
        ("state", "the state of stack production changed since the approved preview"),
        ("handoff", "the hand-off of staging changed since the approved preview"),
        ("handoff-missing", "the hand-off of stack staging is missing"),
    ],
)
def test_each_change_since_the_plan_is_refused_before_any_up(
    world: tuple[FakeCli, ops_plan.Pulumi, Path], change: str, expected: str
) -> None:
    cli, pulumi, out = world
    _planned(world)
    commit, head = "a" * 40, "a" * 40
    if change == "commit":
        commit = "b" * 40
    elif change == "head":
        head = "c" * 40
    elif change == "state":
        cli.state = '{"deployment": {"resources": [1]}}'
    path = handoff.handoff_path("staging", env=pulumi.env)
    saved = path.read_text()
    try:
        if change == "handoff":
            document = json.loads(saved)
            document["ci"]["maya"]["BACKEND_URL"]["value"] = "https://elsewhere.example.com"
            path.write_text(json.dumps(document))
        elif change == "handoff-missing":
            path.unlink()
        with pytest.raises(OpsError) as refused:
            ops_plan.apply_plan(load_from_stack_file("production"), out, commit, head, pulumi)
    finally:
        path.write_text(saved)
    assert expected in str(refused.value) and "\n" not in str(refused.value)
    assert refused.value.code == ops_plan.REFUSED == 2  # a refusal, like every other refusal of ops
    assert cli.ups() == [], "refused before `pulumi up` started"


def test_a_violation_found_by_the_ups_preview_is_one_line_nothing_written(
    world: tuple[FakeCli, ops_plan.Pulumi, Path],
) -> None:
    cli, pulumi, out = world
    _planned(world)
    instance = "pulumi-python:dynamic/railway:ServiceInstance"
    urn = f"urn:pulumi:production::maya-infra::maya:railway:Backend${instance}::backend-settings"
    cli.up_code = 255
    cli.up_output = (
        "Previewing update (production):\n"
        f"    error: resource {urn} violates plan: properties changed: =~healthcheck_timeout[{{300}}]\n"
    )
    with pytest.raises(OpsError) as refused:
        ops_plan.apply_plan(load_from_stack_file("production"), out, "a" * 40, None, pulumi)
    message = str(refused.value)
    assert refused.value.code == 2
    assert message == (
        "refused: the update no longer matches the approved preview (backend-settings: properties changed: "
        "=~healthcheck_timeout[{300}]); nothing was written (refused by the update's own preview, before any "
        "change); re-run the preview and approve the new plan"
    )
    cli.up_output = "Updating (production):\n" + cli.up_output.split("\n", 1)[1]
    with pytest.raises(OpsError, match="the update had begun"):
        ops_plan.apply_plan(load_from_stack_file("production"), out, "a" * 40, None, pulumi)


def test_no_saved_plan_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(OpsError, match="holds no saved plan"):
        ops_plan.read_record(tmp_path)


def test_an_update_that_fails_otherwise_is_one_line_exit_1(world: tuple[FakeCli, ops_plan.Pulumi, Path]) -> None:
    """Not a refusal (exit 2) but a failure (exit 1): the update's own last line says why."""
    cli, pulumi, out = world
    _planned(world)
    cli.up_code = 255
    cli.up_output = "Updating (production):\n    error: Railway answered HTTP 503\n"
    with pytest.raises(OpsError) as failed:
        ops_plan.apply_plan(load_from_stack_file("production"), out, "a" * 40, None, pulumi)
    assert failed.value.code == ops_plan.FAILED == 1
    assert str(failed.value) == "the update of production failed: error: Railway answered HTTP 503"


def test_the_command_appends_the_diff_to_the_run_summary_the_approvers_read(
    world: tuple[FakeCli, ops_plan.Pulumi, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ops plan --summary "$GITHUB_STEP_SUMMARY"`` is how the approvers see the diff before they approve (the
    workflow passes it: tests/workflows/test_trust.py); what the job already wrote there stays."""
    import io

    from ops.__main__ import build_parser
    from ops.console import Streams

    cli, pulumi, out = world
    monkeypatch.setattr(ops_plan, "_pulumi", lambda args, cfg, env: pulumi)
    summary = out.parent / "step-summary.md"
    summary.write_text("## preflight\n")
    args = ["plan", "--stack", "production", "--out", str(out), "--commit", "a" * 40, "--summary", str(summary)]
    parsed = build_parser().parse_args(args)
    stdout, stderr = io.StringIO(), io.StringIO()
    assert parsed.handler(parsed, Streams(env=dict(pulumi.env), out=stdout, err=stderr)) == 0, stderr.getvalue()
    text = summary.read_text()
    assert text.startswith("## preflight\n## The saved plan of `production`") and "~ 1 to update" in text
    assert text.removeprefix("## preflight\n") == (out / ops_plan.SUMMARY_FILE).read_text()
    assert [c[1] for c in cli.calls].count("preview") == 1 and cli.ups() == [], "it previews, never updates"


def test_a_plan_of_another_stack_is_refused_by_name(world: tuple[FakeCli, ops_plan.Pulumi, Path]) -> None:
    """Production's approved plan handed to staging's apply (a mixed-up artifact): the line names both stacks,
    rather than a hand-off or state difference that would send the reader looking in the wrong place."""
    cli, pulumi, out = world
    _planned(world)
    with pytest.raises(OpsError) as refused:
        ops_plan.apply_plan(load_from_stack_file("staging"), out, "a" * 40, None, pulumi)
    assert str(refused.value) == "refused: the saved plan is of stack production, not staging; nothing was changed"
    assert refused.value.code == 2 and cli.ups() == []


#: A `pulumi` on PATH: the state FakeCli exports, and an `up` that a SIGINT cancels in about a second, as the
#: engine does (it lets its operations in flight finish); killed instead, it never writes MARK.cancelled.
SLOW_PULUMI = """#!/bin/sh
case "$1" in
  stack) printf '%s' '{"deployment": {"resources": []}}' ;;
  up)
    trap 'echo "^C received; cancelling"; sleep 1; touch "$MARK.cancelled"; echo "update cancelled"; exit 255' INT
    echo "Updating (production):"; touch "$MARK.started"
    i=0; while [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; echo "update done" ;;
  *) exit 3 ;;
esac
"""


@pytest.mark.timeout(120)
def test_ctrl_c_during_apply_lets_pulumi_stop_by_itself_and_says_it_ran(
    world: tuple[FakeCli, ops_plan.Pulumi, Path], tmp_path: Path
) -> None:
    """Ctrl-C (SIGINT to the process group, as a terminal sends it) during `ops apply`'s `pulumi up`: the engine
    is waited for, never killed (killed, it leaves pending operations), and the line says the update ran."""
    import os
    import signal
    import sys
    import time

    from config import PROJECT_DIR

    _, pulumi, out = world
    _planned(world)
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "pulumi").write_text(SLOW_PULUMI)
    (folder / "pulumi").chmod(0o755)
    mark = tmp_path / "up"
    env = {**pulumi.env, "PATH": f"{folder}:/usr/bin:/bin", "MARK": str(mark), "PYTHONUNBUFFERED": "1"}
    argv = ["apply", "--stack", "production", "--plan", str(out), "--commit", "a" * 40]
    process = subprocess.Popen(
        [sys.executable, "-m", "ops", *argv],
        cwd=PROJECT_DIR,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while not Path(f"{mark}.started").exists():
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert Path(f"{mark}.cancelled").exists(), stderr  # pulumi finished its own cancellation
    assert "update cancelled" in stdout  # what the update printed is shown
    assert "Traceback" not in stderr
    line = stderr.strip().splitlines()[-1]
    assert line.startswith("ops apply: interrupted (Ctrl-C); already started on the platform"), line
    assert "`pulumi up` of production from the approved plan" in line
    assert "`pulumi stack history --stack production` shows its progress" in line
