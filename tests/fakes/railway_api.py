"""A stateful fake of Railway's public GraphQL API (``POST /graphql/v2``).

Used by the provider's contract tests and for a local rehearsal
(``python -m tests.fakes.railway_api --port 0`` prints the URL and serves until SIGTERM/SIGINT).

Design
------
* Railway's real public schema (the vendored SDL) is built once with graphql-core and every incoming
  document is parsed, validated and EXECUTED against it. Root fields of ``Query``/``Mutation`` are
  dispatched to the ``_q_*``/``_m_*`` methods below; nested objects are plain dicts (lazy relations and
  connections are callables ``(info, **args)``, which graphql-core's default resolver calls).
* Invalid documents (syntax, validation, variable coercion, unknown operation name) are answered with
  HTTP 400 and ``{"errors": [...]}`` (no ``data``) and recorded in ``FakeRailway.invalid_documents``.
* Resolver errors (not found, not authorized, refused) are answered with HTTP 200,
  ``{"data": null, "errors": [{"message", "locations", "path"}]}``, like Railway.
* Root fields the fake does not implement fail with ``fake railway: Query.x is not implemented`` and are
  recorded in ``FakeRailway.unimplemented``; non-null object fields the fake does not model fail the same
  way and are recorded in ``FakeRailway.unmodeled_fields``.
* One lock guards the whole state; a document is executed while holding it.
* Nothing here prints variable values or tokens (the HTTP request log is disabled).

Deployment status machine
-------------------------
A new deployment starts ``QUEUED``. Each ``deployment(id:)`` query (the root field only) counts as one poll
and advances it: with N = ``deploy_polls_to_finish``, poll k < N-1 shows ``BUILDING``, poll N-1 shows
``DEPLOYING`` and poll N shows the terminal status (``SUCCESS``, or ``FAILED``/``CRASHED`` when
``fail_next_deploy`` armed it). With N <= 0 deployments are created already terminal. When a deployment
reaches ``SUCCESS``, older ``SUCCESS`` deployments of the same service instance become ``REMOVED`` (they
then have ``canRollback: true``). Creating a deployment marks older in-flight deployments of the same
instance ``REMOVED`` (superseded). ``FakeRailway.advance_deployments()`` finishes every in-flight deployment.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import copy
import hashlib
import json
import os
import re
import secrets
import signal
import socket
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import graphql
from graphql import GraphQLError
from graphql.language import (
    DocumentNode,
    FieldNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
)
from graphql.utilities import get_operation_ast

__all__ = [
    "FakeRailway",
    "FakeState",
    "Fault",
    "RecordedRequest",
    "find_schema_path",
    "load_schema",
    "main",
]

GRAPHQL_PATH = "/graphql/v2"
NOT_AUTHORIZED = "Not Authorized"
POSTGRES_TEMPLATE_ID = "3e1b9c52-7a8e-4d0f-9b1a-5c2f0d6e8a41"
POSTGRES_IMAGE = "ghcr.io/railwayapp-templates/postgres-ssl:17"
POSTGRES_MOUNT = "/var/lib/postgresql/data"
DEFAULT_REGION = "us-west2"
REGIONS = [
    {"id": "us-west2", "name": "us-west2", "region": "us-west2", "location": "US West (California)", "country": "US"},
    {
        "id": "us-east4-eqdc4a",
        "name": "us-east4",
        "region": "us-east4-eqdc4a",
        "location": "US East (Virginia)",
        "country": "US",
    },
    {
        "id": "europe-west4-drams3a",
        "name": "europe-west4",
        "region": "europe-west4-drams3a",
        "location": "EU West (Amsterdam)",
        "country": "NL",
    },
    {
        "id": "asia-southeast1-eqsg3a",
        "name": "asia-southeast1",
        "region": "asia-southeast1-eqsg3a",
        "location": "Southeast Asia (Singapore)",
        "country": "SG",
    },
]
REGION_IDS = frozenset(r["id"] for r in REGIONS)
IN_FLIGHT = frozenset({"QUEUED", "INITIALIZING", "WAITING", "BUILDING", "DEPLOYING"})
FAULT_KINDS = (
    "http",
    "cloudflare_1015",
    "drop",
    "drop_after",
    "slow",
    "slow_commit",
    "graphql_error",
    "http_after",
    "graphql_error_after",
)
#: Faults whose request is carried out (committed) before the answer is lost or replaced by an error.
COMMITTED_FAULTS = frozenset({"drop_after", "slow", "slow_commit", "http_after", "graphql_error_after"})
#: Railway's answer when something failed on its side (HTTP 200).
GENERIC_ERROR = "Problem processing request"
BUILDERS = frozenset({"HEROKU", "NIXPACKS", "PAKETO", "RAILPACK"})
RESTART_POLICIES = frozenset({"ALWAYS", "NEVER", "ON_FAILURE"})
BACKUP_KINDS = {
    # kind -> (name, cron, retention seconds)
    "DAILY": ("Daily", "0 3 * * *", 6 * 24 * 3600),
    "WEEKLY": ("Weekly", "0 3 * * 0", 30 * 24 * 3600),
    "MONTHLY": ("Monthly", "0 3 1 * *", 90 * 24 * 3600),
}
# Root fields a project token (Project-Access-Token) may use; all are further limited to the token's
# own environment. Everything else answers "Not Authorized" for a project token.
PROJECT_TOKEN_FIELDS = frozenset(
    {
        "projectToken",
        "deployment",
        "deployments",
        "variables",
        "variablesForServiceDeployment",
        "serviceInstanceDeployV2",
        "serviceInstanceDeploy",
        "serviceInstanceRedeploy",
        "deploymentRedeploy",
        "deploymentRollback",
        "deploymentCancel",
        "deploymentRestart",
        "deploymentStop",
        "deploymentRemove",
        "environmentTriggersDeploy",
    }
)
_SIMPLE_INSTANCE_KEYS = frozenset(
    {
        "buildCommand",
        "builder",
        "cronSchedule",
        "dockerfilePath",
        "drainingSeconds",
        "healthcheckPath",
        "healthcheckTimeout",
        "ipv6EgressEnabled",
        "nixpacksPlan",
        "overlapSeconds",
        "preDeployCommand",
        "railwayConfigFile",
        "restartPolicyMaxRetries",
        "restartPolicyType",
        "rootDirectory",
        "sleepApplication",
        "startCommand",
        "watchPatterns",
    }
)
_BUILD_CONFIG_KEYS = ("builder", "buildCommand", "dockerfilePath", "watchPatterns", "nixpacksPlan")
_DEPLOY_CONFIG_KEYS = (
    "startCommand",
    "preDeployCommand",
    "healthcheckPath",
    "healthcheckTimeout",
    "cronSchedule",
    "restartPolicyType",
    "restartPolicyMaxRetries",
    "sleepApplication",
    "overlapSeconds",
    "drainingSeconds",
    "ipv6EgressEnabled",
)
_REF_RE = re.compile(r"\$\{\{\s*([^{}]*?)\s*\}\}")
_VAR_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_SHA_RE = re.compile(r"^[0-9a-fA-F]{7,40}$")


# --------------------------------------------------------------------------------------------- schema

_SCHEMA_CACHE: dict[str, graphql.GraphQLSchema] = {}
_SCHEMA_LOCK = threading.Lock()


def schema_path_candidates() -> list[Path]:
    """Where the vendored Railway SDL is looked for (first existing wins)."""
    here = Path(__file__).resolve()
    repo = here.parents[2]
    out: list[Path] = []
    env = os.environ.get("RAILWAY_SCHEMA_PATH")
    if env:
        out.append(Path(env))
    out.append(repo / "tests" / "railway" / "schema.graphql")  # vendored: a clone needs nothing beside it
    return out


def find_schema_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    if explicit is not None:
        return Path(explicit)
    for cand in schema_path_candidates():
        if cand.is_file():
            return cand
    raise FileNotFoundError(
        "Railway schema.graphql not found; set RAILWAY_SCHEMA_PATH or pass schema_path= "
        f"(looked in: {', '.join(str(c) for c in schema_path_candidates())})"
    )


def load_schema(path: str | os.PathLike[str] | None = None) -> graphql.GraphQLSchema:
    """Build (once per file) the real Railway schema. ``assume_valid`` because of the Team.id quirk."""
    p = str(find_schema_path(path).resolve())
    with _SCHEMA_LOCK:
        schema = _SCHEMA_CACHE.get(p)
        if schema is None:
            schema = graphql.build_schema(Path(p).read_text(encoding="utf-8"), assume_valid=True)
            _SCHEMA_CACHE[p] = schema
        return schema


# ---------------------------------------------------------------------------------------------- helpers


def _uid() -> str:
    return str(uuid.uuid4())


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _in(seconds: float) -> str:
    t = datetime.now(UTC) + timedelta(seconds=seconds)
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _slug(name: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return s or "service"


def _cursor(obj_id: str) -> str:
    return base64.urlsafe_b64encode(f"cursor:{obj_id}".encode()).decode()


def _connection(
    nodes: list[dict[str, Any]],
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
) -> dict[str, Any]:
    """A Relay connection over ``nodes`` (already ordered), cursors are opaque."""
    cursors = [_cursor(n["id"]) for n in nodes]
    start, end = 0, len(nodes)
    if after is not None:
        start = cursors.index(after) + 1 if after in cursors else len(nodes)
    if before is not None and before in cursors:
        end = cursors.index(before)
    if first is not None:
        if first < 0:
            raise GraphQLError("first must be non-negative")
        end = min(end, start + first)
    if last is not None:
        if last < 0:
            raise GraphQLError("last must be non-negative")
        start = max(start, end - last)
    window = list(range(start, max(start, end)))
    edges = [{"node": nodes[i], "cursor": cursors[i]} for i in window]
    return {
        "edges": edges,
        "pageInfo": {
            "hasNextPage": bool(window) and window[-1] < len(nodes) - 1,
            "hasPreviousPage": bool(window) and window[0] > 0,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


def _conn_field(make_nodes: Callable[[], list[dict[str, Any]]]) -> Callable[..., dict[str, Any]]:
    def resolve(_info: Any, **args: Any) -> dict[str, Any]:
        return _connection(
            make_nodes(),
            first=args.get("first"),
            after=args.get("after"),
            last=args.get("last"),
            before=args.get("before"),
        )

    return resolve


def _root_fields(document: DocumentNode, op: OperationDefinitionNode) -> list[str]:
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, graphql.FragmentDefinitionNode)}
    out: list[str] = []

    def walk(selection_set: Any, seen: frozenset[str]) -> None:
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                if sel.name.value not in out:
                    out.append(sel.name.value)
            elif isinstance(sel, InlineFragmentNode):
                walk(sel.selection_set, seen)
            elif isinstance(sel, FragmentSpreadNode):
                frag = fragments.get(sel.name.value)
                if frag is not None and sel.name.value not in seen:
                    walk(frag.selection_set, seen | {sel.name.value})

    walk(op.selection_set, frozenset())
    return out


def _template_region(service: Any) -> str | None:
    """The region a serialized template service asks for (``deploy.region`` or its multi-region config)."""
    deploy = service.get("deploy") if isinstance(service, Mapping) else None
    if not isinstance(deploy, Mapping):
        return None
    if isinstance(deploy.get("region"), str):
        return str(deploy["region"])
    regions = deploy.get("multiRegionConfig")
    return next(iter(regions), None) if isinstance(regions, Mapping) and regions else None


def _format_retry_after(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else format(value, "g")


# ------------------------------------------------------------------------------------------ public types


@dataclass
class RecordedRequest:
    """One HTTP request the fake received (faulted and invalid ones included)."""

    operation_name: str | None
    root_fields: list[str]
    is_mutation: bool
    http_status: int | None  # None when the connection was dropped
    variables: dict[str, Any] | None = field(repr=False)  # as sent (may hold secrets: never printed)
    source: str | None  # the ?source= query parameter
    auth_kind: str  # "bearer" | "project" | "none" | "invalid"
    fault: str | None = None  # the injected fault kind that hit this request
    query: str | None = field(default=None, repr=False)
    error_messages: list[str] = field(default_factory=list)
    at: float = field(default_factory=time.monotonic)


@dataclass
class Fault:
    kind: str
    match: str | None
    times: int
    status: int | None = None
    retry_after: float | None = None
    delay: float | None = None
    message: str | None = None
    extensions: dict[str, Any] | None = None


@dataclass(repr=False)
class FakeState:
    """Plain dicts; ids are uuid4 strings. Keys starting with "_" are fake-internal bookkeeping."""

    projects: dict[str, dict[str, Any]] = field(default_factory=dict)
    environments: dict[str, dict[str, Any]] = field(default_factory=dict)
    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    # (service_id, environment_id) -> settings
    instances: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    # (project_id, environment_id, service_id or None for shared) -> {name: value}
    variables: dict[tuple[str, str, str | None], dict[str, str]] = field(default_factory=dict)
    service_domains: dict[str, dict[str, Any]] = field(default_factory=dict)
    custom_domains: dict[str, dict[str, Any]] = field(default_factory=dict)
    triggers: dict[str, dict[str, Any]] = field(default_factory=dict)
    project_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)  # "token" holds the value
    deployments: dict[str, dict[str, Any]] = field(default_factory=dict)
    volumes: dict[str, dict[str, Any]] = field(default_factory=dict)
    volume_instances: dict[str, dict[str, Any]] = field(default_factory=dict)
    backups: dict[str, dict[str, Any]] = field(default_factory=dict)
    # volume_instance_id -> kind -> schedule
    backup_schedules: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    workflows: dict[str, dict[str, Any]] = field(default_factory=dict)
    tcp_proxies: dict[str, dict[str, Any]] = field(default_factory=dict)
    patches: dict[str, dict[str, Any]] = field(default_factory=dict)

    RESOURCE_TABLES = (
        "projects",
        "environments",
        "services",
        "instances",
        "variables",
        "service_domains",
        "custom_domains",
        "triggers",
        "project_tokens",
        "deployments",
        "volumes",
        "volume_instances",
        "backups",
        "backup_schedules",
        "tcp_proxies",
    )

    def __repr__(self) -> str:  # counts only: values may be secrets
        sizes = ", ".join(f"{t}={len(getattr(self, t))}" for t in self.RESOURCE_TABLES)
        return f"FakeState({sizes})"


@dataclass
class _Ctx:
    auth: str
    token: dict[str, Any] | None


@dataclass
class _Response:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    drop: bool = False


def _json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> _Response:
    h = {"Content-Type": "application/json; charset=utf-8"}
    h.update(headers or {})
    return _Response(status, h, json.dumps(payload).encode())


def _text_response(status: int, text: str, headers: dict[str, str] | None = None) -> _Response:
    h = {"Content-Type": "text/plain; charset=utf-8"}
    h.update(headers or {})
    return _Response(status, h, text.encode())


# Registry of implemented root fields: name -> method name.
_QUERIES: dict[str, str] = {}
_MUTATIONS: dict[str, str] = {}


def _query(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        _QUERIES[name] = fn.__name__
        return fn

    return deco


def _mutation(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        _MUTATIONS[name] = fn.__name__
        return fn

    return deco


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


# ------------------------------------------------------------------------------------------------ fake


class FakeRailway:
    """Stateful fake Railway GraphQL API served over real HTTP on 127.0.0.1."""

    def __init__(
        self,
        *,
        token: str = "fake-railway-token",  # noqa: S107 - a public fake credential
        workspace_id: str = "ws-fake",
        deploy_polls_to_finish: int = 2,
        workspace_name: str = "Fake Workspace",
        schema_path: str | os.PathLike[str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        template_workflow_polls: int = 2,
        template_delay_seconds: float = 1.0,
        unique_service_names: bool = False,
    ) -> None:
        #: Railway's template deploys are asynchronous: the service and its volume appear when the workflow
        #: completes — after this many ``workflowStatus`` polls, or this many seconds, whichever is first.
        self.template_workflow_polls = template_workflow_polls
        self.template_delay_seconds = template_delay_seconds
        #: Railway lets two services of a project share a name (which is how duplicates go unnoticed).
        self.unique_service_names = unique_service_names
        self.token = token
        self.workspace_id = workspace_id
        self.workspace_name = workspace_name
        self.deploy_polls_to_finish = deploy_polls_to_finish
        self.host = host
        self.port = port
        self.schema = load_schema(schema_path)
        self.state = FakeState()
        self.requests: list[RecordedRequest] = []
        self.invalid_documents: list[str] = []
        self.unimplemented: list[str] = []
        self.unmodeled_fields: list[str] = []
        self.internal_errors: list[str] = []
        self.faults: list[Fault] = []
        self.url: str = ""
        self._lock = threading.RLock()
        self._seq = 0
        self._fail_next: list[tuple[str, str | None]] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ----------------------------------------------------------------------------------- lifecycle

    def start(self) -> str:
        if self._server is not None:
            return self.url
        handler = type("FakeRailwayHandler", (_Handler,), {"fake": self})
        self._server = _Server((self.host, self.port), handler)
        port = self._server.server_port
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"http://{host}:{port}{GRAPHQL_PATH}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True, name="fake-railway"
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeRailway:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------------------------ counters

    def count(self, operation_or_root_field: str | None = None, *, mutations_only: bool = False) -> int:
        """Requests received (faulted ones included) whose operation name or a root field matches."""
        with self._lock:
            n = 0
            for r in self.requests:
                if mutations_only and not r.is_mutation:
                    continue
                if (
                    operation_or_root_field is None
                    or r.operation_name == operation_or_root_field
                    or operation_or_root_field in r.root_fields
                ):
                    n += 1
            return n

    def counts(self) -> dict[str, int]:
        """Requests by operation name (``"<anonymous>"`` when the document has none)."""
        with self._lock:
            out: dict[str, int] = {}
            for r in self.requests:
                key = r.operation_name or "<anonymous>"
                out[key] = out.get(key, 0) + 1
            return out

    def reset_counters(self) -> None:
        with self._lock:
            self.requests.clear()

    def is_empty(self) -> bool:
        with self._lock:
            return not any(getattr(self.state, t) for t in FakeState.RESOURCE_TABLES)

    # -------------------------------------------------------------------------------------- faults

    def inject(
        self,
        kind: str,
        *,
        match: str | None = None,
        times: int = 1,
        status: int | None = None,
        retry_after: float | None = None,
        delay: float | None = None,
        message: str | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> None:
        """Queue a fault; faults are consumed in order by the first matching requests.

        kinds: "http" (``status``, default 500; a 429 carries ``Retry-After`` when ``retry_after`` is
        given plus ``X-RateLimit-*`` headers and a JSON body; other statuses answer ``error code: <status>``
        as text), "cloudflare_1015" (429, text ``error code: 1015``, no Retry-After), "drop" (connection
        closed without a response, BEFORE anything is applied), "drop_after" (the document is executed and
        its effects kept, then the connection is closed without a response), "slow" (sleep ``delay``
        seconds, default 1, then answer normally), "graphql_error" (200, ``data: null``,
        ``errors: [{message, extensions}]``; default message "Internal server error").

        Faults that hit AFTER the write was committed (Railway did the work, the client never learns it):
        "drop_after" (above), "http_after" (the request is carried out, then answered with ``status``,
        default 500), "graphql_error_after" (carried out, then answered with Railway's generic
        ``"Problem processing request"``), "slow_commit" (= "slow": the request is held ``delay`` seconds
        and then carried out — with a delay longer than the client's timeout, the write lands after the
        client gave up).
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")
        if times < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            self.faults.append(Fault(kind, match, times, status, retry_after, delay, message, extensions))

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def _take_fault(self, op_name: str | None, root_fields: list[str]) -> Fault | None:
        for f in self.faults:
            if f.match is None or f.match == op_name or f.match in root_fields:
                f.times -= 1
                if f.times <= 0:
                    self.faults.remove(f)
                return f
        return None

    # ---------------------------------------------------------------------------- behind-our-back

    def delete_behind(self, kind: str, id: str) -> None:
        """Delete something as if a human did it in the dashboard (no deployments, no requests)."""
        with self._lock:
            s = self.state
            if kind == "project":
                self._require(s.projects, id, kind)
                self._delete_project(id)
            elif kind == "environment":
                self._require(s.environments, id, kind)
                self._delete_environment(id)
            elif kind == "service":
                self._require(s.services, id, kind)
                self._delete_service(id)
            elif kind in ("domain", "service_domain"):
                self._require(s.service_domains, id, kind)
                del s.service_domains[id]
            elif kind == "custom_domain":
                self._require(s.custom_domains, id, kind)
                del s.custom_domains[id]
            elif kind == "trigger":
                self._require(s.triggers, id, kind)
                del s.triggers[id]
            elif kind == "token":
                self._require(s.project_tokens, id, kind)
                del s.project_tokens[id]
            elif kind == "volume":
                self._require(s.volumes, id, kind)
                self._delete_volume(id)
            elif kind == "volume_instance":
                self._require(s.volume_instances, id, kind)
                self._delete_volume_instance(id)
            elif kind == "tcp_proxy":
                self._require(s.tcp_proxies, id, kind)
                del s.tcp_proxies[id]
            elif kind == "deployment":
                self._require(s.deployments, id, kind)
                del s.deployments[id]
            else:
                raise ValueError(f"unknown kind {kind!r}")

    @staticmethod
    def _require(table: Mapping[str, Any], id_: str, kind: str) -> None:
        if id_ not in table:
            raise KeyError(f"no {kind} with id {id_}")

    def set_variable_behind(
        self,
        project_id: str,
        environment_id: str,
        service_id: str | None,
        name: str,
        value: str | None,
    ) -> None:
        """Set (or with ``value=None`` delete) a variable without deploying anything."""
        with self._lock:
            if project_id not in self.state.projects or environment_id not in self.state.environments:
                raise KeyError("unknown project or environment")
            key = (project_id, environment_id, service_id)
            if value is None:
                self.state.variables.get(key, {}).pop(name, None)
                if not self.state.variables.get(key, True):
                    self.state.variables.pop(key, None)
            else:
                self.state.variables.setdefault(key, {})[name] = value

    def update_instance_behind(self, service_id: str, environment_id: str, **settings: Any) -> None:
        """Change service-instance settings, e.g. ``healthcheckPath="/x", numReplicas=3``."""
        with self._lock:
            inst = self.state.instances.get((service_id, environment_id))
            if inst is None:
                raise KeyError(f"no service instance ({service_id}, {environment_id})")
            try:
                self._apply_instance_settings(inst, settings)
            except GraphQLError as e:
                raise ValueError(e.message) from None

    def fail_next_deploy(self, status: str = "FAILED", service_id: str | None = None) -> None:
        """The next deployment created (for ``service_id``, or any) ends FAILED or CRASHED."""
        if status not in ("FAILED", "CRASHED"):
            raise ValueError("status must be FAILED or CRASHED")
        with self._lock:
            self._fail_next.append((status, service_id))

    def advance_deployments(self) -> None:
        """Finish every in-flight deployment (as if enough time passed)."""
        with self._lock:
            for d in sorted(self.state.deployments.values(), key=lambda d: d["_seq"]):
                if d["status"] in IN_FLIGHT:
                    self._finish_deployment(d)

    def verify_custom_domain(self, domain_id: str) -> None:
        """Mark a custom domain's DNS as propagated and its certificate valid."""
        with self._lock:
            cd = self.state.custom_domains[domain_id]
            st = cd["status"]
            st["verified"] = True
            st["certificateStatus"] = "CERTIFICATE_STATUS_TYPE_VALID"
            for rec in st["dnsRecords"]:
                rec["currentValue"] = rec["requiredValue"]
                rec["status"] = "DNS_RECORD_STATUS_PROPAGATED"

    def project_token_value(self, token_id: str) -> str:
        with self._lock:
            return str(self.state.project_tokens[token_id]["token"])

    # -------------------------------------------------------------------------------------- HTTP

    def _authenticate(self, headers: Any) -> tuple[str, dict[str, Any] | None]:
        auth = headers.get("Authorization")
        pat = headers.get("Project-Access-Token")
        if auth is not None:
            scheme, _, tok = auth.strip().partition(" ")
            if scheme.lower() == "bearer" and secrets.compare_digest(tok.strip().encode(), self.token.encode()):
                return "bearer", None
            return "invalid", None
        if pat is not None:
            with self._lock:
                for rec in self.state.project_tokens.values():
                    if secrets.compare_digest(str(rec["token"]).encode(), pat.strip().encode()):
                        return "project", rec
            return "invalid", None
        return "none", None

    def _handle_http(self, body: bytes, headers: Any, source: str | None) -> _Response:
        auth_kind, token_rec = self._authenticate(headers)
        body_text = body.decode("utf-8", errors="replace")
        try:
            payload = json.loads(body_text) if body_text.strip() else None
        except ValueError:
            payload = None
        query = payload.get("query") if isinstance(payload, dict) else None
        variables = payload.get("variables") if isinstance(payload, dict) else None
        op_name_sent = payload.get("operationName") if isinstance(payload, dict) else None
        if not isinstance(op_name_sent, str):
            op_name_sent = None

        document: DocumentNode | None = None
        syntax_error: GraphQLError | None = None
        if isinstance(query, str):
            try:
                document = graphql.parse(query)
            except GraphQLError as e:
                syntax_error = e
        op = get_operation_ast(document, op_name_sent) if document is not None else None
        op_name = op.name.value if op is not None and op.name is not None else op_name_sent
        root_fields = _root_fields(document, op) if document is not None and op is not None else []
        is_mutation = op is not None and op.operation == OperationType.MUTATION

        rec = RecordedRequest(
            operation_name=op_name,
            root_fields=root_fields,
            is_mutation=is_mutation,
            http_status=None,
            variables=variables if isinstance(variables, dict) else None,
            source=source,
            auth_kind=auth_kind,
            query=query if isinstance(query, str) else body_text,
        )
        with self._lock:
            self.requests.append(rec)
            fault = self._take_fault(op_name, root_fields)
        drop_after = False
        if fault is not None:
            rec.fault = fault.kind
            early = self._fault_response(fault)
            if early is not None:
                rec.http_status = None if early.drop else early.status
                return early
            if fault.kind in ("slow", "slow_commit"):
                time.sleep(fault.delay if fault.delay is not None else 1.0)
            drop_after = fault.kind == "drop_after"

        resp = self._process(
            rec, payload, query, variables, op_name_sent, document, syntax_error, op, auth_kind, token_rec
        )
        rec.http_status = resp.status
        if drop_after:
            rec.http_status = None
            return _Response(drop=True)
        if fault is not None and fault.kind == "http_after":
            rec.http_status = fault.status or 500
            return _text_response(rec.http_status, fault.message or f"error code: {rec.http_status}")
        if fault is not None and fault.kind == "graphql_error_after":
            ext = fault.extensions if fault.extensions is not None else {"code": "INTERNAL_SERVER_ERROR"}
            return _json_response(
                200, {"data": None, "errors": [{"message": fault.message or GENERIC_ERROR, "extensions": ext}]}
            )
        return resp

    def _fault_response(self, fault: Fault) -> _Response | None:
        if fault.kind == "drop":
            return _Response(drop=True)
        if fault.kind == "cloudflare_1015":
            return _text_response(429, "error code: 1015")
        if fault.kind == "graphql_error":
            ext = fault.extensions if fault.extensions is not None else {"code": "INTERNAL_SERVER_ERROR"}
            return _json_response(
                200,
                {"data": None, "errors": [{"message": fault.message or "Internal server error", "extensions": ext}]},
            )
        if fault.kind == "http":
            status = fault.status or 500
            if status == 429:
                hdrs = {"X-RateLimit-Limit": "1000", "X-RateLimit-Remaining": "0"}
                if fault.retry_after is not None:
                    hdrs["Retry-After"] = _format_retry_after(fault.retry_after)
                    hdrs["X-RateLimit-Reset"] = str(int(time.time() + fault.retry_after))
                msg = fault.message or "Rate limit exceeded"
                return _json_response(429, {"errors": [{"message": msg, "extensions": {"code": "RATE_LIMITED"}}]}, hdrs)
            hdrs = {}
            if fault.retry_after is not None:
                hdrs["Retry-After"] = _format_retry_after(fault.retry_after)
            return _text_response(status, fault.message or f"error code: {status}", hdrs)
        return None  # slow / the *_after faults: handled by the caller

    def _invalid(self, rec: RecordedRequest, document_text: str, errors: list[dict[str, Any]]) -> _Response:
        with self._lock:
            self.invalid_documents.append(document_text)
        rec.error_messages = [str(e.get("message")) for e in errors]
        return _json_response(400, {"errors": errors})

    def _process(
        self,
        rec: RecordedRequest,
        payload: Any,
        query: Any,
        variables: Any,
        op_name_sent: str | None,
        document: DocumentNode | None,
        syntax_error: GraphQLError | None,
        op: OperationDefinitionNode | None,
        auth_kind: str,
        token_rec: dict[str, Any] | None,
    ) -> _Response:
        text = query if isinstance(query, str) else (rec.query or "")
        if not isinstance(payload, dict):
            return self._invalid(rec, text, [{"message": "POST body sent invalid JSON."}])
        if not isinstance(query, str) or not query.strip():
            return self._invalid(
                rec, text, [{"message": "Must provide query string.", "extensions": {"code": "BAD_REQUEST"}}]
            )
        if variables is not None and not isinstance(variables, dict):
            return self._invalid(
                rec,
                text,
                [{"message": "Variables must be provided as an Object where each property is a variable value."}],
            )
        if syntax_error is not None or document is None:
            err = syntax_error.formatted if syntax_error is not None else {"message": "Syntax Error"}
            return self._invalid(rec, text, [{**err, "extensions": {"code": "GRAPHQL_PARSE_FAILED"}}])
        errors = graphql.validate(self.schema, document)
        if errors:
            return self._invalid(
                rec, text, [{**e.formatted, "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}} for e in errors]
            )
        if op is None:
            msg = (
                f"Unknown operation named '{op_name_sent}'."
                if op_name_sent
                else "Must provide operation name if query contains multiple operations."
            )
            return self._invalid(rec, text, [{"message": msg, "extensions": {"code": "BAD_REQUEST"}}])
        if op.operation == OperationType.SUBSCRIPTION:
            return self._invalid(
                rec, text, [{"message": "Subscriptions are not supported over HTTP POST (use the websocket endpoint)"}]
            )
        if auth_kind not in ("bearer", "project"):
            rec.error_messages = [NOT_AUTHORIZED]
            return _json_response(200, {"data": None, "errors": [{"message": NOT_AUTHORIZED}]})

        ctx = _Ctx(auth_kind, token_rec)
        with self._lock:
            self._advance_workflows()
            result = graphql.execute(
                self.schema,
                document,
                root_value=None,
                context_value=ctx,
                variable_values=variables,
                operation_name=op_name_sent,
                field_resolver=self._resolve,
            )
        assert isinstance(result, graphql.ExecutionResult)
        errs = list(result.errors or [])
        if errs and result.data is None and all(e.path is None for e in errs):
            # request errors (variable coercion etc.): the document never ran
            return self._invalid(rec, text, [{**e.formatted, "extensions": {"code": "BAD_USER_INPUT"}} for e in errs])
        out: dict[str, Any] = {"data": result.data}
        if errs:
            out["errors"] = [e.formatted for e in errs]
            rec.error_messages = [e.message for e in errs]
        return _json_response(200, out)

    # --------------------------------------------------------------------------------- resolution

    def _resolve(self, source: Any, info: graphql.GraphQLResolveInfo, **args: Any) -> Any:
        if info.path.prev is None:
            parent = info.parent_type.name
            table = _MUTATIONS if parent == "Mutation" else _QUERIES
            method = table.get(info.field_name)
            if method is None:
                self.unimplemented.append(f"{parent}.{info.field_name}")
                raise GraphQLError(f"fake railway: {parent}.{info.field_name} is not implemented")
            ctx: _Ctx = info.context
            if ctx.auth == "project" and info.field_name not in PROJECT_TOKEN_FIELDS:
                raise GraphQLError(NOT_AUTHORIZED)
            return getattr(self, method)(info, **args)
        if isinstance(source, Mapping):
            name = info.field_name
            if name in source:
                value = source[name]
                return value(info, **args) if callable(value) else value
            if graphql.is_non_null_type(info.return_type):
                key = f"{info.parent_type.name}.{name}"
                self.unmodeled_fields.append(key)
                raise GraphQLError(f"fake railway: {key} is not modeled")
            return None
        return graphql.default_field_resolver(source, info, **args)

    # ------------------------------------------------------------------------------ small helpers

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    @staticmethod
    def _scope_env(info: graphql.GraphQLResolveInfo, environment_id: str | None) -> None:
        ctx: _Ctx = info.context
        if ctx.auth == "project":
            assert ctx.token is not None
            if environment_id is None or environment_id != ctx.token["environmentId"]:
                raise GraphQLError(NOT_AUTHORIZED)

    def _get_project(self, pid: Any) -> dict[str, Any]:
        p = self.state.projects.get(pid) if isinstance(pid, str) else None
        if p is None:
            raise GraphQLError("Project not found")
        return p

    def _get_env(self, eid: Any, project_id: str | None = None) -> dict[str, Any]:
        e = self.state.environments.get(eid) if isinstance(eid, str) else None
        if e is None or (project_id is not None and e["projectId"] != project_id):
            raise GraphQLError("Environment not found")
        return e

    def _get_service(self, sid: Any, project_id: str | None = None) -> dict[str, Any]:
        s = self.state.services.get(sid) if isinstance(sid, str) else None
        if s is None or (project_id is not None and s["projectId"] != project_id):
            raise GraphQLError("Service not found")
        return s

    def _get_instance(self, service_id: Any, environment_id: Any) -> dict[str, Any]:
        svc = self._get_service(service_id)
        self._get_env(environment_id, svc["projectId"])
        inst = self.state.instances.get((service_id, environment_id))
        if inst is None:
            raise GraphQLError("ServiceInstance not found")
        return inst

    def _get_deployment(self, did: Any) -> dict[str, Any]:
        d = self.state.deployments.get(did) if isinstance(did, str) else None
        if d is None:
            raise GraphQLError("Deployment not found")
        return d

    @staticmethod
    def _get(table: dict[str, dict[str, Any]], id_: Any, message: str) -> dict[str, Any]:
        obj = table.get(id_) if isinstance(id_, str) else None
        if obj is None:
            raise GraphQLError(message)
        return obj

    def _envs_of(self, project_id: str) -> list[dict[str, Any]]:
        envs = [e for e in self.state.environments.values() if e["projectId"] == project_id]
        return sorted(envs, key=lambda e: e["_seq"])

    def _services_of(self, project_id: str) -> list[dict[str, Any]]:
        svcs = [s for s in self.state.services.values() if s["projectId"] == project_id]
        return sorted(svcs, key=lambda s: s["_seq"])

    def _primary_env_id(self, project_id: str) -> str | None:
        for e in self._envs_of(project_id):
            if not e["isEphemeral"]:
                return str(e["id"])
        return None

    def _triggers_of(self, service_id: str, environment_id: str) -> list[dict[str, Any]]:
        ts = [
            t
            for t in self.state.triggers.values()
            if t["serviceId"] == service_id and t["environmentId"] == environment_id
        ]
        return sorted(ts, key=lambda t: t["_seq"])

    def _service_domains_of(self, service_id: str, environment_id: str) -> list[dict[str, Any]]:
        ds = [
            d
            for d in self.state.service_domains.values()
            if d["serviceId"] == service_id and d["environmentId"] == environment_id
        ]
        return sorted(ds, key=lambda d: d["_seq"])

    def _custom_domains_of(self, service_id: str, environment_id: str) -> list[dict[str, Any]]:
        ds = [
            d
            for d in self.state.custom_domains.values()
            if d["serviceId"] == service_id and d["environmentId"] == environment_id
        ]
        return sorted(ds, key=lambda d: d["_seq"])

    def _deployments_of(self, service_id: str, environment_id: str) -> list[dict[str, Any]]:
        ds = [
            d
            for d in self.state.deployments.values()
            if d["serviceId"] == service_id and d["environmentId"] == environment_id
        ]
        return sorted(ds, key=lambda d: d["_seq"], reverse=True)

    def _new_workflow(self, kind: str, **extra: Any) -> str:
        wid = _uid()
        self.state.workflows[wid] = {
            "id": wid,
            "kind": kind,
            "polls": 0,
            "status": "Running",
            "error": None,
            "_polls_needed": 2,
            "_due": None,
            **extra,
        }
        return wid

    def _complete_workflow(self, wf: dict[str, Any]) -> None:
        wf["status"] = "Complete"
        on_done = wf.get("_on_complete")
        if on_done is not None:
            on_done()

    def _advance_workflows(self) -> None:
        """Workflows that are due by time complete whether or not anyone polls them (like Railway's)."""
        now = time.monotonic()
        for wf in list(self.state.workflows.values()):
            if wf["status"] == "Running" and wf.get("_due") is not None and now >= wf["_due"]:
                self._complete_workflow(wf)

    def finish_workflows(self) -> None:
        """Complete every running workflow now (as if enough time passed)."""
        with self._lock:
            for wf in list(self.state.workflows.values()):
                if wf["status"] == "Running":
                    self._complete_workflow(wf)

    # -------------------------------------------------------------------------------------- views

    def _v_workspace(self) -> dict[str, Any]:
        return {"id": self.workspace_id, "name": self.workspace_name}

    def _v_project(self, p: dict[str, Any]) -> dict[str, Any]:
        pid = p["id"]

        def envs(_info: Any, **a: Any) -> dict[str, Any]:
            items = self._envs_of(pid)
            if a.get("isEphemeral") is not None:
                items = [e for e in items if e["isEphemeral"] == a["isEphemeral"]]
            if a.get("sort") == "desc":
                items = list(reversed(items))
            return _connection(
                [self._v_env(e) for e in items], a.get("first"), a.get("after"), a.get("last"), a.get("before")
            )

        def base_env(_info: Any) -> dict[str, Any] | None:
            e = self.state.environments.get(p.get("baseEnvironmentId") or "")
            return self._v_env(e) if e else None

        return {
            **{k: v for k, v in p.items() if not k.startswith("_")},
            "teamId": p["workspaceId"],
            "primaryEnvironmentId": lambda _i: self._primary_env_id(pid),
            "environments": envs,
            "services": _conn_field(lambda: [self._v_service(s) for s in self._services_of(pid)]),
            "volumes": _conn_field(
                lambda: [
                    self._v_volume(v)
                    for v in sorted(self.state.volumes.values(), key=lambda v: v["_seq"])
                    if v["projectId"] == pid
                ]
            ),
            "buckets": _conn_field(list),
            "baseEnvironment": base_env,
            "workspace": lambda _i: self._v_workspace() if p["workspaceId"] == self.workspace_id else None,
            "featureFlags": [],
            "members": [],
        }

    def _v_env(self, e: dict[str, Any]) -> dict[str, Any]:
        eid = e["id"]

        def instances() -> list[dict[str, Any]]:
            keys = [k for k in self.state.instances if k[1] == eid]
            keys.sort(key=lambda k: self.state.instances[k]["_seq"])
            return [self._v_instance(k) for k in keys]

        def volume_instances() -> list[dict[str, Any]]:
            vis = [vi for vi in self.state.volume_instances.values() if vi["environmentId"] == eid]
            return [self._v_volume_instance(vi) for vi in sorted(vis, key=lambda v: v["_seq"])]

        def deployments() -> list[dict[str, Any]]:
            ds = [d for d in self.state.deployments.values() if d["environmentId"] == eid and not d["_deleted"]]
            return [self._v_deployment(d) for d in sorted(ds, key=lambda d: d["_seq"], reverse=True)]

        def triggers() -> list[dict[str, Any]]:
            ts = [t for t in self.state.triggers.values() if t["environmentId"] == eid]
            return [self._v_trigger(t) for t in sorted(ts, key=lambda t: t["_seq"])]

        def source_env(_info: Any) -> dict[str, Any] | None:
            src = self.state.environments.get(e.get("sourceEnvironmentId") or "")
            return self._v_env(src) if src else None

        return {
            **{k: v for k, v in e.items() if not k.startswith("_") and k != "sourceEnvironmentId"},
            "canAccess": True,
            "canvasGroupRefs": {},
            "meta": None,
            "unmergedChangesCount": 0,
            "config": lambda _i, decryptVariables=None: self._env_config(eid, bool(decryptVariables)),
            "configEtag": lambda _i: self._config_etag(eid),
            "sourceEnvironment": source_env,
            "serviceInstances": _conn_field(instances),
            "volumeInstances": _conn_field(volume_instances),
            "deployments": _conn_field(deployments),
            "deploymentTriggers": _conn_field(triggers),
        }

    def _v_service(self, s: dict[str, Any]) -> dict[str, Any]:
        sid = s["id"]

        def instances() -> list[dict[str, Any]]:
            keys = [k for k in self.state.instances if k[0] == sid]
            keys.sort(key=lambda k: self.state.instances[k]["_seq"])
            return [self._v_instance(k) for k in keys]

        def deployments() -> list[dict[str, Any]]:
            ds = [d for d in self.state.deployments.values() if d["serviceId"] == sid and not d["_deleted"]]
            return [self._v_deployment(d) for d in sorted(ds, key=lambda d: d["_seq"], reverse=True)]

        def repo_triggers() -> list[dict[str, Any]]:
            ts = [t for t in self.state.triggers.values() if t["serviceId"] == sid]
            return [self._v_trigger(t) for t in sorted(ts, key=lambda t: t["_seq"])]

        return {
            **{k: v for k, v in s.items() if not k.startswith("_")},
            "featureFlags": [],
            "hasHiddenRegistryCredentialsFromTemplate": False,
            "isRestricted": False,
            "project": lambda _i: self._v_project(self._get_project(s["projectId"])),
            "serviceInstances": _conn_field(instances),
            "deployments": _conn_field(deployments),
            "repoTriggers": _conn_field(repo_triggers),
        }

    def _v_instance(self, key: tuple[str, str]) -> dict[str, Any]:
        inst = self.state.instances[key]
        sid, eid = key
        mrc = inst["multiRegionConfig"]
        primary = next(iter(mrc), None)

        def latest(_info: Any) -> dict[str, Any] | None:
            ds = [d for d in self._deployments_of(sid, eid) if not d["_deleted"]]
            return self._v_deployment(ds[0]) if ds else None

        def active(_info: Any) -> list[dict[str, Any]]:
            return [self._v_deployment(d) for d in self._deployments_of(sid, eid) if d["status"] == "SUCCESS"]

        def service_name(_info: Any) -> str:
            return str(self._get_service(sid)["name"])

        return {
            **{k: copy.deepcopy(v) for k, v in inst.items() if not k.startswith("_") and k != "multiRegionConfig"},
            "serviceName": service_name,
            "numReplicas": mrc[primary]["numReplicas"] if primary else 0,
            "region": primary,
            "nextCronRunAt": None,
            "isUpdatable": False,
            "edgeConfig": None,
            "railpackInfo": None,
            "service": lambda _i: self._v_service(self._get_service(sid)),
            "latestDeployment": latest,
            "activeDeployments": active,
            "domains": lambda _i: self._v_all_domains(sid, eid),
        }

    def _v_all_domains(self, service_id: str, environment_id: str) -> dict[str, Any]:
        return {
            "serviceDomains": [self._v_service_domain(d) for d in self._service_domains_of(service_id, environment_id)],
            "customDomains": [self._v_custom_domain(d) for d in self._custom_domains_of(service_id, environment_id)],
        }

    def _v_service_domain(self, d: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in d.items() if not k.startswith("_")}

    def _v_custom_domain(self, d: dict[str, Any]) -> dict[str, Any]:
        out = {k: copy.deepcopy(v) for k, v in d.items() if not k.startswith("_")}
        out["isRailwayDomain"] = False
        return out

    def _v_trigger(self, t: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in t.items() if not k.startswith("_")}

    def _v_token(self, t: dict[str, Any]) -> dict[str, Any]:
        value = str(t["token"])
        return {
            "id": t["id"],
            "name": t["name"],
            "projectId": t["projectId"],
            "environmentId": t["environmentId"],
            "createdAt": t["createdAt"],
            "displayToken": value[:4] + "*" * 12,
            "project": lambda _i: self._v_project(self._get_project(t["projectId"])),
            "environment": lambda _i: self._v_env(self._get_env(t["environmentId"])),
        }

    def _v_deployment(self, d: dict[str, Any]) -> dict[str, Any]:
        def instances(_info: Any) -> list[dict[str, Any]]:
            n = d["_replicas"]
            status = {
                "SUCCESS": "RUNNING",
                "CRASHED": "CRASHED",
                "DEPLOYING": "INITIALIZING",
                "SLEEPING": "STOPPED",
            }.get(d["status"])
            if status is None:
                return []
            if status == "CRASHED":
                n = 1
            return [{"id": str(uuid.uuid5(uuid.NAMESPACE_OID, f"{d['id']}/{i}")), "status": status} for i in range(n)]

        return {
            **{k: copy.deepcopy(v) for k, v in d.items() if not k.startswith("_")},
            "canRedeploy": d["status"] not in IN_FLIGHT,
            "canRollback": bool(d["_succeeded"]) and d["status"] == "REMOVED" and not d["_deleted"],
            "suggestAddServiceDomain": False,
            "snapshotId": None,
            "creator": None,
            "diagnosis": None,
            "sockets": [],
            "instances": instances,
            "service": lambda _i: self._v_service(self._get_service(d["serviceId"])),
            "environment": lambda _i: self._v_env(self._get_env(d["environmentId"])),
        }

    def _v_volume(self, v: dict[str, Any]) -> dict[str, Any]:
        vid = v["id"]
        return {
            **{k: val for k, val in v.items() if not k.startswith("_")},
            "project": lambda _i: self._v_project(self._get_project(v["projectId"])),
            "volumeInstances": _conn_field(
                lambda: [
                    self._v_volume_instance(vi)
                    for vi in sorted(self.state.volume_instances.values(), key=lambda x: x["_seq"])
                    if vi["volumeId"] == vid
                ]
            ),
        }

    def _v_volume_instance(self, vi: dict[str, Any]) -> dict[str, Any]:
        return {
            **{k: v for k, v in vi.items() if not k.startswith("_")},
            "volume": lambda _i: self._v_volume(self._get(self.state.volumes, vi["volumeId"], "Volume not found")),
            "environment": lambda _i: self._v_env(self._get_env(vi["environmentId"])),
            "service": lambda _i: self._v_service(self._get_service(vi["serviceId"])),
        }

    def _v_backup(self, b: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in b.items() if not k.startswith("_")}

    # ------------------------------------------------------------------------- variables/render

    def _system_vars(self, service_id: str, environment_id: str) -> dict[str, str]:
        svc = self.state.services.get(service_id)
        env = self.state.environments.get(environment_id)
        if svc is None or env is None:
            return {}
        proj = self.state.projects.get(svc["projectId"], {})
        doms = self._service_domains_of(service_id, environment_id)
        return {
            "RAILWAY_PRIVATE_DOMAIN": f"{_slug(svc['name'])}.railway.internal",
            "RAILWAY_PUBLIC_DOMAIN": doms[0]["domain"] if doms else "",
            "RAILWAY_SERVICE_NAME": svc["name"],
            "RAILWAY_SERVICE_ID": service_id,
            "RAILWAY_ENVIRONMENT_NAME": env["name"],
            "RAILWAY_ENVIRONMENT_ID": environment_id,
            "RAILWAY_PROJECT_NAME": str(proj.get("name", "")),
            "RAILWAY_PROJECT_ID": svc["projectId"],
        }

    def _render(self, project_id: str, environment_id: str, service_id: str | None, value: str, depth: int = 0) -> str:
        def lookup(ref: str) -> tuple[str | None, str | None]:
            scope, _, name = ref.rpartition(".")
            if not scope:
                if service_id is None:
                    return self.state.variables.get((project_id, environment_id, None), {}).get(name), None
                own = self.state.variables.get((project_id, environment_id, service_id), {})
                if name in own:
                    return own[name], service_id
                return self._system_vars(service_id, environment_id).get(name), service_id
            if scope == "shared":
                return self.state.variables.get((project_id, environment_id, None), {}).get(name), None
            target = next((s for s in self._services_of(project_id) if s["name"] == scope), None)
            if target is None:
                return None, None
            tvars = self.state.variables.get((project_id, environment_id, target["id"]), {})
            if name in tvars:
                return tvars[name], target["id"]
            return self._system_vars(target["id"], environment_id).get(name), target["id"]

        def repl(m: re.Match[str]) -> str:
            raw, owner = lookup(m.group(1))
            if raw is None:
                return ""
            if depth >= 10:
                return raw
            return self._render(project_id, environment_id, owner, raw, depth + 1)

        return _REF_RE.sub(repl, value)

    def _set_vars(
        self,
        project_id: str,
        environment_id: str,
        service_id: str | None,
        new: Mapping[str, Any],
        *,
        replace: bool = False,
    ) -> None:
        for name, value in new.items():
            if not isinstance(name, str) or not _VAR_NAME_RE.match(name):
                raise GraphQLError(f"Invalid variable name: {name!r}")
            if not isinstance(value, str):
                raise GraphQLError(f"Variable {name} must be a string")
        key = (project_id, environment_id, service_id)
        current = {} if replace else dict(self.state.variables.get(key, {}))
        current.update(new)
        if current:
            self.state.variables[key] = current
        else:
            self.state.variables.pop(key, None)

    def _variable_scope(self, info: Any, project_id: Any, environment_id: Any, service_id: Any) -> None:
        ctx: _Ctx = info.context
        if ctx.auth == "project":
            assert ctx.token is not None
            if project_id != ctx.token["projectId"]:
                raise GraphQLError(NOT_AUTHORIZED)
            self._scope_env(info, environment_id)
        self._get_project(project_id)
        self._get_env(environment_id, project_id)
        if service_id is not None:
            self._get_instance(service_id, environment_id)

    def _deploy_after_variable_change(
        self, project_id: str, environment_id: str, service_id: str | None, names: Iterable[str]
    ) -> None:
        if service_id is not None:
            self._new_deployment(service_id, environment_id, "variables")
            return
        wanted = set(names)
        for (sid, eid), _inst in list(self.state.instances.items()):
            if eid != environment_id:
                continue
            vals = self.state.variables.get((project_id, eid, sid), {}).values()
            refs = {m.group(1) for v in vals for m in _REF_RE.finditer(v)}
            if any(f"shared.{n}" in refs for n in wanted):
                self._new_deployment(sid, eid, "variables")

    # ------------------------------------------------------------------------------ deployments

    def _manifest(self, inst: dict[str, Any]) -> dict[str, Any]:
        return {
            "source": copy.deepcopy(inst.get("source")),
            "build": {k: copy.deepcopy(inst.get(k)) for k in _BUILD_CONFIG_KEYS},
            "deploy": {
                **{k: copy.deepcopy(inst.get(k)) for k in _DEPLOY_CONFIG_KEYS},
                "multiRegionConfig": copy.deepcopy(inst["multiRegionConfig"]),
                "numReplicas": sum(c["numReplicas"] for c in inst["multiRegionConfig"].values()),
                "region": next(iter(inst["multiRegionConfig"]), None),
            },
        }

    def _new_deployment(
        self,
        service_id: str,
        environment_id: str,
        reason: str,
        *,
        commit_sha: str | None = None,
        copy_of: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        svc = self.state.services[service_id]
        inst = self.state.instances[(service_id, environment_id)]
        for old in self.state.deployments.values():
            if old["serviceId"] == service_id and old["environmentId"] == environment_id and old["status"] in IN_FLIGHT:
                self._set_status(old, "REMOVED")
        final = "SUCCESS"
        for i, (st, sid) in enumerate(self._fail_next):
            if sid is None or sid == service_id:
                final = st
                del self._fail_next[i]
                break
        if copy_of is not None:
            meta = copy.deepcopy(copy_of["meta"]) or {}
            meta["reason"] = reason
            meta["sourceDeploymentId"] = copy_of["id"]
        else:
            meta = {"reason": reason, "serviceManifest": self._manifest(inst)}
            src = inst.get("source") or {}
            if src.get("image"):
                meta["image"] = src["image"]
            if src.get("repo"):
                trig = self._triggers_of(service_id, environment_id)
                meta["repo"] = src["repo"]
                meta["branch"] = trig[0]["branch"] if trig else "main"
                meta["commitHash"] = commit_sha or secrets.token_hex(20)
            elif commit_sha:
                meta["commitHash"] = commit_sha
        doms = self._service_domains_of(service_id, environment_id)
        now = _now()
        d: dict[str, Any] = {
            "id": _uid(),
            "projectId": svc["projectId"],
            "serviceId": service_id,
            "environmentId": environment_id,
            "status": "QUEUED",
            "createdAt": now,
            "updatedAt": now,
            "statusUpdatedAt": now,
            "meta": meta,
            "staticUrl": doms[0]["domain"] if doms else None,
            "url": f"https://{doms[0]['domain']}" if doms else None,
            "deploymentStopped": False,
            "_polls": 0,
            "_final": final,
            "_succeeded": False,
            "_deleted": False,
            "_replicas": max(1, sum(c["numReplicas"] for c in inst["multiRegionConfig"].values())),
            "_seq": self._next_seq(),
        }
        self.state.deployments[d["id"]] = d
        if self.deploy_polls_to_finish <= 0:
            self._finish_deployment(d)
        return d

    @staticmethod
    def _set_status(d: dict[str, Any], status: str) -> None:
        d["status"] = status
        d["statusUpdatedAt"] = d["updatedAt"] = _now()

    def _finish_deployment(self, d: dict[str, Any]) -> None:
        self._set_status(d, d["_final"])
        if d["status"] == "SUCCESS":
            d["_succeeded"] = True
            for other in self.state.deployments.values():
                if (
                    other is not d
                    and other["serviceId"] == d["serviceId"]
                    and other["environmentId"] == d["environmentId"]
                    and other["status"] == "SUCCESS"
                    and other["_seq"] < d["_seq"]
                ):
                    self._set_status(other, "REMOVED")

    def _poll_deployment(self, d: dict[str, Any]) -> None:
        if d["status"] not in IN_FLIGHT:
            return
        d["_polls"] += 1
        n = self.deploy_polls_to_finish
        if d["_polls"] >= n:
            self._finish_deployment(d)
        elif d["_polls"] == n - 1:
            self._set_status(d, "DEPLOYING")
        else:
            self._set_status(d, "BUILDING")

    def _deployment_scope(self, info: Any, d: dict[str, Any]) -> None:
        self._scope_env(info, d["environmentId"])

    # ----------------------------------------------------------------------- instance settings

    def _new_instance(
        self, service_id: str, environment_id: str, source: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        now = _now()
        inst: dict[str, Any] = {
            "id": _uid(),
            "serviceId": service_id,
            "environmentId": environment_id,
            "source": copy.deepcopy(source) if source else None,
            "builder": "RAILPACK",
            "buildCommand": None,
            "dockerfilePath": None,
            "rootDirectory": None,
            "railwayConfigFile": None,
            "watchPatterns": [],
            "nixpacksPlan": None,
            "startCommand": None,
            "preDeployCommand": None,
            "healthcheckPath": None,
            "healthcheckTimeout": None,
            "restartPolicyType": "ON_FAILURE",
            "restartPolicyMaxRetries": 10,
            "cronSchedule": None,
            "sleepApplication": False,
            "overlapSeconds": None,
            "drainingSeconds": None,
            "ipv6EgressEnabled": False,
            "upstreamUrl": None,
            "createdAt": now,
            "updatedAt": now,
            "deletedAt": None,
            "multiRegionConfig": {DEFAULT_REGION: {"numReplicas": 1}},
            "_limits": None,
            "_autoDeploy": True,
            "_registryCredentials": None,
            "_seq": self._next_seq(),
        }
        self.state.instances[(service_id, environment_id)] = inst
        return inst

    def _apply_instance_settings(
        self, inst: dict[str, Any], settings: Mapping[str, Any], *, merge_regions: bool = False
    ) -> None:
        staged = dict(inst)
        for k, v in settings.items():
            if k in _SIMPLE_INSTANCE_KEYS:
                staged[k] = self._check_setting(k, v)
            elif k == "source":
                if v is None:
                    staged["source"] = None
                else:
                    if not isinstance(v, Mapping):
                        raise GraphQLError("source must be an object")
                    src = {"image": v.get("image"), "repo": v.get("repo")}
                    if src["image"] and src["repo"]:
                        raise GraphQLError("A service source cannot have both an image and a repo")
                    staged["source"] = src if (src["image"] or src["repo"]) else None
            elif k == "registryCredentials":
                staged["_registryCredentials"] = copy.deepcopy(v)
            elif k in ("numReplicas", "region", "multiRegionConfig", "limitOverride"):
                continue
            else:
                raise GraphQLError(f"Unknown service instance setting: {k}")
        mrc = {r: dict(c) for r, c in inst["multiRegionConfig"].items()}
        if settings.get("multiRegionConfig") is not None:
            given = settings["multiRegionConfig"]
            if not isinstance(given, Mapping):
                raise GraphQLError("multiRegionConfig must be an object")
            new: dict[str, dict[str, int]] = dict(mrc) if merge_regions else {}
            for region, cfg in given.items():
                if cfg is None:
                    new.pop(region, None)
                    continue
                n = cfg.get("numReplicas", 1) if isinstance(cfg, Mapping) else None
                if not isinstance(n, int) or isinstance(n, bool) or n < 0:
                    raise GraphQLError(f"Invalid numReplicas for region {region}")
                new[self._check_region(region)] = {"numReplicas": n}
            mrc = new
        elif settings.get("numReplicas") is not None or settings.get("region") is not None:
            primary = next(iter(mrc), DEFAULT_REGION)
            n = settings.get("numReplicas")
            if n is None:
                n = mrc.get(primary, {"numReplicas": 1})["numReplicas"]
            if not isinstance(n, int) or isinstance(n, bool) or n < 0:
                raise GraphQLError("Invalid numReplicas")
            region = self._check_region(settings.get("region") or primary)
            rest = {r: c for r, c in mrc.items() if r not in (primary, region)}
            mrc = {region: {"numReplicas": n}, **rest}
        if not mrc or sum(c["numReplicas"] for c in mrc.values()) < 1:
            raise GraphQLError("A service must have at least one replica")
        staged["multiRegionConfig"] = mrc
        if "limitOverride" in settings:
            staged["_limits"] = copy.deepcopy(settings["limitOverride"])
        staged["updatedAt"] = _now()
        inst.clear()
        inst.update(staged)

    @staticmethod
    def _check_region(region: Any) -> str:
        if not isinstance(region, str) or region not in REGION_IDS:
            raise GraphQLError(f"Invalid region: {region}")
        return region

    @staticmethod
    def _check_setting(key: str, value: Any) -> Any:
        if key == "builder" and value is not None and value not in BUILDERS:
            raise GraphQLError(f"Invalid builder: {value}")
        if key == "builder" and value is None:
            return "RAILPACK"
        if key == "restartPolicyType":
            if value is None:
                return "ON_FAILURE"
            if value not in RESTART_POLICIES:
                raise GraphQLError(f"Invalid restart policy: {value}")
        if key == "restartPolicyMaxRetries" and value is None:
            return 10
        if key == "watchPatterns":
            return list(value or [])
        if key == "preDeployCommand":
            if value is None or value == []:
                return None
            if isinstance(value, str):
                return [value]
            if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
                raise GraphQLError("preDeployCommand must be a list of strings")
            return list(value)
        if key == "cronSchedule":
            if not value:
                return None
            if not isinstance(value, str) or len(value.split()) != 5:
                raise GraphQLError(f"Invalid cron schedule: {value}")
        if key == "healthcheckTimeout" and value is not None and (not isinstance(value, int) or value <= 0):
            raise GraphQLError("healthcheckTimeout must be a positive integer")
        if key == "healthcheckPath" and value and not str(value).startswith("/"):
            raise GraphQLError("healthcheckPath must start with /")
        return copy.deepcopy(value)

    # ----------------------------------------------------------------------------------- config

    def _env_config(self, environment_id: str, decrypt: bool) -> dict[str, Any]:
        env = self.state.environments[environment_id]
        pid = env["projectId"]
        services: dict[str, Any] = {}
        for (sid, eid), inst in sorted(self.state.instances.items(), key=lambda kv: kv[1]["_seq"]):
            if eid != environment_id:
                continue
            src = {k: v for k, v in (inst.get("source") or {}).items() if v is not None}
            trig = self._triggers_of(sid, eid)
            if trig:
                src["branch"] = trig[0]["branch"]
                src["checkSuites"] = trig[0]["checkSuites"]
            if inst.get("rootDirectory"):
                src["rootDirectory"] = inst["rootDirectory"]
            deploy = {k: inst[k] for k in _DEPLOY_CONFIG_KEYS if inst.get(k) is not None}
            deploy["multiRegionConfig"] = copy.deepcopy(inst["multiRegionConfig"])
            if inst.get("_limits") is not None:
                deploy["limitOverride"] = copy.deepcopy(inst["_limits"])
            build = {k: inst[k] for k in _BUILD_CONFIG_KEYS if inst.get(k) not in (None, [])}
            svars = self.state.variables.get((pid, eid, sid), {})
            services[sid] = {
                "source": src,
                "build": copy.deepcopy(build),
                "deploy": copy.deepcopy(deploy),
                "variables": {n: ({"value": v} if decrypt else {}) for n, v in sorted(svars.items())},
                "networking": {
                    "serviceDomains": {
                        d["domain"]: {"port": d["targetPort"]} for d in self._service_domains_of(sid, eid)
                    },
                    "customDomains": {
                        d["domain"]: {"port": d["targetPort"]} for d in self._custom_domains_of(sid, eid)
                    },
                },
                "volumeMounts": {
                    vi["volumeId"]: {"mountPath": vi["mountPath"]}
                    for vi in self.state.volume_instances.values()
                    if vi["environmentId"] == eid and vi["serviceId"] == sid
                },
            }
            if inst.get("railwayConfigFile"):
                services[sid]["configFile"] = inst["railwayConfigFile"]
        shared = self.state.variables.get((pid, environment_id, None), {})
        return {
            "services": services,
            "sharedVariables": {n: ({"value": v} if decrypt else {}) for n, v in sorted(shared.items())},
            "volumes": {
                vi["volumeId"]: {"sizeMB": vi["sizeMB"], "region": vi["region"]}
                for vi in self.state.volume_instances.values()
                if vi["environmentId"] == environment_id
            },
        }

    def _config_etag(self, environment_id: str) -> str:
        raw = json.dumps(self._env_config(environment_id, True), sort_keys=True).encode()
        return hashlib.sha256(raw).hexdigest()[:20]

    def _apply_patch(self, env: dict[str, Any], patch: Mapping[str, Any]) -> set[str]:
        """Apply an EnvironmentConfig patch; returns the service ids whose deployable config changed."""
        eid, pid = env["id"], env["projectId"]
        touched: set[str] = set()
        for top, value in patch.items():
            if top == "services":
                if not isinstance(value, Mapping):
                    raise GraphQLError("patch.services must be an object")
                for sid, spatch in value.items():
                    self._get_service(sid, pid)
                    if spatch is None or (isinstance(spatch, Mapping) and spatch.get("isDeleted")):
                        if (sid, eid) in self.state.instances:
                            self._delete_instance(sid, eid)
                        continue
                    if not isinstance(spatch, Mapping):
                        raise GraphQLError(f"patch.services.{sid} must be an object")
                    inst = self.state.instances.get((sid, eid))
                    if inst is None:
                        inst = self._new_instance(sid, eid)
                    self._apply_service_patch(pid, eid, sid, inst, spatch)
                    touched.add(sid)
            elif top == "sharedVariables":
                if not isinstance(value, Mapping):
                    raise GraphQLError("patch.sharedVariables must be an object")
                self._apply_variables_patch(pid, eid, None, value)
            else:
                raise GraphQLError(f"fake railway: environment patch key {top!r} is not supported")
        return touched

    def _apply_service_patch(
        self, pid: str, eid: str, sid: str, inst: dict[str, Any], spatch: Mapping[str, Any]
    ) -> None:
        settings: dict[str, Any] = {}
        for key, val in spatch.items():
            if key in ("isCreated", "isDeleted"):
                continue
            if not isinstance(val, Mapping) and key != "configFile":
                raise GraphQLError(f"patch.services.{sid}.{key} must be an object")
            if key == "source":
                src = dict(inst.get("source") or {})
                for k in ("image", "repo"):
                    if k in val:
                        src[k] = val[k]
                if val.get("image"):
                    src["repo"] = None
                if val.get("repo"):
                    src["image"] = None
                if "image" in val or "repo" in val:
                    settings["source"] = src
                if "rootDirectory" in val:
                    settings["rootDirectory"] = val["rootDirectory"]
                if "branch" in val or "checkSuites" in val:
                    trig = self._triggers_of(sid, eid)
                    if trig:
                        if val.get("branch"):
                            trig[0]["branch"] = val["branch"]
                        if "checkSuites" in val:
                            trig[0]["checkSuites"] = bool(val["checkSuites"])
                    elif val.get("branch") and (src.get("repo")):
                        self._new_trigger(pid, eid, sid, src["repo"], val["branch"], bool(val.get("checkSuites")))
            elif key == "build":
                for k, v in val.items():
                    if k in _BUILD_CONFIG_KEYS:
                        settings[k] = v
                    elif k != "nixpacksConfigPath":
                        raise GraphQLError(f"fake railway: build.{k} is not supported")
            elif key == "deploy":
                for k, v in val.items():
                    if k in _DEPLOY_CONFIG_KEYS or k in ("numReplicas", "region", "multiRegionConfig"):
                        settings[k] = v
                    elif k == "limitOverride":
                        settings["limitOverride"] = v
                    elif k == "registryCredentials":
                        settings["registryCredentials"] = v
                    else:
                        raise GraphQLError(f"fake railway: deploy.{k} is not supported")
            elif key == "variables":
                self._apply_variables_patch(pid, eid, sid, val)
            elif key == "configFile":
                settings["railwayConfigFile"] = val
            else:
                raise GraphQLError(f"fake railway: environment patch key services.<id>.{key} is not supported")
        if settings:
            self._apply_instance_settings(inst, settings, merge_regions=True)

    def _apply_variables_patch(self, pid: str, eid: str, sid: str | None, vpatch: Mapping[str, Any]) -> None:
        upserts: dict[str, Any] = {}
        for name, spec in vpatch.items():
            if spec is None:
                cur = self.state.variables.get((pid, eid, sid), {})
                cur.pop(name, None)
                if not cur:
                    self.state.variables.pop((pid, eid, sid), None)
            elif isinstance(spec, Mapping) and "value" in spec:
                upserts[name] = spec["value"]
        if upserts:
            self._set_vars(pid, eid, sid, upserts)

    # ---------------------------------------------------------------------------------- deletes

    def _delete_instance(self, service_id: str, environment_id: str) -> None:
        s = self.state
        s.instances.pop((service_id, environment_id), None)
        pid = s.services[service_id]["projectId"] if service_id in s.services else None
        for key in [
            k for k in s.variables if k[1] == environment_id and k[2] == service_id and (pid is None or k[0] == pid)
        ]:
            del s.variables[key]
        for table in (s.service_domains, s.custom_domains, s.triggers, s.deployments, s.tcp_proxies):
            for oid in [
                o for o, v in table.items() if v["serviceId"] == service_id and v["environmentId"] == environment_id
            ]:
                del table[oid]
        for vi_id in [
            k
            for k, vi in s.volume_instances.items()
            if vi["serviceId"] == service_id and vi["environmentId"] == environment_id
        ]:
            vol_id = s.volume_instances[vi_id]["volumeId"]
            self._delete_volume_instance(vi_id)
            if not any(vi["volumeId"] == vol_id for vi in s.volume_instances.values()):
                s.volumes.pop(vol_id, None)

    def _delete_service(self, service_id: str) -> None:
        for sid, eid in [k for k in self.state.instances if k[0] == service_id]:
            self._delete_instance(sid, eid)
        for key in [k for k in self.state.variables if k[2] == service_id]:
            del self.state.variables[key]
        self.state.services.pop(service_id, None)

    def _delete_volume_instance(self, vi_id: str) -> None:
        s = self.state
        s.volume_instances.pop(vi_id, None)
        s.backup_schedules.pop(vi_id, None)
        for bid in [b for b, v in s.backups.items() if v["_volumeInstanceId"] == vi_id]:
            del s.backups[bid]

    def _delete_volume(self, volume_id: str) -> None:
        for vi_id in [k for k, vi in self.state.volume_instances.items() if vi["volumeId"] == volume_id]:
            self._delete_volume_instance(vi_id)
        self.state.volumes.pop(volume_id, None)

    def _delete_environment(self, environment_id: str) -> None:
        s = self.state
        for sid, eid in [k for k in s.instances if k[1] == environment_id]:
            self._delete_instance(sid, eid)
        for key in [k for k in s.variables if k[1] == environment_id]:
            del s.variables[key]
        for table in (s.project_tokens, s.patches, s.deployments, s.triggers, s.service_domains, s.custom_domains):
            for oid in [o for o, v in table.items() if v["environmentId"] == environment_id]:
                del table[oid]
        for vi_id in [k for k, vi in s.volume_instances.items() if vi["environmentId"] == environment_id]:
            self._delete_volume_instance(vi_id)
        s.environments.pop(environment_id, None)

    def _delete_project(self, project_id: str) -> None:
        s = self.state
        for sid in [k for k, v in s.services.items() if v["projectId"] == project_id]:
            self._delete_service(sid)
        for eid in [k for k, v in s.environments.items() if v["projectId"] == project_id]:
            self._delete_environment(eid)
        for vid in [k for k, v in s.volumes.items() if v["projectId"] == project_id]:
            self._delete_volume(vid)
        for key in [k for k in s.variables if k[0] == project_id]:
            del s.variables[key]
        for tid in [k for k, v in s.project_tokens.items() if v["projectId"] == project_id]:
            del s.project_tokens[tid]
        s.projects.pop(project_id, None)

    # ------------------------------------------------------------------------------ creators

    def _create_project(self, inp: Mapping[str, Any]) -> dict[str, Any]:
        now = _now()
        ws = inp.get("workspaceId") or self.workspace_id
        if ws != self.workspace_id:
            raise GraphQLError(NOT_AUTHORIZED)
        p: dict[str, Any] = {
            "id": _uid(),
            "name": inp.get("name") or f"project-{secrets.token_hex(3)}",
            "description": inp.get("description"),
            "isPublic": bool(inp.get("isPublic") or False),
            "prDeploys": bool(inp.get("prDeploys") or False),
            "botPrEnvironments": False,
            "focusedPrEnvironments": False,
            "workspaceId": ws,
            "baseEnvironmentId": None,
            "createdAt": now,
            "updatedAt": now,
            "deletedAt": None,
            "expiredAt": None,
            "isTempProject": False,
            "_seq": self._next_seq(),
        }
        self.state.projects[p["id"]] = p
        self._create_environment(p["id"], inp.get("defaultEnvironmentName") or "production")
        return p

    def _create_environment(
        self,
        project_id: str,
        name: str,
        *,
        source_env_id: str | None = None,
        ephemeral: bool = False,
        skip_deploys: bool = True,
    ) -> dict[str, Any]:
        if not name or not name.strip():
            raise GraphQLError("Environment name cannot be empty")
        if any(e["name"] == name for e in self._envs_of(project_id)):
            raise GraphQLError(f"Environment with name {name} already exists")
        now = _now()
        e: dict[str, Any] = {
            "id": _uid(),
            "name": name,
            "projectId": project_id,
            "isEphemeral": ephemeral,
            "createdAt": now,
            "updatedAt": now,
            "deletedAt": None,
            "sourceEnvironmentId": source_env_id,
            "_seq": self._next_seq(),
        }
        self.state.environments[e["id"]] = e
        eid = e["id"]
        created: list[str] = []
        if source_env_id is not None:
            for (sid, src_eid), src_inst in sorted(self.state.instances.items(), key=lambda kv: kv[1]["_seq"]):
                if src_eid != source_env_id:
                    continue
                inst = self._new_instance(sid, eid)
                keep = {k: copy.deepcopy(v) for k, v in src_inst.items() if k not in ("id", "environmentId", "_seq")}
                inst.update(keep)
                vars_ = self.state.variables.get((project_id, source_env_id, sid))
                if vars_:
                    self.state.variables[(project_id, eid, sid)] = dict(vars_)
                for t in self._triggers_of(sid, source_env_id):
                    self._new_trigger(project_id, eid, sid, t["repository"], t["branch"], t["checkSuites"])
                created.append(sid)
            shared = self.state.variables.get((project_id, source_env_id, None))
            if shared:
                self.state.variables[(project_id, eid, None)] = dict(shared)
        else:
            for svc in self._services_of(project_id):
                self._new_instance(svc["id"], eid)
                created.append(svc["id"])
        if not skip_deploys:
            for sid in created:
                if self.state.instances[(sid, eid)].get("source"):
                    self._new_deployment(sid, eid, "environmentCreate")
        return e

    def _create_service(
        self,
        project_id: str,
        name: str | None,
        *,
        environment_id: str | None = None,
        source: Mapping[str, Any] | None = None,
        branch: str | None = None,
        variables: Mapping[str, Any] | None = None,
        icon: str | None = None,
        template_id: str | None = None,
        registry_credentials: Any = None,
        deploy: bool = True,
    ) -> dict[str, Any]:
        name = name or f"service-{secrets.token_hex(3)}"
        if self.unique_service_names and any(s["name"] == name for s in self._services_of(project_id)):
            raise GraphQLError(f"A service named {name} already exists in this project")
        src = None
        if source:
            src = {"image": source.get("image"), "repo": source.get("repo")}
            if src["image"] and src["repo"]:
                raise GraphQLError("A service source cannot have both an image and a repo")
            if not (src["image"] or src["repo"]):
                src = None
        if environment_id is not None:
            target = self._get_env(environment_id, project_id)
            envs = (
                [target]
                if target.get("sourceEnvironmentId")
                else [e for e in self._envs_of(project_id) if not e.get("sourceEnvironmentId")]
            )
        else:
            envs = [e for e in self._envs_of(project_id) if not e.get("sourceEnvironmentId")]
        if variables is not None and not isinstance(variables, Mapping):
            raise GraphQLError("variables must be an object")
        now = _now()
        s: dict[str, Any] = {
            "id": _uid(),
            "name": name,
            "icon": icon,
            "projectId": project_id,
            "createdAt": now,
            "updatedAt": now,
            "deletedAt": None,
            "templateId": template_id,
            "templateServiceId": None,
            "templateThreadSlug": None,
            "groupId": None,
            "_seq": self._next_seq(),
        }
        self.state.services[s["id"]] = s
        for e in envs:
            inst = self._new_instance(s["id"], e["id"], src)
            inst["_registryCredentials"] = copy.deepcopy(registry_credentials)
            if variables:
                self._set_vars(project_id, e["id"], s["id"], variables)
            if src and src.get("repo"):
                self._new_trigger(project_id, e["id"], s["id"], str(src["repo"]), branch or "main", False)
            if src and deploy:
                self._new_deployment(s["id"], e["id"], "serviceCreate")
        return s

    def _new_trigger(
        self, project_id: str, environment_id: str, service_id: str, repository: str, branch: str, check_suites: bool
    ) -> dict[str, Any]:
        t: dict[str, Any] = {
            "id": _uid(),
            "projectId": project_id,
            "environmentId": environment_id,
            "serviceId": service_id,
            "provider": "github",
            "repository": repository,
            "branch": branch,
            "checkSuites": check_suites,
            "validCheckSuites": 0,
            "baseEnvironmentOverrideId": None,
            "_rootDirectory": None,
            "_seq": self._next_seq(),
        }
        self.state.triggers[t["id"]] = t
        return t

    def _new_volume(
        self, project_id: str, mount_path: str, service_id: str | None, environment_id: str | None, region: str | None
    ) -> dict[str, Any]:
        if not isinstance(mount_path, str) or not mount_path.startswith("/"):
            raise GraphQLError("Invalid mount path")
        svc = self._get_service(service_id, project_id) if service_id is not None else None
        if environment_id is not None:
            self._get_env(environment_id, project_id)
        if region is not None:
            self._check_region(region)
        if svc is not None and environment_id is not None:
            if (service_id, environment_id) not in self.state.instances:
                raise GraphQLError("ServiceInstance not found")
            if any(
                vi["serviceId"] == service_id and vi["environmentId"] == environment_id
                for vi in self.state.volume_instances.values()
            ):
                raise GraphQLError("Service already has a volume attached in this environment")
        now = _now()
        v: dict[str, Any] = {
            "id": _uid(),
            "name": f"{_slug(svc['name'])}-volume" if svc else f"volume-{secrets.token_hex(3)}",
            "projectId": project_id,
            "createdAt": now,
            "_seq": self._next_seq(),
        }
        self.state.volumes[v["id"]] = v
        if environment_id is not None:
            inst_region = region
            if inst_region is None and svc is not None and service_id is not None:
                inst_region = next(iter(self.state.instances[(service_id, environment_id)]["multiRegionConfig"]))
            vi: dict[str, Any] = {
                "id": _uid(),
                "volumeId": v["id"],
                "environmentId": environment_id,
                "serviceId": service_id,
                "mountPath": mount_path,
                "sizeMB": 5000,
                "currentSizeMB": 0.0,
                "state": "READY",
                "region": inst_region or DEFAULT_REGION,
                "externalId": None,
                "isPendingDeletion": False,
                "createdAt": now,
                "deletedAt": None,
                "_seq": self._next_seq(),
            }
            self.state.volume_instances[vi["id"]] = vi
        return v

    # ================================================================================= QUERIES

    @_query("me")
    def _q_me(self, info: Any) -> dict[str, Any]:
        return {
            "id": "user-fake",
            "email": "fake@example.invalid",
            "name": "Fake User",
            "username": "fake",
            "workspaces": [self._v_workspace()],
        }

    @_query("apiToken")
    def _q_api_token(self, info: Any) -> dict[str, Any]:
        return {"workspaces": [self._v_workspace()]}

    @_query("projectToken")
    def _q_project_token(self, info: Any) -> dict[str, Any]:
        ctx: _Ctx = info.context
        if ctx.auth != "project" or ctx.token is None:
            raise GraphQLError("Project Token not found")
        return self._v_token(ctx.token)

    @_query("regions")
    def _q_regions(self, info: Any, projectId: str | None = None) -> list[dict[str, Any]]:
        return [{**r, "workspaceId": None, "deploymentConstraints": None} for r in REGIONS]

    @_query("project")
    def _q_project(self, info: Any, id: str) -> dict[str, Any]:
        return self._v_project(self._get_project(id))

    @_query("projects")
    def _q_projects(self, info: Any, **a: Any) -> dict[str, Any]:
        ws = a.get("workspaceId")
        items = [p for p in self.state.projects.values() if ws is None or p["workspaceId"] == ws]
        order = a.get("orderBy")
        if order == "NAME_ASC":
            items.sort(key=lambda p: p["name"])
        elif order in ("CREATED_AT_DESC", "UPDATED_AT_DESC"):
            items.sort(key=lambda p: p["_seq"], reverse=True)
        else:
            items.sort(key=lambda p: p["_seq"])
        return _connection(
            [self._v_project(p) for p in items], a.get("first"), a.get("after"), a.get("last"), a.get("before")
        )

    @_query("environment")
    def _q_environment(self, info: Any, id: str, projectId: str | None = None) -> dict[str, Any]:
        return self._v_env(self._get_env(id, projectId))

    @_query("environments")
    def _q_environments(self, info: Any, projectId: str, **a: Any) -> dict[str, Any]:
        self._get_project(projectId)
        items = self._envs_of(projectId)
        if a.get("isEphemeral") is not None:
            items = [e for e in items if e["isEphemeral"] == a["isEphemeral"]]
        return _connection(
            [self._v_env(e) for e in items], a.get("first"), a.get("after"), a.get("last"), a.get("before")
        )

    @_query("environmentPatch")
    def _q_environment_patch(self, info: Any, id: str) -> dict[str, Any]:
        p = self._get(self.state.patches, id, "Environment patch not found")
        return {
            **{k: copy.deepcopy(v) for k, v in p.items() if not k.startswith("_") and k != "patch"},
            "patch": lambda _i, decryptVariables=None: copy.deepcopy(p["patch"]),
            "appliedBy": None,
            "environment": lambda _i: self._v_env(self._get_env(p["environmentId"])),
        }

    @_query("service")
    def _q_service(self, info: Any, id: str) -> dict[str, Any]:
        return self._v_service(self._get_service(id))

    @_query("serviceInstance")
    def _q_service_instance(self, info: Any, serviceId: str, environmentId: str) -> dict[str, Any]:
        self._get_instance(serviceId, environmentId)
        return self._v_instance((serviceId, environmentId))

    @_query("serviceInstanceLimitOverride")
    def _q_limit_override(self, info: Any, serviceId: str, environmentId: str) -> Any:
        return copy.deepcopy(self._get_instance(serviceId, environmentId)["_limits"])

    @_query("serviceInstanceLimits")
    def _q_limits(self, info: Any, serviceId: str, environmentId: str) -> Any:
        override = self._get_instance(serviceId, environmentId)["_limits"] or {}
        containers = {"cpu": 32, "memoryBytes": 32_000_000_000}
        containers.update((override.get("containers") or {}) if isinstance(override, Mapping) else {})
        return {"containers": containers}

    @_query("variables")
    def _q_variables(
        self,
        info: Any,
        projectId: str,
        environmentId: str,
        serviceId: str | None = None,
        unrendered: bool | None = None,
    ) -> dict[str, str]:
        self._variable_scope(info, projectId, environmentId, serviceId)
        raw = dict(self.state.variables.get((projectId, environmentId, serviceId), {}))
        if unrendered:
            return raw
        return {k: self._render(projectId, environmentId, serviceId, v) for k, v in raw.items()}

    @_query("variablesForServiceDeployment")
    def _q_variables_for_deploy(self, info: Any, projectId: str, environmentId: str, serviceId: str) -> dict[str, str]:
        self._variable_scope(info, projectId, environmentId, serviceId)
        out = {
            k: self._render(projectId, environmentId, None, v)
            for k, v in self.state.variables.get((projectId, environmentId, None), {}).items()
        }
        out.update(self._system_vars(serviceId, environmentId))
        for k, v in self.state.variables.get((projectId, environmentId, serviceId), {}).items():
            out[k] = self._render(projectId, environmentId, serviceId, v)
        return out

    @_query("domains")
    def _q_domains(self, info: Any, projectId: str, environmentId: str, serviceId: str) -> dict[str, Any]:
        self._get_project(projectId)
        self._get_env(environmentId, projectId)
        self._get_service(serviceId, projectId)
        return self._v_all_domains(serviceId, environmentId)

    @_query("customDomain")
    def _q_custom_domain(self, info: Any, id: str, projectId: str) -> dict[str, Any]:
        cd = self._get(self.state.custom_domains, id, "Custom domain not found")
        if cd["projectId"] != projectId:
            raise GraphQLError("Custom domain not found")
        return self._v_custom_domain(cd)

    @_query("tcpProxies")
    def _q_tcp_proxies(self, info: Any, serviceId: str, environmentId: str) -> list[dict[str, Any]]:
        self._get_instance(serviceId, environmentId)
        ps = [
            p
            for p in self.state.tcp_proxies.values()
            if p["serviceId"] == serviceId and p["environmentId"] == environmentId
        ]
        return [{k: v for k, v in p.items() if not k.startswith("_")} for p in sorted(ps, key=lambda p: p["_seq"])]

    @_query("deployment")
    def _q_deployment(self, info: Any, id: str) -> dict[str, Any]:
        d = self._get_deployment(id)
        self._deployment_scope(info, d)
        self._poll_deployment(d)
        return self._v_deployment(d)

    @_query("deployments")
    def _q_deployments(self, info: Any, input: dict[str, Any], **a: Any) -> dict[str, Any]:
        ctx: _Ctx = info.context
        env_filter = input.get("environmentId")
        if ctx.auth == "project":
            assert ctx.token is not None
            if env_filter is not None and env_filter != ctx.token["environmentId"]:
                raise GraphQLError(NOT_AUTHORIZED)
            env_filter = ctx.token["environmentId"]
        status = input.get("status") or {}
        items = []
        for d in self.state.deployments.values():
            if d["_deleted"] and not input.get("includeDeleted"):
                continue
            if input.get("projectId") is not None and d["projectId"] != input["projectId"]:
                continue
            if env_filter is not None and d["environmentId"] != env_filter:
                continue
            if input.get("serviceId") is not None and d["serviceId"] != input["serviceId"]:
                continue
            if status.get("in") is not None and d["status"] not in status["in"]:
                continue
            if status.get("notIn") is not None and d["status"] in status["notIn"]:
                continue
            items.append(d)
        items.sort(key=lambda d: d["_seq"], reverse=True)
        return _connection(
            [self._v_deployment(d) for d in items], a.get("first"), a.get("after"), a.get("last"), a.get("before")
        )

    @_query("deploymentTriggers")
    def _q_deployment_triggers(
        self, info: Any, projectId: str, environmentId: str, serviceId: str, **a: Any
    ) -> dict[str, Any]:
        self._get_project(projectId)
        self._get_env(environmentId, projectId)
        self._get_service(serviceId, projectId)
        items = [self._v_trigger(t) for t in self._triggers_of(serviceId, environmentId)]
        return _connection(items, a.get("first"), a.get("after"), a.get("last"), a.get("before"))

    @_query("projectTokens")
    def _q_project_tokens(self, info: Any, projectId: str, **a: Any) -> dict[str, Any]:
        self._get_project(projectId)
        toks = sorted(
            (t for t in self.state.project_tokens.values() if t["projectId"] == projectId), key=lambda t: t["_seq"]
        )
        return _connection(
            [self._v_token(t) for t in toks], a.get("first"), a.get("after"), a.get("last"), a.get("before")
        )

    @_query("template")
    def _q_template(self, info: Any, code: str | None = None, id: str | None = None, **_: Any) -> dict[str, Any]:
        if code == "postgres" or id == POSTGRES_TEMPLATE_ID:
            return self._postgres_template()
        raise GraphQLError("Template not found")

    @_query("workflowStatus")
    def _q_workflow_status(self, info: Any, workflowId: str) -> dict[str, Any]:
        wf = self.state.workflows.get(workflowId)
        if wf is None:
            return {"status": "NotFound", "error": None}
        wf["polls"] += 1
        if wf["status"] == "Running" and wf["polls"] >= wf["_polls_needed"]:
            self._complete_workflow(wf)
        return {"status": wf["status"], "error": wf["error"]}

    @_query("volumeInstance")
    def _q_volume_instance(self, info: Any, id: str) -> dict[str, Any]:
        return self._v_volume_instance(self._get(self.state.volume_instances, id, "VolumeInstance not found"))

    @_query("volumeInstanceBackupList")
    def _q_backup_list(self, info: Any, volumeInstanceId: str) -> list[dict[str, Any]]:
        self._get(self.state.volume_instances, volumeInstanceId, "VolumeInstance not found")
        bs = [b for b in self.state.backups.values() if b["_volumeInstanceId"] == volumeInstanceId]
        return [self._v_backup(b) for b in sorted(bs, key=lambda b: b["_seq"], reverse=True)]

    @_query("volumeInstanceBackupScheduleList")
    def _q_backup_schedule_list(self, info: Any, volumeInstanceId: str) -> list[dict[str, Any]]:
        self._get(self.state.volume_instances, volumeInstanceId, "VolumeInstance not found")
        scheds = self.state.backup_schedules.get(volumeInstanceId, {})
        return [dict(scheds[k]) for k in ("DAILY", "WEEKLY", "MONTHLY") if k in scheds]

    def _postgres_template(self) -> dict[str, Any]:
        svc_key = "b7c1e0aa-52f4-4d55-8a0e-2f3f3c1d9e10"
        vol_key = "0f6a3c0e-8d1b-4a55-9a3b-7c2e5d4f1a22"
        serialized = {
            "services": {
                svc_key: {
                    "name": "Postgres",
                    "icon": "https://devicons.railway.com/i/postgresql.svg",
                    "source": {"image": POSTGRES_IMAGE},
                    "variables": {
                        n: {"isOptional": False}
                        for n in ("DATABASE_URL", "PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE")
                    },
                    "volumeMounts": {vol_key: {"mountPath": POSTGRES_MOUNT}},
                    "networking": {"tcpProxies": {"5432": {}}},
                }
            }
        }
        return {
            "id": POSTGRES_TEMPLATE_ID,
            "code": "postgres",
            "name": "PostgreSQL",
            "description": "Deploy a PostgreSQL database",
            "category": "Storage",
            "tags": ["database", "postgres"],
            "languages": None,
            "image": None,
            "readme": None,
            "health": None,
            "isApproved": True,
            "isV2Template": True,
            "isVerified": True,
            "activeProjects": 0,
            "projects": 0,
            "recentProjects": 0,
            "totalPayout": 0.0,
            "status": "PUBLISHED",
            "workspaceId": None,
            "teamId": None,
            "demoProjectId": None,
            "communityThreadSlug": None,
            "createdAt": "2023-01-01T00:00:00.000Z",
            "updatedAt": "2026-01-01T00:00:00.000Z",
            "serializedConfig": serialized,
            "similarTemplates": [],
            "services": _conn_field(list),
        }

    # =============================================================================== MUTATIONS

    # ---- projects
    @_mutation("projectCreate")
    def _m_project_create(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        return self._v_project(self._create_project(input))

    @_mutation("projectUpdate")
    def _m_project_update(self, info: Any, id: str, input: dict[str, Any]) -> dict[str, Any]:
        p = self._get_project(id)
        if input.get("baseEnvironmentId") is not None:
            self._get_env(input["baseEnvironmentId"], id)
        for k in ("name", "description", "baseEnvironmentId"):
            if k in input and (input[k] is not None or k != "name"):
                p[k] = input[k]
        for k in ("isPublic", "prDeploys", "botPrEnvironments", "focusedPrEnvironments"):
            if input.get(k) is not None:
                p[k] = bool(input[k])
        p["updatedAt"] = _now()
        return self._v_project(p)

    @_mutation("projectDelete")
    def _m_project_delete(self, info: Any, id: str) -> bool:
        self._get_project(id)
        self._delete_project(id)
        return True

    # ---- environments
    @_mutation("environmentCreate")
    def _m_environment_create(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        pid = input["projectId"]
        self._get_project(pid)
        src = input.get("sourceEnvironmentId")
        if src is not None:
            self._get_env(src, pid)
        e = self._create_environment(
            pid,
            input["name"],
            source_env_id=src,
            ephemeral=bool(input.get("ephemeral")),
            skip_deploys=bool(input.get("skipInitialDeploys")) or bool(input.get("stageInitialChanges")),
        )
        return self._v_env(e)

    @_mutation("environmentRename")
    def _m_environment_rename(self, info: Any, id: str, input: dict[str, Any]) -> dict[str, Any]:
        e = self._get_env(id)
        name = input["name"]
        if not name.strip():
            raise GraphQLError("Environment name cannot be empty")
        if any(o["name"] == name and o["id"] != id for o in self._envs_of(e["projectId"])):
            raise GraphQLError(f"Environment with name {name} already exists")
        e["name"] = name
        e["updatedAt"] = _now()
        return self._v_env(e)

    @_mutation("environmentDelete")
    def _m_environment_delete(self, info: Any, id: str) -> bool:
        self._get_env(id)
        self._delete_environment(id)
        return True

    @_mutation("environmentPatchCommit")
    def _m_environment_patch_commit(
        self, info: Any, environmentId: str, patch: Any = None, commitMessage: str | None = None
    ) -> str:
        env = self._get_env(environmentId)
        if patch is not None and not isinstance(patch, Mapping):
            raise GraphQLError("patch must be an object")
        touched = self._apply_patch(env, patch or {})
        now = _now()
        pid = _uid()
        self.state.patches[pid] = {
            "id": pid,
            "environmentId": environmentId,
            "status": "COMMITTED",
            "lastAppliedError": None,
            "message": commitMessage,
            "patch": copy.deepcopy(patch or {}),
            "createdAt": now,
            "updatedAt": now,
            "appliedAt": now,
        }
        for sid in sorted(touched):
            if (sid, environmentId) in self.state.instances:
                self._new_deployment(sid, environmentId, "environmentPatch")
        return pid

    # ---- services
    @_mutation("serviceCreate")
    def _m_service_create(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        pid = input["projectId"]
        self._get_project(pid)
        s = self._create_service(
            pid,
            input.get("name"),
            environment_id=input.get("environmentId"),
            source=input.get("source"),
            branch=input.get("branch"),
            variables=input.get("variables"),
            icon=input.get("icon"),
            template_id=input.get("templateId"),
            registry_credentials=input.get("registryCredentials"),
        )
        return self._v_service(s)

    @_mutation("serviceUpdate")
    def _m_service_update(self, info: Any, id: str, input: dict[str, Any]) -> dict[str, Any]:
        s = self._get_service(id)
        name = input.get("name")
        if name is not None:
            if any(o["name"] == name and o["id"] != id for o in self._services_of(s["projectId"])):
                raise GraphQLError(f"A service named {name} already exists in this project")
            s["name"] = name
        if "icon" in input:
            s["icon"] = input["icon"]
        s["updatedAt"] = _now()
        return self._v_service(s)

    @_mutation("serviceConnect")
    def _m_service_connect(self, info: Any, id: str, input: dict[str, Any]) -> dict[str, Any]:
        s = self._get_service(id)
        repo, image, branch = input.get("repo"), input.get("image"), input.get("branch")
        if bool(repo) == bool(image):
            raise GraphQLError("Provide exactly one of repo or image")
        for (sid, eid), inst in sorted(self.state.instances.items(), key=lambda kv: kv[1]["_seq"]):
            if sid != id:
                continue
            inst["source"] = {"image": image, "repo": repo}
            trig = self._triggers_of(sid, eid)
            if repo:
                if trig:
                    trig[0]["repository"] = repo
                    trig[0]["branch"] = branch or trig[0]["branch"]
                else:
                    self._new_trigger(s["projectId"], eid, sid, repo, branch or "main", False)
            else:
                for t in trig:
                    del self.state.triggers[t["id"]]
            self._new_deployment(sid, eid, "serviceConnect")
        return self._v_service(s)

    @_mutation("serviceDisconnect")
    def _m_service_disconnect(self, info: Any, id: str) -> dict[str, Any]:
        s = self._get_service(id)
        for (sid, _eid), inst in self.state.instances.items():
            if sid == id:
                inst["source"] = None
        for tid in [t for t, v in self.state.triggers.items() if v["serviceId"] == id]:
            del self.state.triggers[tid]
        return self._v_service(s)

    @_mutation("serviceDelete")
    def _m_service_delete(self, info: Any, id: str, environmentId: str | None = None) -> bool:
        self._get_service(id)
        if environmentId is not None:
            self._get_instance(id, environmentId)
            self._delete_instance(id, environmentId)
        else:
            self._delete_service(id)
        return True

    @_mutation("serviceInstanceUpdate")
    def _m_service_instance_update(
        self, info: Any, serviceId: str, input: dict[str, Any], environmentId: str | None = None
    ) -> bool:
        if environmentId is not None:
            targets = [self._get_instance(serviceId, environmentId)]
        else:
            self._get_service(serviceId)
            targets = [inst for (sid, _e), inst in self.state.instances.items() if sid == serviceId]
        for inst in targets:
            self._apply_instance_settings(inst, input)
        return True

    @_mutation("serviceInstanceLimitsUpdate")
    def _m_limits_update(self, info: Any, input: dict[str, Any]) -> bool:
        inst = self._get_instance(input["serviceId"], input["environmentId"])
        containers: dict[str, Any] = {}
        if input.get("vCPUs") is not None:
            if input["vCPUs"] <= 0:
                raise GraphQLError("vCPUs must be positive")
            containers["cpu"] = input["vCPUs"]
        if input.get("memoryGB") is not None:
            if input["memoryGB"] <= 0:
                raise GraphQLError("memoryGB must be positive")
            containers["memoryBytes"] = int(input["memoryGB"] * 1_000_000_000)
        inst["_limits"] = {"containers": containers} if containers else None
        return True

    @_mutation("serviceInstanceAutoDeployUpdate")
    def _m_autodeploy_update(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        self._get_project(input["projectId"])
        inst = self._get_instance(input["serviceId"], input["environmentId"])
        inst["_autoDeploy"] = bool(input["enabled"])
        return {"enabled": inst["_autoDeploy"]}

    # ---- variables
    @_mutation("variableUpsert")
    def _m_variable_upsert(self, info: Any, input: dict[str, Any]) -> bool:
        pid, eid, sid = input["projectId"], input["environmentId"], input.get("serviceId")
        self._variable_scope(info, pid, eid, sid)
        self._set_vars(pid, eid, sid, {input["name"]: input["value"]})
        if not input.get("skipDeploys"):
            self._deploy_after_variable_change(pid, eid, sid, [input["name"]])
        return True

    @_mutation("variableCollectionUpsert")
    def _m_variable_collection_upsert(self, info: Any, input: dict[str, Any]) -> bool:
        pid, eid, sid = input["projectId"], input["environmentId"], input.get("serviceId")
        self._variable_scope(info, pid, eid, sid)
        new = input["variables"]
        if not isinstance(new, Mapping):
            raise GraphQLError("variables must be an object of name -> value")
        before = dict(self.state.variables.get((pid, eid, sid), {}))
        self._set_vars(pid, eid, sid, new, replace=bool(input.get("replace")))
        if not input.get("skipDeploys"):
            self._deploy_after_variable_change(pid, eid, sid, set(new) | set(before))
        return True

    @_mutation("variableDelete")
    def _m_variable_delete(self, info: Any, input: dict[str, Any]) -> bool:
        pid, eid, sid = input["projectId"], input["environmentId"], input.get("serviceId")
        self._variable_scope(info, pid, eid, sid)
        cur = self.state.variables.get((pid, eid, sid), {})
        if input["name"] not in cur:
            raise GraphQLError("Variable not found")
        del cur[input["name"]]
        if not cur:
            self.state.variables.pop((pid, eid, sid), None)
        self._deploy_after_variable_change(pid, eid, sid, [input["name"]])
        return True

    # ---- domains
    @_mutation("serviceDomainCreate")
    def _m_service_domain_create(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        sid, eid = input["serviceId"], input["environmentId"]
        self._get_instance(sid, eid)
        svc = self.state.services[sid]
        taken = {d["domain"] for d in self.state.service_domains.values()}
        while True:
            domain = f"{_slug(svc['name'])}-{secrets.token_hex(2)}.up.railway.app"
            if domain not in taken:
                break
        now = _now()
        d: dict[str, Any] = {
            "id": _uid(),
            "domain": domain,
            "suffix": "up.railway.app",
            "targetPort": input.get("targetPort"),
            "environmentId": eid,
            "serviceId": sid,
            "projectId": svc["projectId"],
            "syncStatus": "ACTIVE",
            "cdnMode": None,
            "edgeId": None,
            "newDomainName": None,
            "newHostLabel": None,
            "createdAt": now,
            "updatedAt": now,
            "deletedAt": None,
            "_seq": self._next_seq(),
        }
        self.state.service_domains[d["id"]] = d
        return self._v_service_domain(d)

    @_mutation("serviceDomainUpdate")
    def _m_service_domain_update(self, info: Any, input: dict[str, Any]) -> bool:
        d = self._get(self.state.service_domains, input["serviceDomainId"], "Service domain not found")
        if d["serviceId"] != input["serviceId"] or d["environmentId"] != input["environmentId"]:
            raise GraphQLError("Service domain not found")
        domain = input["domain"].strip().lower()
        if not domain.endswith(".up.railway.app") or not re.match(
            r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$", domain[: -len(".up.railway.app")]
        ):
            raise GraphQLError("Invalid domain")
        if any(o["domain"] == domain and o["id"] != d["id"] for o in self.state.service_domains.values()):
            raise GraphQLError("Domain is not available")
        d["domain"] = domain
        if "targetPort" in input:
            d["targetPort"] = input["targetPort"]
        d["updatedAt"] = _now()
        return True

    @_mutation("serviceDomainDelete")
    def _m_service_domain_delete(self, info: Any, id: str) -> bool:
        self._get(self.state.service_domains, id, "Service domain not found")
        del self.state.service_domains[id]
        return True

    @_mutation("customDomainCreate")
    def _m_custom_domain_create(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        pid, eid, sid = input["projectId"], input["environmentId"], input["serviceId"]
        self._get_project(pid)
        self._get_env(eid, pid)
        self._get_service(sid, pid)
        self._get_instance(sid, eid)
        domain = input["domain"].strip().lower().rstrip(".")
        labels = domain.split(".")
        if len(labels) < 2 or not all(re.match(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$", lab) for lab in labels):
            raise GraphQLError("Invalid domain")
        if domain.endswith(".railway.app"):
            raise GraphQLError("Invalid domain")
        if any(o["domain"] == domain for o in self.state.custom_domains.values()):
            raise GraphQLError("Domain is not available")
        zone = ".".join(labels[-2:])
        hostlabel = ".".join(labels[:-2]) or "@"
        target = f"{secrets.token_hex(4)}.up.railway.app"
        now = _now()
        cd: dict[str, Any] = {
            "id": _uid(),
            "domain": domain,
            "targetPort": input.get("targetPort"),
            "environmentId": eid,
            "serviceId": sid,
            "projectId": pid,
            "syncStatus": "ACTIVE",
            "cdnMode": None,
            "edgeId": None,
            "createdAt": now,
            "updatedAt": now,
            "deletedAt": None,
            "status": {
                "verified": False,
                "verificationDnsHost": f"_railway-verify.{hostlabel}" if hostlabel != "@" else "_railway-verify",
                "verificationToken": f"railway-verify={secrets.token_hex(16)}",
                "certificateStatus": "CERTIFICATE_STATUS_TYPE_VALIDATING_OWNERSHIP",
                "certificateStatusDetailed": None,
                "certificateErrorMessage": None,
                "certificateErrorType": None,
                "certificateRetryable": None,
                "certificates": None,
                "cdnProvider": None,
                "dnsRecords": [
                    {
                        "recordType": "DNS_RECORD_TYPE_CNAME",
                        "hostlabel": hostlabel,
                        "fqdn": domain,
                        "zone": zone,
                        "requiredValue": target,
                        "currentValue": "",
                        "status": "DNS_RECORD_STATUS_REQUIRES_UPDATE",
                        "purpose": "DNS_RECORD_PURPOSE_TRAFFIC_ROUTE",
                    }
                ],
            },
            "_seq": self._next_seq(),
        }
        self.state.custom_domains[cd["id"]] = cd
        return self._v_custom_domain(cd)

    @_mutation("customDomainUpdate")
    def _m_custom_domain_update(self, info: Any, id: str, environmentId: str, targetPort: int | None = None) -> bool:
        cd = self._get(self.state.custom_domains, id, "Custom domain not found")
        if cd["environmentId"] != environmentId:
            raise GraphQLError("Custom domain not found")
        cd["targetPort"] = targetPort
        cd["updatedAt"] = _now()
        return True

    @_mutation("customDomainDelete")
    def _m_custom_domain_delete(self, info: Any, id: str) -> bool:
        self._get(self.state.custom_domains, id, "Custom domain not found")
        del self.state.custom_domains[id]
        return True

    # ---- tcp proxies
    @_mutation("tcpProxyCreate")
    def _m_tcp_proxy_create(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        sid, eid = input["serviceId"], input["environmentId"]
        self._get_instance(sid, eid)
        used = {p["proxyPort"] for p in self.state.tcp_proxies.values()}
        port = 10000 + secrets.randbelow(50000)
        while port in used:
            port = 10000 + secrets.randbelow(50000)
        now = _now()
        p: dict[str, Any] = {
            "id": _uid(),
            "domain": "shuttle.proxy.rlwy.net",
            "proxyPort": port,
            "applicationPort": input["applicationPort"],
            "environmentId": eid,
            "serviceId": sid,
            "syncStatus": "ACTIVE",
            "createdAt": now,
            "updatedAt": now,
            "deletedAt": None,
            "_seq": self._next_seq(),
        }
        self.state.tcp_proxies[p["id"]] = p
        return {k: v for k, v in p.items() if not k.startswith("_")}

    @_mutation("tcpProxyDelete")
    def _m_tcp_proxy_delete(self, info: Any, id: str) -> bool:
        self._get(self.state.tcp_proxies, id, "TCP proxy not found")
        del self.state.tcp_proxies[id]
        return True

    # ---- deployment triggers
    @_mutation("deploymentTriggerCreate")
    def _m_trigger_create(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        pid, eid, sid = input["projectId"], input["environmentId"], input["serviceId"]
        self._get_project(pid)
        self._get_env(eid, pid)
        self._get_service(sid, pid)
        self._get_instance(sid, eid)
        if input["provider"] != "github":
            raise GraphQLError(f"Unsupported provider: {input['provider']}")
        if not re.match(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", input["repository"]):
            raise GraphQLError("Invalid repository")
        if not input["branch"].strip():
            raise GraphQLError("Branch cannot be empty")
        t = self._new_trigger(pid, eid, sid, input["repository"], input["branch"], bool(input.get("checkSuites")))
        t["_rootDirectory"] = input.get("rootDirectory")
        inst = self.state.instances[(sid, eid)]
        if not (inst.get("source") or {}).get("image"):
            inst["source"] = {"image": None, "repo": input["repository"]}
        return self._v_trigger(t)

    @_mutation("deploymentTriggerUpdate")
    def _m_trigger_update(self, info: Any, id: str, input: dict[str, Any]) -> dict[str, Any]:
        t = self._get(self.state.triggers, id, "Deployment trigger not found")
        if input.get("branch") is not None:
            if not input["branch"].strip():
                raise GraphQLError("Branch cannot be empty")
            t["branch"] = input["branch"]
        if input.get("repository") is not None:
            t["repository"] = input["repository"]
        if input.get("checkSuites") is not None:
            t["checkSuites"] = bool(input["checkSuites"])
        if "rootDirectory" in input:
            t["_rootDirectory"] = input["rootDirectory"]
        return self._v_trigger(t)

    @_mutation("deploymentTriggerDelete")
    def _m_trigger_delete(self, info: Any, id: str) -> bool:
        self._get(self.state.triggers, id, "Deployment trigger not found")
        del self.state.triggers[id]
        return True

    # ---- deployments
    @_mutation("serviceInstanceDeployV2")
    def _m_deploy_v2(self, info: Any, serviceId: str, environmentId: str, commitSha: str | None = None) -> str:
        self._scope_env(info, environmentId)
        self._get_instance(serviceId, environmentId)
        if commitSha is not None and not _SHA_RE.match(commitSha):
            raise GraphQLError("Commit not found")
        return str(self._new_deployment(serviceId, environmentId, "deploy", commit_sha=commitSha)["id"])

    @_mutation("serviceInstanceDeploy")
    def _m_deploy(
        self,
        info: Any,
        serviceId: str,
        environmentId: str,
        commitSha: str | None = None,
        latestCommit: bool | None = None,
    ) -> bool:
        self._m_deploy_v2(info, serviceId, environmentId, commitSha)
        return True

    @_mutation("serviceInstanceRedeploy")
    def _m_instance_redeploy(self, info: Any, serviceId: str, environmentId: str) -> bool:
        self._scope_env(info, environmentId)
        self._get_instance(serviceId, environmentId)
        prev = [d for d in self._deployments_of(serviceId, environmentId) if not d["_deleted"]]
        self._new_deployment(serviceId, environmentId, "redeploy", copy_of=prev[0] if prev else None)
        return True

    @_mutation("deploymentRedeploy")
    def _m_deployment_redeploy(self, info: Any, id: str, usePreviousImageTag: bool | None = None) -> dict[str, Any]:
        d = self._get_deployment(id)
        self._deployment_scope(info, d)
        self._get_instance(d["serviceId"], d["environmentId"])
        return self._v_deployment(self._new_deployment(d["serviceId"], d["environmentId"], "redeploy", copy_of=d))

    @_mutation("deploymentRollback")
    def _m_deployment_rollback(self, info: Any, id: str) -> bool:
        d = self._get_deployment(id)
        self._deployment_scope(info, d)
        if not (d["_succeeded"] and d["status"] == "REMOVED" and not d["_deleted"]):
            raise GraphQLError("Deployment cannot be rolled back")
        self._get_instance(d["serviceId"], d["environmentId"])
        self._new_deployment(d["serviceId"], d["environmentId"], "rollback", copy_of=d)
        return True

    @_mutation("deploymentCancel")
    def _m_deployment_cancel(self, info: Any, id: str) -> bool:
        d = self._get_deployment(id)
        self._deployment_scope(info, d)
        if d["status"] in IN_FLIGHT:
            self._set_status(d, "REMOVED")
        return True

    @_mutation("deploymentRestart")
    def _m_deployment_restart(self, info: Any, id: str) -> bool:
        d = self._get_deployment(id)
        self._deployment_scope(info, d)
        if d["status"] != "SUCCESS":
            raise GraphQLError("Deployment is not running")
        return True

    @_mutation("deploymentStop")
    def _m_deployment_stop(self, info: Any, id: str) -> bool:
        d = self._get_deployment(id)
        self._deployment_scope(info, d)
        d["deploymentStopped"] = True
        self._set_status(d, "REMOVED")
        return True

    @_mutation("deploymentRemove")
    def _m_deployment_remove(self, info: Any, id: str) -> bool:
        d = self._get_deployment(id)
        self._deployment_scope(info, d)
        self._set_status(d, "REMOVED")
        d["_deleted"] = True
        return True

    @_mutation("environmentTriggersDeploy")
    def _m_environment_triggers_deploy(self, info: Any, input: dict[str, Any]) -> bool:
        pid, eid, sid = input["projectId"], input["environmentId"], input["serviceId"]
        self._scope_env(info, eid)
        self._get_project(pid)
        self._get_env(eid, pid)
        self._get_instance(sid, eid)
        if not self._triggers_of(sid, eid):
            raise GraphQLError("No deployment triggers found for this service")
        self._new_deployment(sid, eid, "trigger")
        return True

    # ---- tokens
    @_mutation("projectTokenCreate")
    def _m_project_token_create(self, info: Any, input: dict[str, Any]) -> str:
        pid, eid = input["projectId"], input["environmentId"]
        self._get_project(pid)
        self._get_env(eid, pid)
        if not input["name"].strip():
            raise GraphQLError("Token name cannot be empty")
        value = _uid()
        t: dict[str, Any] = {
            "id": _uid(),
            "name": input["name"],
            "projectId": pid,
            "environmentId": eid,
            "token": value,
            "createdAt": _now(),
            "_seq": self._next_seq(),
        }
        self.state.project_tokens[t["id"]] = t
        return value

    @_mutation("projectTokenDelete")
    def _m_project_token_delete(self, info: Any, id: str) -> bool:
        self._get(self.state.project_tokens, id, "Project token not found")
        del self.state.project_tokens[id]
        return True

    # ---- templates
    @_mutation("templateDeployV2")
    def _m_template_deploy_v2(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        if input["templateId"] != POSTGRES_TEMPLATE_ID:
            raise GraphQLError("Template not found")
        cfg = input.get("serializedConfig")
        if not isinstance(cfg, Mapping) or not isinstance(cfg.get("services"), Mapping) or not cfg["services"]:
            raise GraphQLError("Invalid serialized template config")
        if input.get("workspaceId") is not None and input["workspaceId"] != self.workspace_id:
            raise GraphQLError(NOT_AUTHORIZED)
        if input.get("projectId"):
            project = self._get_project(input["projectId"])
        else:
            project = self._create_project(
                {"name": f"postgres-{secrets.token_hex(2)}", "workspaceId": input.get("workspaceId")}
            )
        pid = project["id"]
        eid = input.get("environmentId") or self._primary_env_id(pid)
        env = self._get_env(eid, pid)
        tpl_svc = next(iter(cfg["services"].values()))
        region = _template_region(tpl_svc)
        if region is not None:
            self._check_region(region)
        stage_only = bool(input.get("stageOnly"))
        env_id = env["id"]

        def materialise() -> None:
            """What the template's workflow makes when it completes: the service, its variables, its volume."""
            if pid not in self.state.projects or env_id not in self.state.environments:
                return  # deleted while the workflow ran
            base = tpl_svc.get("name") if isinstance(tpl_svc, Mapping) and tpl_svc.get("name") else "Postgres"
            name = base
            existing = {s["name"] for s in self._services_of(pid)}
            while name in existing:
                name = f"{base}-{secrets.token_hex(2)}"
            svc = self._create_service(
                pid,
                name,
                environment_id=env_id,
                source={"image": POSTGRES_IMAGE},
                icon="https://devicons.railway.com/i/postgresql.svg",
                template_id=POSTGRES_TEMPLATE_ID,
                deploy=False,
            )
            if region is not None:
                self.state.instances[(svc["id"], env_id)]["multiRegionConfig"] = {region: {"numReplicas": 1}}
            self._set_vars(
                pid,
                env_id,
                svc["id"],
                {
                    "PGUSER": "postgres",
                    "PGPASSWORD": secrets.token_urlsafe(24),
                    "PGDATABASE": "railway",
                    "PGHOST": "${{RAILWAY_PRIVATE_DOMAIN}}",
                    "PGPORT": "5432",
                    "PGDATA": f"{POSTGRES_MOUNT}/pgdata",
                    "POSTGRES_USER": "${{PGUSER}}",
                    "POSTGRES_PASSWORD": "${{PGPASSWORD}}",
                    "POSTGRES_DB": "${{PGDATABASE}}",
                    "DATABASE_URL": "postgresql://${{PGUSER}}:${{PGPASSWORD}}@${{PGHOST}}:${{PGPORT}}/${{PGDATABASE}}",
                },
            )
            self._new_volume(pid, POSTGRES_MOUNT, svc["id"], env_id, region)
            if not stage_only:
                self._new_deployment(svc["id"], env_id, "template")

        wid = self._new_workflow(
            "templateDeploy",
            projectId=pid,
            _on_complete=materialise,
            _polls_needed=self.template_workflow_polls,
            _due=time.monotonic() + self.template_delay_seconds,
        )
        if self.template_workflow_polls <= 0:
            self._complete_workflow(self.state.workflows[wid])
        return {"projectId": pid, "workflowId": wid}

    # ---- volumes
    @_mutation("volumeCreate")
    def _m_volume_create(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        pid = input["projectId"]
        self._get_project(pid)
        v = self._new_volume(
            pid, input["mountPath"], input.get("serviceId"), input.get("environmentId"), input.get("region")
        )
        return self._v_volume(v)

    @_mutation("volumeUpdate")
    def _m_volume_update(self, info: Any, volumeId: str, input: dict[str, Any]) -> dict[str, Any]:
        v = self._get(self.state.volumes, volumeId, "Volume not found")
        if input.get("name"):
            v["name"] = input["name"]
        return self._v_volume(v)

    @_mutation("volumeInstanceUpdate")
    def _m_volume_instance_update(
        self, info: Any, volumeId: str, input: dict[str, Any], environmentId: str | None = None
    ) -> bool:
        v = self._get(self.state.volumes, volumeId, "Volume not found")
        vis = [
            vi
            for vi in self.state.volume_instances.values()
            if vi["volumeId"] == volumeId and (environmentId is None or vi["environmentId"] == environmentId)
        ]
        if not vis:
            raise GraphQLError("VolumeInstance not found")
        for vi in vis:
            if input.get("mountPath") is not None:
                if not input["mountPath"].startswith("/"):
                    raise GraphQLError("Invalid mount path")
                vi["mountPath"] = input["mountPath"]
            if "serviceId" in input:
                if input["serviceId"] is not None:
                    self._get_instance(input["serviceId"], vi["environmentId"])
                    if self._get_service(input["serviceId"])["projectId"] != v["projectId"]:
                        raise GraphQLError("Service not found")
                vi["serviceId"] = input["serviceId"]
            if input.get("state") is not None:
                vi["state"] = input["state"]
        return True

    @_mutation("volumeDelete")
    def _m_volume_delete(self, info: Any, volumeId: str) -> bool:
        self._get(self.state.volumes, volumeId, "Volume not found")
        self._delete_volume(volumeId)
        return True

    # ---- volume backups
    @_mutation("volumeInstanceBackupCreate")
    def _m_backup_create(self, info: Any, volumeInstanceId: str, name: str | None = None) -> dict[str, Any]:
        vi = self._get(self.state.volume_instances, volumeInstanceId, "VolumeInstance not found")
        b: dict[str, Any] = {
            "id": _uid(),
            "name": name or "Manual",
            "createdAt": _now(),
            "expiresAt": None,
            "externalId": f"snap-{secrets.token_hex(8)}",
            "creatorId": "user-fake",
            "referencedMB": int(vi["currentSizeMB"]),
            "usedMB": int(vi["currentSizeMB"]),
            "scheduleId": None,
            "volumeInstanceSizeMB": vi["sizeMB"],
            "_volumeInstanceId": volumeInstanceId,
            "_seq": self._next_seq(),
        }
        self.state.backups[b["id"]] = b
        return {"workflowId": self._new_workflow("backupCreate", backupId=b["id"])}

    def _backup_of(self, volume_instance_id: str, backup_id: str) -> dict[str, Any]:
        self._get(self.state.volume_instances, volume_instance_id, "VolumeInstance not found")
        b = self._get(self.state.backups, backup_id, "Backup not found")
        if b["_volumeInstanceId"] != volume_instance_id:
            raise GraphQLError("Backup not found")
        return b

    @_mutation("volumeInstanceBackupDelete")
    def _m_backup_delete(self, info: Any, volumeInstanceBackupId: str, volumeInstanceId: str) -> dict[str, Any]:
        self._backup_of(volumeInstanceId, volumeInstanceBackupId)
        del self.state.backups[volumeInstanceBackupId]
        return {"workflowId": self._new_workflow("backupDelete", backupId=volumeInstanceBackupId)}

    @_mutation("volumeInstanceBackupLock")
    def _m_backup_lock(self, info: Any, volumeInstanceBackupId: str, volumeInstanceId: str) -> bool:
        b = self._backup_of(volumeInstanceId, volumeInstanceBackupId)
        b["expiresAt"] = None
        return True

    @_mutation("volumeInstanceBackupRestore")
    def _m_backup_restore(
        self,
        info: Any,
        volumeInstanceBackupId: str,
        volumeInstanceId: str,
        replicaServiceIds: list[str] | None = None,
        wipeServiceIds: list[str] | None = None,
    ) -> dict[str, Any]:
        self._backup_of(volumeInstanceId, volumeInstanceBackupId)
        vi = self.state.volume_instances[volumeInstanceId]
        vi["state"] = "RESTORING"

        def done() -> None:
            if volumeInstanceId in self.state.volume_instances:
                self.state.volume_instances[volumeInstanceId]["state"] = "READY"

        wid = self._new_workflow(
            "backupRestore", backupId=volumeInstanceBackupId, volumeInstanceId=volumeInstanceId, _on_complete=done
        )
        return {"workflowId": wid}

    @_mutation("volumeInstanceBackupScheduleUpdate")
    def _m_backup_schedule_update(self, info: Any, kinds: list[str], volumeInstanceId: str) -> bool:
        self._get(self.state.volume_instances, volumeInstanceId, "VolumeInstance not found")
        cur = self.state.backup_schedules.get(volumeInstanceId, {})
        new: dict[str, dict[str, Any]] = {}
        for kind in kinds:
            if kind in cur:
                new[kind] = cur[kind]
                continue
            name, cron, retention = BACKUP_KINDS[kind]
            new[kind] = {
                "id": _uid(),
                "kind": kind,
                "name": name,
                "cron": cron,
                "retentionSeconds": retention,
                "createdAt": _now(),
            }
        if new:
            self.state.backup_schedules[volumeInstanceId] = new
        else:
            self.state.backup_schedules.pop(volumeInstanceId, None)
        return True


# ------------------------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    """Run the fake standalone: prints its URL on stdout and serves until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.railway_api", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--token-env",
        default="FAKE_RAILWAY_TOKEN",
        help="environment variable holding the accepted Bearer token (default token if unset: fake-railway-token)",
    )
    parser.add_argument("--workspace-id", default="ws-fake")
    parser.add_argument("--deploy-polls", type=int, default=2, help="deployment(id) polls until a deploy finishes")
    parser.add_argument("--schema", default=None, help="path to Railway's schema.graphql")
    args = parser.parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("the fake only listens on loopback")
    fake = FakeRailway(
        token=os.environ.get(args.token_env) or "fake-railway-token",
        workspace_id=args.workspace_id,
        deploy_polls_to_finish=args.deploy_polls,
        schema_path=args.schema,
        host=args.host,
        port=args.port,
    )
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
