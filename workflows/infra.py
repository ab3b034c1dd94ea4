"""The pipeline of this repository (maya-infra itself): preview on pull requests, up on push, drift check.

* ``infra-preview.yml``: ``pulumi preview`` of every stack on each pull request, posted on the PR.
* ``infra-up.yml``: ``pulumi up`` of the stack whose branch was pushed (staging from develop, production
  from main), inside that stack's GitHub environment (production waits for its reviewers), in one
  concurrency group per stack that never cancels a running update: a killed update leaves pending
  operations in the state.
* ``infra-drift.yml``: a daily ``pulumi preview --refresh --expect-no-changes`` of every stack; drift fails
  the run and opens (or updates) an issue, closed again once the stack matches its code.

State lives in the backend named by the repository variable PULUMI_BACKEND_URL; stack secrets are
decrypted with the PULUMI_CONFIG_PASSPHRASE secret.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from config import PROJECT_DIR, STACKS, StackConfig, load_from_stack_file
from workflows import pins
from workflows.alerts import clear_alert, raise_alert
from workflows.render import (
    Job,
    Step,
    because,
    checkout,
    dump,
    expr,
    header,
    job,
    script,
    setup_python,
    zizmor_ignore,
)

PREVIEW_PATH = ".github/workflows/infra-preview.yml"
UP_PATH = ".github/workflows/infra-up.yml"
DRIFT_PATH = ".github/workflows/infra-drift.yml"
DRIFT_SCHEDULE = "17 6 * * *"  # daily, off the hour when GitHub's scheduler is busiest
SOURCE = "maya-infra `python -m ops render-workflows --infra --out .` (workflows/infra.py)"

#: Policy packs that every preview, up and drift check runs (``pulumi … --policy-pack DIR``). The hook for
#: CrossGuard: add the pack's folder (e.g. "policy") here and regenerate; nothing else changes.
POLICY_PACKS: tuple[str, ...] = ("policy",)


def pulumi_version(requirements: str | None = None) -> str:
    """The CLI version CI runs: the one of the ``pulumi`` SDK pinned in requirements.txt."""
    text = requirements if requirements is not None else (PROJECT_DIR / "requirements.txt").read_text()
    match = re.search(r"^pulumi==([0-9][0-9.]*)\s*$", text, re.MULTILINE)
    if not match:
        raise ValueError("requirements.txt does not pin pulumi==X.Y.Z; CI cannot choose a Pulumi CLI version")
    return match.group(1)


def _setup() -> list[Step]:
    return [
        checkout(),
        setup_python(pins.PYTHON_INFRA, "requirements.txt"),
        {
            "name": "Install requirements.txt into ./venv, where Pulumi.yaml expects it",
            "run": script("""
            set -euo pipefail
            python -m venv venv
            venv/bin/python -m pip install --requirement requirements.txt
            """),
        },
    ]


def _pulumi(command: str, stack: str, inputs: dict[str, Any], *, outside_environment: str | None = None) -> Step:
    """pulumi/actions for one stack; ``outside_environment`` says why a job without environment holds the secret."""
    passphrase: str = expr("secrets.PULUMI_CONFIG_PASSPHRASE")
    if outside_environment is not None:
        passphrase = zizmor_ignore(passphrase, "secrets-outside-env", outside_environment)
    with_: dict[str, Any] = {
        "command": command,
        "stack-name": stack,
        "cloud-url": expr("vars.PULUMI_BACKEND_URL"),
        "pulumi-version": pulumi_version(),
        **inputs,
    }
    if POLICY_PACKS:
        with_["policyPacks"] = "\n".join(POLICY_PACKS) + "\n"
    return {
        "name": f"pulumi {command}",
        "uses": pins.uses("pulumi/actions"),
        "with": with_,
        "env": {"PULUMI_CONFIG_PASSPHRASE": passphrase},
    }


def _configs() -> tuple[StackConfig, ...]:
    return tuple(load_from_stack_file(stack) for stack in STACKS)


def preview_workflow(stacks: Sequence[str]) -> str:
    preview = job(
        "pulumi preview (" + expr("matrix.stack") + ")",
        [
            *_setup(),
            _pulumi(
                "preview",
                expr("matrix.stack"),
                {
                    "comment-on-pr": True,
                    "github-token": expr("github.token"),
                    "comment-on-summary": True,
                    "diff": True,
                },
                outside_environment="a preview of every stack on each PR is the point; fork PRs get no secrets, "
                "and production's environment would hold every preview for its reviewers",
            ),
        ],
        timeout=30,
        permissions={"contents": "read", "pull-requests": because("write", "posts the preview on the pull request")},
        strategy={"fail-fast": False, "matrix": {"stack": list(stacks)}},
    )
    document = {
        "name": "infra-preview",
        "on": {"pull_request": {}},
        "permissions": {},
        "concurrency": {"group": f"infra-preview-{expr('github.ref')}", "cancel-in-progress": True},
        "jobs": {"preview": preview},
    }
    return dump(
        document, header("pulumi preview of every stack on each pull request, posted on the pull request.", SOURCE)
    )


def up_workflow(configs: Sequence[StackConfig]) -> str:
    jobs: dict[str, Job] = {}
    for cfg in configs:
        jobs[f"up-{cfg.stack}"] = job(
            f"pulumi up ({cfg.stack})",
            [*_setup(), _pulumi("up", cfg.stack, {"comment-on-summary": True, "diff": True})],
            timeout=60,
            condition=f"github.ref_name == '{cfg.github.branch}'",
            environment=cfg.environment,
            concurrency={"group": f"pulumi-{cfg.stack}", "cancel-in-progress": False},
        )
    document = {
        "name": "infra-up",
        "on": {"push": {"branches": [cfg.github.branch for cfg in configs]}, "workflow_dispatch": {}},
        "permissions": {},
        "jobs": jobs,
    }
    routes = ", ".join(f"{cfg.github.branch} -> {cfg.stack}" for cfg in configs)
    return dump(
        document,
        header(
            f"pulumi up of the stack whose branch was pushed ({routes}), inside that stack's GitHub environment.",
            SOURCE,
            [
                "Each stack has one concurrency group that never cancels a running update (a killed update leaves",
                "pending operations in the state); production waits for its environment's required reviewers.",
            ],
        ),
    )


def drift_workflow(stacks: Sequence[str]) -> str:
    title = "Drift: stack " + expr("matrix.stack") + " differs from its code"
    drift = _pulumi(
        "preview",
        expr("matrix.stack"),
        {"refresh": True, "expect-no-changes": True, "diff": True, "comment-on-summary": True},
        outside_environment="runs on the default branch on a schedule; production's environment would hold "
        "the daily check for its reviewers",
    )
    drift.update({"name": "pulumi preview --refresh --expect-no-changes", "id": "drift", "continue-on-error": True})
    steps = [
        *_setup(),
        drift,
        raise_alert(
            title, "drift", "steps.drift.outcome == 'failure'", {"pulumi preview": expr("steps.drift.outcome")}
        ),
        clear_alert(title, "drift", "steps.drift.outcome == 'success'"),
        {
            "name": "Fail loudly on drift",
            "if": "steps.drift.outcome == 'failure'",
            "run": script("""
            echo "::error::the stack differs from its code: see the preview above and the open 'drift' issue"
            exit 1
            """),
        },
    ]
    document = {
        "name": "infra-drift",
        "on": {"schedule": [{"cron": DRIFT_SCHEDULE}], "workflow_dispatch": {}},
        "permissions": {},
        "concurrency": {"group": "infra-drift", "cancel-in-progress": False},
        "jobs": {
            "drift": job(
                "drift check (" + expr("matrix.stack") + ")",
                steps,
                timeout=30,
                permissions={
                    "contents": "read",
                    "issues": because("write", "opens, updates and closes the drift issue"),
                },
                strategy={"fail-fast": False, "matrix": {"stack": list(stacks)}},
            )
        },
    }
    return dump(
        document,
        header(
            f"Drift check on the schedule '{DRIFT_SCHEDULE}': preview with refresh, expecting no changes; "
            "drift fails the run and opens an issue labelled 'drift'.",
            SOURCE,
        ),
    )


def render() -> dict[str, str]:
    """This repository's workflows, path -> YAML, for every stack of STACKS."""
    configs = _configs()
    stacks = [cfg.stack for cfg in configs]
    return {
        DRIFT_PATH: drift_workflow(stacks),
        PREVIEW_PATH: preview_workflow(stacks),
        UP_PATH: up_workflow(configs),
    }
