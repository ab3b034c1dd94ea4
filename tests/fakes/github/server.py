"""A fake GitHub REST API on 127.0.0.1, in the GHES layout the provider uses against a ``base_url``
(``/api/v3/<path>``), that answers only what GitHub's OpenAPI description describes and checks every
request and response against it (tests/fakes/github/openapi.py).

Stateful for what the program manages: environments (reviewers, wait timer, deployment branch policy and
branch policies), environment secrets (sealed with the environment's libsodium public key; the fake
refuses anything it cannot open) and variables, repository rulesets (with ETags and 304s, as GitHub
does), and files on branches (git blobs/commits/branches with real SHA-1s, 409 when a write names a stale
blob). Plus the reads the provider makes on the way: the owner, the repository, a branch, a commit. And
issue / pull-request comments (list with GitHub's paging and Link header, get, create, edit, delete): the
preview workflow's one comment per pull request (workflows/scripts/pr_preview.py). Issues and pull requests
exist only once a test opens them (``add_issue``); anything else answers 404, as GitHub does.

Loud by design: a path GitHub does not describe answers 501 naming the method and path; a described
operation the fake does not implement answers 501 naming its operationId; a request that does not match
the description answers 422 naming the operationId and the problem; a response of the fake's own that
does not match answers 501. Each is also recorded (``requests``, ``problems``) for the tests.

Faults (``inject``): a 403 secondary rate limit with Retry-After, any 5xx before or after the write
lands, a 409 on a contents write, for the next N calls of an operation.
"""

from __future__ import annotations

import base64
import contextlib
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from nacl.exceptions import CryptoError

from tests.fakes.base import AFTER, BEFORE, Answer, Incoming, LoopbackFake, answer_with_fault, take_fault
from tests.fakes.github.model import (
    Account,
    BranchPolicy,
    Environment,
    Git,
    Issue,
    IssueComment,
    Repository,
    Ruleset,
    Secret,
    Variable,
    next_id,
    now,
)
from tests.fakes.github.openapi import KNOWN_DEVIATIONS, REPOSITORY_ID_ALIAS, Call, Judge, Operation
from tests.fakes.github.payloads import Payloads

__all__ = ["FakeGitHub", "Fault", "HttpError", "RecordedRequest"]

REST_PREFIX = "/api/v3"
GRAPHQL_PATH = "/api/graphql"
SECONDARY_RATE_LIMIT_DOCS = (
    "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits"
)


