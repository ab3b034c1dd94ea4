"""A hand-made "MAYA as it runs today" on the fake Railway API, for the adoption tests and measurements.

Built through the public API the way a person built it in the dashboard — before maya-infra existed — so
every id is Railway's own and nothing carries a maya-infra marker: the project (description by hand), its
environment, the backend service from the GitHub repository with its settings and variables (the declared
ones plus a few nobody declared), Railway's PostgreSQL template with its volume (holding a marker row), the
service domain, the custom domain, the deployment trigger (automatic deploys on: Railway's default), a
backup schedule and a live deployment. ``names`` gives the project, the service or the database the names
someone typed in the dashboard (``{"project": "MAYA", "service": "maya"}``) instead of the config's.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from components.railway import operations as gql
from components.railway.providers.base import edges
from components.railway.providers.database import placed
from config import StackConfig
from tests.fakes.railway_api import FakeRailway

#: Variables that run on Railway but that no stack declares: adoption must keep them.
UNDECLARED = {"LOG_LEVEL": "debug-by-hand-7", "LEGACY_FEATURE_FLAG": "legacy-flag-value-91"}
#: What "the database" holds, as far as these tests can tell: a marker on the volume.
MARKER = "users=1337;last_order=2026-11-28"


@dataclass
class RunningMaya:
    project_id: str
    environment_id: str
    service_id: str
    postgres_id: str
    volume_id: str
    volume_instance_id: str
    custom_domain_id: str
    service_domain_id: str
    trigger_id: str
    deployment_id: str
    ids: dict[str, str] = field(default_factory=dict)


def seed(
    fake: FakeRailway,
    cfg: StackConfig,
    variables: Mapping[str, str],
    *,
    settings: Mapping[str, Any] | None = None,
    names: Mapping[str, str] | None = None,
    alert_emails: Sequence[str] | None = None,
) -> RunningMaya:
    """Build the running MAYA of ``cfg``'s stack; ``variables`` are its backend's declared values,
    ``settings`` overrides of the instance settings (a difference from the config), ``names`` the
    dashboard's names of the project, service and database (``project``, ``service``, ``postgres``),
    ``alert_emails`` a notification rule mailing them when a deployment fails or crashes."""
    client = fake.dashboard()  # a person built it, not maya-infra
    b, gh = cfg.backend, cfg.github
    named = {"project": b.project_name, "service": b.service_name, **(names or {})}
    project = client.execute(
        gql.PROJECT_CREATE,
        {
            "input": {
                "name": named["project"],
                "description": "MAYA backend (set up by hand)",
                "defaultEnvironmentName": cfg.environment,
            }
        },
    )["projectCreate"]
    project_id = project["id"]
    env_id = edges(project["environments"])[0]["id"]

    template = client.execute(gql.TEMPLATE, {"code": "postgres"})["template"]
    deployed = client.execute(
        gql.TEMPLATE_DEPLOY,
        {
            "input": {
                "templateId": template["id"],
                "serializedConfig": placed(template["serializedConfig"], b.postgres_region),  # beside the backend
                "projectId": project_id,
                "environmentId": env_id,
            }
        },
    )["templateDeployV2"]
    for _ in range(100):
        if client.execute(gql.WORKFLOW_STATUS, {"workflowId": deployed["workflowId"]})["workflowStatus"]["status"] == (
            "Complete"
        ):
            break
        time.sleep(0.02)
    service = client.execute(gql.SERVICE_CREATE, {"input": {"projectId": project_id, "name": named["service"]}})[
        "serviceCreate"
    ]
    listed = client.execute(gql.PROJECT, {"id": project_id})["project"]["services"]
    services = {s["name"]: s["id"] for s in edges(listed)}
    postgres_id = services["Postgres"]
    if "postgres" in named:
        client.execute(gql.SERVICE_UPDATE, {"id": postgres_id, "input": {"name": named["postgres"]}})

    instance = {
        "source": {"repo": f"{gh.owner}/{gh.backend_repository}"},
        "rootDirectory": gh.backend_path if gh.monorepo else None,
        "startCommand": b.start_command,
        "preDeployCommand": [b.pre_deploy_command],
        "healthcheckPath": b.healthcheck_path,
        "healthcheckTimeout": b.healthcheck_timeout_seconds,
        "numReplicas": b.replicas,
        "region": b.region,
        "restartPolicyType": b.restart_policy,
        "restartPolicyMaxRetries": b.restart_policy_max_retries,
        "multiRegionConfig": {b.region: {"numReplicas": b.replicas}},
        **(settings or {}),
    }
    client.execute(
        gql.SERVICE_INSTANCE_UPDATE, {"serviceId": service["id"], "environmentId": env_id, "input": instance}
    )
    scope = {"projectId": project_id, "environmentId": env_id, "serviceId": service["id"]}
    # the backend reaches its database through Railway's reference, as the template's docs show
    database_url = "${{" + named.get("postgres", "Postgres") + ".DATABASE_URL}}"
    running = {**variables, "DATABASE_URL": database_url, **UNDECLARED}
    client.execute(
        gql.VARIABLE_COLLECTION_UPSERT,
        {"input": {**scope, "variables": running, "replace": False, "skipDeploys": True}},
    )
    service_domain = client.execute(
        gql.SERVICE_DOMAIN_CREATE,
        {"input": {"serviceId": service["id"], "environmentId": env_id, "targetPort": b.port}},
    )["serviceDomainCreate"]
    custom = client.execute(
        gql.CUSTOM_DOMAIN_CREATE,
        {"input": {**scope, "domain": b.custom_domain, "targetPort": b.port}},
    )["customDomainCreate"]
    trigger = client.execute(
        gql.DEPLOYMENT_TRIGGER_CREATE,
        {
            "input": {
                **scope,
                "provider": "github",
                "repository": f"{gh.owner}/{gh.backend_repository}",
                "branch": gh.branch,
                "checkSuites": b.wait_for_ci,
                "rootDirectory": gh.backend_path if gh.monorepo else None,
            }
        },
    )["deploymentTriggerCreate"]
    volumes = edges(
        client.execute(gql.ENVIRONMENT_VOLUME_INSTANCES, {"environmentId": env_id})["environment"]["volumeInstances"]
    )
    volume = next(v for v in volumes if v["serviceId"] == postgres_id)
    client.execute(
        gql.VOLUME_INSTANCE_BACKUP_SCHEDULE_UPDATE, {"volumeInstanceId": volume["id"], "kinds": list(cfg.backup_kinds)}
    )
    if alert_emails:
        client.execute(
            gql.NOTIFICATION_RULE_CREATE,
            {
                "input": {
                    "workspaceId": fake.workspace_id,
                    "projectId": project_id,
                    "eventTypes": ["Deployment.crashed", "Deployment.failed"],
                    "channelConfigs": [{"type": "email", "email": a} for a in sorted(alert_emails)],
                    "ephemeralEnvironments": False,
                }
            },
        )
    deployment_id = client.execute(gql.SERVICE_INSTANCE_DEPLOY, {"serviceId": service["id"], "environmentId": env_id})[
        "serviceInstanceDeployV2"
    ]
    fake.advance_deployments()
    with fake._lock:
        fake.state.volumes[volume["volumeId"]]["_marker"] = MARKER  # the data a replaced volume would lose
    fake.reset_counters()
    return RunningMaya(
        project_id=project_id,
        environment_id=env_id,
        service_id=service["id"],
        postgres_id=postgres_id,
        volume_id=volume["volumeId"],
        volume_instance_id=volume["id"],
        custom_domain_id=custom["id"],
        service_domain_id=service_domain["id"],
        trigger_id=trigger["id"],
        deployment_id=deployment_id,
    )
