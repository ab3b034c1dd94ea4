"""The backend's Railway deployments as the on-call commands see them.

Reads go through the provider's own client (:class:`components.railway.client.RailwayClient`) and its
documents (:mod:`components.railway.operations`); the decisions — which deployment is live, which one to
roll back to, which one a rollback created — are the pure functions of
``workflows/scripts/railway_rollback.py``, the script the generated backend pipeline runs for its
automatic rollback, so the pipeline and ``python -m ops rollback backend`` choose the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components.railway import errors
from components.railway import operations as gql
from components.railway.client import RailwayClient
from ops.clock import age, parse_time, short
from ops.context import OpsError, StackContext
from workflows.scripts.railway_rollback import (
    FAILED,
    FINISHED,
    LIVE,
    deployment_after,
    newest_first,
    previous_successful_deployment,
    rollback_target,
)

__all__ = [
    "FAILED",
    "FINISHED",
    "LIVE",
    "Service",
    "deployment_after",
    "describe",
    "get",
    "live",
    "newest_first",
    "previous_successful_deployment",
    "rollback_in_flight",
    "rollback_of",
    "rollback_target",
]

Deployment = Mapping[str, Any]
HISTORY = 20  # deployments read per look (the pipeline's script reads as many)


@dataclass(frozen=True)
class Service:
    """The stack's backend service on Railway: ids from the stack outputs, names from its config."""

    project_id: str
    environment_id: str
    service_id: str
    label: str

    @classmethod
    def of(cls, ctx: StackContext) -> Service:
        platforms = ctx.outputs.get("platforms")
        if isinstance(platforms, list) and "railway" not in platforms:
            raise OpsError(f"stack {ctx.stack!r} leaves Railway out (maya-infra:platforms): no backend deployments")
        b = ctx.config.backend
        return cls(
            str(ctx.output("railway_project_id")),
            str(ctx.output("railway_environment_id")),
            str(ctx.output("railway_service_id")),
            f"Railway project {b.project_name}, service {b.service_name}",
        )

    def deployments(self, client: RailwayClient, first: int = HISTORY) -> list[Deployment]:
        data = client.execute(
            gql.DEPLOYMENTS,
            {
                "input": {
                    "projectId": self.project_id,
                    "environmentId": self.environment_id,
                    "serviceId": self.service_id,
                },
                "first": first,
            },
        )
        return newest_first([edge["node"] for edge in data["deployments"]["edges"]])


def get(client: RailwayClient, deployment_id: str) -> Deployment:
    """One deployment by id; an unknown id is a usage error (exit 2) that names it."""
    try:
        node: Deployment = client.execute(gql.DEPLOYMENT, {"id": deployment_id})["deployment"]
    except errors.NotFoundError:
        raise OpsError(f"there is no Railway deployment {deployment_id!r}") from None
    return node


def live(deployments: Sequence[Deployment]) -> Deployment | None:
    """The deployment serving traffic now: the newest SUCCESS (or SLEEPING) one."""
    return next((d for d in newest_first(deployments) if d.get("status") in LIVE), None)


def commit(deployment: Deployment) -> str:
    meta = deployment.get("meta") or {}
    return str(meta.get("commitHash") or meta.get("image") or "") if isinstance(meta, Mapping) else ""


def describe(deployment: Deployment) -> str:
    """``<id>  SUCCESS  commit 1a2b3c4  12m ago`` (+ what it was rolled back from, when Railway says)."""
    meta = deployment.get("meta") if isinstance(deployment.get("meta"), Mapping) else {}
    text = (
        f"{deployment['id']}  {deployment.get('status', '?'):<9} commit {short(commit(deployment))}  "
        f"created {age(parse_time(deployment.get('createdAt')))} ago"
    )
    if meta and meta.get("reason") == "rollback" and meta.get("sourceDeploymentId"):
        text += f"  (rollback: a copy of {meta['sourceDeploymentId']})"
    return text


def _meta(deployment: Deployment) -> Mapping[str, Any]:
    meta = deployment.get("meta")
    return meta if isinstance(meta, Mapping) else {}


def rollback_in_flight(deployments: Sequence[Deployment]) -> Deployment | None:
    """A rollback deployment Railway has not finished yet (someone else's rollback under way), if any."""
    return next(
        (
            d
            for d in newest_first(deployments)
            if d.get("status") not in FINISHED and _meta(d).get("reason") == "rollback"
        ),
        None,
    )


def rollback_of(deployments: Sequence[Deployment], target_id: str, known: set[str]) -> Deployment | None:
    """The deployment our ``deploymentRollback(id: target_id)`` created: a rollback (``meta.reason``) whose
    source is ``target_id``, not among the ``known`` ids listed before it was sent. Railway answers that
    mutation with a bare ``true``, so this — never "the newest deployment" — is how its deployment is known.
    Two such (someone else rolled back to the same deployment at the same moment) is refused by the caller."""
    found = [
        d
        for d in newest_first(deployments)
        if d["id"] not in known
        and _meta(d).get("reason") == "rollback"
        and str(_meta(d).get("sourceDeploymentId") or "") == target_id
    ]
    if len(found) > 1:
        raise OpsError(
            f"Railway shows {len(found)} rollbacks to {target_id} made since this command looked "
            f"({', '.join(str(d['id']) for d in found)}): another rollback ran at the same time; "
            "`python -m ops status` shows which one is live",
            1,
        )
    return found[0] if found else None
