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
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from tests.fakes.base import AFTER, BEFORE, Answer, Incoming, LoopbackFake, answer_with_fault, take_fault
from tests.fakes.github.actions import ActionsMixin
from tests.fakes.github.comments import CommentsMixin
from tests.fakes.github.common import Context, Handler, HttpError, WithHeaders
from tests.fakes.github.environments import EnvironmentsMixin
from tests.fakes.github.model import (
    Account,
    BranchPolicy,
    Environment,
    Git,
    Issue,
    Repository,
    Ruleset,
    Secret,
    Variable,
    next_id,
    now,
)
from tests.fakes.github.openapi import KNOWN_DEVIATIONS, REPOSITORY_ID_ALIAS, Call, Judge, Operation
from tests.fakes.github.payloads import Payloads
from tests.fakes.github.repos import ReposMixin
from tests.fakes.github.rulesets import RulesetsMixin

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


class FakeGitHub(
    ReposMixin, EnvironmentsMixin, RulesetsMixin, CommentsMixin, ActionsMixin, LoopbackFake[RecordedRequest]
):
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
        #: The token, as GitHub sees it (``ops preflight``'s checks): ``scopes`` of a classic PAT, sent back in
        #: X-OAuth-Scopes on every answer (None: a fine-grained or App token, which gets none); ``installation``:
        #: an App installation token (``/user`` is refused, ``/installation/repositories`` lists the repos);
        #: ``withheld``: fine-grained permissions it lacks ("contents", "secrets"): the operations that need them
        #: answer 403 naming the permission in X-Accepted-GitHub-Permissions; ``admin``: the user's role.
        self.scopes: tuple[str, ...] | None = None
        self.installation = False
        self.withheld: set[str] = set()
        self.admin = True
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

    def push(self, repo: str, branch: str, files: dict[str, str | None], message: str = "") -> str:
        """Someone pushed a commit changing ``files`` (path -> content, None deletes) on ``branch``
        (created off the default branch when missing); returns the commit's sha."""
        who = {"name": "maya-dev", "email": "dev@mayassistant.com", "date": now()}
        changes = {path: None if text is None else text.encode() for path, text in files.items()}
        with self._lock:
            git = self._seed_repository(repo, branch).git
            return git.commit_on(branch, changes, message or f"change {', '.join(sorted(files))}", who)

    def merge(self, repo: str, into: str, source: str) -> str:
        """Someone merged branch ``source`` into ``into`` with a merge commit; returns its sha."""
        who = {"name": "maya-dev", "email": "dev@mayassistant.com", "date": now()}
        with self._lock:
            return self._seed_repository(repo, into).git.merge(into, source, who)

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
        if self.scopes is not None:
            answer.headers["X-OAuth-Scopes"] = ", ".join(self.scopes)
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
        needed = _PERMISSION_OF.get(op.operation_id)
        # a fine-grained actor lacking the permission: GitHub refuses and names what the route needs
        if needed is not None and self.scopes is None and needed.split("=")[0] in self.withheld:
            actor = "integration" if self.installation else "personal access token"
            return 403, p.error(f"Resource not accessible by {actor}", 403), {"X-Accepted-GitHub-Permissions": needed}
        handler = self._handlers.get(op.operation_id)
        if handler is None:
            rec.problems.append(f"{op.operation_id} is described but the fake does not implement it")
            return 501, p.error(f"fake GitHub: {op.operation_id} ({call.method} {op.template}) is not implemented"), {}
        ctx = Context(op, params, dict(parse_qsl(query)), rec.body, headers)
        extra: dict[str, str] = {}
        try:
            status, payload = handler(ctx)
            if isinstance(payload, WithHeaders):
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
            "git/get-commit": self._get_git_commit,
            "git/get-tree": self._get_git_tree,
            "actions/list-workflow-runs-for-repo": self._list_runs,
            "actions/list-workflow-runs": self._list_runs,
            "actions/list-jobs-for-workflow-run": self._list_run_jobs,
            "repos/list-commits": self._list_commits,
            "apps/list-repos-accessible-to-installation": self._installation_repositories,
            "issues/list-comments": self._list_comments,
            "issues/create-comment": self._create_comment,
            "issues/get-comment": self._get_comment,
            "issues/update-comment": self._update_comment,
            "issues/delete-comment": self._delete_comment,
        }


#: The fine-grained permission GitHub asks of a few routes (X-Accepted-GitHub-Permissions), for ``withheld``.
_PERMISSION_OF = {
    "repos/get-content": "contents=read",
    "actions/get-repo-public-key": "secrets=read",
    "actions/get-environment-public-key": "secrets=read",
    "repos/create-or-update-file-contents": "contents=write; workflows=write",
}

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
