"""Typed Pulumi resources over the Railway dynamic providers.

Type tokens are ``pulumi-python:dynamic/railway:<Name>``. Output attributes exist only for keys passed to
the constructor, so every computed output is declared here with ``None``. Secret outputs are listed in
``additional_secret_outputs`` with their exact keys (dynamic resources do no name translation).
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import Resource

from components.railway import provider as p


def _opts(opts: pulumi.ResourceOptions | None, secret_outputs: list[str] | None = None) -> pulumi.ResourceOptions:
    base = pulumi.ResourceOptions(additional_secret_outputs=secret_outputs) if secret_outputs else None
    return pulumi.ResourceOptions.merge(base, opts) if base else (opts or pulumi.ResourceOptions())


class Project(Resource, module="railway", name="Project"):
    name: pulumi.Output[str]
    default_environment_id: pulumi.Output[str]

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
        super().__init__(
            p.ProjectProvider(),
            resource_name,
            {
                "name": name,
                "description": description,
                "workspace_id": workspace_id,
                "default_environment_name": default_environment_name,
                "default_environment_id": None,
            },
            opts,
        )


class Environment(Resource, module="railway", name="Environment"):
    name: pulumi.Output[str]
    project_id: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        project_id: pulumi.Input[str],
        name: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            p.EnvironmentProvider(), resource_name, {"project_id": project_id, "name": name, "adopted": None}, opts
        )


class Service(Resource, module="railway", name="Service"):
    name: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        project_id: pulumi.Input[str],
        name: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(p.ServiceProvider(), resource_name, {"project_id": project_id, "name": name}, opts)


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
        props: dict[str, Any] = {
            "service_id": service_id,
            "environment_id": environment_id,
            "source_repo": source_repo,
            "source_image": source_image,
            "root_directory": root_directory,
            "build_command": build_command,
            "start_command": start_command,
            "pre_deploy_command": pre_deploy_command,
            "healthcheck_path": healthcheck_path,
            "healthcheck_timeout": healthcheck_timeout,
            "num_replicas": num_replicas,
            "region": region,
            "restart_policy_type": restart_policy_type,
            "restart_policy_max_retries": restart_policy_max_retries,
            "cron_schedule": cron_schedule,
            "revision": None,
        }
        super().__init__(p.ServiceInstanceProvider(), resource_name, props, opts)


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
        super().__init__(
            p.VariablesProvider(),
            resource_name,
            {
                "project_id": project_id,
                "environment_id": environment_id,
                "service_id": service_id,
                "variables": pulumi.Output.secret(variables),
                "keep_undeclared": keep_undeclared,
                "revision": None,
            },
            _opts(opts, ["variables", "revision"]),
        )


class ServiceDomain(Resource, module="railway", name="ServiceDomain"):
    domain: pulumi.Output[str]
    url: pulumi.Output[str]

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
        super().__init__(
            p.ServiceDomainProvider(),
            resource_name,
            {
                "project_id": project_id,
                "service_id": service_id,
                "environment_id": environment_id,
                "target_port": target_port,
                "domain": None,
                "url": None,
            },
            opts,
        )


class CustomDomain(Resource, module="railway", name="CustomDomain"):
    domain: pulumi.Output[str]
    dns_records: pulumi.Output[list[dict[str, str]]]
    verified: pulumi.Output[bool]
    certificate_status: pulumi.Output[str]

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
        super().__init__(
            p.CustomDomainProvider(),
            resource_name,
            {
                "project_id": project_id,
                "service_id": service_id,
                "environment_id": environment_id,
                "domain": domain,
                "target_port": target_port,
                "dns_records": None,
                "verified": None,
                "certificate_status": None,
            },
            opts,
        )


class DeploymentTrigger(Resource, module="railway", name="DeploymentTrigger"):
    branch: pulumi.Output[str]

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
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            p.DeploymentTriggerProvider(),
            resource_name,
            {
                "project_id": project_id,
                "environment_id": environment_id,
                "service_id": service_id,
                "provider": "github",
                "repository": repository,
                "branch": branch,
                "check_suites": check_suites,
                "root_directory": root_directory,
            },
            opts,
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
        super().__init__(
            p.ProjectTokenProvider(),
            resource_name,
            {
                "project_id": project_id,
                "environment_id": environment_id,
                "name": name,
                "token": None,
            },
            _opts(opts, ["token"]),
        )


class Postgres(Resource, module="railway", name="Postgres"):
    service_id: pulumi.Output[str]
    volume_id: pulumi.Output[str]
    volume_instance_id: pulumi.Output[str]
    database_url_reference: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        project_id: pulumi.Input[str],
        environment_id: pulumi.Input[str],
        service_name: str = "Postgres",
        workflow_timeout_seconds: float = 600,
        workflow_poll_seconds: float = 3,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            p.PostgresProvider(),
            resource_name,
            {
                "project_id": project_id,
                "environment_id": environment_id,
                "service_name": service_name,
                "workflow_timeout_seconds": workflow_timeout_seconds,
                "workflow_poll_seconds": workflow_poll_seconds,
                "service_id": None,
                "volume_id": None,
                "volume_instance_id": None,
                "database_url_reference": None,
            },
            # a reference, not a credential — but it is the backend's DATABASE_URL, kept secret like one
            _opts(opts, ["database_url_reference"]),
        )


class Deployment(Resource, module="railway", name="Deployment"):
    """Deploys the service instance once whenever ``revision`` changes, and waits until it is live."""

    deployment_id: pulumi.Output[str]
    status: pulumi.Output[str]

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
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            p.DeploymentProvider(),
            resource_name,
            {
                "project_id": project_id,
                "service_id": service_id,
                "environment_id": environment_id,
                "revision": pulumi.Output.secret(revision),
                "timeout_seconds": timeout_seconds,
                "poll_seconds": poll_seconds,
                "deployment_id": None,
                "status": None,
            },
            _opts(opts, ["revision"]),
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
        super().__init__(
            p.BackupScheduleProvider(),
            resource_name,
            {"volume_instance_id": volume_instance_id, "kinds": kinds, "schedules": None},
            opts,
        )
