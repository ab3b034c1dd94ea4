"""The model: lookups, views, variables and rendering, deployments, instance settings, environment config."""

from __future__ import annotations

import copy
import hashlib
import json
import re
import secrets
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import graphql
from graphql import GraphQLError

from tests.fakes.railway.base import (
    _BUILD_CONFIG_KEYS,
    _DEPLOY_CONFIG_KEYS,
    _REF_RE,
    _SIMPLE_INSTANCE_KEYS,
    _VAR_NAME_RE,
    BUILDERS,
    DEFAULT_REGION,
    IN_FLIGHT,
    NOT_AUTHORIZED,
    REGION_IDS,
    RESTART_POLICIES,
    _conn_field,
    _connection,
    _Ctx,
    _now,
    _slug,
    _uid,
)


class ModelMixin:
    """The model: lookups, views, variables and rendering, deployments, instance settings, environment config."""

    # ------------------------------------------------------------------------------ small helpers

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    @staticmethod
    def _scope_env(info: graphql.GraphQLResolveInfo, environment_id: str | None) -> None:
        ctx: _Ctx = info.context
        if ctx.auth == "project":
            assert ctx.token is not None
            if environment_id is None or environment_id != ctx.token["environmentId"]:
                raise GraphQLError(NOT_AUTHORIZED)

    def _get_project(self, pid: Any) -> dict[str, Any]:
        p = self.state.projects.get(pid) if isinstance(pid, str) else None
        if p is None:
            raise GraphQLError("Project not found")
        return p

    def _get_env(self, eid: Any, project_id: str | None = None) -> dict[str, Any]:
        e = self.state.environments.get(eid) if isinstance(eid, str) else None
        if e is None or (project_id is not None and e["projectId"] != project_id):
            raise GraphQLError("Environment not found")
        return e

    def _get_service(self, sid: Any, project_id: str | None = None) -> dict[str, Any]:
        s = self.state.services.get(sid) if isinstance(sid, str) else None
        if s is None or (project_id is not None and s["projectId"] != project_id):
            raise GraphQLError("Service not found")
        return s

    def _get_instance(self, service_id: Any, environment_id: Any) -> dict[str, Any]:
        svc = self._get_service(service_id)
        self._get_env(environment_id, svc["projectId"])
        inst = self.state.instances.get((service_id, environment_id))
        if inst is None:
            raise GraphQLError("ServiceInstance not found")
        return inst

    def _get_deployment(self, did: Any) -> dict[str, Any]:
        d = self.state.deployments.get(did) if isinstance(did, str) else None
        if d is None:
            raise GraphQLError("Deployment not found")
        return d

    @staticmethod
    def _get(table: dict[str, dict[str, Any]], id_: Any, message: str) -> dict[str, Any]:
        obj = table.get(id_) if isinstance(id_, str) else None
        if obj is None:
            raise GraphQLError(message)
        return obj

    def _envs_of(self, project_id: str) -> list[dict[str, Any]]:
        envs = [e for e in self.state.environments.values() if e["projectId"] == project_id]
        return sorted(envs, key=lambda e: e["_seq"])

    def _services_of(self, project_id: str) -> list[dict[str, Any]]:
        svcs = [s for s in self.state.services.values() if s["projectId"] == project_id]
        return sorted(svcs, key=lambda s: s["_seq"])

    def _primary_env_id(self, project_id: str) -> str | None:
        for e in self._envs_of(project_id):
            if not e["isEphemeral"]:
                return str(e["id"])
        return None

    def _triggers_of(self, service_id: str, environment_id: str) -> list[dict[str, Any]]:
        ts = [
            t
            for t in self.state.triggers.values()
            if t["serviceId"] == service_id and t["environmentId"] == environment_id
        ]
        return sorted(ts, key=lambda t: t["_seq"])

    def _service_domains_of(self, service_id: str, environment_id: str) -> list[dict[str, Any]]:
        ds = [
            d
            for d in self.state.service_domains.values()
            if d["serviceId"] == service_id and d["environmentId"] == environment_id
        ]
        return sorted(ds, key=lambda d: d["_seq"])

    def _custom_domains_of(self, service_id: str, environment_id: str) -> list[dict[str, Any]]:
        ds = [
            d
            for d in self.state.custom_domains.values()
            if d["serviceId"] == service_id and d["environmentId"] == environment_id
        ]
        return sorted(ds, key=lambda d: d["_seq"])

    def _deployments_of(self, service_id: str, environment_id: str) -> list[dict[str, Any]]:
        ds = [
            d
            for d in self.state.deployments.values()
            if d["serviceId"] == service_id and d["environmentId"] == environment_id
        ]
        return sorted(ds, key=lambda d: d["_seq"], reverse=True)

    # -------------------------------------------------------------------------------------- views

    def _v_workspace(self) -> dict[str, Any]:
        return {"id": self.workspace_id, "name": self.workspace_name}

    def _v_project(self, p: dict[str, Any]) -> dict[str, Any]:
        pid = p["id"]

        def envs(_info: Any, **a: Any) -> dict[str, Any]:
            items = self._envs_of(pid)
            if a.get("isEphemeral") is not None:
                items = [e for e in items if e["isEphemeral"] == a["isEphemeral"]]
            if a.get("sort") == "desc":
                items = list(reversed(items))
            return _connection(
                [self._v_env(e) for e in items], a.get("first"), a.get("after"), a.get("last"), a.get("before")
            )

        def base_env(_info: Any) -> dict[str, Any] | None:
            e = self.state.environments.get(p.get("baseEnvironmentId") or "")
            return self._v_env(e) if e else None

        return {
            **{k: v for k, v in p.items() if not k.startswith("_")},
            "teamId": p["workspaceId"],
            "primaryEnvironmentId": lambda _i: self._primary_env_id(pid),
            "environments": envs,
            "services": _conn_field(lambda: [self._v_service(s) for s in self._services_of(pid)]),
            "volumes": _conn_field(
                lambda: [
                    self._v_volume(v)
                    for v in sorted(self.state.volumes.values(), key=lambda v: v["_seq"])
                    if v["projectId"] == pid
                ]
            ),
            "buckets": _conn_field(list),
            "baseEnvironment": base_env,
            "workspace": lambda _i: self._v_workspace() if p["workspaceId"] == self.workspace_id else None,
            "featureFlags": [],
            "members": [],
        }

    def _v_env(self, e: dict[str, Any]) -> dict[str, Any]:
        eid = e["id"]

        def instances() -> list[dict[str, Any]]:
            keys = [k for k in self.state.instances if k[1] == eid]
            keys.sort(key=lambda k: self.state.instances[k]["_seq"])
            return [self._v_instance(k) for k in keys]

        def volume_instances() -> list[dict[str, Any]]:
            vis = [vi for vi in self.state.volume_instances.values() if vi["environmentId"] == eid]
            return [self._v_volume_instance(vi) for vi in sorted(vis, key=lambda v: v["_seq"])]

        def deployments() -> list[dict[str, Any]]:
            ds = [d for d in self.state.deployments.values() if d["environmentId"] == eid and not d["_deleted"]]
            return [self._v_deployment(d) for d in sorted(ds, key=lambda d: d["_seq"], reverse=True)]

        def triggers() -> list[dict[str, Any]]:
            ts = [t for t in self.state.triggers.values() if t["environmentId"] == eid]
            return [self._v_trigger(t) for t in sorted(ts, key=lambda t: t["_seq"])]

        def source_env(_info: Any) -> dict[str, Any] | None:
            src = self.state.environments.get(e.get("sourceEnvironmentId") or "")
            return self._v_env(src) if src else None

        return {
            **{k: v for k, v in e.items() if not k.startswith("_") and k != "sourceEnvironmentId"},
            "canAccess": True,
            "canvasGroupRefs": {},
            "meta": None,
            "unmergedChangesCount": 0,
            "config": lambda _i, decryptVariables=None: self._env_config(eid, bool(decryptVariables)),
            "configEtag": lambda _i: self._config_etag(eid),
            "sourceEnvironment": source_env,
            "serviceInstances": _conn_field(instances),
            "volumeInstances": _conn_field(volume_instances),
            "deployments": _conn_field(deployments),
            "deploymentTriggers": _conn_field(triggers),
        }

    def _v_service(self, s: dict[str, Any]) -> dict[str, Any]:
        sid = s["id"]

        def instances() -> list[dict[str, Any]]:
            keys = [k for k in self.state.instances if k[0] == sid]
            keys.sort(key=lambda k: self.state.instances[k]["_seq"])
            return [self._v_instance(k) for k in keys]

        def deployments() -> list[dict[str, Any]]:
            ds = [d for d in self.state.deployments.values() if d["serviceId"] == sid and not d["_deleted"]]
            return [self._v_deployment(d) for d in sorted(ds, key=lambda d: d["_seq"], reverse=True)]

        def repo_triggers() -> list[dict[str, Any]]:
            ts = [t for t in self.state.triggers.values() if t["serviceId"] == sid]
            return [self._v_trigger(t) for t in sorted(ts, key=lambda t: t["_seq"])]

        return {
            **{k: v for k, v in s.items() if not k.startswith("_")},
            "featureFlags": [],
            "hasHiddenRegistryCredentialsFromTemplate": False,
            "isRestricted": False,
            "project": lambda _i: self._v_project(self._get_project(s["projectId"])),
            "serviceInstances": _conn_field(instances),
            "deployments": _conn_field(deployments),
            "repoTriggers": _conn_field(repo_triggers),
        }

    def _v_instance(self, key: tuple[str, str]) -> dict[str, Any]:
        inst = self.state.instances[key]
        sid, eid = key
        mrc = inst["multiRegionConfig"]
        primary = next(iter(mrc), None)

        def latest(_info: Any) -> dict[str, Any] | None:
            ds = [d for d in self._deployments_of(sid, eid) if not d["_deleted"]]
            return self._v_deployment(ds[0]) if ds else None

        def active(_info: Any) -> list[dict[str, Any]]:
            return [self._v_deployment(d) for d in self._deployments_of(sid, eid) if d["status"] == "SUCCESS"]

        def service_name(_info: Any) -> str:
            return str(self._get_service(sid)["name"])

        return {
            **{k: copy.deepcopy(v) for k, v in inst.items() if not k.startswith("_") and k != "multiRegionConfig"},
            "serviceName": service_name,
            "numReplicas": mrc[primary]["numReplicas"] if primary else 0,
            "region": primary,
            "nextCronRunAt": None,
            "isUpdatable": False,
            "edgeConfig": None,
            "railpackInfo": None,
            "service": lambda _i: self._v_service(self._get_service(sid)),
            "latestDeployment": latest,
            "activeDeployments": active,
            "domains": lambda _i: self._v_all_domains(sid, eid),
        }

    def _v_all_domains(self, service_id: str, environment_id: str) -> dict[str, Any]:
        return {
            "serviceDomains": [self._v_service_domain(d) for d in self._service_domains_of(service_id, environment_id)],
            "customDomains": [self._v_custom_domain(d) for d in self._custom_domains_of(service_id, environment_id)],
        }

    def _v_service_domain(self, d: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in d.items() if not k.startswith("_")}

    def _v_custom_domain(self, d: dict[str, Any]) -> dict[str, Any]:
        out = {k: copy.deepcopy(v) for k, v in d.items() if not k.startswith("_")}
        out["isRailwayDomain"] = False
        return out

    def _v_trigger(self, t: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in t.items() if not k.startswith("_")}

    def _v_token(self, t: dict[str, Any]) -> dict[str, Any]:
        value = str(t["token"])
        return {
            "id": t["id"],
            "name": t["name"],
            "projectId": t["projectId"],
            "environmentId": t["environmentId"],
            "createdAt": t["createdAt"],
            "displayToken": value[:4] + "*" * 12,
            "project": lambda _i: self._v_project(self._get_project(t["projectId"])),
            "environment": lambda _i: self._v_env(self._get_env(t["environmentId"])),
        }

    def _v_deployment(self, d: dict[str, Any]) -> dict[str, Any]:
        def instances(_info: Any) -> list[dict[str, Any]]:
            n = d["_replicas"]
            status = {
                "SUCCESS": "RUNNING",
                "CRASHED": "CRASHED",
                "DEPLOYING": "INITIALIZING",
                "SLEEPING": "STOPPED",
            }.get(d["status"])
            if status is None:
                return []
            if status == "CRASHED":
                n = 1
            return [{"id": str(uuid.uuid5(uuid.NAMESPACE_OID, f"{d['id']}/{i}")), "status": status} for i in range(n)]

        return {
            **{k: copy.deepcopy(v) for k, v in d.items() if not k.startswith("_")},
            "canRedeploy": d["status"] not in IN_FLIGHT,
            "canRollback": bool(d["_succeeded"]) and d["status"] == "REMOVED" and not d["_deleted"],
            "suggestAddServiceDomain": False,
            "snapshotId": None,
            "creator": None,
            "diagnosis": None,
            "sockets": [],
            "instances": instances,
            "service": lambda _i: self._v_service(self._get_service(d["serviceId"])),
            "environment": lambda _i: self._v_env(self._get_env(d["environmentId"])),
        }

    def _v_volume(self, v: dict[str, Any]) -> dict[str, Any]:
        vid = v["id"]
        return {
            **{k: val for k, val in v.items() if not k.startswith("_")},
            "project": lambda _i: self._v_project(self._get_project(v["projectId"])),
            "volumeInstances": _conn_field(
                lambda: [
                    self._v_volume_instance(vi)
                    for vi in sorted(self.state.volume_instances.values(), key=lambda x: x["_seq"])
                    if vi["volumeId"] == vid
                ]
            ),
        }

    def _v_volume_instance(self, vi: dict[str, Any]) -> dict[str, Any]:
        return {
            **{k: v for k, v in vi.items() if not k.startswith("_")},
            "volume": lambda _i: self._v_volume(self._get(self.state.volumes, vi["volumeId"], "Volume not found")),
            "environment": lambda _i: self._v_env(self._get_env(vi["environmentId"])),
            "service": lambda _i: self._v_service(self._get_service(vi["serviceId"])),
        }

    def _v_backup(self, b: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in b.items() if not k.startswith("_")}

    # ------------------------------------------------------------------------- variables/render

    def _system_vars(self, service_id: str, environment_id: str) -> dict[str, str]:
        svc = self.state.services.get(service_id)
        env = self.state.environments.get(environment_id)
        if svc is None or env is None:
            return {}
        proj = self.state.projects.get(svc["projectId"], {})
        doms = self._service_domains_of(service_id, environment_id)
        return {
            "RAILWAY_PRIVATE_DOMAIN": f"{_slug(svc['name'])}.railway.internal",
            "RAILWAY_PUBLIC_DOMAIN": doms[0]["domain"] if doms else "",
            "RAILWAY_SERVICE_NAME": svc["name"],
            "RAILWAY_SERVICE_ID": service_id,
            "RAILWAY_ENVIRONMENT_NAME": env["name"],
            "RAILWAY_ENVIRONMENT_ID": environment_id,
            "RAILWAY_PROJECT_NAME": str(proj.get("name", "")),
            "RAILWAY_PROJECT_ID": svc["projectId"],
        }

    def _render(self, project_id: str, environment_id: str, service_id: str | None, value: str, depth: int = 0) -> str:
        def lookup(ref: str) -> tuple[str | None, str | None]:
            scope, _, name = ref.rpartition(".")
            if not scope:
                if service_id is None:
                    return self.state.variables.get((project_id, environment_id, None), {}).get(name), None
                own = self.state.variables.get((project_id, environment_id, service_id), {})
                if name in own:
                    return own[name], service_id
                return self._system_vars(service_id, environment_id).get(name), service_id
            if scope == "shared":
                return self.state.variables.get((project_id, environment_id, None), {}).get(name), None
            target = next((s for s in self._services_of(project_id) if s["name"] == scope), None)
            if target is None:
                return None, None
            tvars = self.state.variables.get((project_id, environment_id, target["id"]), {})
            if name in tvars:
                return tvars[name], target["id"]
            return self._system_vars(target["id"], environment_id).get(name), target["id"]

        def repl(m: re.Match[str]) -> str:
            raw, owner = lookup(m.group(1))
            if raw is None:
                return ""
            if depth >= 10:
                return raw
            return self._render(project_id, environment_id, owner, raw, depth + 1)

        return _REF_RE.sub(repl, value)

    def _set_vars(
        self,
        project_id: str,
        environment_id: str,
        service_id: str | None,
        new: Mapping[str, Any],
        *,
        replace: bool = False,
    ) -> None:
        for name, value in new.items():
            if not isinstance(name, str) or not _VAR_NAME_RE.match(name):
                raise GraphQLError(f"Invalid variable name: {name!r}")
            if not isinstance(value, str):
                raise GraphQLError(f"Variable {name} must be a string")
        key = (project_id, environment_id, service_id)
        current = {} if replace else dict(self.state.variables.get(key, {}))
        current.update(new)
        if current:
            self.state.variables[key] = current
        else:
            self.state.variables.pop(key, None)

    def _variable_scope(self, info: Any, project_id: Any, environment_id: Any, service_id: Any) -> None:
        ctx: _Ctx = info.context
        if ctx.auth == "project":
            assert ctx.token is not None
            if project_id != ctx.token["projectId"]:
                raise GraphQLError(NOT_AUTHORIZED)
            self._scope_env(info, environment_id)
        self._get_project(project_id)
        self._get_env(environment_id, project_id)
        if service_id is not None:
            self._get_instance(service_id, environment_id)

    def _deploy_after_variable_change(
        self, project_id: str, environment_id: str, service_id: str | None, names: Iterable[str]
    ) -> None:
        if service_id is not None:
            self._redeploy_with_new_variables(service_id, environment_id)
            return
        wanted = set(names)
        for (sid, eid), _inst in list(self.state.instances.items()):
            if eid != environment_id:
                continue
            vals = self.state.variables.get((project_id, eid, sid), {}).values()
            refs = {m.group(1) for v in vals for m in _REF_RE.finditer(v)}
            if any(f"shared.{n}" in refs for n in wanted):
                self._redeploy_with_new_variables(sid, eid)

    def _redeploy_with_new_variables(self, service_id: str, environment_id: str) -> None:
        """Like Railway: a variable change redeploys what is live (its build, now with the new variables) — a
        new commit is never picked up by it; with nothing live, the service's source is deployed."""
        live = next((d for d in self._deployments_of(service_id, environment_id) if d["status"] == "SUCCESS"), None)
        self._new_deployment(service_id, environment_id, "variables", copy_of=live)

    # ------------------------------------------------------------------------------ deployments

    def _manifest(self, inst: dict[str, Any]) -> dict[str, Any]:
        return {
            "source": copy.deepcopy(inst.get("source")),
            "build": {k: copy.deepcopy(inst.get(k)) for k in _BUILD_CONFIG_KEYS},
            "deploy": {
                **{k: copy.deepcopy(inst.get(k)) for k in _DEPLOY_CONFIG_KEYS},
                "multiRegionConfig": copy.deepcopy(inst["multiRegionConfig"]),
                "numReplicas": sum(c["numReplicas"] for c in inst["multiRegionConfig"].values()),
                "region": next(iter(inst["multiRegionConfig"]), None),
            },
        }

    def _new_deployment(
        self,
        service_id: str,
        environment_id: str,
        reason: str,
        *,
        commit_sha: str | None = None,
        copy_of: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        svc = self.state.services[service_id]
        inst = self.state.instances[(service_id, environment_id)]
        for old in self.state.deployments.values():
            if old["serviceId"] == service_id and old["environmentId"] == environment_id and old["status"] in IN_FLIGHT:
                self._set_status(old, "REMOVED")
        final = "SUCCESS"
        for i, (st, sid) in enumerate(self._fail_next):
            if sid is None or sid == service_id:
                final = st
                del self._fail_next[i]
                break
        if copy_of is not None:
            meta = copy.deepcopy(copy_of["meta"]) or {}
            meta["reason"] = reason
            meta["sourceDeploymentId"] = copy_of["id"]
        else:
            meta = {"reason": reason, "serviceManifest": self._manifest(inst)}
            src = inst.get("source") or {}
            if src.get("image"):
                meta["image"] = src["image"]
            if src.get("repo"):
                trig = self._triggers_of(service_id, environment_id)
                meta["repo"] = src["repo"]
                meta["branch"] = trig[0]["branch"] if trig else "main"
                meta["commitHash"] = commit_sha or secrets.token_hex(20)
            elif commit_sha:
                meta["commitHash"] = commit_sha
        doms = self._service_domains_of(service_id, environment_id)
        now = _now()
        d: dict[str, Any] = {
            "id": _uid(),
            "projectId": svc["projectId"],
            "serviceId": service_id,
            "environmentId": environment_id,
            "status": "QUEUED",
            "createdAt": now,
            "updatedAt": now,
            "statusUpdatedAt": now,
            "meta": meta,
            "staticUrl": doms[0]["domain"] if doms else None,
            "url": f"https://{doms[0]['domain']}" if doms else None,
            "deploymentStopped": False,
            "_polls": 0,
            "_final": final,
            "_succeeded": False,
            "_deleted": False,
            "_replicas": max(1, sum(c["numReplicas"] for c in inst["multiRegionConfig"].values())),
            "_seq": self._next_seq(),
        }
        self.state.deployments[d["id"]] = d
        if self.deploy_polls_to_finish <= 0:
            self._finish_deployment(d)
        return d

    @staticmethod
    def _set_status(d: dict[str, Any], status: str) -> None:
        d["status"] = status
        d["statusUpdatedAt"] = d["updatedAt"] = _now()

    def _finish_deployment(self, d: dict[str, Any]) -> None:
        self._set_status(d, d["_final"])
        if d["status"] == "SUCCESS":
            d["_succeeded"] = True
            for other in self.state.deployments.values():
                if (
                    other is not d
                    and other["serviceId"] == d["serviceId"]
                    and other["environmentId"] == d["environmentId"]
                    and other["status"] == "SUCCESS"
                    and other["_seq"] < d["_seq"]
                ):
                    self._set_status(other, "REMOVED")

    def _poll_deployment(self, d: dict[str, Any]) -> None:
        if d["status"] not in IN_FLIGHT:
            return
        d["_polls"] += 1
        n = self.deploy_polls_to_finish
        if d["_polls"] >= n:
            self._finish_deployment(d)
        elif d["_polls"] == n - 1:
            self._set_status(d, "DEPLOYING")
        else:
            self._set_status(d, "BUILDING")

    def _deployment_scope(self, info: Any, d: dict[str, Any]) -> None:
        self._scope_env(info, d["environmentId"])

    # ----------------------------------------------------------------------- instance settings

    def _new_instance(
        self, service_id: str, environment_id: str, source: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        now = _now()
        inst: dict[str, Any] = {
            "id": _uid(),
            "serviceId": service_id,
            "environmentId": environment_id,
            "source": copy.deepcopy(source) if source else None,
            "builder": "RAILPACK",
            "buildCommand": None,
            "dockerfilePath": None,
            "rootDirectory": None,
            "railwayConfigFile": None,
            "watchPatterns": [],
            "nixpacksPlan": None,
            "startCommand": None,
            "preDeployCommand": None,
            "healthcheckPath": None,
            "healthcheckTimeout": None,
            "restartPolicyType": "ON_FAILURE",
            "restartPolicyMaxRetries": 10,
            "cronSchedule": None,
            "sleepApplication": False,
            "overlapSeconds": None,
            "drainingSeconds": None,
            "ipv6EgressEnabled": False,
            "upstreamUrl": None,
            "createdAt": now,
            "updatedAt": now,
            "deletedAt": None,
            "multiRegionConfig": {DEFAULT_REGION: {"numReplicas": 1}},
            "_limits": None,
            "_autoDeploy": True,
            "_registryCredentials": None,
            "_seq": self._next_seq(),
        }
        self.state.instances[(service_id, environment_id)] = inst
        return inst

    def _apply_instance_settings(
        self, inst: dict[str, Any], settings: Mapping[str, Any], *, merge_regions: bool = False
    ) -> None:
        staged = dict(inst)
        for k, v in settings.items():
            if k in _SIMPLE_INSTANCE_KEYS:
                staged[k] = self._check_setting(k, v)
            elif k == "source":
                if v is None:
                    staged["source"] = None
                else:
                    if not isinstance(v, Mapping):
                        raise GraphQLError("source must be an object")
                    src = {"image": v.get("image"), "repo": v.get("repo")}
                    if src["image"] and src["repo"]:
                        raise GraphQLError("A service source cannot have both an image and a repo")
                    staged["source"] = src if (src["image"] or src["repo"]) else None
            elif k == "registryCredentials":
                staged["_registryCredentials"] = copy.deepcopy(v)
            elif k in ("numReplicas", "region", "multiRegionConfig", "limitOverride"):
                continue
            else:
                raise GraphQLError(f"Unknown service instance setting: {k}")
        mrc = {r: dict(c) for r, c in inst["multiRegionConfig"].items()}
        if settings.get("multiRegionConfig") is not None:
            given = settings["multiRegionConfig"]
            if not isinstance(given, Mapping):
                raise GraphQLError("multiRegionConfig must be an object")
            new: dict[str, dict[str, int]] = dict(mrc) if merge_regions else {}
            for region, cfg in given.items():
                if cfg is None:
                    new.pop(region, None)
                    continue
                n = cfg.get("numReplicas", 1) if isinstance(cfg, Mapping) else None
                if not isinstance(n, int) or isinstance(n, bool) or n < 0:
                    raise GraphQLError(f"Invalid numReplicas for region {region}")
                new[self._check_region(region)] = {"numReplicas": n}
            mrc = new
        elif settings.get("numReplicas") is not None or settings.get("region") is not None:
            primary = next(iter(mrc), DEFAULT_REGION)
            n = settings.get("numReplicas")
            if n is None:
                n = mrc.get(primary, {"numReplicas": 1})["numReplicas"]
            if not isinstance(n, int) or isinstance(n, bool) or n < 0:
                raise GraphQLError("Invalid numReplicas")
            region = self._check_region(settings.get("region") or primary)
            rest = {r: c for r, c in mrc.items() if r not in (primary, region)}
            mrc = {region: {"numReplicas": n}, **rest}
        if not mrc or sum(c["numReplicas"] for c in mrc.values()) < 1:
            raise GraphQLError("A service must have at least one replica")
        staged["multiRegionConfig"] = mrc
        if "limitOverride" in settings:
            staged["_limits"] = copy.deepcopy(settings["limitOverride"])
        staged["updatedAt"] = _now()
        inst.clear()
        inst.update(staged)

    @staticmethod
    def _check_region(region: Any) -> str:
        if not isinstance(region, str) or region not in REGION_IDS:
            raise GraphQLError(f"Invalid region: {region}")
        return region

    @staticmethod
    def _check_setting(key: str, value: Any) -> Any:
        if key == "builder" and value is not None and value not in BUILDERS:
            raise GraphQLError(f"Invalid builder: {value}")
        if key == "builder" and value is None:
            return "RAILPACK"
        if key == "restartPolicyType":
            if value is None:
                return "ON_FAILURE"
            if value not in RESTART_POLICIES:
                raise GraphQLError(f"Invalid restart policy: {value}")
        if key == "restartPolicyMaxRetries" and value is None:
            return 10
        if key == "watchPatterns":
            return list(value or [])
        if key == "preDeployCommand":
            if value is None or value == []:
                return None
            if isinstance(value, str):
                return [value]
            if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
                raise GraphQLError("preDeployCommand must be a list of strings")
            return list(value)
        if key == "cronSchedule":
            if not value:
                return None
            if not isinstance(value, str) or len(value.split()) != 5:
                raise GraphQLError(f"Invalid cron schedule: {value}")
        if key == "healthcheckTimeout" and value is not None and (not isinstance(value, int) or value <= 0):
            raise GraphQLError("healthcheckTimeout must be a positive integer")
        if key == "healthcheckPath" and value and not str(value).startswith("/"):
            raise GraphQLError("healthcheckPath must start with /")
        return copy.deepcopy(value)

    # ----------------------------------------------------------------------------------- config

    def _env_config(self, environment_id: str, decrypt: bool) -> dict[str, Any]:
        env = self.state.environments.get(environment_id) or self.state.deleted["environments"][environment_id]
        pid = env["projectId"]
        services: dict[str, Any] = {}
        for (sid, eid), inst in sorted(self.state.instances.items(), key=lambda kv: kv[1]["_seq"]):
            if eid != environment_id:
                continue
            src = {k: v for k, v in (inst.get("source") or {}).items() if v is not None}
            trig = self._triggers_of(sid, eid)
            if trig:
                src["branch"] = trig[0]["branch"]
                src["checkSuites"] = trig[0]["checkSuites"]
            if inst.get("rootDirectory"):
                src["rootDirectory"] = inst["rootDirectory"]
            deploy = {k: inst[k] for k in _DEPLOY_CONFIG_KEYS if inst.get(k) is not None}
            deploy["multiRegionConfig"] = copy.deepcopy(inst["multiRegionConfig"])
            if inst.get("_limits") is not None:
                deploy["limitOverride"] = copy.deepcopy(inst["_limits"])
            build = {k: inst[k] for k in _BUILD_CONFIG_KEYS if inst.get(k) not in (None, [])}
            svars = self.state.variables.get((pid, eid, sid), {})
            services[sid] = {
                "source": src,
                "build": copy.deepcopy(build),
                "deploy": copy.deepcopy(deploy),
                "variables": {n: ({"value": v} if decrypt else {}) for n, v in sorted(svars.items())},
                "networking": {
                    "serviceDomains": {
                        d["domain"]: {"port": d["targetPort"]} for d in self._service_domains_of(sid, eid)
                    },
                    "customDomains": {
                        d["domain"]: {"port": d["targetPort"]} for d in self._custom_domains_of(sid, eid)
                    },
                },
                "volumeMounts": {
                    vi["volumeId"]: {"mountPath": vi["mountPath"]}
                    for vi in self.state.volume_instances.values()
                    if vi["environmentId"] == eid and vi["serviceId"] == sid
                },
            }
            if inst.get("railwayConfigFile"):
                services[sid]["configFile"] = inst["railwayConfigFile"]
        shared = self.state.variables.get((pid, environment_id, None), {})
        return {
            "services": services,
            "sharedVariables": {n: ({"value": v} if decrypt else {}) for n, v in sorted(shared.items())},
            "volumes": {
                vi["volumeId"]: {"sizeMB": vi["sizeMB"], "region": vi["region"]}
                for vi in self.state.volume_instances.values()
                if vi["environmentId"] == environment_id
            },
        }

    def _config_etag(self, environment_id: str) -> str:
        raw = json.dumps(self._env_config(environment_id, True), sort_keys=True).encode()
        return hashlib.sha256(raw).hexdigest()[:20]

    def _apply_patch(self, env: dict[str, Any], patch: Mapping[str, Any]) -> set[str]:
        """Apply an EnvironmentConfig patch; returns the service ids whose deployable config changed."""
        eid, pid = env["id"], env["projectId"]
        touched: set[str] = set()
        for top, value in patch.items():
            if top == "services":
                if not isinstance(value, Mapping):
                    raise GraphQLError("patch.services must be an object")
                for sid, spatch in value.items():
                    self._get_service(sid, pid)
                    if spatch is None or (isinstance(spatch, Mapping) and spatch.get("isDeleted")):
                        if (sid, eid) in self.state.instances:
                            self._delete_instance(sid, eid)
                        continue
                    if not isinstance(spatch, Mapping):
                        raise GraphQLError(f"patch.services.{sid} must be an object")
                    inst = self.state.instances.get((sid, eid))
                    if inst is None:
                        inst = self._new_instance(sid, eid)
                    self._apply_service_patch(pid, eid, sid, inst, spatch)
                    touched.add(sid)
            elif top == "sharedVariables":
                if not isinstance(value, Mapping):
                    raise GraphQLError("patch.sharedVariables must be an object")
                self._apply_variables_patch(pid, eid, None, value)
            else:
                raise GraphQLError(f"fake railway: environment patch key {top!r} is not supported")
        return touched

    def _apply_service_patch(
        self, pid: str, eid: str, sid: str, inst: dict[str, Any], spatch: Mapping[str, Any]
    ) -> None:
        settings: dict[str, Any] = {}
        for key, val in spatch.items():
            if key in ("isCreated", "isDeleted"):
                continue
            if not isinstance(val, Mapping) and key != "configFile":
                raise GraphQLError(f"patch.services.{sid}.{key} must be an object")
            if key == "source":
                src = dict(inst.get("source") or {})
                for k in ("image", "repo"):
                    if k in val:
                        src[k] = val[k]
                if val.get("image"):
                    src["repo"] = None
                if val.get("repo"):
                    src["image"] = None
                if "image" in val or "repo" in val:
                    settings["source"] = src
                if "rootDirectory" in val:
                    settings["rootDirectory"] = val["rootDirectory"]
                if "branch" in val or "checkSuites" in val:
                    trig = self._triggers_of(sid, eid)
                    if trig:
                        if val.get("branch"):
                            trig[0]["branch"] = val["branch"]
                        if "checkSuites" in val:
                            trig[0]["checkSuites"] = bool(val["checkSuites"])
                    elif val.get("branch") and (src.get("repo")):
                        self._new_trigger(pid, eid, sid, src["repo"], val["branch"], bool(val.get("checkSuites")))
            elif key == "build":
                for k, v in val.items():
                    if k in _BUILD_CONFIG_KEYS:
                        settings[k] = v
                    elif k != "nixpacksConfigPath":
                        raise GraphQLError(f"fake railway: build.{k} is not supported")
            elif key == "deploy":
                for k, v in val.items():
                    if k in _DEPLOY_CONFIG_KEYS or k in ("numReplicas", "region", "multiRegionConfig"):
                        settings[k] = v
                    elif k == "limitOverride":
                        settings["limitOverride"] = v
                    elif k == "registryCredentials":
                        settings["registryCredentials"] = v
                    else:
                        raise GraphQLError(f"fake railway: deploy.{k} is not supported")
            elif key == "variables":
                self._apply_variables_patch(pid, eid, sid, val)
            elif key == "configFile":
                settings["railwayConfigFile"] = val
            else:
                raise GraphQLError(f"fake railway: environment patch key services.<id>.{key} is not supported")
        if settings:
            self._apply_instance_settings(inst, settings, merge_regions=True)

    def _apply_variables_patch(self, pid: str, eid: str, sid: str | None, vpatch: Mapping[str, Any]) -> None:
        upserts: dict[str, Any] = {}
        for name, spec in vpatch.items():
            if spec is None:
                cur = self.state.variables.get((pid, eid, sid), {})
                cur.pop(name, None)
                if not cur:
                    self.state.variables.pop((pid, eid, sid), None)
            elif isinstance(spec, Mapping) and "value" in spec:
                upserts[name] = spec["value"]
        if upserts:
            self._set_vars(pid, eid, sid, upserts)
