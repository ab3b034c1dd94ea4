"""Providers of the project's skeleton: project, environment, service, its settings and its variables."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pulumi.dynamic import CheckFailure

from components.railway import operations as ops
from components.railway.exactly_once import ADOPTED, CREATED
from components.railway.providers.base import (
    REPOSITORY,
    VARIABLE_NAME,
    Field,
    RailwayProvider,
    edges,
    is_unknown,
    revision_of,
    service_scope,
)

#: What marks a project as made by this program for one stack, written into its description.
MARKER = re.compile(r"managed by maya-infra \(stack [^()]+\)")


def marker(stack: str) -> str:
    """The text that, in a project's description, says "this stack created me" (see ``ProjectProvider``)."""
    return f"managed by maya-infra (stack {stack})"


class ProjectProvider(RailwayProvider):
    """A Railway project. Natural key: workspace + name.

    A project found by name before anything was sent is ours (``origin: created``) only if its
    description carries the marker of the description we would write (``managed by maya-infra (stack
    staging)``) — then it is what an interrupted run of ours made. Otherwise it is ``adopted``: it is
    managed from now on, but never deleted by this stack.
    """

    kind = "Project"
    fields = (
        Field("name", required=True),
        Field("description"),
        Field("workspace_id", replace=True),
        Field("default_environment_name", replace=True),
        Field("default_environment_id", output=True),
    )

    def _create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        payload = {
            "name": inputs["name"],
            "description": inputs.get("description") or "",
            "workspaceId": inputs.get("workspace_id"),
            "defaultEnvironmentName": inputs.get("default_environment_name") or "production",
        }
        outcome = self.create_exactly_once(
            f"{inputs['name']!r} (workspace {inputs.get('workspace_id') or 'of the token'})",
            find=lambda: self._find_by_name(inputs["name"], inputs.get("workspace_id"), payload["description"]),
            send=lambda: self.client.execute(ops.PROJECT_CREATE, {"input": payload})["projectCreate"],
        )
        project = outcome.value
        origin = outcome.origin
        if origin == ADOPTED and self._is_ours(payload["description"], project.get("description")):
            origin = CREATED
        envs = {e["name"]: e["id"] for e in edges(project.get("environments"))}
        default_env = envs.get(payload["defaultEnvironmentName"]) or next(iter(envs.values()), None)
        return project["id"], {"default_environment_id": default_env, "origin": origin}

    @staticmethod
    def _is_ours(wanted: str, found: str | None) -> bool:
        mark = MARKER.search(wanted or "")
        return mark is not None and mark.group(0) in (found or "")

    def _find_by_name(self, name: str, workspace_id: str | None, description: str) -> dict[str, Any] | None:
        """The project of that name (ours first, when an earlier fault left more than one)."""
        matches: list[dict[str, Any]] = []
        after = None
        for _ in range(50):  # bounded paging
            page = self.client.execute(ops.PROJECTS, {"workspaceId": workspace_id, "after": after})["projects"]
            matches += [node for node in edges(page) if node["name"] == name]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        ours = [m for m in matches if self._is_ours(description, m.get("description"))]
        return next(iter(ours or matches), None)

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
    """An environment of a project. Natural key: project + name.

    Found before anything was sent — e.g. the project's default environment, made by ``projectCreate`` —
    it is adopted (``origin: adopted``, and ``adopted: true`` as states before ``origin`` recorded it), so
    it is never deleted on its own: it goes with its project.
    """

    kind = "Environment"
    fields = (
        Field("project_id", replace=True, required=True),
        Field("name", required=True),
        Field("adopted", output=True),
    )

    def _existing(self, project_id: str, name: str) -> dict[str, Any] | None:
        envs = edges(self.client.execute(ops.ENVIRONMENTS, {"projectId": project_id})["environments"])
        return next((e for e in envs if e["name"] == name), None)

    def _create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        outcome = self.create_exactly_once(
            f"{inputs['name']!r}",
            find=lambda: self._existing(inputs["project_id"], inputs["name"]),
            send=lambda: self.client.execute(
                ops.ENVIRONMENT_CREATE, {"input": {"projectId": inputs["project_id"], "name": inputs["name"]}}
            )["environmentCreate"],
        )
        return outcome.value["id"], {"adopted": outcome.origin == ADOPTED, "origin": outcome.origin}

    def _update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        self.client.execute(ops.ENVIRONMENT_RENAME, {"id": id_, "input": {"name": news["name"]}})
        return {}

    def _delete(self, id_: str, props: Mapping[str, Any]) -> None:
        if props.get("adopted"):
            return  # a state from before ``origin``: the project's default environment goes with the project
        self.client.execute(ops.ENVIRONMENT_DELETE, {"id": id_})

    def _read(self, id_: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        env = self.client.execute(ops.ENVIRONMENT, {"id": id_})["environment"]
        if env.get("deletedAt"):
            return None
        return {"name": env["name"], "project_id": env["projectId"]}


class ServiceProvider(RailwayProvider):
    """A project-wide service, created empty: its source and settings are set per environment.

    Natural key: project + name. A rename is an in-place ``serviceUpdate``.
    """

    kind = "Service"
    fields = (Field("project_id", replace=True, required=True), Field("name", required=True))

    def _find(self, project_id: str, name: str) -> dict[str, Any] | None:
        project = self.client.execute(ops.PROJECT, {"id": project_id})["project"]
        return next((s for s in edges(project.get("services")) if s["name"] == name), None)

    def _create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        outcome = self.create_exactly_once(
            f"{inputs['name']!r}",
            find=lambda: self._find(inputs["project_id"], inputs["name"]),
            send=lambda: self.client.execute(
                ops.SERVICE_CREATE, {"input": {"projectId": inputs["project_id"], "name": inputs["name"]}}
            )["serviceCreate"],
        )
        return outcome.value["id"], {"origin": outcome.origin}

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
    fields = (
        Field("service_id", replace=True, required=True),
        Field("environment_id", replace=True, required=True),
        Field("source_repo"),
        Field("source_image"),
        Field("pre_deploy_command"),
        *(Field(key) for key in _INSTANCE_FIELDS),
        Field("revision", output=True),
    )

    def validate(self, news: Mapping[str, Any]) -> list[CheckFailure]:
        failures: list[CheckFailure] = []

        def known(key: str) -> Any:
            value = news.get(key)
            return None if is_unknown(value) else value

        if known("source_repo") and known("source_image"):
            failures.append(CheckFailure("source_image", "give either source_repo or source_image, not both"))
        repo = known("source_repo")
        if repo and not REPOSITORY.match(repo):
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
    fields = (
        Field("project_id", replace=True, required=True),
        Field("environment_id", replace=True, required=True),
        Field("service_id", replace=True, required=True),
        Field("variables", secret=True),
        # adopted sets (ops adopt): names that run but are not declared stay on Railway and out of the state
        Field("keep_undeclared"),
        Field("revision", output=True, secret=True),
    )

    def validate(self, news: Mapping[str, Any]) -> list[CheckFailure]:
        variables = news.get("variables")
        if variables is None or (is_unknown(variables) and not isinstance(variables, Mapping)):
            return []
        if not isinstance(variables, Mapping):
            return [CheckFailure("variables", "must be a map of NAME -> value")]
        failures = []
        for name, value in variables.items():
            if not VARIABLE_NAME.match(name):
                failures.append(CheckFailure("variables", f"{name!r} is not a valid variable name"))
            elif name.startswith("RAILWAY_"):
                failures.append(CheckFailure("variables", f"{name} is reserved by Railway"))
            elif not is_unknown(value) and not isinstance(value, str):
                failures.append(CheckFailure("variables", f"the value of {name} must be a string"))
        return failures

    def _apply(self, props: Mapping[str, Any], before: Mapping[str, str], after: Mapping[str, str]) -> dict[str, Any]:
        """One request whatever changed: changed names are upserted; when names go away, the whole set is
        written with ``replace`` (``variableDelete`` has no ``skipDeploys`` and would deploy per name).
        Names never in the state are never in ``before``: with ``keep_undeclared`` they are never removed."""
        removed = set(before) - set(after)
        changed = dict(after) if removed else {k: v for k, v in after.items() if before.get(k) != v}
        if changed or removed:
            self.client.execute(
                ops.VARIABLE_COLLECTION_UPSERT,
                {
                    "input": {
                        **service_scope(props),
                        "variables": changed,
                        "replace": bool(removed),
                        "skipDeploys": True,
                    }
                },
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
        remote = self.client.execute(ops.VARIABLES, service_scope(state))["variables"] or {}
        remote = {k: v for k, v in remote.items() if not k.startswith("RAILWAY_")}
        if state.get("keep_undeclared"):
            # an adopted set (ops adopt): names nobody declared stay on Railway and out of the state, so no
            # later write removes them; a declared name deleted behind our back still shows as drift
            declared = set(state.get("variables") or {})
            remote = {k: v for k, v in remote.items() if k in declared}
        return {"variables": remote}
