"""Dynamic providers that converge Railway objects through its public GraphQL API.

Semantics every provider here keeps (see the dynamic-provider notes in the README):

* ``check`` validates inputs that are known and skips unknown ones (preview).
* ``diff`` compares only the declared input keys — never ``__provider`` — returns ``changes=True`` when a
  new value is still unknown, and lists the immutable keys that force a replacement. It sends nothing.
* ``create``/``update`` return the full outputs (inputs plus what Railway computed), because the engine
  keeps exactly what they return.
* ``delete`` is idempotent: "not found" is success.
* ``read`` (refresh) makes one request, reports what Railway really has, returns the inputs it implies so
  the next ``up`` reverts drift, and returns an empty id when the object is gone.
* Credentials arrive through ``configure()``; the instances carry no state, so nothing about the client
  or the token is pickled into ``__provider``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)
from pulumi.output import Unknown
from pulumi.runtime import rpc

from components.railway import errors
from components.railway import operations as ops
from components.railway.client import ClientSettings, RailwayClient

_VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HOST = re.compile(r"^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
TERMINAL_FAILURES = frozenset({"FAILED", "CRASHED", "REMOVED", "SKIPPED"})
IN_FLIGHT = frozenset({"QUEUED", "WAITING", "INITIALIZING", "BUILDING", "DEPLOYING"})

_clients: dict[tuple[str, str, str], RailwayClient] = {}
_clients_lock = threading.Lock()


def is_unknown(value: Any) -> bool:
    """True when a preview value (or anything nested in it) is not known yet.

    The dynamic-provider server hands unknowns over as ``pulumi.output.Unknown`` instances; older SDKs
    used the ``rpc.UNKNOWN`` sentinel string, so both are recognised.
    """
    if isinstance(value, Unknown):
        return True
    if isinstance(value, str):
        return value == rpc.UNKNOWN
    if isinstance(value, Mapping):
        return any(is_unknown(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(is_unknown(v) for v in value)
    return False


def _client_from_config(config: Any) -> RailwayClient:
    """One shared client per (endpoint, token, settings) per provider process."""
    token = config.get("railwayToken") or os.environ.get("RAILWAY_API_TOKEN") or ""
    raw = config.get("railway")
    tuning: dict[str, Any] = json.loads(raw) if isinstance(raw, str) and raw else dict(raw or {})
    settings = ClientSettings(
        endpoint=str(tuning.get("apiUrl", ClientSettings.endpoint)),
        requests_per_second=float(tuning.get("requestsPerSecond", ClientSettings.requests_per_second)),
        max_attempts=int(tuning.get("maxAttempts", ClientSettings.max_attempts)),
        timeout_seconds=float(tuning.get("timeoutSeconds", ClientSettings.timeout_seconds)),
        backoff_cap_seconds=float(tuning.get("backoffCapSeconds", ClientSettings.backoff_cap_seconds)),
    )
    key = (settings.endpoint, hashlib.sha256(token.encode()).hexdigest(), repr(settings))
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = RailwayClient(token, settings)
        return client


def revision_of(values: Mapping[str, Any]) -> str:
    """A fingerprint of one write: what was written, and when.

    The ``Deployment`` resource deploys when a revision changes. Writes only happen when ``diff`` found a
    change (or drift was reverted), so stamping the time makes every write — including one that restores
    drifted values to what they were — lead to exactly one deploy, and a no-op ``up`` to none.
    """
    digest = hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return f"{digest}@{time.time_ns()}"


class RailwayProvider(ResourceProvider):
    """Shared machinery; subclasses declare their inputs and implement the Railway calls."""

    kind: ClassVar[str] = "Resource"
    input_keys: ClassVar[tuple[str, ...]] = ()
    replace_keys: ClassVar[frozenset[str]] = frozenset()
    required_keys: ClassVar[tuple[str, ...]] = ()

    _client: RailwayClient | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {}  # no client, lock or token ever goes into __provider

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def configure(self, req: ConfigureRequest) -> None:
        self._client = _client_from_config(req.config)

    def use_client(self, client: RailwayClient) -> None:
        """Inject a client (tests, and the ops commands that reuse these providers)."""
        self._client = client

    @property
    def client(self) -> RailwayClient:
        if self._client is None:
            raise errors.NotAuthorizedError(self.kind, "the provider was not configured with a Railway token")
        return self._client

    # ---- checks ------------------------------------------------------------------------------------
    def validate(self, news: Mapping[str, Any]) -> list[CheckFailure]:
        """Extra checks of known values; subclasses extend."""
        return []

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = [
            CheckFailure(key, f"{self.kind}: {key} is required")
            for key in self.required_keys
            if news.get(key) in (None, "")
        ]
        failures += self.validate(news)
        return CheckResult(news, failures)

    # ---- diff ----------------------------------------------------------------------------------------
    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k in self.input_keys if olds.get(k) != news.get(k)]
        if not changed:
            return DiffResult(changes=False, replaces=[], delete_before_replace=False)
        replaces = [k for k in changed if k in self.replace_keys]
        return DiffResult(changes=True, replaces=replaces, delete_before_replace=self.delete_before_replace)

    delete_before_replace: ClassVar[bool] = False

    # ---- lifecycle -------------------------------------------------------------------------------------
    def inputs_of(self, props: Mapping[str, Any]) -> dict[str, Any]:
        return {k: props.get(k) for k in self.input_keys}

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = self.inputs_of(props)
        id_, computed = self._create(inputs)
        return CreateResult(id_, {**inputs, **computed})

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        inputs = self.inputs_of(news)
        computed = self._update(id_, {k: v for k, v in olds.items() if not k.startswith("__")}, inputs)
        return UpdateResult({**{k: v for k, v in olds.items() if not k.startswith("__")}, **inputs, **computed})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        with contextlib.suppress(errors.NotFoundError):  # already gone: the goal of a delete is reached
            self._delete(id_, props)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        state = {k: v for k, v in props.items() if not k.startswith("__")}
        try:
            outs = self._read(id_, state)
        except errors.NotFoundError:
            return ReadResult("", {})  # gone behind our back: drop from state, the next up recreates it
        if outs is None:
            return ReadResult("", {})
        # Railway answers "" where nothing is set; that is the same as our None, not drift.
        outs = {k: state.get(k) if v in (None, "") and state.get(k) in (None, "") else v for k, v in outs.items()}
        merged = {**state, **outs}
        return ReadResult(id_, merged, inputs=self.inputs_of(merged))

    # ---- what subclasses implement -----------------------------------------------------------------------
    def _create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        raise TypeError(f"{type(self).__name__} must implement _create")

    def _update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        raise TypeError(f"{type(self).__name__} must implement _update")

    def _delete(self, id_: str, props: Mapping[str, Any]) -> None:
        raise TypeError(f"{type(self).__name__} must implement _delete")

    def _read(self, id_: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        raise TypeError(f"{type(self).__name__} must implement _read")

    def create_once(self, send: Callable[[], Any], find: Callable[[], Any]) -> Any:
        """Send a non-idempotent create; if its answer was lost, adopt what it made instead of repeating it."""
        try:
            return send()
        except errors.AmbiguousResultError:
            found = find()
            if found is not None:
                return found
            return send()


def _edges(connection: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    return [edge["node"] for edge in (connection or {}).get("edges", [])]


# =========================================================================================================
class ProjectProvider(RailwayProvider):
    kind = "Project"
    input_keys = ("name", "description", "workspace_id", "default_environment_name")
    replace_keys = frozenset({"workspace_id", "default_environment_name"})
    required_keys = ("name",)

    def _create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        payload = {
            "name": inputs["name"],
            "description": inputs.get("description") or "",
            "workspaceId": inputs.get("workspace_id"),
            "defaultEnvironmentName": inputs.get("default_environment_name") or "production",
        }
        project = self.create_once(
            lambda: self.client.execute(ops.PROJECT_CREATE, {"input": payload})["projectCreate"],
            lambda: self._find_by_name(inputs["name"], inputs.get("workspace_id")),
        )
        envs = {e["name"]: e["id"] for e in _edges(project.get("environments"))}
        default_env = envs.get(payload["defaultEnvironmentName"]) or next(iter(envs.values()), None)
        return project["id"], {"default_environment_id": default_env}

    def _find_by_name(self, name: str, workspace_id: str | None) -> dict[str, Any] | None:
        after = None
        for _ in range(50):  # bounded paging
            page = self.client.execute(ops.PROJECTS, {"workspaceId": workspace_id, "after": after})["projects"]
            for node in _edges(page):
                if node["name"] == name:
                    return dict(self.client.execute(ops.PROJECT, {"id": node["id"]})["project"])
            if not page["pageInfo"]["hasNextPage"]:
                return None
            after = page["pageInfo"]["endCursor"]
        return None

    def _update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        self.client.execute(
            ops.PROJECT_UPDATE,
            {"id": id_, "input": {"name": news["name"], "description": news.get("description") or ""}},
        )
        return {}

    def _delete(self, id_: str, props: Mapping[str, Any]) -> None:
        self.client.execute(ops.PROJECT_DELETE, {"id": id_})

    def _read(self, id_: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        project = self.client.execute(ops.PROJECT, {"id": id_})["project"]
        if project.get("deletedAt"):
            return None
        workspace = state.get("workspace_id")  # None means "the token's default": nothing to compare
        return {
            "name": project["name"],
            "description": project.get("description") or "",
            "workspace_id": project.get("workspaceId") if workspace else None,
        }


class EnvironmentProvider(RailwayProvider):
    """An environment of a project. The project's default environment is adopted, not duplicated."""

    kind = "Environment"
    input_keys = ("project_id", "name")
    replace_keys = frozenset({"project_id"})
    required_keys = ("project_id", "name")

    def _existing(self, project_id: str, name: str) -> dict[str, Any] | None:
        envs = _edges(self.client.execute(ops.ENVIRONMENTS, {"projectId": project_id})["environments"])
        return next((e for e in envs if e["name"] == name), None)

    def _create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        found = self._existing(inputs["project_id"], inputs["name"])
        if found is not None:
            return found["id"], {"adopted": True}
        env = self.create_once(
            lambda: self.client.execute(
                ops.ENVIRONMENT_CREATE, {"input": {"projectId": inputs["project_id"], "name": inputs["name"]}}
            )["environmentCreate"],
            lambda: self._existing(inputs["project_id"], inputs["name"]),
        )
        return env["id"], {"adopted": False}

    def _update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        self.client.execute(ops.ENVIRONMENT_RENAME, {"id": id_, "input": {"name": news["name"]}})
        return {}

    def _delete(self, id_: str, props: Mapping[str, Any]) -> None:
        if props.get("adopted"):
            return  # the project's default environment goes with the project
        self.client.execute(ops.ENVIRONMENT_DELETE, {"id": id_})

    def _read(self, id_: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        env = self.client.execute(ops.ENVIRONMENT, {"id": id_})["environment"]
        if env.get("deletedAt"):
            return None
        return {"name": env["name"], "project_id": env["projectId"]}


class ServiceProvider(RailwayProvider):
    """A project-wide service, created empty: its source and settings are set per environment."""

    kind = "Service"
    input_keys = ("project_id", "name")
    replace_keys = frozenset({"project_id"})
    required_keys = ("project_id", "name")

    def _find(self, project_id: str, name: str) -> dict[str, Any] | None:
        project = self.client.execute(ops.PROJECT, {"id": project_id})["project"]
        return next((s for s in _edges(project.get("services")) if s["name"] == name), None)

    def _create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        service = self.create_once(
            lambda: self.client.execute(
                ops.SERVICE_CREATE, {"input": {"projectId": inputs["project_id"], "name": inputs["name"]}}
            )["serviceCreate"],
            lambda: self._find(inputs["project_id"], inputs["name"]),
        )
        return service["id"], {}

    def _update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        self.client.execute(ops.SERVICE_UPDATE, {"id": id_, "input": {"name": news["name"]}})
        return {}

    def _delete(self, id_: str, props: Mapping[str, Any]) -> None:
        self.client.execute(ops.SERVICE_DELETE, {"id": id_})

    def _read(self, id_: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        service = self.client.execute(ops.SERVICE, {"id": id_})["service"]
        if service.get("deletedAt"):
            return None
        return {"name": service["name"], "project_id": service["projectId"]}


# Service-instance settings: our key -> (Railway input field, Railway read field)
_INSTANCE_FIELDS: dict[str, str] = {
    "root_directory": "rootDirectory",
    "build_command": "buildCommand",
    "start_command": "startCommand",
    "healthcheck_path": "healthcheckPath",
    "healthcheck_timeout": "healthcheckTimeout",
    "num_replicas": "numReplicas",
    "region": "region",
    "restart_policy_type": "restartPolicyType",
    "restart_policy_max_retries": "restartPolicyMaxRetries",
    "cron_schedule": "cronSchedule",
}


class ServiceInstanceProvider(RailwayProvider):
    """Per-environment settings of a service: source, commands, migrations, health check, scale.

    Written with ``serviceInstanceUpdate``, which stages settings without deploying; the ``Deployment``
    resource deploys once after settings and variables are both written.
    """

    kind = "ServiceInstance"
    input_keys = (
        "service_id",
        "environment_id",
        "source_repo",
        "source_image",
        "pre_deploy_command",
        *_INSTANCE_FIELDS,
    )
    replace_keys = frozenset({"service_id", "environment_id"})
    required_keys = ("service_id", "environment_id")

    def validate(self, news: Mapping[str, Any]) -> list[CheckFailure]:
        failures: list[CheckFailure] = []

        def known(key: str) -> Any:
            value = news.get(key)
            return None if is_unknown(value) else value

        if known("source_repo") and known("source_image"):
            failures.append(CheckFailure("source_image", "give either source_repo or source_image, not both"))
        repo = known("source_repo")
        if repo and not _REPOSITORY.match(repo):
            failures.append(CheckFailure("source_repo", f"{repo!r} is not an owner/name GitHub repository"))
        path = known("healthcheck_path")
        if path is not None and not str(path).startswith("/"):
            failures.append(CheckFailure("healthcheck_path", f"{path!r} must start with '/', e.g. /api/health"))
        replicas = known("num_replicas")
        if replicas is not None and (not isinstance(replicas, int | float) or replicas < 1):
            failures.append(CheckFailure("num_replicas", "Railway needs at least 1 replica"))
        timeout = known("healthcheck_timeout")
        if timeout is not None and (not isinstance(timeout, int | float) or not 1 <= timeout <= 3600):
            failures.append(CheckFailure("healthcheck_timeout", "must be between 1 and 3600 seconds"))
        policy = known("restart_policy_type")
        if policy is not None and policy not in ("ALWAYS", "NEVER", "ON_FAILURE"):
            failures.append(CheckFailure("restart_policy_type", "must be ALWAYS, NEVER or ON_FAILURE"))
        if known("cron_schedule") and replicas not in (None, 1):
            failures.append(CheckFailure("cron_schedule", "a cron service runs exactly 1 replica"))
        return failures

    @staticmethod
    def _payload(inputs: Mapping[str, Any]) -> dict[str, Any]:
        payload: dict[str, Any] = {field: inputs.get(key) for key, field in _INSTANCE_FIELDS.items()}
        for key in ("healthcheck_timeout", "num_replicas", "restart_policy_max_retries"):
            field = _INSTANCE_FIELDS[key]
            if payload[field] is not None:
                payload[field] = int(payload[field])
        command = inputs.get("pre_deploy_command")
        payload["preDeployCommand"] = [command] if command else None
        if inputs.get("source_repo") or inputs.get("source_image"):
            payload["source"] = {"repo": inputs.get("source_repo"), "image": inputs.get("source_image")}
        if inputs.get("region") and inputs.get("num_replicas"):
            payload["multiRegionConfig"] = {inputs["region"]: {"numReplicas": int(inputs["num_replicas"])}}
        return payload

    def _write(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        self.client.execute(
            ops.SERVICE_INSTANCE_UPDATE,
            {
                "serviceId": inputs["service_id"],
                "environmentId": inputs["environment_id"],
                "input": self._payload(inputs),
            },
        )
        return {"revision": revision_of({k: inputs.get(k) for k in self.input_keys})}

    def _create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return f"{inputs['service_id']}:{inputs['environment_id']}", self._write(inputs)

    def _update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        return self._write(news)

    def _delete(self, id_: str, props: Mapping[str, Any]) -> None:
        return  # settings live and die with the service; nothing of their own to remove

    def _read(self, id_: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        instance = self.client.execute(
            ops.SERVICE_INSTANCE, {"serviceId": state["service_id"], "environmentId": state["environment_id"]}
        )["serviceInstance"]
        outs: dict[str, Any] = {key: instance.get(field) for key, field in _INSTANCE_FIELDS.items()}
        source = instance.get("source") or {}
        outs["source_repo"] = source.get("repo")
        outs["source_image"] = source.get("image")
        pre = instance.get("preDeployCommand")
        if isinstance(pre, list):
            pre = " && ".join(pre) if pre else None
        outs["pre_deploy_command"] = pre
        return outs


class VariablesProvider(RailwayProvider):
    """The whole variable set of one service in one environment, written in one request.

    Values are secret. Writes use ``skipDeploys`` so that settings and variables changed in the same
    ``up`` lead to a single deploy (the ``Deployment`` resource). Names removed from the set are deleted;
    names added outside Pulumi show up on refresh and are removed by the next ``up``. Names starting with
    ``RAILWAY_`` belong to Railway and are never touched.
    """

    kind = "Variables"
    input_keys = ("project_id", "environment_id", "service_id", "variables")
    replace_keys = frozenset({"project_id", "environment_id", "service_id"})
    required_keys = ("project_id", "environment_id", "service_id")

    def validate(self, news: Mapping[str, Any]) -> list[CheckFailure]:
        variables = news.get("variables")
        if variables is None or (is_unknown(variables) and not isinstance(variables, Mapping)):
            return []
        if not isinstance(variables, Mapping):
            return [CheckFailure("variables", "must be a map of NAME -> value")]
        failures = []
        for name, value in variables.items():
            if not _VARIABLE_NAME.match(name):
                failures.append(CheckFailure("variables", f"{name!r} is not a valid variable name"))
            elif name.startswith("RAILWAY_"):
                failures.append(CheckFailure("variables", f"{name} is reserved by Railway"))
            elif not is_unknown(value) and not isinstance(value, str):
                failures.append(CheckFailure("variables", f"the value of {name} must be a string"))
        return failures

    def _scope(self, props: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "projectId": props["project_id"],
            "environmentId": props["environment_id"],
            "serviceId": props["service_id"],
        }

    def _apply(self, props: Mapping[str, Any], before: Mapping[str, str], after: Mapping[str, str]) -> dict[str, Any]:
        """One request whatever changed: changed names are upserted; when names go away, the whole set is
        written with ``replace`` (``variableDelete`` has no ``skipDeploys`` and would deploy per name)."""
        removed = set(before) - set(after)
        changed = dict(after) if removed else {k: v for k, v in after.items() if before.get(k) != v}
        if changed or removed:
            self.client.execute(
                ops.VARIABLE_COLLECTION_UPSERT,
                {"input": {**self._scope(props), "variables": changed, "replace": bool(removed), "skipDeploys": True}},
            )
        return {"revision": revision_of(dict(after))}

    def _create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        id_ = f"{inputs['project_id']}:{inputs['environment_id']}:{inputs['service_id']}"
        return id_, self._apply(inputs, {}, dict(inputs.get("variables") or {}))

    def _update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        return self._apply(news, dict(olds.get("variables") or {}), dict(news.get("variables") or {}))

    def _delete(self, id_: str, props: Mapping[str, Any]) -> None:
        self._apply(props, dict(props.get("variables") or {}), {})

    def _read(self, id_: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        remote = self.client.execute(ops.VARIABLES, self._scope(state))["variables"] or {}
        remote = {k: v for k, v in remote.items() if not k.startswith("RAILWAY_")}
        return {"variables": remote}


class ServiceDomainProvider(RailwayProvider):
    """The service's ``*.up.railway.app`` domain, always with an explicit target port."""

    kind = "ServiceDomain"
    input_keys = ("service_id", "environment_id", "project_id", "target_port")
    replace_keys = frozenset({"service_id", "environment_id", "project_id"})
    required_keys = ("service_id", "environment_id", "project_id", "target_port")

    def validate(self, news: Mapping[str, Any]) -> list[CheckFailure]:
        port = news.get("target_port")
        if port is not None and not is_unknown(port) and not (isinstance(port, int | float) and 1 <= port <= 65535):
            return [CheckFailure("target_port", "must be a port number between 1 and 65535")]
        return []

    def _domains(self, props: Mapping[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.client.execute(
            ops.DOMAINS,
            {
                "projectId": props["project_id"],
                "environmentId": props["environment_id"],
                "serviceId": props["service_id"],
            },
        )["domains"]
        return result

    def _create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        domain = self.create_once(
            lambda: self.client.execute(
                ops.SERVICE_DOMAIN_CREATE,
                {
                    "input": {
                        "serviceId": inputs["service_id"],
                        "environmentId": inputs["environment_id"],
                        "targetPort": int(inputs["target_port"]),
                    }
                },
            )["serviceDomainCreate"],
            lambda: next(iter(self._domains(inputs)["serviceDomains"]), None),
        )
        return domain["id"], {"domain": domain["domain"], "url": f"https://{domain['domain']}"}

    def _update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        self.client.execute(
            ops.SERVICE_DOMAIN_UPDATE,
            {
                "input": {
                    "serviceDomainId": id_,
                    "domain": olds["domain"],
                    "environmentId": news["environment_id"],
                    "serviceId": news["service_id"],
                    "targetPort": int(news["target_port"]),
                }
            },
        )
        return {}

    def _delete(self, id_: str, props: Mapping[str, Any]) -> None:
        self.client.execute(ops.SERVICE_DOMAIN_DELETE, {"id": id_})

    def _read(self, id_: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        found = next((d for d in self._domains(state)["serviceDomains"] if d["id"] == id_), None)
        if found is None:
            return None
        return {"domain": found["domain"], "url": f"https://{found['domain']}", "target_port": found["targetPort"]}


def _dns_outputs(domain: Mapping[str, Any]) -> dict[str, Any]:
    status = domain.get("status") or {}
    records = [
        {
            "type": str(r.get("recordType", "")).removeprefix("DNS_RECORD_TYPE_"),
            "host": r.get("hostlabel"),
            "fqdn": r.get("fqdn"),
            "value": r.get("requiredValue"),
            "status": str(r.get("status") or "").removeprefix("DNS_RECORD_STATUS_"),
        }
        for r in status.get("dnsRecords") or []
    ]
    if status.get("verificationDnsHost") and status.get("verificationToken"):
        records.append(
            {
                "type": "TXT",
                "host": status["verificationDnsHost"],
                "fqdn": None,
                "value": status["verificationToken"],
                "status": "VERIFICATION",
            }
        )
    return {
        "dns_records": records,
        "verified": bool(status.get("verified")),
        "certificate_status": str(status.get("certificateStatus") or "").removeprefix("CERTIFICATE_STATUS_TYPE_"),
    }


class CustomDomainProvider(RailwayProvider):
    """A custom domain; exports the DNS records the user must create and the verification state."""

    kind = "CustomDomain"
    input_keys = ("project_id", "environment_id", "service_id", "domain", "target_port")
    replace_keys = frozenset({"project_id", "environment_id", "service_id", "domain"})
    required_keys = ("project_id", "environment_id", "service_id", "domain")
    delete_before_replace = True  # a domain name can be attached only once

    def validate(self, news: Mapping[str, Any]) -> list[CheckFailure]:
        domain = news.get("domain")
        if isinstance(domain, str) and not is_unknown(domain) and not _HOST.match(domain):
            return [CheckFailure("domain", f"{domain!r} is not a domain name (e.g. api.mayassistant.com)")]
        return []

    def _create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        def find() -> dict[str, Any] | None:
            domains = self.client.execute(
                ops.DOMAINS,
                {
                    "projectId": inputs["project_id"],
                    "environmentId": inputs["environment_id"],
                    "serviceId": inputs["service_id"],
                },
            )["domains"]["customDomains"]
            return next((d for d in domains if d["domain"] == inputs["domain"]), None)

        domain = self.create_once(
            lambda: self.client.execute(
                ops.CUSTOM_DOMAIN_CREATE,
                {
                    "input": {
                        "projectId": inputs["project_id"],
                        "environmentId": inputs["environment_id"],
                        "serviceId": inputs["service_id"],
                        "domain": inputs["domain"],
                        "targetPort": int(inputs["target_port"]) if inputs.get("target_port") else None,
                    }
                },
            )["customDomainCreate"],
            find,
        )
        return domain["id"], _dns_outputs(domain)

    def _update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        port = news.get("target_port")
        self.client.execute(
            ops.CUSTOM_DOMAIN_UPDATE,
            {"id": id_, "environmentId": news["environment_id"], "targetPort": int(port) if port else None},
        )
        return {}

    def _delete(self, id_: str, props: Mapping[str, Any]) -> None:
        self.client.execute(ops.CUSTOM_DOMAIN_DELETE, {"id": id_})

    def _read(self, id_: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        domain = self.client.execute(ops.CUSTOM_DOMAIN, {"id": id_, "projectId": state["project_id"]})["customDomain"]
        return {"domain": domain["domain"], "target_port": domain.get("targetPort"), **_dns_outputs(domain)}


class DeploymentTriggerProvider(RailwayProvider):
    """Branch auto-deploy from GitHub that waits for CI (``checkSuites``) before deploying."""

    kind = "DeploymentTrigger"
    input_keys = (
        "project_id",
        "environment_id",
        "service_id",
        "provider",
        "repository",
        "branch",
        "check_suites",
        "root_directory",
    )
    replace_keys = frozenset({"project_id", "environment_id", "service_id", "provider"})
    required_keys = ("project_id", "environment_id", "service_id", "repository", "branch")

    def validate(self, news: Mapping[str, Any]) -> list[CheckFailure]:
        repo = news.get("repository")
        if isinstance(repo, str) and not is_unknown(repo) and not _REPOSITORY.match(repo):
            return [CheckFailure("repository", f"{repo!r} is not an owner/name GitHub repository")]
        return []

    def _list(self, props: Mapping[str, Any]) -> list[dict[str, Any]]:
        return _edges(
            self.client.execute(
                ops.DEPLOYMENT_TRIGGERS,
                {
                    "projectId": props["project_id"],
                    "environmentId": props["environment_id"],
                    "serviceId": props["service_id"],
                },
            )["deploymentTriggers"]
        )

    def _create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        trigger = self.create_once(
            lambda: self.client.execute(
                ops.DEPLOYMENT_TRIGGER_CREATE,
                {
                    "input": {
                        "projectId": inputs["project_id"],
                        "environmentId": inputs["environment_id"],
                        "serviceId": inputs["service_id"],
                        "provider": inputs.get("provider") or "github",
                        "repository": inputs["repository"],
                        "branch": inputs["branch"],
                        "checkSuites": bool(inputs.get("check_suites")),
                        "rootDirectory": inputs.get("root_directory"),
                    }
                },
            )["deploymentTriggerCreate"],
            lambda: next((t for t in self._list(inputs) if t["repository"] == inputs["repository"]), None),
        )
        return trigger["id"], {}

    def _update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        self.client.execute(
            ops.DEPLOYMENT_TRIGGER_UPDATE,
            {
                "id": id_,
                "input": {
                    "branch": news["branch"],
                    "repository": news["repository"],
                    "checkSuites": bool(news.get("check_suites")),
                    "rootDirectory": news.get("root_directory"),
                },
            },
        )
        return {}

    def _delete(self, id_: str, props: Mapping[str, Any]) -> None:
        self.client.execute(ops.DEPLOYMENT_TRIGGER_DELETE, {"id": id_})

    def _read(self, id_: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        found = next((t for t in self._list(state) if t["id"] == id_), None)
        if found is None:
            return None
        return {
            "repository": found["repository"],
            "branch": found["branch"],
            "check_suites": found["checkSuites"],
            "provider": found["provider"],
        }


class ProjectTokenProvider(RailwayProvider):
    """An environment-scoped project token for the CI deploy job; its value is a secret output."""

    kind = "ProjectToken"
    input_keys = ("project_id", "environment_id", "name")
    replace_keys = frozenset(input_keys)
    required_keys = input_keys

    def _find(self, inputs: Mapping[str, Any]) -> dict[str, Any] | None:
        tokens = _edges(self.client.execute(ops.PROJECT_TOKENS, {"projectId": inputs["project_id"]})["projectTokens"])
        return next(
            (t for t in tokens if t["name"] == inputs["name"] and t["environmentId"] == inputs["environment_id"]), None
        )

    def _create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        send = {
            "input": {
                "projectId": inputs["project_id"],
                "environmentId": inputs["environment_id"],
                "name": inputs["name"],
            }
        }
        try:
            token = self.client.execute(ops.PROJECT_TOKEN_CREATE, send)["projectTokenCreate"]
        except errors.AmbiguousResultError:
            # Railway shows a token's value only once: a token made by the lost request is useless to
            # us, so remove it and make a fresh one rather than leave a stray credential behind.
            stray = self._find(inputs)
            if stray is not None:
                self.client.execute(ops.PROJECT_TOKEN_DELETE, {"id": stray["id"]})
            token = self.client.execute(ops.PROJECT_TOKEN_CREATE, send)["projectTokenCreate"]
        made = self._find(inputs)
        if made is None:
            raise errors.RailwayError("ProjectTokens", f"the token {inputs['name']!r} was created but is not listed")
        return made["id"], {"token": token}

    def _delete(self, id_: str, props: Mapping[str, Any]) -> None:
        self.client.execute(ops.PROJECT_TOKEN_DELETE, {"id": id_})

    def _read(self, id_: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        tokens = _edges(self.client.execute(ops.PROJECT_TOKENS, {"projectId": state["project_id"]})["projectTokens"])
        found = next((t for t in tokens if t["id"] == id_), None)
        return None if found is None else {"name": found["name"], "environment_id": found["environmentId"]}


class PostgresProvider(RailwayProvider):
    """Railway's PostgreSQL template (a service with its volume); the backend references its URL."""

    kind = "Postgres"
    input_keys = ("project_id", "environment_id", "service_name", "workflow_timeout_seconds", "workflow_poll_seconds")
    replace_keys = frozenset({"project_id", "environment_id", "service_name"})
    required_keys = ("project_id", "environment_id")

    def _service(self, project_id: str, name: str) -> dict[str, Any] | None:
        project = self.client.execute(ops.PROJECT, {"id": project_id})["project"]
        return next((s for s in _edges(project.get("services")) if s["name"] == name), None)

    def _outputs(self, inputs: Mapping[str, Any], service: Mapping[str, Any]) -> dict[str, Any]:
        volumes = _edges(
            self.client.execute(ops.ENVIRONMENT_VOLUME_INSTANCES, {"environmentId": inputs["environment_id"]})[
                "environment"
            ]["volumeInstances"]
        )
        volume = next((v for v in volumes if v.get("serviceId") == service["id"]), None)
        return {
            "service_id": service["id"],
            "volume_id": volume["volumeId"] if volume else None,
            "volume_instance_id": volume["id"] if volume else None,
            "database_url_reference": "${{" + service["name"] + ".DATABASE_URL}}",
        }

    def _create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        name = inputs.get("service_name") or "Postgres"
        service = self._service(inputs["project_id"], name)
        if service is None:  # not there yet (a retry after a failure finds and adopts it instead)
            template = self.client.execute(ops.TEMPLATE, {"code": "postgres"})["template"]
            deployed = self.create_once(
                lambda: self.client.execute(
                    ops.TEMPLATE_DEPLOY,
                    {
                        "input": {
                            "templateId": template["id"],
                            "serializedConfig": template["serializedConfig"],
                            "projectId": inputs["project_id"],
                            "environmentId": inputs["environment_id"],
                        }
                    },
                )["templateDeployV2"],
                lambda: self._service(inputs["project_id"], name),
            )
            if "workflowId" in deployed:
                self._wait_workflow(deployed["workflowId"], inputs)
            service = self._service(inputs["project_id"], name)
            if service is None:
                raise errors.RailwayError(
                    "TemplateDeployV2",
                    f"the PostgreSQL template finished but no service "
                    f"named {name!r} exists; rename it in Railway or set service_name",
                )
        return service["id"], self._outputs(inputs, service)

    def _wait_workflow(self, workflow_id: str, inputs: Mapping[str, Any]) -> None:
        deadline = time.monotonic() + float(inputs.get("workflow_timeout_seconds") or 600)
        poll = float(inputs.get("workflow_poll_seconds") or 3)
        while time.monotonic() < deadline:
            status = self.client.execute(ops.WORKFLOW_STATUS, {"workflowId": workflow_id})["workflowStatus"]
            if status["status"] == "Complete":
                return
            if status["status"] in ("Error", "NotFound"):
                raise errors.RailwayError("WorkflowStatus", f"the PostgreSQL template failed: {status.get('error')}")
            time.sleep(poll)
        raise errors.RailwayError("WorkflowStatus", f"the PostgreSQL template did not finish in time ({workflow_id})")

    def _update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        return {}  # only the wait settings can change in place

    def _delete(self, id_: str, props: Mapping[str, Any]) -> None:
        with contextlib.suppress(errors.NotFoundError):
            self.client.execute(ops.SERVICE_DELETE, {"id": id_})
        if props.get("volume_id"):
            self.client.execute(ops.VOLUME_DELETE, {"volumeId": props["volume_id"]})

    def _read(self, id_: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        service = self.client.execute(ops.SERVICE, {"id": id_})["service"]
        if service.get("deletedAt"):
            return None
        return {"service_name": service["name"], "database_url_reference": "${{" + service["name"] + ".DATABASE_URL}}"}


class DeploymentProvider(RailwayProvider):
    """One deploy of a service instance per change of its settings or variables, waited for.

    ``revision`` fingerprints what was written; when it changes, ``up`` deploys once and waits (bounded)
    for SUCCESS. FAILED or CRASHED fails the update naming the deployment, so the next ``up`` retries.
    """

    kind = "Deployment"
    input_keys = ("project_id", "service_id", "environment_id", "revision", "timeout_seconds", "poll_seconds")
    replace_keys = frozenset({"project_id", "service_id", "environment_id"})
    required_keys = ("project_id", "service_id", "environment_id")

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        result = super().diff(id_, olds, news)
        if olds.get("status") in TERMINAL_FAILURES and not result.replaces:
            return DiffResult(changes=True, replaces=[], delete_before_replace=False)  # the service is down
        return result

    def _latest(self, inputs: Mapping[str, Any]) -> dict[str, Any] | None:
        deployments = _edges(
            self.client.execute(
                ops.DEPLOYMENTS,
                {
                    "input": {
                        "projectId": inputs["project_id"],
                        "serviceId": inputs["service_id"],
                        "environmentId": inputs["environment_id"],
                    },
                    "first": 1,
                },
            )["deployments"]
        )
        return deployments[0] if deployments else None

    def _deploy(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        def adopt_in_flight() -> str | None:
            latest = self._latest(inputs)
            return latest["id"] if latest and latest["status"] in IN_FLIGHT else None

        deployment_id = self.create_once(
            lambda: self.client.execute(
                ops.SERVICE_INSTANCE_DEPLOY,
                {"serviceId": inputs["service_id"], "environmentId": inputs["environment_id"]},
            )["serviceInstanceDeployV2"],
            adopt_in_flight,
        )
        status = self.wait(
            deployment_id, float(inputs.get("timeout_seconds") or 900), float(inputs.get("poll_seconds") or 5)
        )
        return {"deployment_id": deployment_id, "status": status}

    def wait(self, deployment_id: str, timeout: float, poll: float) -> str:
        deadline = time.monotonic() + timeout
        status = "QUEUED"
        while time.monotonic() < deadline:
            status = self.client.execute(ops.DEPLOYMENT, {"id": deployment_id})["deployment"]["status"]
            if status == "SUCCESS":
                return status
            if status in TERMINAL_FAILURES:
                raise errors.DeploymentFailedError(
                    "Deployment",
                    f"deployment {deployment_id} ended {status}; read its logs with "
                    f"`railway logs --deployment {deployment_id}`, fix the cause and run `pulumi up` again "
                    "(the next up deploys again)",
                )
            if status == "NEEDS_APPROVAL":
                raise errors.DeploymentFailedError(
                    "Deployment",
                    f"deployment {deployment_id} waits for approval in Railway; approve it, then run `pulumi up` again",
                )
            time.sleep(poll)
        raise errors.DeploymentFailedError(
            "Deployment",
            f"deployment {deployment_id} was still {status} after {timeout:.0f}s; raise "
            "backend.deployTimeoutSeconds or check Railway, then run `pulumi up` again",
        )

    def _create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        outs = self._deploy(inputs)
        return f"{inputs['service_id']}:{inputs['environment_id']}", outs

    def _update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        if olds.get("revision") == news.get("revision") and olds.get("status") == "SUCCESS":
            return {}  # only the wait settings changed: nothing to deploy
        return self._deploy(news)

    def _delete(self, id_: str, props: Mapping[str, Any]) -> None:
        return  # a deployment is history, not an object to remove; the service's deletion stops it

    def _read(self, id_: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        # What matters is whether the instance is live now, whoever deployed last (CI deploys too).
        latest = self._latest(state)
        if latest is None:
            return None
        return {"deployment_id": latest["id"], "status": latest["status"]}


BACKUP_KINDS = ("DAILY", "WEEKLY", "MONTHLY")  # Railway's VolumeInstanceBackupScheduleKind, in listing order


class BackupScheduleProvider(RailwayProvider):
    """Railway's backup schedule of one volume instance (the stack's PostgreSQL volume).

    Which of Railway's DAILY, WEEKLY and MONTHLY backups the volume takes; each kind comes with Railway's
    own time of day and retention, read back as ``schedules``. The id is the volume instance's id: a
    volume has one schedule set. ``volumeInstanceBackupScheduleUpdate`` replaces the whole set, so create
    and update are the same idempotent call (retried safely), followed by one read-back; ``delete`` clears
    the set. ``read`` (refresh) lists the schedules once: other kinds, or a schedule cleared in the
    dashboard, are drift the next ``up`` reverts; a volume that is gone drops the resource from state.
    """

    kind = "BackupSchedule"
    input_keys = ("volume_instance_id", "kinds")
    replace_keys = frozenset({"volume_instance_id"})
    required_keys = ()

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        kinds = news.get("kinds")
        if (
            isinstance(kinds, list | tuple)
            and not is_unknown(kinds)
            and set(kinds) <= set(BACKUP_KINDS)
            and len(set(kinds)) == len(kinds)
        ):
            news = {**news, "kinds": [k for k in BACKUP_KINDS if k in kinds]}  # Railway's order: no false diffs
        return super().check(olds, news)

    def validate(self, news: Mapping[str, Any]) -> list[CheckFailure]:
        failures = []
        volume = news.get("volume_instance_id")
        if volume in (None, ""):
            failures.append(
                CheckFailure(
                    "volume_instance_id",
                    f"{self.kind}: the database has no volume instance in this environment, so Railway has "
                    "nothing to back up; check the PostgreSQL service's volume in the dashboard",
                )
            )
        kinds = news.get("kinds")
        if is_unknown(kinds):
            return failures
        if not isinstance(kinds, list | tuple) or not kinds:
            failures.append(
                CheckFailure("kinds", f"{self.kind}: kinds must list at least one of {', '.join(BACKUP_KINDS)}")
            )
        else:
            bad = [k for k in kinds if k not in BACKUP_KINDS]
            if bad:
                failures.append(
                    CheckFailure("kinds", f"{self.kind}: {bad} are not backup kinds ({', '.join(BACKUP_KINDS)})")
                )
            if len(set(kinds)) != len(kinds):
                failures.append(CheckFailure("kinds", f"{self.kind}: kinds lists a kind twice"))
        return failures

    def _schedules(self, volume_instance_id: str) -> dict[str, Any]:
        listed = self.client.execute(ops.VOLUME_INSTANCE_BACKUP_SCHEDULES, {"volumeInstanceId": volume_instance_id})[
            "volumeInstanceBackupScheduleList"
        ]
        by_kind = {s["kind"]: s for s in listed}
        kinds = [k for k in BACKUP_KINDS if k in by_kind]
        return {
            "kinds": kinds,
            "schedules": [
                {
                    "kind": k,
                    "cron": by_kind[k].get("cron"),
                    "retention_seconds": by_kind[k].get("retentionSeconds"),
                }
                for k in kinds
            ],
        }

    def _apply(self, volume_instance_id: str, kinds: list[str]) -> dict[str, Any]:
        self.client.execute(
            ops.VOLUME_INSTANCE_BACKUP_SCHEDULE_UPDATE, {"volumeInstanceId": volume_instance_id, "kinds": kinds}
        )
        return self._schedules(volume_instance_id)

    def _create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        volume = inputs["volume_instance_id"]
        return volume, self._apply(volume, list(inputs["kinds"]))

    def _update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        return self._apply(id_, list(news["kinds"]))

    def _delete(self, id_: str, props: Mapping[str, Any]) -> None:
        self.client.execute(ops.VOLUME_INSTANCE_BACKUP_SCHEDULE_UPDATE, {"volumeInstanceId": id_, "kinds": []})

    def _read(self, id_: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        # An empty list is not "gone": the schedule was cleared behind our back, and kinds [] is that drift.
        return {"volume_instance_id": id_, **self._schedules(id_)}
