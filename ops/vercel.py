"""The few Vercel REST endpoints the on-call commands use, over httpx, and the decisions made on their data.

Endpoints (``https://api.vercel.com``; ``Authorization: Bearer <token>``; ``?teamId=`` when
``frontend.teamId`` is set; ``MAYA_VERCEL_API_URL`` points elsewhere, e.g. at the loopback fake):

* ``GET /v9/projects/{projectId}`` — the project: ``targets.production`` is the deployment serving the
  production domains now, ``lastAliasRequest`` the last promotion/rollback and its ``jobStatus``.
* ``GET /v6/deployments?projectId=…&target=production&limit=…`` — production deployments, newest first
  (``uid``, ``url``, ``state`` READY/ERROR/BUILDING/…, ``created`` in ms, ``meta.githubCommitSha``,
  ``readySubstate`` STAGED/ROLLING/PROMOTED, ``isRollbackCandidate``).
* ``GET /v13/deployments/{id}`` — one deployment (to tell "does not exist" from "not a production one").
* ``POST /v10/projects/{projectId}/promote/{deploymentId}`` — point the production domains at an existing
  deployment without rebuilding it (the dashboard's "Promote to Production"). 201: done; 202: accepted,
  then ``lastAliasRequest.jobStatus`` goes ``pending``/``in-progress`` → ``succeeded``/``failed``.

Why promote rather than ``POST /v9/projects/{id}/rollback/{deploymentId}`` (Instant Rollback): the spec's
procedure is "Promote to Production", promote accepts any READY production deployment (with ``--to``),
and an Instant Rollback turns off the automatic assignment of production domains until the next
promotion, which would leave the pipeline's next ``vercel deploy --prod`` off the domains without a word.

Retries: 429 (``Retry-After``), 500/502/503/504 and connection failures, a bounded number of times with
backoff; promoting the same deployment twice is harmless, so POST is retried too. Errors never contain
the token.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import httpx

from ops.clock import age, parse_time, short
from ops.context import VERCEL_API, OpsError, StackContext

# What counts as "served production" is the pipeline's own rule (stdlib, inlined into the promotion steps):
# one definition for the automatic rollback and for ``ops rollback frontend``.
from workflows.scripts.vercel_production import served_production

USER_AGENT = "maya-infra-ops/1"
READY = "READY"
PENDING_ALIAS = frozenset({"pending", "in-progress"})
_RETRY = frozenset({429, 500, 502, 503, 504})

Deployment = Mapping[str, Any]


class VercelError(Exception):
    """A Vercel request failed; ``status`` is the HTTP status (0 when no answer came)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status

    @property
    def is_config_problem(self) -> bool:
        """401/403/404: the token, the team or the project id is wrong (exit 2, not 1)."""
        return self.status in (400, 401, 403, 404)


class VercelClient:
    def __init__(
        self,
        token: str,
        base_url: str,
        team_id: str | None = None,
        *,
        max_attempts: int = 4,
        timeout: float = 30.0,
        backoff_cap: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not token:
            raise VercelError("no Vercel token: set VERCEL_TOKEN or maya-infra:vercelToken")
        if not base_url.startswith(("https://", "http://127.0.0.1", "http://localhost", "http://[::1]")):
            raise VercelError(f"{base_url!r}: the Vercel API is reached over https only")
        self._token = token
        self._team_id = team_id
        self._attempts = max(1, max_attempts)
        self._cap = backoff_cap
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT, "Accept": "application/json"},
            timeout=httpx.Timeout(timeout, connect=10.0),
            transport=transport,
        )

    def __repr__(self) -> str:  # never show the token
        return f"VercelClient(base_url={str(self._http.base_url)!r}, team_id={self._team_id!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> VercelClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- transport -------------------------------------------------------------------------------------
    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "[redacted]")[:300]

    def _delay(self, attempt: int, response: httpx.Response | None) -> float:
        if response is not None:
            value = response.headers.get("retry-after", "")
            if value.strip().isdigit():
                return min(float(value), self._cap)
        base = min(self._cap, 0.5 * 2**attempt)
        return random.uniform(base / 2, base)  # noqa: S311 - jitter, not cryptography

    def request(self, method: str, path: str, params: Mapping[str, Any] | None = None) -> tuple[int, Any]:
        query = {k: v for k, v in (params or {}).items() if v is not None}
        if self._team_id:
            query["teamId"] = self._team_id
        what = f"Vercel {method} {path.split('?')[0]}"
        last = failure = ""
        unreachable = False
        for attempt in range(self._attempts):
            response: httpx.Response | None = None
            try:
                response = self._http.request(method, path, params=query)
            except httpx.TransportError as exc:
                last = f"no answer ({type(exc).__name__})"
                unreachable = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                failure = type(exc).__name__
            else:
                if response.status_code not in _RETRY:
                    return self._answer(what, response)
                last, unreachable = f"HTTP {response.status_code}", False
            if attempt + 1 < self._attempts:
                self._sleep(self._delay(attempt, response))
        if unreachable:
            raise VercelError(
                f"cannot reach the Vercel API at {self._http.base_url} ({failure}, {self._attempts} attempts); it "
                f"is set by MAYA_VERCEL_API_URL (default {VERCEL_API}): check it, and the network"
            )
        raise VercelError(f"{what}: {last}; gave up after {self._attempts} attempts")

    def _answer(self, what: str, response: httpx.Response) -> tuple[int, Any]:
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = None
        if response.status_code >= 400:
            error = body.get("error") if isinstance(body, dict) else None
            message = str(error.get("message", "")) if isinstance(error, dict) else response.text[:200]
            hint = {
                401: " — check VERCEL_TOKEN / maya-infra:vercelToken",
                403: " — the token cannot act on this project (wrong token, or frontend.teamId missing)",
                404: " — check vercel_project_id and frontend.teamId",
            }.get(response.status_code, "")
            raise VercelError(
                f"{what}: HTTP {response.status_code} {self._scrub(message)}{hint}".rstrip(), response.status_code
            )
        return response.status_code, body

    # ---- endpoints -------------------------------------------------------------------------------------
    def project(self, project_id: str) -> dict[str, Any]:
        _, body = self.request("GET", f"/v9/projects/{quote(project_id, safe='')}")
        return dict(body or {})

    def production_deployments(self, project_id: str, limit: int = 20) -> list[dict[str, Any]]:
        _, body = self.request(
            "GET", "/v6/deployments", {"projectId": project_id, "target": "production", "limit": limit}
        )
        return list((body or {}).get("deployments") or [])

    def deployment(self, deployment_id: str) -> dict[str, Any]:
        _, body = self.request("GET", f"/v13/deployments/{quote(deployment_id, safe='')}")
        return dict(body or {})

    def promote(self, project_id: str, deployment_id: str) -> int:
        """Ask Vercel to serve ``deployment_id`` on the production domains; 201 done, 202 accepted."""
        status, _ = self.request(
            "POST", f"/v10/projects/{quote(project_id, safe='')}/promote/{quote(deployment_id, safe='')}"
        )
        return status


