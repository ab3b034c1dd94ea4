"""A stateful fake of the few Vercel REST endpoints ``python -m ops`` uses, served on 127.0.0.1.

Endpoints (shapes follow Vercel's published REST reference, trimmed to the fields we read):

* ``GET  /v9/projects/{idOrName}``                 → project: ``id name accountId targets.production
  lastAliasRequest{fromDeploymentId toDeploymentId jobStatus requestedAt type} latestDeployments``
* ``GET  /v6/deployments?projectId&target&state&limit`` → ``{"deployments": [...], "pagination": {...}}``,
  newest first; each ``uid name url created state readyState readySubstate isRollbackCandidate aliasAssigned
  target projectId meta{githubCommitSha …}``. Like Vercel, a READY production deployment is ``STAGED``
  (``isRollbackCandidate`` false, no alias) until it is promoted — ``vercel deploy --prebuilt --prod
  --skip-domain`` makes such one — and ``PROMOTED`` (a rollback candidate, ``aliasAssigned`` set) once it
  served the production domains, for good: promoting another one later does not unmark it.
* ``GET  /v13/deployments/{id}``                    → one deployment (``id``, ``readyState``, ``createdAt`` …)
* previews (docs/previews.md): ``GET /v9/projects/{id}/env[?gitBranch=]`` → ``{"envs": [...]}``;
  ``POST /v10/projects/{id}/env?upsert=true`` (key+target+gitBranch is unique; upsert replaces the value);
  ``DELETE /v9/projects/{id}/env/{envId}``; ``POST /v13/deployments`` with ``target: preview`` and
  ``gitSource{ref, sha}`` → a READY preview deployment of that branch (``build_env`` records the branch's
  variables it was built with)
* ``POST /v10/projects/{projectId}/promote/{deploymentId}`` → 201 (done) or, with ``promote_polls > 0``,
  202 and an alias job that turns ``pending`` → ``in-progress`` → ``succeeded`` over that many reads of
  the project. 400 when the deployment is not READY, 404 when it or the project does not exist (or
  belongs to another project), 409 when a promotion is already under way.

Every request needs ``Authorization: Bearer <token>`` (else 403 ``forbidden`` like Vercel). With
``team_id`` set, a request without ``?teamId=<team_id>`` does not see the projects (404), like a team
project queried without its team. ``fail_next_promote()`` makes the next alias job end ``failed``;
``inject(status, times)`` answers the next requests with that HTTP status (e.g. 503, 429), before the
work or (``when=AFTER``) after it. The server, request log and fault queue are the shared ones
(tests/fakes/base.py). Nothing is printed; ``requests`` records method, path and query of each request
(never the token).
``python -m tests.fakes.vercel_api`` serves a project with three deployments until SIGTERM/SIGINT.
"""

from __future__ import annotations

import json
import secrets
import sys
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.fakes.base import (
    BEFORE,
    Answer,
    Incoming,
    LoopbackFake,
    answer_with_fault,
    json_answer,
    loopback_parser,
    run_standalone,
    take_fault,
)

__all__ = ["FakeVercel", "VercelRequest"]


@dataclass
class VercelRequest:
    method: str
    path: str
    query: dict[str, str]
    status: int = 0

    @property
    def is_write(self) -> bool:
        return self.method != "GET"


@dataclass
class _Fault:
    status: int
    times: int
    when: str = BEFORE
    hits: int = 0


@dataclass
class _Job:
    from_id: str | None
    to_id: str
    requested_at: int
    reads_left: int
    fail: bool
    status: str = "pending"


