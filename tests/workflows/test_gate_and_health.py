"""The staging → production gate (staging_gate.py) and the body-checking health probe (health_check.py).

The gate reads GitHub's REST API through an injected ``get``: here a small in-memory repository with
commits, trees, deployments, their statuses and check runs. The probe is served by a real HTTP server.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from workflows.scripts import health_check, staging_gate

REPO = "mayassistant/maya"
ARGS = ["--repo", REPO, "--production", "production", "--staging", "staging", "--check", "frontend-ci"]


class GitHub:
    """Commits (sha -> tree), staging deployments (id, sha, states newest first), check conclusions per sha."""

    def __init__(self) -> None:
        self.trees: dict[str, str] = {}
        self.deployments: list[dict[str, Any]] = []
        self.statuses: dict[int, list[str]] = {}
        self.checks: dict[str, list[str]] = {}
        self.calls: list[str] = []

    def deploy(self, sha: str, tree: str, state: str, check: str | None) -> None:
        self.trees[sha] = tree
        deployment_id = len(self.deployments) + 1
        self.deployments.insert(0, {"id": deployment_id, "sha": sha, "environment": "staging"})
        self.statuses[deployment_id] = [state]
        if check:
            self.checks[sha] = [check]

    def get(self, path: str) -> Any:
        self.calls.append(path)
        prefix = f"/repos/{REPO}"
        assert path.startswith(prefix), path
        rest = path[len(prefix) :]
        if rest.startswith("/git/commits/"):
            return {"tree": {"sha": self.trees[rest.rsplit("/", 1)[1]]}}
        if rest.startswith("/deployments?environment=staging"):
            return self.deployments
        if rest.startswith("/deployments/"):
            deployment_id = int(rest.split("/")[2])
            return [{"state": s} for s in self.statuses[deployment_id]]
        if rest.startswith("/commits/") and "check-runs?check_name=frontend-ci" in rest:
            sha = rest.split("/")[2]
            return {"check_runs": [{"conclusion": c} for c in self.checks.get(sha, [])]}
        raise AssertionError(f"unexpected request {path}")


def _gate(github: GitHub, sha: str, target: str = "production") -> int:
    return staging_gate.main([*ARGS, "--sha", sha, "--target", target], get=github.get)


def test_a_merge_of_what_passed_on_staging_ships(capsys: pytest.CaptureFixture[str]) -> None:
    github = GitHub()
    github.deploy("dev1", "tree-a", "success", "success")
    github.trees["merge1"] = "tree-a"  # main's merge commit of develop: a new sha, the same tree
    assert _gate(github, "merge1") == 0
    assert "dev1 was deployed to staging and passed frontend-ci" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("state", "check", "why"),
    [
        ("failure", "success", "did not pass there"),
        ("success", "failure", "did not pass there"),
        ("success", None, "did not pass there"),
    ],
)
def test_code_that_failed_on_staging_is_refused(
    state: str, check: str | None, why: str, capsys: pytest.CaptureFixture[str]
) -> None:
    github = GitHub()
    github.deploy("dev1", "tree-a", state, check)
    github.trees["merge1"] = "tree-a"
    assert _gate(github, "merge1") == 1
    assert why in capsys.readouterr().out


def test_code_never_deployed_to_staging_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    github = GitHub()
    github.deploy("dev1", "tree-a", "success", "success")
    github.trees["hotfix"] = "tree-b"  # pushed straight to main: never on staging
    assert _gate(github, "hotfix") == 1
    assert "no deployment to staging of this code" in capsys.readouterr().out


def test_a_staging_deploy_is_not_gated() -> None:
    github = GitHub()
    assert _gate(github, "dev1", target="staging") == 0
    assert github.calls == []


# ---- health_check.py: the body, not only the status ------------------------------------------------------------
class _Health(BaseHTTPRequestHandler):
    answers: ClassVar[list[tuple[int, dict[str, Any] | str]]] = []

    def do_GET(self) -> None:
        status, body = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        payload = body if isinstance(body, str) else json.dumps(body)
        data = payload.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def server() -> Iterator[type[_Health]]:
    handler = type("Health", (_Health,), {"answers": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    handler.url = f"http://127.0.0.1:{httpd.server_port}/api/health"  # type: ignore[attr-defined]
    yield handler
    httpd.shutdown()
    httpd.server_close()


EXPECT = ["--expect", "$.status=healthy", "--expect", "$.database=ok", "--expect", "$.external_apis=ok"]


def test_a_200_with_a_broken_database_is_unhealthy(server: Any, capsys: pytest.CaptureFixture[str]) -> None:
    server.answers = [(200, {"status": "degraded", "database": "error", "external_apis": "ok"})]
    assert health_check.main([server.url, *EXPECT, "--attempts", "2", "--delay", "0"]) == 1
    out = capsys.readouterr().out
    assert '$.database is "error" (expected ok)' in out and '$.status is "degraded"' in out


def test_healthy_once_the_body_says_so(server: Any) -> None:
    server.answers = [(503, "starting"), (200, {"status": "healthy", "database": "ok", "external_apis": "ok"})]
    assert health_check.main([server.url, *EXPECT, "--attempts", "3", "--delay", "0"]) == 0


def test_expectations_from_the_environment(server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    server.answers = [(200, {"status": "healthy", "database": "ok"})]
    monkeypatch.setenv("EXPECT", "$.status=healthy\n$.database=ok\n")
    assert health_check.main([server.url, "--expect-env", "EXPECT", "--attempts", "1"]) == 0
    monkeypatch.setenv("EXPECT", "$.external_apis=ok")
    assert health_check.main([server.url, "--expect-env", "EXPECT", "--attempts", "1"]) == 1


def test_a_body_that_is_not_json_fails_when_the_body_is_asserted(server: Any) -> None:
    server.answers = [(200, "<html>ok</html>")]
    assert health_check.main([server.url, "--attempts", "1"]) == 0  # the frontend: status only
    assert health_check.main([server.url, *EXPECT, "--attempts", "1"]) == 1
