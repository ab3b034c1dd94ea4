"""Railway's GraphQL API as the previews use it: the documents, the client, a create sent at most once.

Standard library only; part of pr_preview.py's bundle (:func:`workflows.render.write_script` writes it next
to pr_preview.py on the runner). The documents are validated against Railway's schema by
tests/workflows/test_pr_preview.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING or __package__:  # a sibling of an inlined script: see workflows/scripts/__init__.py
    from workflows.scripts import script_http
else:
    import script_http

RAILWAY_API = "https://backboard.railway.com/graphql/v2"
USER_AGENT = "maya-infra-pr-preview/1"
#: The previews' names for the two failures of :mod:`script_http` (``pr_preview.PreviewError`` for ops/).
PreviewError = script_http.ScriptError
AmbiguousError = script_http.AmbiguousError

# ---- GraphQL documents (validated against Railway's schema by tests/workflows/test_pr_preview.py) ------
ENVIRONMENTS_QUERY = """
query PreviewEnvironments($projectId: String!, $after: String) {
  environments(projectId: $projectId, isEphemeral: true, first: 100, after: $after) {
    edges { node { id name createdAt isEphemeral } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
ENVIRONMENT_CREATE = """
mutation PreviewEnvironmentCreate($input: EnvironmentCreateInput!) {
  environmentCreate(input: $input) { id name createdAt }
}
"""
ENVIRONMENT_DELETE = """
mutation PreviewEnvironmentDelete($id: String!) {
  environmentDelete(id: $id)
}
"""
ENVIRONMENT_QUERY = """
query PreviewEnvironment($id: String!) {
  environment(id: $id) {
    id name isEphemeral
    serviceInstances(first: 100) { edges { node { serviceId serviceName source { image repo } } } }
    deploymentTriggers(first: 100) { edges { node { id serviceId } } }
    volumeInstances(first: 100) { edges { node { id serviceId currentSizeMB } } }
  }
}
"""
VARIABLES_QUERY = """
query PreviewVariables($projectId: String!, $environmentId: String!, $serviceId: String) {
  variables(projectId: $projectId, environmentId: $environmentId, serviceId: $serviceId, unrendered: true)
}
"""
VARIABLES_WRITE = """
mutation PreviewVariablesWrite($input: VariableCollectionUpsertInput!) {
  variableCollectionUpsert(input: $input)
}
"""
INSTANCE_UPDATE = """
mutation PreviewInstanceUpdate($serviceId: String!, $environmentId: String!, $input: ServiceInstanceUpdateInput!) {
  serviceInstanceUpdate(serviceId: $serviceId, environmentId: $environmentId, input: $input)
}
"""
INSTANCE_QUERY = """
query PreviewInstance($serviceId: String!, $environmentId: String!) {
  serviceInstance(serviceId: $serviceId, environmentId: $environmentId) { id sleepApplication }
}
"""
TRIGGER_DELETE = """
mutation PreviewTriggerDelete($id: String!) {
  deploymentTriggerDelete(id: $id)
}
"""
DOMAINS_QUERY = """
query PreviewDomains($projectId: String!, $environmentId: String!, $serviceId: String!) {
  domains(projectId: $projectId, environmentId: $environmentId, serviceId: $serviceId) {
    serviceDomains { id domain }
  }
}
"""
DOMAIN_CREATE = """
mutation PreviewDomainCreate($input: ServiceDomainCreateInput!) {
  serviceDomainCreate(input: $input) { id domain }
}
"""
DEPLOYMENTS_QUERY = """
query PreviewDeployments($input: DeploymentListInput!) {
  deployments(input: $input, first: 20) { edges { node { id status createdAt meta } } }
}
"""
DEPLOY = """
mutation PreviewDeploy($serviceId: String!, $environmentId: String!, $commitSha: String) {
  serviceInstanceDeployV2(serviceId: $serviceId, environmentId: $environmentId, commitSha: $commitSha)
}
"""
DEPLOYMENT_QUERY = """
query PreviewDeployment($id: String!) {
  deployment(id: $id) { id status }
}
"""
DOCUMENTS = (
    ENVIRONMENTS_QUERY,
    ENVIRONMENT_CREATE,
    ENVIRONMENT_DELETE,
    ENVIRONMENT_QUERY,
    VARIABLES_QUERY,
    VARIABLES_WRITE,
    INSTANCE_UPDATE,
    INSTANCE_QUERY,
    TRIGGER_DELETE,
    DOMAINS_QUERY,
    DOMAIN_CREATE,
    DEPLOYMENTS_QUERY,
    DEPLOY,
    DEPLOYMENT_QUERY,
)
#: Mutations that create something: their answer lost, they are never resent before a read.
CREATES = frozenset({ENVIRONMENT_CREATE, DOMAIN_CREATE, DEPLOY})


@dataclass
class Http(script_http.Http):
    """The previews' HTTP (:class:`script_http.Http`), named ``maya-infra-pr-preview`` to the APIs it calls."""

    user_agent: str = USER_AGENT


class Railway:
    """Railway's GraphQL API with a bearer (account or workspace) token."""

    def __init__(self, token: str, url: str = RAILWAY_API, http: script_http.Http | None = None) -> None:
        if not token:
            raise PreviewError("RAILWAY_PREVIEW_TOKEN is empty: the `preview` GitHub environment must provide it")
        self._token = token
        self._url = script_http.check_url(url)
        self.http = http or Http()

    def __call__(self, document: str, variables: Mapping[str, Any]) -> dict[str, Any]:
        status, answer = self.http.call(
            "POST",
            f"{self._url}?source=maya-infra-previews",
            {"Authorization": f"Bearer {self._token}"},
            {"query": document, "variables": dict(variables)},
            creates=document in CREATES,
        )
        if not isinstance(answer, dict):
            raise PreviewError(f"Railway answered HTTP {status} without JSON")
        if answer.get("errors"):
            messages = "; ".join(str(e.get("message")) for e in answer["errors"])[:300]
            raise PreviewError(f"Railway: {messages}")
        data: dict[str, Any] = answer.get("data") or {}
        return data


def create_once(send: Callable[[], Any], find: Callable[[], Any]) -> Any:
    """Send a create; when its answer is lost, look before sending it again (once)."""
    try:
        return send()
    except AmbiguousError:
        found = find()
        if found is not None:
            return found
        return send()


def edges(connection: Any) -> list[dict[str, Any]]:
    """The nodes of a GraphQL connection (none when it is missing)."""
    return [edge["node"] for edge in (connection or {}).get("edges") or []]
