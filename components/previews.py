"""The GitHub side of pull-request previews (docs/previews.md): the ``preview`` environment of the backend
repository, holding only what the generated previews workflow needs.

Every pull-request branch may use this environment (the previews workflow runs for same-repository pull
requests on ``pull_request``), and a pull request can edit the workflow that reads it. What it holds can
still write (the previews' Railway token creates environments in staging's project; the Vercel token sets
branch variables), so every run waits for one of ``previews.reviewers`` (self-review prevented, no admin
bypass): no pull request reaches these tokens unless a maintainer approved that run (docs/trust.md). It
holds nothing of production: the previews' own Railway token (a bot that is a member of the staging project
only), optionally the previews' own Vercel token, and the ids of the staging project, environment, backend
service and Vercel project. The stack's environment (``staging``), branch-restricted, keeps the deploy
credentials. Declared by production's program from the values staging hands over (components/handoff.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_github as github

from components.github import declare_environment_values
from config import StackConfig
from config.envvars import Resolved

PREVIEW_ENVIRONMENT = "preview"


@dataclass(frozen=True)
class PreviewEnvironmentArgs:
    config: StackConfig
    #: NAME -> value of the ``preview`` environment (config.envvars, Target.CI_PREVIEW)
    values: Mapping[str, Resolved]
    provider: github.Provider


class PreviewEnvironment(pulumi.ComponentResource):
    secret_names: list[str]
    variable_names: list[str]

    def __init__(self, name: str, args: PreviewEnvironmentArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("maya:github:PreviewEnvironment", name, None, opts)
        cfg = args.config
        if cfg.is_production:
            raise ValueError("production never declares the preview environment (docs/previews.md)")
        repo = cfg.github.backend_repository
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        reviewers = cfg.previews.reviewers
        environment = github.RepositoryEnvironment(
            f"{name}-environment",
            repository=repo,
            environment=PREVIEW_ENVIRONMENT,
            reviewers=[
                github.RepositoryEnvironmentReviewerArgs(
                    users=[r.id for r in reviewers if r.kind == "user"],
                    teams=[r.id for r in reviewers if r.kind == "team"],
                )
            ],
            prevent_self_review=True,
            can_admins_bypass=False,
            opts=child,
        )
        env_child = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[environment]))
        declare_environment_values(name, repo, PREVIEW_ENVIRONMENT, args.values, env_child)
        self.secret_names = sorted(k for k, v in args.values.items() if v.secret)
        self.variable_names = sorted(k for k, v in args.values.items() if not v.secret)
        self.register_outputs({"environment": PREVIEW_ENVIRONMENT})
