"""One mutating command per stack at a time (issue 27): two rollbacks, backups or restores at once.

A first command runs as a real process while Railway holds its work (a rollback deployment in flight, a
backup or restore workflow running). A second one on the same machine is refused by the stack's lock, naming
the first; one on another machine (another lock folder) is refused by what Railway shows in flight — except
a backup, which Railway cannot show in flight: both run, and each reports the backup IT made, never "the
newest".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ops.stacks_world import Running, Stacks, two_stacks

pytestmark = pytest.mark.timeout(240)
FAST = ("--poll", "0.05")
#: The second command gives up quickly if it ever gets past the guards (it would wait on held work).
SECOND = ("--poll", "0.05", "--timeout", "5")


@pytest.fixture
def stacks(tmp_path: Path) -> Iterator[Stacks]:
    with two_stacks(tmp_path) as world:
        yield world


def _elsewhere(stacks: Stacks, tmp_path: Path) -> dict[str, str]:
    """The env of an on-call engineer on another machine: the same stack, another lock folder."""
    return stacks.env("staging", MAYA_OPS_LOCK_DIR=str(tmp_path / "another-machine"))


def _refused_by_the_lock(stacks: Stacks, first: Running, *argv: str) -> None:
    """The same command again, on the same machine: one line naming the first (its command and pid)."""
    second = stacks.main(*argv, env=stacks.env("staging"))
    assert second.code == 2, second.text
    (line,) = second.err.strip().splitlines()
    command = " ".join(argv[:2] if argv[0] == "rollback" else argv[:1])
    assert line.startswith(f"ops {command}: `python -m ops {command} --stack staging` (pid {first.process.pid}, ")
    assert "is changing stack 'staging' right now" in line and "Nothing was done" in line


def _first(stacks: Stacks, *argv: str) -> Running:
    return stacks.spawn(*argv, *FAST, env=stacks.env("staging"))


def test_two_rollbacks_at_once(stacks: Stacks, tmp_path: Path) -> None:
    with stacks.holding():
        first = _first(stacks, "rollback", "backend", "--stack", "staging", "--yes", "--timeout", "60")
        first.until(lambda: stacks.railway.count("DeploymentRollback") == 1, "the first rollback sent")
        _refused_by_the_lock(stacks, first, "rollback", "backend", "--stack", "staging", "--yes", *SECOND)
        argv = ("rollback", "backend", "--stack", "staging", "--yes", *SECOND)
        elsewhere = stacks.main(*argv, env=_elsewhere(stacks, tmp_path))
        assert elsewhere.code == 2, elsewhere.text
        rollback = next(
            d for d in stacks.railway.state.deployments.values() if (d["meta"] or {}).get("reason") == "rollback"
        )
        assert f"a rollback is already under way on Railway: {rollback['id']}" in elsewhere.err
        assert stacks.railway.count("DeploymentRollback") == 1
    assert first.finish() == 0, first.err
    assert f"rollback deployment {rollback['id']}: SUCCESS" in first.out  # the one this request created
    assert stacks.railway.count("DeploymentRollback") == 1


def test_two_restores_at_once(stacks: Stacks, tmp_path: Path) -> None:
    backup = stacks.stacks["staging"].backup_id
    argv = ("restore", "--stack", "staging", "--backup", backup, "--yes", "--health-wait", "5")
    with stacks.holding():
        first = _first(stacks, *argv)
        first.until(lambda: stacks.railway.count("VolumeInstanceBackupRestore") == 1, "the first restore sent")
        _refused_by_the_lock(stacks, first, *argv, *SECOND)
        elsewhere = stacks.main(*argv, *SECOND, env=_elsewhere(stacks, tmp_path))
        assert elsewhere.code == 2, elsewhere.text
        assert "is RESTORING (a restore is under way): refusing to restore it now" in elsewhere.err
        assert stacks.railway.count("VolumeInstanceBackupRestore") == 1
    assert first.finish() == 0, first.err
    assert "restored and healthy" in first.out
    assert stacks.railway.count("VolumeInstanceBackupRestore") == 1


def test_two_backups_at_once(stacks: Stacks, tmp_path: Path) -> None:
    with stacks.holding():
        first = _first(stacks, "backup", "--stack", "staging")
        first.until(lambda: stacks.railway.count("VolumeInstanceBackupCreate") == 1, "the first backup sent")
        _refused_by_the_lock(stacks, first, "backup", "--stack", "staging", *SECOND)
        assert stacks.railway.count("VolumeInstanceBackupCreate") == 1
        # another machine: Railway shows no backup in flight, so it runs too
        second = stacks.spawn("backup", "--stack", "staging", *FAST, env=_elsewhere(stacks, tmp_path))
        second.until(lambda: stacks.railway.count("VolumeInstanceBackupCreate") == 2, "the second backup sent")
    assert first.finish() == 0, first.err
    assert second.finish() == 0, second.err
    reported = {}
    for running in (first, second):
        found = re.search(r"^backup (\S+)\n  '([^']+)'", running.out, re.MULTILINE)
        assert found is not None, running.out
        reported[found.group(1)] = found.group(2)
    with stacks.railway._lock:
        names = {b["id"]: b["name"] for b in stacks.railway.state.backups.values()}
    assert len(reported) == 2  # two backups, two different ids: each reports its own
    assert all(names[backup_id] == name for backup_id, name in reported.items())
