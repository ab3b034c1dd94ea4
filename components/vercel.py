"""The Next.js frontend on Vercel, for one stack: its project, domains and build variables.

Each stack owns its own Vercel project. Production deployments of both projects come from the CI deploy
job (`vercel deploy --prebuilt`), so Git-triggered builds are limited by an ignore command: the production
project never builds from Git, the staging project builds previews of feature branches only. Variables go
to the ``production`` target only, plus ``preview`` on staging, so production values never reach a preview.

Staging's previews are behind Vercel Authentication, so the previews' Playwright job (docs/previews.md)
gets through with a "Protection Bypass for Automation" declared here, on that project only. Vercel generates
its secret and we read it back (a secret Output, headed only for the GitHub ``preview`` environment): it is
then in exactly Vercel's format, stable across runs without a random provider or a config secret to keep,
and rotating it is ``pulumi up --replace`` of this one resource, which re-seals the GitHub secret too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumiverse_vercel as vercel

from components.safety import adopted, stateful
from config import StackConfig
from config.envvars import Resolved


@dataclass(frozen=True)
class VercelFrontendArgs:
    config: StackConfig
    variables: Mapping[str, Resolved]
    provider: vercel.Provider


def ignore_command(branch: str, previews: bool) -> str:
    """Vercel's "Ignored Build Step": exit 0 skips the Git build, exit 1 builds."""
    skip_others = "exit 1" if previews else "exit 0"
    return f'if [ "$VERCEL_GIT_COMMIT_REF" = "{branch}" ]; then exit 0; fi; {skip_others}'


def _generated(secret: str | None) -> str:
    """Vercel's answer always holds the secret it generated; an empty one would seal an empty GitHub secret."""
    if not secret:
        raise ValueError(
            "Vercel returned no automation bypass secret for the frontend project; run `pulumi refresh` and "
            "`pulumi up` again (Project Settings → Deployment Protection → Protection Bypass for Automation)"
        )
    return secret


class VercelFrontend(pulumi.ComponentResource):
    project_id: pulumi.Output[str]
    team_id: pulumi.Output[str]
    url: pulumi.Output[str]
    domains: list[str]
    variable_names: list[str]
    #: the automation bypass secret (a secret Output), or None when the stack runs no E2E against previews
    automation_bypass: pulumi.Output[str] | None

    def __init__(self, name: str, args: VercelFrontendArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("maya:vercel:Frontend", name, None, opts)
        cfg = args.config
        frontend = cfg.frontend
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)

        # The steps keep the resources' names ("<name>-project", ...): they are the Pulumi names in every state.
        project = self._project(name, cfg, child)
        self._domains(name, cfg, project, child)
        self._variables(name, args, project, child)
        self.automation_bypass = self._automation_bypass(name, cfg, project, child)

        self.project_id = project.id
        self.team_id = project.team_id
        self.url = pulumi.Output.from_input(frontend.url)
        self.domains = [*frontend.domains, *frontend.redirect_domains]
        self.variable_names = sorted(args.variables)
        self.register_outputs({"project_id": self.project_id, "url": self.url, "domains": self.domains})

    @staticmethod
    def _project(name: str, cfg: StackConfig, child: pulumi.ResourceOptions) -> vercel.Project:
        """The Vercel project, linked to the frontend repository; protected and retained in production."""
        frontend, github = cfg.frontend, cfg.github
        project_name = f"{name}-project"
        return vercel.Project(
            project_name,
            name=frontend.project_name,
            framework=frontend.framework,
            root_directory=frontend.root_directory if github.monorepo else None,
            node_version=frontend.node_version,
            team_id=frontend.team_id,
            git_repository=vercel.ProjectGitRepositoryArgs(
                type="github", repo=f"{github.owner}/{github.frontend_repository}", production_branch=github.branch
            ),
            ignore_command=ignore_command(github.branch, frontend.preview_deployments),
            preview_deployments_disabled=not frontend.preview_deployments,
            vercel_authentication=vercel.ProjectVercelAuthenticationArgs(
                deployment_type="only_preview_deployments" if frontend.preview_deployments else "none"
            ),
            opts=adopted(cfg, project_name, stateful(cfg, child)),
        )

    @staticmethod
    def _domains(name: str, cfg: StackConfig, project: vercel.Project, child: pulumi.ResourceOptions) -> None:
        """The production domains (a name, protected in production) and the ones that redirect to the first."""
        frontend = cfg.frontend
        for domain in frontend.domains:
            domain_name = f"{name}-domain-{domain}"
            vercel.ProjectDomain(
                domain_name,
                project_id=project.id,
                domain=domain,
                team_id=frontend.team_id,
                opts=adopted(cfg, domain_name, stateful(cfg, child)),
            )
        for domain in frontend.redirect_domains:
            redirect_name = f"{name}-redirect-{domain}"
            vercel.ProjectDomain(
                redirect_name,
                project_id=project.id,
                domain=domain,
                redirect=frontend.primary_domain,
                redirect_status_code=308,
                team_id=frontend.team_id,
                opts=adopted(cfg, redirect_name, child),
            )

    @staticmethod
    def _variables(name: str, args: VercelFrontendArgs, project: vercel.Project, child: pulumi.ResourceOptions) -> None:
        """The frontend's variables (sensitive ones as Pulumi secrets), for production and, if on, previews."""
        cfg = args.config
        frontend = cfg.frontend
        targets = ["production", "preview"] if frontend.preview_deployments else ["production"]
        for key, variable in args.variables.items():
            value = pulumi.Output.secret(variable.value) if variable.secret else variable.value
            variable_name = f"{name}-env-{key}"
            vercel.ProjectEnvironmentVariable(
                variable_name,
                project_id=project.id,
                team_id=frontend.team_id,
                key=key,
                value=value,
                targets=targets,
                sensitive=variable.secret,
                # key+target is unique in Vercel: a replacement must delete the old variable first
                opts=adopted(
                    cfg,
                    variable_name,
                    pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(delete_before_replace=True)),
                ),
            )

    @staticmethod
    def _automation_bypass(
        name: str, cfg: StackConfig, project: vercel.Project, child: pulumi.ResourceOptions
    ) -> pulumi.Output[str] | None:
        """The previews' E2E bypass (a secret Vercel generates), or None: never production, which has no previews."""
        if not cfg.preview_e2e:
            return None
        bypass = vercel.ProjectProtectionBypass(
            f"{name}-automation-bypass",
            project_id=project.id,
            team_id=cfg.frontend.team_id,
            note="maya-infra: Playwright E2E of pull-request previews",
            opts=child,
        )
        return pulumi.Output.secret(bypass.secret.apply(_generated))
