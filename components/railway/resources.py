"""Typed Pulumi resources over the Railway dynamic providers.

Type tokens are ``pulumi-python:dynamic/railway:<Name>``. Each resource's props come from its provider's
one schema (``RailwayProvider.fields`` → ``props()``): every input by name, every computed output as a
``None`` placeholder (output attributes exist only for keys passed to the constructor), secret inputs
wrapped as secrets, and the secret outputs listed in ``additional_secret_outputs`` with their exact keys
(dynamic resources do no name translation). ``props()`` refuses a name the schema does not declare, and a
test holds each constructor's keyword arguments equal to its provider's inputs.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import Resource

from components.railway import provider as p


def _opts(opts: pulumi.ResourceOptions | None, secret_outputs: list[str] | None = None) -> pulumi.ResourceOptions:
    base = pulumi.ResourceOptions(additional_secret_outputs=secret_outputs) if secret_outputs else None
    return pulumi.ResourceOptions.merge(base, opts) if base else (opts or pulumi.ResourceOptions())


def _declare(
    resource: Resource,
    provider_class: type[p.RailwayProvider],
    resource_name: str,
    opts: pulumi.ResourceOptions | None,
    /,
    **inputs: Any,
) -> None:
    """Register ``resource`` with the props and secret outputs its provider's schema derives."""
    secret_outputs = list(provider_class.secret_outputs)
    Resource.__init__(
        resource, provider_class(), resource_name, provider_class.props(**inputs), _opts(opts, secret_outputs)
    )


class Project(Resource, module="railway", name="Project"):
    name: pulumi.Output[str]
    default_environment_id: pulumi.Output[str]
    origin: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        name: pulumi.Input[str],
        description: pulumi.Input[str] = "",
        workspace_id: pulumi.Input[str] | None = None,
        default_environment_name: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        _declare(
            self,
            p.ProjectProvider,
            resource_name,
            opts,
            name=name,
            description=description,
            workspace_id=workspace_id,
            default_environment_name=default_environment_name,
        )


class Environment(Resource, module="railway", name="Environment"):
    name: pulumi.Output[str]
    project_id: pulumi.Output[str]
    origin: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        project_id: pulumi.Input[str],
        name: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        _declare(self, p.EnvironmentProvider, resource_name, opts, project_id=project_id, name=name)


class Service(Resource, module="railway", name="Service"):
    name: pulumi.Output[str]
    origin: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        project_id: pulumi.Input[str],
        name: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        _declare(self, p.ServiceProvider, resource_name, opts, project_id=project_id, name=name)


class ServiceInstance(Resource, module="railway", name="ServiceInstance"):
    revision: pulumi.Output[str]
    healthcheck_path: pulumi.Output[str]
    pre_deploy_command: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        service_id: pulumi.Input[str],
        environment_id: pulumi.Input[str],
        source_repo: pulumi.Input[str] | None = None,
        source_image: pulumi.Input[str] | None = None,
        root_directory: pulumi.Input[str] | None = None,
        build_command: pulumi.Input[str] | None = None,
        start_command: pulumi.Input[str] | None = None,
        pre_deploy_command: pulumi.Input[str] | None = None,
        healthcheck_path: pulumi.Input[str] | None = None,
        healthcheck_timeout: pulumi.Input[int] | None = None,
        num_replicas: pulumi.Input[int] = 1,
        region: pulumi.Input[str] | None = None,
        restart_policy_type: pulumi.Input[str] = "ON_FAILURE",
        restart_policy_max_retries: pulumi.Input[int] = 10,
        cron_schedule: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        _declare(
            self,
            p.ServiceInstanceProvider,
            resource_name,
            opts,
            service_id=service_id,
            environment_id=environment_id,
            source_repo=source_repo,
            source_image=source_image,
            root_directory=root_directory,
            build_command=build_command,
            start_command=start_command,
            pre_deploy_command=pre_deploy_command,
            healthcheck_path=healthcheck_path,
            healthcheck_timeout=healthcheck_timeout,
            num_replicas=num_replicas,
            region=region,
            restart_policy_type=restart_policy_type,
            restart_policy_max_retries=restart_policy_max_retries,
            cron_schedule=cron_schedule,
        )


