"""The composition root: wires one stack together — providers, the three platform components, the
cross-platform values, and the stack's monitoring (Checkly, or the scheduled workflow) and database
backups (docs/monitoring.md).

The order follows the data: the backend's public URL feeds the frontend build; the Vercel project ids and
the Railway project token feed the GitHub deploy jobs. What one component hands the others is the typed
:class:`config.envvars.Wiring`; which variable goes where is decided by the table in :mod:`config.envvars`,
not here. Each platform is one named step below; ``build`` only runs them in the order of the data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_github as github
import pulumiverse_vercel as vercel

from components.frontend_alerts import frontend_error_alert
from components.github import GitHubPipeline, GitHubPipelineArgs
from components.previews import PreviewEnvironment, PreviewEnvironmentArgs
from components.railway.backend import RailwayBackend, RailwayBackendArgs
from components.safety import DestroyGuard
from components.vercel import VercelFrontend, VercelFrontendArgs
from config import StackConfig, envvars
from config.alerts import alert_rules
from config.envvars import Resolved, Target, Wiring
from config.monitoring import MONITORING_CHECKLY
from workflows import render_app_workflows
from workflows.pipeline import all_configs, all_routes


@dataclass
class _Stack:
    """What the steps build up: the wiring between components and the stack outputs."""

    cfg: StackConfig
    wiring: Wiring = field(default_factory=Wiring)
    exported: dict[str, Any] = field(default_factory=dict)
    secret_names: dict[str, Any] = field(default_factory=dict)
    #: every component, for production's destroy guard
    declared: list[pulumi.Resource] = field(default_factory=list)


def _secret_value(cfg: StackConfig, key: str) -> pulumi.Output[str]:
    secret = cfg.secret(key)
    if secret is None:
        raise KeyError(f"maya-infra:{key} is required here")
    return pulumi.Output.secret(secret.get_secret_value())


def build(cfg: StackConfig) -> dict[str, Any]:
    """Declare everything of the stack and return the stack outputs."""
    stack = _Stack(
        cfg, exported={"stack": cfg.stack, "platforms": sorted(cfg.platforms), "frontend_url": cfg.frontend.url}
    )
    if "railway" in cfg.platforms:
        _railway(stack)
    else:
        _external_backend(stack)
    if "vercel" in cfg.platforms:
        _vercel(stack)
    if "github" in cfg.platforms:
        _github(stack)
    _monitoring(stack)
    stack.exported["secret_names"] = stack.secret_names
    if cfg.is_production:  # `pulumi destroy --stack production` is refused before anything is deleted
        DestroyGuard(cfg.stack, stack.declared)
    return stack.exported


def _railway(stack: _Stack) -> None:
    """The backend, its database, domains, deploy trigger and CI token on Railway."""
    cfg = stack.cfg
    backend = RailwayBackend(
        "backend",
        RailwayBackendArgs(
            config=cfg,
            wiring=stack.wiring,  # it adds database_url and resolves the backend's variables from the table
            external_database_url=_secret_value(cfg, "databaseUrl") if cfg.backend.database == "external" else None,
        ),
    )
    stack.declared.append(backend)
    wiring = stack.wiring
    wiring.backend_url = backend.url
    wiring.railway_project_token = backend.project_token
    wiring.railway_project_id = backend.project_id
    wiring.railway_environment_id = backend.environment_id
    wiring.railway_service_id = backend.service_id
    wiring.railway_volume_instance_id = backend.volume_instance_id  # the production deploy's pre-deploy backup
    stack.exported.update(
        backend_url=backend.url,
        backend_service_domain=backend.service_domain,
        railway_project_id=backend.project_id,
        railway_environment_id=backend.environment_id,
        railway_service_id=backend.service_id,
        railway_deployment_status=backend.deployment_status,
        backup_schedule=backend.backup_kinds,  # Railway's schedule of the PostgreSQL volume
    )
    if backend.custom_domain_dns_records is not None:
        stack.exported["backend_custom_domain_dns_records"] = backend.custom_domain_dns_records
    if backend.volume_instance_id is not None:
        stack.exported["railway_volume_instance_id"] = backend.volume_instance_id  # what `ops backup` backs up
    stack.secret_names["railway"] = sorted(v.name for v in envvars.for_target(cfg, Target.BACKEND) if v.secret)
    if backend.metrics_token is not None:
        stack.wiring.railway_metrics_token = backend.metrics_token


def _external_backend(stack: _Stack) -> None:
    """Railway left out of the stack: the backend is reached at its custom domain, and nothing is backed up."""
    stack.wiring.backend_url = f"https://{stack.cfg.backend.custom_domain}"
    stack.exported.update(backend_url=stack.wiring.backend_url, backup_schedule=[])


def _vercel(stack: _Stack) -> None:
    """The frontend project on Vercel, built with the backend's URL."""
    cfg = stack.cfg
    provider = vercel.Provider("vercel", api_token=_secret_value(cfg, "vercelToken"), team=cfg.frontend.team_id)
    variables = envvars.resolved_for(cfg, Target.FRONTEND_BUILD, stack.wiring)
    frontend = VercelFrontend("frontend", VercelFrontendArgs(cfg, variables, provider))
    stack.declared.append(frontend)
    stack.wiring.vercel_project_id = frontend.project_id
    stack.wiring.vercel_team_id = frontend.team_id
    stack.wiring.vercel_automation_bypass = frontend.automation_bypass  # the previews' E2E (docs/previews.md)
    alert = frontend_error_alert(cfg, frontend.project_id, provider, parent=frontend)
    if alert is not None:
        stack.declared.append(alert)
    stack.exported.update(vercel_project_id=frontend.project_id, frontend_domains=frontend.domains)
    stack.secret_names["vercel"] = sorted(k for k, v in variables.items() if v.secret)


