"""Values set by hand on a platform are never deleted unless the stack declared them once (issue 23).

What each platform's provider allows, and how the program uses it (docs/adoption.md, "Values set by hand"):

* Railway: our own provider; a ``Variables`` resource owns the names it wrote, per name
  (tests/components/railway/test_variables.py) — here: it carries the declared names only.
* Vercel: ``ProjectEnvironmentVariable`` is one resource per key; ``ProjectEnvironmentVariables`` and the
  project's inline ``environments`` would own the whole set and delete keys nobody declared — never used.
* GitHub: ``ActionsEnvironmentSecret``/``ActionsEnvironmentVariable`` are one resource per name; a name
  nobody declared is never in the state. (Deleting a whole environment would take its hand-set secrets with
  it: the deployment environment is protected in production and retained when adopted.)
"""

from __future__ import annotations

import pytest
from pulumi.runtime import rpc

import config
from config import envvars
from config.envvars import Target
from tests.components.program import run_program

WHOLE_SETS = {
    "vercel:index/projectEnvironmentVariables:ProjectEnvironmentVariables",
    "vercel:index/sharedEnvironmentVariable:SharedEnvironmentVariable",
    "github:index/actionsSecret:ActionsSecret",  # repository-wide: shared by both stacks
    "github:index/actionsVariable:ActionsVariable",
}


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_each_declared_value_is_its_own_resource(stack: str) -> None:
    run = run_program(stack, {})
    resources = run.mocks.resources
    assert not {r.typ for r in resources} & WHOLE_SETS
    project = next(r for r in resources if r.typ == "vercel:index/project:Project")
    assert "environments" not in (project.inputs or {}), "the inline set would own keys nobody declared"
    per_name = {
        "vercel:index/projectEnvironmentVariable:ProjectEnvironmentVariable": "key",
        "github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret": "secretName",
        "github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable": "variableName",
    }
    for typ, key in per_name.items():
        declared = [r for r in resources if r.typ == typ]
        assert declared, typ
        for r in declared:  # the Pulumi name ends with the one name the resource owns
            assert r.name.endswith(f"-{r.inputs[key]}"), (typ, r.name)
    cfg = config.load_from_stack_file(stack)
    backend = {v.name for v in envvars.for_target(cfg, Target.BACKEND)}
    railway = [r for r in resources if r.typ == "pulumi-python:dynamic/railway:Variables"]
    names = [rpc.unwrap_rpc_secret(r.inputs["variables"]) for r in railway]
    assert railway and set().union(*names) <= backend
