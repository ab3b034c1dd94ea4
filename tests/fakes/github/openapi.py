"""GitHub's published OpenAPI descriptions as the fake's judge: routing by operationId, and validation of
every request the provider sends and every response the fake gives back.

Two descriptions are checked, both from the npm package ``@octokit/openapi`` (installed by
``scripts/provide-github-openapi.sh``): ``api.github.com.json``, what production talks to, and
``ghes-3.19.json``, GitHub Enterprise Server, whose ``/api/v3`` layout the provider uses against a
``base_url`` (every path of the fake is ``/api/v3/<described path>``). Routing uses api.github.com's
paths; an operation must be described, with the same operationId, in both.

Validation is done by openapi-core (parameters, request bodies, status codes, response bodies and their
``required`` properties). Exactly two things the provider does are not in the descriptions; they are
listed in :data:`KNOWN_DEVIATIONS` and in docs/github.md ("Three listed deviations"), counted on each request, and
never silently accepted beyond what is listed there.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from werkzeug.datastructures import MultiDict

REPO = Path(__file__).resolve().parents[3]
DESCRIPTION_FILES = {"api.github.com": "api.github.com.json", "ghes-3.19": "ghes-3.19.json"}
PRIMARY = "api.github.com"
_HOST = "http://github.fake"  # every description's servers are replaced by this one host (paths are what matter)

#: (operationId, request-body property) the provider sends although the descriptions do not list it.
KNOWN_DEVIATIONS: Mapping[tuple[str, str], str] = {
    ("repos/create-or-update-environment", "can_admins_bypass"): (
        "the provider always sends can_admins_bypass (the environment's 'Allow administrators to bypass' "
        "setting); GitHub accepts it, its description's request body does not list it "
        "(additionalProperties: false)"
    ),
}
#: The provider addresses environment secrets by repository id (go-github's ``repositories/{id}/…`` form).
REPOSITORY_ID_ALIAS = (
    "go-github addresses environment secrets as /repositories/{repository_id}/environments/…, a form GitHub "
    "serves for every /repos/{owner}/{repo}/… path but does not describe; the fake resolves the id and "
    "validates the request as the described /repos/{owner}/{repo}/… operation"
)
#: Where a description cannot be satisfied as written, the one change the fake makes to it before judging.
DESCRIPTION_FIXES = (
    "error answers described as oneOf [basic-error, repository-rule-violation-error] (409 of a contents "
    "write, among others) are judged as anyOf: every GitHub error body satisfies both schemas at once, so "
    "oneOf (exactly one) could never pass",
    "a property described as nullable with an enum (a job's or a run's conclusion while it runs) accepts null: "
    "GitHub answers null there, and OpenAPI 3.0 validators take the enum literally",
)
_AMBIGUOUS_ERRORS = {"#/components/schemas/basic-error", "#/components/schemas/repository-rule-violation-error"}
#: path parameters that may hold slashes (a file path, a git ref, a branch name)
_MULTI_SEGMENT = {"path", "ref", "branch"}


def description_dir() -> Path:
    """The folder with the descriptions: ``MAYA_GITHUB_OPENAPI_DIR``, else scripts/provide-github-openapi.sh."""
    given = os.environ.get("MAYA_GITHUB_OPENAPI_DIR")
    if given:
        return Path(given)
    out = subprocess.run(
        ["bash", str(REPO / "scripts" / "provide-github-openapi.sh")],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    folder = Path(out.stdout.strip().splitlines()[-1])
    os.environ["MAYA_GITHUB_OPENAPI_DIR"] = str(folder)  # once per process
    return folder


@dataclass(frozen=True)
class Operation:
    """One described operation: ``GET /repos/{owner}/{repo}`` is ``repos/get``."""

    operation_id: str
    method: str  # upper case
    template: str  # as described, without the /api/v3 prefix
    pattern: re.Pattern[str]
    literal_chars: int  # more literal text wins when two templates match (…/secrets/public-key)
    statuses: frozenset[int]  # the status codes the operation describes

    def params(self, path: str) -> dict[str, str] | None:
        m = self.pattern.fullmatch(path)
        return None if m is None else m.groupdict()


def _compile(template: str) -> tuple[re.Pattern[str], int]:
    parts, literal, pos = [], 0, 0
    for m in re.finditer(r"\{([^}]+)\}", template):
        text = template[pos : m.start()]
        parts.append(re.escape(text))
        literal += len(text)
        name = m.group(1)
        group = name.replace("-", "_")
        parts.append(f"(?P<{group}>.+)" if name in _MULTI_SEGMENT else f"(?P<{group}>[^/]+)")
        pos = m.end()
    parts.append(re.escape(template[pos:]))
    literal += len(template) - pos
    return re.compile("".join(parts)), literal


class Description:
    """One OpenAPI description: its operations and an openapi-core validator."""

    def __init__(self, name: str, document: dict[str, Any]) -> None:
        self.name = name
        self.version = str(document.get("info", {}).get("version", "?"))
        document = {**document, "servers": [{"url": _HOST}]}
        _fix_ambiguous_errors(document)
        _fix_nullable_enums(document)
        self.api = OpenAPI.from_dict(document, config=Config(spec_validator_cls=None))
        self.operations: dict[str, Operation] = {}
        self._by_method: dict[str, list[Operation]] = {}
        for template, item in document["paths"].items():
            pattern, literal = _compile(template)
            for method, op in item.items():
                if not isinstance(op, dict) or "operationId" not in op:
                    continue
                statuses = frozenset(int(k) for k in op.get("responses", {}) if str(k).isdigit())
                operation = Operation(op["operationId"], method.upper(), template, pattern, literal, statuses)
                self.operations[operation.operation_id] = operation
                self._by_method.setdefault(operation.method, []).append(operation)
        self._paths = [(_compile(t)[0]) for t in document["paths"]]

    def route(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        """The described operation for ``method path`` (path without /api/v3), most literal template first."""
        found = [(op, p) for op in self._by_method.get(method, []) if (p := op.params(path)) is not None]
        if not found:
            return None
        return max(found, key=lambda item: item[0].literal_chars)

    def path_is_described(self, path: str) -> bool:
        return any(p.fullmatch(path) for p in self._paths)

    def validate_request(self, op: Operation, call: Call) -> list[str]:
        request = call.mock_request(op)
        try:
            self.api.validate_request(request)
        except Exception as exc:  # openapi-core raises one exception per problem kind
            return [f"{self.name}: request: {_explain(exc)}"]
        return []

    def validate_response(
        self, op: Operation, call: Call, status: int, body: bytes, headers: Mapping[str, str]
    ) -> list[str]:
        request = call.mock_request(op)
        content_type = headers.get("Content-Type", "application/json").split(";")[0] if body else ""
        response = MockResponse(body, status_code=status, headers=dict(headers), content_type=content_type)
        try:
            self.api.validate_response(request, response)
        except Exception as exc:
            return [f"{self.name}: response {status}: {_explain(exc)}"]
        return []


def _fix_ambiguous_errors(document: dict[str, Any]) -> None:
    """DESCRIPTION_FIXES[0], in place: oneOf -> anyOf where the alternatives are the two error shapes."""
    for item in document["paths"].values():
        for op in item.values():
            if not isinstance(op, dict):
                continue
            for response in op.get("responses", {}).values():
                schema = response.get("content", {}).get("application/json", {}).get("schema", {})
                refs = {alt.get("$ref") for alt in schema.get("oneOf", [])}
                if refs and refs == _AMBIGUOUS_ERRORS:
                    schema["anyOf"] = schema.pop("oneOf")


def _fix_nullable_enums(node: Any) -> None:
    """DESCRIPTION_FIXES[1], in place: ``nullable: true`` + ``enum`` gets ``None`` among its values."""
    if isinstance(node, dict):
        enum = node.get("enum")
        if node.get("nullable") is True and isinstance(enum, list) and None not in enum:
            enum.append(None)
        for value in node.values():
            _fix_nullable_enums(value)
    elif isinstance(node, list):
        for value in node:
            _fix_nullable_enums(value)


@dataclass
class Call:
    """A request in the described form: the template's parameters, query, headers and the body as validated."""

    method: str
    path: str  # the described path (a /repositories/{id}/… alias already resolved), without /api/v3
    params: dict[str, str]
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes
    content_type: str

    def mock_request(self, op: Operation) -> MockRequest:
        request = MockRequest(
            _HOST,
            self.method.lower(),
            self.path,
            path_pattern=op.template,
            args=MultiDict(self.query),
            view_args={k: v for k, v in self.params.items()},
            headers=self.headers,
            data=self.body or None,
            content_type=self.content_type if self.body else "",
        )
        return request


