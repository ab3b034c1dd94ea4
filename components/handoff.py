"""Another stack's GitHub half, declared by production from the values that stack handed over (docs/trust.md).

Staging's program resolves the values of its GitHub environments (the deploy jobs', the alert mail's, the
previews') and exports them as the secret output ``github_handoff`` (:func:`handoff_output`); it declares no
GitHub resource and holds no GitHub token. Production's program reads them from the hand-off file
(config/handoff.py, written by ``python -m ops handoff``) and declares that stack's environment, values,
ruleset, workflow files and previews environment under one :class:`HandedOffGitHub` component — the same
components as its own half, named ``<stack>-pipeline`` and ``<stack>-previews``. The component's type marks
every one of them, so the policy pack can tell them from production's own and hold them to the other stack's
rules (policy/rules/trust.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_github as github

from components.github import GitHubPipeline, GitHubPipelineArgs
from components.previews import PreviewEnvironment, PreviewEnvironmentArgs
from config import StackConfig
from config.envvars import Resolved
from config.handoff import HandedValue, Handoff, document

#: The component type of a handed-off half (policy/rules/trust.py recognises its resources by it).
HANDED_OFF_TYPE = "maya:github:HandedOff"


@dataclass(frozen=True)
class GitHubValues:
    """A stack's GitHub values: per repository for the deploy environment; the alert mail's, the previews', the
    scanners'."""

    ci: Mapping[str, Mapping[str, Resolved]]
    alerts: Mapping[str, Resolved]
    preview: Mapping[str, Resolved]
    scan: Mapping[str, Resolved]


def handoff_output(stack: str, values: GitHubValues) -> pulumi.Output[dict[str, Any]]:
    """The secret ``github_handoff`` output: every value resolved, with whether GitHub must hold it as a secret."""

    def flat(items: Mapping[str, Resolved]) -> dict[str, Any]:
        return {name: {"value": item.value, "secret": item.secret} for name, item in sorted(items.items())}

    raw = document(
        stack,
        {repo: flat(items) for repo, items in sorted(values.ci.items())},
        flat(values.alerts),
        flat(values.preview),
        flat(values.scan),
    )
    return pulumi.Output.secret(pulumi.Output.from_input(raw))


def values_from(handoff: Handoff) -> GitHubValues:
    """The values of a hand-off: what GitHub holds as a secret stays a Pulumi secret in production's state."""

    def values(items: Mapping[str, HandedValue]) -> dict[str, Resolved]:
        return {
            name: Resolved(pulumi.Output.secret(item.value) if item.secret else item.value, item.secret)
            for name, item in items.items()
        }

    return GitHubValues(
        ci={repo: values(items) for repo, items in handoff.ci.items()},
        alerts=values(handoff.alerts),
        preview=values(handoff.preview),
        scan=values(handoff.scan),
    )


@dataclass(frozen=True)
class HandedOffGitHubArgs:
    #: the stack whose GitHub half this is, and the stack that declares it (production)
    config: StackConfig
    declared_by: StackConfig
    values: GitHubValues
    workflow_files: Mapping[str, Mapping[str, str]]
    provider: github.Provider
    alert_branches: tuple[str, ...] = ()


class HandedOffGitHub(pulumi.ComponentResource):
    pipeline: GitHubPipeline
    previews: PreviewEnvironment | None

    def __init__(self, name: str, args: HandedOffGitHubArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(HANDED_OFF_TYPE, name, None, opts)
        cfg = args.config
        child = pulumi.ResourceOptions(parent=self)
        self.pipeline = GitHubPipeline(
            f"{cfg.stack}-pipeline",
            GitHubPipelineArgs(
                config=cfg,
                ci_values=args.values.ci,
                workflow_files=args.workflow_files,
                provider=args.provider,
                alert_values=args.values.alerts if cfg.monitoring is not None else None,
                alert_branches=args.alert_branches,
                scan_values=args.values.scan,
                declared_by=args.declared_by,
            ),
            child,
        )
        self.previews = None
        if cfg.previews_active:
            self.previews = PreviewEnvironment(
                f"{cfg.stack}-previews", PreviewEnvironmentArgs(cfg, args.values.preview, args.provider), child
            )
        self.register_outputs({"stack": cfg.stack, "declared_by": args.declared_by.stack})

    def summary(self) -> dict[str, Any]:
        """What production declares of this stack (a stack output: names only, never values)."""
        pipeline = self.pipeline
        return {
            "environment": self.pipeline.environment_names[0],
            "protected_branch": pipeline.protected_branch,
            "required_checks": pipeline.required_checks,
            "required_reviewers": pipeline.required_reviewers,
            "secret_names": pipeline.secret_names,
            "workflow_files": pipeline.workflow_paths,
            "preview_secret_names": self.previews.secret_names if self.previews is not None else [],
        }