@dataclass
class FakeVercel(LoopbackFake[VercelRequest]):
    token: str = "fake-vercel-token"
    team_id: str | None = None
    promote_polls: int = 0  # project reads until an accepted (202) promotion completes; 0: done at once (201)
    host: str = "127.0.0.1"
    url: str = ""
    projects: dict[str, dict[str, Any]] = field(default_factory=dict)
    deployments: dict[str, dict[str, Any]] = field(default_factory=dict)
    promotions: list[tuple[str, str]] = field(default_factory=list)  # (project id, deployment id) accepted
    envs: dict[str, dict[str, Any]] = field(default_factory=dict)  # env id -> variable (preview branch vars)
    #: Further tokens and their scope (``add_token``): ``{"teams": [...]}`` (a team token; ``[]``: a personal one)
    #: or ``{"project": pid}`` (a project-scoped token: only that project; teams and the user are refused).
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)

    port: int = 0

    fake_name = "fake-vercel"
    server_version = "FakeVercel/1.0"

    def __post_init__(self) -> None:
        self._init_loopback(self.host, self.port)
        self._jobs: dict[str, _Job] = {}
        self._production: dict[str, str | None] = {}
        self._fail_next = False
        self._faults: list[_Fault] = []
        self._clock_ms = int(time.time() * 1000) - 6 * 3_600_000  # deployments added without an age: 6 h ago, …

    # ---- set-up -------------------------------------------------------------------------------------------
    def add_project(self, name: str, project_id: str | None = None) -> str:
        with self._lock:
            pid = project_id or f"prj_{secrets.token_hex(10)}"
            self.projects[pid] = {"id": pid, "name": name, "accountId": self.team_id or "user_fake"}
            self._production[pid] = None
            return pid

    def add_deployment(
        self,
        project_id: str,
        *,
        state: str = "READY",
        target: str | None = "production",
        sha: str | None = None,
        age_minutes: float | None = None,
        promote: bool = True,
    ) -> str:
        """A deployment as ``vercel deploy --prebuilt [--prod]`` makes it; a READY production one is
        promoted at once unless ``promote=False`` (``--skip-domain``, like a CI deploy: STAGED until promoted)."""
        with self._lock:
            project = self.projects[project_id]
            if age_minutes is None:
                self._clock_ms += 20 * 60_000
                created = self._clock_ms
            else:
                created = int(time.time() * 1000 - age_minutes * 60_000)
            uid = f"dpl_{secrets.token_hex(12)}"
            sha = sha or secrets.token_hex(20)
            self.deployments[uid] = {
                "uid": uid,
                "name": project["name"],
                "url": f"{project['name']}-{uid[4:13]}.vercel.app",
                "created": created,
                "state": state,
                "target": target,
                "projectId": project_id,
                "meta": {
                    "githubCommitSha": sha,
                    "githubCommitRef": "main",
                    "githubCommitMessage": f"commit {sha[:7]}",
                },
                "creator": {"uid": "user_fake", "username": "ci"},
                "readySubstate": "STAGED" if state == "READY" and target == "production" else None,
                "isRollbackCandidate": False,
                "aliasAssigned": None,
            }
            if promote and state == "READY" and target == "production":
                self._serve(project_id, uid)
            return uid

    def _serve(self, project_id: str, uid: str) -> None:
        """The production domains now point at ``uid``: it has served production (PROMOTED) from now on."""
        self._production[project_id] = uid
        deployment = self.deployments[uid]
        deployment["readySubstate"] = "PROMOTED"
        deployment["isRollbackCandidate"] = True
        deployment["aliasAssigned"] = deployment["aliasAssigned"] or int(time.time() * 1000)

    def add_domain(self, project_id: str, name: str, redirect: str | None = None) -> None:
        """A domain of the project (``GET /v9/projects/{id}/domains``), e.g. of a running project to adopt."""
        with self._lock:
            self.projects[project_id].setdefault("_domains", []).append(
                {"name": name, "projectId": project_id, "redirect": redirect, "verified": True}
            )

    def add_env(self, project_id: str, key: str, targets: tuple[str, ...] = ("production",)) -> str:
        """An environment variable of the project; its value is never served (like a sensitive one)."""
        with self._lock:
            env_id = f"env_{secrets.token_hex(8)}"
            self.envs[env_id] = {
                "id": env_id,
                "key": key,
                "target": list(targets),
                "type": "sensitive",
                "projectId": project_id,
            }
            return env_id

    def add_token(self, token: str, *, teams: tuple[str, ...] = (), project: str | None = None) -> str:
        """Another token: of ``teams`` (another team's, or a personal one with none), or scoped to ``project``."""
        with self._lock:
            self.tokens[token] = {"project": project} if project else {"teams": list(teams)}
            return token

    def production_of(self, project_id: str) -> str | None:
        with self._lock:
            return self._production.get(project_id)

    def fail_next_promote(self) -> None:
        with self._lock:
            self._fail_next = True

    def inject(self, status: int, times: int = 1, *, when: str = BEFORE) -> None:
        """Answer the next ``times`` requests with HTTP ``status``: instead of the work (``BEFORE``), or
        after it landed (``AFTER``: the promotion happened, the caller got an error)."""
        with self._lock:
            self._faults.append(_Fault(status, times, when))

    # ---- lifecycle ----------------------------------------------------------------------------------------
    def start(self) -> str:
        self._start_server()
        self.url = self.base_url
        return self.url

    def count(self, method: str, path_prefix: str) -> int:
        with self._lock:
            return sum(1 for r in self.requests if r.method == method and r.path.startswith(path_prefix))

    # ---- views --------------------------------------------------------------------------------------------
    def _v6(self, d: dict[str, Any]) -> dict[str, Any]:
        return {**json.loads(json.dumps(d)), "readyState": d["state"], "createdAt": d["created"]}

    def _v13(self, d: dict[str, Any]) -> dict[str, Any]:
        view = self._v6(d)
        view["id"] = view.pop("uid")
        return view

    def _project_view(self, pid: str) -> dict[str, Any]:
        job = self._jobs.get(pid)
        if job is not None and job.status in ("pending", "in-progress"):
            job.reads_left -= 1
            if job.reads_left <= 0:
                job.status = "failed" if job.fail else "succeeded"
                if not job.fail:
                    self._serve(pid, job.to_id)
            else:
                job.status = "in-progress"
        prod = self._production.get(pid)
        targets = {}
        if prod is not None:
            d = self.deployments[prod]
            targets["production"] = {
                "id": prod,
                "url": d["url"],
                "createdAt": d["created"],
                "readyState": d["state"],
                "readySubstate": d["readySubstate"],
                "target": "production",
                "meta": dict(d["meta"]),
                "alias": [f"{self.projects[pid]['name']}.vercel.app"],
                "aliasAssigned": True,
            }
        latest = sorted((d for d in self.deployments.values() if d["projectId"] == pid), key=lambda d: -d["created"])
        return {
            **{k: v for k, v in self.projects[pid].items() if not k.startswith("_")},
            "targets": targets,
            "lastAliasRequest": None
            if job is None
            else {
                "fromDeploymentId": job.from_id,
                "toDeploymentId": job.to_id,
                "jobStatus": job.status,
                "requestedAt": job.requested_at,
                "type": "promote",
            },
            "latestDeployments": [self._v6(d) for d in latest[:5]],
        }

    # ---- HTTP ---------------------------------------------------------------------------------------------
    def serve(self, request: Incoming) -> Answer:
        parts = urlsplit(request.target)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        path = parts.path.rstrip("/")
        record = VercelRequest(request.method, path, query)
        with self._lock:
            self.requests.append(record)
            fault = take_fault(self._faults, lambda _f: True)

        def work() -> Answer:
            with self._lock:
                return json_answer(*self._route(request.method, path, query, request.headers, request.json()))

        def fault_answer() -> Answer:
            status = fault.status if fault is not None else 500
            return json_answer(*self._error(status, "fault", f"injected HTTP {status}"))

        answer = answer_with_fault(fault.when if fault is not None else None, work, fault_answer)
        record.status = answer.status
        return answer

    @staticmethod
    def _error(status: int, code: str, message: str) -> tuple[int, Any]:
        return status, {"error": {"code": code, "message": message}}

    def _scope(self, headers: Any) -> dict[str, Any] | None:
        scheme, _, tok = (headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        if secrets.compare_digest(tok.strip().encode(), self.token.encode()):
            return {"teams": [self.team_id] if self.team_id else []}
        return next(
            (s for t, s in self.tokens.items() if secrets.compare_digest(tok.strip().encode(), t.encode())), None
        )

    def _refused(self, scope: dict[str, Any], segments: list[str], query: dict[str, str]) -> bool:
        """Vercel's token scopes: a project token reaches its project only; a team token its teams only."""
        if scope.get("project"):
            return not (
                len(segments) >= 3 and segments[1] == "projects" and self._find_project(segments[2]) == scope["project"]
            )
        if segments[:2] == ["v2", "teams"]:
            return len(segments) < 3 or segments[2] not in scope["teams"]
        team = query.get("teamId")
        return team is not None and team not in scope["teams"]

    def _route_tokens(self, segments: list[str], query: dict[str, str]) -> tuple[int, Any] | None:
        """The team, the user and a domain's DNS configuration (what ``ops preflight`` reads)."""
        if segments[:2] == ["v2", "teams"] and len(segments) == 3:
            return 200, {"id": segments[2], "slug": "maya", "name": "MAYA"}
        if segments == ["v2", "user"]:
            return 200, {"user": {"id": "user_fake", "username": "maya-dev", "email": "dev@example.invalid"}}
        if segments[:2] == ["v6", "domains"] and len(segments) == 4 and segments[3] == "config":
            apex = segments[2].count(".") == 1
            return 200, {
                "configuredBy": None,
                "acceptedChallenges": ["http-01"] if not apex else ["dns-01"],
                "misconfigured": True,
                "recommendedIPv4": [{"rank": 1, "value": ["76.76.21.21"]}],
                "recommendedCNAME": [{"rank": 1, "value": "cname.vercel-dns.com."}],
            }
        return None

    def _route(self, method: str, path: str, query: dict[str, str], headers: Any, body: Any = None) -> tuple[int, Any]:
        segments = [unquote(s) for s in path.split("/") if s]
        scope = self._scope(headers)
        if scope is None or self._refused(scope, segments, query):
            return self._error(403, "forbidden", "Not authorized")
        visible = self.team_id is None or query.get("teamId") == self.team_id
        if method == "GET" and (answer := self._route_tokens(segments, query)) is not None:
            return answer
        if method == "GET" and len(segments) == 3 and segments[:2] == ["v9", "projects"]:
            pid = self._find_project(segments[2]) if visible else None
            if pid is None:
                return self._error(404, "not_found", "Project not found")
            return 200, self._project_view(pid)
        if method == "GET" and len(segments) == 4 and segments[:2] == ["v9", "projects"] and segments[3] == "domains":
            pid = self._find_project(segments[2]) if visible else None
            if pid is None:
                return self._error(404, "not_found", "Project not found")
            return 200, {"domains": list(self.projects[pid].get("_domains", [])), "pagination": {"next": None}}
        if method == "GET" and segments == ["v6", "deployments"]:
            return 200, self._list(query if visible else {**query, "projectId": "-"})
        if method == "GET" and len(segments) == 3 and segments[:2] == ["v13", "deployments"]:
            d = self.deployments.get(segments[2]) if visible else None
            if d is None:
                return self._error(404, "not_found", "The deployment could not be found.")
            return 200, self._v13(d)
        if method == "POST" and len(segments) == 5 and segments[:2] == ["v10", "projects"] and segments[3] == "promote":
            return self._promote(segments[2] if visible else "-", segments[4])
        if visible:
            answer = self._route_previews(method, segments, query, body)
            if answer is not None:
                return answer
        return self._error(404, "not_found", "The requested path does not exist")

    def _route_previews(
        self, method: str, segments: list[str], query: dict[str, str], body: Any
    ) -> tuple[int, Any] | None:
        """Branch-scoped project variables and preview builds (docs/previews.md); None: not one of them."""
        if len(segments) >= 4 and segments[1] == "projects" and segments[3] == "env":
            pid = self._find_project(segments[2])
            if pid is None:
                return self._error(404, "not_found", "Project not found")
            if method == "GET" and segments[0] == "v9" and len(segments) == 4:
                branch = query.get("gitBranch")
                envs = [
                    {k: v for k, v in e.items() if k != "projectId"}
                    for e in self.envs.values()
                    if e["projectId"] == pid and (branch is None or e.get("gitBranch") == branch)
                ]
                return 200, {"envs": envs}
            if method == "POST" and segments[0] == "v10" and len(segments) == 4:
                return self._upsert_env(pid, body if isinstance(body, dict) else {}, query.get("upsert") == "true")
            if method == "DELETE" and segments[0] == "v9" and len(segments) == 5:
                if self.envs.get(segments[4], {}).get("projectId") != pid:
                    return self._error(404, "not_found", "Environment variable not found")
                return 200, self.envs.pop(segments[4])
        if method == "POST" and segments == ["v13", "deployments"] and isinstance(body, dict):
            pid = self._find_project(str(body.get("project") or body.get("name") or ""))
            source = body.get("gitSource") or {}
            if pid is None or body.get("target") != "preview" or not source.get("ref"):
                return self._error(400, "bad_request", "a preview needs project, target preview and gitSource.ref")
            uid = self.add_deployment(pid, target="preview", sha=source.get("sha"), promote=False)
            deployment = self.deployments[uid]
            deployment["meta"]["githubCommitRef"] = source["ref"]
            deployment["build_env"] = {
                e["key"]: e["value"]
                for e in self.envs.values()
                if e["projectId"] == pid and e.get("gitBranch") == source["ref"]
            }
            return 200, self._v13(deployment)
        return None

    def _upsert_env(self, pid: str, item: dict[str, Any], upsert: bool) -> tuple[int, Any]:
        key, target, branch = item.get("key"), tuple(item.get("target") or ()), item.get("gitBranch")
        if not key or not target or "value" not in item:
            return self._error(400, "bad_request", "key, value and target are required")
        if branch is not None and target != ("preview",):
            return self._error(400, "bad_request", "gitBranch is only allowed with the preview target")
        same = next(
            (
                e
                for e in self.envs.values()
                if e["projectId"] == pid and e["key"] == key and tuple(e["target"]) == target
                and e.get("gitBranch") == branch
            ),
            None,
        )  # fmt: skip
        if same is not None and not upsert:
            return self._error(400, "ENV_ALREADY_EXISTS", f"A variable {key} already exists for this target")
        record = same or {"id": f"env_{secrets.token_hex(8)}", "projectId": pid, "createdAt": int(time.time() * 1000)}
        record.update(key=key, value=item["value"], type=item.get("type", "plain"), target=list(target))
        record["gitBranch"] = branch
        self.envs[record["id"]] = record
        return 201, {"created": {k: v for k, v in record.items() if k != "projectId"}}

    def _find_project(self, id_or_name: str) -> str | None:
        if id_or_name in self.projects:
            return id_or_name
        return next((pid for pid, p in self.projects.items() if p["name"] == id_or_name), None)

    def _list(self, query: dict[str, str]) -> dict[str, Any]:
        try:
            limit = max(1, min(100, int(query.get("limit", "20"))))
        except ValueError:
            limit = 20
        items = [
            d
            for d in self.deployments.values()
            if (not query.get("projectId") or d["projectId"] == query["projectId"])
            and (not query.get("target") or d["target"] == query["target"])
            and (not query.get("state") or d["state"] in query["state"].split(","))
        ]
        items.sort(key=lambda d: d["created"], reverse=True)
        page = items[:limit]
        return {
            "deployments": [self._v6(d) for d in page],
            "pagination": {"count": len(page), "next": page[-1]["created"] if len(items) > limit else None},
        }

    def _promote(self, project_id: str, deployment_id: str) -> tuple[int, Any]:
        pid = self._find_project(project_id)
        if pid is None:
            return self._error(404, "not_found", "Project not found")
        d = self.deployments.get(deployment_id)
        if d is None or d["projectId"] != pid:
            return self._error(404, "not_found", "Deployment not found")
        if d["state"] != "READY":
            return self._error(400, "bad_request", "Deployment is not ready")
        job = self._jobs.get(pid)
        if job is not None and job.status in ("pending", "in-progress"):
            return self._error(409, "conflict", "A promotion is already in progress")
        fail, self._fail_next = self._fail_next, False
        self.promotions.append((pid, deployment_id))
        now = int(time.time() * 1000)
        job = _Job(self._production.get(pid), deployment_id, now, self.promote_polls, fail)
        self._jobs[pid] = job
        if self.promote_polls <= 0:
            job.status = "failed" if fail else "succeeded"
            if not fail:
                self._serve(pid, deployment_id)
            return 201, {}
        return 202, {}


def main(argv: list[str] | None = None) -> int:
    parser = loopback_parser("python -m tests.fakes.vercel_api", __doc__.splitlines()[0])
    parser.add_argument("--token", default="fake-vercel-token")
    parser.add_argument("--project", default="maya-frontend", help="a project to create, with three deployments")
    args = parser.parse_args(argv)
    fake = FakeVercel(token=args.token, host=args.host, port=args.port)
    pid = fake.add_project(args.project)
    for _ in range(3):
        fake.add_deployment(pid)
    return run_standalone(fake, lambda: f"{fake.url} project {pid}")


if __name__ == "__main__":
    sys.exit(main())
