"""A pull request's preview environment on Railway: the cap, the fork made preview-safe, its deployments.

Standard library only; part of pr_preview.py's bundle (:func:`workflows.render.write_script` writes it next
to pr_preview.py on the runner). Every write looks first, so a rerun writes nothing it already wrote, and a
create whose answer was lost is looked up before it is sent again (:func:`preview_graphql.create_once`).
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING or __package__:  # siblings of an inlined script: see workflows/scripts/__init__.py
    from workflows.scripts import preview_graphql as gql
    from workflows.scripts import script_http
else:
    import preview_graphql as gql
    import script_http

#: how Railway references another variable; built apart, as the joined text in a workflow would be expanded
_REFERENCE = "$" + "{" + "{"
PREVIEW_MARKER = "MAYA_PREVIEW"  # set on each service once its variables are the preview's own
BRANCH_VARIABLE = "MAYA_PREVIEW_BRANCH"  # shared variable of a preview: the pull request's branch
LIVE = frozenset({"SUCCESS", "SLEEPING"})
FAILED = frozenset({"FAILED", "CRASHED", "REMOVED", "SKIPPED"})


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
            raise gql.PreviewError(
                f"{', '.join(missing)} not set: they are variables of the `preview` GitHub environment"
            )
        return cls(env["RAILWAY_PROJECT_ID"], env["RAILWAY_ENVIRONMENT_ID"], env["RAILWAY_SERVICE_ID"], **shape)


# ---- Railway: the environment ------------------------------------------------------------------------------


@dataclass
class Preview:
    pr: int
    name: str
    environment_id: str
    created_at: str
    backend_url: str | None = None


def previews(railway: gql.Railway, target: Target) -> list[Preview]:
    """The live previews of the project: ephemeral environments named ``<prefix><number>``, oldest first."""
    found: list[Preview] = []
    after = None
    for _ in range(script_http.MAX_PAGES):
        page = railway(gql.ENVIRONMENTS_QUERY, {"projectId": target.project_id, "after": after})["environments"]
        for node in gql.edges(page):
            number = target.number(node["name"])
            if node.get("isEphemeral") and number is not None:
                found.append(Preview(number, node["name"], node["id"], node["createdAt"]))
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    return sorted(found, key=lambda p: (p.created_at, p.environment_id))


def find(railway: gql.Railway, target: Target, pr: int) -> Preview | None:
    return next((p for p in previews(railway, target) if p.pr == pr), None)


@dataclass
class Admission:
    preview: Preview | None
    created: bool
    live: int
    reason: str = ""


def admit(railway: gql.Railway, target: Target, pr: int) -> Admission:
    """The PR's environment: found, or created within the cap (else None, with the reason)."""
    live = previews(railway, target)
    own = next((p for p in live if p.pr == pr), None)
    if own is not None:
        return Admission(own, False, len(live))
    if len(live) >= target.max_environments:
        return Admission(None, False, len(live), _cap_reason(live, target))
    _create_environment(railway, target, pr)
    return _keep_within_cap(railway, target, pr)


def _create_environment(railway: gql.Railway, target: Target, pr: int) -> None:
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
            return railway(gql.ENVIRONMENT_CREATE, {"input": payload})["environmentCreate"]
        except gql.AmbiguousError:
            raise
        except gql.PreviewError as error:
            if "already exists" in str(error):  # a concurrent run of the same PR won the race
                return None
            raise

    gql.create_once(send, lambda: find(railway, target, pr))


def _keep_within_cap(railway: gql.Railway, target: Target, pr: int) -> Admission:
    """Look again after the create: it may have raced other PRs past the cap; the oldest ``max`` stay.

    Listing and creating are two requests, so two PRs can both see room; the younger one removes what it
    just created, and the cap holds without a lock.
    """
    live = previews(railway, target)
    own = next((p for p in live if p.pr == pr), None)
    if own is None:
        raise gql.PreviewError(f"environment {target.name(pr)} was created but is not listed")
    keep = live[: target.max_environments]
    if own not in keep:
        railway(gql.ENVIRONMENT_DELETE, {"id": own.environment_id})
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
    railway: gql.Railway, target: Target, preview: Preview, sleep: Callable[[float], None], attempts: int
) -> dict[str, Any]:
    """The fork, once its service instances exist (they can appear only after Railway applied the fork)."""
    for attempt in range(attempts):
        env: dict[str, Any] = railway(gql.ENVIRONMENT_QUERY, {"id": preview.environment_id})["environment"]
        if not env.get("isEphemeral"):
            raise gql.PreviewError(f"environment {preview.name} is not ephemeral: refusing to treat it as a preview")
        if any(node["serviceId"] == target.service_id for node in gql.edges(env.get("serviceInstances"))):
            return env
        if attempt + 1 < attempts:
            sleep(5.0)
    raise gql.PreviewError(f"environment {preview.name} has no instance of the backend service after {attempts} looks")