@dataclass
class RecordedRequest:
    """One HTTP request the fake received (the Authorization header's value is never kept, only its kind)."""

    method: str
    path: str  # as sent, without the query string
    query: dict[str, list[str]]
    status: int
    auth_kind: str  # "token" | "bearer" | "basic" | "none" | "other"
    operation_id: str = ""  # "" when the path is not described
    body: Any = field(default=None, repr=False)  # decoded JSON as sent (sealed secrets only, never plaintext)
    problems: list[str] = field(default_factory=list)  # validation failures (request or response)
    deviations: list[str] = field(default_factory=list)  # the listed, known ones (openapi.KNOWN_DEVIATIONS)
    undescribed_status: bool = False  # a general error status / 304 the operation does not list
    fault: str = ""  # the injected fault this request received, if any
    user_agent: str = ""
    at: float = field(default_factory=time.monotonic)

    @property
    def line(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def is_write(self) -> bool:
        return self.method in ("POST", "PUT", "PATCH", "DELETE")


@dataclass
class Fault:
    """Answer the next ``times`` calls of ``operation_id`` with ``status`` instead of (or after) the real work.

    ``after_write``: the write lands first, then the error is returned (an outcome unknown to the caller).
    ``retry_after``: seconds, for a 403 secondary rate limit (sent as Retry-After).
    """

    operation_id: str
    status: int
    times: int = 1
    retry_after: int | None = None
    after_write: bool = False
    message: str = ""
    path_contains: str = ""  # only requests whose path contains this (one file of several)
    hits: int = 0  # requests it answered so far; it leaves ``FakeGitHub.faults`` when hits reach times


class HttpError(Exception):
    """An answer other than success, raised by a handler (status, GitHub-style error message; ``errors``
    makes it GitHub's validation-error shape, for a 422 "Validation Failed")."""

    def __init__(self, status: int, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors


Handler = Callable[["Context"], tuple[int, Any]]


@dataclass
class Context:
    op: Operation
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    headers: dict[str, str]


class FakeGitHub(LoopbackFake[RecordedRequest]):
    """The fake GitHub API. ``orgs``/``users``/``teams`` are the accounts it knows (logins; teams as
    ``org/slug``), ``repos`` the existing repositories (``owner/name``) with ``branches`` on each.

    ``token``: when set, requests with another token answer 401. ``watch``: plaintext values (the stack's
    secrets) that must never appear in a request: one that does is refused (400) and recorded in ``leaks``.
    """

    fake_name = "fake-github"
    server_version = "FakeGitHub/1.0"

    def __init__(
        self,
        *,
        orgs: Iterable[str] = ("mayassistant",),
        login: str = "maya-bot",
        repos: Iterable[str] = (),
        branches: Iterable[str] = ("main", "develop"),
        users: dict[str, int] | None = None,
        teams: dict[str, int] | None = None,
        token: str | None = None,
        watch: Iterable[str] = (),
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self._init_loopback(host, port)
        self.judge = Judge.shared()
        self.token = token
        self.watch = {w for w in watch if w}
        self.login = login
        self.accounts: dict[str, Account] = {}
        for org in orgs:
            self._add_account(org, "Organization")
        self._add_account(login, "User")
        for name, uid in (users or {}).items():
            self._add_account(name, "User", uid)
        self.teams: dict[int, Account] = {}
        for slug, tid in (teams or {}).items():
            org, _, team = slug.rpartition("/")
            self.teams[tid] = Account(team, tid, "Team", org=org or next(iter(orgs), "mayassistant"))
        self.repos: dict[str, Repository] = {}
        for full in repos:
            self.add_repository(full, branches)
        self.unhandled: list[RecordedRequest] = []
        self.leaks: list[str] = []
        self.faults: list[Fault] = []
        self._payloads = Payloads("http://127.0.0.1:0")
        self._handlers: dict[str, Handler] = self._routes()

    # ----------------------------------------------------------------------------------------- set-up

    def _add_account(self, login: str, kind: str, uid: int | None = None) -> Account:
        account = Account(login, uid or next_id(), kind)
        self.accounts[login.lower()] = account
        return account

    def add_repository(self, full_name: str, branches: Iterable[str] = ("main", "develop")) -> Repository:
        owner, name = full_name.split("/", 1)
        if owner.lower() not in self.accounts:
            self._add_account(owner, "Organization")
        names = list(dict.fromkeys(branches)) or ["main"]
        repo = Repository(next_id(), owner, name, names[0], Git(names), now())
        self.repos[full_name.lower()] = repo
        return repo

    def add_issue(
        self, full_name: str, number: int | None = None, *, pull_request: bool = False, title: str = ""
    ) -> Issue:
        """Open an issue or a pull request on ``full_name`` (the next free number unless given); opening a
        number that exists returns it unchanged (a pull request stays a pull request)."""
        with self._lock:
            repo = self.repos.get(full_name.lower())
            if repo is None:
                raise ValueError(f"add_issue: the fake has no repository {full_name!r} (pass it in repos=)")
            number = number if number is not None else max(repo.issues, default=0) + 1
            issue = repo.issues.get(number)
            if issue is None:
                kind = "pull request" if pull_request else "issue"
                issue = repo.issues[number] = Issue(number, title or f"{kind} {number}", pull_request, now())
            return issue

    def add_user(self, login: str, uid: int) -> None:
        self._add_account(login, "User", uid)

    def add_team(self, org: str, slug: str, tid: int) -> None:
        self.teams[tid] = Account(slug, tid, "Team", org=org)

    # seeding: what the running MAYA already has (made by hand on the settings pages), for adoption --------

    def _seed_repository(self, full_name: str, branch: str | None = None) -> Repository:
        """The repository (created with the usual branches when the fake does not know it yet), with
        ``branch`` present (branched off the default branch when missing)."""
        repo = self.repos.get(full_name.lower()) or self.add_repository(full_name)
        if branch is not None:
            repo.git.ensure_branch(branch, repo.default_branch)
        return repo

    def _seed_reviewer(self, org: str, kind: str, rid: int) -> None:
        """Make a reviewer id known (a user or a team of the repository's organization), as GitHub only
        lists reviewers that exist."""
        if kind == "Team":
            if rid not in self.teams:
                self.teams[rid] = Account(f"team-{rid}", rid, "Team", org=org)
        elif kind == "User":
            if not any(a.id == rid and a.kind == "User" for a in self.accounts.values()):
                self._add_account(f"user-{rid}", "User", rid)
        else:
            raise ValueError(f"add_environment: reviewer kind must be 'User' or 'Team', got {kind!r}")

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
        wait_timer: int = 0,
    ) -> Environment:
        """A deployment environment as the repository's settings page made it: required reviewers
        (``("User"|"Team", id)``, made known to the fake when new), a wait timer, deployment branch
        policies (custom policies naming ``branches``; none given: any branch may deploy), secrets (set
        for real: sealed with the environment's key, so only their names can be read back) and
        variables. Seeding an environment that exists replaces its settings (a second settings save)."""
        reviewer_list = [(kind, int(rid)) for kind, rid in reviewers]
        if len(reviewer_list) > 6:
            raise ValueError("add_environment: GitHub allows at most 6 required reviewers")
        with self._lock:
            repository = self._seed_repository(repo)
            for kind, rid in reviewer_list:
                self._seed_reviewer(repository.owner, kind, rid)
            stamp = now()
            env = repository.environments.get(name)
            if env is None:
                env = repository.environments[name] = Environment(next_id(), name, stamp, stamp)
                env.rule_ids = {k: next_id() for k in ("wait_timer", "required_reviewers", "branch_policy")}
            env.updated_at = stamp
            env.wait_timer = wait_timer
            env.prevent_self_review = prevent_self_review
            env.can_admins_bypass = can_admins_bypass
            env.reviewers = reviewer_list
            patterns = list(dict.fromkeys(branches))
            env.branch_policy = (False, True) if patterns else None
            env.policies = {}
            for pattern in patterns:
                policy = BranchPolicy(next_id(), pattern, "branch")
                env.policies[policy.id] = policy
            for secret in secrets:
                sealed = env.keys.seal(f"seeded value of {secret}")
                env.secrets[secret] = Secret(secret, env.keys.key_id, sealed, stamp, stamp)
            for key, value in (variables or {}).items():
                env.variables[key] = Variable(key, value, stamp, stamp)
            return env

    def add_ruleset(
        self,
        repo: str,
        name: str,
        branch: str,
        *,
        rules: Iterable[dict[str, Any]] = ({"type": "deletion"}, {"type": "non_fast_forward"}),
        enforcement: str = "active",
    ) -> int:
        """A branch ruleset on ``branch`` (active, by default forbidding deletion and force pushes), as
        made by hand; returns its id. Names are unique per repository, as on GitHub."""
        with self._lock:
            repository = self._seed_repository(repo, branch)
            if any(r.name == name for r in repository.rulesets.values()):
                raise ValueError(f"add_ruleset: {repo} already has a ruleset named {name!r}")
            stamp = now()
            ruleset = Ruleset(
                next_id(),
                name,
                "branch",
                enforcement,
                {"ref_name": {"include": [f"refs/heads/{branch}"], "exclude": []}},
                [dict(rule) for rule in rules],
                [],
                stamp,
                stamp,
            )
            repository.rulesets[ruleset.id] = ruleset
            return ruleset.id

    def add_file(self, repo: str, path: str, branch: str, content: str) -> str:
        """Someone committed ``path`` with ``content`` on ``branch`` (created off the default branch when
        missing); returns the commit sha. The blob's sha is git's, as the contents API reports it."""
        who = {"name": "maya-dev", "email": "dev@mayassistant.com", "date": now()}
        with self._lock:
            git = self._seed_repository(repo, branch).git
            return git.commit_on(branch, {path: content.encode()}, f"add {path}", who)

    def inject(self, fault: Fault) -> Fault:
        with self._lock:
            self.faults.append(fault)
        return fault

    # ------------------------------------------------------------------------------------------ lifecycle

    def start(self) -> FakeGitHub:
        self._start_server()
        self._payloads = Payloads(self.base_url)
        return self

    @property
    def port(self) -> int:
        return self.bound_port

    @property
    def url(self) -> str:
        """The provider's ``base_url`` (trailing slash included, as the provider expects)."""
        return f"{self.base_url}/"

    # --------------------------------------------------------------------------------------- observation

    def request_lines(self) -> list[str]:
        with self._lock:
            return [r.line for r in self.requests]

    def counts(self, mark: int = 0) -> Counter[str]:
        """operationId (or ``METHOD path`` when undescribed) -> number of requests since ``mark``."""
        return Counter(r.operation_id or r.line for r in self.since(mark))

    @property
    def problems(self) -> list[str]:
        """Every validation failure so far, one line each: ``operationId: problem``."""
        with self._lock:
            return [f"{r.operation_id or r.line}: {p}" for r in self.requests for p in r.problems]

    def decrypt_secret(self, repo: str, environment: str, name: str) -> str:
        """Open a stored environment secret with the environment's private key (what a workflow run sees)."""
        with self._lock:
            env = self._repo(*repo.split("/", 1)).environments[environment]
            secret = env.secrets[name]
            if secret.key_id != env.keys.key_id:
                raise ValueError(f"{name} was sealed for key {secret.key_id}, the environment's is {env.keys.key_id}")
            return env.keys.open(secret.encrypted_value).decode()

    def environment(self, repo: str, name: str) -> Environment | None:
        with self._lock:
            return self._repo(*repo.split("/", 1)).environments.get(name)

    def repository(self, full_name: str) -> Repository:
        return self._repo(*full_name.split("/", 1))

    @property
    def comments(self) -> dict[int, dict[str, Any]]:
        """Every issue / pull-request comment, id -> ``{id, issue: "owner/name#N", body, user, created_at,
        updated_at}``: a snapshot for assertions (changing it changes nothing in the fake)."""
        with self._lock:
            return {
                c.id: {
                    "id": c.id,
                    "issue": f"{repo.full_name}#{c.issue_number}",
                    "body": c.body,
                    "user": c.user,
                    "created_at": c.created_at,
                    "updated_at": c.updated_at,
                }
                for repo in self.repos.values()
                for c in repo.comments.values()
            }

    def is_empty(self) -> bool:
        """True when nothing the program manages is left (no environment, ruleset, or file it committed)."""
        with self._lock:
            return all(not r.environments and not r.rulesets for r in self.repos.values())

    def commit_out_of_band(self, repo: str, branch: str, path: str, content: str) -> str:
        """Someone pushes ``path`` on ``branch`` (the branch moves under the program): returns the commit sha."""
        who = {"name": "someone", "email": "someone@example.com", "date": now()}
        with self._lock:
            git = self.repository(repo).git
            return git.commit_on(branch, {path: content.encode()}, f"edit {path} by hand", who)

    # ------------------------------------------------------------------------------------------- handling

    def serve(self, request: Incoming) -> Answer:
        method, raw, h = request.method, request.body, request.headers
        parts = urlsplit(request.target)
        auth = h.get("Authorization") or ""
        kind = auth.split(" ", 1)[0].lower() if auth else "none"
        rec = RecordedRequest(
            method=method,
            path=parts.path,
            query={k: [v] for k, v in parse_qsl(parts.query)},
            status=0,
            auth_kind=kind if kind in ("token", "bearer", "basic", "none") else "other",
            user_agent=h.get("User-Agent") or "",
        )
        try:
            rec.body = json.loads(raw) if raw else None
        except ValueError:
            rec.body = raw.decode("utf-8", "replace")
        headers = {k: v for k, v in h.items() if k.lower() != "authorization"}
        with self._lock:
            status, payload, extra_headers = self._process(rec, method, parts.path, parts.query, raw, auth, headers)
            rec.status = status
            self.requests.append(rec)
            if rec.problems and not rec.operation_id:
                self.unhandled.append(rec)
        data = b"" if payload is None else json.dumps(payload).encode()
        answer = Answer(status, {"Content-Type": "application/json; charset=utf-8"} if data else {}, data)
        answer.headers["X-GitHub-Media-Type"] = "github.v3; format=json"
        answer.headers["X-RateLimit-Limit"] = "5000"
        answer.headers["X-RateLimit-Remaining"] = "4999"
        answer.headers["X-RateLimit-Reset"] = str(int(time.time()) + 3600)
        answer.headers.update(extra_headers)
        return answer

    def _process(
        self,
        rec: RecordedRequest,
        method: str,
        path: str,
        query: str,
        raw: bytes,
        auth: str,
        headers: dict[str, str],
    ) -> tuple[int, Any, dict[str, str]]:
        """(status, payload, extra headers) for one request; records problems on ``rec``."""
        p = self._payloads
        if self.token is not None and auth.split(" ", 1)[-1] != self.token:
            return 401, p.error("Bad credentials", 401), {}
        if path == GRAPHQL_PATH:
            rec.problems.append("GraphQL is not modelled by the fake (only the REST operations the program uses)")
            return 501, p.error("fake GitHub: GraphQL (POST /api/graphql) is not modelled"), {}
        if not path.startswith(REST_PREFIX + "/"):
            rec.problems.append(f"{method} {path} is outside /api/v3")
            return 501, p.error(f"fake GitHub: {method} {path} is not a GitHub REST path"), {}
        described = unquote(path[len(REST_PREFIX) :])
        if m := _repository_id_path(described):
            repo = next((r for r in self.repos.values() if str(r.id) == m[0]), None)
            if repo is None:
                return 404, p.error("Not Found", 404), {}
            described = f"/repos/{repo.owner}/{repo.name}{m[1]}"
            rec.deviations.append(REPOSITORY_ID_ALIAS)
        routed = self.judge.route(method, described)
        if routed is None:
            where = (
                "described for another method" if self.judge.primary.path_is_described(described) else "not described"
            )
            rec.problems.append(f"{method} {described} is {where} in GitHub's OpenAPI description")
            return 501, p.error(f"fake GitHub: {method} {path} is {where} in GitHub's OpenAPI description"), {}
        op, params = routed
        rec.operation_id = op.operation_id
        params = {k: unquote(v) for k, v in params.items()}
        leak = self._leak(raw, rec.body, path + "?" + query)
        if leak:
            self.leaks.append(f"{op.operation_id}: {leak}")
            rec.problems.append(f"a secret's plaintext ({leak}) was sent")
            return 400, p.error(f"fake GitHub: {op.operation_id} carried a secret in plaintext"), {}

        body_for_validation = raw
        if isinstance(rec.body, dict):
            listed = {k for (oid, k) in KNOWN_DEVIATIONS if oid == op.operation_id and k in rec.body}
            if listed:
                rec.deviations.extend(KNOWN_DEVIATIONS[(op.operation_id, k)] for k in sorted(listed))
                body_for_validation = json.dumps({k: v for k, v in rec.body.items() if k not in listed}).encode()
        call = Call(
            method=method,
            path=described,
            params=params,
            query=parse_qsl(query),
            headers=headers,
            body=body_for_validation,
            content_type=(headers.get("Content-Type") or "application/json").split(";")[0],
        )
        problems = self.judge.validate_request(op, call)
        if problems:
            rec.problems.extend(problems)
            return (
                422,
                p.error(
                    f"fake GitHub: {op.operation_id}: the request does not match GitHub's description: {problems[0]}"
                ),
                {},
            )

        fault = self._take_fault(op.operation_id, path)

        def work() -> tuple[int, Any, dict[str, str]]:
            return self._run_handler(rec, op, call, params, query, headers)

        def failed() -> tuple[int, Any, dict[str, str]]:
            assert fault is not None
            return self._fault_answer(rec, fault)

        return answer_with_fault(None if fault is None else AFTER if fault.after_write else BEFORE, work, failed)

    def _run_handler(
        self,
        rec: RecordedRequest,
        op: Operation,
        call: Call,
        params: dict[str, str],
        query: str,
        headers: dict[str, str],
    ) -> tuple[int, Any, dict[str, str]]:
        """The operation's answer, checked against its description (a 501 when the fake's own is wrong)."""
        p = self._payloads
        handler = self._handlers.get(op.operation_id)
        if handler is None:
            rec.problems.append(f"{op.operation_id} is described but the fake does not implement it")
            return 501, p.error(f"fake GitHub: {op.operation_id} ({call.method} {op.template}) is not implemented"), {}
        ctx = Context(op, params, dict(parse_qsl(query)), rec.body, headers)
        extra: dict[str, str] = {}
        try:
            status, payload = handler(ctx)
            if isinstance(payload, _WithHeaders):
                extra, payload = payload.headers, payload.payload
        except HttpError as err:
            status, payload = err.status, p.error(err.message, err.status, err.errors)
        if status == 304:
            rec.undescribed_status = True  # conditional requests: documented for the whole API, not per operation
            return 304, None, extra
        data = b"" if payload is None else json.dumps(payload).encode()
        problems, rec.undescribed_status = self.judge.validate_response(
            op, call, status, data, {"Content-Type": "application/json"}
        )
        if problems:
            rec.problems.extend(problems)
            return (
                501,
                p.error(f"fake GitHub bug: its {op.operation_id} answer does not match the description: {problems[0]}"),
                {},
            )
        return status, payload, extra

    def _leak(self, raw: bytes, body: Any, target: str) -> str:
        """The first watched plaintext found in the request (also inside base64 file contents), or ""."""
        texts = [raw.decode("utf-8", "replace"), unquote(target)]
        if isinstance(body, dict) and isinstance(body.get("content"), str):
            with contextlib.suppress(ValueError):
                texts.append(base64.b64decode(body["content"]).decode("utf-8", "replace"))
        for value in self.watch:
            if any(value in t for t in texts):
                return f"{value[:4]}…"
        return ""

    def _take_fault(self, operation_id: str, path: str) -> Fault | None:
        return take_fault(self.faults, lambda f: f.operation_id == operation_id and f.path_contains in path)

    def _fault_answer(self, rec: RecordedRequest, fault: Fault) -> tuple[int, Any, dict[str, str]]:
        p = self._payloads
        rec.fault = f"{fault.status}{' after the write' if fault.after_write else ''}"
        if fault.status == 403 and fault.retry_after is not None:
            message = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
            return (
                403,
                {"message": message, "documentation_url": SECONDARY_RATE_LIMIT_DOCS},
                {"Retry-After": str(fault.retry_after)},
            )
        return fault.status, p.error(fault.message or _REASONS.get(fault.status, "fault"), fault.status), {}

    # ------------------------------------------------------------------------------------------- routes

    def _routes(self) -> dict[str, Handler]:
        return {
            "users/get-authenticated": self._get_authenticated,
            "users/get-by-username": self._get_user,
            "orgs/get": self._get_org,
            "repos/get": self._get_repo,
            "repos/get-branch": self._get_branch,
            "git/get-ref": self._get_ref,
            "repos/get-all-environments": self._list_environments,
            "repos/get-environment": self._get_environment,
            "repos/create-or-update-environment": self._put_environment,
            "repos/delete-an-environment": self._delete_environment,
            "repos/list-deployment-branch-policies": self._list_policies,
            "repos/create-deployment-branch-policy": self._create_policy,
            "repos/get-deployment-branch-policy": self._get_policy,
            "repos/update-deployment-branch-policy": self._update_policy,
            "repos/delete-deployment-branch-policy": self._delete_policy,
            "actions/get-environment-public-key": self._env_public_key,
            "actions/get-repo-public-key": self._repo_public_key,
            "actions/list-environment-secrets": self._list_secrets,
            "actions/get-environment-secret": self._get_secret,
            "actions/create-or-update-environment-secret": self._put_secret,
            "actions/delete-environment-secret": self._delete_secret,
            "actions/list-environment-variables": self._list_variables,
            "actions/create-environment-variable": self._create_variable,
            "actions/get-environment-variable": self._get_variable,
            "actions/update-environment-variable": self._update_variable,
            "actions/delete-environment-variable": self._delete_variable,
            "repos/get-repo-rulesets": self._list_rulesets,
            "repos/create-repo-ruleset": self._create_ruleset,
            "repos/get-repo-ruleset": self._get_ruleset,
            "repos/update-repo-ruleset": self._update_ruleset,
            "repos/delete-repo-ruleset": self._delete_ruleset,
            "repos/get-content": self._get_content,
            "repos/create-or-update-file-contents": self._put_content,
            "repos/delete-file": self._delete_content,
            "repos/get-commit": self._get_commit,
            "repos/list-commits": self._list_commits,
            "issues/list-comments": self._list_comments,
            "issues/create-comment": self._create_comment,
            "issues/get-comment": self._get_comment,
            "issues/update-comment": self._update_comment,
            "issues/delete-comment": self._delete_comment,
        }

    # accounts and repositories ------------------------------------------------------------------------

    def _account(self, login: str) -> Account:
        account = self.accounts.get(login.lower())
        if account is None:
            raise HttpError(404, "Not Found")
        return account

    def _repo(self, owner: str, name: str) -> Repository:
        repo = self.repos.get(f"{owner}/{name}".lower())
        if repo is None:
            raise HttpError(404, "Not Found")
        return repo

    def _get_authenticated(self, c: Context) -> tuple[int, Any]:
        return 200, self._payloads.full_user(self._account(self.login))

    def _get_user(self, c: Context) -> tuple[int, Any]:
        return 200, self._payloads.full_user(self._account(c.params["username"]))

    def _get_org(self, c: Context) -> tuple[int, Any]:
        account = self._account(c.params["org"])
        if account.kind != "Organization":
            raise HttpError(404, "Not Found")
        count = sum(1 for r in self.repos.values() if r.owner.lower() == account.login.lower())
        return 200, self._payloads.organization(account, count)

    def _get_repo(self, c: Context) -> tuple[int, Any]:
        repo = self._repo(c.params["owner"], c.params["repo"])
        return 200, self._payloads.repository(repo, self._account(repo.owner))

    def _commit_payload(self, repo: Repository, sha: str) -> dict[str, Any]:
        # GitHub links a commit to the account of its email; the fake links every commit to the token's user
        return self._payloads.commit(repo, repo.git.commits[sha], self._account(self.login))

    def _get_branch(self, c: Context) -> tuple[int, Any]:
        repo = self._repo(c.params["owner"], c.params["repo"])
        name = c.params["branch"]
        if name not in repo.git.branches:
            raise HttpError(404, "Branch not found")
        protected = any(_ruleset_covers(r, name) for r in repo.rulesets.values())
        commit = self._commit_payload(repo, repo.git.branches[name])
        return 200, self._payloads.branch(repo, name, commit, protected)

    def _get_ref(self, c: Context) -> tuple[int, Any]:
        repo = self._repo(c.params["owner"], c.params["repo"])
        ref = c.params["ref"]
        branch = ref.removeprefix("heads/")
        if not ref.startswith("heads/") or branch not in repo.git.branches:
            raise HttpError(404, "Not Found")
        return 200, self._payloads.ref(repo, f"refs/{ref}", repo.git.branches[branch])

    # environments -------------------------------------------------------------------------------------

    def _env(self, c: Context) -> tuple[Repository, Environment]:
        repo = self._repo(c.params["owner"], c.params["repo"])
        env = repo.environments.get(c.params["environment_name"])
        if env is None:
            raise HttpError(404, "Not Found")
        return repo, env

    def _reviewer_payloads(self, env: Environment) -> list[dict[str, Any]]:
        out = []
        for kind, rid in env.reviewers:
            if kind == "Team":
                out.append({"type": "Team", "reviewer": self._payloads.team(self.teams[rid])})
            else:
                user = next(a for a in self.accounts.values() if a.id == rid and a.kind == "User")
                out.append({"type": "User", "reviewer": self._payloads.simple_user(user)})
        return out

    def _environment_payload(self, repo: Repository, env: Environment) -> dict[str, Any]:
        return self._payloads.environment(repo, env, self._reviewer_payloads(env))

    def _list_environments(self, c: Context) -> tuple[int, Any]:
        repo = self._repo(c.params["owner"], c.params["repo"])
        envs = [self._environment_payload(repo, e) for e in repo.environments.values()]
        return 200, {"total_count": len(envs), "environments": envs}

    def _get_environment(self, c: Context) -> tuple[int, Any]:
        repo, env = self._env(c)
        return 200, self._environment_payload(repo, env)

    def _put_environment(self, c: Context) -> tuple[int, Any]:
        repo = self._repo(c.params["owner"], c.params["repo"])
        name = c.params["environment_name"]
        body = c.body or {}
        reviewers = [(r["type"], int(r["id"])) for r in body.get("reviewers") or []]
        for kind, rid in reviewers:
            known = (
                rid in self.teams
                if kind == "Team"
                else any(a.id == rid and a.kind == "User" for a in self.accounts.values())
            )
            if not known:
                raise HttpError(422, f"Reviewer {kind} {rid} does not exist or has no access to {repo.full_name}")
        if len(reviewers) > 6:
            raise HttpError(422, "An environment can have at most 6 required reviewers")
        policy = body.get("deployment_branch_policy")
        if policy is not None and policy["protected_branches"] == policy["custom_branch_policies"]:
            raise HttpError(422, "protected_branches and custom_branch_policies cannot have the same value")
        stamp = now()
        env = repo.environments.get(name)
        if env is None:
            env = repo.environments[name] = Environment(next_id(), name, stamp, stamp)
            env.rule_ids = {k: next_id() for k in ("wait_timer", "required_reviewers", "branch_policy")}
        env.updated_at = stamp
        env.wait_timer = int(body.get("wait_timer") or 0)
        env.prevent_self_review = bool(body.get("prevent_self_review", False))
        env.can_admins_bypass = bool(body.get("can_admins_bypass", True))
        env.reviewers = reviewers
        env.branch_policy = None if policy is None else (policy["protected_branches"], policy["custom_branch_policies"])
        if env.branch_policy is None or not env.branch_policy[1]:
            env.policies.clear()  # GitHub drops name patterns when custom policies are switched off
        return 200, self._environment_payload(repo, env)

    def _delete_environment(self, c: Context) -> tuple[int, Any]:
        repo = self._repo(c.params["owner"], c.params["repo"])
        if repo.environments.pop(c.params["environment_name"], None) is None:
            raise HttpError(404, "Not Found")
        return 204, None

    # deployment branch policies -----------------------------------------------------------------------

    def _policy(self, c: Context) -> tuple[Environment, BranchPolicy]:
        _, env = self._env(c)
        policy = env.policies.get(int(c.params["branch_policy_id"]))
        if policy is None:
            raise HttpError(404, "Not Found")
        return env, policy

    def _list_policies(self, c: Context) -> tuple[int, Any]:
        _, env = self._env(c)
        items = [self._payloads.branch_policy(p) for p in env.policies.values()]
        return 200, {"total_count": len(items), "branch_policies": items}

    def _create_policy(self, c: Context) -> tuple[int, Any]:
        _, env = self._env(c)
        if env.branch_policy is None or not env.branch_policy[1]:
            raise HttpError(404, "Not Found")  # as described: custom_branch_policies is false
        name, kind = c.body["name"], c.body.get("type", "branch")
        if any(p.name == name and p.type == kind for p in env.policies.values()):
            return 303, None
        policy = BranchPolicy(next_id(), name, kind)
        env.policies[policy.id] = policy
        return 200, self._payloads.branch_policy(policy)

    def _get_policy(self, c: Context) -> tuple[int, Any]:
        return 200, self._payloads.branch_policy(self._policy(c)[1])

    def _update_policy(self, c: Context) -> tuple[int, Any]:
        _, policy = self._policy(c)
        policy.name = c.body["name"]
        return 200, self._payloads.branch_policy(policy)

    def _delete_policy(self, c: Context) -> tuple[int, Any]:
        env, policy = self._policy(c)
        del env.policies[policy.id]
        return 204, None

    # secrets and variables ----------------------------------------------------------------------------

    def _env_public_key(self, c: Context) -> tuple[int, Any]:
        _, env = self._env(c)
        return 200, self._payloads.public_key(env.keys.key_id, env.keys.key)

    def _repo_public_key(self, c: Context) -> tuple[int, Any]:
        repo = self._repo(c.params["owner"], c.params["repo"])
        return 200, self._payloads.public_key(repo.keys.key_id, repo.keys.key)

    def _list_secrets(self, c: Context) -> tuple[int, Any]:
        _, env = self._env(c)
        items = [self._payloads.secret(s) for s in env.secrets.values()]
        return 200, {"total_count": len(items), "secrets": items}

    def _get_secret(self, c: Context) -> tuple[int, Any]:
        _, env = self._env(c)
        secret = env.secrets.get(c.params["secret_name"])
        if secret is None:
            raise HttpError(404, "Not Found")
        return 200, self._payloads.secret(secret)

    def _put_secret(self, c: Context) -> tuple[int, Any]:
        _, env = self._env(c)
        name = c.params["secret_name"]
        key_id, sealed = c.body["key_id"], c.body["encrypted_value"]
        if key_id != env.keys.key_id:
            raise HttpError(422, f"key_id {key_id} is not this environment's public key ({env.keys.key_id})")
        try:
            env.keys.open(sealed)  # only a value sealed with this environment's public key is accepted
        except (CryptoError, ValueError) as exc:
            raise HttpError(422, f"encrypted_value cannot be opened with the environment's key: {exc}") from None
        stamp = now()
        existing = env.secrets.get(name)
        env.secrets[name] = Secret(name, key_id, sealed, existing.created_at if existing else stamp, stamp)
        return (204, None) if existing else (201, {})

    def _delete_secret(self, c: Context) -> tuple[int, Any]:
        _, env = self._env(c)
        if env.secrets.pop(c.params["secret_name"], None) is None:
            raise HttpError(404, "Not Found")
        return 204, None

    def _list_variables(self, c: Context) -> tuple[int, Any]:
        _, env = self._env(c)
        items = [self._payloads.variable(v) for v in env.variables.values()]
        return 200, {"total_count": len(items), "variables": items}

    def _variable(self, c: Context) -> tuple[Environment, Variable]:
        _, env = self._env(c)
        variable = env.variables.get(c.params["name"].upper())
        if variable is None:
            raise HttpError(404, "Not Found")
        return env, variable

    def _create_variable(self, c: Context) -> tuple[int, Any]:
        _, env = self._env(c)
        name = c.body["name"].upper()  # GitHub stores variable names upper-cased
        if name in env.variables:
            raise HttpError(409, "Already exists - Variable already exists")
        stamp = now()
        env.variables[name] = Variable(name, c.body["value"], stamp, stamp)
        return 201, {}

    def _get_variable(self, c: Context) -> tuple[int, Any]:
        return 200, self._payloads.variable(self._variable(c)[1])

    def _update_variable(self, c: Context) -> tuple[int, Any]:
        env, variable = self._variable(c)
        new_name = (c.body.get("name") or variable.name).upper()
        if new_name != variable.name:
            del env.variables[variable.name]
            variable.name = new_name
            env.variables[new_name] = variable
        variable.value = c.body.get("value", variable.value)
        variable.updated_at = now()
        return 204, None

    def _delete_variable(self, c: Context) -> tuple[int, Any]:
        env, variable = self._variable(c)
        del env.variables[variable.name]
        return 204, None

    # rulesets -----------------------------------------------------------------------------------------

    def _ruleset(self, c: Context) -> tuple[Repository, Ruleset]:
        repo = self._repo(c.params["owner"], c.params["repo"])
        ruleset = repo.rulesets.get(int(c.params["ruleset_id"]))
        if ruleset is None:
            raise HttpError(404, "Not Found")
        return repo, ruleset

    def _ruleset_answer(self, status: int, repo: Repository, r: Ruleset) -> tuple[int, Any]:
        return status, _WithHeaders({"ETag": r.etag}, self._payloads.ruleset(repo, r))

    def _list_rulesets(self, c: Context) -> tuple[int, Any]:
        repo = self._repo(c.params["owner"], c.params["repo"])
        return 200, [self._payloads.ruleset(repo, r) for r in repo.rulesets.values()]

    def _create_ruleset(self, c: Context) -> tuple[int, Any]:
        repo = self._repo(c.params["owner"], c.params["repo"])
        body = c.body
        if any(r.name == body["name"] for r in repo.rulesets.values()):
            raise HttpError(422, f"Name must be unique: a ruleset named {body['name']!r} exists")
        stamp = now()
        ruleset = Ruleset(
            next_id(),
            body["name"],
            body.get("target", "branch"),
            body["enforcement"],
            body.get("conditions") or {},
            body.get("rules") or [],
            body.get("bypass_actors") or [],
            stamp,
            stamp,
        )
        repo.rulesets[ruleset.id] = ruleset
        return self._ruleset_answer(201, repo, ruleset)

    def _get_ruleset(self, c: Context) -> tuple[int, Any]:
        repo, ruleset = self._ruleset(c)
        if c.headers.get("If-None-Match") == ruleset.etag:
            return 304, _WithHeaders({"ETag": ruleset.etag}, None)
        return self._ruleset_answer(200, repo, ruleset)

    def _update_ruleset(self, c: Context) -> tuple[int, Any]:
        repo, ruleset = self._ruleset(c)
        body = c.body or {}
        for key in ("name", "target", "enforcement", "conditions", "rules", "bypass_actors"):
            if key in body:
                setattr(ruleset, key, body[key] if body[key] is not None else ([] if key != "conditions" else {}))
        ruleset.version += 1
        ruleset.updated_at = now()
        return self._ruleset_answer(200, repo, ruleset)

    def _delete_ruleset(self, c: Context) -> tuple[int, Any]:
        repo, ruleset = self._ruleset(c)
        del repo.rulesets[ruleset.id]
        return 204, None

    # contents and commits -----------------------------------------------------------------------------

    def _branch_of(self, repo: Repository, given: str | None) -> str:
        branch = given or repo.default_branch
        if branch not in repo.git.branches:
            raise HttpError(404, f"Branch {branch} not found")
        return branch

    def _get_content(self, c: Context) -> tuple[int, Any]:
        repo = self._repo(c.params["owner"], c.params["repo"])
        ref = c.query.get("ref") or repo.default_branch
        if ref in repo.git.branches:
            tree = repo.git.commits[repo.git.branches[ref]].tree
        elif ref in repo.git.commits:
            tree = repo.git.commits[ref].tree
        else:
            raise HttpError(404, f"No commit found for the ref {ref}")
        path = c.params["path"].strip("/")
        sha = tree.get(path)
        if sha is None:
            raise HttpError(404, "Not Found")
        return 200, self._payloads.content_file(repo, path, sha, repo.git.blobs[sha], ref)

    def _who(self, body: dict[str, Any]) -> dict[str, str]:
        person = body.get("committer") or body.get("author") or {"name": self.login, "email": f"{self.login}@fake"}
        return {"name": person["name"], "email": person["email"], "date": now()}

    def _put_content(self, c: Context) -> tuple[int, Any]:
        repo = self._repo(c.params["owner"], c.params["repo"])
        body = c.body
        branch = self._branch_of(repo, body.get("branch"))
        path = c.params["path"].strip("/")
        current = repo.git.file(branch, path)
        given = body.get("sha")
        if current is not None and given is None:
            raise HttpError(422, f'Invalid request. "sha" wasn\'t supplied (a file exists at {path})')
        if current is not None and given != current[0]:
            raise HttpError(409, f"{path} does not match {given}")  # the branch moved: a stale blob sha
        if current is None and given is not None:
            raise HttpError(409, f"{path} does not match {given} (no such file on {branch})")
        try:
            content = base64.b64decode(body["content"], validate=True)
        except ValueError:
            raise HttpError(422, "content is not valid Base64") from None
        sha = repo.git.commit_on(branch, {path: content}, body["message"], self._who(body))
        blob = repo.git.commits[sha].tree[path]
        answer = self._payloads.file_commit(repo, path, blob, len(content), repo.git.commits[sha])
        return (200 if current else 201), answer

    def _delete_content(self, c: Context) -> tuple[int, Any]:
        repo = self._repo(c.params["owner"], c.params["repo"])
        body = c.body
        branch = self._branch_of(repo, body.get("branch"))
        path = c.params["path"].strip("/")
        current = repo.git.file(branch, path)
        if current is None:
            raise HttpError(404, "Not Found")
        if body["sha"] != current[0]:
            raise HttpError(409, f"{path} does not match {body['sha']}")
        sha = repo.git.commit_on(branch, {path: None}, body["message"], self._who(body))
        return 200, self._payloads.file_commit(repo, None, None, 0, repo.git.commits[sha])

    def _get_commit(self, c: Context) -> tuple[int, Any]:
        repo = self._repo(c.params["owner"], c.params["repo"])
        ref = c.params["ref"]
        sha = repo.git.branches.get(ref, ref)
        if sha not in repo.git.commits:
            raise HttpError(422, f"No commit found for SHA: {ref}")
        commit = repo.git.commits[sha]
        parent = repo.git.commits[commit.parents[0]] if commit.parents else None
        return 200, self._payloads.commit_with_files(repo, commit, parent, self._account(self.login))

    def _list_commits(self, c: Context) -> tuple[int, Any]:
        repo = self._repo(c.params["owner"], c.params["repo"])
        branch = c.query.get("sha") or repo.default_branch
        if branch not in repo.git.branches:
            raise HttpError(404, "Not Found")
        per_page = int(c.query.get("per_page") or 30)
        page = int(c.query.get("page") or 1)
        commits = repo.git.history(branch, c.query.get("path"))[(page - 1) * per_page : page * per_page]
        return 200, [self._commit_payload(repo, x.sha) for x in commits]

    # issue and pull-request comments ------------------------------------------------------------------

    def _issue(self, c: Context) -> tuple[Repository, Issue]:
        repo = self._repo(c.params["owner"], c.params["repo"])
        issue = repo.issues.get(int(c.params["issue_number"]))
        if issue is None:
            raise HttpError(404, "Not Found")
        return repo, issue

    def _comment(self, c: Context) -> tuple[Repository, IssueComment]:
        """The comment ``comment_id`` of this repository (another repository's id answers 404, as on GitHub)."""
        repo = self._repo(c.params["owner"], c.params["repo"])
        comment = repo.comments.get(int(c.params["comment_id"]))
        if comment is None:
            raise HttpError(404, "Not Found")
        return repo, comment

    def _comment_payload(self, repo: Repository, comment: IssueComment) -> dict[str, Any]:
        author = self._account(comment.user)
        # the token's user can write environments and rulesets: it owns the repository or collaborates on it
        association = "OWNER" if author.login.lower() == repo.owner.lower() else "COLLABORATOR"
        return self._payloads.issue_comment(repo, repo.issues[comment.issue_number], comment, author, association)

    def _list_comments(self, c: Context) -> tuple[int, Any]:
        """Oldest first; ``since`` keeps those updated at or after it; ``per_page`` (at most 100, as GitHub
        caps it) and ``page``; a Link header with first/prev/next/last when there is more than one page."""
        repo, issue = self._issue(c)
        items = [x for x in repo.comments.values() if x.issue_number == issue.number]
        if since := c.query.get("since"):
            cutoff = _instant(since)
            items = [x for x in items if _instant(x.updated_at) >= cutoff]
        per_page = min(int(c.query.get("per_page") or 30), 100)
        per_page = per_page if per_page > 0 else 30
        page = max(int(c.query.get("page") or 1), 1)
        answer = [self._comment_payload(repo, x) for x in items[(page - 1) * per_page : page * per_page]]
        last = max(1, -(-len(items) // per_page))
        base = f"{self._payloads.api}/repos/{repo.full_name}/issues/{issue.number}/comments"
        link = _link_header(base, {k: v for k, v in c.query.items() if k != "page"}, page, last)
        return 200, _WithHeaders({"Link": link} if link else {}, answer)

    def _check_comment_body(self, body: str) -> None:
        """GitHub refuses a blank body and one over 65536 characters (422 Validation Failed)."""
        problem = ""
        if not body.strip():
            problem = "Body cannot be blank"
        elif len(body) > MAX_COMMENT_CHARS:
            problem = f"Body is too long (maximum is {MAX_COMMENT_CHARS} characters)"
        if problem:
            error = {"resource": "IssueComment", "code": "custom", "field": "body", "message": problem}
            raise HttpError(422, "Validation Failed", [error])

    def _create_comment(self, c: Context) -> tuple[int, Any]:
        repo, issue = self._issue(c)
        self._check_comment_body(c.body["body"])
        stamp = now()
        comment = IssueComment(next_id(), issue.number, c.body["body"], self.login, stamp, stamp)
        repo.comments[comment.id] = comment
        payload = self._comment_payload(repo, comment)
        return 201, _WithHeaders({"Location": payload["url"]}, payload)

    def _get_comment(self, c: Context) -> tuple[int, Any]:
        repo, comment = self._comment(c)
        return 200, self._comment_payload(repo, comment)

    def _update_comment(self, c: Context) -> tuple[int, Any]:
        repo, comment = self._comment(c)
        self._check_comment_body(c.body["body"])
        comment.body = c.body["body"]
        comment.updated_at = now()
        return 200, self._comment_payload(repo, comment)

    def _delete_comment(self, c: Context) -> tuple[int, Any]:
        repo, comment = self._comment(c)
        del repo.comments[comment.id]
        return 204, None


@dataclass
class _WithHeaders:
    headers: dict[str, str]
    payload: Any


_REASONS = {
    500: "Internal Server Error",
    502: "Server Error",
    503: "Service Unavailable",
    504: "We couldn't respond to your request in time.",
    409: "Conflict: the branch moved",
}


def _repository_id_path(path: str) -> tuple[str, str] | None:
    """``/repositories/{id}/rest`` -> (id, ``/rest``)."""
    parts = path.split("/", 3)
    if len(parts) == 4 and parts[1] == "repositories" and parts[2].isdigit():
        return parts[2], "/" + parts[3]
    return None


def _ruleset_covers(r: Ruleset, branch: str) -> bool:
    include = (r.conditions.get("ref_name") or {}).get("include") or []
    return f"refs/heads/{branch}" in include or "~ALL" in include


#: GitHub's limit on an issue comment's body
MAX_COMMENT_CHARS = 65536


def _instant(stamp: str) -> datetime:
    """An ISO 8601 time (``Z`` or an offset) as an aware datetime, for ``since`` comparisons."""
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        raise HttpError(422, f"since: {stamp!r} is not an ISO 8601 timestamp") from None
    if when.tzinfo is None:
        raise HttpError(422, f"since: {stamp!r} has no time zone (YYYY-MM-DDTHH:MM:SSZ)")
    return when


def _link_header(base: str, query: dict[str, str], page: int, last: int) -> str:
    """GitHub's pagination Link header (RFC 8288): first/prev before ``page``, next/last after it; "" when
    everything fits on one page."""
    if last <= 1:
        return ""

    def at(n: int, rel: str) -> str:
        return f'<{base}?{urlencode({**query, "page": n})}>; rel="{rel}"'

    links = []
    if page > 1:
        links += [at(min(page - 1, last), "prev"), at(1, "first")]
    if page < last:
        links += [at(page + 1, "next"), at(last, "last")]
    return ", ".join(links)
