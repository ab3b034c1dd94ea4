"""The staging → production gate of both pipelines (workflows/scripts/staging_gate.py).

A push to the production branch deploys only code that was deployed to staging and passed its checks
there, looked up through GitHub's deployments, deployment statuses and check runs (by git tree: the merge
of develop into main is a new commit with the same tree). The job runs before every deploy and passes at
once when the deploy targets staging, so the deploy job can simply need it.
"""

from __future__ import annotations

from collections.abc import Sequence

from config import StackConfig
from workflows.pipeline import CHANGES_JOB, DEPLOY
from workflows.render import Job, because, expr, job, run_script, write_script

GATE_JOB = "staging-gate"
SCRIPT = "staging_gate.py"


def _environment_of(configs: Sequence[StackConfig], stack: str) -> str:
    return next(c.environment for c in configs if c.stack == stack)


def staging_gate_job(configs: Sequence[StackConfig], check: str, needs: Sequence[str]) -> Job:
    """Refuses a production deploy of code that did not pass ``check`` after deploying to staging."""
    production, staging = _environment_of(configs, "production"), _environment_of(configs, "staging")
    arguments = (
        f'--repo "$REPO" --sha "$SHA" --target "$TARGET" --production {production} --staging {staging} --check {check}'
    )
    return job(
        "Staging → production gate",
        [
            write_script(SCRIPT),
            {
                "name": "Require this code to have passed on staging",
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
            "contents": "read",
            "deployments": because("read", "finds the staging deployment of this code and its status"),
            "checks": because("read", f"requires {check} to have passed on the staged commit"),
        },
    )
