"""The production deploy's pre-deploy backup (workflows/scripts/predeploy_backup.py) against the fake Railway.

A backup only when the deploy brings migration files the live commit does not have; exactly once per commit
(a re-run finds it by name; a create whose answer was lost is looked for before it is sent again); its id in
the run summary and the job's output; without the backup token, a deploy that would migrate is refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.fakes.railway_api import FakeRailway
from tests.workflows.test_one_deploy_per_push import TOKEN, fake, railway  # noqa: F401 - fixtures
from tests.workflows.test_pipeline import _commit, _git
from workflows.scripts import predeploy_backup as pb
from workflows.scripts import railway_rollback as rr

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def world(fake: FakeRailway, railway: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:  # noqa: F811
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    live = _commit(repo, "backend/migrations/001_tenants.sql", "CREATE TABLE tenants (id int);\n")
    client = rr.Railway(railway["RAILWAY_TOKEN"], fake.url)
    target = rr.Target.from_env(railway)
    client.deploy(target.project_id, target.environment_id, target.service_id, live)  # CI's deploy: live
    fake.advance_deployments()
    with fake._lock:
        volume = fake._new_volume(
            railway["RAILWAY_PROJECT_ID"], "/var/lib/postgresql/data", None, railway["RAILWAY_ENVIRONMENT_ID"], None
        )
        instance = next(i for i, vi in fake.state.volume_instances.items() if vi["volumeId"] == volume["id"])
    monkeypatch.chdir(repo)
    env = {**railway, "RAILWAY_VOLUME_INSTANCE_ID": instance, "RAILWAY_BACKUP_TOKEN": TOKEN}
    return repo, env, fake


def _run(env: dict[str, str], commit: str, tmp_path: Path) -> tuple[int, str, str]:
    output, summary = tmp_path / "output", tmp_path / "summary"
    full = {**env, "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary)}
    code = pb.main(["--commit", commit, "--migrations", "backend/migrations", "--poll", "0", "--timeout", "5"], full)
    return code, output.read_text() if output.exists() else "", summary.read_text() if summary.exists() else ""


def _backups(rail: FakeRailway) -> list[dict[str, Any]]:
    with rail._lock:
        return [dict(b) for b in rail.state.backups.values()]


def test_no_new_migration_no_backup(world: Any, tmp_path: Path) -> None:
    repo, env, rail = world
    commit = _commit(repo, "backend/app/main.py", "app = 1\n")
    assert _run(env, commit, tmp_path)[0] == 0
    assert _backups(rail) == []


def test_a_deploy_with_a_new_migration_is_backed_up_exactly_once(world: Any, tmp_path: Path) -> None:
    repo, env, rail = world
    commit = _commit(repo, "backend/migrations/002_plans.sql", "CREATE TABLE plans (name text);\n")
    code, output, summary = _run(env, commit, tmp_path)
    assert code == 0
    [backup] = _backups(rail)
    assert backup["name"] == f"maya-predeploy-{commit[:12]}"
    assert f"backup_id={backup['id']}" in output
    assert backup["id"] in summary and "002_plans.sql" in summary
    assert _run(env, commit, tmp_path)[0] == 0  # a re-run of the deploy job: found, not taken again
    assert len(_backups(rail)) == 1


def test_a_lost_answer_is_looked_for_before_anything_is_sent_again(world: Any, tmp_path: Path) -> None:
    repo, env, rail = world
    commit = _commit(repo, "backend/migrations/002_plans.sql", "CREATE TABLE plans (name text);\n")
    rail.inject("drop_after", match="PredeployBackup")  # the backup is taken, the answer never arrives
    assert _run(env, commit, tmp_path)[0] == 0
    assert len(_backups(rail)) == 1


def test_without_the_backup_token_a_migrating_deploy_is_refused(world: Any, tmp_path: Path) -> None:
    repo, env, rail = world
    commit = _commit(repo, "backend/migrations/002_plans.sql", "CREATE TABLE plans (name text);\n")
    code, _, summary = _run({**env, "RAILWAY_BACKUP_TOKEN": ""}, commit, tmp_path)
    assert code == 1 and "maya-infra:railwayBackupToken" in summary
    assert _backups(rail) == []
