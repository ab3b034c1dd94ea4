"""The FastAPI backend on Railway, for one stack.

By default one Railway project per stack (``backend.projectName``) whose environment is named after the
stack, so staging and production never share a project, an environment, a domain or a token.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi

from components.error_rate import token_name
from components.railway import resources as rw
from components.railway.providers.alerts import DEPLOYMENT_FAILURE_EVENTS, email_channel
from components.railway.providers.project import marker
from components.safety import stateful
from config import StackConfig, envvars
from config.envvars import Target, Wiring
from workflows.smoke import health_expectations


def project_description(cfg: StackConfig) -> str:
    """The Railway project's description (``ops adopt`` compares the running one with it)."""
    return f"MAYA/OMEGA backend ({cfg.stack}), {marker(cfg.stack)}"


def _root_directory(cfg: StackConfig) -> str | None:
    """The backend's folder in a monorepo (settings and trigger build from it), None for its own repository."""
    return cfg.github.backend_path if cfg.github.monorepo else None


@dataclass(frozen=True)
class _ServiceIn:
    """The project, environment and service ids every resource below the service is addressed by."""

    project_id: pulumi.Output[str]
    environment_id: pulumi.Output[str]
    service_id: pulumi.Output[str]


@dataclass(frozen=True)
class RailwayBackendArgs:
    config: StackConfig
    #: The values the platforms hand each other. This component fills in ``database_url`` (the reference to
    #: the PostgreSQL it declares, or the external URL) and then takes the backend's variables from
    #: ``config.envvars``' table with it, DATABASE_URL included: no variable is special here.
    wiring: Wiring
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
    service_domain: pulumi.Output[str]
    custom_domain_dns_records: pulumi.Output[list[dict[str, str]]] | None
    deployment_status: pulumi.Output[str]
    variable_names: pulumi.Output[list[str]]
    #: The PostgreSQL volume instance (None with an external database) and its backup schedule's kinds.
    volume_instance_id: pulumi.Output[str] | None
    backup_kinds: pulumi.Output[list[str]]
    #: Railway's rule mailing a failed or crashed deployment, or None without maya-infra:monitoring.
    deployment_alert: rw.NotificationRule | None
    #: The 5xx-rate poller's own project token (a secret), or None where nothing polls the rate.
    metrics_token: pulumi.Output[str] | None

    def __init__(self, name: str, args: RailwayBackendArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("maya:railway:Backend", name, None, opts)
        cfg = args.config
        child = pulumi.ResourceOptions(parent=self)
        kept = stateful(cfg, child)  # protected and retained in production (components/safety.py)

        # The resources are declared in this order on purpose: their names ("<name>-project", ...) are the
        # Pulumi names in every state, so the steps below may move but must never rename one.
        project, environment = self._project_and_environment(name, cfg, kept)
        database, database_url = self._database(name, args, project, environment, kept)
        service = rw.Service(f"{name}-service", project_id=project.id, name=cfg.backend.service_name, opts=kept)
        at = _ServiceIn(project.id, environment.id, service.id)
        instance = self._instance_settings(name, cfg, at, child)
        args.wiring.database_url = pulumi.Output.secret(database_url)
        backend_variables = {
            v.name: envvars.resolve(v, cfg, args.wiring) for v in envvars.for_target(cfg, Target.BACKEND)
        }
        variables = self._variables(name, args, at, backend_variables, child)
        service_domain, custom_domain = self._domains(name, cfg, at, kept, child)
        self._trigger(name, cfg, at, child)
        token = self._ci_token(name, cfg, at, child)
        self.metrics_token = self._metrics_token(name, cfg, at, child)
        deployment = self._deployment(name, args, at, instance, variables, service_domain)
        self._backups(name, cfg, database, child)
        self.deployment_alert = self._deployment_alert(name, cfg, project, child)

        self.project_id = project.id
        self.environment_id = environment.id
        self.service_id = service.id
        self.project_token = pulumi.Output.secret(token.token)
        self.service_domain = service_domain.domain
        backend = cfg.backend
        self.url = (
            pulumi.Output.concat("https://", backend.custom_domain) if backend.custom_domain else service_domain.url
        )
        self.custom_domain_dns_records = custom_domain.dns_records if custom_domain else None
        self.deployment_status = deployment.status
        self.variable_names = pulumi.Output.from_input(sorted(backend_variables))
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
    def _project_and_environment(
        name: str, cfg: StackConfig, kept: pulumi.ResourceOptions
    ) -> tuple[rw.Project, rw.Environment]:
        """The stack's own project and its environment named after the stack (kept: deleting them loses data)."""
        project = rw.Project(
            f"{name}-project",
            name=cfg.backend.project_name,
            description=project_description(cfg),
            workspace_id=cfg.railway.workspace_id,
            default_environment_name=cfg.environment,
            opts=kept,
        )
        environment = rw.Environment(f"{name}-environment", project_id=project.id, name=cfg.environment, opts=kept)
        return project, environment

    @staticmethod
    def _database(
        name: str,
        args: RailwayBackendArgs,
        project: rw.Project,
        environment: rw.Environment,
        kept: pulumi.ResourceOptions,
    ) -> tuple[rw.Postgres | None, pulumi.Output[str]]:
        """Railway's PostgreSQL (``backend.database: railway``) or the external URL; and DATABASE_URL, a secret.

        With Railway's database the URL is a reference Railway resolves, so the password never passes through
        the program; an external URL must be given, or the backend would start without a database.
        """
        backend = args.config.backend
        if backend.database == "railway":
            database = rw.Postgres(
                f"{name}-postgres",
                project_id=project.id,
                environment_id=environment.id,
                region=backend.postgres_region,
                workflow_poll_seconds=args.poll_seconds or backend.deploy_poll_seconds,
                opts=kept,
            )
            return database, database.database_url_reference
        if args.external_database_url is None:
            raise ValueError("backend.database is 'external' but no database URL was given")
        return None, pulumi.Output.secret(args.external_database_url)

    @staticmethod
    def _instance_settings(
        name: str, cfg: StackConfig, at: _ServiceIn, child: pulumi.ResourceOptions
    ) -> rw.ServiceInstance:
        """The service's source, build, start, health check, replicas and restart policy in this environment."""
        backend, github = cfg.backend, cfg.github
        return rw.ServiceInstance(
            f"{name}-settings",
            service_id=at.service_id,
            environment_id=at.environment_id,
            source_repo=f"{github.owner}/{github.backend_repository}",
            root_directory=_root_directory(cfg),
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

    @staticmethod
    def _variables(
        name: str,
        args: RailwayBackendArgs,
        at: _ServiceIn,
        variables: Mapping[str, pulumi.Input[str]],
        child: pulumi.ResourceOptions,
    ) -> rw.Variables:
        """The backend's variables (DATABASE_URL from the database declared above among them)."""
        adopt = args.config.adopt
        return rw.Variables(
            f"{name}-variables",
            project_id=at.project_id,
            environment_id=at.environment_id,
            service_id=at.service_id,
            variables=dict(variables),
            # adopted (ops adopt): variables that run but are not declared are kept, unless asked otherwise;
            # None otherwise, so states written before this input see no change
            keep_undeclared=True if adopt.railway and not adopt.remove_undeclared_variables else None,
            opts=child,
        )

    @staticmethod
    def _domains(
        name: str, cfg: StackConfig, at: _ServiceIn, kept: pulumi.ResourceOptions, child: pulumi.ResourceOptions
    ) -> tuple[rw.ServiceDomain, rw.CustomDomain | None]:
        """The ``*.up.railway.app`` domain, and the custom domain when configured.

        The custom domain is an identity object (``stateful``: protected and retained in production): the
        DNS records someone set up point at it.
        """
        backend = cfg.backend
        service_domain = rw.ServiceDomain(
            f"{name}-domain",
            project_id=at.project_id,
            service_id=at.service_id,
            environment_id=at.environment_id,
            target_port=backend.port,
            opts=child,
        )
        custom_domain = None
        if backend.custom_domain:
            custom_domain = rw.CustomDomain(
                f"{name}-custom-domain",
                project_id=at.project_id,
                service_id=at.service_id,
                environment_id=at.environment_id,
                domain=backend.custom_domain,
                target_port=backend.port,
                opts=kept,
            )
        return service_domain, custom_domain

    @staticmethod
    def _trigger(name: str, cfg: StackConfig, at: _ServiceIn, child: pulumi.ResourceOptions) -> rw.DeploymentTrigger:
        """The repository link Railway builds from; it never deploys by itself (``auto_deploy=False``)."""
        github = cfg.github
        return rw.DeploymentTrigger(
            f"{name}-trigger",
            project_id=at.project_id,
            environment_id=at.environment_id,
            service_id=at.service_id,
            repository=f"{github.owner}/{github.backend_repository}",
            branch=github.branch,
            check_suites=cfg.backend.wait_for_ci,
            root_directory=_root_directory(cfg),
            auto_deploy=False,  # CI's deploy job is the one deploy path: one deploy per push (docs/workflows.md)
            opts=child,
        )

    @staticmethod
    def _ci_token(name: str, cfg: StackConfig, at: _ServiceIn, child: pulumi.ResourceOptions) -> rw.ProjectToken:
        """The project token CI deploys with, scoped to this stack's environment only."""
        return rw.ProjectToken(
            f"{name}-ci-token",
            project_id=at.project_id,
            environment_id=at.environment_id,
            name=f"maya-infra-{cfg.stack}-ci-deploy",
            opts=child,
        )

    @staticmethod
    def _metrics_token(
        name: str, cfg: StackConfig, at: _ServiceIn, child: pulumi.ResourceOptions
    ) -> pulumi.Output[str] | None:
        """The backend 5xx-rate alert's own project token ``maya-<stack>-metrics``, where someone polls the rate.

        Its own resource, so it is rotated (``pulumi up --replace <urn>``) or revoked apart from CI's deploy
        token; exactly-once like every create. Railway has no read-only token: a project token can also deploy
        to its environment, so it goes only where the rate is polled — Checkly's secret group variable in
        production, staging's ``staging-alerts`` environment when the scheduled workflow polls
        (docs/monitoring.md).
        """
        if cfg.error_rate_poller is None:
            return None
        token = rw.ProjectToken(
            f"{name}-metrics-token",
            project_id=at.project_id,
            environment_id=at.environment_id,
            name=token_name(cfg),
            opts=child,  # `token` is a secret output (components/railway/resources.py)
        )
        return pulumi.Output.secret(token.token)

    def _deployment(
        self,
        name: str,
        args: RailwayBackendArgs,
        at: _ServiceIn,
        instance: rw.ServiceInstance,
        variables: rw.Variables,
        service_domain: rw.ServiceDomain,
    ) -> rw.Deployment:
        """One redeploy of the live commit when the settings or variables change (their revisions), checked and
        rolled back like CI's deploy (components/railway/providers/deploy.py).

        It depends on settings, variables and domain so it deploys what they declare, not what ran before.
        """
        backend = args.config.backend
        url = pulumi.Output.concat("https://", backend.custom_domain) if backend.custom_domain else service_domain.url
        return rw.Deployment(
            f"{name}-deployment",
            project_id=at.project_id,
            service_id=at.service_id,
            environment_id=at.environment_id,
            revision=pulumi.Output.all(instance.revision, variables.revision).apply(lambda r: f"{r[0]}|{r[1]}"),
            timeout_seconds=backend.deploy_timeout_seconds,
            poll_seconds=args.poll_seconds or backend.deploy_poll_seconds,
            pre_deploy=backend.pre_deploy_command,  # verified like CI's deploy: it went live through the migrations
            # and health-checked like CI's deploy: the status and the body (monitoring.healthBody)
            health_url=pulumi.Output.concat(url, backend.healthcheck_path),
            health_expect=health_expectations(args.config),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[instance, variables, service_domain]),
        )

    def _backups(
        self, name: str, cfg: StackConfig, database: rw.Postgres | None, child: pulumi.ResourceOptions
    ) -> None:
        """Backups of the PostgreSQL volume (maya-infra:backups; production must keep some): Railway takes them."""
        self.volume_instance_id = None
        self.backup_kinds = pulumi.Output.from_input([])
        if database is None:
            return
        self.volume_instance_id = database.volume_instance_id
        if cfg.backup_kinds:
            schedule = rw.BackupSchedule(
                f"{name}-backups",
                volume_instance_id=database.volume_instance_id,
                kinds=list(cfg.backup_kinds),
                opts=child,
            )
            self.backup_kinds = schedule.kinds

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
