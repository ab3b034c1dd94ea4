"""Recording the running MAYA into a stack: the Railway side of ``python -m ops adopt``.

Pulumi cannot ``import`` into dynamic providers (pulumi/pulumi#16175), so ``ops adopt`` runs one targeted
``pulumi up`` with :data:`RECORDING_ENV` set in the engine's environment (the provider processes inherit
it). In that run, ``create`` of a Railway resource does what an import does and nothing else: it finds the
existing object by its natural key (or the id pinned in ``maya-infra:adopt.railway``), reads it, and
returns what RUNS as the resource's outputs — it sends no mutation at all. The engine keeps those outputs;
the next ``pulumi preview`` diffs them against the config, so it lists exactly the real differences as
in-place updates (0 creates, 0 deletes, 0 replaces for what was found), and the next ``up`` writes only
those (a deploy follows only when a setting or a variable really changed).

Every recorded object has ``origin: adopted``: the stack never deletes it. Variables are recorded for the
declared names only, so names that run on Railway but are not declared are never removed by a later write
(``ops adopt`` reports them; ``maya-infra:adopt.removeUndeclaredVariables`` opts into removing them).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from components.railway import errors
from components.railway import operations as ops
from components.railway.providers.base import edges, set_record_hook

if TYPE_CHECKING:
    from components.railway.providers.base import RailwayProvider

#: Set (to "1") in the environment of the one ``pulumi up`` that ``ops adopt`` runs.
RECORDING_ENV = "MAYA_ADOPT_RECORD"
#: ``maya-infra:adopt.railway`` as JSON, handed to the providers the same way (kind -> pinned id).
PINNED_ENV = "MAYA_ADOPT_RAILWAY_IDS"
ADOPTED = "adopted"
#: The write fingerprint of what was recorded, not written: equal on both sides, so no deploy follows.
RECORDED_REVISION = "adopted"

#: Our resource kind -> the key of ``maya-infra:adopt.railway`` that may pin its id.
PIN_KEYS = {
    "Project": "project",
    "Environment": "environment",
    "Service": "service",
    "Postgres": "postgres",
    "ServiceDomain": "serviceDomain",
    "CustomDomain": "customDomain",
    "DeploymentTrigger": "trigger",
    "BackupSchedule": "backupSchedule",
}


def recording() -> bool:
    return os.environ.get(RECORDING_ENV) == "1"


def pinned(kind: str) -> str | None:
    """The id ``ops adopt`` pinned for this kind, if any."""
    import json

    raw = os.environ.get(PINNED_ENV)
    ids: dict[str, str] = json.loads(raw) if raw else {}
    key = PIN_KEYS.get(kind)
    return ids.get(key) if key else None


class NothingToAdopt(errors.RailwayError):
    """The object is not on Railway: ``ops adopt`` targets only what it found, so this means it changed since."""


def record(provider: RailwayProvider, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The id and the running values of the object ``provider`` would create; no mutation is sent."""
    recorder = _RECORDERS.get(provider.kind)
    if recorder is None:
        raise NothingToAdopt(provider.kind, f"{provider.kind} cannot be adopted (ops adopt never targets it)")
    id_, running = recorder(provider, inputs)
    return id_, {**running, "origin": ADOPTED}


def _missing(kind: str, what: str) -> NothingToAdopt:
    return NothingToAdopt(kind, f"{what} is not on Railway any more; run `python -m ops adopt` again")


