"""The fake Railway's request metrics (tests/fakes/railway/metrics.py): counts per status in step buckets,
within the asked window, answered only to a token of that environment (or a workspace token)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.fakes.railway_api import FakeRailway

pytestmark = pytest.mark.timeout(30)

TOKEN = "test-token-metrics"
BY_STATUS = """
query M($s: String!, $e: String!, $from: DateTime!, $to: DateTime!, $step: Int) {
  httpMetricsGroupedByStatus(serviceId: $s, environmentId: $e, startDate: $from, endDate: $to, stepSeconds: $step) {
    statusCode samples { ts value } }
}"""
TOTAL = """
query T($s: String!, $e: String!, $from: DateTime!, $to: DateTime!, $code: Int) {
  httpMetrics(serviceId: $s, environmentId: $e, startDate: $from, endDate: $to, statusCode: $code) {
    samples { ts value } }
}"""
T0 = 1_790_000_040  # a whole minute
FROM, TO = (datetime.fromtimestamp(T0 + d, UTC).isoformat().replace("+00:00", "Z") for d in (-3600, 3600))


@pytest.fixture
def fake() -> Iterator[FakeRailway]:
    with FakeRailway(token=TOKEN) as f:
        yield f
        assert f.invalid_documents == []


def _ask(fake: FakeRailway, query: str, variables: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    return dict(httpx.post(fake.url, json={"query": query, "variables": variables}, headers=headers, timeout=10).json())


def test_counts_per_status_in_buckets_within_the_window_and_only_for_the_environment(fake: FakeRailway) -> None:
    project = fake.seed_project("p", environment="production")
    env = fake.environment_id(project, "production")
    service = fake.seed_service(project, "backend")
    assert T0 % 60 == 0
    fake.seed_http_requests(service, env, 200, 7, at=T0 + 5)
    fake.seed_http_requests(service, env, 200, 3, at=T0 + 65)
    fake.seed_http_requests(service, env, 503, 2, at=T0 + 10)
    fake.seed_http_requests(service, env, 500, 9, at=T0 - 86_400)  # a day earlier: outside the window
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    variables = {"s": service, "e": env, "from": FROM, "to": TO, "step": 60}
    answer = _ask(fake, BY_STATUS, variables, bearer)
    assert answer["data"]["httpMetricsGroupedByStatus"] == [
        {"statusCode": 200, "samples": [{"ts": T0, "value": 7.0}, {"ts": T0 + 60, "value": 3.0}]},
        {"statusCode": 503, "samples": [{"ts": T0, "value": 2.0}]},
    ]
    total = _ask(fake, TOTAL, {"s": service, "e": env, "from": FROM, "to": TO}, bearer)["data"]["httpMetrics"]
    assert total == {"samples": [{"ts": T0, "value": 9.0}, {"ts": T0 + 60, "value": 3.0}]}
    only_503 = _ask(fake, TOTAL, {"s": service, "e": env, "from": FROM, "to": TO, "code": 503}, bearer)
    assert only_503["data"]["httpMetrics"] == {"samples": [{"ts": T0, "value": 2.0}]}


def test_a_project_token_reads_only_its_own_environment(fake: FakeRailway) -> None:
    project = fake.seed_project("p", environment="production")
    env = fake.environment_id(project, "production")
    service = fake.seed_service(project, "backend")
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    other = _ask(
        fake,
        "mutation E($i: EnvironmentCreateInput!) { environmentCreate(input: $i) { id } }",
        {"i": {"projectId": project, "name": "staging"}},
        bearer,
    )["data"]["environmentCreate"]["id"]
    tokens = {}
    for name, environment in (("mine", env), ("theirs", other)):
        tokens[name] = _ask(
            fake,
            "mutation T($i: ProjectTokenCreateInput!) { projectTokenCreate(input: $i) }",
            {"i": {"projectId": project, "environmentId": environment, "name": name}},
            bearer,
        )["data"]["projectTokenCreate"]
    variables = {"s": service, "e": env, "from": FROM, "to": TO}
    mine = _ask(fake, BY_STATUS, variables, {"Project-Access-Token": tokens["mine"]})
    assert mine == {"data": {"httpMetricsGroupedByStatus": []}}
    theirs = _ask(fake, BY_STATUS, variables, {"Project-Access-Token": tokens["theirs"]})
    assert theirs["data"] is None and theirs["errors"][0]["message"] == "Not Authorized"
    backwards = _ask(fake, BY_STATUS, {**variables, "from": TO, "to": FROM}, bearer)
    assert backwards["errors"][0]["message"] == "endDate must be after startDate"
