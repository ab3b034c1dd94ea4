"""Production's data cannot be lost by accident: the options each stack's objects are registered with."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from components.safety import GUARD_NAME, GUARD_TYPE
from tests.components.program import RecordingMocks, run_program

#: Production's stateful and identity objects, by their (stable) resource names.
PROTECTED = {
    "backend-project": "pulumi-python:dynamic/railway:Project",
    "backend-environment": "pulumi-python:dynamic/railway:Environment",
    "backend-service": "pulumi-python:dynamic/railway:Service",
    "backend-postgres": "pulumi-python:dynamic/railway:Postgres",
    "backend-custom-domain": "pulumi-python:dynamic/railway:CustomDomain",
    "frontend-project": "vercel:index/project:Project",
    "frontend-domain-mayassistant.com": "vercel:index/projectDomain:ProjectDomain",
    "pipeline-maya-environment": "github:index/repositoryEnvironment:RepositoryEnvironment",
    # the alert mail's environment (issue 13): its name and the SMTP secret it holds
    "pipeline-maya-alerts-environment": "github:index/repositoryEnvironment:RepositoryEnvironment",
    "pipeline-maya-scan-environment": "github:index/repositoryEnvironment:RepositoryEnvironment",
}


def _protected(mocks: RecordingMocks) -> dict[str, str]:
    return {name: o.type for name, o in mocks.options.items() if o.protect}


def test_production_protects_and_retains_its_stateful_and_identity_objects() -> None:
    mocks = run_program("production").mocks
    assert _protected(mocks) == {**PROTECTED, GUARD_NAME: GUARD_TYPE}
    retained = {name for name, o in mocks.options.items() if o.retain_on_delete}
    assert retained == set(PROTECTED)
    # the things a deploy changes every day stay free to change (and to be removed)
    for name in ("backend-variables", "backend-deployment", "backend-ci-token", "frontend-env-NEXT_PUBLIC_API_URL"):
        assert not mocks.options[name].protect and not mocks.options[name].retain_on_delete, name


def test_staging_stays_destroyable() -> None:
    mocks = run_program("staging").mocks
    assert _protected(mocks) == {}
    assert not any(o.retain_on_delete for o in mocks.options.values())
    assert GUARD_NAME not in mocks.options


def test_the_destroy_guard_depends_on_every_resource_of_production() -> None:
    """`pulumi destroy` deletes dependents first: the protected guard is refused first, and holds back the rest."""
    mocks = run_program("production").mocks
    guard = mocks.options[GUARD_NAME]
    custom = {
        f"urn:pulumi:production::maya-infra::{_type_path(mocks, name)}::{name}"
        for name, o in mocks.options.items()
        if o.type not in (GUARD_TYPE,) and not o.type.startswith("maya:") and not o.type.startswith("pulumi:providers")
    }
    assert custom and custom <= set(guard.dependencies), sorted(custom - set(guard.dependencies))[:5]


def _type_path(mocks: RecordingMocks, name: str) -> str:
    """The URN type path the mocks give a child: parent component type, then the resource type."""
    parents = {
        "backend": "maya:railway:Backend",
        "frontend": "maya:vercel:Frontend",
        "pipeline": "maya:github:Pipeline",
        "monitoring": "maya:monitoring:Checkly",
    }
    component = next(t for prefix, t in parents.items() if name.startswith(prefix))
    return f"{component}${mocks.options[name].type}"


def test_no_production_object_is_replaced_before_its_old_one_is_deleted() -> None:
    """delete-before-replace would remove the old object first: never on a protected one."""
    mocks = run_program("production").mocks
    assert not [n for n in PROTECTED if mocks.options[n].delete_before_replace and n != "backend-custom-domain"]


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_objects_found_by_ops_adopt_are_imported_and_retained(stack: str) -> None:
    imports = {
        "frontend-project": "team_maya/prj_running",
        "frontend-domain-mayassistant.com" if stack == "production" else "frontend-domain-staging.mayassistant.com": (
            "team_maya/prj_running/domain"
        ),
        "pipeline-maya-environment": f"maya:{stack}",
        "pipeline-maya-ruleset": "maya:1234",
    }
    overrides: dict[str, Any] = {"maya-infra:adopt": {"imports": imports}}
    mocks = run_program(stack, overrides).mocks
    for name, import_id in imports.items():
        assert mocks.options[name].import_id == import_id, name
        assert mocks.options[name].retain_on_delete, name
    not_found = [o for n, o in mocks.options.items() if n not in imports and o.import_id]
    assert not_found == []


def test_an_unknown_railway_kind_in_the_adoption_record_is_one_clear_error() -> None:
    """The adopt keys come from the kinds' declarations (components/railway/providers/schema.py)."""
    with pytest.raises(pulumi.RunError) as caught:
        run_program("staging", {"maya-infra:adopt": {"railway": {"projekt": "p-1"}}})
    message = str(caught.value)
    assert "maya-infra:adopt.railway" in message and "projekt" in message and "pulumi config rm" in message
    assert "project" in message  # the known keys are listed
