"""Fixtures: a fake Railway API on 127.0.0.1 and providers wired to it over real HTTP."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest

from components.railway import provider as p
from components.railway.client import ClientSettings, RailwayClient
from tests.fakes.railway_api import FakeRailway

TOKEN = "fake-railway-token"
P = TypeVar("P", bound=p.RailwayProvider)


class SleepRecorder:
    """Stands in for time.sleep in the client: records each wait and lets that much Railway time pass on the
    fake's clock (a Retry-After of an hour costs nothing; the rate-limit window really moves). Waits of the
    settle loops (after a lost answer) are also really waited, briefly, so that a slow commit — a request
    the fake holds in real time — can land while the provider looks."""

    def __init__(self, fake: FakeRailway | None = None) -> None:
        self.waits: list[float] = []
        self.fake = fake

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.fake is not None:
            self.fake.advance(seconds)
        if seconds <= 8.0:
            time.sleep(min(seconds, 0.5))


@pytest.fixture
def fake() -> Iterator[FakeRailway]:
    """The fake Railway as every provider test meets it: Railway's hourly rate limit on (its default)."""
    with FakeRailway(token=TOKEN, deploy_polls_to_finish=2) as server:
        yield server


@pytest.fixture
def sleeps(fake: FakeRailway) -> SleepRecorder:
    return SleepRecorder(fake)


@pytest.fixture
def client(fake: FakeRailway, sleeps: SleepRecorder) -> Iterator[RailwayClient]:
    settings = ClientSettings(
        endpoint=fake.url,
        requests_per_second=1000,
        max_attempts=6,
        timeout_seconds=5,
        connect_timeout_seconds=2,
        backoff_base_seconds=0.01,
        backoff_cap_seconds=30,
        settle_seconds=2,
    )
    railway = RailwayClient(TOKEN, settings, sleep=sleeps)
    yield railway
    railway.close()


@pytest.fixture
def make(client: RailwayClient) -> Callable[[type[P]], P]:
    def build(cls: type[P]) -> P:
        instance = cls()
        instance.use_client(client)
        return instance

    return build


@pytest.fixture
def stack(make: Callable[[type[Any]], Any]) -> dict[str, Any]:
    """A project, its environment and a service: what most resources hang off."""
    project = make(p.ProjectProvider).create({"name": "maya-staging", "default_environment_name": "staging"})
    env = make(p.EnvironmentProvider).create({"project_id": project.id, "name": "staging"})
    service = make(p.ServiceProvider).create({"project_id": project.id, "name": "backend"})
    return {"project_id": project.id, "environment_id": env.id, "service_id": service.id, "project": project}


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The fault matrix's table, when its module ran (``test_exactly_once.py``)."""
    module = sys.modules.get("tests.components.railway.test_exactly_once")
    lines = module.matrix_table() if module is not None else []
    if lines:
        terminalreporter.section("Railway exactly-once fault matrix")
        for line in lines:
            terminalreporter.write_line(line)
