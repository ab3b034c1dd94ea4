"""Providers of how code reaches the service: the GitHub deployment trigger, the CI project token, and deploys."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from pulumi.dynamic import CheckFailure, DiffResult

from components.railway import errors
from components.railway import operations as ops
from components.railway.providers.base import (
    IN_FLIGHT,
    REPOSITORY,
    TERMINAL_FAILURES,
    RailwayProvider,
    edges,
    is_unknown,
)


class DeploymentTriggerProvider(RailwayProvider):
    """The service's GitHub source branch, and whether Railway deploys its pushes by itself.

    ``auto_deploy`` False (what maya-infra sets): pushes deploy nothing by themselves; the backend pipeline's
    deploy job is the one deploy path (docs/workflows.md). None leaves Railway's setting alone.
    ``check_suites`` ("wait for CI") applies to automatic deploys only.
    """

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
        "auto_deploy",
    )
    replace_keys = frozenset({"project_id", "environment_id", "service_id", "provider"})
    _TRIGGER_KEYS = ("repository", "branch", "check_suites", "root_directory")
    required_keys = ("project_id", "environment_id", "service_id", "repository", "branch")

    def validate(self, news: Mapping[str, Any]) -> list[CheckFailure]:
        repo = news.get("repository")
        if isinstance(repo, str) and not is_unknown(repo) and not REPOSITORY.match(repo):
            return [CheckFailure("repository", f"{repo!r} is not an owner/name GitHub repository")]
        return []

    def _list(self, props: Mapping[str, Any]) -> list[dict[str, Any]]:
        return edges(
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
        self._set_auto_deploy(inputs)
        return trigger["id"], {}

    def _scope(self, props: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "projectId": props["project_id"],
            "environmentId": props["environment_id"],
            "serviceId": props["service_id"],
        }

    def _set_auto_deploy(self, inputs: Mapping[str, Any]) -> None:
        """Idempotent (sets a flag), so a retried request cannot do anything twice."""
        wanted = inputs.get("auto_deploy")
        if wanted is not None:
            self.client.execute(ops.AUTO_DEPLOY_UPDATE, {"input": {**self._scope(inputs), "enabled": bool(wanted)}})

    def _update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        if olds.get("auto_deploy") != news.get("auto_deploy"):
            self._set_auto_deploy(news)
        if all(olds.get(k) == news.get(k) for k in self._TRIGGER_KEYS):
            return {}
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
        outs = {
            "repository": found["repository"],
            "branch": found["branch"],
            "check_suites": found["checkSuites"],
            "provider": found["provider"],
        }
        if state.get("auto_deploy") is not None:
            status = self.client.execute(ops.AUTO_DEPLOY_STATUS, self._scope(state))["serviceInstanceAutoDeployStatus"]
            outs["auto_deploy"] = bool(status["enabled"])
        return outs


class ProjectTokenProvider(RailwayProvider):
    """An environment-scoped project token for the CI deploy job; its value is a secret output."""

    kind = "ProjectToken"
    input_keys = ("project_id", "environment_id", "name")
    replace_keys = frozenset(input_keys)
    required_keys = input_keys

    def _find(self, inputs: Mapping[str, Any]) -> dict[str, Any] | None:
        tokens = edges(self.client.execute(ops.PROJECT_TOKENS, {"projectId": inputs["project_id"]})["projectTokens"])
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
        tokens = edges(self.client.execute(ops.PROJECT_TOKENS, {"projectId": state["project_id"]})["projectTokens"])
        found = next((t for t in tokens if t["id"] == id_), None)
        return None if found is None else {"name": found["name"], "environment_id": found["environmentId"]}


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
        deployments = edges(
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
