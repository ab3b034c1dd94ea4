"""ops/binding.py decides whose a Railway project is from what Railway answers: each rule on its own (issue 27).

The wrong-stack matrix (test_stack_binding.py) runs both stacks' projects, each marked ``managed by``; here
are the projects it cannot show: one without a marker (adopted, not yet updated), one that ``pulumi up``
marked ``adopted by`` (production's running MAYA), a deleted one.
"""

from __future__ import annotations

from typing import Any

import pytest

from components.railway.providers.project import adopted_marker, marker
from config import load_from_stack_file
from ops.binding import railway_mismatch
from ops.context import StackContext

OTHER = {"staging": "production", "production": "staging"}


def _context(stack: str) -> StackContext:
    outputs = {"stack": stack, "railway_environment_id": "env-1", "railway_service_id": "svc-1"}
    return StackContext(stack, load_from_stack_file(stack), outputs, {})


def _project(ctx: StackContext, *, name: str | None = None, description: str = "", **more: Any) -> dict[str, Any]:
    """A project as Railway answers ``gql.PROJECT``: by default the stack's own environment and service."""
    return {
        "id": "prj-1",
        "name": ctx.config.backend.project_name if name is None else name,
        "description": description,
        "environments": {"edges": [{"node": {"id": "env-1", "name": ctx.config.environment}}]},
        "services": {"edges": [{"node": {"id": "svc-1"}}]},
        **more,
    }


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_the_stacks_own_project_passes_marked_or_named(stack: str) -> None:
    ctx = _context(stack)
    assert railway_mismatch(ctx, _project(ctx, description=f"MAYA/OMEGA backend, {marker(stack)}")) == ""
    assert railway_mismatch(ctx, _project(ctx, description=adopted_marker(stack))) == ""
    # a marked project is the stack's whatever its name (the marker decides), as is an unmarked one so named
    assert railway_mismatch(ctx, _project(ctx, name="renamed", description=marker(stack))) == ""
    assert railway_mismatch(ctx, _project(ctx, description="the running MAYA")) == ""


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_an_unmarked_project_of_another_name_is_refused(stack: str) -> None:
    ctx = _context(stack)
    problem = railway_mismatch(ctx, _project(ctx, name="maya-elsewhere", description="the running MAYA"))
    assert f"stack {stack}'s project is {ctx.config.backend.project_name!r}" in problem
    assert "backend.projectName" in problem


@pytest.mark.parametrize("stack", ["staging", "production"])
@pytest.mark.parametrize("mark", [marker, adopted_marker], ids=["managed", "adopted"])
def test_a_project_marked_by_the_other_stack_is_refused_even_with_this_stacks_name(stack: str, mark: Any) -> None:
    ctx = _context(stack)
    problem = railway_mismatch(ctx, _project(ctx, description=f"MAYA/OMEGA backend, {mark(OTHER[stack])}"))
    assert f"which is marked {mark(OTHER[stack])!r}: not stack {stack}'s" in problem


def test_a_deleted_project_is_refused() -> None:
    ctx = _context("staging")
    problem = railway_mismatch(ctx, _project(ctx, description=marker("staging"), deletedAt="2026-12-01T00:00:00Z"))
    assert problem.endswith("which is deleted")
