"""What the three fakes (Railway, GitHub, Vercel) share: a loopback HTTP server, a request log, a fault queue.

Each fake keeps its own API semantics (Railway validates against its GraphQL schema, GitHub against its
OpenAPI description, Vercel routes its few REST paths); this module is only the plumbing they used to
repeat, so that a fix to it (a dropped connection, a bounded shutdown, a port) lands in all three:

* :class:`LoopbackFake` — the server's lifecycle: bound to loopback only (anything else is refused, so no
  test can expose a fake on the network), port 0 → the port the kernel picked, a daemon thread, a shutdown
  bounded in time, a context manager. Every request is read (body by Content-Length) into an
  :class:`Incoming` and handed to the fake's :meth:`LoopbackFake.serve`, which answers an :class:`Answer`
  (or ``Answer(drop=True)``: the connection closes with no response, as when a proxy loses it). A fake
  that raises answers 500 and the traceback goes to ``internal_errors`` (never to stderr).
* the request log: ``requests`` (each fake's own record type, which says whether it ``is_write``),
  :meth:`LoopbackFake.mark` / :meth:`LoopbackFake.since` / :meth:`LoopbackFake.writes`.
* faults: :func:`take_fault` (the first armed fault that matches, counted; a spent one leaves the queue)
  and :func:`answer_with_fault` (when the fault hits: ``before`` the work — an error or a dropped
  connection, nothing applied; ``slow`` — held, then carried out, so a write lands after an impatient
  client gave up; ``after`` — carried out, then the answer is lost or replaced by an error).
* :func:`run_standalone`: ``python -m tests.fakes.<fake>`` serves until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import socket
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import urlsplit

__all__ = [
    "AFTER",
    "BEFORE",
    "LOOPBACK_HOSTS",
    "SLOW",
    "Answer",
    "Incoming",
    "LoopbackFake",
    "answer_with_fault",
    "json_answer",
    "loopback_parser",
    "read_json",
    "run_standalone",
    "take_fault",
    "text_answer",
]

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
#: How long ``stop()`` waits for the serving thread; a fake never holds a test's teardown longer.
STOP_TIMEOUT_SECONDS = 5.0

# When a fault hits, relative to the work the request asks for.
BEFORE = "before"  # answered (or dropped) instead of the work: nothing is applied
SLOW = "slow"  # held ``delay`` seconds, then carried out and answered normally
AFTER = "after"  # carried out, then the answer is lost (dropped) or replaced by an error


# ------------------------------------------------------------------------------------------ messages


@dataclass
class Answer:
    """What the server sends back; ``drop``: nothing — the connection is closed without a response."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    drop: bool = False


def json_answer(status: int, payload: Any, headers: dict[str, str] | None = None) -> Answer:
    return Answer(
        status, {"Content-Type": "application/json; charset=utf-8", **(headers or {})}, json.dumps(payload).encode()
    )


def text_answer(status: int, text: str, headers: dict[str, str] | None = None) -> Answer:
    return Answer(status, {"Content-Type": "text/plain; charset=utf-8", **(headers or {})}, text.encode())


def read_json(raw: bytes | str) -> Any:
    """The JSON document sent, or None when the body is empty or not JSON (each fake decides what that means)."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


@dataclass
class Incoming:
    """One request as the fake sees it: ``target`` is the request line's path with its query string."""

    method: str
    target: str
    headers: Message
    body: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> str:
        return urlsplit(self.target).query

    def json(self) -> Any:
        return read_json(self.body)


# -------------------------------------------------------------------------------------------- faults


class _Countable(Protocol):
    times: int
    hits: int


F = TypeVar("F", bound=_Countable)


def take_fault(faults: list[F], matches: Callable[[F], bool]) -> F | None:
    """The first armed fault that ``matches`` this request, with one more hit; once it has hit ``times``
    times it leaves the queue (the caller keeps the object, to assert how often it hit). Call under the
    fake's lock."""
    for fault in faults:
        if fault.hits < fault.times and matches(fault):
            fault.hits += 1
            if fault.hits >= fault.times:
                faults.remove(fault)
            return fault
    return None


A = TypeVar("A")


def answer_with_fault(
    when: str | None, work: Callable[[], A], fault_answer: Callable[[], A], *, delay: float = 1.0
) -> A:
    """Serve a request that a fault hit ``when`` (:data:`BEFORE`, :data:`SLOW`, :data:`AFTER`; None: no
        fault): ``work`` carries the request out and answers it, ``fault_answer`` is what the fault sends
        instead (``Answer(drop=True)`` for a lost connection). Answers are whatever the fake builds (an
    :class:`Answer`, or the fake's own tuple)."""
    if when is None:
        return work()
    if when == BEFORE:
        return fault_answer()
    if when == SLOW:
        time.sleep(delay)
        return work()
    if when == AFTER:
        work()  # the write lands; the client never learns it
        return fault_answer()
    raise ValueError(f"a fault hits {BEFORE!r}, {SLOW!r} or {AFTER!r} the work, not {when!r}")


