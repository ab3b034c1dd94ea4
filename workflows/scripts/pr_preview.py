"""Bring up, refresh and tear down the full-stack preview of one pull request. Standard library only.

maya-infra inlines this file into the generated ``previews`` workflow (workflows/previews.py), so it runs
on a bare runner's ``python3``; ``python -m ops previews`` imports it too. One pull request gets:

* a Railway environment ``<prefix><number>`` forked from staging (``environmentCreate`` with
  ``sourceEnvironmentId`` and ``ephemeral: true``): the same services and settings — the same pre-deploy
  command, so the migrations run — but its OWN, EMPTY PostgreSQL volume, a fresh database password, only
  the variables that are safe for previews (``--withhold`` names are removed before anything deploys), no
  branch trigger (this script deploys the PR's commit itself, so one push is one deploy), a Railway domain,
  and ``sleepApplication`` when ``--sleep`` is on;
* a Vercel variable ``NEXT_PUBLIC_API_URL`` for the PR's branch only (``gitBranch``, target ``preview``)
  pointing at THAT backend, and one preview build of the branch once that variable is in place;
* one comment on the pull request (found again by a hidden marker and edited, never repeated) with both
  URLs and their health.

Every Railway write happens at most once: each create looks first; a create whose answer was lost
(connection dropped, 5xx) is never sent again before a read shows it did not land. The number of live
previews is capped (``--max-environments``): a run that would exceed the cap creates nothing (and a run
that raced past it removes what it just created), and says so in the comment.

Environment: RAILWAY_PREVIEW_TOKEN (an account or workspace token that can create environments in the
staging project only — never production's), RAILWAY_PROJECT_ID, RAILWAY_ENVIRONMENT_ID (staging, the
source), RAILWAY_SERVICE_ID (the backend); VERCEL_TOKEN, VERCEL_PROJECT_ID, VERCEL_ORG_ID (optional:
without them the frontend part is skipped); GITHUB_TOKEN, GITHUB_REPOSITORY, GITHUB_API_URL. RAILWAY_API_URL
and VERCEL_API_URL override the endpoints (tests point them at loopback fakes).

Commands:
  up --pr N --branch B --sha SHA      create or refresh the preview, deploy SHA, wait, comment
  down --pr N --branch B              remove the preview (environment, branch variable), update the comment
  list                                print the live previews (name, age, backend URL) as JSON lines
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

RAILWAY_API = "https://backboard.railway.com/graphql/v2"
VERCEL_API = "https://api.vercel.com"
GITHUB_API = "https://api.github.com"
USER_AGENT = "maya-infra-pr-preview/1"
MARKER = "<!-- maya-infra:pr-preview -->"
API_URL_VARIABLE = "NEXT_PUBLIC_API_URL"
#: how Railway references another variable; built apart, as the joined text in a workflow would be expanded
_REFERENCE = "$" + "{" + "{"
PREVIEW_MARKER = "MAYA_PREVIEW"  # set on each service once its variables are the preview's own
BRANCH_VARIABLE = "MAYA_PREVIEW_BRANCH"  # shared variable of a preview: the pull request's branch
RETRY_HTTP = frozenset({429, 500, 502, 503, 504})
LIVE = frozenset({"SUCCESS", "SLEEPING"})
FAILED = frozenset({"FAILED", "CRASHED", "REMOVED", "SKIPPED"})
MAX_PAGES = 20  # every listing is bounded

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


class PreviewError(RuntimeError):
    """A failure the workflow reports (never carries a token or a variable's value)."""


class AmbiguousError(PreviewError):
    """A create was sent but its answer was lost: it may or may not have happened."""


# ---- HTTP ---------------------------------------------------------------------------------------------

#: (method, url, headers, body) -> (status, headers, body); raises OSError when no answer came back.
Send = Callable[[str, str, Mapping[str, str], bytes | None, float], tuple[int, Mapping[str, str], bytes]]


def _urlopen(
    method: str, url: str, headers: Mapping[str, str], body: bytes | None, timeout: float
) -> tuple[int, Mapping[str, str], bytes]:
    request = urllib.request.Request(url, data=body, headers=dict(headers), method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - scheme checked
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers or {}), error.read() or b""


def _check_url(url: str) -> str:
    if not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise PreviewError(f"{url!r}: APIs are reached over https only")
    return url.rstrip("/")


def _delay(headers: Mapping[str, str], attempt: int) -> float:
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    try:
        seconds = float(value or "")  # Railway sets it on every 429
    except ValueError:
        seconds = -1.0
    if 0.0 <= seconds < float("inf"):
        return min(seconds, 60.0)
    return min(2.0**attempt, 30.0)


@dataclass
class Http:
    """Bounded retries of throttled or failed requests; a write that creates is never blindly resent."""

    send: Send = _urlopen
    sleep: Callable[[float], None] = time.sleep
    attempts: int = 5
    timeout: float = 30.0
    requests: int = 0

    def call(
        self, method: str, url: str, headers: Mapping[str, str], payload: Any = None, *, creates: bool = False
    ) -> tuple[int, Any]:
        body = None if payload is None else json.dumps(payload).encode()
        sent = {"User-Agent": USER_AGENT, "Accept": "application/json", **headers}
        if body is not None:
            sent["Content-Type"] = "application/json"
        last = ""
        for attempt in range(1, self.attempts + 1):
            self.requests += 1
            try:
                status, answer_headers, raw = self.send(method, url, sent, body, self.timeout)
            except (OSError, TimeoutError) as error:  # no answer: it may have been applied
                if creates:
                    raise AmbiguousError(f"{method} {_path(url)}: no answer ({type(error).__name__})") from None
                last = type(error).__name__
                self.sleep(_delay({}, attempt))
                continue
            if status == 429 or (status in RETRY_HTTP and not creates):
                last = f"HTTP {status}"
                if attempt < self.attempts:
                    self.sleep(_delay(answer_headers, attempt))
                continue
            if status in RETRY_HTTP:
                raise AmbiguousError(f"{method} {_path(url)}: HTTP {status}")
            try:
                decoded = json.loads(raw) if raw else None
            except ValueError:
                decoded = None
            return status, decoded
        raise PreviewError(f"{method} {_path(url)}: gave up after {self.attempts} attempts ({last})")


def _path(url: str) -> str:
    return urllib.parse.urlsplit(url).path


class Railway:
    """Railway's GraphQL API with a bearer (account or workspace) token."""

    def __init__(self, token: str, url: str = RAILWAY_API, http: Http | None = None) -> None:
        if not token:
            raise PreviewError("RAILWAY_PREVIEW_TOKEN is empty: the `preview` GitHub environment must provide it")
        self._token = token
        self._url = _check_url(url)
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


# ---- the preview's settings ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Where previews live and how they are shaped (ids from the GitHub environment, shape from the config)."""

    project_id: str
    source_environment_id: str
    service_id: str
    prefix: str = "pr-"
    max_environments: int = 5
    sleep: bool = True
    withhold: tuple[str, ...] = ()
    fresh: tuple[str, ...] = ()
    health_path: str = "/api/health"
    port: int = 8000

    def name(self, pr: int) -> str:
        return f"{self.prefix}{pr}"

    def number(self, name: str) -> int | None:
        match = re.fullmatch(re.escape(self.prefix) + r"([0-9]+)", name)
        return int(match.group(1)) if match else None

    @classmethod
    def from_env(cls, env: Mapping[str, str], **shape: Any) -> Target:
        names = ("RAILWAY_PROJECT_ID", "RAILWAY_ENVIRONMENT_ID", "RAILWAY_SERVICE_ID")
        missing = [name for name in names if not env.get(name)]
        if missing:
            raise PreviewError(f"{', '.join(missing)} not set: they are variables of the `preview` GitHub environment")
        return cls(env["RAILWAY_PROJECT_ID"], env["RAILWAY_ENVIRONMENT_ID"], env["RAILWAY_SERVICE_ID"], **shape)


def _edges(connection: Any) -> list[dict[str, Any]]:
    return [edge["node"] for edge in (connection or {}).get("edges") or []]


# ---- Railway: the environment ------------------------------------------------------------------------------


@dataclass
class Preview:
    pr: int
    name: str
    environment_id: str
    created_at: str
    backend_url: str | None = None


def previews(railway: Railway, target: Target) -> list[Preview]:
    """The live previews of the project: ephemeral environments named ``<prefix><number>``, oldest first."""
    found: list[Preview] = []
    after = None
    for _ in range(MAX_PAGES):
        page = railway(ENVIRONMENTS_QUERY, {"projectId": target.project_id, "after": after})["environments"]
        for node in _edges(page):
            number = target.number(node["name"])
            if node.get("isEphemeral") and number is not None:
                found.append(Preview(number, node["name"], node["id"], node["createdAt"]))
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    return sorted(found, key=lambda p: (p.created_at, p.environment_id))


def find(railway: Railway, target: Target, pr: int) -> Preview | None:
    return next((p for p in previews(railway, target) if p.pr == pr), None)


@dataclass
class Admission:
    preview: Preview | None
    created: bool
    live: int
    reason: str = ""


def admit(railway: Railway, target: Target, pr: int) -> Admission:
    """The PR's environment: found, or created within the cap (else None, with the reason)."""
    live = previews(railway, target)
    own = next((p for p in live if p.pr == pr), None)
    if own is not None:
        return Admission(own, False, len(live))
    if len(live) >= target.max_environments:
        return Admission(None, False, len(live), _cap_reason(live, target))
    _create_environment(railway, target, pr)
    return _keep_within_cap(railway, target, pr)


def _create_environment(railway: Railway, target: Target, pr: int) -> None:
    """Fork the source environment as ``<prefix><pr>``, at most once (a lost answer is looked up, not resent).

    The fork deploys nothing by itself (``skipInitialDeploys``): staging's variables must be made preview-safe
    first. A concurrent run of the same PR that created it first is not an error.
    """
    payload = {
        "projectId": target.project_id,
        "name": target.name(pr),
        "sourceEnvironmentId": target.source_environment_id,
        "ephemeral": True,
        "skipInitialDeploys": True,  # nothing deploys before the variables are made preview-safe
    }

    def send() -> Any:
        try:
            return railway(ENVIRONMENT_CREATE, {"input": payload})["environmentCreate"]
        except AmbiguousError:
            raise
        except PreviewError as error:
            if "already exists" in str(error):  # a concurrent run of the same PR won the race
                return None
            raise

    create_once(send, lambda: find(railway, target, pr))


def _keep_within_cap(railway: Railway, target: Target, pr: int) -> Admission:
    """Look again after the create: it may have raced other PRs past the cap; the oldest ``max`` stay.

    Listing and creating are two requests, so two PRs can both see room; the younger one removes what it
    just created, and the cap holds without a lock.
    """
    live = previews(railway, target)
    own = next((p for p in live if p.pr == pr), None)
    if own is None:
        raise PreviewError(f"environment {target.name(pr)} was created but is not listed")
    keep = live[: target.max_environments]
    if own not in keep:
        railway(ENVIRONMENT_DELETE, {"id": own.environment_id})
        return Admission(None, False, target.max_environments, _cap_reason(keep, target))
    return Admission(own, True, len(live))


def _cap_reason(live: Sequence[Preview], target: Target) -> str:
    names = ", ".join(p.name for p in live)
    return (
        f"the cap of {target.max_environments} concurrent preview environments is reached ({names}): close a pull "
        "request or remove a stale preview (`python -m ops previews --stack staging --prune-older-than 3d`), then "
        "push again"
    )


# ---- Railway: making the fork a preview ------------------------------------------------------------------


def _is_reference(value: str) -> bool:
    return _REFERENCE in value


def _forked(
    railway: Railway, target: Target, preview: Preview, sleep: Callable[[float], None], attempts: int
) -> dict[str, Any]:
    """The fork, once its service instances exist (they can appear only after Railway applied the fork)."""
    for attempt in range(attempts):
        env: dict[str, Any] = railway(ENVIRONMENT_QUERY, {"id": preview.environment_id})["environment"]
        if not env.get("isEphemeral"):
            raise PreviewError(f"environment {preview.name} is not ephemeral: refusing to treat it as a preview")
        if any(node["serviceId"] == target.service_id for node in _edges(env.get("serviceInstances"))):
            return env
        if attempt + 1 < attempts:
            sleep(5.0)
    raise PreviewError(f"environment {preview.name} has no instance of the backend service after {attempts} looks")


def prepare(
    railway: Railway,
    target: Target,
    preview: Preview,
    branch: str = "",
    *,
    sleep: Callable[[float], None] = time.sleep,
    attempts: int = 12,
) -> dict[str, Any]:
    """Make the forked environment preview-safe and cheap; each step looks first, so a rerun writes nothing.

    Returns the environment's shape: its service instances by id and which have a volume.
    """
    env = _forked(railway, target, preview, sleep, attempts)
    instances = {node["serviceId"]: node for node in _edges(env.get("serviceInstances"))}
    # 1. No branch trigger: this script deploys the PR's commit, so one push is one deploy.
    for trigger in _edges(env.get("deploymentTriggers")):
        railway(TRIGGER_DELETE, {"id": trigger["id"]})
    # 2. Variables: the backend keeps only what is safe for previews; the database gets its own password.
    _make_backend_variables_safe(railway, target, preview)
    for service_id in sorted(set(instances) - {target.service_id}):
        _rotate_passwords(railway, target, preview, service_id)
    # 3. Idle sleep (cost): every service of the preview sleeps when it gets no traffic.
    for service_id in sorted(instances):
        _set_idle_sleep(railway, target, preview, service_id)
    # 4. A public Railway domain for the backend.
    preview.backend_url = backend_url(railway, target, preview, create=True)
    # 5. Which branch it previews (a shared variable: `ops previews` shows it, a prune removes its Vercel variable).
    if branch and branch_of(railway, target, preview) != branch:
        scope = {"projectId": target.project_id, "environmentId": preview.environment_id}
        railway(VARIABLES_WRITE, {"input": {**scope, "variables": {BRANCH_VARIABLE: branch}, "skipDeploys": True}})
    volumes = {node["serviceId"] for node in _edges(env.get("volumeInstances"))}
    return {"instances": instances, "volumes": volumes}


def _make_backend_variables_safe(railway: Railway, target: Target, preview: Preview) -> None:
    """Replace the backend's forked variables by the preview-safe set, once per preview.

    ``--withhold`` names (staging's secrets) are dropped, ``--fresh`` ones get new random values, Railway's
    own ``RAILWAY_*`` are left to Railway. The marker is written in the same request as the rest, so its
    presence proves this preview's values are in place and a rerun skips the write.
    """
    scope = {"projectId": target.project_id, "environmentId": preview.environment_id, "serviceId": target.service_id}
    backend = railway(VARIABLES_QUERY, scope)["variables"] or {}
    if not (set(backend) & set(target.withhold)) and backend.get(PREVIEW_MARKER) == preview.name:
        return
    kept = {k: v for k, v in backend.items() if k not in target.withhold and not k.startswith("RAILWAY_")}
    kept.update({name: secrets.token_urlsafe(32) for name in target.fresh})
    kept[PREVIEW_MARKER] = preview.name  # written last, with the rest: this preview's values are in place
    railway(VARIABLES_WRITE, {"input": {**scope, "variables": kept, "replace": True, "skipDeploys": True}})


def _rotate_passwords(railway: Railway, target: Target, preview: Preview, service_id: str) -> None:
    """Give another service of the fork (the database) its own ``*PASSWORD`` values, once per preview.

    A fork copies staging's database password; the preview's own, empty volume must not share it. Values
    that reference other variables are left as they are: Railway resolves them inside the preview.
    """
    scope = {"projectId": target.project_id, "environmentId": preview.environment_id, "serviceId": service_id}
    values = railway(VARIABLES_QUERY, scope)["variables"] or {}
    if values.get(PREVIEW_MARKER) == preview.name:
        return  # already rotated for this preview
    fresh = {
        name: secrets.token_urlsafe(24)
        for name, value in values.items()
        if name.endswith("PASSWORD") and isinstance(value, str) and not _is_reference(value)
    }
    variables = {**fresh, PREVIEW_MARKER: preview.name}
    railway(VARIABLES_WRITE, {"input": {**scope, "variables": variables, "skipDeploys": True}})


def _set_idle_sleep(railway: Railway, target: Target, preview: Preview, service_id: str) -> None:
    """Make one service of the preview sleep when idle (``--sleep``), or stay awake; written only on change."""
    where = {"serviceId": service_id, "environmentId": preview.environment_id}
    current = railway(INSTANCE_QUERY, where)
    if bool((current.get("serviceInstance") or {}).get("sleepApplication")) != target.sleep:
        railway(INSTANCE_UPDATE, {**where, "input": {"sleepApplication": target.sleep}})


def branch_of(railway: Railway, target: Target, preview: Preview) -> str:
    """The branch a preview was made for (its shared variable), or "" when it was not recorded."""
    scope = {"projectId": target.project_id, "environmentId": preview.environment_id, "serviceId": None}
    shared = railway(VARIABLES_QUERY, scope)["variables"] or {}
    return str(shared.get(BRANCH_VARIABLE) or "")


def backend_url(railway: Railway, target: Target, preview: Preview, *, create: bool = False) -> str | None:
    scope = {
        "projectId": target.project_id,
        "environmentId": preview.environment_id,
        "serviceId": target.service_id,
    }

    def look() -> dict[str, Any] | None:
        domains = railway(DOMAINS_QUERY, scope)["domains"]["serviceDomains"]
        return domains[0] if domains else None

    found = look()
    if found is None and create:
        found = create_once(
            lambda: railway(
                DOMAIN_CREATE,
                {
                    "input": {
                        "environmentId": preview.environment_id,
                        "serviceId": target.service_id,
                        "targetPort": target.port,
                    }
                },
            )["serviceDomainCreate"],
            look,
        )
    return f"https://{found['domain']}" if found else None


def _deployments(railway: Railway, target: Target, preview: Preview, service_id: str) -> list[dict[str, Any]]:
    listing = railway(
        DEPLOYMENTS_QUERY,
        {
            "input": {
                "projectId": target.project_id,
                "environmentId": preview.environment_id,
                "serviceId": service_id,
            }
        },
    )["deployments"]
    return _edges(listing)


def _commit_of(deployment: Mapping[str, Any]) -> str | None:
    meta = deployment.get("meta") or {}
    return meta.get("commitHash") if isinstance(meta, Mapping) else None


def deploy(railway: Railway, target: Target, preview: Preview, service_id: str, sha: str | None) -> tuple[str, bool]:
    """Deploy ``sha`` (or the image, for the database) once: an existing deployment of it is reused."""

    def existing() -> str | None:
        for deployment in _deployments(railway, target, preview, service_id):
            if sha is None or _commit_of(deployment) == sha:
                return str(deployment["id"])
        return None

    found = existing()
    if found is not None:
        return found, False
    variables = {"serviceId": service_id, "environmentId": preview.environment_id, "commitSha": sha}
    deployment_id = create_once(lambda: railway(DEPLOY, variables)["serviceInstanceDeployV2"], existing)
    return str(deployment_id), True


def wait(
    railway: Railway,
    deployment_id: str,
    *,
    timeout: float,
    poll: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> str:
    """The deployment's status once it finished, or its last status at ``timeout``."""
    deadline = clock() + timeout
    while True:
        status = str(railway(DEPLOYMENT_QUERY, {"id": deployment_id})["deployment"]["status"])
        if status in LIVE or status in FAILED or clock() >= deadline:
            return status
        sleep(poll)


# ---- Vercel: the branch's API URL and its preview build ---------------------------------------------------


@dataclass
class Vercel:
    token: str
    project_id: str
    team_id: str | None = None
    url: str = VERCEL_API
    http: Http = field(default_factory=Http)

    def _call(self, method: str, path: str, payload: Any = None, *, query: Mapping[str, str] | None = None) -> Any:
        params = dict(query or {})
        if self.team_id:
            params["teamId"] = self.team_id
        url = f"{_check_url(self.url)}{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
        status, answer = self.http.call(method, url, {"Authorization": f"Bearer {self.token}"}, payload)
        if status >= 400 and not (method == "DELETE" and status == 404):
            message = (answer or {}).get("error", {}).get("message", "") if isinstance(answer, dict) else ""
            raise PreviewError(f"Vercel {method} {path}: HTTP {status} {message}"[:300])
        return answer

    def branch_variables(self, branch: str) -> list[dict[str, Any]]:
        answer = self._call("GET", f"/v9/projects/{self.project_id}/env", query={"gitBranch": branch})
        return [e for e in (answer or {}).get("envs", []) if e.get("gitBranch") == branch]

    def set_api_url(self, branch: str, url: str) -> bool:
        """Point the branch's previews at ``url``; True when the variable changed (a new build is needed)."""
        for item in self.branch_variables(branch):
            if item.get("key") == API_URL_VARIABLE and item.get("value") == url:
                return False
        body = {"key": API_URL_VARIABLE, "value": url, "type": "plain", "target": ["preview"], "gitBranch": branch}
        self._call("POST", f"/v10/projects/{self.project_id}/env", body, query={"upsert": "true"})
        return True

    def remove_branch(self, branch: str) -> int:
        items = [e for e in self.branch_variables(branch) if e.get("key") == API_URL_VARIABLE]
        for item in items:
            self._call("DELETE", f"/v9/projects/{self.project_id}/env/{item['id']}")
        return len(items)

    def latest(self, branch: str) -> dict[str, Any] | None:
        answer = self._call(
            "GET", "/v6/deployments", query={"projectId": self.project_id, "target": "preview", "limit": "100"}
        )
        for item in (answer or {}).get("deployments", []):
            if (item.get("meta") or {}).get("githubCommitRef") == branch:
                return dict(item)
        return None

    def build(self, repository: str, branch: str, sha: str) -> dict[str, Any]:
        """One preview build of the branch's commit (the Git build that ran before the variable existed
        baked the staging URL in)."""
        owner, _, repo = repository.partition("/")
        body = {
            "name": self.project_id,
            "project": self.project_id,
            "target": "preview",
            "gitSource": {"type": "github", "org": owner, "repo": repo, "ref": branch, "sha": sha},
        }
        answer = self._call("POST", "/v13/deployments", body)
        return dict(answer or {})


# ---- GitHub: the one comment ------------------------------------------------------------------------------


@dataclass
class GitHub:
    token: str
    repository: str
    url: str = GITHUB_API
    http: Http = field(default_factory=Http)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "X-GitHub-Api-Version": "2022-11-28"}

    def _find(self, pr: int) -> dict[str, Any] | None:
        base = f"{_check_url(self.url)}/repos/{self.repository}/issues/{pr}/comments"
        for page in range(1, MAX_PAGES + 1):
            status, answer = self.http.call("GET", f"{base}?per_page=100&page={page}", self._headers())
            if status >= 400 or not isinstance(answer, list):
                raise PreviewError(f"GitHub: listing the comments of #{pr} answered HTTP {status}")
            for comment in answer:
                if MARKER in str(comment.get("body") or ""):
                    return dict(comment)
            if len(answer) < 100:
                return None
        return None

    def comment(self, pr: int, body: str) -> str:
        """Edit the preview comment of the PR, or create it once; returns ``created``/``updated``/``unchanged``."""
        text = f"{MARKER}\n{body}"
        found = self._find(pr)
        if found is not None:
            if found.get("body") == text:
                return "unchanged"
            url = f"{_check_url(self.url)}/repos/{self.repository}/issues/comments/{found['id']}"
            status, _ = self.http.call("PATCH", url, self._headers(), {"body": text})
            if status >= 400:
                raise PreviewError(f"GitHub: editing the preview comment answered HTTP {status}")
            return "updated"
        url = f"{_check_url(self.url)}/repos/{self.repository}/issues/{pr}/comments"

        def look() -> tuple[int, Any] | None:
            again = self._find(pr)
            return None if again is None else (200, again)

        status, _ = create_once(
            lambda: self.http.call("POST", url, self._headers(), {"body": text}, creates=True), look
        )
        if status >= 400:
            raise PreviewError(f"GitHub: commenting on #{pr} answered HTTP {status}")
        return "created"


# ---- health and the comment's text ------------------------------------------------------------------------

Probe = Callable[[str], int | None]


def probe(url: str) -> int | None:
    """The HTTP status of a GET, or None when nothing answered."""
    try:
        status, _, _ = _urlopen("GET", _check_url(url), {"User-Agent": USER_AGENT}, None, 10.0)
        return status
    except (OSError, TimeoutError, PreviewError):
        return None


def check_health(url: str | None, path: str, check: Probe, attempts: int, sleep: Callable[[float], None]) -> str:
    if not url:
        return "no URL"
    status = None
    for attempt in range(attempts):
        status = check(f"{url}{path}")
        if status == 200:
            return f"healthy (`{path}` 200)"
        if attempt + 1 < attempts:
            sleep(5.0)
    return f"unhealthy (`{path}` {status if status is not None else 'no answer'})"


@dataclass
class Report:
    pr: int
    sha: str = ""
    environment: str = ""
    backend_url: str | None = None
    backend_status: str = ""
    backend_health: str = ""
    frontend_url: str | None = None
    frontend_status: str = ""
    withheld: tuple[str, ...] = ()
    fresh: tuple[str, ...] = ()
    note: str = ""

    def markdown(self) -> str:
        lines = [f"### Preview of this pull request (`{self.environment}`)", ""]
        if self.note:
            lines += [self.note, ""]
        if self.backend_url or self.frontend_url:
            lines += ["| | URL | state |", "| --- | --- | --- |"]
            backend = f"deployment {self.backend_status or 'unknown'}; {self.backend_health or 'not checked'}"
            lines.append(f"| backend (Railway) | {self.backend_url or '—'} | {backend} |")
            if self.frontend_url or self.frontend_status:
                lines.append(f"| frontend (Vercel) | {self.frontend_url or '—'} | {self.frontend_status or '—'} |")
            lines += [
                "",
                f"Database: the preview's own PostgreSQL (empty at first; migrations applied by the pre-deploy "
                f"command). `{API_URL_VARIABLE}` of this branch points at the backend above.",
            ]
            if self.withheld:
                lines.append(f"Not copied from staging: {', '.join(f'`{n}`' for n in self.withheld)}.")
            if self.fresh:
                lines.append(f"Own values (not staging's): {', '.join(f'`{n}`' for n in self.fresh)}.")
        if self.sha:
            lines.append(f"Commit `{self.sha[:12]}`. Removed when the pull request is closed or merged.")
        return "\n".join(lines) + "\n"


# ---- commands ---------------------------------------------------------------------------------------------


@dataclass
class Clients:
    railway: Railway
    vercel: Vercel | None
    github: GitHub | None
    check: Probe = probe
    sleep: Callable[[float], None] = time.sleep


def _append(env: Mapping[str, str], variable: str, text: str) -> None:
    path = env.get(variable)
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(text)


def up(
    clients: Clients,
    target: Target,
    pr: int,
    branch: str,
    sha: str,
    repository: str,
    *,
    timeout: float,
    poll: float,
    health_attempts: int = 12,
) -> Report:
    """Create or refresh the PR's preview and deploy ``sha`` to it."""
    railway = clients.railway
    report = Report(
        pr, sha, target.name(pr), withheld=tuple(sorted(target.withhold)), fresh=tuple(sorted(target.fresh))
    )
    admission = admit(railway, target, pr)
    if admission.preview is None:
        report.note = f"No preview environment: {admission.reason}."
        return report
    preview = admission.preview
    shape = prepare(railway, target, preview, branch, sleep=clients.sleep)
    report.backend_url = preview.backend_url
    _deploy_image_services(clients, target, preview, shape["instances"], timeout=timeout, poll=poll)
    deployment_id, _ = deploy(railway, target, preview, target.service_id, sha)
    report.backend_status = wait(railway, deployment_id, timeout=timeout, poll=poll, sleep=clients.sleep)
    if report.backend_status in LIVE:
        report.backend_health = check_health(
            report.backend_url, target.health_path, clients.check, health_attempts, clients.sleep
        )
    if clients.vercel is not None and report.backend_url:
        _point_frontend(clients.vercel, report, report.backend_url, repository, branch, sha)
    return report


def _deploy_image_services(
    clients: Clients, target: Target, preview: Preview, instances: Mapping[str, Any], *, timeout: float, poll: float
) -> None:
    """The database (and any other image service) deploys once, before the backend's first deploy.

    The backend's pre-deploy command migrates that database, so it must be up first; a rerun finds the
    deployment and waits for nothing.
    """
    for service_id in sorted(set(instances) - {target.service_id}):
        deployment_id, fresh = deploy(clients.railway, target, preview, service_id, None)
        if fresh:
            wait(clients.railway, deployment_id, timeout=timeout, poll=poll, sleep=clients.sleep)


def _point_frontend(vercel: Vercel, report: Report, backend: str, repository: str, branch: str, sha: str) -> None:
    """Point the branch's Vercel previews at the backend; build once when that changed; report the latest build.

    A Git build that ran before the variable existed baked staging's URL in, hence the one extra build.
    """
    if vercel.set_api_url(branch, backend):
        vercel.build(repository, branch, sha)
    latest = vercel.latest(branch)
    if latest is not None:
        report.frontend_url = f"https://{latest['url']}"
        report.frontend_status = str(latest.get("readyState") or latest.get("state") or "")


def down(clients: Clients, target: Target, pr: int, branch: str) -> Report:
    """Remove the PR's preview: its environment (database included) and its branch variable."""
    report = Report(pr, environment=target.name(pr))
    preview = find(clients.railway, target, pr)
    removed = []
    if preview is not None:
        try:
            clients.railway(ENVIRONMENT_DELETE, {"id": preview.environment_id})
        except PreviewError as error:
            if "not found" not in str(error).lower():  # removed meanwhile (a concurrent run, a prune): done
                raise
        removed.append(f"Railway environment `{preview.name}` (with its database)")
    if clients.vercel is not None and branch and clients.vercel.remove_branch(branch):
        removed.append(f"Vercel `{API_URL_VARIABLE}` of branch `{branch}`")
    report.note = "Preview removed: " + ("; ".join(removed) if removed else "nothing was left") + "."
    return report


def listing(
    railway: Railway, target: Target, now: datetime | None = None, vercel: Vercel | None = None
) -> list[dict[str, Any]]:
    """Live previews with their age (hours), branch, backend URL and (with Vercel) frontend URL, oldest first."""
    now = now or datetime.now(UTC)
    rows = []
    for preview in previews(railway, target):
        created = datetime.fromisoformat(preview.created_at.replace("Z", "+00:00"))
        branch = branch_of(railway, target, preview)
        latest = vercel.latest(branch) if vercel is not None and branch else None
        rows.append(
            {
                "pr": preview.pr,
                "environment": preview.name,
                "environment_id": preview.environment_id,
                "created_at": preview.created_at,
                "age_hours": round((now - created).total_seconds() / 3600, 1),
                "branch": branch,
                "backend_url": backend_url(railway, target, preview),
                "frontend_url": f"https://{latest['url']}" if latest else None,
            }
        )
    return rows


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _names(text: str) -> tuple[str, ...]:
    names = tuple(n for n in text.split(",") if n)
    if not all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", n) for n in names):
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of variable names")
    return names


def parser() -> argparse.ArgumentParser:
    main_parser = argparse.ArgumentParser(prog="pr_preview", description=__doc__.split("\n\n")[0])
    main_parser.add_argument("--prefix", default="pr-")
    main_parser.add_argument("--max-environments", type=_positive_int, default=5)
    main_parser.add_argument("--sleep", action=argparse.BooleanOptionalAction, default=True)
    main_parser.add_argument("--withhold", type=_names, default=(), help="NAME,NAME: never copied to a preview")
    main_parser.add_argument("--fresh", type=_names, default=(), help="NAME,NAME: a new random value per preview")
    main_parser.add_argument("--health-path", default="/api/health")
    main_parser.add_argument("--port", type=_positive_int, default=8000)
    commands = main_parser.add_subparsers(dest="command", required=True)
    up_parser = commands.add_parser("up", help="create or refresh the PR's preview")
    down_parser = commands.add_parser("down", help="remove the PR's preview")
    for sub in (up_parser, down_parser):
        sub.add_argument("--pr", type=_positive_int, required=True)
        sub.add_argument("--branch", default="")
    up_parser.add_argument("--sha", required=True)
    up_parser.add_argument("--timeout", type=float, default=900.0)
    up_parser.add_argument("--poll", type=float, default=10.0)
    commands.add_parser("list", help="print the live previews as JSON lines")
    return main_parser


def clients_from_env(env: Mapping[str, str], http: Http | None = None) -> Clients:
    http = http or Http()
    railway = Railway(env.get("RAILWAY_PREVIEW_TOKEN", ""), env.get("RAILWAY_API_URL") or RAILWAY_API, http)
    vercel = None
    if env.get("VERCEL_TOKEN") and env.get("VERCEL_PROJECT_ID"):
        vercel = Vercel(
            env["VERCEL_TOKEN"], env["VERCEL_PROJECT_ID"], env.get("VERCEL_ORG_ID") or None,
            env.get("VERCEL_API_URL") or VERCEL_API, http,
        )  # fmt: skip
    github = None
    if env.get("GITHUB_TOKEN") and env.get("GITHUB_REPOSITORY"):
        github = GitHub(env["GITHUB_TOKEN"], env["GITHUB_REPOSITORY"], env.get("GITHUB_API_URL") or GITHUB_API, http)
    return Clients(railway, vercel, github)


def main(
    argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None, clients: Clients | None = None
) -> int:
    env = dict(os.environ) if env is None else env
    args = parser().parse_args(argv)
    try:
        target = _target(args, env)
        clients = clients or clients_from_env(env)
        if args.command == "list":
            for row in listing(clients.railway, target, vercel=clients.vercel):
                print(json.dumps(row, sort_keys=True))
            return 0
        if args.command == "up":
            repository = env.get("GITHUB_REPOSITORY", "")
            report = up(
                clients, target, args.pr, args.branch, args.sha, repository, timeout=args.timeout, poll=args.poll
            )
        else:
            report = down(clients, target, args.pr, args.branch)
        return _publish(args, env, clients, report)
    except PreviewError as error:
        print(f"::error::{error}")
        _append(env, "GITHUB_STEP_SUMMARY", f"Preview {args.command} failed: {error}\n")
        return 1


def _target(args: argparse.Namespace, env: Mapping[str, str]) -> Target:
    """The ids from the GitHub environment, the shape from the command line (the workflow passes the config's)."""
    return Target.from_env(
        env,
        prefix=args.prefix,
        max_environments=args.max_environments,
        sleep=args.sleep,
        withhold=tuple(args.withhold),
        fresh=tuple(args.fresh),
        health_path=args.health_path,
        port=args.port,
    )


def _publish(args: argparse.Namespace, env: Mapping[str, str], clients: Clients, report: Report) -> int:
    """The report as the PR comment, the log and the job summary; the exit code says whether ``up`` deployed.

    A preview refused by the cap is a warning, not a failure: the pull request itself is fine.
    """
    text = report.markdown()
    if clients.github is not None:
        outcome = clients.github.comment(args.pr, text)
        print(f"pull request comment {outcome}")
    print(text)
    _append(env, "GITHUB_STEP_SUMMARY", text)
    healthy = args.command == "down" or not report.backend_url or report.backend_status in LIVE
    if report.note and args.command == "up":
        print(f"::warning::{report.note}")
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
