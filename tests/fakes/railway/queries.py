"""Every implemented root field of Query."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from graphql import GraphQLError

from tests.fakes.railway.base import (
    NOT_AUTHORIZED,
    POSTGRES_IMAGE,
    POSTGRES_MOUNT,
    POSTGRES_TEMPLATE_ID,
    REGIONS,
    _conn_field,
    _connection,
    _Ctx,
    _query,
)


class QueriesMixin:
    """Every implemented root field of Query."""

    # ================================================================================= QUERIES

    @_query("me")
    def _q_me(self, info: Any) -> dict[str, Any]:
        if self.token_kind != "account":  # a workspace token "does not have the needed scope to read the user"
            raise GraphQLError(NOT_AUTHORIZED)
        return {
            "id": "user-fake",
            "email": "fake@example.invalid",
            "name": "Fake User",
            "username": "fake",
            "workspaces": self._token_workspaces(),
        }

    @_query("apiToken")
    def _q_api_token(self, info: Any) -> dict[str, Any]:
        if not self.api_token_introspection:
            raise GraphQLError(NOT_AUTHORIZED)
        return {"workspaces": self._token_workspaces()}

    def _token_workspaces(self) -> list[dict[str, Any]]:
        """The workspaces the Bearer token reaches: the fake's own unless a test set ``token_workspaces``."""
        if self.token_workspaces is None:
            return [self._v_workspace()]
        return [dict(w) for w in self.token_workspaces]

    @_query("projectToken")
    def _q_project_token(self, info: Any) -> dict[str, Any]:
        ctx: _Ctx = info.context
        if ctx.auth != "project" or ctx.token is None:
            raise GraphQLError("Project Token not found")
        return self._v_token(ctx.token)

    @_query("regions")
    def _q_regions(self, info: Any, projectId: str | None = None) -> list[dict[str, Any]]:
        return [{**r, "workspaceId": None, "deploymentConstraints": None} for r in REGIONS]

    @_query("project")
    def _q_project(self, info: Any, id: str) -> dict[str, Any]:
        return self._v_project(self._deleted("projects", id) or self._get_project(id))

    @_query("projects")
    def _q_projects(self, info: Any, **a: Any) -> dict[str, Any]:
        ws = a.get("workspaceId")
        rows = list(self.state.projects.values())
        if a.get("includeDeleted"):
            rows += list(self.state.deleted.get("projects", {}).values())
        items = [p for p in rows if ws is None or p["workspaceId"] == ws]
        order = a.get("orderBy")
        if order == "NAME_ASC":
            items.sort(key=lambda p: p["name"])
        elif order in ("CREATED_AT_DESC", "UPDATED_AT_DESC"):
            items.sort(key=lambda p: p["_seq"], reverse=True)
        else:
            items.sort(key=lambda p: p["_seq"])
        return _connection(
            [self._v_project(p) for p in items], a.get("first"), a.get("after"), a.get("last"), a.get("before")
        )

    @_query("environment")
    def _q_environment(self, info: Any, id: str, projectId: str | None = None) -> dict[str, Any]:
        gone = self._deleted("environments", id)
        if gone is not None and projectId in (None, gone["projectId"]):
            return self._v_env(gone)
        env = self._get_env(id, projectId)
        self._poll_fork(id)  # reading a fork is how its applying is noticed
        return self._v_env(env)

    @_query("environments")
    def _q_environments(self, info: Any, projectId: str, **a: Any) -> dict[str, Any]:
        self._get_project(projectId)
        items = self._envs_of(projectId)
        if a.get("isEphemeral") is not None:
            items = [e for e in items if e["isEphemeral"] == a["isEphemeral"]]
        return _connection(
            [self._v_env(e) for e in items], a.get("first"), a.get("after"), a.get("last"), a.get("before")
        )

    @_query("environmentPatch")
    def _q_environment_patch(self, info: Any, id: str) -> dict[str, Any]:
        p = self._get(self.state.patches, id, "Environment patch not found")
        return {
            **{k: copy.deepcopy(v) for k, v in p.items() if not k.startswith("_") and k != "patch"},
            "patch": lambda _i, decryptVariables=None: copy.deepcopy(p["patch"]),
            "appliedBy": None,
            "environment": lambda _i: self._v_env(self._get_env(p["environmentId"])),
        }

    @_query("service")
    def _q_service(self, info: Any, id: str) -> dict[str, Any]:
        return self._v_service(self._deleted("services", id) or self._get_service(id))

    @_query("serviceInstance")
    def _q_service_instance(self, info: Any, serviceId: str, environmentId: str) -> dict[str, Any]:
        self._get_instance(serviceId, environmentId)
        return self._v_instance((serviceId, environmentId))

    @_query("serviceInstanceLimitOverride")
    def _q_limit_override(self, info: Any, serviceId: str, environmentId: str) -> Any:
        return copy.deepcopy(self._get_instance(serviceId, environmentId)["_limits"])

    @_query("serviceInstanceLimits")
    def _q_limits(self, info: Any, serviceId: str, environmentId: str) -> Any:
        override = self._get_instance(serviceId, environmentId)["_limits"] or {}
        containers = {"cpu": 32, "memoryBytes": 32_000_000_000}
        containers.update((override.get("containers") or {}) if isinstance(override, Mapping) else {})
        return {"containers": containers}

    @_query("variables")
    def _q_variables(
        self,
        info: Any,
        projectId: str,
        environmentId: str,
        serviceId: str | None = None,
        unrendered: bool | None = None,
    ) -> dict[str, str]:
        self._variable_scope(info, projectId, environmentId, serviceId)
        raw = dict(self.state.variables.get((projectId, environmentId, serviceId), {}))
        if unrendered:
            return raw
        return {k: self._render(projectId, environmentId, serviceId, v) for k, v in raw.items()}

    @_query("variablesForServiceDeployment")
    def _q_variables_for_deploy(self, info: Any, projectId: str, environmentId: str, serviceId: str) -> dict[str, str]:
        self._variable_scope(info, projectId, environmentId, serviceId)
        out = {
            k: self._render(projectId, environmentId, None, v)
            for k, v in self.state.variables.get((projectId, environmentId, None), {}).items()
        }
        out.update(self._system_vars(serviceId, environmentId))
        for k, v in self.state.variables.get((projectId, environmentId, serviceId), {}).items():
            out[k] = self._render(projectId, environmentId, serviceId, v)
        return out

    @_query("domains")
    def _q_domains(self, info: Any, projectId: str, environmentId: str, serviceId: str) -> dict[str, Any]:
        self._get_project(projectId)
        self._get_env(environmentId, projectId)
        self._get_service(serviceId, projectId)
        for d in [
            *self._service_domains_of(serviceId, environmentId),
            *self._custom_domains_of(serviceId, environmentId),
        ]:
            self._domain_read(d)
        return self._v_all_domains(serviceId, environmentId)

    @_query("customDomain")
    def _q_custom_domain(self, info: Any, id: str, projectId: str) -> dict[str, Any]:
        cd = self._deleted("custom_domains", id) or self._get(self.state.custom_domains, id, "Custom domain not found")
        if cd["projectId"] != projectId:
            raise GraphQLError("Custom domain not found")
        self._domain_read(cd)
        return self._v_custom_domain(cd)

    @_query("tcpProxies")
    def _q_tcp_proxies(self, info: Any, serviceId: str, environmentId: str) -> list[dict[str, Any]]:
        self._get_instance(serviceId, environmentId)
        ps = [
            p
            for p in self.state.tcp_proxies.values()
            if p["serviceId"] == serviceId and p["environmentId"] == environmentId
        ]
        return [{k: v for k, v in p.items() if not k.startswith("_")} for p in sorted(ps, key=lambda p: p["_seq"])]

    @_query("deployment")
    def _q_deployment(self, info: Any, id: str) -> dict[str, Any]:
        d = self._get_deployment(id)
        self._deployment_scope(info, d)
        self._poll_deployment(d)
        return self._v_deployment(d)

    @_query("deployments")
    def _q_deployments(self, info: Any, input: dict[str, Any], **a: Any) -> dict[str, Any]:
        ctx: _Ctx = info.context
        env_filter = input.get("environmentId")
        if ctx.auth == "project":
            assert ctx.token is not None
            if env_filter is not None and env_filter != ctx.token["environmentId"]:
                raise GraphQLError(NOT_AUTHORIZED)
            env_filter = ctx.token["environmentId"]
        status = input.get("status") or {}
        items = []
        for d in self.state.deployments.values():
            if d["_deleted"] and not input.get("includeDeleted"):
                continue
            if input.get("projectId") is not None and d["projectId"] != input["projectId"]:
                continue
            if env_filter is not None and d["environmentId"] != env_filter:
                continue
            if input.get("serviceId") is not None and d["serviceId"] != input["serviceId"]:
                continue
            if status.get("in") is not None and d["status"] not in status["in"]:
                continue
            if status.get("notIn") is not None and d["status"] in status["notIn"]:
                continue
            items.append(d)
        items.sort(key=lambda d: d["_seq"], reverse=True)
        return _connection(
            [self._v_deployment(d) for d in items], a.get("first"), a.get("after"), a.get("last"), a.get("before")
        )

    @_query("serviceInstanceAutoDeployStatus")
    def _q_autodeploy_status(self, info: Any, projectId: str, environmentId: str, serviceId: str) -> dict[str, Any]:
        self._get_project(projectId)
        inst = self._get_instance(serviceId, environmentId)
        return {"enabled": inst.get("_autoDeploy", True), "canEnable": True, "reason": None}

    @_query("deploymentTriggers")
    def _q_deployment_triggers(
        self, info: Any, projectId: str, environmentId: str, serviceId: str, **a: Any
    ) -> dict[str, Any]:
        self._get_project(projectId)
        self._get_env(environmentId, projectId)
        self._get_service(serviceId, projectId)
        items = [self._v_trigger(t) for t in self._triggers_of(serviceId, environmentId)]
        return _connection(items, a.get("first"), a.get("after"), a.get("last"), a.get("before"))

    @_query("projectTokens")
    def _q_project_tokens(self, info: Any, projectId: str, **a: Any) -> dict[str, Any]:
        self._get_project(projectId)
        toks = sorted(
            (t for t in self.state.project_tokens.values() if t["projectId"] == projectId), key=lambda t: t["_seq"]
        )
        return _connection(
            [self._v_token(t) for t in toks], a.get("first"), a.get("after"), a.get("last"), a.get("before")
        )

    @_query("template")
    def _q_template(self, info: Any, code: str | None = None, id: str | None = None, **_: Any) -> dict[str, Any]:
        if code == "postgres" or id == POSTGRES_TEMPLATE_ID:
            return self._postgres_template()
        raise GraphQLError("Template not found")

    @_query("workflowStatus")
    def _q_workflow_status(self, info: Any, workflowId: str) -> dict[str, Any]:
        wf = self.state.workflows.get(workflowId)
        if wf is None:
            return {"status": "NotFound", "error": None}
        self._poll_workflow(wf)
        return {"status": wf["status"], "error": wf["error"]}

    @_query("volumeInstance")
    def _q_volume_instance(self, info: Any, id: str) -> dict[str, Any]:
        return self._v_volume_instance(self._get(self.state.volume_instances, id, "VolumeInstance not found"))

    @_query("volumeInstanceBackupList")
    def _q_backup_list(self, info: Any, volumeInstanceId: str) -> list[dict[str, Any]]:
        self._get(self.state.volume_instances, volumeInstanceId, "VolumeInstance not found")
        bs = [b for b in self.state.backups.values() if b["_volumeInstanceId"] == volumeInstanceId]
        return [self._v_backup(b) for b in sorted(bs, key=lambda b: b["_seq"], reverse=True)]

    @_query("volumeInstanceBackupScheduleList")
    def _q_backup_schedule_list(self, info: Any, volumeInstanceId: str) -> list[dict[str, Any]]:
        self._get(self.state.volume_instances, volumeInstanceId, "VolumeInstance not found")
        scheds = self.state.backup_schedules.get(volumeInstanceId, {})
        return [dict(scheds[k]) for k in ("DAILY", "WEEKLY", "MONTHLY") if k in scheds]

    def _postgres_template(self) -> dict[str, Any]:
        svc_key = "b7c1e0aa-52f4-4d55-8a0e-2f3f3c1d9e10"
        vol_key = "0f6a3c0e-8d1b-4a55-9a3b-7c2e5d4f1a22"
        serialized = {
            "services": {
                svc_key: {
                    "name": "Postgres",
                    "icon": "https://devicons.railway.com/i/postgresql.svg",
                    "source": {"image": POSTGRES_IMAGE},
                    "variables": {
                        n: {"isOptional": False}
                        for n in ("DATABASE_URL", "PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE")
                    },
                    "volumeMounts": {vol_key: {"mountPath": POSTGRES_MOUNT}},
                    "networking": {"tcpProxies": {"5432": {}}},
                }
            }
        }
        return {
            "id": POSTGRES_TEMPLATE_ID,
            "code": "postgres",
            "name": "PostgreSQL",
            "description": "Deploy a PostgreSQL database",
            "category": "Storage",
            "tags": ["database", "postgres"],
            "languages": None,
            "image": None,
            "readme": None,
            "health": None,
            "isApproved": True,
            "isV2Template": True,
            "isVerified": True,
            "activeProjects": 0,
            "projects": 0,
            "recentProjects": 0,
            "totalPayout": 0.0,
            "status": "PUBLISHED",
            "workspaceId": None,
            "teamId": None,
            "demoProjectId": None,
            "communityThreadSlug": None,
            "createdAt": "2023-01-01T00:00:00.000Z",
            "updatedAt": "2026-01-01T00:00:00.000Z",
            "serializedConfig": serialized,
            "similarTemplates": [],
            "services": _conn_field(list),
        }
