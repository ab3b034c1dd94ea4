"""The providers' side of adoption, over real HTTP against the fake: in the ``ops adopt`` run a create reads and
records what runs (no mutation), an adopted object is never deleted, and an adopted variable set keeps the
names nobody declared."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from components.railway import errors
from components.railway import provider as p
from components.railway.providers.adopt import PINNED_ENV, RECORDING_ENV

Make = Callable[[type[Any]], Any]


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(RECORDING_ENV, "1")
    yield


def _scope(stack: dict[str, Any]) -> dict[str, Any]:
    return {k: stack[k] for k in ("project_id", "environment_id", "service_id")}


def test_recording_creates_read_and_send_no_mutation(
    make: Make, stack: dict[str, Any], fake: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    variables = make(p.VariablesProvider)
    variables.create({**_scope(stack), "variables": {"A": "running", "EXTRA": "x"}})
    fake.reset_counters()
    monkeypatch.setenv(RECORDING_ENV, "1")
    project = make(p.ProjectProvider).create({"name": "maya-staging", "default_environment_name": "staging"})
    service = make(p.ServiceProvider).create({"project_id": stack["project_id"], "name": "backend"})
    recorded = variables.create({**_scope(stack), "variables": {"A": "config"}, "keep_undeclared": True})
    assert fake.count(mutations_only=True) == 0
    assert project.id == stack["project_id"] and service.id == stack["service_id"]
    assert project.outs["origin"] == service.outs["origin"] == recorded.outs["origin"] == "adopted"
    # what runs, for the declared names only: the next diff shows A as a real difference, EXTRA never enters
    assert recorded.outs["variables"] == {"A": "running"}
    assert variables.diff(recorded.id, recorded.outs, {**_scope(stack), "variables": {"A": "config"}}).changes


def test_recording_what_is_not_there_fails_naming_it(make: Make, stack: dict[str, Any], recording: None) -> None:
    with pytest.raises(errors.RailwayError, match="not on Railway any more"):
        make(p.ServiceProvider).create({"project_id": stack["project_id"], "name": "no-such-service"})


def test_a_pinned_id_wins_over_the_name(
    make: Make, stack: dict[str, Any], recording: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PINNED_ENV, '{"service": "%s"}' % stack["service_id"])  # noqa: UP031
    found = make(p.ServiceProvider).create({"project_id": stack["project_id"], "name": "renamed-in-config"})
    assert found.id == stack["service_id"] and found.outs["name"] == "backend"  # the rename is an update later


def test_adopted_objects_are_never_deleted(make: Make, stack: dict[str, Any], fake: Any) -> None:
    fake.reset_counters()
    make(p.ServiceProvider).delete(stack["service_id"], {"project_id": stack["project_id"], "origin": "adopted"})
    make(p.ProjectProvider).delete(stack["project_id"], {"name": "maya-staging", "origin": "adopted"})
    assert fake.count(mutations_only=True) == 0
    assert stack["project_id"] in fake.state.projects and stack["service_id"] in fake.state.services


def test_an_adopted_variable_set_keeps_undeclared_names_through_refresh_and_update(
    make: Make, stack: dict[str, Any], fake: Any
) -> None:
    provider = make(p.VariablesProvider)
    scope = _scope(stack)
    provider.create({**scope, "variables": {"A": "1", "SENTRY_DSN": "kept"}})  # as it runs, set up by hand
    state = {**scope, "variables": {"A": "1"}, "keep_undeclared": True, "origin": "adopted"}
    refreshed = provider.read("id", state)
    assert refreshed.outs["variables"] == {"A": "1"}, "an undeclared name does not enter the state"
    provider.update("id", refreshed.outs, {**scope, "variables": {"A": "2"}, "keep_undeclared": True})
    key = (scope["project_id"], scope["environment_id"], scope["service_id"])
    assert fake.state.variables[key] == {"A": "2", "SENTRY_DSN": "kept"}
    # without keep_undeclared (sets the stack made itself) refresh reports it, and the next up removes it
    assert provider.read("id", {**state, "keep_undeclared": None}).outs["variables"] == {"A": "2", "SENTRY_DSN": "kept"}
