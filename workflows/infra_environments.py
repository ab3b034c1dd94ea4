"""maya-infra's own GitHub environments (docs/trust.md): who may make a workflow of this repository read each
stack's passphrase and state credentials.

Per stack ``S`` (from the stack's config):

* ``S-plan`` — ``pulumi preview --refresh --save-plan`` on a push, and the daily drift check. Restricted to the
  stack's branch (and the default branch, where the drift schedule runs); no reviewers: the approvers read its
  plan in the run summary before they approve the update.
* ``S`` — ``pulumi up --plan`` of that saved plan. Restricted to the stack's branch; waits for
  ``infra.reviewers`` (production must name some), self-review prevented, no admin bypass.
* ``S-pr-preview`` — a pull request's ``pulumi preview`` of ``S``, only for stacks with
  ``infra.pullRequestReviewers`` (never production). A pull request runs its own code here with the stack's
  passphrase, and can edit the workflow that names this environment, so the environment admits every branch
  but waits for one of those reviewers on every run; self-review prevented.

Each holds the stack's state-backend secrets (``StateBackendSettings.secret_names``); production's ``plan`` and
up environments also hold staging's, prefixed ``STAGING_``, to read staging's hand-off (config/handoff.py).
Staging's environments never hold production's. ``python -m ops infra-environments`` converges GitHub to this
table; the generated workflows (workflows/infra.py) name only these environments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from config import StackConfig
from config.model import Reviewer

PLAN_SUFFIX = "-plan"
PR_PREVIEW_SUFFIX = "-pr-preview"


def handoff_prefix(stack: str) -> str:
    """The prefix of the secrets production's environments read ``stack``'s hand-off with (``STAGING_``)."""
    return f"{stack.upper()}_"


@dataclass(frozen=True)
class InfraEnvironment:
    """One GitHub environment of maya-infra's repository."""

    name: str
    stack: str
    purpose: str
    #: the branches whose runs may use it; None = every branch (then ``reviewers`` gate each run)
    branches: tuple[str, ...] | None
    reviewers: tuple[Reviewer, ...]
    prevent_self_review: bool
    #: the secrets a workflow reads from it (names only; an admin sets the values)
    secrets: tuple[str, ...]


def default_branch(configs: Sequence[StackConfig]) -> str:
    """The repository's default branch: production's (where the drift schedule runs)."""
    return next(c.github.branch for c in configs if c.is_production)


def backend_secrets(cfg: StackConfig) -> tuple[str, ...]:
    """The stack's passphrase and state-backend credentials (docs/architecture.md, 'State backend'); () without
    a backend."""
    return cfg.state_backend.secret_names if cfg.state_backend is not None else ()


def handoff_secrets(cfg: StackConfig, configs: Sequence[StackConfig]) -> tuple[str, ...]:
    """What production's pipeline reads the other stacks' hand-off with: their backend secrets, prefixed."""
    if not cfg.is_production or "github" not in cfg.platforms:
        return ()
    return tuple(
        f"{handoff_prefix(other.stack)}{name}"
        for other in configs
        if other.stack != cfg.stack and "github" in other.platforms
        for name in backend_secrets(other)
    )


def plan_environment(cfg: StackConfig) -> str:
    return cfg.stack + PLAN_SUFFIX


def pr_preview_environment(cfg: StackConfig) -> str | None:
    """The approval environment of pull-request previews of this stack, or None: pull requests do not preview it."""
    if cfg.is_production or not cfg.infra.pull_request_reviewers:
        return None
    return cfg.stack + PR_PREVIEW_SUFFIX


def infra_environments(configs: Sequence[StackConfig]) -> tuple[InfraEnvironment, ...]:
    """Every environment of maya-infra's repository, per stack in STACKS order."""
    default = default_branch(configs)
    out: list[InfraEnvironment] = []
    for cfg in configs:
        own, handed = backend_secrets(cfg), handoff_secrets(cfg, configs)
        branch = cfg.github.branch
        out.append(
            InfraEnvironment(
                plan_environment(cfg),
                cfg.stack,
                f"`pulumi preview --refresh --save-plan` and the drift check of {cfg.stack}",
                tuple(dict.fromkeys((branch, default))),
                (),
                False,
                (*own, *handed),
            )
        )
        out.append(
            InfraEnvironment(
                cfg.stack,
                cfg.stack,
                f"`pulumi up --plan` of {cfg.stack}, "
                + ("after one of its reviewers approved the saved plan" if cfg.infra.reviewers else "the saved plan"),
                (branch,),
                cfg.infra.reviewers,
                bool(cfg.infra.reviewers),
                (*own, *handed),
            )
        )
        preview = pr_preview_environment(cfg)
        if preview is not None:
            out.append(
                InfraEnvironment(
                    preview,
                    cfg.stack,
                    f"a pull request's `pulumi preview` of {cfg.stack}: a maintainer approves every run",
                    None,
                    cfg.infra.pull_request_reviewers,
                    True,
                    own,
                )
            )
    return tuple(out)
