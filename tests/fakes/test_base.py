"""The shared plumbing of the fakes (tests/fakes/base.py), through a minimal fake of its own: a counter that
``POST /add`` increments (a write) and ``GET /value`` reads, so that what a fault did or did not commit shows."""

from __future__ import annotations

import http.client
import json
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.fakes.base import (
    AFTER,
    BEFORE,
    SLOW,
    Answer,
    Incoming,
    LoopbackFake,
    answer_with_fault,
    json_answer,
    read_json,
    take_fault,
    text_answer,
)


@dataclass
class Seen:
    method: str
    path: str
    body: Any
    status: int | None = None

    @property
    def is_write(self) -> bool:
        return self.method != "GET"


@dataclass
class CounterFault:
    when: str
    status: int = 500  # 0: drop the connection
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1
    path: str = ""
    delay: float = 1.0
    hits: int = 0


class CounterFake(LoopbackFake[Seen]):
    fake_name = "fake-counter"

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._init_loopback(host)
        self.value = 0
        self.faults: list[CounterFault] = []

    def serve(self, request: Incoming) -> Answer:
        seen = Seen(request.method, request.path, request.json())
        with self._lock:
            self.requests.append(seen)
            fault = take_fault(self.faults, lambda f: f.path in request.path)
        if request.path == "/boom":
            raise RuntimeError("a bug in the fake")

        def work() -> Answer:
            with self._lock:
                if request.method == "POST" and request.path == "/add":
                    self.value += int((request.json() or {}).get("by", 1))
                return json_answer(200, {"value": self.value})

        def failed() -> Answer:
            assert fault is not None
            if fault.status == 0:
                return Answer(drop=True)
            return text_answer(fault.status, f"error code: {fault.status}", fault.headers)

        answer = answer_with_fault(fault.when if fault else None, work, failed, delay=fault.delay if fault else 0)
        seen.status = None if answer.drop else answer.status
        return answer


