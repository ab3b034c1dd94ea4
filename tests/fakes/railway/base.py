"""Constants, small helpers and the resolver registry shared by every part of the fake Railway API."""

from __future__ import annotations

import base64
import fnmatch
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import graphql
from graphql import GraphQLError
from graphql.language import (
    DocumentNode,
    FieldNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
)

from tests.fakes.base import Answer, json_answer, text_answer

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
        "httpMetrics",  # the 5xx-rate alert's metrics token (tests/fakes/railway/metrics.py)
        "httpMetricsGroupedByStatus",
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


def _watched(path: str, pattern: str) -> bool:
    """A gitignore-style watch pattern of Railway: ``backend/**`` matches everything under backend/."""
    if pattern.endswith("/**"):
        return path.startswith(pattern[:-2])
    return fnmatch.fnmatchcase(path, pattern)


def _format_retry_after(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else format(value, "g")


@dataclass
class _Ctx:
    auth: str
    token: dict[str, Any] | None


# The shared plumbing's answer type, under the names the resolver modules know.
_Response = Answer
_json_response = json_answer
_text_response = text_answer


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
