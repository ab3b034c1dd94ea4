"""One schema per Railway resource: the provider's ``fields`` are the only place an input is named.

The resource's props, its output placeholders and secret outputs, and the provider's input, replace,
required and diff keys all derive from ``fields``; these tests hold the typed constructors (the one other
place the inputs appear, for editors and type checkers) to that declaration.
"""

from __future__ import annotations

import inspect

import pulumi
import pytest
from pulumi.dynamic import Resource

from components.railway import provider as p
from components.railway import resources as rw

RESOURCES = {
    cls: getattr(p, f"{cls.__name__}Provider")
    for cls in vars(rw).values()
    if isinstance(cls, type) and issubclass(cls, Resource) and cls is not Resource
}


def test_every_provider_has_a_resource() -> None:
    providers = {getattr(p, n) for n in p.__all__ if n.endswith("Provider") and n != "RailwayProvider"}
    assert set(RESOURCES.values()) == providers


@pytest.mark.parametrize("resource", list(RESOURCES), ids=lambda r: r.__name__)
def test_the_constructor_takes_exactly_the_schemas_inputs(resource: type[Resource]) -> None:
    provider = RESOURCES[resource]
    params = [n for n in inspect.signature(resource.__init__).parameters if n not in ("self", "resource_name", "opts")]
    assert set(params) == set(provider.input_keys)


@pytest.mark.parametrize("provider", list(RESOURCES.values()), ids=lambda r: r.__name__)
def test_keys_derive_from_the_fields(provider: type[p.RailwayProvider]) -> None:
    fields = {f.name: f for f in provider.fields}
    assert set(provider.replace_keys) == {n for n, f in fields.items() if f.replace}
    assert set(provider.required_keys) == {n for n, f in fields.items() if f.required}
    assert "origin" in provider.output_keys and "origin" not in provider.input_keys
    assert set(provider.input_keys).isdisjoint(provider.output_keys)


@pytest.mark.parametrize("provider", [p.ProjectProvider, p.EnvironmentProvider, p.ServiceProvider])
def test_renames_are_in_place(provider: type[p.RailwayProvider]) -> None:
    """projectUpdate / environmentRename / serviceUpdate: a new name never replaces the object (a project
    token's name does: Railway cannot rename a token)."""
    diff = provider().diff("id", {"name": "old", "project_id": "p"}, {"name": "new", "project_id": "p"})
    assert diff.changes and diff.replaces == []


def test_props_refuse_a_name_the_schema_does_not_declare() -> None:
    with pytest.raises(TypeError, match="unknown inputs \\['nmae'\\]"):
        p.ServiceProvider.props(project_id="p", nmae="x")
    with pytest.raises(TypeError, match="missing inputs \\['name'\\]"):
        p.ServiceProvider.props(project_id="p")


def test_props_wrap_secret_inputs_and_declare_outputs() -> None:
    props = p.VariablesProvider.props(
        project_id="p", environment_id="e", service_id="s", variables={"A": "1"}, keep_undeclared=None
    )
    assert isinstance(props["variables"], pulumi.Output)
    assert props["revision"] is None and props["origin"] is None
    assert set(p.VariablesProvider.secret_outputs) == {"variables", "revision"}
    assert p.ProjectTokenProvider.secret_outputs == ("token",)
    assert p.PostgresProvider.secret_outputs == ("database_url_reference",)
