"""Ctrl-C (SIGINT) sent to real ``python -m ops`` processes: exit 130, one line saying what was already started
on the platform and the command that shows its progress, never a traceback, nothing half-reported.

The platforms go on without the command: Railway's restore, backup or rollback deployment keeps running on
the fake (held there, as when Railway takes minutes), and the follow-up command the line names shows it.
"""

from __future__ import annotations

import os
import pty
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ops.stacks_world import Running, Stacks, two_stacks

pytestmark = pytest.mark.timeout(240)
FAST = ("--poll", "0.05")


@pytest.fixture
def stacks(tmp_path: Path) -> Iterator[Stacks]:
    with two_stacks(tmp_path) as world:
        yield world


def _interrupt(running: Running) -> tuple[int, str]:
    """Ctrl-C, then (exit status, the last line of stderr); the process must not print a traceback."""
    running.process.send_signal(signal.SIGINT)
    code = running.finish()
    assert "Traceback" not in running.err + running.out and "KeyboardInterrupt" not in running.err
    return code, running.err.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("words", "mutation", "poll", "follow"),
    [
        (("restore", "--backup", "{backup}", "--yes"), "VolumeInstanceBackupRestore", "WorkflowStatus", "backups"),
        (("backup",), "VolumeInstanceBackupCreate", "WorkflowStatus", "backups"),
        (("rollback", "backend", "--yes"), "DeploymentRollback", "Deployment", "status"),
    ],
    ids=["restore", "backup", "rollback"],
)
def test_ctrl_c_mid_operation_says_what_goes_on_and_how_to_follow_it(
    stacks: Stacks, words: tuple[str, ...], mutation: str, poll: str, follow: str
) -> None:
    argv = [word.format(backup=stacks.stacks["staging"].backup_id) for word in words]
    command = " ".join(argv[:2] if argv[0] == "rollback" else argv[:1])
    n = len(command.split())
    with stacks.holding():
        running = stacks.spawn(*argv[:n], "--stack", "staging", *argv[n:], *FAST, env=stacks.env("staging"))
        # the write was answered and the command follows it: Railway is doing the work now
        running.until(lambda: stacks.railway.count(mutation) == 1 and stacks.railway.count(poll) >= 2, mutation)
        code, line = _interrupt(running)
        assert code == 130, running.err
        assert line.startswith(f"ops {command}: interrupted (Ctrl-C)")
        assert "already started on the platform, and going on without this command" in line
        assert f"`python -m ops {follow} --stack staging` shows its progress" in line
        assert stacks.railway.count(mutation) == 1
        if argv[0] == "restore":
            assert f"from backup {argv[2]} (workflow " in line
            assert "restored" not in running.out  # nothing half-reported: no success line
            # the follow-up command shows the restore going on
            shown = stacks.main("backups", "--stack", "staging", env=stacks.env("staging"))
            assert shown.code == 0 and "volume: RESTORING (a restore is under way)" in shown.out
        if argv[0] == "rollback":
            rollback = next(
                d for d in stacks.railway.state.deployments.values() if (d["meta"] or {}).get("reason") == "rollback"
            )
            assert f"(deployment {rollback['id']})" in line  # the deployment it created, named


def test_ctrl_c_while_the_write_is_on_its_way_says_it_may_be_carried_out(stacks: Stacks) -> None:
    stacks.railway.inject("slow", delay=20, match="VolumeInstanceBackupCreate")  # the answer takes its time
    running = stacks.spawn("backup", "--stack", "staging", *FAST, env=stacks.env("staging"))
    running.until(lambda: stacks.railway.count("VolumeInstanceBackupCreate") == 1, "the backup request sent")
    code, line = _interrupt(running)
    assert code == 130
    assert line.startswith("ops backup: interrupted (Ctrl-C); already started on the platform")
    assert "(sent: the platform may be doing it)" in line
    assert "`python -m ops backups --stack staging` shows its progress" in line


def test_ctrl_c_at_the_confirmation_prompt_changes_nothing(stacks: Stacks) -> None:
    backup = stacks.stacks["staging"].backup_id
    controller, terminal = pty.openpty()  # a terminal as stdin: restore asks on every stack
    try:
        running = stacks.spawn(
            "restore", "--stack", "staging", "--backup", backup, *FAST, env=stacks.env("staging"), stdin=terminal
        )
        running.until(lambda: running.err.endswith("Type the stack name (staging) to confirm: "), "the prompt")
        code, line = _interrupt(running)
    finally:
        os.close(controller)
        os.close(terminal)
    assert code == 130
    assert "every write since" in running.err  # the prompt said what would be lost
    assert running.err.endswith(f"{line}\n") and "to confirm: \nops restore: interrupted" in running.err
    assert line == "ops restore: interrupted (Ctrl-C); nothing was started or changed on any platform"
    assert stacks.railway.count("VolumeInstanceBackupRestore") == 0


def test_ctrl_c_while_waiting_for_health(stacks: Stacks, tmp_path: Path) -> None:
    outputs = dict(stacks.stacks["staging"].outputs, backend_url="http://127.0.0.1:9")  # nothing listens there
    path = tmp_path / "unhealthy.json"
    path.write_text(__import__("json").dumps(outputs))
    env = stacks.env("staging", MAYA_OPS_OUTPUTS=str(path))
    running = stacks.spawn("health", "--stack", "staging", "--wait", "60", "--retry-delay", "0.2", env=env)
    running.until(lambda: "unhealthy" in running.err, "a progress line")
    code, line = _interrupt(running)
    assert code == 130
    assert line == "ops health: interrupted (Ctrl-C); nothing was started or changed on any platform"
