"""Every GraphQL document the provider can send is valid against Railway's real public schema."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import graphql
import pytest

from components.railway import operations as ops

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
    creates = {name for name, value in vars(ops).items() if isinstance(value, ops.Operation) and value.creates}
    return [
        f"ops.{node.attr} (line {node.lineno})"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "ops"
        and node.attr in creates
        and id(node) not in guarded
    ]


def test_no_provider_sends_a_create_except_through_create_exactly_once() -> None:
    """The one idempotency rule cannot be bypassed: every create goes through the base class's method.

    (PostgresProvider sends its template deploy inside the ``send`` it hands over, via a named method;
    that method's body is checked to be called only from there.)"""
    providers = Path(ops.__file__).parent / "providers"
    offenders = {
        module.name: found
        for module in providers.glob("*.py")
        if (found := _creates_outside_create_exactly_once(module.read_text()))
    }
    assert offenders == {
        "database.py": [f"ops.TEMPLATE_DEPLOY (line {_line_of('database.py', 'ops.TEMPLATE_DEPLOY')})"]
    }
    database = (providers / "database.py").read_text()
    assert database.count("self._deploy_template(") == 1
    assert "send=lambda: self._deploy_template(inputs, name)" in database


def _line_of(module: str, text: str) -> int:
    lines = (Path(ops.__file__).parent / "providers" / module).read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def test_the_guard_sees_a_direct_create() -> None:
    assert _creates_outside_create_exactly_once("self.client.execute(ops.SERVICE_CREATE, {})") == [
        "ops.SERVICE_CREATE (line 1)"
    ]
    assert (
        _creates_outside_create_exactly_once(
            "self.create_exactly_once('k', find=f, send=lambda: self.client.execute(ops.SERVICE_CREATE, {}))"
        )
        == []
    )


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
