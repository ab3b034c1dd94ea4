"""The pipeline of this repository (maya-infra itself): preview on pull requests, up on push, drift check.

Trust boundaries: every job that runs the program runs inside the GitHub environment of its stack and
reads only that environment's secrets — the stack's own passphrase (PULUMI_CONFIG_PASSPHRASE) and its
state backend's credential (``maya-infra:stateBackend``: PULUMI_ACCESS_TOKEN, AWS_* or PULUMI_BACKEND_URL).
Nothing is read from repository-wide secrets.

* ``infra-preview.yml``: ``pulumi preview`` of **staging** on each pull request (environment ``staging``),
  posted on the PR. Production is never previewed on a pull request: the PR's code is not reviewed yet,
  and running it with production's passphrase would let it print every production secret. Production's
  code runs only after merge, behind the ``production`` environment's required reviewers.
* ``infra-up.yml``: ``pulumi up`` of the stack whose branch was pushed (staging from develop, production
  from main), inside that stack's GitHub environment (production waits for its reviewers), in one
  concurrency group per stack that never cancels a running update: a killed update leaves pending
  operations in the state. The state backend's lock is the second guard (an operator's local update).
* ``infra-drift.yml``: a daily ``pulumi preview --refresh --expect-no-changes`` per stack, each in its own
  environment — production's run therefore waits for a reviewer's approval before it may read
  production's secrets; drift fails the run and opens (or updates) an issue, closed again once the stack
  matches its code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from config import STACKS, StackConfig, load_from_stack_file
from config.model import StateBackendSettings
from workflows import pins
from workflows.alerts import clear_alert, raise_alert
from workflows.pins import pulumi_version
from workflows.preflight import SCHEMA_PATH, preflight_steps, schema_workflow
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
)

PREVIEW_PATH = ".github/workflows/infra-preview.yml"
UP_PATH = ".github/workflows/infra-up.yml"
DRIFT_PATH = ".github/workflows/infra-drift.yml"
DRIFT_SCHEDULE = "17 6 * * *"  # daily, off the hour when GitHub's scheduler is busiest
SOURCE = "maya-infra `python -m ops render-workflows --infra --out .` (workflows/infra.py)"

#: Policy packs that every preview, up and drift check runs (``pulumi … --policy-pack DIR``). The hook for
#: CrossGuard: add the pack's folder (e.g. "policy") here and regenerate; nothing else changes.
POLICY_PACKS: tuple[str, ...] = ("policy",)

#: The stacks a pull request previews. Never production: its passphrase stays behind its reviewers.
PREVIEW_STACKS: tuple[str, ...] = ("staging",)


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


def backend_env(cfg: StackConfig) -> dict[str, str]:
    """The stack's passphrase and its state backend's credentials: secrets of the stack's GitHub environment."""
    backend = _state_backend(cfg)
    return {name: expr(f"secrets.{name}") for name in backend.secret_names}


def _state_backend(cfg: StackConfig) -> StateBackendSettings:
    if cfg.state_backend is None:
        raise ValueError(
            f"stack {cfg.stack} has no maya-infra:stateBackend: CI would keep its state on the runner and start "
            "from an empty state each time (a second MAYA beside the running one). Set it, e.g. "
            f"`pulumi config set --path 'maya-infra:stateBackend.kind' postgres --stack {cfg.stack}` "
            "(README, 'State backend')"
        )
    return cfg.state_backend


def _require_credentials(cfg: StackConfig) -> Step:
    """Fail at once, naming the environment and the secret, when a credential of this stack is not set."""
    env = backend_env(cfg)
    where = f"the GitHub environment {cfg.environment} (README, 'State backend')"
    lines = [
        "set -euo pipefail",
        "missing=()",
        *(f'if [ -z "${{{name}:-}}" ]; then missing+=({name}); fi' for name in env),
        'if [ "${#missing[@]}" -gt 0 ]; then',
        f'  echo "::error::secrets ${{missing[*]}} are not set in {where}"',
        "  exit 1",
        "fi",
    ]
    return {
        "name": f"Require the {cfg.environment} environment's state backend credentials",
        "env": env,
        "run": "\n".join(lines) + "\n",
    }


def _pulumi(command: str, cfg: StackConfig, inputs: dict[str, Any]) -> Step:
    """pulumi/actions for one stack, logged in to the stack's own state backend with its own secrets."""
    backend = _state_backend(cfg)
    with_: dict[str, Any] = {
        "command": command,
        "stack-name": backend.stack_name(cfg.stack),
        "pulumi-version": pulumi_version(),
        **inputs,
    }
    if backend.login_url is not None:
        with_["cloud-url"] = backend.login_url
    if POLICY_PACKS:
        with_["policyPacks"] = "\n".join(POLICY_PACKS) + "\n"
    return {"name": f"pulumi {command}", "uses": pins.uses("pulumi/actions"), "with": with_, "env": backend_env(cfg)}


