"""A command acts on the stack it names: the Railway and Vercel projects its outputs point at are that stack's.

The outputs themselves are checked first, with no request (:func:`ops.context.check_outputs_stack`: their
``stack`` output). Before any write, one read of each project the command writes to checks that it belongs
to the stack, against the stack's config:

* **Railway**: the project's description carries the ownership marker ``pulumi up`` writes
  (``managed by maya-infra (stack <name>)``, or ``adopted by maya-infra (stack <name>)`` on a project it
  adopted, as production's is: components/railway/providers/project.py); a project without a marker (adopted,
  not yet updated) must carry the stack's configured name (``backend.projectName``). The
  environment the outputs name must be one of that project's, named like the stack's environment
  (``backend.environmentName``, default the stack's name), and the service one of its services.
* **Vercel**: the project must carry the stack's configured name (``frontend.projectName``).

A mismatch is a refusal (exit 2) that names both sides; nothing has been written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.railway import errors
from components.railway import operations as gql
from components.railway.client import RailwayClient
from components.railway.providers.base import edges
from components.railway.providers.project import ADOPTED_MARKER, MARKER
from config import NAMESPACE
from ops.context import OpsError, StackContext

_FIX = "nothing was done: check the outputs (--outputs / MAYA_OPS_OUTPUTS) against `pulumi stack output --stack {}`"


def railway_project(ctx: StackContext, client: RailwayClient) -> Mapping[str, Any]:
    """The stack's Railway project (one read), or a refusal when the outputs point at another one."""
    project_id = str(ctx.output("railway_project_id"))
    fix = _FIX.format(ctx.stack)
    try:
        project: Mapping[str, Any] = client.execute(gql.PROJECT, {"id": project_id})["project"]
    except errors.NotFoundError:
        raise OpsError(
            f"the Railway project {project_id} of stack {ctx.stack}'s outputs does not exist, or the token "
            f"cannot see it; {fix}"
        ) from None
    problem = railway_mismatch(ctx, project)
    if problem:
        raise OpsError(f"the outputs point at {problem}; {fix}")
    return project


def railway_mismatch(ctx: StackContext, project: Mapping[str, Any]) -> str:
    """Why ``project`` (as Railway answered ``gql.PROJECT``) is not stack ``ctx.stack``'s; "" when it is."""
    cfg = ctx.config
    name, description = str(project.get("name") or ""), str(project.get("description") or "")
    label = f"Railway project {project.get('id')} ({name!r})"
    if project.get("deletedAt"):
        return f"{label}, which is deleted"
    found = MARKER.search(description) or ADOPTED_MARKER.search(description)
    if found is not None and found.group(1) != ctx.stack:
        return f"{label}, which is marked {found.group(0)!r}: not stack {ctx.stack}'s"
    if found is None and name != cfg.backend.project_name:
        return (
            f"{label}, but stack {ctx.stack}'s project is {cfg.backend.project_name!r} "
            f"({NAMESPACE}:backend.projectName)"
        )
    environments = {str(e["id"]): str(e["name"]) for e in edges(project.get("environments"))}
    environment_id = str(ctx.outputs.get("railway_environment_id") or "")
    if environment_id and environment_id not in environments:
        return f"environment {environment_id}, which is not an environment of {label}"
    if environment_id and environments[environment_id] != cfg.environment:
        return (
            f"environment {environment_id} ({environments[environment_id]!r}) of {label}, but stack "
            f"{ctx.stack}'s environment is {cfg.environment!r}"
        )
    services = {str(s["id"]) for s in edges(project.get("services"))}
    service_id = str(ctx.outputs.get("railway_service_id") or "")
    if service_id and service_id not in services:
        return f"service {service_id}, which is not a service of {label}"
    return ""


def vercel_project(ctx: StackContext, project: Mapping[str, Any]) -> None:
    """Refuse a Vercel project (as ``GET /v9/projects/{id}`` answered) that is not the stack's."""
    wanted = ctx.config.frontend.project_name
    name = project.get("name")
    if name != wanted:
        raise OpsError(
            f"the outputs point at Vercel project {project.get('id')} ({name!r}), but stack {ctx.stack}'s project is "
            f"{wanted!r} ({NAMESPACE}:frontend.projectName); {_FIX.format(ctx.stack)}"
        )
