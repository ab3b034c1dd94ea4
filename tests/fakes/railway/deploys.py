"""Mutations of deployment triggers, deployments and project tokens."""

from __future__ import annotations

import re
from typing import Any

from graphql import GraphQLError

from tests.fakes.railway.base import _SHA_RE, IN_FLIGHT, _mutation, _now, _uid


class DeploysMixin:
    """Mutations of deployment triggers, deployments and project tokens."""

    # ---- deployment triggers
    @_mutation("deploymentTriggerCreate")
    def _m_trigger_create(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        pid, eid, sid = input["projectId"], input["environmentId"], input["serviceId"]
        self._get_project(pid)
        self._get_env(eid, pid)
        self._get_service(sid, pid)
        self._get_instance(sid, eid)
        if input["provider"] != "github":
            raise GraphQLError(f"Unsupported provider: {input['provider']}")
        if not re.match(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", input["repository"]):
            raise GraphQLError("Invalid repository")
        if not input["branch"].strip():
            raise GraphQLError("Branch cannot be empty")
        t = self._new_trigger(pid, eid, sid, input["repository"], input["branch"], bool(input.get("checkSuites")))
        t["_rootDirectory"] = input.get("rootDirectory")
        inst = self.state.instances[(sid, eid)]
        if not (inst.get("source") or {}).get("image"):
            inst["source"] = {"image": None, "repo": input["repository"]}
        return self._v_trigger(t)

    @_mutation("deploymentTriggerUpdate")
    def _m_trigger_update(self, info: Any, id: str, input: dict[str, Any]) -> dict[str, Any]:
        t = self._get(self.state.triggers, id, "Deployment trigger not found")
        if input.get("branch") is not None:
            if not input["branch"].strip():
                raise GraphQLError("Branch cannot be empty")
            t["branch"] = input["branch"]
        if input.get("repository") is not None:
            t["repository"] = input["repository"]
        if input.get("checkSuites") is not None:
            t["checkSuites"] = bool(input["checkSuites"])
        if "rootDirectory" in input:
            t["_rootDirectory"] = input["rootDirectory"]
        return self._v_trigger(t)

    @_mutation("deploymentTriggerDelete")
    def _m_trigger_delete(self, info: Any, id: str) -> bool:
        self._get(self.state.triggers, id, "Deployment trigger not found")
        del self.state.triggers[id]
        return True

    # ---- deployments
    @_mutation("serviceInstanceDeployV2")
    def _m_deploy_v2(self, info: Any, serviceId: str, environmentId: str, commitSha: str | None = None) -> str:
        self._scope_env(info, environmentId)
        self._get_instance(serviceId, environmentId)
        if commitSha is not None and not _SHA_RE.match(commitSha):
            raise GraphQLError("Commit not found")
        return str(self._new_deployment(serviceId, environmentId, "deploy", commit_sha=commitSha)["id"])

    @_mutation("serviceInstanceDeploy")
    def _m_deploy(
        self,
        info: Any,
        serviceId: str,
        environmentId: str,
        commitSha: str | None = None,
        latestCommit: bool | None = None,
    ) -> bool:
        self._m_deploy_v2(info, serviceId, environmentId, commitSha)
        return True

    @_mutation("serviceInstanceRedeploy")
    def _m_instance_redeploy(self, info: Any, serviceId: str, environmentId: str) -> bool:
        self._scope_env(info, environmentId)
        self._get_instance(serviceId, environmentId)
        prev = [d for d in self._deployments_of(serviceId, environmentId) if not d["_deleted"]]
        self._new_deployment(serviceId, environmentId, "redeploy", copy_of=prev[0] if prev else None)
        return True

    @_mutation("deploymentRedeploy")
    def _m_deployment_redeploy(self, info: Any, id: str, usePreviousImageTag: bool | None = None) -> dict[str, Any]:
        d = self._get_deployment(id)
        self._deployment_scope(info, d)
        self._get_instance(d["serviceId"], d["environmentId"])
        return self._v_deployment(self._new_deployment(d["serviceId"], d["environmentId"], "redeploy", copy_of=d))

    @_mutation("deploymentRollback")
    def _m_deployment_rollback(self, info: Any, id: str) -> bool:
        d = self._get_deployment(id)
        self._deployment_scope(info, d)
        if not (d["_succeeded"] and d["status"] == "REMOVED" and not d["_deleted"]):
            raise GraphQLError("Deployment cannot be rolled back")
        self._get_instance(d["serviceId"], d["environmentId"])
        self._new_deployment(d["serviceId"], d["environmentId"], "rollback", copy_of=d)
        return True

    @_mutation("deploymentCancel")
    def _m_deployment_cancel(self, info: Any, id: str) -> bool:
        d = self._get_deployment(id)
        self._deployment_scope(info, d)
        if d["status"] in IN_FLIGHT:
            self._set_status(d, "REMOVED")
        return True

    @_mutation("deploymentRestart")
    def _m_deployment_restart(self, info: Any, id: str) -> bool:
        d = self._get_deployment(id)
        self._deployment_scope(info, d)
        if d["status"] != "SUCCESS":
            raise GraphQLError("Deployment is not running")
        return True

    @_mutation("deploymentStop")
    def _m_deployment_stop(self, info: Any, id: str) -> bool:
        d = self._get_deployment(id)
        self._deployment_scope(info, d)
        d["deploymentStopped"] = True
        self._set_status(d, "REMOVED")
        return True

    @_mutation("deploymentRemove")
    def _m_deployment_remove(self, info: Any, id: str) -> bool:
        d = self._get_deployment(id)
        self._deployment_scope(info, d)
        self._set_status(d, "REMOVED")
        d["_deleted"] = True
        return True

    @_mutation("environmentTriggersDeploy")
    def _m_environment_triggers_deploy(self, info: Any, input: dict[str, Any]) -> bool:
        pid, eid, sid = input["projectId"], input["environmentId"], input["serviceId"]
        self._scope_env(info, eid)
        self._get_project(pid)
        self._get_env(eid, pid)
        self._get_instance(sid, eid)
        if not self._triggers_of(sid, eid):
            raise GraphQLError("No deployment triggers found for this service")
        self._new_deployment(sid, eid, "trigger")
        return True

    # ---- tokens
    @_mutation("projectTokenCreate")
    def _m_project_token_create(self, info: Any, input: dict[str, Any]) -> str:
        pid, eid = input["projectId"], input["environmentId"]
        self._get_project(pid)
        self._get_env(eid, pid)
        if not input["name"].strip():
            raise GraphQLError("Token name cannot be empty")
        value = _uid()
        t: dict[str, Any] = {
            "id": _uid(),
            "name": input["name"],
            "projectId": pid,
            "environmentId": eid,
            "token": value,
            "createdAt": _now(),
            "_seq": self._next_seq(),
        }
        self.state.project_tokens[t["id"]] = t
        return value

    @_mutation("projectTokenDelete")
    def _m_project_token_delete(self, info: Any, id: str) -> bool:
        self._get(self.state.project_tokens, id, "Project token not found")
        del self.state.project_tokens[id]
        return True
