"""The GitHub side of one stack: its deployment environment, the deploy jobs' secrets and variables, the
protection of its branch, and the workflow files it commits to that branch.

Each stack's objects are its own environment's: the ``staging``/``production`` environment, the
environment-scoped secrets and variables (never repository-wide ones, which both stacks would share), the
ruleset of its own branch, and the workflow files on its own branch. Production's program declares them for
every stack (the GitHub write token lives only there; docs/trust.md): its own as ``pipeline``, another stack's
as ``<stack>-pipeline`` from the values that stack handed over (components/handoff.py). Nothing is declared twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_github as github

from components.safety import adopted, stateful
from config import StackConfig

# ALERTS_SUFFIX: the environment of the alert mail (workflows/mail.py says why); SCAN_SUFFIX: the scanners'
from config.envvars import ALERTS_SUFFIX, METRICS_VARIABLES, SCAN_SUFFIX, Resolved
from config.model import GITHUB_ACTIONS_APP_ID


@dataclass(frozen=True)
class GitHubPipelineArgs:
    config: StackConfig
    #: repository -> NAME -> value, for the stack's GitHub environment in that repository
    ci_values: Mapping[str, Mapping[str, Resolved]]
    #: repository -> path -> file content, committed to the stack's branch
    workflow_files: Mapping[str, Mapping[str, str]]
    provider: github.Provider
    #: NAME -> value of the alert mail (SMTP_URL, ALERT_EMAILS, ALERT_FROM), for ``<environment>-alerts``
    alert_values: Mapping[str, Resolved] | None = None
    #: Branches whose runs may mail through ``<environment>-alerts`` besides the stack's own: production's
    #: (the default branch, where the scheduled monitor runs and checks every environment)
    alert_branches: tuple[str, ...] = ()
    #: NAME -> value of the token-holding scanners (SNYK_TOKEN, SAFETY_API_KEY), for ``<environment>-scan``
    scan_values: Mapping[str, Resolved] | None = None
    #: The stack whose state holds these resources, when it is not ``config``'s (production declaring another
    #: stack's half): its ``maya-infra:adopt`` block says which running objects are imported.
    declared_by: StackConfig | None = None


def declare_environment_values(
    prefix: str,
    repo: str,
    environment: str,
    values: Mapping[str, Resolved],
    opts: pulumi.ResourceOptions,
    adopt_from: StackConfig | None = None,
) -> None:
    """One GitHub environment's secrets and variables, named ``<prefix>-secret-<NAME>`` /
    ``<prefix>-variable-<NAME>``. Secrets are sealed by the provider; a value changed in GitHub's UI is
    not drift (``remoteUpdatedAt`` ignored); a rename deletes the old one first (names are unique).

    With ``adopt_from``, each one is imported when ``ops adopt`` found it (``maya-infra:adopt.imports``);
    only the stack's deployment environment is adopted, the alert and preview environments are always ours."""

    def options(resource_name: str, extra: pulumi.ResourceOptions) -> pulumi.ResourceOptions:
        merged = pulumi.ResourceOptions.merge(opts, extra)
        return adopted(adopt_from, resource_name, merged) if adopt_from is not None else merged

    for key, item in sorted(values.items()):
        if item.secret:
            secret_name = f"{prefix}-secret-{key}"
            github.ActionsEnvironmentSecret(
                secret_name,
                repository=repo,
                environment=environment,
                secret_name=key,
                value=pulumi.Output.secret(item.value),
                opts=options(
                    secret_name,
                    pulumi.ResourceOptions(delete_before_replace=True, ignore_changes=["remoteUpdatedAt"]),
                ),
            )
        else:
            variable_name = f"{prefix}-variable-{key}"
            github.ActionsEnvironmentVariable(
                variable_name,
                repository=repo,
                environment=environment,
                variable_name=key,
                value=item.value,
                opts=options(variable_name, pulumi.ResourceOptions(delete_before_replace=True)),
            )


