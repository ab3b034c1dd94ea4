"""Back up the production database before a deploy brings new migration files — exactly once per commit.

maya-infra inlines this file into the backend deploy job, before the deploy step, in production. A migration
that fails leaves the schema as it was (apply_migrations.py runs the batch in one transaction); this is for
the migration that *succeeds* and is wrong (a dropped column, a bad backfill): ``python -m ops restore
--stack production --backup predeploy`` restores the volume as it was right before.

What is pending is read from git, not from the database (CI never connects to production's database): the
migration files at this commit that the live deployment's commit does not have. No new file, no backup. When
the live commit is unknown or not in this clone's history, every file counts as new (a backup too many is
cheap; one too few is not).

Exactly once: the backup is named ``maya-predeploy-<commit>``. A re-run finds it and reports it instead of
taking another; a create whose answer was lost is looked for by that name before it is ever sent again.

Usage: python3 predeploy_backup.py --commit SHA --migrations DIR [--timeout S] [--poll S]
Reads RAILWAY_BACKUP_TOKEN (a Railway account token that can back up the production project's volume:
project tokens cannot), RAILWAY_VOLUME_INSTANCE_ID, RAILWAY_PROJECT_ID, RAILWAY_ENVIRONMENT_ID,
RAILWAY_SERVICE_ID (RAILWAY_API_URL in tests). Writes ``backup_id`` to $GITHUB_OUTPUT and a line to the run
summary. Exit 0 backed up (or nothing to back up); 1 no backup could be taken: nothing is deployed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING or __package__:  # siblings of an inlined script: see workflows/scripts/__init__.py
    from workflows.scripts import railway_rollback, script_http
else:
    import railway_rollback
    import script_http

PREFIX = "maya-predeploy-"
BACKUPS_QUERY = """
query PredeployBackups($volumeInstanceId: String!) {
  volumeInstanceBackupList(volumeInstanceId: $volumeInstanceId) { id name createdAt }
}
"""
BACKUP_MUTATION = """
mutation PredeployBackup($volumeInstanceId: String!, $name: String) {
  volumeInstanceBackupCreate(volumeInstanceId: $volumeInstanceId, name: $name) { workflowId }
}
"""
WORKFLOW_QUERY = """
query PredeployBackupWorkflow($workflowId: String!) {
  workflowStatus(workflowId: $workflowId) { status error }
}
"""
DOCUMENTS = (BACKUPS_QUERY, BACKUP_MUTATION, WORKFLOW_QUERY)


def name_for(commit: str) -> str:
    return f"{PREFIX}{commit[:12]}"


def new_migrations(directory: str, live_commit: str, run: Callable[[list[str]], str] | None = None) -> list[str]:
    """Migration files (``*.sql``) in ``directory`` now that ``live_commit`` does not have; all of them when
    that commit cannot be read here."""
    git = run or _git
    here = sorted(p.name for p in Path(directory).glob("*.sql"))
    if not live_commit:
        return here
    try:
        listed = git(["git", "ls-tree", "--name-only", f"{live_commit}:{directory.rstrip('/')}"])
    except (OSError, subprocess.CalledProcessError):
        return here  # unknown history: every file is new
    before = {line.strip() for line in listed.splitlines() if line.strip()}
    return [name for name in here if name not in before]


def _git(argv: list[str]) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=60).stdout


def backups(client: railway_rollback.Railway, volume: str) -> list[dict[str, Any]]:
    listed = client.execute(BACKUPS_QUERY, {"volumeInstanceId": volume})["volumeInstanceBackupList"]
    return [dict(b) for b in listed]


def backup_once(
    client: railway_rollback.Railway,
    volume: str,
    name: str,
    *,
    timeout: float,
    poll: float,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[str, str]:
    """(backup id, how it was had): the backup named ``name``, found or taken once and waited for."""
    found = next((b for b in backups(client, volume) if b.get("name") == name), None)
    if found is not None:
        return str(found["id"]), "found: an earlier run of this deploy took it"
    try:
        answer = client.execute(BACKUP_MUTATION, {"volumeInstanceId": volume, "name": name}, idempotent=False)
        workflow = str((answer["volumeInstanceBackupCreate"] or {}).get("workflowId") or "")
    except railway_rollback.AmbiguousError:
        workflow = ""  # it may have landed: the listing below decides, it is never sent blindly again
    deadline = time.monotonic() + timeout
    while True:
        complete = not workflow  # without the workflow's id, the backup's presence is all there is to see
        if workflow:
            status = client.execute(WORKFLOW_QUERY, {"workflowId": workflow})["workflowStatus"]
            if status["status"] == "Error":
                raise railway_rollback.RailwayError(f"Railway's backup workflow failed: {status.get('error')}")
            complete = status["status"] == "Complete"
        found = next((b for b in backups(client, volume) if b.get("name") == name), None)
        if found is not None and complete:
            return str(found["id"]), "taken"
        if time.monotonic() >= deadline:
            raise railway_rollback.RailwayError(f"no backup {name} after {timeout:.0f} s: nothing deployed")
        sleep(poll)


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    env = dict(os.environ) if env is None else env
    parser = argparse.ArgumentParser(prog="predeploy_backup", description=__doc__.split("\n\n")[0])
    parser.add_argument("--commit", required=True)
    parser.add_argument("--migrations", required=True, help="the backend's migrations folder (repo-relative)")
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--poll", type=float, default=10.0)
    args = parser.parse_args(argv)
    try:
        target = railway_rollback.Target.from_env(env)
        volume = env.get("RAILWAY_VOLUME_INSTANCE_ID", "")
        token = env.get("RAILWAY_BACKUP_TOKEN", "")
        url = env.get("RAILWAY_API_URL") or railway_rollback.API_URL
        deploys = railway_rollback.Railway(env.get("RAILWAY_TOKEN", ""), url)
        live = railway_rollback.live_deployment(railway_rollback.deployments_of(deploys, target))
        new = new_migrations(args.migrations, railway_rollback.commit_of(live) if live else "")
        if not new:
            print("no new migration file since the live deployment: no backup needed")
            return 0
        if not volume or not token:
            missing = [n for n, v in (("RAILWAY_VOLUME_INSTANCE_ID", volume), ("RAILWAY_BACKUP_TOKEN", token)) if not v]
            raise railway_rollback.RailwayError(
                f"{', '.join(missing)} not set in this environment, and {len(new)} new migration(s) would run "
                "without a backup: set maya-infra:railwayBackupToken and run `pulumi up --stack production`"
            )
        client = railway_rollback.Railway(token, url, bearer=True)
        backup_id, how = backup_once(client, volume, name_for(args.commit), timeout=args.timeout, poll=args.poll)
    except railway_rollback.RailwayError as error:
        print(f"::error::{error}")
        script_http.append(env, "GITHUB_STEP_SUMMARY", f"Pre-deploy backup: **failed**: {error}\n")
        return 1
    script_http.append(env, "GITHUB_OUTPUT", f"backup_id={backup_id}\n")
    line = f"Pre-deploy backup `{backup_id}` ({name_for(args.commit)}, {how}) before {', '.join(new)}"
    script_http.append(env, "GITHUB_STEP_SUMMARY", line + "\n")
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
