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
        #: What runs already (``ops adopt`` discovers it; the provider reads it on import), keyed by
        #: ``owner/repo`` (lower case): environments by name, rulesets by id, files by (path, branch).
        self.environments: dict[str, dict[str, dict[str, Any]]] = {}
        self.rulesets: dict[str, dict[int, dict[str, Any]]] = {}
        self.files: dict[str, dict[tuple[str, str], str]] = {}
        self._lock = threading.Lock()
        self._host, self._port = host, port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------------------------------ seeding

    def add_environment(
        self,
        repo: str,
        name: str,
        *,
        reviewers: Iterable[tuple[str, int]] = (),
        secrets: Iterable[str] = (),
        variables: dict[str, str] | None = None,
        prevent_self_review: bool = True,
        can_admins_bypass: bool = False,
        branches: Iterable[str] = (),
    ) -> None:
        """A deployment environment with required reviewers (``("User"|"Team", id)``), secret names and
        variables, as the repository's settings page made it."""
        self.repos.add(repo.lower())
        rules = []
        if reviewers:
            rules.append(
                {
                    "id": _stable_id(f"{repo}:{name}:reviewers"),
                    "type": "required_reviewers",
                    "prevent_self_review": prevent_self_review,
                    "reviewers": [
                        {"type": kind, "reviewer": {"id": rid, "login": f"r{rid}"}} for kind, rid in reviewers
                    ],
                }
            )
        self.environments.setdefault(repo.lower(), {})[name] = {
            "id": _stable_id(f"{repo}:{name}"),
            "name": name,
            "protection_rules": rules,
            "can_admins_bypass": can_admins_bypass,
            "deployment_branch_policy": {"protected_branches": False, "custom_branch_policies": True},
            "created_at": _CREATED,
            "updated_at": _CREATED,
            "_secrets": list(secrets),
            "_variables": dict(variables or {}),
            "_branches": list(branches),
        }

    def add_ruleset(self, repo: str, name: str, branch: str) -> int:
        ruleset_id = _stable_id(f"{repo}:{name}") % 1_000_000
        self.repos.add(repo.lower())
        self.rulesets.setdefault(repo.lower(), {})[ruleset_id] = {
            "id": ruleset_id,
            "name": name,
            "target": "branch",
            "source_type": "Repository",
            "source": repo,
            "enforcement": "active",
            "conditions": {"ref_name": {"include": [f"refs/heads/{branch}"], "exclude": []}},
            "rules": [],
            "bypass_actors": [],
        }
        return ruleset_id

    def add_file(self, repo: str, path: str, branch: str, content: str) -> None:
        self.repos.add(repo.lower())
        self.files.setdefault(repo.lower(), {})[(path, branch)] = content

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

        status, payload, unhandled = self._route(method, path, auth, parse_qs(parts.query))
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

    def _route_repo_objects(self, method: str, rest: str, query: dict[str, list[str]]) -> tuple[int, Any, bool] | None:
        """Reads of the seeded environments, their secret/variable names, rulesets and files."""
        by_id = re.fullmatch(r"/repositories/(\d+)/(environments/.*)", rest)
        if by_id is not None:  # the secrets API addresses a repository by its numeric id
            full = next((r for r in self.repos if _stable_id(r) == int(by_id.group(1))), None)
            if full is None:
                return _not_found()
            rest = f"/repos/{full}/{by_id.group(2)}"
        m = re.fullmatch(r"/repos/([^/]+)/([^/]+)/(environments|rulesets|contents)(?:/(.*))?", rest)
        if method != "GET" or m is None:
            return None
        owner, name, kind, tail = m.groups()
        repo = f"{owner}/{name}".lower()
        if kind == "environments":
            envs = self.environments.get(repo, {})
            parts = (tail or "").split("/") if tail else []
            public = {k: v for k, v in envs.get(parts[0], {}).items() if not k.startswith("_")} if parts else {}
            if not parts:
                listed = [{k: v for k, v in e.items() if not k.startswith("_")} for e in envs.values()]
                return 200, {"total_count": len(listed), "environments": listed}, False
            if parts[0] not in envs:
                return _not_found()
            env = envs[parts[0]]
            if len(parts) == 1:
                return 200, public, False
            if parts[1:] == ["deployment-branch-policies"]:
                items = [
                    {"id": _stable_id(f"{repo}:{parts[0]}:{b}") % 100000, "name": b, "type": "branch"}
                    for b in env["_branches"]
                ]
                return 200, {"total_count": len(items), "branch_policies": items}, False
            if len(parts) == 3 and parts[1] == "deployment-branch-policies":
                match = [b for b in env["_branches"] if str(_stable_id(f"{repo}:{parts[0]}:{b}") % 100000) == parts[2]]
                if not match:
                    return _not_found()
                return 200, {"id": int(parts[2]), "name": match[0], "type": "branch"}, False
            if len(parts) == 3 and parts[1] == "variables":
                if parts[2] not in env["_variables"]:
                    return _not_found()
                value = env["_variables"][parts[2]]
                return 200, {"name": parts[2], "value": value, "created_at": _CREATED, "updated_at": _CREATED}, False
            if len(parts) == 3 and parts[1] == "secrets":
                if parts[2] not in env["_secrets"]:
                    return _not_found()
                return 200, {"name": parts[2], "created_at": _CREATED, "updated_at": _CREATED}, False
            if parts[1:] == ["secrets"]:
                items = [{"name": n, "created_at": _CREATED, "updated_at": _CREATED} for n in env["_secrets"]]
                return 200, {"total_count": len(items), "secrets": items}, False
            if parts[1:] == ["variables"]:
                items = [
                    {"name": n, "value": v, "created_at": _CREATED, "updated_at": _CREATED}
                    for n, v in env["_variables"].items()
                ]
                return 200, {"total_count": len(items), "variables": items}, False
            return _not_found(unhandled=True)
        if kind == "rulesets":
            rulesets = self.rulesets.get(repo, {})
            if not tail:
                return (
                    200,
                    [
                        {k: r[k] for k in ("id", "name", "target", "enforcement", "source", "source_type")}
                        for r in rulesets.values()
                    ],
                    False,
                )
            found = rulesets.get(int(tail)) if tail.isdigit() else None
            return (200, found, False) if found else _not_found()
        branch = (query.get("ref") or ["main"])[0]
        content = self.files.get(repo, {}).get((tail or "", branch))
        if content is None:
            return _not_found()
        import base64
        import hashlib

        return (
            200,
            {
                "type": "file",
                "encoding": "base64",
                "path": tail,
                "name": (tail or "").rsplit("/", 1)[-1],
                "sha": hashlib.sha1(content.encode()).hexdigest(),  # noqa: S324 - git's blob id scheme, not security
                "size": len(content),
                "content": base64.b64encode(content.encode()).decode(),
            },
            False,
        )

    def _route(
        self, method: str, path: str, auth: str, query: dict[str, list[str]] | None = None
    ) -> tuple[int, Any, bool]:
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
        found = self._route_repo_objects(method, rest, query or {})
        if found is not None:
            return found
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
