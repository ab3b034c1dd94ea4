"""What the backend declares on Railway, as data: one list the component builds and ``ops adopt`` reads.

:func:`backend_plan` lists every Railway resource of a stack's backend in order — its kind, its Pulumi name
suffix, its inputs (values, or :class:`Ref` to an output of an earlier entry), whether it is stateful, and
which stack setting names it. :class:`components.railway.backend.RailwayBackend` turns the list into
resources (a ``Ref`` becomes the other resource's Output); ``python -m ops adopt`` walks the same list
against what runs (a ``Ref`` becomes the found object's value) and asks each kind's provider whether it
matches — so the adoption table and the next ``pulumi preview`` compare the same declaration.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from components.error_rate import token_name
from components.railway import resources as rw
from components.railway.providers.alerts import DEPLOYMENT_FAILURE_EVENTS, email_channel
from components.railway.providers.project import marker
from config import StackConfig, envvars
from config.envvars import Target
from workflows.smoke import health_expectations

#: The value this component produces for the table's variables (``envvars.Output`` sources), by Wiring field.
DATABASE_URL_OUTPUT = "database_url"


@dataclass(frozen=True)
class Ref:
    """The output ``attr`` (``id``: the object's id) of the planned resource ``suffix``."""

    suffix: str
    attr: str = "id"


@dataclass(frozen=True)
class Join:
    """Outputs of planned resources joined into one string (the deployment's revision: what it deploys)."""

    parts: tuple[Ref | str, ...]  # a str is taken as it is (e.g. the health check's path)
    sep: str = "|"


@dataclass(frozen=True)
class Planned:
    """One Railway resource of the backend, named ``<component>-<suffix>`` in every state."""

    suffix: str
    kind: type[rw.RailwayResource]
    inputs: Mapping[str, Any]
    #: Stateful or identity object: protected and retained in production (components/safety.py).
    kept: bool = False
    #: input key -> the stack setting that names the object; ``ops adopt --yes`` records the running name there.
    names: Mapping[str, str] = field(default_factory=dict)
    depends_on: tuple[str, ...] = ()


def project_description(cfg: StackConfig) -> str:
    """The Railway project's description; an adopted project is written with the adopted marker instead."""
    return f"MAYA/OMEGA backend ({cfg.stack}), {marker(cfg.stack)}"


def root_directory(cfg: StackConfig) -> str | None:
    """The backend's folder in a monorepo (settings and trigger build from it), None for its own repository."""
    return cfg.github.backend_path if cfg.github.monorepo else None


def source_repository(cfg: StackConfig) -> str:
    return f"{cfg.github.owner}/{cfg.github.backend_repository}"


def backend_values(
    cfg: StackConfig, value_of: Callable[[envvars.EnvVar], Any], produced: Mapping[str, Any]
) -> dict[str, Any]:
    """Every backend variable of the table (``config.envvars``), NAME -> value: what this component produces
    itself (``produced``, by Wiring field: the database URL) as its reference, the rest as ``value_of`` says
    (the program: Outputs; ``ops adopt``: plain values)."""
    return {
        v.name: produced[v.source.name]
        if isinstance(v.source, envvars.Output) and v.source.name in produced
        else value_of(v)
        for v in envvars.for_target(cfg, Target.BACKEND)
    }


def variable_sets(cfg: StackConfig, values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The service's variables and the environment's shared ones, from every backend value by name.

    A variable the table marks ``shared`` lives once in the environment (``${{shared.NAME}}`` in the
    service); the others live in the service.
    """
    shared_names = {v.name for v in envvars.for_target(cfg, Target.BACKEND) if v.shared}
    service = {k: ("${{shared." + k + "}}" if k in shared_names else v) for k, v in values.items()}
    shared = {k: v for k, v in values.items() if k in shared_names}
    return service, shared


def backend_plan(
    cfg: StackConfig,
    value_of: Callable[[envvars.EnvVar], Any],
    *,
    external_database_url: Any = None,
    poll_seconds: float | None = None,
) -> list[Planned]:
    """Every Railway resource of the stack's backend, in the order they are declared (see the module doc).

    ``value_of``: a backend variable's value (see :func:`backend_values`).
    """
    backend, github = cfg.backend, cfg.github
    scope = {"project_id": Ref("project"), "environment_id": Ref("environment"), "service_id": Ref("service")}
    plan = [
        Planned(
            "project",
            rw.Project,
            {
                "name": backend.project_name,
                "description": project_description(cfg),
                "workspace_id": cfg.railway.workspace_id,
                "default_environment_name": cfg.environment,
            },
            kept=True,
            names={"name": "backend.projectName"},
        ),
        Planned("environment", rw.Environment, {"project_id": Ref("project"), "name": cfg.environment}, kept=True),
    ]
    if backend.database == "railway":
        plan.append(
            Planned(
                "postgres",
                rw.Postgres,
                {
                    "project_id": Ref("project"),
                    "environment_id": Ref("environment"),
                    "service_name": backend.database_service_name,
                    "region": backend.postgres_region,
                    "workflow_poll_seconds": poll_seconds or backend.deploy_poll_seconds,
                },
                kept=True,
                names={"service_name": "backend.databaseServiceName"},
            )
        )
        database_url: Any = Ref("postgres", "database_url_reference")
    else:
        database_url = external_database_url
    plan += [
        Planned(
            "service",
            rw.Service,
            {"project_id": Ref("project"), "name": backend.service_name},
            kept=True,
            names={"name": "backend.serviceName"},
        ),
        Planned(
            "settings",
            rw.ServiceInstance,
            {
                "service_id": Ref("service"),
                "environment_id": Ref("environment"),
                "source_repo": source_repository(cfg),
                "source_image": None,
                "root_directory": root_directory(cfg),
                "build_command": backend.build_command,
                "start_command": backend.start_command,
                "pre_deploy_command": backend.pre_deploy_command,
                "healthcheck_path": backend.healthcheck_path,
                "healthcheck_timeout": backend.healthcheck_timeout_seconds,
                "num_replicas": backend.replicas,
                "region": backend.region,
                "restart_policy_type": backend.restart_policy,
                "restart_policy_max_retries": backend.restart_policy_max_retries,
                "cron_schedule": None,
            },
        ),
    ]
    values = backend_values(cfg, value_of, {DATABASE_URL_OUTPUT: database_url})
    service_values, shared_values = variable_sets(cfg, values)
    plan.append(Planned("variables", rw.Variables, {**scope, "variables": service_values, "keep_undeclared": None}))
    revision = [Ref("settings", "revision"), Ref("variables", "revision")]
    if shared_values:
        plan.append(
            Planned(
                "shared-variables",
                rw.Variables,
                {**scope, "service_id": None, "variables": shared_values, "keep_undeclared": None},
            )
        )
        revision.append(Ref("shared-variables", "revision"))
    plan.append(Planned("domain", rw.ServiceDomain, {**scope, "target_port": backend.port}))
    if backend.custom_domain:
        plan.append(
            Planned(
                "custom-domain",
                rw.CustomDomain,
                {**scope, "domain": backend.custom_domain, "target_port": backend.port},
                kept=True,
            )
        )
    plan += [
        Planned(
            "trigger",
            rw.DeploymentTrigger,
            {
                **scope,
                "provider": "github",
                "repository": source_repository(cfg),
                "branch": github.branch,
                "check_suites": backend.wait_for_ci,
                "root_directory": root_directory(cfg),
                "auto_deploy": False,  # CI's deploy job is the one deploy path: one deploy per push
            },
        ),
        Planned(
            "ci-token",
            rw.ProjectToken,
            {
                "project_id": Ref("project"),
                "environment_id": Ref("environment"),
                "name": f"maya-infra-{cfg.stack}-ci-deploy",
            },
        ),
    ]
    if cfg.error_rate_poller is not None:
        # the 5xx-rate alert's own token: rotated or revoked apart from CI's (docs/monitoring.md)
        plan.append(
            Planned(
                "metrics-token",
                rw.ProjectToken,
                {"project_id": Ref("project"), "environment_id": Ref("environment"), "name": token_name(cfg)},
            )
        )
    plan.append(
        Planned(
            "deployment",
            rw.Deployment,
            {
                "project_id": Ref("project"),
                "service_id": Ref("service"),
                "environment_id": Ref("environment"),
                "revision": Join(tuple(revision)),
                "timeout_seconds": backend.deploy_timeout_seconds,
                "poll_seconds": poll_seconds or backend.deploy_poll_seconds,
                # verified like CI's deploy: it went live through the migrations
                "pre_deploy": backend.pre_deploy_command,
                # and health-checked like CI's deploy: the status and the body (monitoring.healthBody)
                "health_url": f"https://{backend.custom_domain}{backend.healthcheck_path}"
                if backend.custom_domain
                else Join((Ref("domain", "url"), backend.healthcheck_path), sep=""),
                "health_expect": health_expectations(cfg),
            },
            depends_on=(*tuple(r.suffix for r in revision), "domain"),
        )
    )
    if backend.database == "railway" and cfg.backup_kinds:
        plan.append(
            Planned(
                "backups",
                rw.BackupSchedule,
                {"volume_instance_id": Ref("postgres", "volume_instance_id"), "kinds": list(cfg.backup_kinds)},
            )
        )
    if cfg.monitoring is not None:
        plan.append(
            Planned(
                "deploy-alert",
                rw.NotificationRule,
                {
                    "project_id": Ref("project"),
                    "workspace_id": cfg.railway.workspace_id,
                    "event_types": sorted(DEPLOYMENT_FAILURE_EVENTS),
                    "channel_configs": [email_channel(a) for a in sorted(cfg.monitoring.alert_emails)],
                    "severities": None,
                    "ephemeral_environments": False,
                },
            )
        )
    # Railway's own PR environments stay off in every stack: previews come from the workflow (docs/previews.md)
    plan.append(
        Planned(
            "pr-environments",
            rw.PrEnvironmentSettings,
            {
                "project_id": Ref("project"),
                "pr_deploys": False,
                "bot_pr_environments": False,
                "focused_pr_environments": False,
            },
        )
    )
    return plan