# ---------------------------------------------------------------------------------------------- HTTP


class _Handler(BaseHTTPRequestHandler):
    fake: LoopbackFake[Any]
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: avoid 40 ms delayed-ACK stalls
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        return  # no request log on stderr: a URL or header could carry a secret

    def _serve(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        body = self.rfile.read(length) if length > 0 else b""
        answer = self.fake._answer(Incoming(self.command, self.path, self.headers, body))
        if answer.drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        try:
            self.send_response(answer.status)
            for k, v in answer.headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)
            self.wfile.flush()
        except OSError:  # the client went away (BrokenPipe, ConnectionReset): nothing to tell it
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:  # keep stderr clean
        return


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Recorded(Protocol):
    @property
    def is_write(self) -> bool: ...


R = TypeVar("R", bound=_Recorded)


class LoopbackFake(Generic[R]):
    """A fake API served over real HTTP on loopback. Subclasses call :meth:`_init_loopback` in their
    ``__init__`` and implement :meth:`serve`; ``requests`` is theirs to append to (under ``_lock``)."""

    #: the serving thread's name and the Server header
    fake_name = "fake"
    server_version = "Fake/1.0"

    host: str
    requests: list[R]
    internal_errors: list[str]
    _lock: threading.RLock

    def _init_loopback(self, host: str = "127.0.0.1", port: int = 0) -> None:
        if host not in LOOPBACK_HOSTS:
            raise ValueError(f"the fake only listens on loopback ({', '.join(LOOPBACK_HOSTS)}), not {host!r}")
        self.host, self._port = host, port
        self.requests = []
        self.internal_errors = []
        self._lock = threading.RLock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def serve(self, request: Incoming) -> Answer:
        raise NotImplementedError

    def _answer(self, request: Incoming) -> Answer:
        try:
            return self.serve(request)
        except Exception:  # a bug in the fake: answered 500, recorded, kept off stderr
            with self._lock:
                self.internal_errors.append(traceback.format_exc())
            return json_answer(500, {"message": f"{self.fake_name}: internal error"})

    # ------------------------------------------------------------------------------------- lifecycle

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the running server (the port the kernel picked for port 0)."""
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._server.server_port}"

    @property
    def bound_port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return int(self._server.server_port)

    def _start_server(self) -> None:
        """Bind and serve in a daemon thread; a second call while running does nothing."""
        if self._server is not None:
            return
        handler = type(
            f"{type(self).__name__}Handler", (_Handler,), {"fake": self, "server_version": self.server_version}
        )
        server_class = _Server6 if ":" in self.host else _Server
        self._server = server_class((self.host, self._port), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True, name=self.fake_name
        )
        self._thread.start()

    def start(self) -> Any:
        self._start_server()
        return self.base_url

    def stop(self) -> None:
        """Stop serving and release the port; waits at most STOP_TIMEOUT_SECONDS for the serving thread
        (requests still held by a slow fault finish on their own daemon threads). Idempotent."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=STOP_TIMEOUT_SECONDS)
            self._thread = None

    def __enter__(self: Any) -> Any:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----------------------------------------------------------------------------------- request log

    def mark(self) -> int:
        """A position in the request log, for ``since`` and ``writes``."""
        with self._lock:
            return len(self.requests)

    def since(self, mark: int = 0) -> list[R]:
        with self._lock:
            return list(self.requests[mark:])

    def writes(self, mark: int = 0) -> int:
        """Requests since ``mark`` that asked for a change (a mutation, a POST/PUT/PATCH/DELETE)."""
        return sum(1 for r in self.since(mark) if r.is_write)


# --------------------------------------------------------------------------------------- standalone


def loopback_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """An argument parser with ``--host`` (loopback only) and ``--port`` (0: any free port)."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--host", default="127.0.0.1", choices=LOOPBACK_HOSTS, help="loopback only")
    parser.add_argument("--port", type=int, default=0, help="0: a free port, printed on start")
    return parser


def run_standalone(
    fake: LoopbackFake[Any], banner: Callable[[], str], *, on_stop: Callable[[], None] | None = None
) -> int:
    """Start ``fake``, print ``banner()`` (its URL, …) on stdout, serve until SIGTERM/SIGINT, stop it and
    call ``on_stop`` (e.g. to print the requests it received)."""
    stopping = threading.Event()

    def on_signal(_signum: int, _frame: Any) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    fake.start()
    print(banner(), flush=True)
    try:
        while not stopping.wait(0.2):
            pass
    finally:
        fake.stop()
        if on_stop is not None:
            on_stop()
    return 0