class Variables(Resource, module="railway", name="Variables"):
    """All variables of one service in one environment; values and the write fingerprint are secret."""

    variables: pulumi.Output[dict[str, str]]
    revision: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        project_id: pulumi.Input[str],
        environment_id: pulumi.Input[str],
        service_id: pulumi.Input[str],
        variables: pulumi.Input[dict[str, pulumi.Input[str]]],
        keep_undeclared: bool | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        _declare(
            self,
            p.VariablesProvider,
            resource_name,
            opts,
            project_id=project_id,
            environment_id=environment_id,
            service_id=service_id,
            variables=variables,
            keep_undeclared=keep_undeclared,
        )


class ServiceDomain(Resource, module="railway", name="ServiceDomain"):
    domain: pulumi.Output[str]
    url: pulumi.Output[str]
    origin: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        project_id: pulumi.Input[str],
        service_id: pulumi.Input[str],
        environment_id: pulumi.Input[str],
        target_port: pulumi.Input[int],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        _declare(
            self,
            p.ServiceDomainProvider,
            resource_name,
            opts,
            project_id=project_id,
            service_id=service_id,
            environment_id=environment_id,
            target_port=target_port,
        )


class CustomDomain(Resource, module="railway", name="CustomDomain"):
    domain: pulumi.Output[str]
    dns_records: pulumi.Output[list[dict[str, str]]]
    verified: pulumi.Output[bool]
    certificate_status: pulumi.Output[str]
    origin: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        project_id: pulumi.Input[str],
        service_id: pulumi.Input[str],
        environment_id: pulumi.Input[str],
        domain: pulumi.Input[str],
        target_port: pulumi.Input[int] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        _declare(
            self,
            p.CustomDomainProvider,
            resource_name,
            opts,
            project_id=project_id,
            service_id=service_id,
            environment_id=environment_id,
            domain=domain,
            target_port=target_port,
        )


class DeploymentTrigger(Resource, module="railway", name="DeploymentTrigger"):
    branch: pulumi.Output[str]
    origin: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        project_id: pulumi.Input[str],
        environment_id: pulumi.Input[str],
        service_id: pulumi.Input[str],
        repository: pulumi.Input[str],
        branch: pulumi.Input[str],
        check_suites: pulumi.Input[bool] = True,
        root_directory: pulumi.Input[str] | None = None,
        provider: str = "github",
        auto_deploy: pulumi.Input[bool] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        _declare(
            self,
            p.DeploymentTriggerProvider,
            resource_name,
            opts,
            project_id=project_id,
            environment_id=environment_id,
            service_id=service_id,
            provider=provider,
            repository=repository,
            branch=branch,
            check_suites=check_suites,
            root_directory=root_directory,
            auto_deploy=auto_deploy,
        )


class ProjectToken(Resource, module="railway", name="ProjectToken"):
    """An environment-scoped token for CI deploys; ``token`` is a secret output."""

    token: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        project_id: pulumi.Input[str],
        environment_id: pulumi.Input[str],
        name: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        _declare(
            self,
            p.ProjectTokenProvider,
            resource_name,
            opts,
            project_id=project_id,
            environment_id=environment_id,
            name=name,
        )


