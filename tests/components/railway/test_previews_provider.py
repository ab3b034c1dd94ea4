"""The project's pull-request settings (components/railway/providers/previews.py) against the fake Railway: declared
off, drift from the dashboard seen on refresh and reverted by one write, nothing sent by a no-op diff."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import graphql
import pytest

from components.railway import operations as gql
from components.railway import provider as p
from components.railway.operations import Operation
from tests.fakes.railway_api import FakeRailway

OPERATIONS = (gql.PROJECT_PR_SETTINGS, gql.PROJECT_PR_SETTINGS_UPDATE)

SCHEMA = Path(__file__).resolve().parents[2] / "railway" / "schema.graphql"
OFF = {"pr_deploys": False, "bot_pr_environments": False, "focused_pr_environments": False}


@cache
def schema() -> graphql.GraphQLSchema:
    return graphql.build_schema(SCHEMA.read_text(), assume_valid=True)


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda o: o.name)
def test_documents_validate_against_the_schema(operation: Operation) -> None:
    assert graphql.validate(schema(), graphql.parse(operation.document)) == []


def test_declared_off_drift_is_seen_and_reverted_once(
    make: Callable[[type[Any]], Any], stack: dict[str, Any], fake: FakeRailway
) -> None:
    provider = make(p.PrEnvironmentSettingsProvider)
    project = fake.state.projects[stack["project_id"]]
    project["prDeploys"] = True  # someone switched Railway's native PR environments on
    created = provider.create({"project_id": stack["project_id"], **OFF})
    assert created.id == stack["project_id"] and project["prDeploys"] is False
    fake.reset_counters()
    assert not provider.diff(created.id, created.outs, {"project_id": stack["project_id"], **OFF}).changes
    assert fake.count() == 0
    project["botPrEnvironments"] = True  # drift behind Pulumi's back
    read = provider.read(created.id, created.outs)
    assert read.inputs is not None and read.inputs["bot_pr_environments"] is True
    diff = provider.diff(created.id, read.outs, {"project_id": stack["project_id"], **OFF})
    assert diff.changes and not diff.replaces
    fake.reset_counters()
    provider.update(created.id, read.outs, {"project_id": stack["project_id"], **OFF})
    assert fake.count(mutations_only=True) == 1 and project["botPrEnvironments"] is False
    provider.delete(created.id, read.outs)  # leaves the project's settings as declared
    assert stack["project_id"] in fake.state.projects and project["prDeploys"] is False
    fake.delete_behind("project", stack["project_id"])
    assert provider.read(created.id, read.outs).id == ""
