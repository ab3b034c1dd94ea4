"""The backend service and its per-environment settings (source, commands, migrations, health check, scale)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure

from components.railway import operations as gql
from components.railway.providers.adoption import RECORDED_REVISION, Extra, Runs
from components.railway.providers.base import REPOSITORY, RailwayProvider, edges, is_unknown, revision_of
from components.railway.providers.project import runs_there
from components.railway.providers.schema import RailwayResource, output, parent, setting


class ServiceProvider(RailwayProvider):
    """A project-wide service, created empty: its source and settings are set per environment.

    Natural key: project + name. A rename is an in-place ``serviceUpdate``. Adoption recognises it by what
    it runs: the service instance, in the stack's environment, built from the backend's repository (and
    root directory) — whatever it is called in the dashboard.
    """

    def candidates(self, inputs: Mapping[str, Any], runs: Runs | None = None) -> list[dict[str, Any]]:
        if runs is not None and runs.source_repo and runs.environment_id:
            env = self.client.execute(gql.ENVIRONMENT_INSTANCES, {"environmentId": runs.environment_id})
            instances = edges(env["environment"].get("serviceInstances"))
            self._instances = instances
            return [{"id": i["serviceId"], "name": i["serviceName"]} for i in instances if runs_there(i, runs)]
        project = self.client.execute(gql.PROJECT, {"id": inputs["project_id"]})["project"]
        return [s for s in edges(project.get("services")) if s["name"] == inputs["name"]]

    def _running(self, id_: str, inputs: Mapping[str, Any], node: Mapping[str, Any] | None) -> dict[str, Any] | None:
        if node is None:
            return super()._running(id_, inputs, node)
        return {"name": node["name"], "project_id": inputs["project_id"]}

    def extras(self, id_: str, inputs: Mapping[str, Any], node: Mapping[str, Any] | None) -> list[Extra]:
        others = [i for i in getattr(self, "_instances", []) if i["serviceId"] != id_]
        return [Extra("service", i["serviceName"], i["serviceId"], "not declared; left alone") for i in others]

    def _create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        outcome = self.create_exactly_once(
            f"{inputs['name']!r}",
            find=lambda: self.find(inputs),
            send=lambda: self.client.execute(
                gql.SERVICE_CREATE, {"input": {"projectId": inputs["project_id"], "name": inputs["name"]}}
            )["serviceCreate"],
        )
        return outcome.value["id"], {"origin": outcome.origin}

    def _update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        self.client.execute(gql.SERVICE_UPDATE, {"id": id_, "input": {"name": news["name"]}})
        return {}

    def _delete(self, id_: str, props: Mapping[str, Any]) -> None:
        self.client.execute(gql.SERVICE_DELETE, {"id": id_})

    def _read(self, id_: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        service = self.client.execute(gql.SERVICE, {"id": id_})["service"]
        if service.get("deletedAt"):
            return None
        return {"name": service["name"], "project_id": service["projectId"]}


class Service(RailwayResource, provider=ServiceProvider, adopt_key="service"):
    """The backend service of the project (``backend.serviceName``)."""

    project_id: pulumi.Input[str] = parent()
    name: pulumi.Input[str] = setting(required=True)


# Service-instance settings: our key -> Railway's field (the same name in the update input and the read)
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
    resource deploys once after settings and variables are both written. Its id is service + environment.
    """

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
            gql.SERVICE_INSTANCE_UPDATE,
            {
                "serviceId": inputs["service_id"],
                "environmentId": inputs["environment_id"],
                "input": self._payload(inputs),
            },
        )
        return {"revision": revision_of({k: inputs.get(k) for k in self.input_keys})}

    def candidates(self, inputs: Mapping[str, Any], runs: Runs | None = None) -> list[dict[str, Any]]:
        return [{"id": f"{inputs['service_id']}:{inputs['environment_id']}", "name": "instance settings"}]

    def _running(self, id_: str, inputs: Mapping[str, Any], node: Mapping[str, Any] | None) -> dict[str, Any] | None:
        running = super()._running(id_, inputs, node)
        return None if running is None else {**running, "revision": RECORDED_REVISION}

    def _create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return f"{inputs['service_id']}:{inputs['environment_id']}", self._write(inputs)

    def _update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        return self._write(news)

    def _delete(self, id_: str, props: Mapping[str, Any]) -> None:
        return  # settings live and die with the service; nothing of their own to remove

    def _read(self, id_: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        instance = self.client.execute(
            gql.SERVICE_INSTANCE, {"serviceId": state["service_id"], "environmentId": state["environment_id"]}
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


class ServiceInstance(RailwayResource, provider=ServiceInstanceProvider):
    """The service's settings in one environment; ``revision`` fingerprints each write (it drives deploys)."""

    service_id: pulumi.Input[str] = parent()
    environment_id: pulumi.Input[str] = parent()
    source_repo: pulumi.Input[str] | None = setting(default=None)
    source_image: pulumi.Input[str] | None = setting(default=None)
    pre_deploy_command: pulumi.Input[str] | None = setting(default=None)
    root_directory: pulumi.Input[str] | None = setting(default=None)
    build_command: pulumi.Input[str] | None = setting(default=None)
    start_command: pulumi.Input[str] | None = setting(default=None)
    healthcheck_path: pulumi.Input[str] | None = setting(default=None)
    healthcheck_timeout: pulumi.Input[int] | None = setting(default=None)
    num_replicas: pulumi.Input[int] = setting(default=1)
    region: pulumi.Input[str] | None = setting(default=None)
    restart_policy_type: pulumi.Input[str] = setting(default="ON_FAILURE")
    restart_policy_max_retries: pulumi.Input[int] = setting(default=10)
    cron_schedule: pulumi.Input[str] | None = setting(default=None)
    revision: pulumi.Output[str] = output()
