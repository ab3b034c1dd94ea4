"""`ops rollback frontend` goes back only to a deployment that served the production domains.

The pipeline builds production deployments with ``vercel deploy --prebuilt --prod --skip-domain``, tests them
by their own URL and promotes them only then: a build whose smoke tests (or staging E2E) failed is READY but
was never live (Vercel's ``readySubstate: STAGED``). The fake Vercel marks deployments the same way
(tests/fakes/vercel_api.py); these tests put such a build between the live deployment and the last good one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ops import vercel as v
from tests.ops.apps import fixed
from tests.ops.oncall_world import World, build_world
from workflows.scripts.vercel_production import served_production

FAST = ("--poll", "0.05")
# world.py's history: good1 5h40m ago, broken, good2 5h ago, preview, bad (live) 4h20m ago
BETWEEN_GOOD2_AND_BAD = 270.0


@pytest.fixture
def make_world(tmp_path: Path) -> Iterator[Callable[..., World]]:
    started: list[Any] = []
    yield lambda **kwargs: build_world(tmp_path, started, **kwargs)
    for server in reversed(started):
        server.stop()


@pytest.fixture(autouse=True)
def no_pulumi(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials never come from a real `pulumi config get` here."""
    from ops import context
    from ops.context import OpsError

    def refuse(*args: str, stack: str, timeout: float = 120) -> str:
        raise OpsError("pulumi is not used in these tests")

    monkeypatch.setattr(context, "_pulumi", refuse)


def _staged(world: World, age_minutes: float) -> str:
    """A production build the pipeline made with --skip-domain and never promoted (its smoke tests failed)."""
    return world.vercel.add_deployment(world.project_id, sha="5e" * 20, promote=False, age_minutes=age_minutes)


def _writes(world: World) -> int:
    return sum(1 for r in world.vercel.requests if r.is_write)


def test_the_fake_marks_deployments_like_vercel(make_world: Callable[..., World]) -> None:
    world = make_world()
    staged = world.vercel.deployments[_staged(world, BETWEEN_GOOD2_AND_BAD)]
    assert (staged["readySubstate"], staged["isRollbackCandidate"], staged["aliasAssigned"]) == ("STAGED", False, None)
    good2 = world.vercel.deployments[world.vdeployments["good2"]]
    assert good2["readySubstate"] == "PROMOTED" and good2["isRollbackCandidate"] is True
    assert world.run("rollback", "frontend", "--stack", "staging", "--to", staged["uid"], *FAST).code == 2
    world.vercel.add_deployment(world.project_id)  # a later promotion does not unmark what served before
    assert world.vercel.deployments[world.vdeployments["bad"]]["readySubstate"] == "PROMOTED"


def test_a_staged_never_promoted_deployment_is_passed_over(make_world: Callable[..., World]) -> None:
    world = make_world()
    world.frontend.route("/", fixed(200, "<html></html>"))
    staged = _staged(world, BETWEEN_GOOD2_AND_BAD)  # newer than good2, older than the live one
    result = world.run("rollback", "frontend", "--stack", "staging", *FAST)
    assert result.code == 0, result.text
    assert world.promotions() == [world.vdeployments["good2"]], "the never-promoted build must not go live"
    assert f"note: not {staged}: built but never promoted" in result.out
    assert world.vercel.deployments[staged]["readySubstate"] == "STAGED"


def test_nothing_that_served_production_is_one_line_exit_2_and_no_write(make_world: Callable[..., World]) -> None:
    world = make_world(vercel_history=False)  # only the live deployment served production
    for age in (600.0, 700.0):
        _staged(world, age)
    result = world.run("rollback", "frontend", "--stack", "staging", *FAST)
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and "nothing to roll back to" in lines[0] and "2 never promoted" in lines[0], result.err
    assert "Traceback" not in result.text
    assert _writes(world) == 0 and world.promotions() == []


def test_to_refuses_a_deployment_that_never_served_production(make_world: Callable[..., World]) -> None:
    world = make_world()
    staged = _staged(world, BETWEEN_GOOD2_AND_BAD)
    result = world.run("rollback", "frontend", "--stack", "staging", "--to", staged, "--yes", *FAST)
    assert result.code == 2
    assert f"deployment {staged} never served production" in result.err and "readySubstate STAGED" in result.err
    assert _writes(world) == 0 and world.promotions() == []
    # a staged build the pipeline then promoted (its checks passed) has served: it can be gone back to later
    world.vercel.promote_polls = 0
    assert world.vercel._promote(world.project_id, staged)[0] == 201
    assert world.vercel.deployments[staged]["readySubstate"] == "PROMOTED"


@pytest.mark.parametrize(
    ("fields", "served"),
    [
        ({"readySubstate": "PROMOTED", "isRollbackCandidate": True}, True),
        ({"readySubstate": "PROMOTED"}, True),
        ({"readySubstate": "STAGED", "isRollbackCandidate": False}, False),
        ({"readySubstate": "STAGED", "isRollbackCandidate": True}, False),  # the substate is the stronger word
        ({"readySubstate": "ROLLING"}, False),  # a rolling release still moving traffic
        ({"isRollbackCandidate": True}, True),  # no substate reported: Vercel's rollback eligibility decides
        ({"isRollbackCandidate": None}, False),
        ({}, False),  # no evidence at all: never a target
        ({"readySubstate": "PROMOTED", "readyState": "ERROR"}, False),
        ({"readySubstate": "PROMOTED", "target": None}, False),  # a preview
    ],
)
def test_served_production_needs_vercels_evidence(fields: dict[str, Any], served: bool) -> None:
    deployment = {"uid": "dpl_x", "readyState": "READY", "target": "production", **fields}
    assert served_production(deployment) is served
    ordered = [
        {"uid": "dpl_live", "readyState": "READY", "target": "production", "readySubstate": "PROMOTED", "created": 3},
        {**deployment, "created": 2},
        {"uid": "dpl_old", "readyState": "READY", "target": "production", "readySubstate": "PROMOTED", "created": 1},
    ]
    found = v.previous_production_deployment(ordered, "dpl_live")
    assert found is not None and v.id_of(found) == ("dpl_x" if served else "dpl_old")
