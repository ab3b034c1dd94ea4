"""Deploys: what every Railway deploy must do before it takes traffic (health check, migrations)."""

from __future__ import annotations

from collections.abc import Iterator

from policy.rules.model import MIGRATION_COMMAND, RAILWAY_INSTANCE, UNKNOWN, Resource


def railway_health_and_migrations(r: Resource) -> Iterator[str]:
    """A Railway service has a health-check path and runs the migrations before each deploy."""
    if r.type != RAILWAY_INSTANCE:
        return
    path = r.get("healthcheck_path", "healthcheckPath")
    if path is not UNKNOWN and not (isinstance(path, str) and path.startswith("/")):
        yield (
            f"Railway service {r.name} has no health-check path (got {path!r}): a deploy would go live without "
            "being checked (set maya-infra:backend.healthcheckPath)"
        )
    command = r.get("pre_deploy_command", "preDeployCommand")
    if command is not UNKNOWN and not (isinstance(command, str) and MIGRATION_COMMAND in command):
        yield (
            f"Railway service {r.name} does not run the migrations before deploying: its pre-deploy command is "
            f"{command!r}, it must run {MIGRATION_COMMAND!r} (set maya-infra:backend.preDeployCommand)"
        )
