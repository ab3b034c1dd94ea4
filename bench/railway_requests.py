"""Railway requests per scenario for one stack, counted by the fake Railway API.

Drives the providers the way the engine does (check/create, diff, read, update) against the fake on
127.0.0.1 and prints one table: create from nothing, a no-op `up` (diff only), a refresh, one variable
changed — with the backend's 10 variables, and with 10 and 200 extra variables. Next to each, the
request count of the community Terraform provider's pattern for the same change (per its source, see
shared/reference/railway.md §6: one variable resource per name, variableUpsert + serviceInstanceRedeploy
per change, one read per resource on refresh).

Usage: venv/bin/python bench/railway_requests.py
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from components.railway import provider as p
from components.railway.client import ClientSettings, RailwayClient
from tests.fakes.railway_api import FakeRailway

BASE_VARIABLES = 10  # the backend's table: DATABASE_URL, 6 secrets, ENVIRONMENT, PORT, FRONTEND_URL


def _make(client: RailwayClient, cls: type[p.RailwayProvider]) -> p.RailwayProvider:
    provider = cls()
    provider.use_client(client)
    return provider


class Stack:
    """The resources of one backend, in dependency order, as (provider, id, inputs, outputs)."""

    def __init__(self, client: RailwayClient, variables: dict[str, str]) -> None:
        self.client = client
        self.variables = variables
        self.items: list[dict[str, Any]] = []

    def _add(self, cls: type[p.RailwayProvider], inputs: dict[str, Any]) -> dict[str, Any]:
        provider = _make(self.client, cls)
        checked = provider.check({}, inputs)
        created = provider.create(checked.inputs)
        item = {"provider": provider, "id": created.id, "inputs": inputs, "outs": created.outs}
        self.items.append(item)
        return item

    def create(self) -> None:
        project = self._add(p.ProjectProvider, {"name": "maya-staging", "default_environment_name": "staging"})
        env = self._add(p.EnvironmentProvider, {"project_id": project["id"], "name": "staging"})
        scope = {"project_id": project["id"], "environment_id": env["id"]}
        self._add(p.PostgresProvider, {**scope, "workflow_poll_seconds": 0.001})
        service = self._add(p.ServiceProvider, {"project_id": project["id"], "name": "backend"})
        full = {**scope, "service_id": service["id"]}
        settings = self._add(
            p.ServiceInstanceProvider,
            {
                "service_id": service["id"],
                "environment_id": env["id"],
                "source_repo": "mayassistant/maya",
                "root_directory": "backend",
                "start_command": "uvicorn app.main:app",
                "healthcheck_path": "/api/health",
                "pre_deploy_command": "python apply_migration.py",
                "num_replicas": 1,
                "region": "us-west2",
            },
        )
        self.vars_item = self._add(p.VariablesProvider, {**full, "variables": dict(self.variables)})
        self._add(p.ServiceDomainProvider, {**full, "target_port": 8000})
        self._add(p.CustomDomainProvider, {**full, "domain": "api.staging.mayassistant.com", "target_port": 8000})
        self._add(
            p.DeploymentTriggerProvider,
            {
                **full,
                "provider": "github",
                "repository": "mayassistant/maya",
                "branch": "develop",
                "check_suites": True,
            },
        )
        self._add(p.ProjectTokenProvider, {**scope, "name": "ci"})
        self.deploy_item = self._add(
            p.DeploymentProvider,
            {
                **full,
                "revision": settings["outs"]["revision"] + self.vars_item["outs"]["revision"],
                "poll_seconds": 0.001,
                "timeout_seconds": 60,
            },
        )

    def noop_up(self) -> None:
        for item in self.items:
            assert item["provider"].diff(item["id"], item["outs"], item["inputs"]).changes is False

    def refresh(self) -> None:
        for item in self.items:
            result = item["provider"].read(item["id"], item["outs"])
            item["outs"] = result.outs

    def change_one_variable(self) -> None:
        name = next(iter(self.variables))
        news = {**self.vars_item["inputs"], "variables": {**self.variables, name: "changed"}}
        for item in self.items:
            inputs = news if item is self.vars_item else item["inputs"]
            if item is self.deploy_item:
                inputs = {**inputs, "revision": "r-" + self.vars_item["outs"]["revision"]}
            if item["provider"].diff(item["id"], item["outs"], inputs).changes:
                item["outs"] = item["provider"].update(item["id"], item["outs"], inputs).outs
                item["inputs"] = inputs


def measure(extra: int) -> dict[str, int]:
    variables = {f"VAR_{i}": f"value-{i}" for i in range(BASE_VARIABLES + extra)}
    with FakeRailway(deploy_polls_to_finish=1) as fake:
        client = RailwayClient("fake-railway-token", ClientSettings(endpoint=fake.url, requests_per_second=10_000))
        stack = Stack(client, variables)
        counts: dict[str, int] = {}
        for scenario, action in (
            ("create from nothing", stack.create),
            ("no-op up (diff only)", stack.noop_up),
            ("refresh", stack.refresh),
            ("one variable changed", stack.change_one_variable),
        ):
            fake.reset_counters()
            action()
            counts[scenario] = fake.count()
            counts[scenario + " (deploys)"] = fake.count("ServiceInstanceDeployV2")
        client.close()
        return counts


def terraform_pattern(variables: int) -> dict[str, int]:
    """Request counts of the community Terraform provider's pattern (railway_variable per name)."""
    others = 8  # project, environment, service, service domain, custom domain, trigger..., one read each
    return {
        "create from nothing": 1 + 1 + 4 + variables * 2 + 2 + 1,  # service: create+instance+connect+redeploy
        "no-op up (diff only)": others + variables,  # terraform plan refreshes every resource first
        "refresh": others + variables,
        "one variable changed": others + variables + 2,  # refresh, then variableUpsert + serviceInstanceRedeploy
    }


def main() -> None:
    rows = []
    for extra in (0, 10, 200):
        ours, tf = measure(extra), terraform_pattern(BASE_VARIABLES + extra)
        for scenario in ("create from nothing", "no-op up (diff only)", "refresh", "one variable changed"):
            rows.append((BASE_VARIABLES + extra, scenario, ours[scenario], ours[scenario + " (deploys)"], tf[scenario]))
    print(f"{'variables':>9} | {'scenario':<22} | {'requests':>8} | {'deploys':>7} | {'terraform pattern':>17}")
    print(f"{'-' * 9}-+-{'-' * 22}-+-{'-' * 8}-+-{'-' * 7}-+-{'-' * 17}")
    for variables, scenario, requests, deploys, tf in rows:
        print(f"{variables:>9} | {scenario:<22} | {requests:>8} | {deploys:>7} | {tf:>17}")


if __name__ == "__main__":
    main()
