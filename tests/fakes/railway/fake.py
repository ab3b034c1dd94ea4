"""FakeRailway: the fake Railway API, composed of its parts (see the package docstring)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from graphql import GraphQLError

from tests.fakes.base import LoopbackFake
from tests.fakes.railway.alerts import AlertsMixin
from tests.fakes.railway.asynchrony import AsyncMixin
from tests.fakes.railway.base import GRAPHQL_PATH, IN_FLIGHT, _watched
from tests.fakes.railway.core import HOBBY_REQUESTS_PER_HOUR, CoreMixin
from tests.fakes.railway.dashboard import Dashboard
from tests.fakes.railway.data import DataMixin
from tests.fakes.railway.deploys import DeploysMixin
from tests.fakes.railway.lifecycle import LifecycleMixin
from tests.fakes.railway.metrics import MetricsMixin
from tests.fakes.railway.model import ModelMixin
from tests.fakes.railway.network import NetworkMixin
from tests.fakes.railway.projects import ProjectsMixin
from tests.fakes.railway.queries import QueriesMixin
from tests.fakes.railway.schema import load_schema
from tests.fakes.railway.server import HttpMixin
from tests.fakes.railway.state import FakeState, Fault, RecordedRequest


class FakeRailway(
    HttpMixin,
    CoreMixin,
    AsyncMixin,
    ModelMixin,
    LifecycleMixin,
    QueriesMixin,
    ProjectsMixin,
    NetworkMixin,
    DeploysMixin,
    DataMixin,
    AlertsMixin,
    MetricsMixin,
    LoopbackFake[RecordedRequest],
):
    """Stateful fake Railway GraphQL API served over real HTTP on 127.0.0.1."""

    fake_name = "fake-railway"
    server_version = "FakeRailway/1.0"

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
        fork_polls: int = 2,
        fork_delay_seconds: float = 1.0,
        domain_polls: int = 2,
        domain_delay_seconds: float = 1.0,
        soft_delete_seconds: float = 48 * 3600.0,
        unique_service_names: bool = False,
        request_budget: int | None = HOBBY_REQUESTS_PER_HOUR,
        budget_window_seconds: float = 3600.0,
    ) -> None:
        #: Railway's template deploys are asynchronous: the service and its volume appear when the workflow
        #: completes — after this many ``workflowStatus`` polls, or this many seconds, whichever is first.
        self.template_workflow_polls = template_workflow_polls
        self.template_delay_seconds = template_delay_seconds
        #: A fork's instances appear after this many ``environment(id)`` reads or seconds (asynchrony.py).
        self.fork_polls = fork_polls
        self.fork_delay_seconds = fork_delay_seconds
        #: A new domain is ``CREATING`` for this many reads or seconds, then ``ACTIVE``.
        self.domain_polls = domain_polls
        self.domain_delay_seconds = domain_delay_seconds
        #: How long a deleted object stays readable by id with ``deletedAt`` set.
        self.soft_delete_seconds = soft_delete_seconds
        self._clock_offset = 0.0
        self._fail_templates: list[tuple[str, bool]] = []
        #: Railway lets two services of a project share a name (which is how duplicates go unnoticed).
        self.unique_service_names = unique_service_names
        self.token = token
        #: What the Bearer token is: "account" (``me`` answers) or "workspace" (``me`` is Not Authorized), and
        #: the workspaces ``apiToken``/``me`` list (None: the fake's one workspace; [] : none at all).
        self.token_kind = "account"
        self.token_workspaces: list[dict[str, str]] | None = None
        #: False: ``apiToken`` answers Not Authorized (an account token that may not introspect itself).
        self.api_token_introspection = True
        self.workspace_id = workspace_id
        self.workspace_name = workspace_name
        self.deploy_polls_to_finish = deploy_polls_to_finish
        self._init_loopback(host, port)
        self.port = port
        self.schema = load_schema(schema_path)
        self.state = FakeState()
        self.invalid_documents: list[str] = []
        self.unimplemented: list[str] = []
        self.unmodeled_fields: list[str] = []
        self.faults: list[Fault] = []
        self.url: str = ""
        self._seq = 0
        self._fail_next: list[tuple[str, str | None]] = []
        #: Railway's hourly request limit per token (Hobby: 1,000/h), ON unless a test passes None and says
        #: why: beyond it, HTTP 429 with ``Retry-After`` (seconds until the oldest request leaves the window).
        self.request_budget = request_budget
        self.budget_window_seconds = budget_window_seconds
        self.refused_over_budget = 0
        self._budget_times: dict[str, list[float]] = {}

    # ----------------------------------------------------------------------------------- lifecycle

    def start(self) -> str:
        """Serve on loopback; the GraphQL endpoint's URL (also ``self.url``)."""
        self._start_server()
        self.url = self.base_url + GRAPHQL_PATH
        return self.url

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
                self._tombstone("service_domains", s.service_domains.pop(id))
            elif kind == "custom_domain":
                self._require(s.custom_domains, id, kind)
                self._tombstone("custom_domains", s.custom_domains.pop(id))
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

    def simulate_push(
        self, repository: str, branch: str, sha: str, changed: Iterable[str], *, checks_passed: bool = True
    ) -> list[str]:
        """A push to GitHub as Railway's deployment triggers see it; returns the deployments they created.

        Modelled: a trigger of ``repository``/``branch`` deploys the pushed commit unless its service
        instance's automatic deploys are off, or the instance has watch patterns and no changed path
        matches one (gitignore-style, from the repository root); with ``checkSuites`` ("wait for CI") a
        push whose checks failed gets a SKIPPED deployment.
        """
        paths = [p.lstrip("/") for p in changed]
        made: list[str] = []
        with self._lock:
            for trigger in sorted(self.state.triggers.values(), key=lambda t: t["_seq"]):
                if (trigger["repository"], trigger["branch"]) != (repository, branch):
                    continue
                inst = self.state.instances.get((trigger["serviceId"], trigger["environmentId"]))
                if inst is None or not inst.get("_autoDeploy", True):
                    continue
                patterns = [str(p).lstrip("/") for p in inst.get("watchPatterns") or []]
                if patterns and not any(_watched(path, pattern) for path in paths for pattern in patterns):
                    continue
                d = self._new_deployment(trigger["serviceId"], trigger["environmentId"], "trigger", commit_sha=sha)
                if trigger["checkSuites"] and not checks_passed:
                    self._set_status(d, "SKIPPED")
                made.append(str(d["id"]))
        return made

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

    def dashboard(self) -> Dashboard:
        """Railway as a person or CI uses it (tests/fakes/railway/dashboard.py): seeds, outside maya-infra."""
        return Dashboard(self.url, self.token)

    def project_token_value(self, token_id: str) -> str:
        with self._lock:
            return str(self.state.project_tokens[token_id]["token"])

    # ---------------------------------------------------------------------------- seeds (already there)

    def seed_project(self, name: str, *, description: str | None = None, environment: str = "production") -> str:
        """A project that exists before the stack runs (made by hand, or by an earlier run); its id."""
        with self._lock:
            project = self._create_project(
                {"name": name, "description": description, "defaultEnvironmentName": environment}
            )
            return str(project["id"])

    def seed_service(self, project_id: str, name: str) -> str:
        """A service of that name already in the project (Railway allows a second one of the same name)."""
        with self._lock:
            return str(self._create_service(project_id, name, deploy=False)["id"])

    def environment_id(self, project_id: str, name: str) -> str:
        with self._lock:
            return next(str(e["id"]) for e in self._envs_of(project_id) if e["name"] == name)
