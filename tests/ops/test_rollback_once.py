"""``ops rollback backend`` sends its rollback exactly once: when Railway's answer is lost after it made the
rollback deployment, the command finds that deployment and follows it — it never sends a second rollback
(components/railway/exactly_once.py; the client refuses a rollback outside ``write_once``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ops import world as w
from tests.ops.oncall_world import SHAS, World, build_world


@pytest.fixture(autouse=True)
def no_pulumi(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials never come from a real `pulumi config get` here (it could reach a real backend)."""
    from ops import context
    from ops.context import OpsError

    def refuse(*args: str, stack: str, timeout: float = 120) -> str:
        raise OpsError("pulumi is not used in these tests")

    monkeypatch.setattr(context, "_pulumi", refuse)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    started: list[Any] = []
    yield build_world(tmp_path, started)
    for server in reversed(started):
        server.stop()


@pytest.mark.parametrize("fault", ["drop_after", "http_after", "graphql_error_after"])
def test_a_rollback_whose_answer_was_lost_is_found_and_never_sent_twice(world: World, fault: str) -> None:
    world.railway.inject(fault, match="DeploymentRollback")
    result = world.run("rollback", "backend", "--stack", "staging", "--poll", "0.05")
    assert result.code == 0, result.text
    assert world.rollbacks() == 1
    assert w.live_railway_commit(world.railway, world.ids["railway_service_id"]) == SHAS["c1"]
