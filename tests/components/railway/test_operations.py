"""Every GraphQL document the provider can send is valid against Railway's real public schema."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path
from typing import Any

import graphql
import pytest

from components.railway import errors
from components.railway import operations as ops
from components.railway.client import RailwayClient
from components.railway.exactly_once import write_once
from tests.fakes.railway_api import FakeRailway

SCHEMA = Path(__file__).resolve().parents[2] / "railway" / "schema.graphql"


@cache
def schema() -> graphql.GraphQLSchema:
    return graphql.build_schema(SCHEMA.read_text(), assume_valid=True)


@pytest.mark.parametrize("operation", ops.ALL, ids=lambda o: o.name)
def test_document_validates_against_the_schema(operation: ops.Operation) -> None:
    document = graphql.parse(operation.document)
    assert graphql.validate(schema(), document) == []
    definition = document.definitions[0]
    assert isinstance(definition, graphql.OperationDefinitionNode)
    assert definition.name is not None and definition.name.value == operation.name
    assert (definition.operation == graphql.OperationType.MUTATION) is operation.is_mutation


def test_creates_are_only_mutations() -> None:
    assert all(o.is_mutation for o in ops.ALL if o.creates)


def test_provider_sends_only_declared_operations() -> None:
    used = {
        node.attr
        for module in (Path(ops.__file__).parent / "providers").glob("*.py")
        for node in ast.walk(ast.parse(module.read_text()))
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "ops"
    }
    declared = {name for name, value in vars(ops).items() if isinstance(value, ops.Operation)}
    assert used and used <= declared


# ---- exactly once, held at run time (components/railway/exactly_once.py ``admit``) ----------------------------
def _service_create(stack: dict[str, Any], name: str = "api") -> dict[str, Any]:
    return {"input": {"projectId": stack["project_id"], "name": name}}


def _service_named(client: RailwayClient, stack: dict[str, Any], name: str = "api") -> dict[str, Any] | None:
    services = client.execute(ops.PROJECT, {"id": stack["project_id"]})["project"]["services"]["edges"]
    return next((e["node"] for e in services if e["node"]["name"] == name), None)


@pytest.mark.parametrize("operation", [o for o in ops.ALL if o.creates], ids=lambda o: o.name)
def test_the_client_refuses_every_create_outside_write_once(
    operation: ops.Operation, fake: FakeRailway, client: RailwayClient
) -> None:
    """Whatever module sends it and under whatever name: nothing leaves the client."""
    with pytest.raises(errors.UnguardedWriteError, match="outside write_once"):
        client.execute(operation, {})
    assert fake.count() == 0


def test_a_create_under_another_name_or_claiming_to_be_idempotent_is_refused(
    fake: FakeRailway, client: RailwayClient, stack: dict[str, Any]
) -> None:
    from components.railway.operations import SERVICE_CREATE as make_service  # an imported name

    relabelled = ops.Operation("MakeService", make_service.document.replace("ServiceCreate", "MakeService"))
    assert relabelled.idempotent and not relabelled.creates  # it says it may be repeated: not believed
    before = fake.count()
    for operation in (make_service, relabelled):
        with pytest.raises(errors.UnguardedWriteError):
            client.execute(operation, _service_create(stack))
    assert fake.count() == before and _service_named(client, stack) is None


def test_a_find_that_does_not_look_is_refused_before_anything_is_sent(
    fake: FakeRailway, client: RailwayClient, stack: dict[str, Any]
) -> None:
    send = lambda: client.execute(ops.SERVICE_CREATE, _service_create(stack))  # noqa: E731
    before = fake.count("ServiceCreate")  # the stack's backend
    with pytest.raises(errors.UnguardedWriteError, match="find sent no request"):
        write_once(client, "service api", find=lambda: None, send=send)
    assert fake.count("ServiceCreate") == before
    # without a look first, a blind find is caught when it matters: after a lost answer, before a resend
    fake.inject("drop_after", match="ServiceCreate")
    with pytest.raises(errors.UnguardedWriteError, match="find sent no request"):
        write_once(client, "service api", find=lambda: None, send=send, look_first=False)
    assert fake.count("ServiceCreate") == before + 1 and _service_named(client, stack) is not None


def test_a_create_inside_a_find_a_discard_or_twice_in_one_send_is_refused(
    fake: FakeRailway, client: RailwayClient, stack: dict[str, Any]
) -> None:
    def find_that_creates() -> None:
        client.execute(ops.SERVICE_CREATE, _service_create(stack))

    with pytest.raises(errors.UnguardedWriteError, match="inside the find"):
        write_once(client, "service api", find=find_that_creates, send=lambda: None)

    def two() -> None:
        client.execute(ops.SERVICE_CREATE, _service_create(stack, "one"))
        client.execute(ops.SERVICE_CREATE, _service_create(stack, "two"))

    with pytest.raises(errors.UnguardedWriteError, match="second non-idempotent mutation"):
        write_once(client, "two services", find=lambda: _service_named(client, stack, "one"), send=two)
    assert _service_named(client, stack, "one") is not None and _service_named(client, stack, "two") is None

    made: list[str] = []

    def find() -> dict[str, Any] | None:
        found = _service_named(client, stack, "stray")
        return None if made else found

    def discard(_stray: dict[str, Any]) -> None:
        client.execute(ops.SERVICE_CREATE, _service_create(stack, "stray"))

    fake.dashboard().execute(ops.SERVICE_CREATE, _service_create(stack, "stray"))
    with pytest.raises(errors.UnguardedWriteError, match="inside the discard"):
        write_once(client, "stray", find=find, send=lambda: made.append("x"), discard=discard)
    assert fake.count("ServiceCreate") == 3  # the stack's, "one" and the dashboard's: nothing refused was sent


def test_every_creating_root_field_is_known_whatever_its_operation_says() -> None:
    assert {o.root_field for o in ops.ALL if o.creates} == ops.CREATING_ROOT_FIELDS
    idempotent_roots = {o.root_field for o in ops.ALL if o.is_mutation and not o.creates}
    assert not idempotent_roots & ops.CREATING_ROOT_FIELDS, "a root field is declared both ways"


def test_mutations_say_how_they_may_be_retried() -> None:
    not_idempotent = {o.name for o in ops.ALL if o.creates}
    assert not_idempotent == {
        "ProjectCreate",
        "EnvironmentCreate",
        "ServiceCreate",
        "ServiceDomainCreate",
        "CustomDomainCreate",
        "DeploymentTriggerCreate",
        "ProjectTokenCreate",
        "ServiceInstanceDeployV2",
        "ServiceInstanceDeployCommit",  # the stack's redeploy of the live commit
        "DeploymentRollback",
        "TemplateDeployV2",
        "VolumeInstanceBackupCreate",
        "VolumeInstanceBackupRestore",
        "NotificationRuleCreate",
    }
    assert all(o.idempotent for o in ops.ALL if not o.is_mutation)
