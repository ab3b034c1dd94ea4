"""The composition root: wires one stack together — providers, the three platform components, the
cross-platform values, and the stack's monitoring (Checkly, or the scheduled workflow) and database
backups (docs/monitoring.md).

The order follows the data: the backend's public URL feeds the frontend build; the Vercel project ids and
the Railway project token feed the GitHub deploy jobs. Which variable goes where is decided by the table
in :mod:`config.envvars`, not here.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_github as github
import pulumiverse_vercel as vercel

from components.github import CiValue, GitHubPipeline, GitHubPipelineArgs
from components.monitoring import CheckMonitoring, CheckMonitoringArgs, checkly_provider
from components.railway.backend import RailwayBackend, RailwayBackendArgs
from components.safety import DestroyGuard
from components.vercel import FrontendVariable, VercelFrontend, VercelFrontendArgs
from config import StackConfig, envvars
from config.envvars import Target
from workflows import render_app_workflows


def _secret_value(cfg: StackConfig, key: str) -> pulumi.Output[str]:
    secret = cfg.secret(key)
    if secret is None:
        raise KeyError(f"maya-infra:{key} is required here")
    return pulumi.Output.secret(secret.get_secret_value())


def build(cfg: StackConfig) -> dict[str, Any]:
    """Declare everything of the stack and return the stack outputs."""
    outputs: dict[str, pulumi.Input[str]] = {}
    exported: dict[str, Any] = {
        "stack": cfg.stack,
        "platforms": sorted(cfg.platforms),
        "frontend_url": cfg.frontend.url,
    }
    secret_names: dict[str, Any] = {}
    declared: list[pulumi.Resource] = []  # every component, for production's destroy guard

    if "railway" in cfg.platforms:
        backend_vars = {
            v.name: envvars.resolve(v, cfg, outputs)
            for v in envvars.for_target(cfg, Target.BACKEND)
            if v.source != envvars.Output("database_url")  # the backend component provides it
        }
        backend = RailwayBackend(
            "backend",
            RailwayBackendArgs(
                config=cfg,
                variables=backend_vars,
                external_database_url=_secret_value(cfg, "databaseUrl") if cfg.backend.database == "external" else None,
            ),
        )
        declared.append(backend)
        outputs.update(
            backend_url=backend.url,
            database_url=backend.database_url,
            railway_project_token=backend.project_token,
            railway_project_id=backend.project_id,
            railway_environment_id=backend.environment_id,
            railway_service_id=backend.service_id,
        )
        exported.update(
            backend_url=backend.url,
            backend_service_domain=backend.service_domain,
            railway_project_id=backend.project_id,
            railway_environment_id=backend.environment_id,
            railway_service_id=backend.service_id,
            railway_deployment_status=backend.deployment_status,
        )
        if backend.custom_domain_dns_records is not None:
            exported["backend_custom_domain_dns_records"] = backend.custom_domain_dns_records
        secret_names["railway"] = sorted(v.name for v in envvars.for_target(cfg, Target.BACKEND) if v.secret)
        exported["backup_schedule"] = backend.backup_kinds  # Railway's schedule of the PostgreSQL volume
        if backend.volume_instance_id is not None:
            exported["railway_volume_instance_id"] = backend.volume_instance_id  # what `ops backup` backs up
    else:
        outputs["backend_url"] = f"https://{cfg.backend.custom_domain}"
        exported["backend_url"] = outputs["backend_url"]
        exported["backup_schedule"] = []

    if "vercel" in cfg.platforms:
        vercel_provider = vercel.Provider(
            "vercel", api_token=_secret_value(cfg, "vercelToken"), team=cfg.frontend.team_id
        )
        frontend_vars = {
            v.name: FrontendVariable(envvars.resolve(v, cfg, outputs), v.secret)
            for v in envvars.for_target(cfg, Target.FRONTEND_BUILD)
        }
        frontend = VercelFrontend("frontend", VercelFrontendArgs(cfg, frontend_vars, vercel_provider))
        declared.append(frontend)
        outputs.update(vercel_project_id=frontend.project_id, vercel_team_id=frontend.team_id)
        exported.update(vercel_project_id=frontend.project_id, frontend_domains=frontend.domains)
        secret_names["vercel"] = sorted(k for k, v in frontend_vars.items() if v.sensitive)

    if "github" in cfg.platforms:
        gh = cfg.github
        github_provider = github.Provider(
            "github", owner=gh.owner, token=_secret_value(cfg, "githubToken"), base_url=gh.base_url
        )
        ci_values: dict[str, dict[str, CiValue]] = {repo: {} for repo in gh.repositories}
        for target, repo in ((Target.CI_FRONTEND, gh.frontend_repository), (Target.CI_BACKEND, gh.backend_repository)):
            for v in envvars.for_target(cfg, target):  # variables of platforms left out are not listed
                ci_values[repo][v.name] = CiValue(envvars.resolve(v, cfg, outputs), v.secret)
        pipeline = GitHubPipeline(
            "pipeline",
            GitHubPipelineArgs(
                config=cfg, ci_values=ci_values, workflow_files=render_app_workflows(cfg), provider=github_provider
            ),
        )
        declared.append(pipeline)
        exported.update(
            github_environment=cfg.environment,
            protected_branch=pipeline.protected_branch,
            required_checks=pipeline.required_checks,
            required_reviewers=pipeline.required_reviewers,
            workflow_files=pipeline.workflow_paths,
        )
        secret_names["github"] = pipeline.secret_names

    # ---- monitoring and backups (docs/monitoring.md) -------------------------------------------------
    exported["monitoring"] = cfg.monitoring_mode
    if cfg.uses_checkly:
        monitoring = CheckMonitoring(
            "monitoring", CheckMonitoringArgs(cfg, outputs["backend_url"], checkly_provider(cfg))
        )
        declared.append(monitoring)
        exported["monitoring_checks"] = monitoring.summary
        alerts = cfg.monitoring
        held = {
            "SLACK_WEBHOOK_URL": alerts and alerts.slack.enabled,
            "PAGERDUTY_SERVICE_KEY": alerts and alerts.pagerduty.enabled,
        }
        secret_names["checkly"] = [name for name, enabled in held.items() if enabled]
    for gap in cfg.safety_gaps():  # only from platforms left out on purpose; the config refuses the rest
        pulumi.log.warn(f"{gap}; see docs/monitoring.md")

    exported["secret_names"] = secret_names
    if cfg.is_production:  # `pulumi destroy --stack production` is refused before anything is deleted
        DestroyGuard(cfg.stack, declared)
    return exported
