"""Stand-ins for the stack's public endpoints on 127.0.0.1: the backend's /api/health and the frontend.

Each route answers from a callable, so a test (or the rehearsal) decides per request: a fixed answer,
a sequence (failing, then healthy), or a look at a fake platform's live deployment.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

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


class FakeApp:
    """A loopback HTTP server whose routes are ``path -> callable() -> (status, body)``."""

    def __init__(self, routes: dict[str, Callable[[], Answer]] | None = None) -> None:
        self.routes: dict[str, Callable[[], Answer]] = dict(routes or {})
        self.hits: list[str] = []
        self.url = ""
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def route(self, path: str, answer: Callable[[], Answer]) -> None:
        self.routes[path] = answer

    def start(self) -> str:
        app = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                path = urlsplit(self.path).path or "/"
                app.hits.append(path)
                answer = app.routes.get(path)
                status, body = answer() if answer else (404, "not found")
                if isinstance(body, str):
                    payload, kind = body.encode(), "text/html; charset=utf-8"
                else:
                    payload, kind = json.dumps(body).encode(), "application/json"
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)

    def __enter__(self) -> FakeApp:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
