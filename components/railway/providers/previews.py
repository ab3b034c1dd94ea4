"""The project-level pull-request settings of a stack's Railway project (docs/previews.md).

Railway can create a PR environment by itself for every pull request (``Project.prDeploys``, plus
``botPrEnvironments`` and ``focusedPrEnvironments``). maya-infra declares these settings OFF in both stacks,
and keeps them off: a Railway-native PR environment forks the project's base environment with every variable
(production's secrets, in the production project), has no cap, and cannot withhold a variable before its
first deploy. Staging's previews are made by the generated previews workflow instead
(workflows/scripts/pr_preview.py), within a cap and from the variable table's ``previews`` flags. A refresh
shows it when someone switches the native feature on in the dashboard, and the next ``up`` switches it off.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from components.railway import operations as gql
from components.railway.providers.adoption import Runs
from components.railway.providers.base import RailwayProvider
from components.railway.providers.schema import RailwayResource, parent, setting

#: Our key -> Railway's Project field.
_FIELDS = {
    "pr_deploys": "prDeploys",
    "bot_pr_environments": "botPrEnvironments",
    "focused_pr_environments": "focusedPrEnvironments",
}


class PrEnvironmentSettingsProvider(RailwayProvider):
    """``prDeploys``/``botPrEnvironments``/``focusedPrEnvironments`` of one project; one write when they differ."""

    def _write(self, project_id: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
        payload = {field: bool(inputs.get(key)) for key, field in _FIELDS.items()}
        self.client.execute(gql.PROJECT_PR_SETTINGS_UPDATE, {"id": project_id, "input": payload})
        return {}

    def _create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return inputs["project_id"], self._write(inputs["project_id"], inputs)  # an update: nothing is created

    def _update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        return self._write(id_, news)

    def _delete(self, id_: str, props: Mapping[str, Any]) -> None:
        return  # the settings belong to the project; the last declared (off) stay

    def _read(self, id_: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        project = self.client.execute(gql.PROJECT_PR_SETTINGS, {"id": id_})["project"]
        if project.get("deletedAt"):
            return None
        return {"project_id": project["id"], **{key: bool(project.get(field)) for key, field in _FIELDS.items()}}

    def candidates(self, inputs: Mapping[str, Any], runs: Runs | None = None) -> list[dict[str, Any]]:
        """The settings of the project (its id is the project's)."""
        return [{"id": inputs["project_id"], "name": "Railway's own PR environments"}]


class PrEnvironmentSettings(RailwayResource, provider=PrEnvironmentSettingsProvider):
    """Railway's own PR environments of a project, declared off (docs/previews.md)."""

    project_id: pulumi.Input[str] = parent()
    pr_deploys: bool = setting(default=False)
    bot_pr_environments: bool = setting(default=False)
    focused_pr_environments: bool = setting(default=False)