# ---- pure decisions (unit-tested) ------------------------------------------------------------------------


def state_of(deployment: Deployment) -> str:
    return str(deployment.get("state") or deployment.get("readyState") or "UNKNOWN")


def id_of(deployment: Deployment) -> str:
    return str(deployment.get("uid") or deployment.get("id") or "")


def created_ms(deployment: Deployment) -> int:
    value = deployment.get("created") or deployment.get("createdAt") or 0
    return int(value) if isinstance(value, int | float) else 0


def commit_of(deployment: Deployment) -> str:
    meta = deployment.get("meta") or {}
    return str(meta.get("githubCommitSha") or meta.get("gitlabCommitSha") or meta.get("bitbucketCommitSha") or "")


def newest_first(deployments: Sequence[Deployment]) -> list[Deployment]:
    return sorted(deployments, key=created_ms, reverse=True)


def production_deployment_id(project: Mapping[str, Any], deployments: Sequence[Deployment]) -> str | None:
    """The deployment serving production now: the project's ``targets.production``, else the newest READY."""
    target = ((project.get("targets") or {}).get("production")) or {}
    if target.get("id"):
        return str(target["id"])
    ready = [d for d in newest_first(deployments) if state_of(d) == READY]
    return id_of(ready[0]) if ready else None


def previous_production_deployment(deployments: Sequence[Deployment], current_id: str | None) -> Deployment | None:
    """The newest deployment older than ``current_id`` that served the production domains
    (``served_production``: READY, built for production, promoted — never a staged build that was never
    live), and never the current one."""
    ordered = newest_first(deployments)
    ids = [id_of(d) for d in ordered]
    older = ordered[ids.index(current_id) + 1 :] if current_id in ids else ordered
    for deployment in older:
        if id_of(deployment) != current_id and served_production(deployment):
            return deployment
    return None


def never_served(deployments: Sequence[Deployment], current_id: str | None) -> list[Deployment]:
    """READY production deployments older than ``current_id`` that never served production (staged builds):
    what ``previous_production_deployment`` passed over, to say so."""
    ordered = newest_first(deployments)
    ids = [id_of(d) for d in ordered]
    older = ordered[ids.index(current_id) + 1 :] if current_id in ids else ordered
    return [d for d in older if state_of(d) == READY and d.get("target") == "production" and not served_production(d)]


def alias_job(project: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(target deployment id, jobStatus) of the project's last promotion/rollback, if any."""
    request = project.get("lastAliasRequest") or {}
    return (request.get("toDeploymentId"), request.get("jobStatus"))


# ---- the stack's project ----------------------------------------------------------------------------------


def project_of(ctx: StackContext) -> str:
    """The stack's Vercel project id (output ``vercel_project_id``); refuses when Vercel is left out."""
    platforms = ctx.outputs.get("platforms")
    if isinstance(platforms, list) and "vercel" not in platforms:
        raise OpsError(f"stack {ctx.stack!r} leaves Vercel out (maya-infra:platforms): no frontend deployments")
    return str(ctx.output("vercel_project_id"))


def client_for(ctx: StackContext) -> VercelClient:
    return VercelClient(ctx.vercel_token(), ctx.vercel_api(), ctx.config.frontend.team_id)


def describe(deployment: Deployment) -> str:
    """``dpl_…  READY  commit 1a2b3c4  created 3h 02m ago  https://….vercel.app``."""
    url = str(deployment.get("url") or "")
    url = url if not url or url.startswith("http") else f"https://{url}"
    state = state_of(deployment)
    substate = deployment.get("readySubstate")
    shown = f"{state}/{substate}" if state == READY and substate else state
    return (
        f"{id_of(deployment)}  {shown:<9} commit {short(commit_of(deployment))}  "
        f"created {age(parse_time(created_ms(deployment) or None))} ago  {url}"
    ).rstrip()
