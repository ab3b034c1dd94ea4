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
