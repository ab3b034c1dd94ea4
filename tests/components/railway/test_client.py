"""The Railway client against the fake API over real HTTP: retries, backoff, errors, secrecy."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import httpx
import pytest

from components.railway import errors
from components.railway import operations as gql
from components.railway.client import ClientSettings, RailwayClient, classify, scrub
from components.railway.exactly_once import write_once
from tests.components.railway.conftest import TOKEN, SleepRecorder
from tests.fakes.railway_api import FakeRailway

pytestmark = pytest.mark.timeout(60)


def _named(client: RailwayClient, name: str) -> dict[str, Any] | None:
    listed = client.execute(gql.PROJECTS, {"workspaceId": None, "after": None})["projects"]
    return next((e["node"] for e in listed["edges"] if e["node"]["name"] == name), None)


def _create_project(client: RailwayClient, name: str = "p") -> str:
    """A ProjectCreate as maya-infra sends one: the send of write_once (the client refuses it otherwise)."""
    send = lambda: client.execute(gql.PROJECT_CREATE, {"input": {"name": name}})["projectCreate"]  # noqa: E731
    return str(write_once(client, f"project {name}", find=lambda: _named(client, name), send=send).value["id"])


def _answer_to_one_create(client: RailwayClient, name: str = "p") -> list[errors.RailwayError]:
    """What the client itself raised for one ProjectCreate (sent once as write_once's send, never again)."""
    raised: list[errors.RailwayError] = []

    def send() -> dict[str, Any]:
        try:
            return dict(client.execute(gql.PROJECT_CREATE, {"input": {"name": name}})["projectCreate"])
        except errors.RailwayError as exc:
            raised.append(exc)
            raise

    with contextlib.suppress(errors.RailwayError):
        write_once(
            client, name, find=lambda: _named(client, name), send=send, look_first=False, max_sends=1, settle_seconds=0
        )
    return raised


def test_sends_bearer_token_source_and_operation_name(fake: FakeRailway, client: RailwayClient) -> None:
    _create_project(client)
    request = fake.requests[-1]
    assert request.operation_name == "ProjectCreate"
    assert request.source == "maya-infra"
    assert request.auth_kind == "bearer"
    assert fake.invalid_documents == []


def test_429_honours_retry_after(fake: FakeRailway, client: RailwayClient, sleeps: SleepRecorder) -> None:
    fake.inject("http", status=429, retry_after=7, times=2, match="ProjectCreate")
    _create_project(client)
    assert sleeps.waits[-2:] == [7.0, 7.0]
    assert fake.count("ProjectCreate") == 3
    assert len(fake.state.projects) == 1


def test_cloudflare_1015_backs_off_hard(fake: FakeRailway, client: RailwayClient, sleeps: SleepRecorder) -> None:
    fake.inject("cloudflare_1015")
    client.execute(gql.PROJECTS, {"workspaceId": None, "after": None})
    assert sleeps.waits == [60.0]  # an edge block has no Retry-After: 60 s, not capped by backoffCapSeconds


@pytest.mark.parametrize("status", [502, 503, 504])
def test_5xx_is_retried_for_queries(fake: FakeRailway, client: RailwayClient, status: int) -> None:
    project_id = _create_project(client)
    fake.inject("http", status=status, times=2)
    assert client.execute(gql.PROJECT, {"id": project_id})["project"]["id"] == project_id


def test_dropped_connection_is_retried_for_idempotent_calls(fake: FakeRailway, client: RailwayClient) -> None:
    project_id = _create_project(client)
    fake.inject("drop", match="ProjectUpdate")
    client.execute(gql.PROJECT_UPDATE, {"id": project_id, "input": {"name": "renamed"}})
    assert fake.state.projects[project_id]["name"] == "renamed"


def test_lost_answer_of_a_create_is_reported_as_ambiguous(fake: FakeRailway, client: RailwayClient) -> None:
    fake.inject("drop_after", match="ProjectCreate")
    assert [type(e) for e in _answer_to_one_create(client)] == [errors.AmbiguousResultError]
    assert len(fake.state.projects) == 1  # it did happen: the caller must look before retrying


def test_slow_reply_times_out_then_succeeds(fake: FakeRailway, sleeps: SleepRecorder) -> None:
    settings = ClientSettings(
        endpoint=fake.url, requests_per_second=1000, timeout_seconds=0.5, backoff_base_seconds=0.01
    )
    railway = RailwayClient(TOKEN, settings, sleep=sleeps)
    fake.inject("slow", delay=1.5, match="Projects")
    result = railway.execute(gql.PROJECTS, {"workspaceId": None, "after": None})
    assert result["projects"]["edges"] == []
    assert fake.count("Projects") == 2


def test_gives_up_after_max_attempts(fake: FakeRailway, client: RailwayClient) -> None:
    fake.inject("http", status=429, retry_after=1, times=10)
    with pytest.raises(errors.RateLimitedError, match="gave up after 6 attempts"):
        client.execute(gql.PROJECTS, {"workspaceId": None, "after": None})


def test_graphql_errors_map_to_typed_exceptions(fake: FakeRailway, client: RailwayClient) -> None:
    with pytest.raises(errors.NotFoundError):
        client.execute(gql.PROJECT, {"id": "does-not-exist"})
    fake.inject("graphql_error", message="Invalid input: name", extensions={"code": "BAD_USER_INPUT"})
    with pytest.raises(errors.InvalidInputError):
        client.execute(gql.PROJECTS, {"workspaceId": None, "after": None})


def test_wrong_token_is_not_authorized_and_never_echoed(fake: FakeRailway, sleeps: SleepRecorder) -> None:
    wrong = "wrong-token-value-123456"
    railway = RailwayClient(wrong, ClientSettings(endpoint=fake.url), sleep=sleeps)
    with pytest.raises(errors.NotAuthorizedError) as exc:
        railway.execute(gql.PROJECTS, {"workspaceId": None, "after": None})
    assert wrong not in str(exc.value) and "railwayToken" in str(exc.value)
    assert wrong not in repr(railway)


def test_server_messages_are_scrubbed_of_sent_values(
    fake: FakeRailway, client: RailwayClient, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "super-secret-variable-value"
    # a final answer (not Railway's generic failure, which would be retried away before anyone reads it)
    fake.inject("graphql_error", message=f"cannot store {secret} for {TOKEN}", extensions={"code": "BAD_USER_INPUT"})
    caplog.set_level(logging.DEBUG)
    with pytest.raises(errors.InvalidInputError) as exc:
        client.execute(
            gql.VARIABLE_COLLECTION_UPSERT,
            {"input": {"projectId": "p", "environmentId": "e", "serviceId": "s", "variables": {"K": secret}}},
        )
    assert "cannot store [redacted] for [redacted]" in str(exc.value), "the server's message is what is shown"
    assert secret not in str(exc.value) and TOKEN not in str(exc.value)
    assert secret not in caplog.text and TOKEN not in caplog.text


def test_connection_refused_is_unavailable(sleeps: SleepRecorder) -> None:
    railway = RailwayClient(
        TOKEN,
        ClientSettings(endpoint="http://127.0.0.1:9/graphql/v2", max_attempts=2, connect_timeout_seconds=0.5),
        sleep=sleeps,
    )
    with pytest.raises(errors.UnavailableError, match="cannot connect"):
        railway.execute(gql.PROJECTS, {"workspaceId": None, "after": None})


def test_rate_cap_spaces_requests(fake: FakeRailway) -> None:
    waits: list[float] = []
    railway = RailwayClient(TOKEN, ClientSettings(endpoint=fake.url, requests_per_second=2), sleep=waits.append)
    for _ in range(3):
        railway.execute(gql.PROJECTS, {"workspaceId": None, "after": None})
    # the recorder does not really sleep, so the second wait also covers the first: 0.5 s apart each (less the
    # requests' own time, which a loaded machine stretches: bounds that hold while both take under 0.5 s)
    assert len(waits) == 2 and 0 < waits[0] <= 0.5 and 0.5 < waits[1] <= 1.0


def test_no_token_is_refused_before_any_request() -> None:
    with pytest.raises(errors.NotAuthorizedError, match="railwayToken"):
        RailwayClient("")


def test_classify_and_scrub_units() -> None:
    assert isinstance(classify("Op", "Project not found", None), errors.NotFoundError)
    assert isinstance(classify("Op", "anything", "NOT_FOUND"), errors.NotFoundError)
    assert isinstance(classify("Op", "Not Authorized", None), errors.NotAuthorizedError)
    assert isinstance(classify("Op", "Rate limit exceeded", None), errors.RateLimitedError)
    assert scrub("a-secret-value here", ["a-secret-value", "x"]) == "[redacted] here"


def test_http_client_uses_timeouts(client: RailwayClient) -> None:
    timeout = client._http.timeout
    assert isinstance(timeout, httpx.Timeout) and timeout.connect == 2 and timeout.read == 5


# ---- retries that match Railway: Retry-After in full, a deadline, no wait after the last attempt ----------
def _client(fake: FakeRailway, sleeps: SleepRecorder, **tuning: float) -> RailwayClient:
    base: dict[str, float] = {"requests_per_second": 1000, "backoff_base_seconds": 0.01, "backoff_cap_seconds": 30}
    settings = ClientSettings(endpoint=fake.url, **{**base, **tuning})  # type: ignore[arg-type]
    return RailwayClient(TOKEN, settings, sleep=sleeps)


def test_retry_after_is_honoured_in_full_not_capped(fake: FakeRailway, sleeps: SleepRecorder) -> None:
    railway = _client(fake, sleeps, backoff_cap_seconds=5)
    fake.inject("http", status=429, retry_after=45)
    railway.execute(gql.PROJECTS, {"workspaceId": None, "after": None})
    assert sleeps.waits == [45.0]  # not min(45, backoffCapSeconds)


def test_a_retry_after_past_the_deadline_fails_at_once_saying_when(fake: FakeRailway, sleeps: SleepRecorder) -> None:
    railway = _client(fake, sleeps, deadline_seconds=100)
    fake.inject("http", status=429, retry_after=600)
    with pytest.raises(errors.RateLimitedError, match=r"wait 600 s.*deadlineSeconds \(100 s\).*retry after") as exc:
        railway.execute(gql.PROJECTS, {"workspaceId": None, "after": None})
    assert exc.value.retry_after == 600
    assert sleeps.waits == [] and fake.count("Projects") == 1


def test_no_wait_after_the_last_attempt(fake: FakeRailway, sleeps: SleepRecorder) -> None:
    railway = _client(fake, sleeps, max_attempts=3)
    fake.inject("http", status=429, retry_after=2, times=5)
    with pytest.raises(errors.RateLimitedError, match="gave up after 3 attempts"):
        railway.execute(gql.PROJECTS, {"workspaceId": None, "after": None})
    assert fake.count("Projects") == 3 and sleeps.waits == [2.0, 2.0]


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "http", "status": 500},
        {"kind": "graphql_error", "message": "Problem processing request", "extensions": {}},
        {"kind": "graphql_error", "message": "Internal server error"},
    ],
    ids=["http-500", "problem-processing-request", "internal-server-error"],
)
def test_railways_failures_are_retried_for_reads_and_ambiguous_for_creates(
    fake: FakeRailway, client: RailwayClient, fault: dict[str, object]
) -> None:
    options = dict(fault)
    kind = str(options.pop("kind"))
    fake.inject(kind, match="Projects", **options)  # type: ignore[arg-type]
    assert client.execute(gql.PROJECTS, {"workspaceId": None, "after": None})["projects"]["edges"] == []
    fake.inject(kind, match="ProjectCreate", **options)  # type: ignore[arg-type]
    assert [type(e) for e in _answer_to_one_create(client)] == [errors.AmbiguousResultError]
    assert fake.count("ProjectCreate") == 1  # never resent blind


def test_settings_come_from_the_validated_config_model() -> None:
    from config.model import RailwaySettings

    settings = ClientSettings.of(RailwaySettings.model_validate({"deadlineSeconds": 120.0, "settleSeconds": 5.0}))
    assert (settings.deadline_seconds, settings.settle_seconds) == (120.0, 5.0)
    assert settings.endpoint == RailwaySettings().api_url
    assert ClientSettings.of(RailwaySettings(), endpoint="http://127.0.0.1:1/graphql/v2").endpoint.startswith(
        "http://127"
    )
