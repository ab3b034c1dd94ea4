"""``ops preflight`` in this repository's pipeline: first in every preview and up, and a scheduled schema-drift job.

* :func:`preflight_step` — the step every stack job runs before ``pulumi`` (workflows/infra.py, ``before_pulumi``,
  after :func:`install_pulumi`: preflight reads the stack's secrets with the CLI, as ``up`` will):
  ``python -m ops preflight --stack S``. The table lands in the job summary ($GITHUB_STEP_SUMMARY); a failed
  check fails the step, so ``pulumi`` never runs.
  Only the stack's own environment secrets are used: its passphrase and its state backend's credential.
* :func:`schema_workflow` — ``infra-schema.yml``: daily, staging's Railway token introspects Railway's live
  schema and every document maya-infra sends is validated against it
  (``--only railway.schema``). While one is refused, ONE issue (label ``railway-schema``) is open and edited
  on each run — the refused documents and the differences that matter in its body; it is closed on the first
  run that finds them all valid (workflows/alerts.py's raise/clear).
"""

from __future__ import annotations

from collections.abc import Sequence

from config import StackConfig
from workflows import pins
from workflows.alerts import clear_alert, raise_alert
from workflows.infra_environments import default_branch, plan_environment
from workflows.render import Step, because, checkout, dump, expr, header, job, script
from workflows.tools import install_program

SCHEMA_PATH = ".github/workflows/infra-schema.yml"
SCHEMA_SCHEDULE = "41 5 * * *"  # daily, before the drift check (17 6 * * *)
SCHEMA_STACK = "staging"  # Railway's schema is one for all; staging's token needs no reviewer to be read
SCHEMA_TITLE = "Railway's live schema refuses documents maya-infra sends"
SCHEMA_LABEL = "railway-schema"
SOURCE = "maya-infra `python -m ops render-workflows --infra --out .` (workflows/preflight.py)"


def backend_env(cfg: StackConfig) -> dict[str, str]:
    """What ``pulumi config`` needs to read the stack: its environment's secrets, and a backend URL that is
    not secret (S3, Pulumi Cloud) as PULUMI_BACKEND_URL."""
    backend = cfg.state_backend
    if backend is None:
        raise ValueError(f"stack {cfg.stack} has no maya-infra:stateBackend: CI cannot read its secrets")
    env = {name: expr(f"secrets.{name}") for name in backend.secret_names}
    if backend.login_url is not None:
        env["PULUMI_BACKEND_URL"] = backend.login_url
    return env


def install_pulumi() -> Step:
    """pulumi/actions without a command installs the CLI only (the version of requirements.txt's SDK)."""
    return {
        "name": "Install the Pulumi CLI",
        "uses": pins.uses("pulumi/actions"),
        "with": {"pulumi-version": pins.pulumi_version()},
    }


def preflight_step(cfg: StackConfig, arguments: str = "", *, step_id: str | None = None) -> Step:
    step: Step = {
        "name": "Preflight: check the platforms, credentials and state before pulumi (read-only)",
        "env": backend_env(cfg),
        "run": script(f"""
            set -euo pipefail
            venv/bin/python -m ops preflight --stack {cfg.stack}{arguments}
            """),
    }
    if step_id:
        step["id"] = step_id
    return step


def _setup() -> list[Step]:
    return [
        checkout(),
        *install_program(),
    ]


def schema_workflow(configs: Sequence[StackConfig]) -> str:
    cfg = next(c for c in configs if c.stack == SCHEMA_STACK)
    check = preflight_step(
        cfg, ' --only railway.schema --schema-issue "$RUNNER_TEMP/schema-issue.md"', step_id="schema"
    )
    check["name"] = "Compare Railway's live schema with every document maya-infra sends"
    check["continue-on-error"] = True
    check["run"] = script(f"""
        set -euo pipefail
        status=0
        venv/bin/python -m ops preflight --stack {cfg.stack} --only railway.schema \\
          --schema-issue "$RUNNER_TEMP/schema-issue.md" || status=$?
        if [ -f "$RUNNER_TEMP/schema-issue.md" ]; then echo "refused=true" >> "$GITHUB_OUTPUT"; fi
        exit "$status"
        """)
    steps = [
        *_setup(),
        install_pulumi(),
        check,
        raise_alert(
            SCHEMA_TITLE,
            SCHEMA_LABEL,
            "steps.schema.outputs.refused == 'true'",
            {"ops preflight --only railway.schema": expr("steps.schema.outcome")},
            body_file=expr("runner.temp") + "/schema-issue.md",
        ),
        clear_alert(SCHEMA_TITLE, SCHEMA_LABEL, "steps.schema.outcome == 'success'"),
        {
            "name": "Fail loudly when the schema could not be checked or refuses a document",
            "if": "steps.schema.outcome == 'failure'",
            "run": script("""
            echo "::error::Railway's live schema refuses a document, or could not be read: see the table above"
            exit 1
            """),
        },
    ]
    document = {
        "name": "infra-schema",
        "on": {"schedule": [{"cron": SCHEMA_SCHEDULE}], "workflow_dispatch": {}},
        "permissions": {},
        "concurrency": {"group": "infra-schema", "cancel-in-progress": True},
        "jobs": {
            f"railway-schema-{cfg.environment}": job(
                "Railway schema drift",
                steps,
                timeout=15,
                # the stack's plan environment (docs/trust.md): it only reads, on the default branch's schedule
                condition=f"github.ref == 'refs/heads/{default_branch(configs)}'",
                environment=plan_environment(cfg),
                permissions={
                    "contents": "read",
                    "issues": because("write", "opens, edits and closes the one schema-drift issue"),
                },
            )
        },
    }
    return dump(
        document,
        header(
            f"Railway schema drift on the schedule '{SCHEMA_SCHEDULE}': every document maya-infra sends, validated "
            "against Railway's live schema; one issue while one is refused.",
            SOURCE,
            [
                f"Runs in the {plan_environment(cfg)} environment (its Railway token reads the schema; nothing is",
                "written on Railway: ops preflight's clients refuse every write).",
            ],
        ),
    )
