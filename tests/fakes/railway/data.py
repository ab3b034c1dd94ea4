"""Mutations of templates (asynchronous workflows), volumes and volume backups."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from graphql import GraphQLError

from tests.fakes.railway.base import (
    BACKUP_KINDS,
    NOT_AUTHORIZED,
    POSTGRES_IMAGE,
    POSTGRES_MOUNT,
    POSTGRES_TEMPLATE_ID,
    _mutation,
    _now,
    _template_region,
    _uid,
)


class DataMixin:
    """Mutations of templates (asynchronous workflows), volumes and volume backups."""

    # ---- templates
    @_mutation("templateDeployV2")
    def _m_template_deploy_v2(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        if input["templateId"] != POSTGRES_TEMPLATE_ID:
            raise GraphQLError("Template not found")
        cfg = input.get("serializedConfig")
        if not isinstance(cfg, Mapping) or not isinstance(cfg.get("services"), Mapping) or not cfg["services"]:
            raise GraphQLError("Invalid serialized template config")
        if input.get("workspaceId") is not None and input["workspaceId"] != self.workspace_id:
            raise GraphQLError(NOT_AUTHORIZED)
        if input.get("projectId"):
            project = self._get_project(input["projectId"])
        else:
            project = self._create_project(
                {"name": f"postgres-{secrets.token_hex(2)}", "workspaceId": input.get("workspaceId")}
            )
        pid = project["id"]
        eid = input.get("environmentId") or self._primary_env_id(pid)
        env = self._get_env(eid, pid)
        tpl_svc = next(iter(cfg["services"].values()))
        region = _template_region(tpl_svc)
        if region is not None:
            self._check_region(region)
        stage_only = bool(input.get("stageOnly"))
        env_id = env["id"]

        def materialise(*, volume: bool = True) -> None:
            """What the template's workflow makes when it completes: the service, its variables, its volume
            (``volume=False``: what a template that failed half-way leaves)."""
            if pid not in self.state.projects or env_id not in self.state.environments:
                return  # deleted while the workflow ran
            base = tpl_svc.get("name") if isinstance(tpl_svc, Mapping) and tpl_svc.get("name") else "Postgres"
            name = base
            existing = {s["name"] for s in self._services_of(pid)}
            while name in existing:
                name = f"{base}-{secrets.token_hex(2)}"
            svc = self._create_service(
                pid,
                name,
                environment_id=env_id,
                source={"image": POSTGRES_IMAGE},
                icon="https://devicons.railway.com/i/postgresql.svg",
                template_id=POSTGRES_TEMPLATE_ID,
                deploy=False,
            )
            if region is not None:
                self.state.instances[(svc["id"], env_id)]["multiRegionConfig"] = {region: {"numReplicas": 1}}
            self._set_vars(
                pid,
                env_id,
                svc["id"],
                {
                    "PGUSER": "postgres",
                    "PGPASSWORD": secrets.token_urlsafe(24),
                    "PGDATABASE": "railway",
                    "PGHOST": "${{RAILWAY_PRIVATE_DOMAIN}}",
                    "PGPORT": "5432",
                    "PGDATA": f"{POSTGRES_MOUNT}/pgdata",
                    "POSTGRES_USER": "${{PGUSER}}",
                    "POSTGRES_PASSWORD": "${{PGPASSWORD}}",
                    "POSTGRES_DB": "${{PGDATABASE}}",
                    "DATABASE_URL": "postgresql://${{PGUSER}}:${{PGPASSWORD}}@${{PGHOST}}:${{PGPORT}}/${{PGDATABASE}}",
                },
            )
            if not volume:
                return
            self._new_volume(pid, POSTGRES_MOUNT, svc["id"], env_id, region)
            if not stage_only:
                self._new_deployment(svc["id"], env_id, "template")

        wid = self._new_workflow(
            "templateDeploy",
            projectId=pid,
            _on_complete=materialise,
            _on_partial=lambda: materialise(volume=False),
            _fail=self._fail_templates.pop(0) if self._fail_templates else None,
            _polls_needed=self.template_workflow_polls,
            _due=self.now() + self.template_delay_seconds,
        )
        if self.template_workflow_polls <= 0:
            self._complete_workflow(self.state.workflows[wid])
        return {"projectId": pid, "workflowId": wid}

    # ---- volumes
    @_mutation("volumeCreate")
    def _m_volume_create(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        pid = input["projectId"]
        self._get_project(pid)
        v = self._new_volume(
            pid, input["mountPath"], input.get("serviceId"), input.get("environmentId"), input.get("region")
        )
        return self._v_volume(v)

    @_mutation("volumeUpdate")
    def _m_volume_update(self, info: Any, volumeId: str, input: dict[str, Any]) -> dict[str, Any]:
        v = self._get(self.state.volumes, volumeId, "Volume not found")
        if input.get("name"):
            v["name"] = input["name"]
        return self._v_volume(v)

    @_mutation("volumeInstanceUpdate")
    def _m_volume_instance_update(
        self, info: Any, volumeId: str, input: dict[str, Any], environmentId: str | None = None
    ) -> bool:
        v = self._get(self.state.volumes, volumeId, "Volume not found")
        vis = [
            vi
            for vi in self.state.volume_instances.values()
            if vi["volumeId"] == volumeId and (environmentId is None or vi["environmentId"] == environmentId)
        ]
        if not vis:
            raise GraphQLError("VolumeInstance not found")
        for vi in vis:
            if input.get("mountPath") is not None:
                if not input["mountPath"].startswith("/"):
                    raise GraphQLError("Invalid mount path")
                vi["mountPath"] = input["mountPath"]
            if "serviceId" in input:
                if input["serviceId"] is not None:
                    self._get_instance(input["serviceId"], vi["environmentId"])
                    if self._get_service(input["serviceId"])["projectId"] != v["projectId"]:
                        raise GraphQLError("Service not found")
                vi["serviceId"] = input["serviceId"]
            if input.get("state") is not None:
                vi["state"] = input["state"]
        return True

    @_mutation("volumeDelete")
    def _m_volume_delete(self, info: Any, volumeId: str) -> bool:
        self._get(self.state.volumes, volumeId, "Volume not found")
        self._delete_volume(volumeId)
        return True

    # ---- volume backups
    @_mutation("volumeInstanceBackupCreate")
    def _m_backup_create(self, info: Any, volumeInstanceId: str, name: str | None = None) -> dict[str, Any]:
        vi = self._get(self.state.volume_instances, volumeInstanceId, "VolumeInstance not found")
        b: dict[str, Any] = {
            "id": _uid(),
            "name": name or "Manual",
            "createdAt": _now(),
            "expiresAt": None,
            "externalId": f"snap-{secrets.token_hex(8)}",
            "creatorId": "user-fake",
            "referencedMB": int(vi["currentSizeMB"]),
            "usedMB": int(vi["currentSizeMB"]),
            "scheduleId": None,
            "volumeInstanceSizeMB": vi["sizeMB"],
            "_volumeInstanceId": volumeInstanceId,
            "_seq": self._next_seq(),
        }
        self.state.backups[b["id"]] = b
        return {"workflowId": self._new_workflow("backupCreate", backupId=b["id"])}

    def _backup_of(self, volume_instance_id: str, backup_id: str) -> dict[str, Any]:
        self._get(self.state.volume_instances, volume_instance_id, "VolumeInstance not found")
        b = self._get(self.state.backups, backup_id, "Backup not found")
        if b["_volumeInstanceId"] != volume_instance_id:
            raise GraphQLError("Backup not found")
        return b

    @_mutation("volumeInstanceBackupDelete")
    def _m_backup_delete(self, info: Any, volumeInstanceBackupId: str, volumeInstanceId: str) -> dict[str, Any]:
        self._backup_of(volumeInstanceId, volumeInstanceBackupId)
        del self.state.backups[volumeInstanceBackupId]
        return {"workflowId": self._new_workflow("backupDelete", backupId=volumeInstanceBackupId)}

    @_mutation("volumeInstanceBackupLock")
    def _m_backup_lock(self, info: Any, volumeInstanceBackupId: str, volumeInstanceId: str) -> bool:
        b = self._backup_of(volumeInstanceId, volumeInstanceBackupId)
        b["expiresAt"] = None
        return True

    @_mutation("volumeInstanceBackupRestore")
    def _m_backup_restore(
        self,
        info: Any,
        volumeInstanceBackupId: str,
        volumeInstanceId: str,
        replicaServiceIds: list[str] | None = None,
        wipeServiceIds: list[str] | None = None,
    ) -> dict[str, Any]:
        self._backup_of(volumeInstanceId, volumeInstanceBackupId)
        vi = self.state.volume_instances[volumeInstanceId]
        vi["state"] = "RESTORING"

        def done() -> None:
            if volumeInstanceId in self.state.volume_instances:
                self.state.volume_instances[volumeInstanceId]["state"] = "READY"

        wid = self._new_workflow(
            "backupRestore", backupId=volumeInstanceBackupId, volumeInstanceId=volumeInstanceId, _on_complete=done
        )
        return {"workflowId": wid}

    @_mutation("volumeInstanceBackupScheduleUpdate")
    def _m_backup_schedule_update(self, info: Any, kinds: list[str], volumeInstanceId: str) -> bool:
        self._get(self.state.volume_instances, volumeInstanceId, "VolumeInstance not found")
        cur = self.state.backup_schedules.get(volumeInstanceId, {})
        new: dict[str, dict[str, Any]] = {}
        for kind in kinds:
            if kind in cur:
                new[kind] = cur[kind]
                continue
            name, cron, retention = BACKUP_KINDS[kind]
            new[kind] = {
                "id": _uid(),
                "kind": kind,
                "name": name,
                "cron": cron,
                "retentionSeconds": retention,
                "createdAt": _now(),
            }
        if new:
            self.state.backup_schedules[volumeInstanceId] = new
        else:
            self.state.backup_schedules.pop(volumeInstanceId, None)
        return True
