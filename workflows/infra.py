"""The pipeline of this repository (maya-infra itself): previews of pull requests behind an approval, saved-plan
updates on push, a daily drift check. docs/trust.md explains the model; workflows/infra_environments.py holds
the GitHub environments every job here names (``python -m ops infra-environments`` converges them).

Trust boundaries: a job reads the secrets of the one environment it names — the stack's passphrase
(PULUMI_CONFIG_PASSPHRASE) and state-backend credentials (``maya-infra:stateBackend``), and in production's
environments also staging's (``STAGING_*``, to read staging's hand-off). Nothing is read from repository-wide
secrets. Every job that can reach a stack's passphrase is either limited to the stack's branch, or waits for a
reviewer who is not the run's author.

* ``infra-preview.yml``: a pull request's ``pulumi preview`` of each stack with ``infra.pullRequestReviewers``
  (staging; never production), posted on the pull request. The pull request's own code runs with the stack's
  passphrase — and the pull request can edit this very file — so the job names ``<stack>-pr-preview``, which
  admits every branch but waits for one of those reviewers on every run (prevent self-review).
* ``infra-up.yml``: on a push to a stack's branch, job ``plan-<stack>`` (environment ``<stack>-plan``: the
  branch only, no reviewers) runs ``pulumi preview --refresh --save-plan`` (``python -m ops plan``) and writes
  its diff into the run summary; job ``up-<stack>`` (environment ``<stack>``: the branch only, its reviewers)
  waits for the approval, then ``python -m ops apply`` applies exactly that plan — or refuses, before any
  write, when the code, a newer commit, the state, a hand-off or a live platform changed since.
* ``infra-drift.yml``: a daily ``pulumi preview --refresh --expect-no-changes`` per stack, in ``<stack>-plan``
  (no approval needed: it only reads); drift fails the run and opens (or updates) an issue, closed again once
  the stack matches its code. It runs on the default branch and checks out each stack's branch.

Every job guards on ``github.ref == 'refs/heads/<branch>'`` (``ref_name`` would also match a tag of that name).
:func:`before_pulumi` returns the steps every job runs before pulumi: the place to add a check.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from config import STACKS, StackConfig, load_from_stack_file
from config.model import StateBackendSettings
from workflows import pins
from workflows.alerts import clear_alert, raise_alert
from workflows.infra_environments import (
    default_branch,
    handoff_secrets,
    plan_environment,
    pr_preview_environment,
)
from workflows.pins import pulumi_version
from workflows.preflight import SCHEMA_PATH, install_pulumi, preflight_step, schema_workflow
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
)
from workflows.tools import install_program

PREVIEW_PATH = ".github/workflows/infra-preview.yml"
UP_PATH = ".github/workflows/infra-up.yml"
DRIFT_PATH = ".github/workflows/infra-drift.yml"
DRIFT_SCHEDULE = "17 6 * * *"  # daily, off the hour when GitHub's scheduler is busiest
SOURCE = "maya-infra `python -m ops render-workflows --infra --out .` (workflows/infra.py)"
#: How long a saved plan waits for its approval (then the run must be repeated; the guards refuse stale plans).
PLAN_RETENTION_DAYS = 5

#: Policy packs that every preview, plan, up and drift check runs (``pulumi … --policy-pack DIR``). The hook for
#: CrossGuard: add the pack's folder (e.g. "policy") here and regenerate; nothing else changes.
POLICY_PACKS: tuple[str, ...] = ("policy",)


def _setup(ref: str | None = None) -> list[Step]:
    return [
        checkout(ref=ref),
        *install_program(),
        install_pulumi(),  # no command: pulumi/actions only installs the CLI (ops handoff, preflight, plan use it)
    ]


def backend_env(cfg: StackConfig) -> dict[str, str]:
    """The stack's passphrase and its state backend's credentials: secrets of the stack's GitHub environment."""
    backend = _state_backend(cfg)
    return {name: expr(f"secrets.{name}") for name in backend.secret_names}


def handoff_env(cfg: StackConfig, configs: Sequence[StackConfig]) -> dict[str, str]:
    """Staging's own state credentials, to read its hand-off (production's environments only)."""
    for other in configs:
        if other.stack != cfg.stack:
            _state_backend(other)
    return {name: expr(f"secrets.{name}") for name in handoff_secrets(cfg, configs)}


def _pulumi_env(cfg: StackConfig) -> dict[str, str]:
    """What the pulumi CLI logs in with: the backend's secrets, and its URL when that is not one of them."""
    backend = _state_backend(cfg)
    env = backend_env(cfg)
    if backend.login_url is not None:
        env["PULUMI_BACKEND_URL"] = backend.login_url
    return env


def _state_backend(cfg: StackConfig) -> StateBackendSettings:
    if cfg.state_backend is None:
        raise ValueError(
            f"stack {cfg.stack} has no maya-infra:stateBackend: CI would keep its state on the runner and start "
            "from an empty state each time (a second MAYA beside the running one). Set it, e.g. "
            f"`pulumi config set --path 'maya-infra:stateBackend.kind' postgres --stack {cfg.stack}` "
            "(docs/architecture.md, 'State backend')"
        )
    return cfg.state_backend


