"""What the fake Railway models for pull-request previews (docs/previews.md): a fork gets its own, empty volume
instances; the hourly request budget answers 429 with Retry-After once spent."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from tests.fakes.railway_api import FakeRailway

TOKEN = "fake-railway-token"


def _post(url: str, query: str) -> tuple[int, dict[str, str]]:
    body = json.dumps({"query": query}).encode()
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - loopback fake
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback fake
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)


def test_a_fork_gets_its_own_empty_volume_instances() -> None:
    fake = FakeRailway(token=TOKEN)
    with fake._lock:
        project = fake._create_project({"name": "p", "defaultEnvironmentName": "staging"})
        staging = fake._envs_of(project["id"])[0]["id"]
        service = fake._create_service(project["id"], "db", environment_id=staging, source={"image": "x"}, deploy=False)
        fake._new_volume(project["id"], "/data", service["id"], staging, None)
        [source] = fake.state.volume_instances.values()
        source["currentSizeMB"] = 812.5
        fork = fake._create_environment(project["id"], "pr-1", source_env_id=staging, ephemeral=True)
        fake.finish_workflows()  # the fork is applied later, like Railway's
        copies = [vi for vi in fake.state.volume_instances.values() if vi["environmentId"] == fork["id"]]
    [copy] = copies
    assert copy["id"] != source["id"] and copy["volumeId"] == source["volumeId"]
    assert copy["mountPath"] == "/data" and copy["serviceId"] == service["id"] and copy["currentSizeMB"] == 0
    assert source["currentSizeMB"] == 812.5
    with fake._lock:
        fake._delete_environment(fork["id"])
        assert list(fake.state.volume_instances.values()) == [source]


@pytest.mark.parametrize("budget", [0, 2])
def test_the_request_budget_answers_429_with_retry_after(budget: int) -> None:
    with FakeRailway(token=TOKEN, request_budget=budget, budget_window_seconds=3600) as fake:
        statuses = [_post(fake.url, "query Me { me { id } }")[0] for _ in range(budget)]
        status, headers = _post(fake.url, "query Me { me { id } }")
        assert statuses == [200] * budget and status == 429
        assert 1 <= float(headers["Retry-After"]) <= 3600 and headers["X-RateLimit-Remaining"] == "0"
        assert fake.refused_over_budget == 1 and fake.count() == budget + 1 and not fake.internal_errors