class Postgres(Resource, module="railway", name="Postgres"):
    """Railway's PostgreSQL template; ``database_url_reference`` (the backend's DATABASE_URL) is secret."""

    service_id: pulumi.Output[str]
    volume_id: pulumi.Output[str]
    volume_instance_id: pulumi.Output[str]
    database_url_reference: pulumi.Output[str]
    origin: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        project_id: pulumi.Input[str],
        environment_id: pulumi.Input[str],
        service_name: str = "Postgres",
        region: pulumi.Input[str] | None = None,
        workflow_timeout_seconds: float = 600,
        workflow_poll_seconds: float = 3,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        _declare(
            self,
            p.PostgresProvider,
            resource_name,
            opts,
            project_id=project_id,
            environment_id=environment_id,
            service_name=service_name,
            region=region,
            workflow_timeout_seconds=workflow_timeout_seconds,
            workflow_poll_seconds=workflow_poll_seconds,
        )


class Deployment(Resource, module="railway", name="Deployment"):
    """Redeploys the live commit once whenever ``revision`` changes, checked and rolled back like CI's deploy."""

    deployment_id: pulumi.Output[str]
    status: pulumi.Output[str]
    commit: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        project_id: pulumi.Input[str],
        service_id: pulumi.Input[str],
        environment_id: pulumi.Input[str],
        revision: pulumi.Input[str],
        timeout_seconds: float = 900,
        poll_seconds: float = 5,
        pre_deploy: str | None = None,
        health_url: pulumi.Input[str] | None = None,
        health_expect: list[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        _declare(
            self,
            p.DeploymentProvider,
            resource_name,
            opts,
            project_id=project_id,
            service_id=service_id,
            environment_id=environment_id,
            revision=revision,
            timeout_seconds=timeout_seconds,
            poll_seconds=poll_seconds,
            pre_deploy=pre_deploy,
            health_url=health_url,
            health_expect=health_expect,
        )


class BackupSchedule(Resource, module="railway", name="BackupSchedule"):
    """Railway's backup schedule (DAILY/WEEKLY/MONTHLY) of a volume instance, read back with its retention."""

    volume_instance_id: pulumi.Output[str]
    kinds: pulumi.Output[list[str]]
    schedules: pulumi.Output[list[dict[str, Any]]]

    def __init__(
        self,
        resource_name: str,
        *,
        volume_instance_id: pulumi.Input[str],
        kinds: pulumi.Input[list[str]],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        _declare(
            self, p.BackupScheduleProvider, resource_name, opts, volume_instance_id=volume_instance_id, kinds=kinds
        )


class NotificationRule(Resource, module="railway", name="NotificationRule"):
    """A Railway notification rule of a project: which events mail which addresses (see providers/alerts.py)."""

    rule_workspace_id: pulumi.Output[str]
    event_types: pulumi.Output[list[str]]
    channel_configs: pulumi.Output[list[dict[str, Any]]]
    channel_count: pulumi.Output[int]

    def __init__(
        self,
        resource_name: str,
        *,
        project_id: pulumi.Input[str],
        event_types: pulumi.Input[list[str]],
        channel_configs: pulumi.Input[list[dict[str, Any]]],
        workspace_id: pulumi.Input[str] | None = None,
        severities: pulumi.Input[list[str]] | None = None,
        ephemeral_environments: pulumi.Input[bool] = False,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        _declare(
            self,
            p.NotificationRuleProvider,
            resource_name,
            opts,
            workspace_id=workspace_id,
            project_id=project_id,
            event_types=event_types,
            severities=severities,
            channel_configs=channel_configs,
            ephemeral_environments=ephemeral_environments,
        )


class PrEnvironmentSettings(Resource, module="railway", name="PrEnvironmentSettings"):
    """Railway's own PR environments of a project, declared off (docs/previews.md)."""

    pr_deploys: pulumi.Output[bool]

    def __init__(
        self,
        resource_name: str,
        *,
        project_id: pulumi.Input[str],
        pr_deploys: bool = False,
        bot_pr_environments: bool = False,
        focused_pr_environments: bool = False,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        _declare(
            self,
            p.PrEnvironmentSettingsProvider,
            resource_name,
            opts,
            project_id=project_id,
            pr_deploys=pr_deploys,
            bot_pr_environments=bot_pr_environments,
            focused_pr_environments=focused_pr_environments,
        )