class GitHubPipeline(pulumi.ComponentResource):
    environment_names: list[str]
    secret_names: dict[str, list[str]]
    variable_names: dict[str, list[str]]
    protected_branch: str
    required_checks: list[str]
    required_reviewers: list[str]
    workflow_paths: dict[str, list[str]]

    def __init__(self, name: str, args: GitHubPipelineArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("maya:github:Pipeline", name, None, opts)
        cfg = args.config
        gh = cfg.github
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)

        self.secret_names, self.variable_names, self.workflow_paths = {}, {}, {}
        owner = args.declared_by or cfg
        for repo in gh.repositories:
            self._declare_repository(name, repo, args, owner, child)

        self.environment_names = [cfg.environment]
        if args.alert_values:
            self.environment_names.append(cfg.environment + ALERTS_SUFFIX)
        if args.scan_values is not None:
            self.environment_names.append(cfg.environment + SCAN_SUFFIX)
        self.protected_branch = gh.branch
        self.required_checks = list(cfg.required_status_checks)  # + the previews' E2E check on staging
        self.required_reviewers = [f"{r.kind}:{r.name}" for r in gh.reviewers]
        self.register_outputs(
            {
                "environment": cfg.environment,
                "protected_branch": self.protected_branch,
                "required_checks": self.required_checks,
                "required_reviewers": self.required_reviewers,
                "secret_names": self.secret_names,
                "variable_names": self.variable_names,
            }
        )

    def _declare_repository(
        self, name: str, repo: str, args: GitHubPipelineArgs, owner: StackConfig, child: pulumi.ResourceOptions
    ) -> None:
        """Everything the stack owns in one repository: environment, its values, workflow files, branch rules.

        The branch ruleset is declared after the workflow files (``depends_on``): their first commits land
        before the ruleset guards the branch.
        """
        cfg = args.config
        env_child = self._deployment_environment(name, repo, cfg, owner, child)
        values = args.ci_values.get(repo, {})
        declare_environment_values(f"{name}-{repo}", repo, cfg.environment, values, env_child, adopt_from=owner)
        self.secret_names[repo] = sorted(k for k, v in values.items() if v.secret)
        self.variable_names[repo] = sorted(k for k, v in values.items() if not v.secret)

        files: list[github.RepositoryFile] = []
        if cfg.github.commit_workflows:
            workflow_files = args.workflow_files.get(repo, {})
            files = self._commit_workflow_files(name, repo, cfg, owner, workflow_files, child)
            self.workflow_paths[repo] = sorted(workflow_files)

        self._protect_branch(
            name, repo, cfg, owner, pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=files))
        )
        if args.alert_values:
            branches = tuple(sorted({cfg.github.branch, *args.alert_branches}))
            self._alerts_environment(name, repo, cfg, args.alert_values, branches, child)
        if args.scan_values is not None:
            self._scan_environment(name, repo, cfg, args.scan_values, child)

    @staticmethod
    def _deployment_environment(
        name: str, repo: str, cfg: StackConfig, owner: StackConfig, child: pulumi.ResourceOptions
    ) -> pulumi.ResourceOptions:
        """The stack's GitHub environment, deployable from the stack's branch only; returns its children's options.

        Production's environment is the human gate (its reviewers) and holds the deploy secrets, so it is
        ``stateful``; admins may bypass the gate in staging only.
        """
        gh = cfg.github
        users = [r.id for r in gh.reviewers if r.kind == "user"]
        teams = [r.id for r in gh.reviewers if r.kind == "team"]
        environment_name = f"{name}-{repo}-environment"
        environment = github.RepositoryEnvironment(
            environment_name,
            repository=repo,
            environment=cfg.environment,
            reviewers=[github.RepositoryEnvironmentReviewerArgs(users=users, teams=teams)] if gh.reviewers else None,
            prevent_self_review=gh.prevent_self_review,
            can_admins_bypass=not cfg.is_production,
            wait_timer=gh.wait_timer_minutes or None,
            deployment_branch_policy=github.RepositoryEnvironmentDeploymentBranchPolicyArgs(
                protected_branches=False, custom_branch_policies=True
            ),
            # production's environment: its reviewers are the human gate, its secrets live in it
            opts=adopted(owner, environment_name, stateful(cfg, child)),
        )
        env_child = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[environment]))
        policy_name = f"{name}-{repo}-branch-policy"
        github.RepositoryEnvironmentDeploymentPolicy(
            policy_name,
            repository=repo,
            environment=cfg.environment,
            branch_pattern=gh.branch,
            opts=adopted(owner, policy_name, env_child),
        )
        return env_child

    @staticmethod
    def _commit_workflow_files(
        name: str,
        repo: str,
        cfg: StackConfig,
        owner: StackConfig,
        workflow_files: Mapping[str, str],
        child: pulumi.ResourceOptions,
    ) -> list[github.RepositoryFile]:
        """The generated workflow files, committed to the stack's branch (overwriting a hand-written one)."""
        files = []
        for path, content in sorted(workflow_files.items()):
            file_name = f"{name}-{repo}-{path}"
            files.append(
                github.RepositoryFile(
                    file_name,
                    repository=repo,
                    branch=cfg.github.branch,
                    file=path,
                    content=content,
                    commit_message=f"ci: update {path} from maya-infra ({cfg.stack})",
                    commit_author="maya-infra",
                    commit_email="maya-infra@users.noreply.github.com",
                    overwrite_on_create=True,
                    opts=adopted(owner, file_name, child),
                )
            )
        return files

    @staticmethod
    def _alerts_environment(
        name: str,
        repo: str,
        cfg: StackConfig,
        values: Mapping[str, Resolved],
        branches: tuple[str, ...],
        child: pulumi.ResourceOptions,
    ) -> None:
        """``<environment>-alerts``: only the alert mail settings, usable from the stack's branch, no reviewers.

        The jobs that mail (a failed pipeline run, the scheduled monitor) must never wait for an approval,
        so they cannot use production's environment; this one holds nothing that deploys anything.
        """
        environment_name = cfg.environment + ALERTS_SUFFIX
        if repo != cfg.github.backend_repository:  # the monitor (the only reader of the metrics) runs there
            values = {k: v for k, v in values.items() if k not in METRICS_VARIABLES}
        environment = github.RepositoryEnvironment(
            f"{name}-{repo}-alerts-environment",
            repository=repo,
            environment=environment_name,
            prevent_self_review=False,
            can_admins_bypass=False,
            deployment_branch_policy=github.RepositoryEnvironmentDeploymentBranchPolicyArgs(
                protected_branches=False, custom_branch_policies=True
            ),
            opts=stateful(cfg, child),
        )
        env_child = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[environment]))
        for branch in branches:  # the stack's branch keeps its historical resource name
            suffix = "" if branch == cfg.github.branch else f"-{branch}"
            github.RepositoryEnvironmentDeploymentPolicy(
                f"{name}-{repo}-alerts-branch-policy{suffix}",
                repository=repo,
                environment=environment_name,
                branch_pattern=branch,
                opts=env_child,
            )
        declare_environment_values(f"{name}-{repo}-alerts", repo, environment_name, values, env_child)

    @staticmethod
    def _scan_environment(
        name: str, repo: str, cfg: StackConfig, values: Mapping[str, Resolved], child: pulumi.ResourceOptions
    ) -> None:
        """``<environment>-scan``: only the scanners' tokens (Snyk, Safety), usable from the stack's branch.

        The scanners are third-party code; in the deploy job they would run beside the deploy secrets. Their
        job declares this environment instead, which holds nothing that deploys anything (no reviewers: a
        scan needs no approval, and the deploy it guards still waits for production's)."""
        environment_name = cfg.environment + SCAN_SUFFIX
        environment = github.RepositoryEnvironment(
            f"{name}-{repo}-scan-environment",
            repository=repo,
            environment=environment_name,
            prevent_self_review=False,
            can_admins_bypass=False,
            deployment_branch_policy=github.RepositoryEnvironmentDeploymentBranchPolicyArgs(
                protected_branches=False, custom_branch_policies=True
            ),
            opts=stateful(cfg, child),  # production's environments are protected and retained, like -alerts
        )
        env_child = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[environment]))
        github.RepositoryEnvironmentDeploymentPolicy(
            f"{name}-{repo}-scan-branch-policy",
            repository=repo,
            environment=environment_name,
            branch_pattern=cfg.github.branch,
            opts=env_child,
        )
        declare_environment_values(f"{name}-{repo}-scan", repo, environment_name, values, env_child)

    @staticmethod
    def _protect_branch(
        name: str, repo: str, cfg: StackConfig, owner: StackConfig, opts: pulumi.ResourceOptions
    ) -> None:
        """Require the CI checks (and reviews) on the stack's branch; the bot may bypass to commit workflows.

        Every required check names GitHub Actions (``integration_id``): only a workflow run can satisfy it, not a
        commit status of the same name that anyone with write access can post. (The config refuses the classic
        branch protection, whose provider resource cannot name the app.)
        """
        gh = cfg.github
        ruleset_name = f"{name}-{repo}-ruleset"
        github.RepositoryRuleset(
            ruleset_name,
            repository=repo,
            name=f"maya-infra {cfg.stack}: {gh.branch}",
            target="branch",
            enforcement="active",
            conditions=github.RepositoryRulesetConditionsArgs(
                ref_name=github.RepositoryRulesetConditionsRefNameArgs(
                    includes=[f"refs/heads/{gh.branch}"], excludes=[]
                )
            ),
            rules=github.RepositoryRulesetRulesArgs(
                deletion=True,
                non_fast_forward=True,
                required_status_checks=github.RepositoryRulesetRulesRequiredStatusChecksArgs(
                    required_checks=[
                        github.RepositoryRulesetRulesRequiredStatusChecksRequiredCheckArgs(
                            context=check, integration_id=GITHUB_ACTIONS_APP_ID
                        )
                        for check in cfg.required_status_checks
                    ],
                    strict_required_status_checks_policy=True,
                ),
                pull_request=github.RepositoryRulesetRulesPullRequestArgs(
                    required_approving_review_count=gh.required_approvals,
                    dismiss_stale_reviews_on_push=True,
                    require_last_push_approval=cfg.is_production,
                    required_review_thread_resolution=True,
                ),
            ),
            bypass_actors=[
                github.RepositoryRulesetBypassActorArgs(
                    actor_type=a.actor_type, actor_id=a.actor_id, bypass_mode=a.bypass_mode
                )
                for a in gh.bypass_actors
            ]
            or None,
            opts=adopted(owner, ruleset_name, opts),
        )
