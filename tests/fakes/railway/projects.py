"""Mutations of projects, environments, services and variables."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from graphql import GraphQLError

from tests.fakes.railway.base import _mutation, _now, _uid


class ProjectsMixin:
    """Mutations of projects, environments, services and variables."""

    # =============================================================================== MUTATIONS

    # ---- projects
    @_mutation("projectCreate")
    def _m_project_create(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        return self._v_project(self._create_project(input))

    @_mutation("projectUpdate")
    def _m_project_update(self, info: Any, id: str, input: dict[str, Any]) -> dict[str, Any]:
        p = self._get_project(id)
        if input.get("baseEnvironmentId") is not None:
            self._get_env(input["baseEnvironmentId"], id)
        for k in ("name", "description", "baseEnvironmentId"):
            if k in input and (input[k] is not None or k != "name"):
                p[k] = input[k]
        for k in ("isPublic", "prDeploys", "botPrEnvironments", "focusedPrEnvironments"):
            if input.get(k) is not None:
                p[k] = bool(input[k])
        p["updatedAt"] = _now()
        return self._v_project(p)

    @_mutation("projectDelete")
    def _m_project_delete(self, info: Any, id: str) -> bool:
        self._get_project(id)
        self._delete_project(id)
        return True

    # ---- environments
    @_mutation("environmentCreate")
    def _m_environment_create(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        pid = input["projectId"]
        self._get_project(pid)
        src = input.get("sourceEnvironmentId")
        if src is not None:
            self._get_env(src, pid)
        e = self._create_environment(
            pid,
            input["name"],
            source_env_id=src,
            ephemeral=bool(input.get("ephemeral")),
            skip_deploys=bool(input.get("skipInitialDeploys")) or bool(input.get("stageInitialChanges")),
        )
        return self._v_env(e)

    @_mutation("environmentRename")
    def _m_environment_rename(self, info: Any, id: str, input: dict[str, Any]) -> dict[str, Any]:
        e = self._get_env(id)
        name = input["name"]
        if not name.strip():
            raise GraphQLError("Environment name cannot be empty")
        if any(o["name"] == name and o["id"] != id for o in self._envs_of(e["projectId"])):
            raise GraphQLError(f"Environment with name {name} already exists")
        e["name"] = name
        e["updatedAt"] = _now()
        return self._v_env(e)

    @_mutation("environmentDelete")
    def _m_environment_delete(self, info: Any, id: str) -> bool:
        self._get_env(id)
        self._delete_environment(id)
        return True

    @_mutation("environmentPatchCommit")
    def _m_environment_patch_commit(
        self, info: Any, environmentId: str, patch: Any = None, commitMessage: str | None = None
    ) -> str:
        env = self._get_env(environmentId)
        if patch is not None and not isinstance(patch, Mapping):
            raise GraphQLError("patch must be an object")
        touched = self._apply_patch(env, patch or {})
        now = _now()
        pid = _uid()
        self.state.patches[pid] = {
            "id": pid,
            "environmentId": environmentId,
            "status": "COMMITTED",
            "lastAppliedError": None,
            "message": commitMessage,
            "patch": copy.deepcopy(patch or {}),
            "createdAt": now,
            "updatedAt": now,
            "appliedAt": now,
        }
        for sid in sorted(touched):
            if (sid, environmentId) in self.state.instances:
                self._new_deployment(sid, environmentId, "environmentPatch")
        return pid

    # ---- services
    @_mutation("serviceCreate")
    def _m_service_create(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        pid = input["projectId"]
        self._get_project(pid)
        s = self._create_service(
            pid,
            input.get("name"),
            environment_id=input.get("environmentId"),
            source=input.get("source"),
            branch=input.get("branch"),
            variables=input.get("variables"),
            icon=input.get("icon"),
            template_id=input.get("templateId"),
            registry_credentials=input.get("registryCredentials"),
        )
        return self._v_service(s)

    @_mutation("serviceUpdate")
    def _m_service_update(self, info: Any, id: str, input: dict[str, Any]) -> dict[str, Any]:
        s = self._get_service(id)
        name = input.get("name")
        if name is not None:
            if any(o["name"] == name and o["id"] != id for o in self._services_of(s["projectId"])):
                raise GraphQLError(f"A service named {name} already exists in this project")
            s["name"] = name
        if "icon" in input:
            s["icon"] = input["icon"]
        s["updatedAt"] = _now()
        return self._v_service(s)

    @_mutation("serviceConnect")
    def _m_service_connect(self, info: Any, id: str, input: dict[str, Any]) -> dict[str, Any]:
        s = self._get_service(id)
        repo, image, branch = input.get("repo"), input.get("image"), input.get("branch")
        if bool(repo) == bool(image):
            raise GraphQLError("Provide exactly one of repo or image")
        for (sid, eid), inst in sorted(self.state.instances.items(), key=lambda kv: kv[1]["_seq"]):
            if sid != id:
                continue
            inst["source"] = {"image": image, "repo": repo}
            trig = self._triggers_of(sid, eid)
            if repo:
                if trig:
                    trig[0]["repository"] = repo
                    trig[0]["branch"] = branch or trig[0]["branch"]
                else:
                    self._new_trigger(s["projectId"], eid, sid, repo, branch or "main", False)
            else:
                for t in trig:
                    del self.state.triggers[t["id"]]
            self._new_deployment(sid, eid, "serviceConnect")
        return self._v_service(s)

    @_mutation("serviceDisconnect")
    def _m_service_disconnect(self, info: Any, id: str) -> dict[str, Any]:
        s = self._get_service(id)
        for (sid, _eid), inst in self.state.instances.items():
            if sid == id:
                inst["source"] = None
        for tid in [t for t, v in self.state.triggers.items() if v["serviceId"] == id]:
            del self.state.triggers[tid]
        return self._v_service(s)

    @_mutation("serviceDelete")
    def _m_service_delete(self, info: Any, id: str, environmentId: str | None = None) -> bool:
        self._get_service(id)
        if environmentId is not None:
            self._get_instance(id, environmentId)
            self._delete_instance(id, environmentId)
        else:
            self._delete_service(id)
        return True

    @_mutation("serviceInstanceUpdate")
    def _m_service_instance_update(
        self, info: Any, serviceId: str, input: dict[str, Any], environmentId: str | None = None
    ) -> bool:
        if environmentId is not None:
            targets = [self._get_instance(serviceId, environmentId)]
        else:
            self._get_service(serviceId)
            targets = [inst for (sid, _e), inst in self.state.instances.items() if sid == serviceId]
        for inst in targets:
            self._apply_instance_settings(inst, input)
        return True

    @_mutation("serviceInstanceLimitsUpdate")
    def _m_limits_update(self, info: Any, input: dict[str, Any]) -> bool:
        inst = self._get_instance(input["serviceId"], input["environmentId"])
        containers: dict[str, Any] = {}
        if input.get("vCPUs") is not None:
            if input["vCPUs"] <= 0:
                raise GraphQLError("vCPUs must be positive")
            containers["cpu"] = input["vCPUs"]
        if input.get("memoryGB") is not None:
            if input["memoryGB"] <= 0:
                raise GraphQLError("memoryGB must be positive")
            containers["memoryBytes"] = int(input["memoryGB"] * 1_000_000_000)
        inst["_limits"] = {"containers": containers} if containers else None
        return True

    @_mutation("serviceInstanceAutoDeployUpdate")
    def _m_autodeploy_update(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        self._get_project(input["projectId"])
        inst = self._get_instance(input["serviceId"], input["environmentId"])
        inst["_autoDeploy"] = bool(input["enabled"])
        return {"enabled": inst["_autoDeploy"]}

    # ---- variables
    @_mutation("variableUpsert")
    def _m_variable_upsert(self, info: Any, input: dict[str, Any]) -> bool:
        pid, eid, sid = input["projectId"], input["environmentId"], input.get("serviceId")
        self._variable_scope(info, pid, eid, sid)
        self._set_vars(pid, eid, sid, {input["name"]: input["value"]})
        if not input.get("skipDeploys"):
            self._deploy_after_variable_change(pid, eid, sid, [input["name"]])
        return True

    @_mutation("variableCollectionUpsert")
    def _m_variable_collection_upsert(self, info: Any, input: dict[str, Any]) -> bool:
        pid, eid, sid = input["projectId"], input["environmentId"], input.get("serviceId")
        self._variable_scope(info, pid, eid, sid)
        new = input["variables"]
        if not isinstance(new, Mapping):
            raise GraphQLError("variables must be an object of name -> value")
        before = dict(self.state.variables.get((pid, eid, sid), {}))
        self._set_vars(pid, eid, sid, new, replace=bool(input.get("replace")))
        if not input.get("skipDeploys"):
            self._deploy_after_variable_change(pid, eid, sid, set(new) | set(before))
        return True

    @_mutation("variableDelete")
    def _m_variable_delete(self, info: Any, input: dict[str, Any]) -> bool:
        pid, eid, sid = input["projectId"], input["environmentId"], input.get("serviceId")
        self._variable_scope(info, pid, eid, sid)
        cur = self.state.variables.get((pid, eid, sid), {})
        if input["name"] not in cur:
            raise GraphQLError("Variable not found")
        del cur[input["name"]]
        if not cur:
            self.state.variables.pop((pid, eid, sid), None)
        self._deploy_after_variable_change(pid, eid, sid, [input["name"]])
        return True
