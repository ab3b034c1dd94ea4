"""A minimal fake of GitHub's REST/GraphQL API in GHES layout, for ``pulumi preview`` with the github provider.

The github provider (pulumi-github, a bridge of integrations/terraform-provider-github) treats any
``base_url`` other than api.github.com / github.com / *.ghe.com as GitHub Enterprise Server: REST goes to
``<base_url>api/v3/...`` and GraphQL to ``<base_url>api/graphql``. So a provider configured with
``github.Provider(owner=..., token=..., base_url=fake.url)`` talks only to this server.

What the provider calls (measured with scripts/provide-plugins.sh's github plugin 6.15.0, i.e. upstream
terraform-provider-github v6.13.0 with its default legacy client, and pulumi preview 3.260.0):

* at configure time, with ``owner`` set: ``GET /api/v3/orgs/{owner}`` (200 = organization, 404 = user);
  with a token and no ``owner``: ``GET /api/v3/user`` first (the login becomes the owner);
* a preview that only CREATES resources (RepositoryEnvironment, RepositoryEnvironmentDeploymentPolicy,
  ActionsEnvironmentSecret, ActionsEnvironmentVariable, RepositoryRuleset, RepositoryFile, BranchProtection)
  calls nothing else;
* not exercised (read from the provider's code): refresh/read of existing resources, and a diff that changes
  ``repository`` of an existing one, call ``GET /api/v3/repos/{owner}/{repo}`` and resource endpoints; only
  the repository itself is modelled (``repos``); everything else answers 404 and lands in ``unhandled``.

Every request is recorded in ``requests`` (the Authorization header's value is never kept, only its kind).
``python -m tests.fakes.github_api --port 0`` prints the base URL and serves until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["FakeGitHub", "RecordedRequest", "main"]

REST_PREFIX = "/api/v3"
GRAPHQL_PATH = "/api/graphql"
_CREATED = "2024-01-01T00:00:00Z"


@dataclass
class RecordedRequest:
    """One HTTP request the fake received."""

    method: str
    path: str  # without the query string
    query: dict[str, list[str]]
    status: int
    auth_kind: str  # "token" | "bearer" | "basic" | "none" | "other"
    body: Any = field(default=None, repr=False)  # decoded JSON (or text) as sent; may hold secrets
    user_agent: str = ""
    at: float = field(default_factory=time.monotonic)

    @property
    def line(self) -> str:
        return f"{self.method} {self.path}"


class FakeGitHub:
    """Serves the few endpoints the github provider uses during ``pulumi preview``; records every request.

    ``orgs``: logins that are organizations (``GET /orgs/{x}`` answers 200, others 404 like a user account).
    ``login``: the authenticated user (``GET /user``). ``repos``: ``"owner/name"`` of existing repositories.
    ``token``: when set, requests whose token differs answer 401 "Bad credentials".
    """

    def __init__(
        self,
        *,
        orgs: Iterable[str] = ("maya-org",),
        login: str = "maya-bot",
        repos: Iterable[str] = (),
        token: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the fake only listens on loopback")
        self.orgs = {o.lower() for o in orgs}
        self.login = login
        self.repos = {r.lower() for r in repos}
        self.token = token
        self.requests: list[RecordedRequest] = []
        self.unhandled: list[RecordedRequest] = []
        #: pull-request comments (the preview comment, docs/previews.md): id -> {id, issue, body, user}
        self.comments: dict[int, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._host, self._port = host, port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------------------------------ lifecycle

    def start(self) -> FakeGitHub:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # no request log (could show secrets)
                pass

            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

            def do_PUT(self) -> None:
                fake._handle(self, "PUT")

            def do_PATCH(self) -> None:
                fake._handle(self, "PATCH")

            def do_DELETE(self) -> None:
                fake._handle(self, "DELETE")

        self._server = ThreadingHTTPServer((self._host, self._port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-github", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeGitHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeGitHub is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The provider's ``base_url`` (trailing slash included, as the provider expects)."""
        return f"http://{self._host}:{self.port}/"

    def request_lines(self) -> list[str]:
        with self._lock:
            return [r.line for r in self.requests]

    # ------------------------------------------------------------------------------------------- handling

    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(h.path)
        path = parts.path
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
        auth = h.headers.get("Authorization") or ""
        kind = auth.split(" ", 1)[0].lower() if auth else "none"
        if kind not in ("token", "bearer", "basic", "none"):
            kind = "other"

        authorized = self.token is None or auth.split(" ", 1)[-1] == self.token
        with self._lock:
            answer = self._comments_route(method, path, parse_qs(parts.query), body) if authorized else None
        status, payload, unhandled = answer if answer is not None else self._route(method, path, auth)
        rec = RecordedRequest(
            method=method,
            path=path,
            query=parse_qs(parts.query),
            status=status,
            auth_kind=kind,
            body=body,
            user_agent=h.headers.get("User-Agent") or "",
        )
        with self._lock:
            self.requests.append(rec)
            if unhandled:
                self.unhandled.append(rec)

        data = b"" if payload is None else json.dumps(payload).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json; charset=utf-8")
        h.send_header("Content-Length", str(len(data)))
        h.send_header("X-GitHub-Media-Type", "github.v3; format=json")
        h.send_header("X-RateLimit-Limit", "5000")
        h.send_header("X-RateLimit-Remaining", "4999")
        h.send_header("X-RateLimit-Reset", str(int(time.time()) + 3600))
        h.end_headers()
        if method != "HEAD":
            h.wfile.write(data)

    def _comments_route(
        self, method: str, path: str, query: dict[str, list[str]], body: Any
    ) -> tuple[int, Any, bool] | None:
        """Issue comments: list (paged), create, edit. None when ``path`` is not a comments endpoint."""
        rest = path[len(REST_PREFIX) :].rstrip("/") if path.startswith(REST_PREFIX + "/") else ""
        m = re.fullmatch(r"/repos/([^/]+)/([^/]+)/issues/([0-9]+)/comments", rest)
        if m and method == "GET":
            per_page = int(query.get("per_page", ["30"])[0])
            page = int(query.get("page", ["1"])[0])
            issue = f"{m.group(1)}/{m.group(2)}#{m.group(3)}".lower()
            items = [c for c in sorted(self.comments.values(), key=lambda c: c["id"]) if c["issue"] == issue]
            return 200, items[(page - 1) * per_page : page * per_page], False
        if m and method == "POST" and isinstance(body, dict) and isinstance(body.get("body"), str):
            comment_id = 1000 + len(self.comments) + 1
            issue = f"{m.group(1)}/{m.group(2)}#{m.group(3)}".lower()
            self.comments[comment_id] = {"id": comment_id, "issue": issue, "body": body["body"], "user": self.login}
            return 201, self.comments[comment_id], False
        m = re.fullmatch(r"/repos/([^/]+)/([^/]+)/issues/comments/([0-9]+)", rest)
        if m and method == "PATCH" and isinstance(body, dict) and isinstance(body.get("body"), str):
            comment = self.comments.get(int(m.group(3)))
            if comment is None:
                return _not_found()
            comment["body"] = body["body"]
            return 200, comment, False
        return None

    def _route(self, method: str, path: str, auth: str) -> tuple[int, Any, bool]:
        """(status, JSON payload, unhandled?) for one request."""
        if self.token is not None and auth.split(" ", 1)[-1] != self.token:
            return 401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}, False
        if path == GRAPHQL_PATH and method == "POST":
            return 200, {"data": None, "errors": [{"message": "fake github: GraphQL is not modelled"}]}, True
        if not path.startswith(REST_PREFIX + "/"):
            return _not_found(unhandled=True)
        rest = path[len(REST_PREFIX) :].rstrip("/") or "/"

        if method == "GET" and rest == "/user":
            return 200, self._user(self.login), False
        if method == "GET" and rest in ("/rate_limit",):
            core = {"limit": 5000, "remaining": 4999, "reset": int(time.time()) + 3600, "used": 1}
            return 200, {"resources": {"core": core, "graphql": core}, "rate": core}, False
        if method == "GET" and rest == "/meta":
            return 200, {"verifiable_password_authentication": False, "installed_version": "3.14.0"}, False
        m = re.fullmatch(r"/orgs/([^/]+)", rest)
        if method == "GET" and m:
            name = m.group(1)
            if name.lower() in self.orgs:
                return 200, self._org(name), False
            return _not_found()
        m = re.fullmatch(r"/users/([^/]+)", rest)
        if method == "GET" and m:
            name = m.group(1)
            return 200, (self._org(name) if name.lower() in self.orgs else self._user(name)), False
        m = re.fullmatch(r"/repos/([^/]+)/([^/]+)", rest)
        if method == "GET" and m:
            owner, name = m.groups()
            if f"{owner}/{name}".lower() in self.repos:
                return 200, self._repo(owner, name), False
            return _not_found()
        return _not_found(unhandled=True)

    # ------------------------------------------------------------------------------------------- payloads

    def _base(self) -> str:
        return f"http://{self._host}:{self.port}"

    def _user(self, login: str) -> dict[str, Any]:
        api = f"{self._base()}{REST_PREFIX}/users/{login}"
        return {
            "login": login,
            "id": _stable_id(login),
            "node_id": f"U_{_stable_id(login)}",
            "type": "User",
            "site_admin": False,
            "name": login,
            "url": api,
            "html_url": f"{self._base()}/{login}",
            "created_at": _CREATED,
            "updated_at": _CREATED,
        }

    def _org(self, login: str) -> dict[str, Any]:
        api = f"{self._base()}{REST_PREFIX}/orgs/{login}"
        return {
            "login": login,
            "id": _stable_id(login),
            "node_id": f"O_{_stable_id(login)}",
            "type": "Organization",
            "name": login,
            "description": "",
            "url": api,
            "repos_url": f"{api}/repos",
            "html_url": f"{self._base()}/{login}",
            "public_repos": len([r for r in self.repos if r.startswith(login.lower() + "/")]),
            "created_at": _CREATED,
            "updated_at": _CREATED,
            "plan": {"name": "team", "space": 976562499, "private_repos": 999999},
        }

    def _repo(self, owner: str, name: str) -> dict[str, Any]:
        full = f"{owner}/{name}"
        return {
            "id": _stable_id(full),
            "node_id": f"R_{_stable_id(full)}",
            "name": name,
            "full_name": full,
            "owner": self._org(owner) if owner.lower() in self.orgs else self._user(owner),
            "private": True,
            "visibility": "private",
            "default_branch": "main",
            "archived": False,
            "url": f"{self._base()}{REST_PREFIX}/repos/{full}",
            "html_url": f"{self._base()}/{full}",
            "created_at": _CREATED,
            "updated_at": _CREATED,
        }


def _not_found(*, unhandled: bool = False) -> tuple[int, Any, bool]:
    return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}, unhandled


def _stable_id(s: str) -> int:
    n = 0
    for ch in s.lower():
        n = (n * 131 + ord(ch)) % 2_000_000_000
    return n + 1


def main(argv: list[str] | None = None) -> int:
    """Run the fake standalone: prints its base URL on stdout and serves until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.github_api", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--org", action="append", default=None, help="an organization login (repeatable)")
    parser.add_argument("--login", default="maya-bot", help="the user GET /user answers")
    args = parser.parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("the fake only listens on loopback")
    fake = FakeGitHub(orgs=args.org or ("maya-org",), login=args.login, host=args.host, port=args.port)
    stop = threading.Event()

    def on_signal(_signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    fake.start()
    print(fake.url, flush=True)
    try:
        while not stop.wait(0.2):
            pass
    finally:
        fake.stop()
        for r in fake.requests:
            print(f"{r.status} {r.line}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