def call(fake: CounterFake, method: str, path: str, body: Any = None, timeout: float = 5.0) -> tuple[int, Any, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", fake.bound_port, timeout=timeout)
    try:
        conn.request(method, path, body=None if body is None else json.dumps(body))
        resp = conn.getresponse()
        raw = resp.read()
        return resp.status, resp.headers, read_json(raw) if raw.startswith(b"{") else raw.decode()
    finally:
        conn.close()


# ------------------------------------------------------------------------------------------ lifecycle


def test_lifecycle_binds_a_free_loopback_port_and_releases_it() -> None:
    fake = CounterFake()
    with pytest.raises(RuntimeError, match="not started"):
        _ = fake.base_url
    url = fake.start()
    port = fake.bound_port
    assert port != 0 and url == f"http://127.0.0.1:{port}"
    assert fake.start() == url  # a second start is the same server
    assert fake._server is not None and fake._server.server_address[0] == "127.0.0.1"
    assert call(fake, "GET", "/value")[:2][0] == 200
    began = time.monotonic()
    fake.stop()
    assert time.monotonic() - began < 2.0  # bounded: the serving loop polls every 50 ms
    fake.stop()  # idempotent
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_context_manager_starts_and_stops() -> None:
    with CounterFake() as fake:
        port = fake.bound_port
        assert call(fake, "POST", "/add", {"by": 2})[2] == {"value": 2}
    assert fake._server is None
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


@pytest.mark.parametrize("host", ["0.0.0.0", "", "192.168.1.10", "example.com"])  # noqa: S104 - refused
def test_only_loopback_is_accepted(host: str) -> None:
    with pytest.raises(ValueError, match="only listens on loopback"):
        CounterFake(host)


def test_ipv6_loopback_is_bracketed_in_the_url() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    fake = CounterFake("::1")
    try:
        url = fake.start()
    except OSError:
        pytest.skip("::1 is not configured on this machine")
    try:
        assert url == f"http://[::1]:{fake.bound_port}"
    finally:
        fake.stop()


# ---------------------------------------------------------------------------------------- request log


def test_the_request_log_records_method_path_body_status_and_writes() -> None:
    with CounterFake() as fake:
        call(fake, "GET", "/value")
        mark = fake.mark()
        call(fake, "POST", "/add", {"by": 3})
        call(fake, "PUT", "/add", {"by": 4})
        call(fake, "GET", "/value")
        assert [(r.method, r.path, r.body, r.status) for r in fake.since(mark)] == [
            ("POST", "/add", {"by": 3}, 200),
            ("PUT", "/add", {"by": 4}, 200),
            ("GET", "/value", None, 200),
        ]
        assert fake.writes() == 2 and fake.writes(fake.mark()) == 0 and len(fake.since()) == 4
        assert fake.value == 3  # the counter adds on POST only; the PUT was logged as a write all the same


def test_a_bug_in_the_fake_answers_500_and_is_recorded_not_printed(capfd: pytest.CaptureFixture[str]) -> None:
    with CounterFake() as fake:
        status, _, body = call(fake, "GET", "/boom")
    assert status == 500 and body == {"message": "fake-counter: internal error"}
    assert len(fake.internal_errors) == 1 and "a bug in the fake" in fake.internal_errors[0]
    out, err = capfd.readouterr()
    assert out == "" and err == ""


# --------------------------------------------------------------------------------------------- faults


def test_http_fault_before_the_work_carries_headers_and_commits_nothing() -> None:
    with CounterFake() as fake:
        fake.faults.append(CounterFault(BEFORE, 429, {"Retry-After": "7"}, times=2, path="/add"))
        for _ in range(2):
            status, headers, body = call(fake, "POST", "/add")
            assert (status, headers["Retry-After"], body) == (429, "7", "error code: 429")
        assert fake.value == 0 and fake.faults == []  # spent: it left the queue
        assert call(fake, "POST", "/add")[:1] == (200,) and fake.value == 1


def test_a_fault_matches_only_its_requests() -> None:
    with CounterFake() as fake:
        fake.faults.append(CounterFault(BEFORE, 503, path="/add"))
        assert call(fake, "GET", "/value")[0] == 200  # not matched: still armed
        assert call(fake, "POST", "/add")[0] == 503
        assert [r.status for r in fake.requests] == [200, 503]


@pytest.mark.parametrize(("when", "landed"), [(BEFORE, 0), (AFTER, 1)])
def test_a_dropped_connection_before_the_work_applies_nothing_after_it_the_write_landed_unseen(
    when: str, landed: int
) -> None:
    with CounterFake() as fake:
        fake.faults.append(CounterFault(when, 0))
        with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
            call(fake, "POST", "/add")
        assert fake.value == landed and fake.requests[-1].status is None


def test_http_error_after_the_work_the_write_landed() -> None:
    with CounterFake() as fake:
        fake.faults.append(CounterFault(AFTER, 502))
        assert call(fake, "POST", "/add")[0] == 502
        assert fake.value == 1


def test_slow_commit_lands_after_the_client_gave_up() -> None:
    with CounterFake() as fake:
        fake.faults.append(CounterFault(SLOW, delay=0.6))
        with pytest.raises(TimeoutError):
            call(fake, "POST", "/add", timeout=0.2)
        assert fake.value == 0
        deadline = time.monotonic() + 5
        while fake.value == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert fake.value == 1


def test_take_fault_counts_hits_and_answer_with_fault_rejects_an_unknown_moment() -> None:
    faults = [CounterFault(BEFORE, times=2, path="/a"), CounterFault(BEFORE, path="/b")]
    first, second = faults
    assert take_fault(faults, lambda f: f.path == "/b") is second and second.hits == 1 and faults == [first]
    assert take_fault(faults, lambda f: f.path == "/a") is first and first.hits == 1
    assert take_fault(faults, lambda f: f.path == "/a") is first and first.hits == 2 and faults == []
    assert take_fault(faults, lambda f: True) is None
    with pytest.raises(ValueError, match="not 'later'"):
        answer_with_fault("later", lambda: Answer(), lambda: Answer())


def test_read_json_is_none_for_empty_or_invalid_bodies() -> None:
    assert read_json(b"") is None and read_json(b"  ") is None and read_json(b"{nope") is None
    assert read_json(b'{"a": [1]}') == {"a": [1]} and read_json("[]") == []


# -------------------------------------------------------------------------------------------- standalone


def test_standalone_main_prints_the_url_serves_and_stops_on_sigterm() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.github_api", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/")
        host, _, port = url[len("http://") : -1].partition(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=5)
        conn.request("GET", "/api/v3/repos/mayassistant/maya")
        assert conn.getresponse().status == 200
        conn.close()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=5)
    assert proc.returncode == 0, err
    assert out.splitlines() == ["200 repos/get GET /api/v3/repos/mayassistant/maya"]


def test_standalone_main_refuses_a_non_loopback_host() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tests.fakes.vercel_api", "--host", "0.0.0.0"],  # noqa: S104 - refused
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2 and "invalid choice: '0.0.0.0'" in proc.stderr
