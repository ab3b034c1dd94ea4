"""Every GraphQL document the provider can send is valid against Railway's real public schema."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path
from typing import Any

import graphql
import pytest

from components.railway import errors
from components.railway import operations as gql
from components.railway.client import RailwayClient
from components.railway.exactly_once import write_once
from tests.fakes.railway_api import FakeRailway

SCHEMA = Path(__file__).resolve().parents[2] / "railway" / "schema.graphql"


@cache
def schema() -> graphql.GraphQLSchema:
    return graphql.build_schema(SCHEMA.read_text(), assume_valid=True)


@pytest.mark.parametrize("operation", gql.ALL, ids=lambda o: o.name)
def test_document_validates_against_the_schema(operation: gql.Operation) -> None:
    document = graphql.parse(operation.document)
    assert graphql.validate(schema(), document) == []
    definition = document.definitions[0]
    assert isinstance(definition, graphql.OperationDefinitionNode)
    assert definition.name is not None and definition.name.value == operation.name
    assert (definition.operation == graphql.OperationType.MUTATION) is operation.is_mutation


def test_creates_are_only_mutations() -> None:
    assert all(o.is_mutation for o in gql.ALL if o.creates)


def test_provider_sends_only_declared_operations() -> None:
    used = {
        node.attr
        for module in (Path(gql.__file__).parent / "providers").glob("*.py")
        for node in ast.walk(ast.parse(module.read_text()))
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "gql"
    }
    declared = {name for name, value in vars(gql).items() if isinstance(value, gql.Operation)}
    assert used and used <= declared


# ---- exactly once, held at run time (components/railway/exactly_once.py ``admit``) ----------------------------
def _service_create(stack: dict[str, Any], name: str = "api") -> dict[str, Any]:
    return {"input": {"projectId": stack["project_id"], "name": name}}


def _service_named(client: RailwayClient, stack: dict[str, Any], name: str = "api") -> dict[str, Any] | None:
    services = client.execute(gql.PROJECT, {"id": stack["project_id"]})["project"]["services"]["edges"]
    return next((e["node"] for e in services if e["node"]["name"] == name), None)


@pytest.mark.parametrize("operation", [o for o in gql.ALL if o.creates], ids=lambda o: o.name)
def test_the_client_refuses_every_create_outside_write_once(
    operation: gql.Operation, fake: FakeRailway, client: RailwayClient
) -> None:
    """Whatever module sends it and under whatever name: nothing leaves the client."""
    with pytest.raises(errors.UnguardedWriteError, match="outside write_once"):
        client.execute(operation, {})
    assert fake.count() == 0


def test_a_create_under_another_name_or_claiming_to_be_idempotent_is_refused(
    fake: FakeRailway, client: RailwayClient, stack: dict[str, Any]
) -> None:
    from components.railway.operations import SERVICE_CREATE as make_service  # an imported name

    relabelled = gql.Operation("MakeService", make_service.document.replace("ServiceCreate", "MakeService"))
    assert relabelled.idempotent and not relabelled.creates  # it says it may be repeated: not believed
    before = fake.count()
    for operation in (make_service, relabelled):
        with pytest.raises(errors.UnguardedWriteError):
            client.execute(operation, _service_create(stack))
    assert fake.count() == before and _service_named(client, stack) is None


def test_a_find_that_does_not_look_is_refused_before_anything_is_sent(
    fake: FakeRailway, client: RailwayClient, stack: dict[str, Any]
) -> None:
    send = lambda: client.execute(gql.SERVICE_CREATE, _service_create(stack))  # noqa: E731
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
        client.execute(gql.SERVICE_CREATE, _service_create(stack))

    with pytest.raises(errors.UnguardedWriteError, match="inside the find"):
        write_once(client, "service api", find=find_that_creates, send=lambda: None)

    def two() -> None:
        client.execute(gql.SERVICE_CREATE, _service_create(stack, "one"))
        client.execute(gql.SERVICE_CREATE, _service_create(stack, "two"))

    with pytest.raises(errors.UnguardedWriteError, match="second non-idempotent mutation"):
        write_once(client, "two services", find=lambda: _service_named(client, stack, "one"), send=two)
    assert _service_named(client, stack, "one") is not None and _service_named(client, stack, "two") is None

    made: list[str] = []

    def find() -> dict[str, Any] | None:
        found = _service_named(client, stack, "stray")
        return None if made else found

    def discard(_stray: dict[str, Any]) -> None:
        client.execute(gql.SERVICE_CREATE, _service_create(stack, "stray"))

    fake.dashboard().execute(gql.SERVICE_CREATE, _service_create(stack, "stray"))
    with pytest.raises(errors.UnguardedWriteError, match="inside the discard"):
        write_once(client, "stray", find=find, send=lambda: made.append("x"), discard=discard)
    assert fake.count("ServiceCreate") == 3  # the stack's, "one" and the dashboard's: nothing refused was sent


def test_every_creating_root_field_is_known_whatever_its_operation_says() -> None:
    assert {o.root_field for o in gql.ALL if o.creates} == gql.CREATING_ROOT_FIELDS
    idempotent_roots = {o.root_field for o in gql.ALL if o.is_mutation and not o.creates}
    assert not idempotent_roots & gql.CREATING_ROOT_FIELDS, "a root field is declared both ways"


def _creates_outside_create_exactly_once(source: str) -> list[str]:
    """Non-idempotent operations a module sends other than as ``send=`` of ``create_exactly_once``."""
    tree = ast.parse(source)
    guarded: set[int] = set()
    for call in ast.walk(tree):
        if (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and call.func.attr in ("create_exactly_once", "write_once")
        ):
            for keyword in call.keywords:
                if keyword.arg == "send":
                    guarded |= {id(n) for n in ast.walk(keyword.value)}
    creates = {name for name, value in vars(gql).items() if isinstance(value, gql.Operation) and value.creates}
    return [
        f"gql.{node.attr} (line {node.lineno})"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "gql"
        and node.attr in creates
        and id(node) not in guarded
    ]


def test_no_provider_sends_a_create_except_through_create_exactly_once() -> None:
    """The one idempotency rule cannot be bypassed: every create goes through the base class's method.

    (PostgresProvider sends its template deploy inside the ``send`` it hands over, via a named method;
    that method's body is checked to be called only from there.)"""
    providers = Path(gql.__file__).parent / "providers"
    offenders = {
        module.name: found
        for module in providers.glob("*.py")
        if (found := _creates_outside_create_exactly_once(module.read_text()))
    }
    assert offenders == {
        "database.py": [f"gql.TEMPLATE_DEPLOY (line {_line_of('database.py', 'gql.TEMPLATE_DEPLOY')})"]
    }
    database = (providers / "database.py").read_text()
    assert database.count("self._deploy_template(") == 1
    assert "send=lambda: self._deploy_template(inputs, name)" in database


def _line_of(module: str, text: str) -> int:
    lines = (Path(gql.__file__).parent / "providers" / module).read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def test_the_guard_sees_a_direct_create() -> None:
    assert _creates_outside_create_exactly_once("self.client.execute(gql.SERVICE_CREATE, {})") == [
        "gql.SERVICE_CREATE (line 1)"
    ]
    assert (
        _creates_outside_create_exactly_once(
            "self.create_exactly_once('k', find=f, send=lambda: self.client.execute(gql.SERVICE_CREATE, {}))"
        )
        == []
    )


def test_mutations_say_how_they_may_be_retried() -> None:
    not_idempotent = {o.name for o in gql.ALL if o.creates}
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
    assert all(o.idempotent for o in gql.ALL if not o.is_mutation)
