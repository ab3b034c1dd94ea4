"""How objects come to be and go: creators and cascading deletes."""

from __future__ import annotations

import copy
import secrets
from collections.abc import Mapping
from typing import Any

from graphql import GraphQLError

from tests.fakes.railway.base import DEFAULT_REGION, NOT_AUTHORIZED, _now, _slug, _uid


class LifecycleMixin:
    """How objects come to be and go: creators and cascading deletes."""

    # ---------------------------------------------------------------------------------- deletes

    def _delete_instance(self, service_id: str, environment_id: str) -> None:
        s = self.state
        s.instances.pop((service_id, environment_id), None)
        pid = s.services[service_id]["projectId"] if service_id in s.services else None
        for key in [
            k for k in s.variables if k[1] == environment_id and k[2] == service_id and (pid is None or k[0] == pid)
        ]:
            del s.variables[key]
        for name in ("service_domains", "custom_domains", "triggers", "deployments", "tcp_proxies"):
            table = getattr(s, name)
            for oid in [
                o for o, v in table.items() if v["serviceId"] == service_id and v["environmentId"] == environment_id
            ]:
                self._tombstone(name, table.pop(oid))
        for vi_id in [
            k
            for k, vi in s.volume_instances.items()
            if vi["serviceId"] == service_id and vi["environmentId"] == environment_id
        ]:
            vol_id = s.volume_instances[vi_id]["volumeId"]
            self._delete_volume_instance(vi_id)
            if not any(vi["volumeId"] == vol_id for vi in s.volume_instances.values()):
                s.volumes.pop(vol_id, None)

    def _delete_service(self, service_id: str) -> None:
        for sid, eid in [k for k in self.state.instances if k[0] == service_id]:
            self._delete_instance(sid, eid)
        for key in [k for k in self.state.variables if k[2] == service_id]:
            del self.state.variables[key]
        self._tombstone("services", self.state.services.pop(service_id, None))

    def _delete_volume_instance(self, vi_id: str) -> None:
        s = self.state
        s.volume_instances.pop(vi_id, None)
        s.backup_schedules.pop(vi_id, None)
        for bid in [b for b, v in s.backups.items() if v["_volumeInstanceId"] == vi_id]:
            del s.backups[bid]

    def _delete_volume(self, volume_id: str) -> None:
        for vi_id in [k for k, vi in self.state.volume_instances.items() if vi["volumeId"] == volume_id]:
            self._delete_volume_instance(vi_id)
        self.state.volumes.pop(volume_id, None)

    def _delete_environment(self, environment_id: str) -> None:
        s = self.state
        for sid, eid in [k for k in s.instances if k[1] == environment_id]:
            self._delete_instance(sid, eid)
        for key in [k for k in s.variables if k[1] == environment_id]:
            del s.variables[key]
        for name in ("project_tokens", "patches", "deployments", "triggers", "service_domains", "custom_domains"):
            table = getattr(s, name)
            for oid in [o for o, v in table.items() if v["environmentId"] == environment_id]:
                self._tombstone(name, table.pop(oid))
        for vi_id in [k for k, vi in s.volume_instances.items() if vi["environmentId"] == environment_id]:
            self._delete_volume_instance(vi_id)
        self._tombstone("environments", s.environments.pop(environment_id, None))

    def _delete_project(self, project_id: str) -> None:
        s = self.state
        for sid in [k for k, v in s.services.items() if v["projectId"] == project_id]:
            self._delete_service(sid)
        for eid in [k for k, v in s.environments.items() if v["projectId"] == project_id]:
            self._delete_environment(eid)
        for vid in [k for k, v in s.volumes.items() if v["projectId"] == project_id]:
            self._delete_volume(vid)
        for key in [k for k in s.variables if k[0] == project_id]:
            del s.variables[key]
        for tid in [k for k, v in s.project_tokens.items() if v["projectId"] == project_id]:
            del s.project_tokens[tid]
        self._tombstone("projects", s.projects.pop(project_id, None))

    # ------------------------------------------------------------------------------ creators

    def _create_project(self, inp: Mapping[str, Any]) -> dict[str, Any]:
        now = _now()
        ws = inp.get("workspaceId") or self.workspace_id
        if ws != self.workspace_id:
            raise GraphQLError(NOT_AUTHORIZED)
        p: dict[str, Any] = {
            "id": _uid(),
            "name": inp.get("name") or f"project-{secrets.token_hex(3)}",
            "description": inp.get("description"),
            "isPublic": bool(inp.get("isPublic") or False),
            "prDeploys": bool(inp.get("prDeploys") or False),
            "botPrEnvironments": False,
            "focusedPrEnvironments": False,
            "workspaceId": ws,
            "baseEnvironmentId": None,
            "createdAt": now,
            "updatedAt": now,
            "deletedAt": None,
            "expiredAt": None,
            "isTempProject": False,
            "_seq": self._next_seq(),
        }
        self.state.projects[p["id"]] = p
        self._create_environment(p["id"], inp.get("defaultEnvironmentName") or "production")
        return p

    def _fork_volumes(self, source_env_id: str, environment_id: str) -> None:
        """A fork gets its own volume instance per volume of the source: same mount, EMPTY (no data copied).

        Railway: "Create the environment with all of the services, volumes, configuration, and variables
        from this source environment" (EnvironmentCreateInput.sourceEnvironmentId); that the copy holds no
        data is an assumption, checked once on a real project (docs/previews.md).
        """
        for vi in sorted(self.state.volume_instances.values(), key=lambda v: v["_seq"]):
            if vi["environmentId"] != source_env_id:
                continue
            now = _now()
            fork = {**copy.deepcopy(vi), "id": _uid(), "environmentId": environment_id, "currentSizeMB": 0.0}
            fork.update(createdAt=now, deletedAt=None, externalId=None, _seq=self._next_seq())
            self.state.volume_instances[fork["id"]] = fork

    def _create_environment(
        self,
        project_id: str,
        name: str,
        *,
        source_env_id: str | None = None,
        ephemeral: bool = False,
        skip_deploys: bool = True,
    ) -> dict[str, Any]:
        if not name or not name.strip():
            raise GraphQLError("Environment name cannot be empty")
        if any(e["name"] == name for e in self._envs_of(project_id)):
            raise GraphQLError(f"Environment with name {name} already exists")
        now = _now()
        e: dict[str, Any] = {
            "id": _uid(),
            "name": name,
            "projectId": project_id,
            "isEphemeral": ephemeral,
            "createdAt": now,
            "updatedAt": now,
            "deletedAt": None,
            "sourceEnvironmentId": source_env_id,
            "_seq": self._next_seq(),
        }
        self.state.environments[e["id"]] = e
        eid = e["id"]
        if source_env_id is not None:  # Railway applies a fork later: its contents appear when it has
            self._fork_later(eid, lambda: self._apply_fork(project_id, eid, source_env_id, skip_deploys))
            return e
        for svc in self._services_of(project_id):
            self._new_instance(svc["id"], eid)
        return e

    def _apply_fork(self, project_id: str, eid: str, source_env_id: str, skip_deploys: bool) -> None:
        """What the fork makes once Railway has applied it: the source's instances, variables, triggers and
        (empty) volumes — unless the environment or its source was deleted in the meantime."""
        if eid not in self.state.environments or source_env_id not in self.state.environments:
            return
        created: list[str] = []
        for (sid, src_eid), src_inst in sorted(self.state.instances.items(), key=lambda kv: kv[1]["_seq"]):
            if src_eid != source_env_id:
                continue
            inst = self._new_instance(sid, eid)
            keep = {k: copy.deepcopy(v) for k, v in src_inst.items() if k not in ("id", "environmentId", "_seq")}
            inst.update(keep)
            vars_ = self.state.variables.get((project_id, source_env_id, sid))
            if vars_:
                self.state.variables[(project_id, eid, sid)] = dict(vars_)
            for t in self._triggers_of(sid, source_env_id):
                self._new_trigger(project_id, eid, sid, t["repository"], t["branch"], t["checkSuites"])
            created.append(sid)
        shared = self.state.variables.get((project_id, source_env_id, None))
        if shared:
            self.state.variables[(project_id, eid, None)] = dict(shared)
        self._fork_volumes(source_env_id, eid)
        if not skip_deploys:
            for sid in created:
                if self.state.instances[(sid, eid)].get("source"):
                    self._new_deployment(sid, eid, "environmentCreate")

    def _create_service(
        self,
        project_id: str,
        name: str | None,
        *,
        environment_id: str | None = None,
        source: Mapping[str, Any] | None = None,
        branch: str | None = None,
        variables: Mapping[str, Any] | None = None,
        icon: str | None = None,
        template_id: str | None = None,
        registry_credentials: Any = None,
        deploy: bool = True,
    ) -> dict[str, Any]:
        name = name or f"service-{secrets.token_hex(3)}"
        if self.unique_service_names and any(s["name"] == name for s in self._services_of(project_id)):
            raise GraphQLError(f"A service named {name} already exists in this project")
        src = None
        if source:
            src = {"image": source.get("image"), "repo": source.get("repo")}
            if src["image"] and src["repo"]:
                raise GraphQLError("A service source cannot have both an image and a repo")
            if not (src["image"] or src["repo"]):
                src = None
        if environment_id is not None:
            target = self._get_env(environment_id, project_id)
            envs = (
                [target]
                if target.get("sourceEnvironmentId")
                else [e for e in self._envs_of(project_id) if not e.get("sourceEnvironmentId")]
            )
        else:
            envs = [e for e in self._envs_of(project_id) if not e.get("sourceEnvironmentId")]
        if variables is not None and not isinstance(variables, Mapping):
            raise GraphQLError("variables must be an object")
        now = _now()
        s: dict[str, Any] = {
            "id": _uid(),
            "name": name,
            "icon": icon,
            "projectId": project_id,
            "createdAt": now,
            "updatedAt": now,
            "deletedAt": None,
            "templateId": template_id,
            "templateServiceId": None,
            "templateThreadSlug": None,
            "groupId": None,
            "_seq": self._next_seq(),
        }
        self.state.services[s["id"]] = s
        for e in envs:
            inst = self._new_instance(s["id"], e["id"], src)
            inst["_registryCredentials"] = copy.deepcopy(registry_credentials)
            if variables:
                self._set_vars(project_id, e["id"], s["id"], variables)
            if src and src.get("repo"):
                self._new_trigger(project_id, e["id"], s["id"], str(src["repo"]), branch or "main", False)
            if src and deploy:
                self._new_deployment(s["id"], e["id"], "serviceCreate")
        return s

    def _new_trigger(
        self, project_id: str, environment_id: str, service_id: str, repository: str, branch: str, check_suites: bool
    ) -> dict[str, Any]:
        t: dict[str, Any] = {
            "id": _uid(),
            "projectId": project_id,
            "environmentId": environment_id,
            "serviceId": service_id,
            "provider": "github",
            "repository": repository,
            "branch": branch,
            "checkSuites": check_suites,
            "validCheckSuites": 0,
            "baseEnvironmentOverrideId": None,
            "_rootDirectory": None,
            "_seq": self._next_seq(),
        }
        self.state.triggers[t["id"]] = t
        return t

    def _new_volume(
        self, project_id: str, mount_path: str, service_id: str | None, environment_id: str | None, region: str | None
    ) -> dict[str, Any]:
        if not isinstance(mount_path, str) or not mount_path.startswith("/"):
            raise GraphQLError("Invalid mount path")
        svc = self._get_service(service_id, project_id) if service_id is not None else None
        if environment_id is not None:
            self._get_env(environment_id, project_id)
        if region is not None:
            self._check_region(region)
        if svc is not None and environment_id is not None:
            if (service_id, environment_id) not in self.state.instances:
                raise GraphQLError("ServiceInstance not found")
            if any(
                vi["serviceId"] == service_id and vi["environmentId"] == environment_id
                for vi in self.state.volume_instances.values()
            ):
                raise GraphQLError("Service already has a volume attached in this environment")
        now = _now()
        v: dict[str, Any] = {
            "id": _uid(),
            "name": f"{_slug(svc['name'])}-volume" if svc else f"volume-{secrets.token_hex(3)}",
            "projectId": project_id,
            "createdAt": now,
            "_seq": self._next_seq(),
        }
        self.state.volumes[v["id"]] = v
        if environment_id is not None:
            inst_region = region
            if inst_region is None and svc is not None and service_id is not None:
                inst_region = next(iter(self.state.instances[(service_id, environment_id)]["multiRegionConfig"]))
            vi: dict[str, Any] = {
                "id": _uid(),
                "volumeId": v["id"],
                "environmentId": environment_id,
                "serviceId": service_id,
                "mountPath": mount_path,
                "sizeMB": 5000,
                "currentSizeMB": 0.0,
                "state": "READY",
                "region": inst_region or DEFAULT_REGION,
                "externalId": None,
                "isPendingDeletion": False,
                "createdAt": now,
                "deletedAt": None,
                "_seq": self._next_seq(),
            }
            self.state.volume_instances[vi["id"]] = vi
        return v