def _pick(kind: str, nodes: list[dict[str, Any]], match: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    want = pinned(kind)
    found = next((n for n in nodes if (n["id"] == want if want else match(n))), None)
    if found is None:
        raise _missing(kind, f"the {kind} {'with id ' + want if want else 'of that name'}")
    return found


def _project(p: RailwayProvider, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    want = pinned("Project")
    project_id = want
    if project_id is None:
        after = None
        for _ in range(50):  # bounded paging
            page = p.client.execute(ops.PROJECTS, {"workspaceId": inputs.get("workspace_id"), "after": after})[
                "projects"
            ]
            project_id = next((n["id"] for n in edges(page) if n["name"] == inputs["name"]), None)
            if project_id or not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
    if project_id is None:
        raise _missing("Project", f"the project {inputs['name']!r}")
    project = p.client.execute(ops.PROJECT, {"id": project_id})["project"]
    envs = {e["name"]: e["id"] for e in edges(project.get("environments"))}
    return project["id"], {
        "name": project["name"],
        "description": project.get("description") or "",
        "default_environment_id": envs.get(inputs.get("default_environment_name") or ""),
    }


def _environment(p: RailwayProvider, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    envs = edges(p.client.execute(ops.ENVIRONMENTS, {"projectId": inputs["project_id"]})["environments"])
    env = _pick("Environment", envs, lambda e: e["name"] == inputs["name"])
    return env["id"], {"name": env["name"], "adopted": True}


def _services(p: RailwayProvider, project_id: str) -> list[dict[str, Any]]:
    return edges(p.client.execute(ops.PROJECT, {"id": project_id})["project"].get("services"))


def _service(p: RailwayProvider, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    service = _pick("Service", _services(p, inputs["project_id"]), lambda s: s["name"] == inputs["name"])
    return service["id"], {"name": service["name"]}


def _instance(p: RailwayProvider, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    running = p._read("", inputs) or {}  # the provider's own refresh read: one request
    return f"{inputs['service_id']}:{inputs['environment_id']}", {**running, "revision": RECORDED_REVISION}


def _variables(p: RailwayProvider, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    declared = set(inputs.get("variables") or {})
    remote = (p._read("", inputs) or {}).get("variables") or {}
    kept = {k: v for k, v in remote.items() if k in declared}  # undeclared names never enter the state
    id_ = f"{inputs['project_id']}:{inputs['environment_id']}:{inputs['service_id']}"
    return id_, {"variables": kept, "revision": RECORDED_REVISION}


def _domains(p: RailwayProvider, inputs: Mapping[str, Any]) -> dict[str, Any]:
    scope = {"projectId": inputs["project_id"], "environmentId": inputs["environment_id"]}
    result: dict[str, Any] = p.client.execute(ops.DOMAINS, {**scope, "serviceId": inputs["service_id"]})["domains"]
    return result


def _service_domain(p: RailwayProvider, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    domain = _pick("ServiceDomain", _domains(p, inputs)["serviceDomains"], lambda d: True)
    return domain["id"], {
        "domain": domain["domain"],
        "url": f"https://{domain['domain']}",
        "target_port": domain.get("targetPort"),
    }


def _custom_domain(p: RailwayProvider, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    from components.railway.providers.network import _dns_outputs

    domains = _domains(p, inputs)["customDomains"]
    domain = _pick("CustomDomain", domains, lambda d: d["domain"] == inputs["domain"])
    return domain["id"], {"domain": domain["domain"], "target_port": domain.get("targetPort"), **_dns_outputs(domain)}


def _trigger(p: RailwayProvider, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    scope = {"projectId": inputs["project_id"], "environmentId": inputs["environment_id"]}
    listed = p.client.execute(ops.DEPLOYMENT_TRIGGERS, {**scope, "serviceId": inputs["service_id"]})
    triggers = edges(listed["deploymentTriggers"])
    trigger = _pick("DeploymentTrigger", triggers, lambda t: t["repository"] == inputs["repository"])
    return trigger["id"], {
        "repository": trigger["repository"],
        "branch": trigger["branch"],
        "check_suites": trigger["checkSuites"],
        "provider": trigger["provider"],
    }


def _postgres(p: RailwayProvider, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    name = inputs.get("service_name") or "Postgres"
    env = p.client.execute(ops.ENVIRONMENT_INSTANCES, {"environmentId": inputs["environment_id"]})["environment"]
    services = [{"id": i["serviceId"], "name": i["serviceName"]} for i in edges(env.get("serviceInstances"))]
    service = _pick("Postgres", services, lambda s: s["name"] == name)
    volume = next((v for v in edges(env.get("volumeInstances")) if v.get("serviceId") == service["id"]), None)
    outs = {
        "service_name": service["name"],
        "service_id": service["id"],
        "volume_id": volume["volumeId"] if volume else None,
        "volume_instance_id": volume["id"] if volume else None,
        "database_url_reference": "${{" + service["name"] + ".DATABASE_URL}}",
    }
    if volume is not None and inputs.get("region"):
        outs["region"] = volume.get("region")  # where the data lives now: a different config is a real difference
    return service["id"], outs


def _backup_schedule(p: RailwayProvider, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    volume = pinned("BackupSchedule") or inputs["volume_instance_id"]
    return volume, {"volume_instance_id": volume, **p._schedules(volume)}  # type: ignore[attr-defined]


def _deployment(p: RailwayProvider, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    scope = {k: inputs[f"{k[:-2]}_id"] for k in ("projectId", "serviceId", "environmentId")}
    latest = edges(p.client.execute(ops.DEPLOYMENTS, {"input": scope, "first": 1})["deployments"])
    id_ = f"{inputs['service_id']}:{inputs['environment_id']}"
    return id_, {
        "deployment_id": latest[0]["id"] if latest else None,
        "status": latest[0]["status"] if latest else None,
    }


_RECORDERS: dict[str, Callable[[RailwayProvider, Mapping[str, Any]], tuple[str, dict[str, Any]]]] = {
    "Project": _project,
    "Environment": _environment,
    "Service": _service,
    "ServiceInstance": _instance,
    "Variables": _variables,
    "ServiceDomain": _service_domain,
    "CustomDomain": _custom_domain,
    "DeploymentTrigger": _trigger,
    "Postgres": _postgres,
    "BackupSchedule": _backup_schedule,
    "Deployment": _deployment,
}


def _record_if_recording(provider: RailwayProvider, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The hook every create consults: in the ``ops adopt`` run, what runs (no mutation); otherwise None."""
    return record(provider, inputs) if recording() else None


set_record_hook(_record_if_recording)
