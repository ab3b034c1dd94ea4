"""The body-checking health probe (health_check.py), served by a real HTTP server.

The staging gate's tests are in test_staging_gate.py (against the fake GitHub).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from workflows.scripts import health_check


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
