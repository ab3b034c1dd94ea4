"""Stand-ins for the stack's public endpoints on 127.0.0.1: the backend's /api/health and the frontend.

Each route answers from a callable, so a test (or the rehearsal) decides per request: a fixed answer,
a sequence (failing, then healthy), or a look at a fake platform's live deployment.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from tests.fakes.base import Answer as HttpAnswer
from tests.fakes.base import Incoming, LoopbackFake, json_answer

Answer = tuple[int, Any]  # (HTTP status, body: dict/list -> JSON, str -> text/html)


def fixed(status: int, body: Any = None) -> Callable[[], Answer]:
    return lambda: (status, body)


def sequence(answers: Iterable[Answer]) -> Callable[[], Answer]:
    """Each request takes the next answer; the last one repeats."""
    items = list(answers)
    lock = threading.Lock()

    def next_answer() -> Answer:
        with lock:
            return items.pop(0) if len(items) > 1 else items[0]

    return next_answer


@dataclass(frozen=True)
class Hit:
    """One request to a stand-in endpoint (all reads: a site and a health check are never written to)."""

    method: str
    path: str

    @property
    def is_write(self) -> bool:
        return False


class FakeApp(LoopbackFake[Hit]):
    """A loopback HTTP server (tests/fakes/base.py) whose routes are ``path -> callable() -> (status, body)``."""

    fake_name = "fake-app"
    server_version = "FakeApp/1.0"

    def __init__(self, routes: dict[str, Callable[[], Answer]] | None = None) -> None:
        self._init_loopback()
        self.routes: dict[str, Callable[[], Answer]] = dict(routes or {})
        #: the paths asked for, in order (a test may clear it)
        self.hits: list[str] = []
        self.url = ""

    def route(self, path: str, answer: Callable[[], Answer]) -> None:
        self.routes[path] = answer

    def serve(self, request: Incoming) -> HttpAnswer:
        path = request.path or "/"
        with self._lock:
            self.requests.append(Hit(request.method, path))
            self.hits.append(path)
        answer = self.routes.get(path)
        status, body = answer() if answer else (404, "not found")
        if isinstance(body, str):
            return HttpAnswer(status, {"Content-Type": "text/html; charset=utf-8"}, body.encode())
        return json_answer(status, body)

    def start(self) -> str:
        self.url = str(super().start())
        return self.url

    def __enter__(self) -> FakeApp:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