def _github(stack: _Stack) -> None:
    """Environments, their secrets and variables, the branch ruleset and the generated workflow files."""
    cfg, gh = stack.cfg, stack.cfg.github
    provider = github.Provider("github", owner=gh.owner, token=_secret_value(cfg, "githubToken"), base_url=gh.base_url)
    ci_values: dict[str, dict[str, Resolved]] = {repo: {} for repo in gh.repositories}
    for target, repo in ((Target.CI_FRONTEND, gh.frontend_repository), (Target.CI_BACKEND, gh.backend_repository)):
        # variables of platforms left out are not listed
        ci_values[repo].update(envvars.resolved_for(cfg, target, stack.wiring))
    # the alert mail of the pipelines and the monitor (<environment>-alerts)
    alert_values = envvars.resolved_for(cfg, Target.CI_ALERTS, stack.wiring) if cfg.monitoring is not None else {}
    # the scanners' tokens, in a job that holds no deploy secret (<environment>-scan)
    scan_values = envvars.resolved_for(cfg, Target.CI_SCAN, stack.wiring)
    pipeline = GitHubPipeline(
        "pipeline",
        GitHubPipelineArgs(
            config=cfg,
            ci_values=ci_values,
            workflow_files=render_app_workflows(cfg),
            provider=provider,
            alert_values=alert_values,
            # the scheduled monitor runs on the default branch, production's: it may mail for every stack
            alert_branches=tuple(r.branch for r in all_routes(all_configs(cfg)) if r.stack == "production"),
            scan_values=scan_values,
        ),
    )
    stack.declared.append(pipeline)
    stack.exported.update(
        github_environment=cfg.environment,
        protected_branch=pipeline.protected_branch,
        required_checks=pipeline.required_checks,
        required_reviewers=pipeline.required_reviewers,
        workflow_files=pipeline.workflow_paths,
    )
    stack.secret_names["github"] = pipeline.secret_names
    if cfg.previews_active:  # the `preview` environment of the previews workflow (docs/previews.md)
        preview_values = envvars.resolved_for(cfg, Target.CI_PREVIEW, stack.wiring)
        preview = PreviewEnvironment("previews", PreviewEnvironmentArgs(cfg, preview_values, provider))
        stack.declared.append(preview)
        stack.secret_names["github_preview"] = preview.secret_names
    stack.exported["previews"] = (
        {"max_environments": cfg.previews.max_environments, "sleep_when_idle": cfg.previews.sleep_when_idle}
        if cfg.previews_active
        else "off"
    )


def _monitoring(stack: _Stack) -> None:
    """Checkly checks and alert channels when the stack holds the account; what production lacks, warned."""
    cfg = stack.cfg
    stack.exported["monitoring"] = cfg.monitoring_mode
    # every active alert rule: trigger, channel, who is mailed, configured latency (config/alerts.py)
    stack.exported["alert_rules"] = [rule.as_output() for rule in alert_rules(cfg)]
    if cfg.uses_checkly:
        backend_url = stack.wiring.backend_url or f"https://{cfg.backend.custom_domain}"
        # Imported here, not at the top: the Checkly SDK takes ~0.2 s to import, paid only by stacks it watches.
        from components.monitoring import CheckMonitoring, CheckMonitoringArgs, ErrorRateSource, checkly_provider

        wiring = stack.wiring
        error_rate = None
        if cfg.error_rate_poller == MONITORING_CHECKLY and wiring.railway_metrics_token is not None:
            assert wiring.railway_service_id is not None and wiring.railway_environment_id is not None
            error_rate = ErrorRateSource(
                wiring.railway_metrics_token, wiring.railway_service_id, wiring.railway_environment_id
            )
        monitoring = CheckMonitoring(
            "monitoring", CheckMonitoringArgs(cfg, backend_url, checkly_provider(cfg), error_rate)
        )
        stack.declared.append(monitoring)
        stack.exported["monitoring_checks"] = monitoring.summary
        alerts = cfg.monitoring
        held = {
            "SLACK_WEBHOOK_URL": alerts and alerts.slack.enabled,
            "PAGERDUTY_SERVICE_KEY": alerts and alerts.pagerduty.enabled,
            "RAILWAY_METRICS_TOKEN": error_rate is not None,  # the check group's secret variable
        }
        stack.secret_names["checkly"] = [name for name, enabled in held.items() if enabled]
    for gap in cfg.safety_gaps():  # only from platforms left out on purpose; the config refuses the rest
        pulumi.log.warn(f"{gap}; see docs/monitoring.md")
