"""What lets code into an environment: the staging → production gate, and the deploy jobs' stale-run refusal.

* The gate (job ``staging-gate``, workflows/scripts/staging_gate.py) runs before every deploy and passes at
  once when the deploy targets staging. For production it requires this app's folder, as it is at the pushed
  commit, to have been deployed to staging by a **push** run of this app's workflow on the staging branch
  whose deploy job and staging verification jobs (:data:`STAGING_VERIFICATION`: E2E against staging, and for
  the frontend the promotion after it) succeeded, read from GitHub Actions' runs and jobs. A pull request's
  run, a failed or rolled-back deploy, a failed E2E run, or the other app's run never count.
* :func:`fresh_commit_step`, the first step of every deploy job: the run's commit must be the branch head
  (workflows/scripts/branch_head.py), so re-running an old run never redeploys old code.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence

from config import StackConfig
from workflows.pipeline import CHANGES_JOB, DEPLOY
from workflows.render import Job, Step, because, expr, job, run_script, script, write_script

GATE_JOB = "staging-gate"
SCRIPT = "staging_gate.py"
HEAD_SCRIPT = "branch_head.py"
#: The jobs (by id) whose success in the staging push run the gate requires, after the deploy job itself.
#: Each is named like its id (``name:``), because the jobs API reports display names. The ``perf`` work adds
#: its staging performance job here.
STAGING_VERIFICATION: tuple[str, ...] = ("e2e",)


def _config_of(configs: Sequence[StackConfig], production: bool) -> StackConfig:
    return next(c for c in configs if c.is_production == production)


def gated_jobs(jobs: Mapping[str, Job], deploy: str, extra: Sequence[str] = ()) -> list[str]:
    """The display names of the jobs the gate requires (deploy first), checked to be named like their ids."""
    wanted = [deploy, *extra, *STAGING_VERIFICATION]
    for job_id in wanted:
        if job_id not in jobs:
            raise ValueError(f"the staging gate requires job {job_id!r}, which this workflow does not have")
        if jobs[job_id]["name"] != job_id:
            raise ValueError(f"job {job_id!r} must be named {job_id!r}: the gate finds it by its display name")
    return list(dict.fromkeys(wanted))


def staging_gate_job(
    configs: Sequence[StackConfig],
    check: str,
    needs: Sequence[str],
    *,
    folder: str,
    workflow: str,
    required: Sequence[str],
) -> Job:
    """Refuses a production deploy of ``folder`` unless staging's push run deployed it and passed ``required``."""
    production, staging = _config_of(configs, True), _config_of(configs, False)
    q = shlex.quote
    arguments = " ".join(
        [
            '--repo "$REPO" --sha "$SHA" --target "$TARGET"',
            f"--production {q(production.environment)} --staging {q(staging.environment)} --check {q(check)}",
            f"--staging-branch {q(staging.github.branch)} --path {q(folder)} --workflow {q(workflow)}",
            *(f"--require-job {q(name)}" for name in required),
        ]
    )
    return job(
        "Staging → production gate",
        [
            write_script(SCRIPT),
            {
                "name": "Require this code to have been deployed and tested on staging by a push run",
                "env": {
                    "GITHUB_TOKEN": expr("github.token"),
                    "REPO": expr("github.repository"),
                    "SHA": expr("github.sha"),
                    "TARGET": expr(f"needs.{CHANGES_JOB}.outputs.environment"),
                },
                "run": run_script(SCRIPT, arguments),
            },
        ],
        timeout=5,
        needs=[CHANGES_JOB, *needs],
        condition=DEPLOY,
        permissions={
            "contents": because("read", "compares the app folder's git tree with the staged commit's"),
            "actions": because("read", "reads the staging push runs of this workflow and their jobs"),
        },
    )


def fresh_commit_steps() -> list[Step]:
    """The first steps of a deploy job: refuse a run whose commit is no longer the head of its branch."""
    return [
        write_script(HEAD_SCRIPT),
        {
            "name": "Refuse stale code (this run's commit must be the branch head)",
            "env": {
                "GITHUB_TOKEN": expr("github.token"),
                "REPO": expr("github.repository"),
                "SHA": expr("github.sha"),
                "BRANCH": expr("github.ref_name"),
            },
            "run": script(run_script(HEAD_SCRIPT, '--repo "$REPO" --sha "$SHA" --branch "$BRANCH"')),
        },
    ]
