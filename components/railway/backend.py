"""The FastAPI backend on Railway, for one stack.

By default one Railway project per stack (``backend.projectName``) whose environment is named after the
stack, so staging and production never share a project, an environment, a domain or a token.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi

from components.railway import resources as rw
from components.railway.providers.alerts import DEPLOYMENT_FAILURE_EVENTS, email_channel
from components.railway.providers.project import marker
from components.safety import stateful
from config import StackConfig


def project_description(cfg: StackConfig) -> str:
    """The Railway project's description (``ops adopt`` compares the running one with it)."""
    return f"MAYA/OMEGA backend ({cfg.stack}), {marker(cfg.stack)}"


@dataclass(frozen=True)
class RailwayBackendArgs:
    config: StackConfig
    #: Backend variables, NAME -> value (secret ones as secret Outputs), except DATABASE_URL,
    #: which this component adds from the database it declares (or the external URL it is given).
    variables: Mapping[str, pulumi.Input[str]]
    #: The external database URL when ``backend.database`` is ``external`` (a secret Output).
    external_database_url: pulumi.Input[str] | None = None
    #: Seconds between deployment polls (tests and the local rehearsal use a short one).
    poll_seconds: float | None = None


class RailwayBackend(pulumi.ComponentResource):
    """Project, environment, PostgreSQL, service, its settings and variables, domains, trigger, CI token."""

    url: pulumi.Output[str]
    project_id: pulumi.Output[str]
    environment_id: pulumi.Output[str]
    service_id: pulumi.Output[str]
    project_token: pulumi.Output[str]
    database_url: pulumi.Output[str]
    service_domain: pulumi.Output[str]
    custom_domain_dns_records: pulumi.Output[list[dict[str, str]]] | None
    deployment_status: pulumi.Output[str]
    variable_names: pulumi.Output[list[str]]
    #: The PostgreSQL volume instance (None with an external database) and its backup schedule's kinds.
    volume_instance_id: pulumi.Output[str] | None
    backup_kinds: pulumi.Output[list[str]]
    #: Railway's rule mailing a failed or crashed deployment, or None without maya-infra:monitoring.
    deployment_alert: rw.NotificationRule | None

    def __init__(self, name: str, args: RailwayBackendArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("maya:railway:Backend", name, None, opts)
        cfg = args.config
        backend, github = cfg.backend, cfg.github
        child = pulumi.ResourceOptions(parent=self)
        kept = stateful(cfg, child)  # protected and retained in production (components/safety.py)

        project = rw.Project(
            f"{name}-project",
            name=backend.project_name,
            description=project_description(cfg),
            workspace_id=cfg.railway.workspace_id,
            default_environment_name=cfg.environment,
            opts=kept,
        )
        environment = rw.Environment(f"{name}-environment", project_id=project.id, name=cfg.environment, opts=kept)

        if backend.database == "railway":
            database = rw.Postgres(
                f"{name}-postgres",
                project_id=project.id,
                environment_id=environment.id,
                region=backend.postgres_region,
                workflow_poll_seconds=args.poll_seconds or backend.deploy_poll_seconds,
                opts=kept,
            )
            database_url: pulumi.Output[str] = database.database_url_reference
        else:
            if args.external_database_url is None:
                raise ValueError("backend.database is 'external' but no database URL was given")
            database_url = pulumi.Output.secret(args.external_database_url)

        service = rw.Service(f"{name}-service", project_id=project.id, name=backend.service_name, opts=kept)
        repository = f"{github.owner}/{github.backend_repository}"
        root = github.backend_path if github.monorepo else None
        instance = rw.ServiceInstance(
            f"{name}-settings",
            service_id=service.id,
            environment_id=environment.id,
            source_repo=repository,
            root_directory=root,
            build_command=backend.build_command,
            start_command=backend.start_command,
            pre_deploy_command=backend.pre_deploy_command,
            healthcheck_path=backend.healthcheck_path,
            healthcheck_timeout=backend.healthcheck_timeout_seconds,
            num_replicas=backend.replicas,
            region=backend.region,
            restart_policy_type=backend.restart_policy,
            restart_policy_max_retries=backend.restart_policy_max_retries,
            opts=child,
        )
        variables = rw.Variables(
            f"{name}-variables",
            project_id=project.id,
            environment_id=environment.id,
            service_id=service.id,
            variables={**args.variables, "DATABASE_URL": database_url},
            # adopted (ops adopt): variables that run but are not declared are kept, unless asked otherwise;
            # None otherwise, so states written before this input see no change
            keep_undeclared=True if cfg.adopt.railway and not cfg.adopt.remove_undeclared_variables else None,
            opts=child,
        )
        service_domain = rw.ServiceDomain(
            f"{name}-domain",
            project_id=project.id,
            service_id=service.id,
            environment_id=environment.id,
            target_port=backend.port,
            opts=child,
        )
        custom_domain = None
        if backend.custom_domain:
            custom_domain = rw.CustomDomain(
                f"{name}-custom-domain",
                project_id=project.id,
                service_id=service.id,
                environment_id=environment.id,
                domain=backend.custom_domain,
                target_port=backend.port,
                opts=kept,
            )
        rw.DeploymentTrigger(
            f"{name}-trigger",
            project_id=project.id,
            environment_id=environment.id,
            service_id=service.id,
            repository=repository,
            branch=github.branch,
            check_suites=backend.wait_for_ci,
            root_directory=root,
            auto_deploy=False,  # CI's deploy job is the one deploy path: one deploy per push (docs/workflows.md)
            opts=child,
        )
        token = rw.ProjectToken(
            f"{name}-ci-token",
            project_id=project.id,
            environment_id=environment.id,
            name=f"maya-infra-{cfg.stack}-ci-deploy",
            opts=child,
        )
        deployment = rw.Deployment(
            f"{name}-deployment",
            project_id=project.id,
            service_id=service.id,
            environment_id=environment.id,
            revision=pulumi.Output.all(instance.revision, variables.revision).apply(lambda r: f"{r[0]}|{r[1]}"),
            timeout_seconds=backend.deploy_timeout_seconds,
            poll_seconds=args.poll_seconds or backend.deploy_poll_seconds,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[instance, variables, service_domain]),
        )

        # Backups of the PostgreSQL volume (maya-infra:backups; production must keep some): Railway takes them.
        self.volume_instance_id = None
        self.backup_kinds = pulumi.Output.from_input([])
        if backend.database == "railway":
            self.volume_instance_id = database.volume_instance_id
            if cfg.backup_kinds:
                schedule = rw.BackupSchedule(
                    f"{name}-backups",
                    volume_instance_id=database.volume_instance_id,
                    kinds=list(cfg.backup_kinds),
                    opts=child,
                )
                self.backup_kinds = schedule.kinds

        self.deployment_alert = self._deployment_alert(name, cfg, project, child)

        self.project_id = project.id
        self.environment_id = environment.id
        self.service_id = service.id
        self.project_token = pulumi.Output.secret(token.token)
        self.database_url = pulumi.Output.secret(database_url)
        self.service_domain = service_domain.domain
        self.url = (
            pulumi.Output.concat("https://", backend.custom_domain) if backend.custom_domain else service_domain.url
        )
        self.custom_domain_dns_records = custom_domain.dns_records if custom_domain else None
        self.deployment_status = deployment.status
        self.variable_names = pulumi.Output.from_input(sorted([*args.variables, "DATABASE_URL"]))
        self.register_outputs(
            {
                "url": self.url,
                "project_id": self.project_id,
                "environment_id": self.environment_id,
                "service_id": self.service_id,
                "project_token": self.project_token,
                "service_domain": self.service_domain,
                "deployment_status": self.deployment_status,
            }
        )

    @staticmethod
    def _deployment_alert(
        name: str, cfg: StackConfig, project: rw.Project, child: pulumi.ResourceOptions
    ) -> rw.NotificationRule | None:
        """Railway mails ``monitoring.alertEmails`` when a deployment of the project fails or crashes.

        Railway sees every deployment (CI, auto-deploy, dashboard redeploy) and a crash at any time later,
        which no CI job can; the project is the stack's own, so the rule covers this stack only.
        """
        if cfg.monitoring is None:
            return None
        return rw.NotificationRule(
            f"{name}-deploy-alert",
            project_id=project.id,
            workspace_id=cfg.railway.workspace_id,
            event_types=sorted(DEPLOYMENT_FAILURE_EVENTS),
            channel_configs=[email_channel(a) for a in sorted(cfg.monitoring.alert_emails)],
            opts=child,
        )
