"""Providers of the data: the PostgreSQL template (service + volume) and the volume's backup schedule."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from typing import Any

from pulumi.dynamic import CheckFailure, CheckResult

from components.railway import errors
from components.railway import operations as ops
from components.railway.providers.base import (
    RailwayProvider,
    edges,
    is_unknown,
)


class PostgresProvider(RailwayProvider):
    """Railway's PostgreSQL template (a service with its volume); the backend references its URL."""

    kind = "Postgres"
    input_keys = ("project_id", "environment_id", "service_name", "workflow_timeout_seconds", "workflow_poll_seconds")
    replace_keys = frozenset({"project_id", "environment_id", "service_name"})
    required_keys = ("project_id", "environment_id")

    def _service(self, project_id: str, name: str) -> dict[str, Any] | None:
        project = self.client.execute(ops.PROJECT, {"id": project_id})["project"]
        return next((s for s in edges(project.get("services")) if s["name"] == name), None)

    def _outputs(self, inputs: Mapping[str, Any], service: Mapping[str, Any]) -> dict[str, Any]:
        volumes = edges(
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