def _require_credentials(cfg: StackConfig, environment: str, env: dict[str, str]) -> Step:
    """Fail at once, naming the environment and the secret, when a credential the job reads is not set."""
    where = f"the GitHub environment {environment} (set by an admin: docs/trust.md, maya-infra's environments)"
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
        "name": f"Require the {environment} environment's credentials",
        "env": env,
        "run": "\n".join(lines) + "\n",
    }


def _handoff_step(cfg: StackConfig, configs: Sequence[StackConfig]) -> Step:
    """Read staging's GitHub values with staging's own credentials (config/handoff.py; never printed)."""
    return {
        "name": "Receive staging's hand-off (its GitHub values, read with its own state credentials)",
        "env": handoff_env(cfg, configs),
        "run": f"venv/bin/python -m ops handoff --stack {cfg.stack}\n",
    }


def before_pulumi(
    cfg: StackConfig, configs: Sequence[StackConfig], environment: str, *, preflight: bool = True
) -> list[Step]:
    """The steps every job of ``cfg`` runs after its set-up and before pulumi: the credentials it reads, then
    (production) staging's hand-off, then ``ops preflight`` (a failed check stops the job before pulumi; the
    drift check leaves it out: its own preview fails and raises the drift issue). A new check is one more step."""
    steps = [_require_credentials(cfg, environment, {**backend_env(cfg), **handoff_env(cfg, configs)})]
    if handoff_secrets(cfg, configs):
        steps.append(_handoff_step(cfg, configs))
    if preflight:
        steps.append(preflight_step(cfg))
    return steps


def _on_branch(cfg: StackConfig) -> str:
    return f"github.ref == 'refs/heads/{cfg.github.branch}'"


def _pulumi_action(command: str, cfg: StackConfig, inputs: dict[str, Any]) -> Step:
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
    title: str,
    cfg: StackConfig,
    configs: Sequence[StackConfig],
    environment: str,
    steps: list[Step],
    *,
    timeout: int,
    ref: str | None = None,
    preflight: bool = True,
    **extra: Any,
) -> Job:
    """A job of one stack inside one of its GitHub environments, which alone holds the secrets it reads."""
    return job(
        title,
        [*_setup(ref), *before_pulumi(cfg, configs, environment, preflight=preflight), *steps],
        timeout=timeout,
        environment=environment,
        **extra,
    )


def _configs() -> tuple[StackConfig, ...]:
    return load_from_stack_file(STACKS[0]).all_stacks  # every stack file read once


# ---- infra-preview.yml --------------------------------------------------------------------------------------------
def preview_workflow(configs: Sequence[StackConfig]) -> str:
    """A pull request previews each stack with pull-request reviewers, after one of them approved the run."""
    jobs: dict[str, Job] = {}
    for cfg in configs:
        environment = pr_preview_environment(cfg)
        if environment is None:
            continue
        jobs[f"preview-{cfg.stack}"] = _stack_job(
            f"pulumi preview ({cfg.stack})",
            cfg,
            configs,
            environment,
            [
                _pulumi_action(
                    "preview",
                    cfg,
                    {
                        "comment-on-pr": True,
                        "github-token": expr("github.token"),
                        "comment-on-summary": True,
                        "diff": True,
                    },
                )
            ],
            timeout=30,
            # a fork's pull request gets no environment secrets; skip instead of failing on them
            condition="github.event.pull_request.head.repo.full_name == github.repository",
            permissions={
                "contents": "read",
                "pull-requests": because("write", "posts the preview on the pull request"),
            },
        )
    if not jobs:
        raise ValueError(
            "no stack is previewed on pull requests: set maya-infra:infra.pullRequestReviewers in "
            "Pulumi.staging.yaml (who approves each pull request's preview; docs/trust.md)"
        )
    document = {
        "name": "infra-preview",
        "on": {"pull_request": {}},
        "permissions": {},
        "concurrency": {"group": f"infra-preview-{expr('github.ref')}", "cancel-in-progress": True},
        "jobs": jobs,
    }
    shown = ", ".join(name.removeprefix("preview-") for name in jobs)
    return dump(
        document,
        header(
            f"pulumi preview of {shown} on each pull request, after a maintainer approved the run, posted on the PR.",
            SOURCE,
            [
                "The pull request's own code runs with the stack's passphrase, and it can edit this file: only the",
                "environment <stack>-pr-preview (its required reviewers) guards it. Production is never previewed",
                "here; its plan is made after merge, in infra-up.yml (docs/trust.md).",
            ],
        ),
    )


# ---- infra-up.yml ---------------------------------------------------------------------------------------------------
def _artifact(cfg: StackConfig) -> str:
    return f"plan-{cfg.stack}"