def _stack_job(
    title: str, cfg: StackConfig, steps: list[Step], *, timeout: int, condition: str | None = None, **extra: Any
) -> Job:
    """A job of one stack, inside that stack's GitHub environment, which alone holds its secrets."""
    return job(
        title,
        [*_setup(), _require_credentials(cfg), *steps],
        timeout=timeout,
        condition=condition,
        environment=cfg.environment,
        **extra,
    )


def _configs() -> tuple[StackConfig, ...]:
    return load_from_stack_file(STACKS[0]).all_stacks  # every stack file read once


def preview_workflow(configs: Sequence[StackConfig]) -> str:
    """Pull requests preview the stacks in PREVIEW_STACKS only (staging): see the module docstring for why."""
    jobs: dict[str, Job] = {}
    for cfg in configs:
        if cfg.stack not in PREVIEW_STACKS:
            continue
        jobs[f"preview-{cfg.stack}"] = _stack_job(
            f"pulumi preview ({cfg.stack})",
            cfg,
            [
                *preflight_steps(cfg),
                _pulumi(
                    "preview",
                    cfg,
                    {
                        "comment-on-pr": True,
                        "github-token": expr("github.token"),
                        "comment-on-summary": True,
                        "diff": True,
                    },
                ),
            ],
            timeout=30,
            # a fork's pull request gets no environment secrets; skip instead of failing on them
            condition="github.event.pull_request.head.repo.full_name == github.repository",
            permissions={
                "contents": "read",
                "pull-requests": because("write", "posts the preview on the pull request"),
            },
        )
    document = {
        "name": "infra-preview",
        "on": {"pull_request": {}},
        "permissions": {},
        "concurrency": {"group": f"infra-preview-{expr('github.ref')}", "cancel-in-progress": True},
        "jobs": jobs,
    }
    shown = ", ".join(PREVIEW_STACKS)
    return dump(
        document,
        header(
            f"pulumi preview of {shown} on each pull request, inside its GitHub environment, posted on the PR.",
            SOURCE,
            [
                "Production is not previewed on pull requests: the PR's code would run with production's passphrase",
                "before anyone reviewed it. It runs after merge, in infra-up.yml, behind the production reviewers.",
            ],
        ),
    )


def up_workflow(configs: Sequence[StackConfig]) -> str:
    jobs: dict[str, Job] = {}
    for cfg in configs:
        jobs[f"up-{cfg.stack}"] = _stack_job(
            f"pulumi up ({cfg.stack})",
            cfg,
            [*preflight_steps(cfg), _pulumi("up", cfg, {"comment-on-summary": True, "diff": True})],
            timeout=60,
            condition=f"github.ref_name == '{cfg.github.branch}'",
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


def _drift_job(cfg: StackConfig) -> Job:
    title = f"Drift: stack {cfg.stack} differs from its code"
    drift = _pulumi(
        "preview", cfg, {"refresh": True, "expect-no-changes": True, "diff": True, "comment-on-summary": True}
    )
    drift.update({"name": "pulumi preview --refresh --expect-no-changes", "id": "drift", "continue-on-error": True})
    steps = [
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
    return _stack_job(
        f"drift check ({cfg.stack})",
        cfg,
        steps,
        timeout=30,
        permissions={"contents": "read", "issues": because("write", "opens, updates and closes the drift issue")},
        concurrency={"group": f"pulumi-{cfg.stack}", "cancel-in-progress": False},
    )


def drift_workflow(configs: Sequence[StackConfig]) -> str:
    document = {
        "name": "infra-drift",
        "on": {"schedule": [{"cron": DRIFT_SCHEDULE}], "workflow_dispatch": {}},
        "permissions": {},
        "jobs": {f"drift-{cfg.stack}": _drift_job(cfg) for cfg in configs},
    }
    return dump(
        document,
        header(
            f"Drift check on the schedule '{DRIFT_SCHEDULE}': preview with refresh, expecting no changes; "
            "drift fails the run and opens an issue labelled 'drift'.",
            SOURCE,
            [
                "Each stack's check runs in its own GitHub environment and shares its concurrency group with",
                "infra-up (never two operations on one stack); production's waits for a reviewer's approval.",
            ],
        ),
    )


def render() -> dict[str, str]:
    """This repository's workflows, path -> YAML, for every stack of STACKS."""
    configs = _configs()
    return {
        DRIFT_PATH: drift_workflow(configs),
        PREVIEW_PATH: preview_workflow(configs),
        SCHEMA_PATH: schema_workflow(configs),
        UP_PATH: up_workflow(configs),
    }