def prepare(
    railway: gql.Railway,
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
    instances = {node["serviceId"]: node for node in gql.edges(env.get("serviceInstances"))}
    # 1. No branch trigger: this script deploys the PR's commit, so one push is one deploy.
    for trigger in gql.edges(env.get("deploymentTriggers")):
        railway(gql.TRIGGER_DELETE, {"id": trigger["id"]})
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
        railway(gql.VARIABLES_WRITE, {"input": {**scope, "variables": {BRANCH_VARIABLE: branch}, "skipDeploys": True}})
    volumes = {node["serviceId"] for node in gql.edges(env.get("volumeInstances"))}
    return {"instances": instances, "volumes": volumes}


def _make_backend_variables_safe(railway: gql.Railway, target: Target, preview: Preview) -> None:
    """Replace the backend's forked variables by the preview-safe set, once per preview.

    ``--withhold`` names (staging's secrets) are dropped, ``--fresh`` ones get new random values, Railway's
    own ``RAILWAY_*`` are left to Railway. The marker is written in the same request as the rest, so its
    presence proves this preview's values are in place and a rerun skips the write.
    """
    scope = {"projectId": target.project_id, "environmentId": preview.environment_id, "serviceId": target.service_id}
    backend = railway(gql.VARIABLES_QUERY, scope)["variables"] or {}
    if not (set(backend) & set(target.withhold)) and backend.get(PREVIEW_MARKER) == preview.name:
        return
    kept = {k: v for k, v in backend.items() if k not in target.withhold and not k.startswith("RAILWAY_")}
    kept.update({name: secrets.token_urlsafe(32) for name in target.fresh})
    kept[PREVIEW_MARKER] = preview.name  # written last, with the rest: this preview's values are in place
    railway(gql.VARIABLES_WRITE, {"input": {**scope, "variables": kept, "replace": True, "skipDeploys": True}})


def _rotate_passwords(railway: gql.Railway, target: Target, preview: Preview, service_id: str) -> None:
    """Give another service of the fork (the database) its own ``*PASSWORD`` values, once per preview.

    A fork copies staging's database password; the preview's own, empty volume must not share it. Values
    that reference other variables are left as they are: Railway resolves them inside the preview.
    """
    scope = {"projectId": target.project_id, "environmentId": preview.environment_id, "serviceId": service_id}
    values = railway(gql.VARIABLES_QUERY, scope)["variables"] or {}
    if values.get(PREVIEW_MARKER) == preview.name:
        return  # already rotated for this preview
    fresh = {
        name: secrets.token_urlsafe(24)
        for name, value in values.items()
        if name.endswith("PASSWORD") and isinstance(value, str) and not _is_reference(value)
    }
    variables = {**fresh, PREVIEW_MARKER: preview.name}
    railway(gql.VARIABLES_WRITE, {"input": {**scope, "variables": variables, "skipDeploys": True}})


def _set_idle_sleep(railway: gql.Railway, target: Target, preview: Preview, service_id: str) -> None:
    """Make one service of the preview sleep when idle (``--sleep``), or stay awake; written only on change."""
    where = {"serviceId": service_id, "environmentId": preview.environment_id}
    current = railway(gql.INSTANCE_QUERY, where)
    if bool((current.get("serviceInstance") or {}).get("sleepApplication")) != target.sleep:
        railway(gql.INSTANCE_UPDATE, {**where, "input": {"sleepApplication": target.sleep}})


def branch_of(railway: gql.Railway, target: Target, preview: Preview) -> str:
    """The branch a preview was made for (its shared variable), or "" when it was not recorded."""
    scope = {"projectId": target.project_id, "environmentId": preview.environment_id, "serviceId": None}
    shared = railway(gql.VARIABLES_QUERY, scope)["variables"] or {}
    return str(shared.get(BRANCH_VARIABLE) or "")


def backend_url(railway: gql.Railway, target: Target, preview: Preview, *, create: bool = False) -> str | None:
    scope = {
        "projectId": target.project_id,
        "environmentId": preview.environment_id,
        "serviceId": target.service_id,
    }

    def look() -> dict[str, Any] | None:
        domains = railway(gql.DOMAINS_QUERY, scope)["domains"]["serviceDomains"]
        return domains[0] if domains else None

    found = look()
    if found is None and create:
        found = gql.create_once(
            lambda: railway(
                gql.DOMAIN_CREATE,
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


def _deployments(railway: gql.Railway, target: Target, preview: Preview, service_id: str) -> list[dict[str, Any]]:
    listing = railway(
        gql.DEPLOYMENTS_QUERY,
        {
            "input": {
                "projectId": target.project_id,
                "environmentId": preview.environment_id,
                "serviceId": service_id,
            }
        },
    )["deployments"]
    return gql.edges(listing)


def _commit_of(deployment: Mapping[str, Any]) -> str | None:
    meta = deployment.get("meta") or {}
    return meta.get("commitHash") if isinstance(meta, Mapping) else None


def deploy(
    railway: gql.Railway, target: Target, preview: Preview, service_id: str, sha: str | None
) -> tuple[str, bool]:
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
    deployment_id = gql.create_once(lambda: railway(gql.DEPLOY, variables)["serviceInstanceDeployV2"], existing)
    return str(deployment_id), True


def wait(
    railway: gql.Railway,
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
        status = str(railway(gql.DEPLOYMENT_QUERY, {"id": deployment_id})["deployment"]["status"])
        if status in LIVE or status in FAILED or clock() >= deadline:
            return status
        sleep(poll)
