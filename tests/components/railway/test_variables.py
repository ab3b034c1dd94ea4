"""Variables are owned per name (components/railway/providers/variables.py), over real HTTP against the fake.

A service with variables set by hand is adopted, then the code changes the way code does — a variable
dropped, renamed, moved to the environment's shared variables and back, a value changed — and after each
``up`` every variable nobody declared is still there with its value. Each write names only what changed
(``replace: false``), each dropped name is one ``variableDelete``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from components.railway import provider as p
from components.railway.providers.adoption import RECORDING_ENV
from tests.fakes.railway_api import FakeRailway

Make = Callable[[type[Any]], Any]
BY_HAND = {"LOG_LEVEL": "debug", "LEGACY_FEATURE_FLAG": "on-since-2024"}
SHARED_BY_HAND = {"REGION_NOTE": "eu users"}


class Scope:
    """One service's set and the environment's shared set, stepped through ``up`` the way the engine does:
    check, diff, then create/update/delete with the recorded state."""

    def __init__(self, make: Make, stack: dict[str, Any], fake: FakeRailway) -> None:
        self.fake = fake
        self.provider = make(p.VariablesProvider)
        self.ids = {k: stack[k] for k in ("project_id", "environment_id", "service_id")}
        self.shared_ids = {**self.ids, "service_id": None}
        self.states: dict[str, dict[str, Any] | None] = {"service": None, "shared": None}

    def scope(self, which: str) -> dict[str, Any]:
        return self.ids if which == "service" else self.shared_ids

    def up(self, which: str, declared: dict[str, str] | None) -> None:
        """Converge one set to ``declared`` (None: the set is no longer declared at all)."""
        state, ids = self.states[which], self.scope(which)
        if declared is None:
            if state is not None:
                self.provider.delete("id", state)
            self.states[which] = None
            return
        news = self.provider.check({}, {**ids, "variables": declared, "keep_undeclared": None}).inputs
        if state is None:
            self.states[which] = self.provider.create(news).outs
        elif self.provider.diff("id", state, news).changes:
            self.states[which] = self.provider.update("id", state, news).outs

    def running(self, which: str) -> dict[str, str]:
        ids = self.scope(which)
        return dict(self.fake.state.variables.get((ids["project_id"], ids["environment_id"], ids["service_id"]), {}))


@pytest.fixture
def world(make: Make, stack: dict[str, Any], fake: FakeRailway, monkeypatch: pytest.MonkeyPatch) -> Scope:
    """The running service: declared values and hand-set ones, plus a hand-set shared variable; adopted."""
    scope = Scope(make, stack, fake)
    for name, value in {"A": "1", "B": "2", **BY_HAND}.items():
        fake.set_variable_behind(stack["project_id"], stack["environment_id"], stack["service_id"], name, value)
    for name, value in SHARED_BY_HAND.items():
        fake.set_variable_behind(stack["project_id"], stack["environment_id"], None, name, value)
    monkeypatch.setenv(RECORDING_ENV, "1")
    scope.up("service", {"A": "1", "B": "2"})  # ops adopt's recording run: reads, writes nothing
    monkeypatch.delenv(RECORDING_ENV)
    assert scope.states["service"] is not None and scope.states["service"]["owned"] == ["A", "B"]
    fake.reset_counters()
    return scope


def _hand_set_untouched(world: Scope) -> None:
    service, shared = world.running("service"), world.running("shared")
    assert {k: service.get(k) for k in BY_HAND} == BY_HAND, service
    assert {k: shared.get(k) for k in SHARED_BY_HAND} == SHARED_BY_HAND, shared


def _written(fake: FakeRailway) -> list[tuple[str, Any]]:
    """Every variable write since the last reset: (operation, names)."""
    out: list[tuple[str, Any]] = []
    for r in fake.requests:
        if r.operation_name == "VariableCollectionUpsert":
            body = r.variables["input"]
            assert body["replace"] is False and body["skipDeploys"] is True
            out.append(("upsert", sorted(body["variables"])))
        elif r.operation_name == "VariableDelete":
            out.append(("delete", r.variables["input"]["name"]))
    return out


def test_dropping_one_declared_variable_deletes_it_once_and_touches_nothing_else(
    world: Scope, fake: FakeRailway
) -> None:
    world.up("service", {"A": "1"})
    assert _written(fake) == [("delete", "B")]
    assert fake.count(mutations_only=True) == 1
    assert world.running("service") == {"A": "1", **BY_HAND}
    _hand_set_untouched(world)


def test_a_sequence_of_code_changes_never_touches_a_variable_nobody_declared(world: Scope, fake: FakeRailway) -> None:
    steps: list[tuple[str, dict[str, str] | None, dict[str, str] | None, list[tuple[str, Any]]]] = [
        # (what the code does, service set, shared set, the writes it takes)
        ("drop B", {"A": "1"}, None, [("delete", "B")]),
        ("rename A to A2", {"A2": "1"}, None, [("upsert", ["A2"]), ("delete", "A")]),
        (
            "move A2 to the shared variables",
            {"A2": "${{shared.A2}}"},
            {"A2": "1"},
            [("upsert", ["A2"]), ("upsert", ["A2"])],
        ),
        ("change its value", {"A2": "${{shared.A2}}"}, {"A2": "2"}, [("upsert", ["A2"])]),
        ("move it back to the service", {"A2": "2"}, None, [("upsert", ["A2"]), ("delete", "A2")]),
        ("declare a new one", {"A2": "2", "C": "3"}, None, [("upsert", ["C"])]),
    ]
    for what, service, shared, writes in steps:
        fake.reset_counters()
        world.up("service", service)
        world.up("shared", shared)
        assert _written(fake) == writes, what
        _hand_set_untouched(world)
        expected = {**(service or {}), **BY_HAND}
        assert world.running("service") == expected, what
        assert world.running("shared") == {**(shared or {}), **SHARED_BY_HAND}, what


def test_refresh_never_reads_a_name_nobody_declared_and_reverts_a_deleted_declared_one(
    world: Scope, fake: FakeRailway
) -> None:
    ids = world.ids
    fake.set_variable_behind(ids["project_id"], ids["environment_id"], ids["service_id"], "A", None)
    fake.set_variable_behind(ids["project_id"], ids["environment_id"], ids["service_id"], "ADDED_LATER", "x")
    state = world.states["service"]
    assert state is not None
    refreshed = world.provider.read("id", state)
    assert refreshed.outs["variables"] == {"B": "2"} and refreshed.outs["owned"] == ["A", "B"]
    world.states["service"] = refreshed.outs
    fake.reset_counters()
    world.up("service", {"A": "1", "B": "2"})
    assert _written(fake) == [("upsert", ["A"])]
    assert world.running("service") == {"A": "1", "B": "2", "ADDED_LATER": "x", **BY_HAND}


def test_a_set_the_stack_no_longer_declares_deletes_its_own_names_only(world: Scope, fake: FakeRailway) -> None:
    world.up("shared", {"S": "1"})  # a shared set this stack creates
    fake.reset_counters()
    world.up("shared", None)
    assert _written(fake) == [("delete", "S")]
    _hand_set_untouched(world)


@pytest.mark.parametrize(
    ("recorded", "dropped_is_deleted"),
    [
        ({"keep_undeclared": True}, True),  # adopted before ownership was recorded: only declared names held
        ({"keep_undeclared": None}, False),  # made by the stack: a refresh may have pulled in a hand-set name
    ],
)
def test_states_written_before_ownership_was_recorded(
    make: Make, stack: dict[str, Any], fake: FakeRailway, recorded: dict[str, Any], dropped_is_deleted: bool
) -> None:
    ids = {k: stack[k] for k in ("project_id", "environment_id", "service_id")}
    for name, value in {"A": "1", "B": "2", "PULLED_IN": "by hand"}.items():
        fake.set_variable_behind(ids["project_id"], ids["environment_id"], ids["service_id"], name, value)
    names = {"A": "1", "B": "2"} if recorded["keep_undeclared"] else {"A": "1", "B": "2", "PULLED_IN": "by hand"}
    old_state = {**ids, "variables": names, **recorded, "revision": "r", "origin": "created"}  # no "owned"
    fake.reset_counters()
    updated = make(p.VariablesProvider).update("id", old_state, {**ids, "variables": {"A": "1"}})
    deleted = [r.variables["input"]["name"] for r in fake.requests if r.operation_name == "VariableDelete"]
    assert deleted == (["B"] if dropped_is_deleted else [])
    assert "PULLED_IN" not in deleted and updated.outs["owned"] == ["A"]


def test_a_state_rebuilt_from_nothing_adopts_the_running_set_and_never_deletes_it(
    world: Scope, fake: FakeRailway
) -> None:
    """The state is lost: a plain create looks first, finds the declared names running, and records the set
    as adopted — so no later destroy removes them (nor, ever, the hand-set ones)."""
    fake.reset_counters()
    rebuilt = world.provider.create({**world.ids, "variables": {"A": "1", "B": "2"}})
    assert rebuilt.outs["origin"] == "adopted" and rebuilt.outs["owned"] == ["A", "B"]
    assert fake.count(mutations_only=True) == 0, "the running values are the declared ones: nothing to write"
    world.provider.delete(rebuilt.id, rebuilt.outs)
    assert world.running("service") == {"A": "1", "B": "2", **BY_HAND}


def test_a_dropped_name_already_deleted_by_hand_is_reached_not_an_error(world: Scope, fake: FakeRailway) -> None:
    """Someone removed B in the dashboard, then the code drops it too (or a delete's answer was lost and the
    retry finds it gone): Railway answers "not found", which is the goal of the delete, so the ``up`` goes on."""
    ids = world.ids
    fake.set_variable_behind(ids["project_id"], ids["environment_id"], ids["service_id"], "B", None)
    fake.reset_counters()
    world.up("service", {"A": "1"})
    assert _written(fake) == [("delete", "B")]
    assert world.states["service"] is not None and world.states["service"]["owned"] == ["A"]
    assert world.running("service") == {"A": "1", **BY_HAND}


def test_the_revision_follows_the_declared_values(world: Scope) -> None:
    """The ``revision`` output is what makes the Deployment take the new values over: every write stamps a new
    one (restoring earlier values is a write too, so it deploys once), a no-op ``up`` keeps it."""
    revisions = []
    for values in ({"A": "1", "B": "3"}, {"A": "1", "B": "4"}, {"A": "1", "B": "3"}, {"A": "1", "B": "3"}):
        world.up("service", values)
        state = world.states["service"]
        assert state is not None and state["revision"]
        revisions.append(state["revision"])
    digests = [revision.split("@")[0] for revision in revisions]
    assert digests[0] != digests[1] and digests[0] == digests[2], "the fingerprint is of the values written"
    assert len(set(revisions[:3])) == 3, "each write is a new revision"
    assert revisions[3] == revisions[2], "a no-op up writes nothing and keeps the revision"
