"""Tests of the fake Railway API, through real HTTP with httpx (as the provider will talk to it)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import graphql
import httpx
import pytest

from tests.fakes.railway_api import FakeRailway, load_schema

pytestmark = pytest.mark.timeout(30)

TOKEN = "test-token-123"
REPO_ROOT = Path(__file__).resolve().parents[2]

# ---- documents (taken from the Appendix A of the Railway research, plus a few for backups)
PROJECT_CREATE = """
mutation ProjectCreate($input: ProjectCreateInput!) {
  projectCreate(input: $input) { id name description isPublic prDeploys workspaceId
    environments { edges { node { id name createdAt } } } }
}"""
PROJECT = """
query Project($id: String!) {
  project(id: $id) { id name description isPublic prDeploys workspaceId baseEnvironmentId primaryEnvironmentId
    deletedAt expiredAt isTempProject createdAt updatedAt
    environments(first: 100) { edges { node { id name isEphemeral createdAt } } pageInfo { hasNextPage endCursor } }
    services(first: 100) { edges { node { id name icon } } pageInfo { hasNextPage endCursor } }
    volumes(first: 100) { edges { node { id name } } pageInfo { hasNextPage endCursor } } }
}"""
PROJECT_DELETE = "mutation ProjectDelete($id: String!) { projectDelete(id: $id) }"
ENVIRONMENT_CREATE = """
mutation EnvironmentCreate($input: EnvironmentCreateInput!) {
  environmentCreate(input: $input) { id name projectId createdAt }
}"""
ENVIRONMENT = """
query Environment($id: String!) {
  environment(id: $id) { id name projectId isEphemeral unmergedChangesCount createdAt deletedAt }
}"""
ENV_SERVICE_INSTANCES = """
query EnvServiceInstances($environmentId: String!, $after: String) {
  environment(id: $environmentId) { serviceInstances(first: 100, after: $after) {
    edges { node { id serviceId serviceName } } pageInfo { hasNextPage endCursor } } }
}"""
SERVICE_CREATE = """
mutation ServiceCreate($input: ServiceCreateInput!) { serviceCreate(input: $input) { id name projectId } }"""
SERVICE = "query Service($id: String!) { service(id: $id) { id name icon projectId createdAt deletedAt } }"
SERVICE_INSTANCE = """
query ServiceInstance($serviceId: String!, $environmentId: String!) {
  serviceInstance(serviceId: $serviceId, environmentId: $environmentId) {
    id serviceId environmentId serviceName
    source { image repo }
    buildCommand builder dockerfilePath rootDirectory railwayConfigFile watchPatterns nixpacksPlan
    startCommand preDeployCommand healthcheckPath healthcheckTimeout
    numReplicas region restartPolicyType restartPolicyMaxRetries cronSchedule nextCronRunAt
    sleepApplication overlapSeconds drainingSeconds ipv6EgressEnabled upstreamUrl isUpdatable
    latestDeployment { id status createdAt meta }
    domains { serviceDomains { id domain } customDomains { id domain } }
  }
  serviceInstanceLimitOverride(serviceId: $serviceId, environmentId: $environmentId)
}"""
SERVICE_INSTANCE_UPDATE = """
mutation ServiceInstanceUpdate($serviceId: String!, $environmentId: String, $input: ServiceInstanceUpdateInput!) {
  serviceInstanceUpdate(serviceId: $serviceId, environmentId: $environmentId, input: $input)
}"""
LIMITS_UPDATE = """
mutation ServiceInstanceLimitsUpdate($input: ServiceInstanceLimitsUpdateInput!) {
  serviceInstanceLimitsUpdate(input: $input)
}"""
VARIABLES = """
query Variables($projectId: String!, $environmentId: String!, $serviceId: String) {
  variables(projectId: $projectId, environmentId: $environmentId, serviceId: $serviceId, unrendered: true)
}"""
VARIABLES_RENDERED = """
query VariablesRendered($projectId: String!, $environmentId: String!, $serviceId: String) {
  variables(projectId: $projectId, environmentId: $environmentId, serviceId: $serviceId)
}"""
VARIABLE_UPSERT = "mutation VariableUpsert($input: VariableUpsertInput!) { variableUpsert(input: $input) }"
VARIABLE_COLLECTION_UPSERT = """
mutation VariableCollectionUpsert($input: VariableCollectionUpsertInput!) { variableCollectionUpsert(input: $input) }"""
VARIABLE_DELETE = "mutation VariableDelete($input: VariableDeleteInput!) { variableDelete(input: $input) }"
DOMAINS = """
query Domains($projectId: String!, $environmentId: String!, $serviceId: String!) {
  domains(projectId: $projectId, environmentId: $environmentId, serviceId: $serviceId) {
    serviceDomains { id domain suffix targetPort syncStatus environmentId serviceId }
    customDomains { id domain targetPort syncStatus environmentId serviceId
      status { verified verificationDnsHost verificationToken certificateStatus certificateErrorMessage
        dnsRecords { recordType hostlabel fqdn zone requiredValue currentValue status purpose } } }
  }
}"""
SERVICE_DOMAIN_CREATE = """
mutation ServiceDomainCreate($input: ServiceDomainCreateInput!) {
  serviceDomainCreate(input: $input) { id domain suffix targetPort }
}"""
SERVICE_DOMAIN_UPDATE = """
mutation ServiceDomainUpdate($input: ServiceDomainUpdateInput!) { serviceDomainUpdate(input: $input) }"""
SERVICE_DOMAIN_DELETE = "mutation ServiceDomainDelete($id: String!) { serviceDomainDelete(id: $id) }"
CUSTOM_DOMAIN_CREATE = """
mutation CustomDomainCreate($input: CustomDomainCreateInput!) {
  customDomainCreate(input: $input) { id domain status { verificationDnsHost verificationToken
    dnsRecords { hostlabel requiredValue recordType } } }
}"""
CUSTOM_DOMAIN = """
query CustomDomain($id: String!, $projectId: String!) {
  customDomain(id: $id, projectId: $projectId) { id domain status { verified certificateStatus } }
}"""
CUSTOM_DOMAIN_UPDATE = """
mutation CustomDomainUpdate($id: String!, $e: String!, $p: Int) {
  customDomainUpdate(id: $id, environmentId: $e, targetPort: $p)
}"""
CUSTOM_DOMAIN_DELETE = "mutation CustomDomainDelete($id: String!) { customDomainDelete(id: $id) }"
DEPLOYMENTS = """
query Deployments($input: DeploymentListInput!, $first: Int, $after: String) {
  deployments(input: $input, first: $first, after: $after) { edges { node { id status createdAt statusUpdatedAt
    url staticUrl canRedeploy canRollback deploymentStopped meta } } pageInfo { hasNextPage endCursor } }
}"""
DEPLOYMENT = """
query Deployment($id: String!) {
  deployment(id: $id) { id status statusUpdatedAt serviceId environmentId instances { id status } }
}"""
DEPLOY_V2 = """
mutation ServiceInstanceDeployV2($serviceId: String!, $environmentId: String!, $commitSha: String) {
  serviceInstanceDeployV2(serviceId: $serviceId, environmentId: $environmentId, commitSha: $commitSha)
}"""
INSTANCE_REDEPLOY = """
mutation ServiceInstanceRedeploy($serviceId: String!, $environmentId: String!) {
  serviceInstanceRedeploy(serviceId: $serviceId, environmentId: $environmentId)
}"""
DEPLOYMENT_ROLLBACK = "mutation DeploymentRollback($id: String!) { deploymentRollback(id: $id) }"
DEPLOYMENT_TRIGGERS = """
query DeploymentTriggers($projectId: String!, $environmentId: String!, $serviceId: String!) {
  deploymentTriggers(projectId: $projectId, environmentId: $environmentId, serviceId: $serviceId) {
    edges { node { id provider repository branch checkSuites environmentId serviceId projectId } } }
}"""
TRIGGER_CREATE = """
mutation DeploymentTriggerCreate($input: DeploymentTriggerCreateInput!) {
  deploymentTriggerCreate(input: $input) { id branch repository provider }
}"""
TRIGGER_UPDATE = """
mutation DeploymentTriggerUpdate($id: String!, $input: DeploymentTriggerUpdateInput!) {
  deploymentTriggerUpdate(id: $id, input: $input) { id branch }
}"""
PROJECT_TOKEN_CREATE = """
mutation ProjectTokenCreate($input: ProjectTokenCreateInput!) { projectTokenCreate(input: $input) }"""
PROJECT_TOKENS = """
query ProjectTokens($projectId: String!) {
  projectTokens(projectId: $projectId, first: 100) { edges { node { id name environmentId displayToken createdAt } } }
}"""
PROJECT_TOKEN_DELETE = "mutation ProjectTokenDelete($id: String!) { projectTokenDelete(id: $id) }"
PROJECT_TOKEN_CTX = """
query ProjectTokenCtx { projectToken { id projectId environmentId project { id name } environment { id name } } }"""
TEMPLATE_BY_CODE = "query TemplateByCode($code: String!) { template(code: $code) { id name serializedConfig } }"
TEMPLATE_DEPLOY_V2 = """
mutation TemplateDeployV2($input: TemplateDeployV2Input!) {
  templateDeployV2(input: $input) { projectId workflowId }
}"""
WORKFLOW_STATUS = (
    "query WorkflowStatus($workflowId: String!) { workflowStatus(workflowId: $workflowId) { status error } }"
)
VOLUME_CREATE = "mutation VolumeCreate($input: VolumeCreateInput!) { volumeCreate(input: $input) { id name } }"
VOLUME_DELETE = "mutation VolumeDelete($volumeId: String!) { volumeDelete(volumeId: $volumeId) }"
ENV_VOLUME_INSTANCES = """
query EnvVolumeInstances($environmentId: String!) {
  environment(id: $environmentId) { volumeInstances(first: 100) { edges { node {
    id volumeId serviceId mountPath sizeMB currentSizeMB state region } } } }
}"""
VOLUME_INSTANCE = """
query VolumeInstance($id: String!) {
  volumeInstance(id: $id) { id volumeId serviceId environmentId mountPath state }
}"""
BACKUP_SCHEDULE_UPDATE = """
mutation BackupScheduleUpdate($volumeInstanceId: String!, $kinds: [VolumeInstanceBackupScheduleKind!]!) {
  volumeInstanceBackupScheduleUpdate(volumeInstanceId: $volumeInstanceId, kinds: $kinds)
}"""
BACKUP_SCHEDULE_LIST = """
query BackupScheduleList($volumeInstanceId: String!) {
  volumeInstanceBackupScheduleList(volumeInstanceId: $volumeInstanceId) { id kind name cron retentionSeconds createdAt }
}"""
BACKUP_CREATE = """
mutation BackupCreate($volumeInstanceId: String!, $name: String) {
  volumeInstanceBackupCreate(volumeInstanceId: $volumeInstanceId, name: $name) { workflowId }
}"""
BACKUP_LIST = """
query BackupList($volumeInstanceId: String!) {
  volumeInstanceBackupList(volumeInstanceId: $volumeInstanceId) { id name createdAt expiresAt externalId usedMB }
}"""
BACKUP_RESTORE = """
mutation BackupRestore($volumeInstanceId: String!, $volumeInstanceBackupId: String!) {
  volumeInstanceBackupRestore(volumeInstanceId: $volumeInstanceId, volumeInstanceBackupId: $volumeInstanceBackupId) {
    workflowId }
}"""
BACKUP_DELETE = """
mutation BackupDelete($volumeInstanceId: String!, $volumeInstanceBackupId: String!) {
  volumeInstanceBackupDelete(volumeInstanceId: $volumeInstanceId, volumeInstanceBackupId: $volumeInstanceBackupId) {
    workflowId }
}"""
BACKUP_LOCK = """
mutation BackupLock($volumeInstanceId: String!, $volumeInstanceBackupId: String!) {
  volumeInstanceBackupLock(volumeInstanceId: $volumeInstanceId, volumeInstanceBackupId: $volumeInstanceBackupId)
}"""
ENVIRONMENT_CONFIG = "query EnvironmentConfig($id: String!) { environment(id: $id) { id config(decryptVariables: false) configEtag unmergedChangesCount } }"  # noqa: E501
ENVIRONMENT_PATCH_COMMIT = """
mutation EnvironmentPatchCommit($environmentId: String!, $patch: EnvironmentConfig, $commitMessage: String) {
  environmentPatchCommit(environmentId: $environmentId, patch: $patch, commitMessage: $commitMessage)
}"""
ENVIRONMENT_PATCH = (
    "query EnvironmentPatch($id: String!) { environmentPatch(id: $id) { id status lastAppliedError appliedAt } }"
)

# ---- the remaining Appendix A operations (exercised once each by test_every_appendix_a_operation)
ME = "query Me { me { id email workspaces { id name } } }"
API_TOKEN_CTX = "query ApiTokenCtx { apiToken { workspaces { id name } } }"
PROJECT_UPDATE = """
mutation ProjectUpdate($id: String!, $input: ProjectUpdateInput!) {
  projectUpdate(id: $id, input: $input) { id name description }
}"""
PROJECTS = """
query Projects($workspaceId: String, $after: String) {
  projects(workspaceId: $workspaceId, first: 50, after: $after) {
    edges { node { id name } } pageInfo { hasNextPage endCursor }
  }
}"""
ENVIRONMENTS = """
query Environments($projectId: String!, $after: String) {
  environments(projectId: $projectId, isEphemeral: false, first: 100, after: $after) {
    edges { node { id name } } pageInfo { hasNextPage endCursor } }
}"""
ENVIRONMENT_RENAME = """
mutation EnvironmentRename($id: String!, $input: EnvironmentRenameInput!) {
  environmentRename(id: $id, input: $input) { id name }
}"""
ENVIRONMENT_DELETE = "mutation EnvironmentDelete($id: String!) { environmentDelete(id: $id) }"
SERVICE_UPDATE = """
mutation ServiceUpdate($id: String!, $input: ServiceUpdateInput!) {
  serviceUpdate(id: $id, input: $input) { id name }
}"""
SERVICE_CONNECT = """
mutation ServiceConnect($id: String!, $input: ServiceConnectInput!) { serviceConnect(id: $id, input: $input) { id } }"""
SERVICE_DISCONNECT = "mutation ServiceDisconnect($id: String!) { serviceDisconnect(id: $id) { id } }"
SERVICE_DELETE = """
mutation ServiceDelete($id: String!, $environmentId: String) {
  serviceDelete(id: $id, environmentId: $environmentId)
}"""
INSTANCE_DEPLOY = """
mutation ServiceInstanceDeploy($serviceId: String!, $environmentId: String!, $latestCommit: Boolean) {
  serviceInstanceDeploy(serviceId: $serviceId, environmentId: $environmentId, latestCommit: $latestCommit)
}"""
DEPLOYMENT_REDEPLOY = """
mutation DeploymentRedeploy($id: String!) { deploymentRedeploy(id: $id, usePreviousImageTag: false) { id status } }"""
DEPLOYMENT_CANCEL = "mutation DeploymentCancel($id: String!) { deploymentCancel(id: $id) }"
DEPLOYMENT_RESTART = "mutation DeploymentRestart($id: String!) { deploymentRestart(id: $id) }"
DEPLOYMENT_STOP = "mutation DeploymentStop($id: String!) { deploymentStop(id: $id) }"
DEPLOYMENT_REMOVE = "mutation DeploymentRemove($id: String!) { deploymentRemove(id: $id) }"
ENV_TRIGGERS_DEPLOY = """
mutation EnvironmentTriggersDeploy($input: EnvironmentTriggersDeployInput!) {
  environmentTriggersDeploy(input: $input)
}"""
TRIGGER_DELETE = "mutation DeploymentTriggerDelete($id: String!) { deploymentTriggerDelete(id: $id) }"
AUTO_DEPLOY = """
mutation AutoDeploy($input: ServiceInstanceAutoDeployUpdateInput!) {
  serviceInstanceAutoDeployUpdate(input: $input) { enabled }
}"""
VOLUME_UPDATE = """
mutation VolumeUpdate($volumeId: String!, $input: VolumeUpdateInput!) {
  volumeUpdate(volumeId: $volumeId, input: $input) { id name }
}"""
VOLUME_INSTANCE_UPDATE = """
mutation VolumeInstanceUpdate($volumeId: String!, $environmentId: String, $input: VolumeInstanceUpdateInput!) {
  volumeInstanceUpdate(volumeId: $volumeId, environmentId: $environmentId, input: $input)
}"""
TCP_PROXIES = """
query TcpProxies($serviceId: String!, $environmentId: String!) {
  tcpProxies(serviceId: $serviceId, environmentId: $environmentId) { id domain proxyPort applicationPort syncStatus }
}"""
TCP_PROXY_CREATE = """
mutation TcpProxyCreate($input: TCPProxyCreateInput!) {
  tcpProxyCreate(input: $input) { id domain proxyPort applicationPort }
}"""
TCP_PROXY_DELETE = "mutation TcpProxyDelete($id: String!) { tcpProxyDelete(id: $id) }"
REGIONS = "query Regions { regions { id name region location country } }"

ALL_DOCUMENTS = {k: v for k, v in dict(globals()).items() if k.isupper() and isinstance(v, str) and "{" in v}


# ---------------------------------------------------------------------------------------------- helpers


class Api:
    """A tiny GraphQL client over httpx, the way the provider talks to Railway."""

    def __init__(self, url: str, *, token: str | None = TOKEN, project_token: str | None = None) -> None:
        headers = {}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if project_token is not None:
            headers["Project-Access-Token"] = project_token
        self.url = url
        self.http = httpx.Client(headers=headers, timeout=10)

    def post(self, query: str, variables: dict[str, Any] | None = None, **kw: Any) -> httpx.Response:
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        return self.http.post(self.url, json=body, **kw)

    def gql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        r = self.post(query, variables)
        assert r.status_code == 200, r.text
        return r.json()

    def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = self.gql(query, variables)
        assert "errors" not in body, body["errors"]
        return body["data"]

    def error(self, query: str, variables: dict[str, Any] | None = None) -> str:
        body = self.gql(query, variables)
        assert body["data"] is None, body
        assert len(body["errors"]) == 1, body
        return body["errors"][0]["message"]

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def fake() -> Iterator[FakeRailway]:
    with FakeRailway(token=TOKEN, workspace_id="ws-test", deploy_polls_to_finish=3) as f:
        yield f
    assert f.internal_errors == []
    assert f.unimplemented == []


@pytest.fixture
def api(fake: FakeRailway) -> Iterator[Api]:
    client = Api(fake.url)
    yield client
    client.close()


def make_project(api: Api, name: str = "maya") -> tuple[str, str]:
    p = api.data(PROJECT_CREATE, {"input": {"name": name, "workspaceId": "ws-test"}})["projectCreate"]
    envs = p["environments"]["edges"]
    assert [e["node"]["name"] for e in envs] == ["production"]
    return p["id"], envs[0]["node"]["id"]


def make_env(api: Api, project_id: str, name: str = "staging") -> str:
    return api.data(ENVIRONMENT_CREATE, {"input": {"projectId": project_id, "name": name}})["environmentCreate"]["id"]


def make_service(api: Api, project_id: str, name: str = "api", image: str | None = "ghcr.io/acme/api:1") -> str:
    inp: dict[str, Any] = {"projectId": project_id, "name": name}
    if image:
        inp["source"] = {"image": image}
    return api.data(SERVICE_CREATE, {"input": inp})["serviceCreate"]["id"]


def poll_until_done(api: Api, deployment_id: str, limit: int = 20) -> list[str]:
    seen = []
    for _ in range(limit):
        status = api.data(DEPLOYMENT, {"id": deployment_id})["deployment"]["status"]
        seen.append(status)
        if status in ("SUCCESS", "FAILED", "CRASHED", "REMOVED"):
            return seen
    raise AssertionError(f"deployment never finished: {seen}")


# ------------------------------------------------------------------------------------------------ tests


def test_all_test_documents_are_valid_against_the_real_schema() -> None:
    schema = load_schema()
    assert len(ALL_DOCUMENTS) > 50
    for name, doc in ALL_DOCUMENTS.items():
        errors = graphql.validate(schema, graphql.parse(doc))
        assert errors == [], (name, errors)


def test_lifecycle_project_to_successful_deploy(fake: FakeRailway, api: Api) -> None:
    project_id, prod_id = make_project(api)
    staging_id = make_env(api, project_id)
    service_id = make_service(api, project_id, "api", image=None)

    # serviceCreate made an instance in both (non-fork) environments
    for env_id in (prod_id, staging_id):
        nodes = api.data(ENV_SERVICE_INSTANCES, {"environmentId": env_id})["environment"]["serviceInstances"]["edges"]
        assert [(n["node"]["serviceId"], n["node"]["serviceName"]) for n in nodes] == [(service_id, "api")]

    # per-environment settings
    assert api.data(
        SERVICE_INSTANCE_UPDATE,
        {
            "serviceId": service_id,
            "environmentId": staging_id,
            "input": {
                "source": {"image": "ghcr.io/acme/api:2"},
                "startCommand": "uvicorn app:app",
                "healthcheckPath": "/api/health",
                "healthcheckTimeout": 120,
                "preDeployCommand": ["alembic upgrade head"],
                "numReplicas": 2,
                "region": "europe-west4-drams3a",
                "restartPolicyType": "ALWAYS",
            },
        },
    ) == {"serviceInstanceUpdate": True}
    assert api.data(
        LIMITS_UPDATE,
        {"input": {"serviceId": service_id, "environmentId": staging_id, "vCPUs": 2, "memoryGB": 1}},
    ) == {"serviceInstanceLimitsUpdate": True}
    got = api.data(SERVICE_INSTANCE, {"serviceId": service_id, "environmentId": staging_id})
    si = got["serviceInstance"]
    assert si["source"] == {"image": "ghcr.io/acme/api:2", "repo": None}
    assert si["startCommand"] == "uvicorn app:app"
    assert si["healthcheckPath"] == "/api/health"
    assert si["healthcheckTimeout"] == 120
    assert si["preDeployCommand"] == ["alembic upgrade head"]
    assert (si["numReplicas"], si["region"], si["restartPolicyType"]) == (2, "europe-west4-drams3a", "ALWAYS")
    assert si["latestDeployment"] is None
    assert got["serviceInstanceLimitOverride"] == {"containers": {"cpu": 2.0, "memoryBytes": 1_000_000_000}}
    prod = api.data(SERVICE_INSTANCE, {"serviceId": service_id, "environmentId": prod_id})["serviceInstance"]
    assert prod["healthcheckPath"] is None and prod["numReplicas"] == 1 and prod["source"] is None
    assert (
        api.data(SERVICE_INSTANCE, {"serviceId": service_id, "environmentId": prod_id})["serviceInstanceLimitOverride"]
        is None
    )

    # variables (skipDeploys: no deployment)
    vin = {"projectId": project_id, "environmentId": staging_id, "serviceId": service_id}
    api.data(
        VARIABLE_COLLECTION_UPSERT,
        {"input": {**vin, "variables": {"A": "1", "B": "${{A}}-x"}, "replace": True, "skipDeploys": True}},
    )
    assert api.data(VARIABLES, vin)["variables"] == {"A": "1", "B": "${{A}}-x"}
    assert api.data(VARIABLES_RENDERED, vin)["variables"] == {"A": "1", "B": "1-x"}
    assert fake.state.deployments == {}

    # service domain with a target port
    dom = api.data(
        SERVICE_DOMAIN_CREATE, {"input": {"serviceId": service_id, "environmentId": staging_id, "targetPort": 8080}}
    )["serviceDomainCreate"]
    assert re.fullmatch(r"api-[0-9a-f]+\.up\.railway\.app", dom["domain"])
    assert (dom["suffix"], dom["targetPort"]) == ("up.railway.app", 8080)
    domains = api.data(DOMAINS, {"projectId": project_id, "environmentId": staging_id, "serviceId": service_id})
    assert [d["id"] for d in domains["domains"]["serviceDomains"]] == [dom["id"]]
    assert domains["domains"]["customDomains"] == []
    assert api.data(
        SERVICE_DOMAIN_UPDATE,
        {
            "input": {
                "serviceDomainId": dom["id"],
                "domain": "maya-staging.up.railway.app",
                "environmentId": staging_id,
                "serviceId": service_id,
                "targetPort": 8000,
            }
        },
    )
    domains = api.data(DOMAINS, {"projectId": project_id, "environmentId": staging_id, "serviceId": service_id})
    assert domains["domains"]["serviceDomains"][0]["domain"] == "maya-staging.up.railway.app"
    assert domains["domains"]["serviceDomains"][0]["targetPort"] == 8000

    # deployment trigger
    trig = api.data(
        TRIGGER_CREATE,
        {
            "input": {
                **vin,
                "provider": "github",
                "repository": "acme/maya",
                "branch": "develop",
                "checkSuites": True,
            }
        },
    )["deploymentTriggerCreate"]
    assert (trig["branch"], trig["repository"], trig["provider"]) == ("develop", "acme/maya", "github")
    api.data(TRIGGER_UPDATE, {"id": trig["id"], "input": {"branch": "main", "checkSuites": False}})
    edges = api.data(DEPLOYMENT_TRIGGERS, vin)["deploymentTriggers"]["edges"]
    assert [(e["node"]["branch"], e["node"]["checkSuites"]) for e in edges] == [("main", False)]

    # project token: value returned once, masked in listings
    value = api.data(
        PROJECT_TOKEN_CREATE, {"input": {"projectId": project_id, "environmentId": staging_id, "name": "ci-staging"}}
    )["projectTokenCreate"]
    assert isinstance(value, str) and len(value) >= 32
    toks = api.data(PROJECT_TOKENS, {"projectId": project_id})["projectTokens"]["edges"]
    assert len(toks) == 1 and toks[0]["node"]["name"] == "ci-staging"
    assert toks[0]["node"]["environmentId"] == staging_id
    assert value not in toks[0]["node"]["displayToken"]

    # deploy, polled QUEUED -> BUILDING -> DEPLOYING -> SUCCESS (deploy_polls_to_finish=3)
    dep_id = api.data(DEPLOY_V2, {"serviceId": service_id, "environmentId": staging_id})["serviceInstanceDeployV2"]
    assert fake.state.deployments[dep_id]["status"] == "QUEUED"
    assert poll_until_done(api, dep_id) == ["BUILDING", "DEPLOYING", "SUCCESS"]
    d = api.data(DEPLOYMENT, {"id": dep_id})["deployment"]
    assert (d["serviceId"], d["environmentId"]) == (service_id, staging_id)
    assert [i["status"] for i in d["instances"]] == ["RUNNING", "RUNNING"]
    latest = api.data(SERVICE_INSTANCE, {"serviceId": service_id, "environmentId": staging_id})["serviceInstance"]
    assert latest["latestDeployment"]["id"] == dep_id
    assert latest["latestDeployment"]["meta"]["serviceManifest"]["deploy"]["healthcheckPath"] == "/api/health"
    assert fake.invalid_documents == []
    assert fake.count("serviceInstanceDeployV2") == 1
    assert fake.count("deployment") == 4
    assert fake.count(mutations_only=True) == 12


def test_project_read_back_and_primary_environment(fake: FakeRailway, api: Api) -> None:
    project_id, prod_id = make_project(api)
    make_env(api, project_id)
    make_service(api, project_id, "web")
    p = api.data(PROJECT, {"id": project_id})["project"]
    assert p["primaryEnvironmentId"] == prod_id
    assert p["workspaceId"] == "ws-test"
    assert [e["node"]["name"] for e in p["environments"]["edges"]] == ["production", "staging"]
    assert [s["node"]["name"] for s in p["services"]["edges"]] == ["web"]
    assert p["environments"]["pageInfo"] == {
        "hasNextPage": False,
        "endCursor": p["environments"]["pageInfo"]["endCursor"],
    }


def test_every_appendix_a_operation(fake: FakeRailway, api: Api) -> None:
    fake.deploy_polls_to_finish = 1
    assert api.data(ME)["me"]["workspaces"] == [{"id": "ws-test", "name": "Fake Workspace"}]
    assert api.data(API_TOKEN_CTX)["apiToken"]["workspaces"][0]["id"] == "ws-test"
    assert "us-west2" in {r["id"] for r in api.data(REGIONS)["regions"]}
    project_id, prod_id = make_project(api)
    other_id, _ = make_project(api, "other")
    upd = api.data(PROJECT_UPDATE, {"id": project_id, "input": {"name": "maya2", "description": "d"}})
    assert upd["projectUpdate"] == {"id": project_id, "name": "maya2", "description": "d"}
    first = api.data(PROJECTS, {"workspaceId": "ws-test"})["projects"]
    assert [e["node"]["id"] for e in first["edges"]] == [project_id, other_id]
    staging_id = make_env(api, project_id, "stage")
    renamed = api.data(ENVIRONMENT_RENAME, {"id": staging_id, "input": {"name": "staging"}})["environmentRename"]
    assert renamed["name"] == "staging"
    envs = api.data(ENVIRONMENTS, {"projectId": project_id})["environments"]["edges"]
    assert [e["node"]["name"] for e in envs] == ["production", "staging"]

    service_id = make_service(api, project_id, "api", image=None)
    assert (
        api.data(SERVICE_UPDATE, {"id": service_id, "input": {"name": "backend"}})["serviceUpdate"]["name"] == "backend"
    )
    api.data(SERVICE_CONNECT, {"id": service_id, "input": {"repo": "acme/maya", "branch": "main"}})
    key = {"serviceId": service_id, "environmentId": prod_id}
    vin = {"projectId": project_id, **key}
    trig = api.data(DEPLOYMENT_TRIGGERS, vin)["deploymentTriggers"]["edges"]
    assert [(t["node"]["repository"], t["node"]["branch"]) for t in trig] == [("acme/maya", "main")]
    assert api.data(ENV_TRIGGERS_DEPLOY, {"input": vin}) == {"environmentTriggersDeploy": True}
    assert api.data(AUTO_DEPLOY, {"input": {**vin, "enabled": False}})["serviceInstanceAutoDeployUpdate"] == {
        "enabled": False
    }
    assert api.data(INSTANCE_DEPLOY, {**key, "latestCommit": True}) == {"serviceInstanceDeploy": True}
    dep = api.data(DEPLOYMENTS, {"input": {"serviceId": service_id, "environmentId": prod_id}, "first": 1})
    dep_id = dep["deployments"]["edges"][0]["node"]["id"]
    assert poll_until_done(api, dep_id) == ["SUCCESS"]
    assert api.data(DEPLOYMENT_RESTART, {"id": dep_id}) == {"deploymentRestart": True}
    again = api.data(DEPLOYMENT_REDEPLOY, {"id": dep_id})["deploymentRedeploy"]
    assert again["status"] == "QUEUED"
    assert api.data(DEPLOYMENT_CANCEL, {"id": again["id"]}) == {"deploymentCancel": True}
    assert fake.state.deployments[again["id"]]["status"] == "REMOVED"
    assert api.data(DEPLOYMENT_STOP, {"id": dep_id}) == {"deploymentStop": True}
    assert api.data(DEPLOYMENT_REMOVE, {"id": dep_id}) == {"deploymentRemove": True}
    listed = api.data(DEPLOYMENTS, {"input": {"serviceId": service_id}})["deployments"]["edges"]
    assert dep_id not in {e["node"]["id"] for e in listed}  # removed deployments are hidden
    api.data(TRIGGER_DELETE, {"id": trig[0]["node"]["id"]})
    assert api.data(DEPLOYMENT_TRIGGERS, vin)["deploymentTriggers"]["edges"] == []
    api.data(SERVICE_DISCONNECT, {"id": service_id})
    assert api.data(SERVICE_INSTANCE, key)["serviceInstance"]["source"] is None

    proxy = api.data(TCP_PROXY_CREATE, {"input": {**key, "applicationPort": 5432}})["tcpProxyCreate"]
    assert [p["id"] for p in api.data(TCP_PROXIES, key)["tcpProxies"]] == [proxy["id"]]
    api.data(TCP_PROXY_DELETE, {"id": proxy["id"]})
    assert api.data(TCP_PROXIES, key)["tcpProxies"] == []

    vol = api.data(VOLUME_CREATE, {"input": {"projectId": project_id, "environmentId": prod_id, "mountPath": "/d"}})
    vol_id = vol["volumeCreate"]["id"]
    assert api.data(VOLUME_UPDATE, {"volumeId": vol_id, "input": {"name": "data"}})["volumeUpdate"]["name"] == "data"
    api.data(
        VOLUME_INSTANCE_UPDATE,
        {"volumeId": vol_id, "environmentId": prod_id, "input": {**{"serviceId": service_id}, "mountPath": "/data"}},
    )
    vis = api.data(ENV_VOLUME_INSTANCES, {"environmentId": prod_id})["environment"]["volumeInstances"]["edges"]
    assert [(v["node"]["serviceId"], v["node"]["mountPath"]) for v in vis] == [(service_id, "/data")]

    assert api.data(SERVICE_DELETE, {"id": service_id, "environmentId": staging_id}) == {"serviceDelete": True}
    assert (service_id, prod_id) in fake.state.instances and (service_id, staging_id) not in fake.state.instances
    assert api.data(SERVICE_DELETE, {"id": service_id}) == {"serviceDelete": True}
    assert api.data(ENVIRONMENT_DELETE, {"id": staging_id}) == {"environmentDelete": True}
    assert api.data(ENVIRONMENT, {"id": staging_id})["environment"]["deletedAt"]  # soft-deleted: readable by id
    assert staging_id not in {
        e["node"]["id"] for e in api.data(ENVIRONMENTS, {"projectId": project_id})["environments"]["edges"]
    }
    assert fake.invalid_documents == [] and fake.unmodeled_fields == []


def test_invalid_documents_are_rejected_and_recorded(fake: FakeRailway, api: Api) -> None:
    bad_field = 'query Bad { project(id: "x") { id branch } }'
    r = api.post(bad_field)
    assert r.status_code == 400
    body = r.json()
    assert "data" not in body
    assert "Cannot query field 'branch' on type 'Project'" in body["errors"][0]["message"]

    syntax = "query { project(id: "
    assert api.post(syntax).status_code == 400

    # a variable coercion error: the real DeploymentStatusInput has no successfulOnly
    coercion = DEPLOYMENTS
    r = api.post(coercion, {"input": {"status": {"successfulOnly": True}}})
    assert r.status_code == 400 and "data" not in r.json()
    assert "successfulOnly" in r.json()["errors"][0]["message"]

    # deploymentRollback returns Boolean!: selecting fields on it is invalid (docs example)
    r = api.post('mutation { deploymentRollback(id: "x") { id status } }')
    assert r.status_code == 400

    assert fake.invalid_documents == [
        bad_field,
        syntax,
        coercion,
        'mutation { deploymentRollback(id: "x") { id status } }',
    ]
    assert [q.http_status for q in fake.requests] == [400, 400, 400, 400]
    assert fake.requests[0].operation_name == "Bad" and fake.requests[0].root_fields == ["project"]


def test_not_found_shape(fake: FakeRailway, api: Api) -> None:
    project_id, prod_id = make_project(api)
    service_id = make_service(api, project_id, image=None)
    cases = [
        (PROJECT, {"id": "nope"}, "Project not found", ["project"]),
        (ENVIRONMENT, {"id": "nope"}, "Environment not found", ["environment"]),
        (SERVICE, {"id": "nope"}, "Service not found", ["service"]),
        (DEPLOYMENT, {"id": "nope"}, "Deployment not found", ["deployment"]),
        (CUSTOM_DOMAIN, {"id": "nope", "projectId": project_id}, "Custom domain not found", ["customDomain"]),
        (PROJECT_DELETE, {"id": "nope"}, "Project not found", ["projectDelete"]),
        (CUSTOM_DOMAIN_DELETE, {"id": "nope"}, "Custom domain not found", ["customDomainDelete"]),
        (VOLUME_DELETE, {"volumeId": "nope"}, "Volume not found", ["volumeDelete"]),
    ]
    for doc, variables, message, path in cases:
        r = api.post(doc, variables)
        assert r.status_code == 200
        body = r.json()
        assert body["data"] is None, doc
        assert [(e["message"], e["path"]) for e in body["errors"]] == [(message, path)]
    fake.delete_behind("environment", prod_id)
    msg = api.error(SERVICE_INSTANCE, {"serviceId": service_id, "environmentId": prod_id})
    assert msg == "Environment not found"
    staging_id = make_env(api, project_id)
    api.data(
        "mutation D($id: String!, $e: String) { serviceDelete(id: $id, environmentId: $e) }",
        {"id": service_id, "e": staging_id},
    )
    assert api.error(SERVICE_INSTANCE, {"serviceId": service_id, "environmentId": staging_id}) == (
        "ServiceInstance not found"
    )
    assert fake.invalid_documents == []


def test_fault_http_429_with_retry_after(fake: FakeRailway, api: Api) -> None:
    fake.inject("http", status=429, retry_after=2, match="Project")
    make_project(api)  # does not match: not consumed
    r = api.post(PROJECT, {"id": "x"})
    assert r.status_code == 429
    assert r.headers["Retry-After"] == "2"
    assert r.headers["X-RateLimit-Remaining"] == "0"
    # consumed: the next request is answered normally
    assert api.post(PROJECT, {"id": "x"}).json()["errors"][0]["message"] == "Project not found"
    assert [q.fault for q in fake.requests] == [None, "http", None]
    assert fake.count("Project") == 2 and fake.count("project") == 2


def test_fault_cloudflare_1015(fake: FakeRailway, api: Api) -> None:
    fake.inject("cloudflare_1015", times=2)
    for _ in range(2):
        r = api.post(PROJECT, {"id": "x"})
        assert r.status_code == 429
        assert r.text == "error code: 1015"
        assert "retry-after" not in r.headers
        assert not any(h.lower().startswith("x-ratelimit") for h in r.headers)
    assert api.post(PROJECT, {"id": "x"}).status_code == 200


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_fault_http_5xx(fake: FakeRailway, api: Api, status: int) -> None:
    fake.inject("http", status=status, match="projectCreate")
    r = api.post(PROJECT_CREATE, {"input": {"name": "x"}})
    assert r.status_code == status
    assert r.text == f"error code: {status}"
    assert fake.state.projects == {}
    assert fake.requests[0].http_status == status


def test_fault_drop_before_applying(fake: FakeRailway, api: Api) -> None:
    fake.inject("drop", match="ProjectCreate")
    with pytest.raises(httpx.RemoteProtocolError):
        api.post(PROJECT_CREATE, {"input": {"name": "dropped"}})
    assert fake.state.projects == {}
    assert fake.requests[-1].http_status is None and fake.requests[-1].fault == "drop"
    make_project(api)  # the client recovers on a new connection
    assert len(fake.state.projects) == 1


def test_fault_drop_after_applying(fake: FakeRailway, api: Api) -> None:
    fake.inject("drop_after", match="projectCreate")
    with pytest.raises(httpx.RemoteProtocolError):
        api.post(PROJECT_CREATE, {"input": {"name": "applied"}})
    assert [p["name"] for p in fake.state.projects.values()] == ["applied"]


def test_fault_slow(fake: FakeRailway, api: Api) -> None:
    fake.inject("slow", delay=0.4, match="Project")
    t0 = time.monotonic()
    assert api.post(PROJECT, {"id": "x"}).status_code == 200
    assert time.monotonic() - t0 >= 0.4
    fake.inject("slow", delay=1.5)
    with pytest.raises(httpx.ReadTimeout):
        api.post(PROJECT, {"id": "x"}, timeout=0.3)


def test_fault_graphql_error(fake: FakeRailway, api: Api) -> None:
    fake.inject("graphql_error", match="volumeCreate", message="creating volumes too quickly")
    r = api.post(VOLUME_CREATE, {"input": {"projectId": "p", "mountPath": "/data"}})
    assert r.status_code == 200
    assert r.json() == {
        "data": None,
        "errors": [{"message": "creating volumes too quickly", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}],
    }
    with pytest.raises(ValueError):
        fake.inject("nonsense")


def test_auth_failures(fake: FakeRailway) -> None:
    for client in (
        Api(fake.url, token=None),
        Api(fake.url, token="wrong"),
        Api(fake.url, token=None, project_token="x"),
    ):
        r = client.post(PROJECT_CREATE, {"input": {"name": "x"}})
        assert r.status_code == 200
        assert r.json() == {"data": None, "errors": [{"message": "Not Authorized"}]}
        client.close()
    assert fake.state.projects == {}
    assert [q.auth_kind for q in fake.requests] == ["none", "invalid", "invalid"]


def test_project_token_scope(fake: FakeRailway, api: Api) -> None:
    project_id, prod_id = make_project(api)
    staging_id = make_env(api, project_id)
    service_id = make_service(api, project_id)
    api.data(
        VARIABLE_UPSERT,
        {
            "input": {
                "projectId": project_id,
                "environmentId": staging_id,
                "serviceId": service_id,
                "name": "X",
                "value": "1",
                "skipDeploys": True,
            }
        },
    )
    value = api.data(
        PROJECT_TOKEN_CREATE, {"input": {"projectId": project_id, "environmentId": staging_id, "name": "ci"}}
    )["projectTokenCreate"]
    ci = Api(fake.url, token=None, project_token=value)
    try:
        ctx = ci.data(PROJECT_TOKEN_CTX)["projectToken"]
        assert (ctx["projectId"], ctx["environmentId"], ctx["environment"]["name"]) == (
            project_id,
            staging_id,
            "staging",
        )
        dep = ci.data(DEPLOY_V2, {"serviceId": service_id, "environmentId": staging_id})["serviceInstanceDeployV2"]
        assert ci.data(DEPLOYMENT, {"id": dep})["deployment"]["id"] == dep
        assert ci.data(INSTANCE_REDEPLOY, {"serviceId": service_id, "environmentId": staging_id})
        listed = ci.data(DEPLOYMENTS, {"input": {"projectId": project_id}})["deployments"]["edges"]
        assert {e["node"]["id"] for e in listed} <= {
            d["id"] for d in fake.state.deployments.values() if d["environmentId"] == staging_id
        }
        vin = {"projectId": project_id, "environmentId": staging_id, "serviceId": service_id}
        assert ci.data(VARIABLES, vin)["variables"] == {"X": "1"}
        # outside its environment / not deployment-related
        assert ci.error(DEPLOY_V2, {"serviceId": service_id, "environmentId": prod_id}) == "Not Authorized"
        assert ci.error(VARIABLES, {**vin, "environmentId": prod_id}) == "Not Authorized"
        assert ci.error(PROJECT, {"id": project_id}) == "Not Authorized"
        assert ci.error(PROJECT_CREATE, {"input": {"name": "x"}}) == "Not Authorized"
        assert (
            ci.error(
                SERVICE_INSTANCE_UPDATE,
                {"serviceId": service_id, "environmentId": staging_id, "input": {"startCommand": "x"}},
            )
            == "Not Authorized"
        )
        assert ci.error(VARIABLE_UPSERT, {"input": {**vin, "name": "Y", "value": "2"}}) == "Not Authorized"
        prod_dep = api.data(DEPLOY_V2, {"serviceId": service_id, "environmentId": prod_id})["serviceInstanceDeployV2"]
        assert ci.error(DEPLOYMENT, {"id": prod_dep}) == "Not Authorized"
        # a deleted token is refused
        tok_id = next(iter(fake.state.project_tokens))
        api.data(PROJECT_TOKEN_DELETE, {"id": tok_id})
        r = ci.post(PROJECT_TOKEN_CTX)
        assert r.json() == {"data": None, "errors": [{"message": "Not Authorized"}]}
    finally:
        ci.close()
    assert {q.auth_kind for q in fake.requests if q.operation_name == "ProjectTokenCtx"} == {"project", "invalid"}


def test_variables_deploy_semantics_and_replace(fake: FakeRailway, api: Api) -> None:
    project_id, prod_id = make_project(api)
    service_id = make_service(api, project_id)
    assert len(fake.state.deployments) == 1  # serviceCreate with a source deploys
    vin = {"projectId": project_id, "environmentId": prod_id, "serviceId": service_id}
    api.data(VARIABLE_UPSERT, {"input": {**vin, "name": "A", "value": "1"}})  # skipDeploys defaults to false
    assert len(fake.state.deployments) == 2
    api.data(VARIABLE_COLLECTION_UPSERT, {"input": {**vin, "variables": {"B": "2"}, "skipDeploys": True}})
    assert len(fake.state.deployments) == 2
    assert api.data(VARIABLES, vin)["variables"] == {"A": "1", "B": "2"}
    api.data(VARIABLE_COLLECTION_UPSERT, {"input": {**vin, "variables": {"C": "3"}, "replace": True}})
    assert api.data(VARIABLES, vin)["variables"] == {"C": "3"}
    assert len(fake.state.deployments) == 3
    api.data(VARIABLE_DELETE, {"input": {**vin, "name": "C"}})
    assert api.data(VARIABLES, vin)["variables"] == {}
    assert api.error(VARIABLE_DELETE, {"input": {**vin, "name": "C"}}) == "Variable not found"
    # superseded deployments are REMOVED, only the newest is in flight
    statuses = [d["status"] for d in sorted(fake.state.deployments.values(), key=lambda d: d["_seq"])]
    assert statuses == ["REMOVED", "REMOVED", "REMOVED", "QUEUED"]
    # shared variables
    shared = {"projectId": project_id, "environmentId": prod_id}
    api.data(VARIABLE_UPSERT, {"input": {**shared, "name": "REGION", "value": "eu", "skipDeploys": True}})
    assert api.data(VARIABLES, shared)["variables"] == {"REGION": "eu"}
    api.data(VARIABLE_UPSERT, {"input": {**vin, "name": "R", "value": "${{shared.REGION}}", "skipDeploys": True}})
    assert api.data(VARIABLES_RENDERED, vin)["variables"] == {"R": "eu"}


def test_deployments_list_rollback_and_failures(fake: FakeRailway, api: Api) -> None:
    fake.deploy_polls_to_finish = 1
    project_id, prod_id = make_project(api)
    service_id = make_service(api, project_id, image=None)
    key = {"serviceId": service_id, "environmentId": prod_id}
    first = api.data(DEPLOY_V2, key)["serviceInstanceDeployV2"]
    assert poll_until_done(api, first) == ["SUCCESS"]
    second = api.data(DEPLOY_V2, key)["serviceInstanceDeployV2"]
    assert poll_until_done(api, second) == ["SUCCESS"]
    fake.fail_next_deploy("FAILED", service_id=service_id)
    third = api.data(DEPLOY_V2, key)["serviceInstanceDeployV2"]
    assert poll_until_done(api, third) == ["FAILED"]
    fake.fail_next_deploy("CRASHED")
    fourth = api.data(DEPLOY_V2, key)["serviceInstanceDeployV2"]
    assert poll_until_done(api, fourth) == ["CRASHED"]

    listed = api.data(DEPLOYMENTS, {"input": {"projectId": project_id, "serviceId": service_id}})
    nodes = [e["node"] for e in listed["deployments"]["edges"]]
    assert [n["id"] for n in nodes] == [fourth, third, second, first]  # newest first
    assert [n["status"] for n in nodes] == ["CRASHED", "FAILED", "SUCCESS", "REMOVED"]
    assert [n["canRollback"] for n in nodes] == [False, False, False, True]
    ok = api.data(DEPLOYMENTS, {"input": {"environmentId": prod_id, "status": {"in": ["SUCCESS"]}}})
    assert [e["node"]["id"] for e in ok["deployments"]["edges"]] == [second]
    not_failed = api.data(DEPLOYMENTS, {"input": {"serviceId": service_id, "status": {"notIn": ["FAILED", "CRASHED"]}}})
    assert [e["node"]["id"] for e in not_failed["deployments"]["edges"]] == [second, first]
    page = api.data(DEPLOYMENTS, {"input": {"serviceId": service_id}, "first": 2})["deployments"]
    assert len(page["edges"]) == 2 and page["pageInfo"]["hasNextPage"] is True
    page2 = api.data(
        DEPLOYMENTS, {"input": {"serviceId": service_id}, "first": 2, "after": page["pageInfo"]["endCursor"]}
    )
    assert [e["node"]["id"] for e in page2["deployments"]["edges"]] == [second, first]

    assert api.error(DEPLOYMENT_ROLLBACK, {"id": second}) == "Deployment cannot be rolled back"
    assert api.data(DEPLOYMENT_ROLLBACK, {"id": first}) == {"deploymentRollback": True}
    newest = api.data(DEPLOYMENTS, {"input": {"serviceId": service_id}, "first": 1})["deployments"]["edges"][0]["node"]
    assert newest["meta"]["reason"] == "rollback" and newest["meta"]["sourceDeploymentId"] == first
    assert poll_until_done(api, newest["id"]) == ["SUCCESS"]
    assert fake.state.deployments[second]["status"] == "REMOVED"


def test_environment_create_and_fork_semantics(fake: FakeRailway, api: Api) -> None:
    project_id, prod_id = make_project(api)
    svc_a = make_service(api, project_id, "a", image=None)
    staging_id = make_env(api, project_id, "staging")  # instances for existing services
    assert (svc_a, staging_id) in fake.state.instances
    fork = api.data(
        ENVIRONMENT_CREATE,
        {"input": {"projectId": project_id, "name": "pr-1", "sourceEnvironmentId": staging_id, "ephemeral": True}},
    )["environmentCreate"]["id"]
    assert (svc_a, fork) not in fake.state.instances  # Railway applies a fork later (asynchrony.py)
    api.data(ENVIRONMENT, {"id": fork})
    assert api.data(ENVIRONMENT, {"id": fork})["environment"]["id"] == fork  # the second read sees it applied
    assert (svc_a, fork) in fake.state.instances
    svc_b = make_service(api, project_id, "b", image=None)  # not created in the fork
    assert {(svc_b, prod_id), (svc_b, staging_id)} <= set(fake.state.instances)
    assert (svc_b, fork) not in fake.state.instances
    r = api.post(ENVIRONMENT_CREATE, {"input": {"projectId": project_id, "name": "staging"}})
    assert "already exists" in r.json()["errors"][0]["message"]


def test_custom_domain(fake: FakeRailway, api: Api) -> None:
    project_id, prod_id = make_project(api)
    service_id = make_service(api, project_id, image=None)
    cd = api.data(
        CUSTOM_DOMAIN_CREATE,
        {
            "input": {
                "projectId": project_id,
                "environmentId": prod_id,
                "serviceId": service_id,
                "domain": "api.example.com",
                "targetPort": 8000,
            }
        },
    )["customDomainCreate"]
    assert cd["domain"] == "api.example.com"
    assert cd["status"]["verificationDnsHost"] == "_railway-verify.api"
    assert cd["status"]["verificationToken"].startswith("railway-verify=")
    rec = cd["status"]["dnsRecords"][0]
    assert rec["recordType"] == "DNS_RECORD_TYPE_CNAME" and rec["hostlabel"] == "api"
    assert rec["requiredValue"].endswith(".up.railway.app")
    got = api.data(CUSTOM_DOMAIN, {"id": cd["id"], "projectId": project_id})["customDomain"]
    assert got["status"] == {"verified": False, "certificateStatus": "CERTIFICATE_STATUS_TYPE_VALIDATING_OWNERSHIP"}
    fake.verify_custom_domain(cd["id"])
    got = api.data(CUSTOM_DOMAIN, {"id": cd["id"], "projectId": project_id})["customDomain"]
    assert got["status"] == {"verified": True, "certificateStatus": "CERTIFICATE_STATUS_TYPE_VALID"}
    api.data(
        CUSTOM_DOMAIN_UPDATE,
        {"id": cd["id"], "e": prod_id, "p": 9000},
    )
    doms = api.data(DOMAINS, {"projectId": project_id, "environmentId": prod_id, "serviceId": service_id})["domains"]
    assert doms["customDomains"][0]["targetPort"] == 9000
    assert api.data(CUSTOM_DOMAIN_DELETE, {"id": cd["id"]}) == {"customDomainDelete": True}
    assert api.error(CUSTOM_DOMAIN_DELETE, {"id": cd["id"]}) == "Custom domain not found"


def test_postgres_template(fake: FakeRailway, api: Api) -> None:
    project_id, prod_id = make_project(api)
    tpl = api.data(TEMPLATE_BY_CODE, {"code": "postgres"})["template"]
    out = api.data(
        TEMPLATE_DEPLOY_V2,
        {
            "input": {
                "templateId": tpl["id"],
                "serializedConfig": tpl["serializedConfig"],
                "projectId": project_id,
                "environmentId": prod_id,
            }
        },
    )["templateDeployV2"]
    assert out["projectId"] == project_id
    wf = {"workflowId": out["workflowId"]}
    assert api.data(WORKFLOW_STATUS, wf)["workflowStatus"] == {"status": "Running", "error": None}
    assert api.data(WORKFLOW_STATUS, wf)["workflowStatus"] == {"status": "Complete", "error": None}
    assert api.data(WORKFLOW_STATUS, {"workflowId": "nope"})["workflowStatus"]["status"] == "NotFound"

    services = api.data(PROJECT, {"id": project_id})["project"]["services"]["edges"]
    assert [s["node"]["name"] for s in services] == ["Postgres"]
    pg_id = services[0]["node"]["id"]
    vols = api.data(ENV_VOLUME_INSTANCES, {"environmentId": prod_id})["environment"]["volumeInstances"]["edges"]
    assert [(v["node"]["serviceId"], v["node"]["mountPath"]) for v in vols] == [(pg_id, "/var/lib/postgresql/data")]

    vin = {"projectId": project_id, "environmentId": prod_id, "serviceId": pg_id}
    raw = api.data(VARIABLES, vin)["variables"]
    assert {"DATABASE_URL", "PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE"} <= set(raw)
    assert "${{" in raw["DATABASE_URL"]
    rendered = api.data(VARIABLES_RENDERED, vin)["variables"]
    password = rendered["PGPASSWORD"]
    assert len(password) >= 16
    assert rendered["DATABASE_URL"] == f"postgresql://postgres:{password}@postgres.railway.internal:5432/railway"

    # an app referencing ${{Postgres.DATABASE_URL}}: unrendered as written, rendered resolved
    app_id = make_service(api, project_id, "api")
    app = {"projectId": project_id, "environmentId": prod_id, "serviceId": app_id}
    api.data(
        VARIABLE_UPSERT,
        {"input": {**app, "name": "DATABASE_URL", "value": "${{Postgres.DATABASE_URL}}", "skipDeploys": True}},
    )
    assert api.data(VARIABLES, app)["variables"] == {"DATABASE_URL": "${{Postgres.DATABASE_URL}}"}
    assert api.data(VARIABLES_RENDERED, app)["variables"] == {"DATABASE_URL": rendered["DATABASE_URL"]}

    # a second deploy gets a distinct name — when its workflow completes (template deploys are asynchronous)
    api.data(
        TEMPLATE_DEPLOY_V2,
        {
            "input": {
                "templateId": tpl["id"],
                "serializedConfig": tpl["serializedConfig"],
                "projectId": project_id,
                "environmentId": prod_id,
            }
        },
    )
    assert sorted(s["name"] for s in fake.state.services.values()) == ["Postgres", "api"]
    fake.finish_workflows()
    names = sorted(s["name"] for s in fake.state.services.values())
    assert names[0] == "Postgres" and names[1].startswith("Postgres-") and names[2] == "api"
    assert api.error(TEMPLATE_BY_CODE, {"code": "mysql"}) == "Template not found"


def test_volumes_and_backups(fake: FakeRailway, api: Api) -> None:
    project_id, prod_id = make_project(api)
    service_id = make_service(api, project_id, "db", image=None)
    vol = api.data(
        VOLUME_CREATE,
        {"input": {"projectId": project_id, "environmentId": prod_id, "serviceId": service_id, "mountPath": "/data"}},
    )["volumeCreate"]
    vis = api.data(ENV_VOLUME_INSTANCES, {"environmentId": prod_id})["environment"]["volumeInstances"]["edges"]
    assert len(vis) == 1 and vis[0]["node"]["volumeId"] == vol["id"] and vis[0]["node"]["state"] == "READY"
    vi_id = vis[0]["node"]["id"]
    assert api.data(VOLUME_INSTANCE, {"id": vi_id})["volumeInstance"]["mountPath"] == "/data"
    key = {"volumeInstanceId": vi_id}

    assert api.data(BACKUP_SCHEDULE_UPDATE, {**key, "kinds": ["DAILY", "WEEKLY"]})
    scheds = api.data(BACKUP_SCHEDULE_LIST, key)["volumeInstanceBackupScheduleList"]
    assert [(s["kind"], s["name"]) for s in scheds] == [("DAILY", "Daily"), ("WEEKLY", "Weekly")]
    assert all(s["retentionSeconds"] > 0 and len(s["cron"].split()) == 5 for s in scheds)
    api.data(BACKUP_SCHEDULE_UPDATE, {**key, "kinds": ["MONTHLY"]})
    assert [s["kind"] for s in api.data(BACKUP_SCHEDULE_LIST, key)["volumeInstanceBackupScheduleList"]] == ["MONTHLY"]
    api.data(BACKUP_SCHEDULE_UPDATE, {**key, "kinds": []})
    assert api.data(BACKUP_SCHEDULE_LIST, key)["volumeInstanceBackupScheduleList"] == []

    wf1 = api.data(BACKUP_CREATE, key)["volumeInstanceBackupCreate"]["workflowId"]
    api.data(BACKUP_CREATE, {**key, "name": "before-migration"})
    assert isinstance(wf1, str)
    backups = api.data(BACKUP_LIST, key)["volumeInstanceBackupList"]
    assert [b["name"] for b in backups] == ["before-migration", "Manual"]  # newest first
    assert api.data(BACKUP_LOCK, {**key, "volumeInstanceBackupId": backups[1]["id"]})
    restore = api.data(BACKUP_RESTORE, {**key, "volumeInstanceBackupId": backups[1]["id"]})
    wf = {"workflowId": restore["volumeInstanceBackupRestore"]["workflowId"]}
    assert api.data(VOLUME_INSTANCE, {"id": vi_id})["volumeInstance"]["state"] == "RESTORING"
    assert api.data(WORKFLOW_STATUS, wf)["workflowStatus"]["status"] == "Running"
    assert api.data(WORKFLOW_STATUS, wf)["workflowStatus"]["status"] == "Complete"
    assert api.data(VOLUME_INSTANCE, {"id": vi_id})["volumeInstance"]["state"] == "READY"
    api.data(BACKUP_DELETE, {**key, "volumeInstanceBackupId": backups[0]["id"]})
    assert [b["name"] for b in api.data(BACKUP_LIST, key)["volumeInstanceBackupList"]] == ["Manual"]
    assert api.error(BACKUP_DELETE, {**key, "volumeInstanceBackupId": backups[0]["id"]}) == "Backup not found"
    assert api.error(BACKUP_LIST, {"volumeInstanceId": "nope"}) == "VolumeInstance not found"

    assert api.data(VOLUME_DELETE, {"volumeId": vol["id"]}) == {"volumeDelete": True}
    assert fake.state.volume_instances == {} and fake.state.backups == {} and fake.state.backup_schedules == {}


def test_behind_our_back_edits(fake: FakeRailway, api: Api) -> None:
    project_id, prod_id = make_project(api)
    service_id = make_service(api, project_id, image=None)
    vin = {"projectId": project_id, "environmentId": prod_id, "serviceId": service_id}
    key = {"serviceId": service_id, "environmentId": prod_id}

    fake.update_instance_behind(service_id, prod_id, healthcheckPath="/x", numReplicas=3)
    si = api.data(SERVICE_INSTANCE, key)["serviceInstance"]
    assert (si["healthcheckPath"], si["numReplicas"]) == ("/x", 3)
    with pytest.raises(ValueError):
        fake.update_instance_behind(service_id, prod_id, numReplicas=0)

    fake.set_variable_behind(project_id, prod_id, service_id, "SNEAKY", "1")
    assert api.data(VARIABLES, vin)["variables"] == {"SNEAKY": "1"}
    fake.set_variable_behind(project_id, prod_id, service_id, "SNEAKY", None)
    assert api.data(VARIABLES, vin)["variables"] == {}
    assert fake.state.deployments == {}  # behind-our-back edits deploy nothing

    dom = api.data(SERVICE_DOMAIN_CREATE, {"input": key})["serviceDomainCreate"]
    fake.delete_behind("domain", dom["id"])
    assert api.data(DOMAINS, {**vin})["domains"]["serviceDomains"] == []
    assert api.error(SERVICE_DOMAIN_DELETE, {"id": dom["id"]}) == "Service domain not found"

    fake.delete_behind("service", service_id)
    assert api.error(SERVICE_INSTANCE, key) == "Service not found"
    assert api.data(SERVICE, {"id": service_id})["service"]["deletedAt"]  # soft-deleted, still readable by id
    with pytest.raises(KeyError):
        fake.delete_behind("service", service_id)
    fake.delete_behind("project", project_id)
    assert api.data(PROJECT, {"id": project_id})["project"]["deletedAt"]
    fake.advance(fake.soft_delete_seconds)  # purged after Railway's grace period
    assert api.error(PROJECT, {"id": project_id}) == "Project not found"
    assert fake.is_empty()


def test_is_empty_after_project_delete(fake: FakeRailway, api: Api) -> None:
    assert fake.is_empty()
    project_id, prod_id = make_project(api)
    staging_id = make_env(api, project_id)
    service_id = make_service(api, project_id)
    vin = {"projectId": project_id, "environmentId": staging_id, "serviceId": service_id}
    api.data(VARIABLE_UPSERT, {"input": {**vin, "name": "A", "value": "1"}})
    api.data(SERVICE_DOMAIN_CREATE, {"input": {"serviceId": service_id, "environmentId": staging_id}})
    api.data(PROJECT_TOKEN_CREATE, {"input": {"projectId": project_id, "environmentId": staging_id, "name": "t"}})
    api.data(
        VOLUME_CREATE,
        {"input": {"projectId": project_id, "environmentId": prod_id, "serviceId": service_id, "mountPath": "/data"}},
    )
    tpl = api.data(TEMPLATE_BY_CODE, {"code": "postgres"})["template"]
    api.data(
        TEMPLATE_DEPLOY_V2,
        {
            "input": {
                "templateId": tpl["id"],
                "serializedConfig": tpl["serializedConfig"],
                "projectId": project_id,
                "environmentId": staging_id,
            }
        },
    )
    assert not fake.is_empty()
    assert api.data(PROJECT_DELETE, {"id": project_id}) == {"projectDelete": True}
    assert fake.is_empty()
    assert api.error(PROJECT_DELETE, {"id": project_id}) == "Project not found"


def test_environment_patch_commit(fake: FakeRailway, api: Api) -> None:
    project_id, prod_id = make_project(api)
    service_id = make_service(api, project_id, image=None)
    patch = {
        "services": {
            service_id: {
                "source": {"image": "ghcr.io/acme/api:3"},
                "deploy": {"startCommand": "run", "multiRegionConfig": {"us-east4-eqdc4a": {"numReplicas": 2}}},
                "variables": {"K": {"value": "v"}},
            }
        }
    }
    patch_id = api.data(ENVIRONMENT_PATCH_COMMIT, {"environmentId": prod_id, "patch": patch})["environmentPatchCommit"]
    assert api.data(ENVIRONMENT_PATCH, {"id": patch_id})["environmentPatch"]["status"] == "COMMITTED"
    si = api.data(SERVICE_INSTANCE, {"serviceId": service_id, "environmentId": prod_id})["serviceInstance"]
    assert si["startCommand"] == "run" and si["source"]["image"] == "ghcr.io/acme/api:3"
    cfg = api.data(ENVIRONMENT_CONFIG, {"id": prod_id})["environment"]
    svc_cfg = cfg["config"]["services"][service_id]
    assert svc_cfg["deploy"]["multiRegionConfig"] == {
        "us-west2": {"numReplicas": 1},
        "us-east4-eqdc4a": {"numReplicas": 2},
    }
    assert svc_cfg["variables"] == {"K": {}}  # values only with decryptVariables: true
    assert isinstance(cfg["configEtag"], str) and cfg["unmergedChangesCount"] == 0
    assert len(fake.state.deployments) == 1


def test_source_param_counters_and_reset(fake: FakeRailway, api: Api) -> None:
    api.http.post(fake.url + "?source=maya_infra", json={"query": PROJECT, "variables": {"id": "x"}})
    api.post(PROJECT_CREATE, {"input": {"name": "x"}})
    assert [q.source for q in fake.requests] == ["maya_infra", None]
    assert fake.counts() == {"Project": 1, "ProjectCreate": 1}
    assert fake.count() == 2 and fake.count(mutations_only=True) == 1 and fake.count("projectCreate") == 1
    api.post(VARIABLE_UPSERT, {"input": {"projectId": "p", "environmentId": "e", "name": "K", "value": "v4lue-xyz"}})
    assert "v4lue-xyz" not in repr(fake.requests) and "v4lue-xyz" not in repr(fake.state)
    assert fake.requests[-1].variables == {
        "input": {"projectId": "p", "environmentId": "e", "name": "K", "value": "v4lue-xyz"}
    }
    fake.reset_counters()
    assert fake.count() == 0 and fake.counts() == {}


def test_nothing_is_printed(fake: FakeRailway, api: Api, capfd: pytest.CaptureFixture[str]) -> None:
    project_id, prod_id = make_project(api)
    service_id = make_service(api, project_id)
    vin = {"projectId": project_id, "environmentId": prod_id, "serviceId": service_id}
    api.data(VARIABLE_UPSERT, {"input": {**vin, "name": "SECRET", "value": "s3cr3t-value"}})
    token = api.data(PROJECT_TOKEN_CREATE, {"input": {"projectId": project_id, "environmentId": prod_id, "name": "t"}})
    api.post("query { nope }")
    fake.inject("drop")
    with pytest.raises(httpx.HTTPError):
        api.post(PROJECT, {"id": project_id})
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert "s3cr3t-value" not in out + err and token["projectTokenCreate"] not in out + err


def test_standalone_main_prints_url_and_stops_on_sigterm() -> None:
    env = {**os.environ, "FAKE_RAILWAY_TOKEN": "standalone-token"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.railway_api", "--port", "0", "--workspace-id", "ws-test"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/graphql/v2", url), url
        client = Api(url, token="standalone-token")
        try:
            make_project(client)
        finally:
            client.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        rest_out, err = proc.communicate(timeout=5)
        assert rest_out == "" and err == ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_seeds_and_duplicate_service_names_like_railway(fake: FakeRailway) -> None:
    project_id = fake.seed_project("maya", description="the running MAYA", environment="production")
    first = fake.seed_service(project_id, "backend")
    second = fake.seed_service(project_id, "backend")  # Railway does not refuse a second service of a name
    assert first != second and fake.environment_id(project_id, "production")
    assert [s["name"] for s in fake.state.services.values()] == ["backend", "backend"]


def test_committed_then_lost_faults_apply_the_write(fake: FakeRailway, api: Api) -> None:
    project_id, _ = make_project(api)
    for kind in ("http_after", "graphql_error_after"):
        fake.inject(kind, match="ServiceCreate")
    first = api.post(SERVICE_CREATE, {"input": {"projectId": project_id, "name": "a"}})
    second = api.post(SERVICE_CREATE, {"input": {"projectId": project_id, "name": "b"}})
    assert first.status_code == 500
    assert second.json()["errors"][0]["message"] == "Problem processing request"
    assert sorted(s["name"] for s in fake.state.services.values()) == ["a", "b"]