def _explain(exc: BaseException) -> str:
    """openapi-core's message plus the schema errors it wraps (which property, which rule)."""
    details = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        for err in getattr(current, "schema_errors", ()) or ():
            where = "/".join(str(p) for p in getattr(err, "absolute_path", ())) or "(body)"
            details.append(f"{where}: {getattr(err, 'message', err)}")
        current = current.__cause__ or current.__context__
    if details:
        return f"{type(exc).__name__}: " + "; ".join(details[:8])
    return f"{type(exc).__name__}: {str(exc)[:400]}"


class Judge:
    """Both descriptions: route with api.github.com's, validate with each; loaded once per process."""

    _lock = threading.Lock()
    _instance: Judge | None = None

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.version = (folder / "VERSION").read_text().strip() if (folder / "VERSION").exists() else "?"
        self.descriptions = {
            name: Description(name, json.loads((folder / file).read_text(encoding="utf-8")))
            for name, file in DESCRIPTION_FILES.items()
        }
        self.primary = self.descriptions[PRIMARY]

    @classmethod
    def shared(cls) -> Judge:
        with cls._lock:
            if cls._instance is None:
                cls._instance = Judge(description_dir())
            return cls._instance

    def route(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        return self.primary.route(method, path)

    def validate_request(self, op: Operation, call: Call) -> list[str]:
        problems = []
        for description in self.descriptions.values():
            if op.operation_id not in description.operations:
                problems.append(f"{description.name}: {op.operation_id} is not described")
                continue
            problems.extend(description.validate_request(description.operations[op.operation_id], call))
        return problems

    def validate_response(
        self, op: Operation, call: Call, status: int, body: bytes, headers: Mapping[str, str]
    ) -> tuple[list[str], bool]:
        """(problems, undescribed): an error status GitHub answers on any operation (``GENERAL_ERRORS``) but
        a description does not list for this one is checked as GitHub's basic-error shape instead."""
        problems, undescribed = [], False
        for description in self.descriptions.values():
            own = description.operations.get(op.operation_id)
            if own is None:
                continue
            if status not in own.statuses and status in GENERAL_ERRORS:
                undescribed = True
                if not _is_basic_error(body):
                    problems.append(f"{description.name}: {status} answer is not a basic-error: {body[:200]!r}")
                continue
            problems.extend(description.validate_response(own, call, status, body, headers))
        return problems, undescribed


#: statuses GitHub answers on any operation (with a basic-error body) though many operations do not list them
GENERAL_ERRORS = frozenset({401, 403, 404, 409, 422})


def _is_basic_error(body: bytes) -> bool:
    try:
        payload = json.loads(body)
    except ValueError:
        return False
    return isinstance(payload, dict) and isinstance(payload.get("message"), str)
