"""Each Railway kind declared once: the typed class body is the only place a field is named.

The constructor, the props, the output placeholders and secret outputs, the provider's input, replace,
required and diff keys, the pickling address and adoption's registry all derive from the declaration
(components/railway/providers/schema.py); these tests hold each of them to it.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pulumi
import pytest
from mypy import api as mypy_api

from components.railway import provider as p
from components.railway import resources as rw
from components.railway.providers.schema import KINDS, STATE_MODULE, RailwayResource

REPO = Path(__file__).resolve().parents[3]


def test_every_kind_is_registered_with_its_provider_at_the_states_address() -> None:
    assert set(KINDS) == {n for n in rw.__all__ if n not in ("KINDS", "RailwayResource")}
    for name, kind in KINDS.items():
        provider = kind.provider_class
        assert provider.__name__ == f"{name}Provider" and provider.kind == name
        assert provider.__module__ == STATE_MODULE and getattr(p, provider.__name__) is provider
        assert kind._resource_type_name == f"dynamic/railway:{name}"  # pulumi-python:dynamic/railway:<Name>
    providers = {n for n in p.__all__ if n.endswith("Provider") and n != "RailwayProvider"}
    assert providers == {k.provider_class.__name__ for k in KINDS.values()}


@pytest.mark.parametrize("kind", list(KINDS.values()), ids=lambda k: k.__name__)
def test_keys_derive_from_the_declaration(kind: type[RailwayResource]) -> None:
    provider = kind.provider_class
    fields = {f.name: f for f in kind.fields}
    assert provider.fields == kind.fields
    assert set(provider.input_keys) == {n for n, f in fields.items() if not f.output}
    assert set(provider.diff_keys) == {n for n, f in fields.items() if not f.output and f.compare}
    assert set(provider.replace_keys) == {n for n, f in fields.items() if f.replace}
    assert set(provider.required_keys) == {n for n, f in fields.items() if f.required}
    assert set(provider.secret_outputs) == {n for n, f in fields.items() if f.secret}
    assert "origin" in provider.output_keys and "origin" not in provider.input_keys
    assert provider.adopt_key == kind.adopt_key and provider.not_adoptable == kind.not_adoptable
    for name in fields:  # the class body's specifiers are gone: the instance gets its Output attributes
        assert name not in vars(kind)


def test_adopt_keys_are_unique_and_those_stack_files_already_hold() -> None:
    keys = [k.adopt_key for k in KINDS.values() if k.adopt_key]
    assert len(keys) == len(set(keys))
    # maya-infra:adopt.railway in existing stack files uses these: renaming one would orphan its pin
    assert set(keys) == {
        "project",
        "environment",
        "service",
        "postgres",
        "serviceDomain",
        "customDomain",
        "trigger",
        "backupSchedule",
    }


@pytest.mark.parametrize("provider", [p.ProjectProvider, p.EnvironmentProvider, p.ServiceProvider])
def test_renames_are_in_place(provider: type[p.RailwayProvider]) -> None:
    """projectUpdate / environmentRename / serviceUpdate: a new name never replaces the object (a project
    token's name does: Railway cannot rename a token)."""
    diff = provider().diff("id", {"name": "old", "project_id": "p"}, {"name": "new", "project_id": "p"})
    assert diff.changes and diff.replaces == []


def test_props_refuse_a_name_the_declaration_does_not_have() -> None:
    with pytest.raises(TypeError, match="unknown inputs \\['nmae'\\]"):
        p.ServiceProvider.props(project_id="p", nmae="x")
    with pytest.raises(TypeError, match="missing inputs \\['name'\\]"):
        p.ServiceProvider.props(project_id="p")


def test_the_constructor_refuses_unknown_and_missing_names_before_registering() -> None:
    with pytest.raises(TypeError, match=r"Service: unknown inputs \['nmae'\], missing inputs \['name'\]"):
        rw.Service("s", project_id="p", nmae="x")  # type: ignore[call-arg]


def test_props_wrap_secret_inputs_and_declare_outputs() -> None:
    props = p.VariablesProvider.props(
        project_id="p", environment_id="e", service_id="s", variables={"A": "1"}, keep_undeclared=None
    )
    assert isinstance(props["variables"], pulumi.Output)
    assert props["revision"] is None and props["origin"] is None and props["owned"] is None
    assert set(p.VariablesProvider.secret_outputs) == {"variables", "revision"}
    assert p.ProjectTokenProvider.secret_outputs == ("token",)
    assert p.PostgresProvider.secret_outputs == ("database_url_reference",)


def test_a_legacy_input_is_kept_for_old_states_and_never_compared() -> None:
    olds = {"project_id": "p", "environment_id": "e", "service_id": "s", "variables": {}, "keep_undeclared": True}
    assert p.VariablesProvider().diff("id", olds, {**olds, "keep_undeclared": None}).changes is False


def test_type_checkers_see_each_kinds_typed_constructor(tmp_path: Path) -> None:
    """mypy synthesizes the constructor from the class body (PEP 681): a misspelt or mistyped argument, or a
    missing required one, is a type error at the call site; a correct call is not."""
    snippet = tmp_path / "uses_kinds.py"
    snippet.write_text(
        textwrap.dedent(
            """
            from components.railway import resources as rw

            rw.Service("ok", project_id="p", name="backend")
            rw.Postgres("ok", project_id="p", environment_id="e")  # defaults: service_name, region, ...
            rw.Service("typo", project_id="p", nmae="backend")
            rw.ServiceDomain("type", project_id="p", service_id="s", environment_id="e", target_port="8000")
            rw.Project("missing", description="d")
            """
        )
    )
    out, _err, status = mypy_api.run(
        ["--follow-imports=silent", "--ignore-missing-imports", "--no-incremental", str(snippet)]
    )
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert status == 1, out
    assert {int(line.split(":")[1]) for line in errors} == {6, 7, 8}, out
    assert 'Unexpected keyword argument "nmae"' in out and 'Argument "target_port"' in out
    assert 'Missing named argument "name"' in out
