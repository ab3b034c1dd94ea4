"""Providers of the data: the PostgreSQL template (service + volume) and the volume's backup schedule."""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult

from components.railway import errors
from components.railway import operations as gql
from components.railway.exactly_once import ADOPTED, CREATED
from components.railway.providers.adoption import Runs
from components.railway.providers.base import RailwayProvider, edges, is_unknown
from components.railway.providers.schema import RailwayResource, output, parent, setting

#: Where Railway's PostgreSQL template mounts its volume: how adoption recognises a database it did not name.
POSTGRES_DATA = "/var/lib/postgresql"


class PostgresProvider(RailwayProvider):
    """Railway's PostgreSQL template (a service with its volume); the backend references its URL.

    Natural key: project + environment + service name (+ the template's workflow). ``templateDeployV2``
    is asynchronous: it answers with a ``workflowId`` and the service and its volume appear only when
    that workflow completes. So the create follows the workflow to completion before it looks for the
    service, and when the deploy's answer was lost it keeps looking for up to
    ``workflow_timeout_seconds`` before concluding that the template was not deployed — never a second
    database beside the first. The volume is placed in ``region`` (the backend's, unless the stack says
    otherwise) and its region is read back on refresh; moving a database is not done behind the user's
    back (see ``_update``).
    """

    def _services(self, environment_id: str) -> list[dict[str, Any]]:
        """Every service instance of the environment with its volume (one request)."""
        env = self.client.execute(gql.ENVIRONMENT_INSTANCES, {"environmentId": environment_id})["environment"]
        volumes = edges(env.get("volumeInstances"))
        return [
            {
                "id": i["serviceId"],
                "name": i["serviceName"],
                "volume": next((v for v in volumes if v.get("serviceId") == i["serviceId"]), None),
            }
            for i in edges(env.get("serviceInstances"))
        ]

    def candidates(self, inputs: Mapping[str, Any], runs: Runs | None = None) -> list[dict[str, Any]]:
        """Natural key: the service of that name in the environment, with its volume. Adoption (``runs``)
        recognises the database by what it is instead: a service whose volume holds PostgreSQL's data
        (Railway's template), whatever its name."""
        services = self._services(inputs["environment_id"])
        if runs is None:
            name = inputs.get("service_name") or "Postgres"
            return [s for s in services if s["name"] == name]
        return [s for s in services if str((s["volume"] or {}).get("mountPath") or "").startswith(POSTGRES_DATA)]

    def _running(self, id_: str, inputs: Mapping[str, Any], node: Mapping[str, Any] | None) -> dict[str, Any] | None:
        if node is None:
            node = next((s for s in self._services(inputs["environment_id"]) if s["id"] == id_), None)
            if node is None:
                return None
        volume = node.get("volume") or {}
        outs = {**self._outputs(node), "service_name": node["name"]}
        if volume.get("region"):
            outs["region"] = volume["region"]  # where the data lives now: a different config is a real difference
        return outs

    def what_up_does(self, key: str, running: Any, declared: Any) -> str:
        if key == "region":
            return (
                f"refuses to move the data: set backend.databaseRegion to {running!r}, or move the volume in "
                "the dashboard"
            )
        return super().what_up_does(key, running, declared)

    def label(self, node: Mapping[str, Any]) -> str:
        volume = (node.get("volume") or {}).get("volumeId") or node.get("volume_id")
        return f"{node.get('name') or node.get('service_name')} (volume {volume})"

    @staticmethod
    def _outputs(found: Mapping[str, Any]) -> dict[str, Any]:
        volume = found.get("volume") or {}
        return {
            "service_id": found["id"],
            "volume_id": volume.get("volumeId"),
            "volume_instance_id": volume.get("id"),
            "database_url_reference": "${{" + found["name"] + ".DATABASE_URL}}",
        }

    def _deploy_template(self, inputs: Mapping[str, Any], name: str) -> dict[str, Any]:
        """Deploy the template, follow its workflow to the end, then read what it made."""
        template = self.client.execute(gql.TEMPLATE, {"code": "postgres"})["template"]
        deployed = self.client.execute(
            gql.TEMPLATE_DEPLOY,
            {
                "input": {
                    "templateId": template["id"],
                    "serializedConfig": placed(template["serializedConfig"], inputs.get("region")),
                    "projectId": inputs["project_id"],
                    "environmentId": inputs["environment_id"],
                }
            },
        )["templateDeployV2"]
        if deployed.get("workflowId"):
            self._wait_workflow(deployed["workflowId"], inputs)
        found = self.find(inputs)
        if found is None:
            raise errors.RailwayError(
                "TemplateDeployV2",
                f"the PostgreSQL template finished but no service named {name!r} exists; "
                "rename it in Railway or set service_name",
            )
        return found

    def _create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        name = inputs.get("service_name") or "Postgres"
        outcome = self.create_exactly_once(
            f"{name!r}",
            find=lambda: self.find(inputs),
            send=lambda: self._deploy_template(inputs, name),
            settle_seconds=float(inputs.get("workflow_timeout_seconds") or 600),
        )
        found = outcome.value
        if found.get("volume") is None:  # what a template that failed half-way leaves: never our database
            raise errors.RailwayError(
                "Postgres",
                f"the service {found['name']!r} has no volume in this environment (a PostgreSQL template that "
                "failed half-way leaves one); a database without its volume loses its data at every restart, so "
                "it is not used: delete it in Railway (service → Settings → Danger) and run `pulumi up` again",
            )
        self._check_region(found, inputs.get("region"))
        return found["id"], {**self._outputs(found), "origin": outcome.origin}

    def _check_region(self, found: Mapping[str, Any], wanted: str | None) -> None:
        """A database is never moved implicitly: moving a volume copies the data with downtime."""
        actual = (found.get("volume") or {}).get("region")
        if wanted and actual and actual != wanted:
            raise errors.InvalidInputError(
                "Postgres",
                f"the database volume of {found['name']!r} is in {actual}, the stack wants {wanted}; moving it "
                "copies the data with downtime, so it is not done by `pulumi up`: move it in the Railway "
                f"dashboard (service → Settings → Region), or set backend.databaseRegion to {actual}",
            )

    def _wait_workflow(self, workflow_id: str, inputs: Mapping[str, Any]) -> None:
        deadline = time.monotonic() + float(inputs.get("workflow_timeout_seconds") or 600)
        poll = float(inputs.get("workflow_poll_seconds") or 3)
        while time.monotonic() < deadline:
            status = self.client.execute(gql.WORKFLOW_STATUS, {"workflowId": workflow_id})["workflowStatus"]
            if status["status"] == "Complete":
                return
            if status["status"] in ("Error", "NotFound"):
                raise errors.RailwayError("WorkflowStatus", f"the PostgreSQL template failed: {status.get('error')}")
            self.client.sleep(poll)
        raise errors.RailwayError(
            "WorkflowStatus",
            f"the PostgreSQL template did not finish in time ({workflow_id}); run `pulumi up` again: it "
            "adopts the database once Railway has made it",
        )

    def _update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        if news.get("region") != olds.get("region"):
            found = self.find(news)
            if found is not None:
                self._check_region(found, news.get("region"))
        return {}  # the wait settings change in place; a region that already holds is just recorded

    def _delete(self, id_: str, props: Mapping[str, Any]) -> None:
        with contextlib.suppress(errors.NotFoundError):
            self.client.execute(gql.SERVICE_DELETE, {"id": id_})
        if props.get("volume_id"):
            self.client.execute(gql.VOLUME_DELETE, {"volumeId": props["volume_id"]})

    def _read(self, id_: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        env = self.client.execute(gql.ENVIRONMENT_INSTANCES, {"environmentId": state["environment_id"]})["environment"]
        service = next((i for i in edges(env.get("serviceInstances")) if i["serviceId"] == id_), None)
        if service is None:
            return None
        volume = next((v for v in edges(env.get("volumeInstances")) if v.get("serviceId") == id_), None)
        outs: dict[str, Any] = {
            "service_name": service["serviceName"],
            "database_url_reference": "${{" + service["serviceName"] + ".DATABASE_URL}}",
        }
        if volume is not None and state.get("region"):
            outs["region"] = volume.get("region")  # drift: the next up says what to do
        return outs


class Postgres(RailwayResource, provider=PostgresProvider, adopt_key="postgres"):
    """Railway's PostgreSQL template; ``database_url_reference`` (the backend's DATABASE_URL) is secret."""

    project_id: pulumi.Input[str] = parent()
    environment_id: pulumi.Input[str] = parent()
    service_name: str = setting(default="Postgres", replace=True)
    region: pulumi.Input[str] | None = setting(default=None)
    workflow_timeout_seconds: float = setting(default=600, local=True)
    workflow_poll_seconds: float = setting(default=3, local=True)
    service_id: pulumi.Output[str] = output()
    volume_id: pulumi.Output[str] = output()
    volume_instance_id: pulumi.Output[str] = output()
    database_url_reference: pulumi.Output[str] = output(secret=True)


def placed(serialized: Mapping[str, Any], region: str | None) -> dict[str, Any]:
    """The template's config with its service (and so its volume) placed in ``region``.

    Railway's serialized template config carries each service's deploy settings under ``deploy``, in the
    shape of the environment config (``multiRegionConfig: {region: {numReplicas}}``).
    """
    config = copy.deepcopy(dict(serialized))
    if not region:
        return config
    for service in (config.get("services") or {}).values():
        if isinstance(service, dict):
            deploy = dict(service.get("deploy") or {})
            deploy["region"] = region
            deploy["multiRegionConfig"] = {region: {"numReplicas": 1}}
            service["deploy"] = deploy
    return config


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
        listed = self.client.execute(gql.VOLUME_INSTANCE_BACKUP_SCHEDULES, {"volumeInstanceId": volume_instance_id})[
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
            gql.VOLUME_INSTANCE_BACKUP_SCHEDULE_UPDATE, {"volumeInstanceId": volume_instance_id, "kinds": kinds}
        )
        return self._schedules(volume_instance_id)

    def _create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """Looks first: a volume that already takes backups had them set before this state (adopted, or a
        state rebuilt from nothing) — ``adopted``, so no destroy ever clears them."""
        volume = inputs["volume_instance_id"]
        running = self._schedules(volume)
        origin = ADOPTED if running["kinds"] else CREATED
        if running["kinds"] == list(inputs["kinds"]):
            return volume, {**running, "origin": origin}
        return volume, {**self._apply(volume, list(inputs["kinds"])), "origin": origin}

    def _update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        return self._apply(id_, list(news["kinds"]))

    def _delete(self, id_: str, props: Mapping[str, Any]) -> None:
        self.client.execute(gql.VOLUME_INSTANCE_BACKUP_SCHEDULE_UPDATE, {"volumeInstanceId": id_, "kinds": []})

    def _read(self, id_: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        # An empty list is not "gone": the schedule was cleared behind our back, and kinds [] is that drift.
        return {"volume_instance_id": id_, **self._schedules(id_)}

    def candidates(self, inputs: Mapping[str, Any], runs: Runs | None = None) -> list[dict[str, Any]]:
        """Natural key: the volume instance (a volume has one schedule set)."""
        volume = inputs.get("volume_instance_id")
        return [{"id": volume, "name": "backup schedule"}] if volume else []


class BackupSchedule(RailwayResource, provider=BackupScheduleProvider, adopt_key="backupSchedule"):
    """Railway's backup schedule (DAILY/WEEKLY/MONTHLY) of a volume instance, read back with its retention."""

    volume_instance_id: pulumi.Input[str] = setting(replace=True)
    kinds: pulumi.Input[list[str]] = setting()
    schedules: pulumi.Output[list[dict[str, Any]]] = output()
