"""The HTTP side: one handler per request on a threading server bound to loopback."""

from __future__ import annotations

import contextlib
import socket
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.railway.base import GRAPHQL_PATH, _json_response, _Response, _text_response

if TYPE_CHECKING:
    from tests.fakes.railway.fake import FakeRailway
# ------------------------------------------------------------------------------------------------ HTTP


class _Handler(BaseHTTPRequestHandler):
    fake: FakeRailway
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: avoid 40 ms delayed-ACK stalls
    server_version = "FakeRailway/1.0"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        return  # silence: never echo anything to stderr

    def _send(self, resp: _Response) -> None:
        try:
            self.send_response(resp.status)
            for k, v in resp.headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(resp.body)))
            self.end_headers()
            self.wfile.write(resp.body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        body = self.rfile.read(length) if length > 0 else b""
        if url.path.rstrip("/") != GRAPHQL_PATH:
            self._send(_text_response(404, "Not Found"))
            return
        source = parse_qs(url.query).get("source", [None])[0]
        try:
            resp = self.fake._handle_http(body, self.headers, source)
        except Exception:  # pragma: no cover - a bug in the fake; kept quiet, recorded
            self.fake.internal_errors.append(traceback.format_exc())
            resp = _json_response(500, {"errors": [{"message": "fake railway internal error"}]})
        if resp.drop:
            self._drop()
        else:
            self._send(resp)

    def do_GET(self) -> None:
        if urlsplit(self.path).path == "/healthz":
            self._send(_text_response(200, "ok"))
        else:
            self._send(_json_response(405, {"errors": [{"message": "Use POST for GraphQL requests"}]}))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:  # keep stderr clean
        return