def plan_job(cfg: StackConfig, configs: Sequence[StackConfig]) -> Job:
    """``pulumi preview --refresh --save-plan`` into the run summary and an artifact, before anyone approves."""
    steps: list[Step] = [
        {
            "name": "pulumi preview --refresh --save-plan (the plan the approvers approve)",
            "env": _pulumi_env(cfg),
            "run": script(f"""
            set -euo pipefail
            venv/bin/python -m ops plan --stack {cfg.stack} --out "$RUNNER_TEMP/plan" --summary "$GITHUB_STEP_SUMMARY"
            """),
        },
        {
            "name": "Keep the saved plan for the approved update",
            "uses": pins.uses("actions/upload-artifact"),
            "with": {
                "name": _artifact(cfg),
                "path": expr("runner.temp") + "/plan",
                "if-no-files-found": "error",
                "retention-days": PLAN_RETENTION_DAYS,
            },
        },
    ]
    return _stack_job(
        f"plan ({cfg.stack}): pulumi preview --refresh --save-plan",
        cfg,
        configs,
        plan_environment(cfg),
        steps,
        timeout=30,
        condition=_on_branch(cfg),
    )


def up_job(cfg: StackConfig, configs: Sequence[StackConfig]) -> Job:
    """After the approval: apply exactly the saved plan, or refuse before any write."""
    steps: list[Step] = [
        {
            "name": "Fetch the saved plan the approvers read",
            "uses": pins.uses("actions/download-artifact"),
            "with": {"name": _artifact(cfg), "path": expr("runner.temp") + "/plan"},
        },
        {
            "name": "pulumi up --plan: exactly the approved plan, or refused before any write",
            "env": {**_pulumi_env(cfg), "GH_TOKEN": expr("github.token"), "BRANCH": cfg.github.branch},
            "run": script(f"""
            set -euo pipefail
            head="$(gh api "repos/$GITHUB_REPOSITORY/commits/$BRANCH" --jq .sha)"
            venv/bin/python -m ops apply --stack {cfg.stack} --plan "$RUNNER_TEMP/plan" --head "$head"
            """),
        },
    ]
    return _stack_job(
        f"up ({cfg.stack}): pulumi up --plan, after approval",
        cfg,
        configs,
        cfg.environment,
        steps,
        timeout=60,
        condition=_on_branch(cfg),
        needs=[f"plan-{cfg.stack}"],
        concurrency={"group": f"pulumi-{cfg.stack}", "cancel-in-progress": False},
    )


def up_workflow(configs: Sequence[StackConfig]) -> str:
    jobs: dict[str, Job] = {}
    for cfg in configs:
        jobs[f"plan-{cfg.stack}"] = plan_job(cfg, configs)
        jobs[f"up-{cfg.stack}"] = up_job(cfg, configs)
    document = {
        "name": "infra-up",
        "on": {"push": {"branches": [cfg.github.branch for cfg in configs]}, "workflow_dispatch": {}},
        "permissions": {},
        # one run per branch at a time; a newer push waits, and supersedes an older one still waiting
        "concurrency": {"group": f"infra-up-{expr('github.ref')}", "cancel-in-progress": False},
        "jobs": jobs,
    }
    routes = ", ".join(f"{cfg.github.branch} -> {cfg.stack}" for cfg in configs)
    return dump(
        document,
        header(
            f"Saved-plan updates of the stack whose branch was pushed ({routes}): plan, approval, exactly that plan.",
            SOURCE,
            [
                "plan-<stack> (environment <stack>-plan) writes the preview's diff into the run summary; up-<stack>",
                "(environment <stack>, its reviewers) applies that plan only, and refuses before any write when",
                "the code, the branch, the state, a hand-off or a live platform changed since (docs/trust.md).",
            ],
        ),
    )


# ---- infra-drift.yml -------------------------------------------------------------------------------------------------
def _drift_job(cfg: StackConfig, configs: Sequence[StackConfig]) -> Job:
    title = f"Drift: stack {cfg.stack} differs from its code"
    drift = _pulumi_action(
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
    default = default_branch(configs)
    return _stack_job(
        f"drift check ({cfg.stack})",
        cfg,
        configs,
        plan_environment(cfg),
        steps,
        timeout=30,
        ref=None if cfg.github.branch == default else cfg.github.branch,  # the stack's own code
        preflight=False,
        condition=f"github.ref == 'refs/heads/{default}'",
        permissions={"contents": "read", "issues": because("write", "opens, updates and closes the drift issue")},
        concurrency={"group": f"pulumi-{cfg.stack}", "cancel-in-progress": False},
    )


def drift_workflow(configs: Sequence[StackConfig]) -> str:
    document = {
        "name": "infra-drift",
        "on": {"schedule": [{"cron": DRIFT_SCHEDULE}], "workflow_dispatch": {}},
        "permissions": {},
        "jobs": {f"drift-{cfg.stack}": _drift_job(cfg, configs) for cfg in configs},
    }
    return dump(
        document,
        header(
            f"Drift check on the schedule '{DRIFT_SCHEDULE}': preview with refresh, expecting no changes; "
            "drift fails the run and opens an issue labelled 'drift'.",
            SOURCE,
            [
                "Each stack's check runs in its <stack>-plan environment (it only reads: no approval), on the",
                "stack's own branch's code, and shares its concurrency group with the stack's update.",
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
