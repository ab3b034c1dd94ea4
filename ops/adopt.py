"""``python -m ops adopt --stack <stack>``: take over the MAYA that already runs, without touching it.

1. **Discover** (reads only): the stack's objects on Railway, Vercel and GitHub, by the names in the stack
   config or the ids given with ``--id kind=ID``. Railway: project, environment, backend service and its
   instance settings, variables (names only — values are never printed), PostgreSQL service and volume,
   service and custom domains, deployment trigger, backup schedule, active deployment. Vercel: project,
   domains, environment variables. GitHub: environments with reviewers, environment secret and variable
   names, the branch ruleset, the workflow files.
2. **Show** one table: object, id, and whether it matches the config, differs (and how), is extra (runs
   but is not declared: kept, never deleted) or is missing (the next ``up`` creates it).
3. On confirmation (``--yes``, or answering ``y``), **bring them into the stack**:
   * ``maya-infra:adopt`` is written into ``Pulumi.<stack>.yaml``: the Vercel and GitHub import ids (read
     by the components as the ``import_`` resource option), the Railway ids found, and whether undeclared
     Railway variables may be removed (no, unless ``--remove-undeclared-variables``);
   * one targeted ``pulumi up`` records the Railway objects found (Pulumi cannot import into dynamic
     providers, pulumi/pulumi#16175): in that run each Railway ``create`` reads the running object and
     sends no mutation (components/railway/providers/adopt.py).

Afterwards ``pulumi preview`` shows no create, delete or replace of what was found; its updates are the
"differs" rows of the table, and the next ``up`` writes only those.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import yaml

from components.railway import errors as railway_errors
from components.railway import operations as rops
from components.railway.backend import project_description
from components.railway.client import RailwayClient
from components.railway.providers.adopt import PINNED_ENV, RECORDING_ENV
from components.railway.providers.base import edges
from config import NAMESPACE, PROJECT_DIR, RAILWAY_ADOPT_KINDS, StackConfig, envvars
from config.envvars import Target
from ops.cli import command
from ops.console import GUARDED, Streams, explain
from ops.context import OpsError, StackContext
from ops.handoff import handed_stacks
from ops.vercel import VercelClient, VercelError
from workflows import render_app_workflows

MATCHES, DIFFERS, EXTRA, MISSING = "matches", "differs", "extra", "missing"
RAILWAY_PARENT = "maya:railway:Backend"
RAILWAY_TYPE = "pulumi-python:dynamic/railway:"
GITHUB_API = "https://api.github.com"


@dataclass(frozen=True)
class Row:
    platform: str
    kind: str
    name: str
    id: str
    verdict: str
    detail: str = ""


@dataclass
class Discovery:
    """What ``ops adopt`` found and what it will write."""

    stack: str
    rows: list[Row] = field(default_factory=list)
    #: maya-infra:adopt.railway: kind -> id
    railway_ids: dict[str, str] = field(default_factory=dict)
    #: maya-infra:adopt.imports: Pulumi resource name -> import id
    imports: dict[str, str] = field(default_factory=dict)
    #: The Railway resources (by name) the recording run targets: those found.
    railway_found: list[tuple[str, str]] = field(default_factory=list)  # (type, resource name)

    def add(self, *row: str) -> None:
        self.rows.append(Row(*row))

    def count(self, verdict: str) -> int:
        return sum(1 for r in self.rows if r.verdict == verdict)


# ---- Railway ----------------------------------------------------------------------------------------------
def _desired_instance(cfg: StackConfig) -> dict[str, Any]:
    """The service-instance settings the backend component declares (components/railway/backend.py)."""
    b, gh = cfg.backend, cfg.github
    return {
        "source_repo": f"{gh.owner}/{gh.backend_repository}",
        "root_directory": gh.backend_path if gh.monorepo else None,
        "build_command": b.build_command,
        "start_command": b.start_command,
        "pre_deploy_command": b.pre_deploy_command,
        "healthcheck_path": b.healthcheck_path,
        "healthcheck_timeout": b.healthcheck_timeout_seconds,
        "num_replicas": b.replicas,
        "region": b.region,
        "restart_policy_type": b.restart_policy,
        "restart_policy_max_retries": b.restart_policy_max_retries,
    }


def _running_instance(instance: Mapping[str, Any]) -> dict[str, Any]:
    pre = instance.get("preDeployCommand")
    return {
        "source_repo": (instance.get("source") or {}).get("repo"),
        "root_directory": instance.get("rootDirectory") or None,
        "build_command": instance.get("buildCommand") or None,
        "start_command": instance.get("startCommand"),
        "pre_deploy_command": " && ".join(pre) if isinstance(pre, list) and pre else (pre or None),
        "healthcheck_path": instance.get("healthcheckPath"),
        "healthcheck_timeout": instance.get("healthcheckTimeout"),
        "num_replicas": instance.get("numReplicas"),
        "region": instance.get("region"),
        "restart_policy_type": instance.get("restartPolicyType"),
        "restart_policy_max_retries": instance.get("restartPolicyMaxRetries"),
    }


def _differences(running: Mapping[str, Any], wanted: Mapping[str, Any]) -> str:
    return "; ".join(f"{k}: runs {running.get(k)!r}, config {v!r}" for k, v in wanted.items() if running.get(k) != v)


def _found(d: Discovery, kind: str, type_: str, resource: str, id_: str, label: str, differs: str = "") -> None:
    d.railway_ids[kind] = id_
    d.railway_found.append((type_, resource))
    d.add("railway", kind, label, id_, DIFFERS if differs else MATCHES, differs)


@dataclass(frozen=True)
class _BackendScope:
    """The ids that locate the backend service in one environment: most Railway reads take all three."""

    project_id: str
    environment_id: str
    service_id: str

    def variables(self) -> dict[str, str]:
        return {"projectId": self.project_id, "environmentId": self.environment_id, "serviceId": self.service_id}


def discover_railway(client: RailwayClient, cfg: StackConfig, given: Mapping[str, str], d: Discovery) -> None:
    """Railway objects of the stack, reads only (about one request per object).

    One step per object kind, in the order of the table. Project, environment and service locate everything
    else: when one of them is missing, the rest cannot exist yet and the next ``up`` creates the whole rest.
    """
    project = _discover_project(client, cfg, given, d)
    if project is None:
        return
    env_id = _discover_environment(cfg, given, project, d)
    if env_id is None:
        return
    service_id, postgres_id = _discover_services(cfg, given, project, d)
    if service_id is None:
        return
    scope = _BackendScope(project["id"], env_id, service_id)
    _discover_instance_settings(client, cfg, scope, d)
    _discover_variables(client, cfg, scope, d)
    volume_instance = _discover_postgres(client, cfg, env_id, postgres_id, d)
    _discover_domains(client, cfg, scope, d)
    _discover_trigger(client, cfg, given, scope, d)
    _discover_backup_schedule(client, cfg, volume_instance, d)
    _discover_active_deployment(client, scope, d)
    _note_ci_token(cfg, d)


def _find_project_id(client: RailwayClient, cfg: StackConfig) -> str | None:
    """The id of the workspace's project named like the config's, paging through at most 50 pages.

    Railway has no lookup by name, so the workspace's projects are listed; the bound keeps a misbehaving
    cursor from looping forever.
    """
    after = None
    for _ in range(50):
        page = client.execute(rops.PROJECTS, {"workspaceId": cfg.railway.workspace_id, "after": after})["projects"]
        project_id = next((n["id"] for n in edges(page) if n["name"] == cfg.backend.project_name), None)
        if project_id or not page["pageInfo"]["hasNextPage"]:
            return project_id
        after = page["pageInfo"]["endCursor"]
    return None


def _discover_project(
    client: RailwayClient, cfg: StackConfig, given: Mapping[str, str], d: Discovery
) -> dict[str, Any] | None:
    """The project (given by id or found by name), with its environments and services; None when missing.

    A project given by id under another name is refused: adopting it would rename the running project,
    which the operator should decide with the config, not discover after ``up``.
    """
    b = cfg.backend
    project_id = given.get("project")
    if project_id is None:
        project_id = _find_project_id(client, cfg)
    if project_id is None:
        d.add("railway", "project", b.project_name, "-", MISSING, "the next `pulumi up` creates the whole backend")
        return None
    try:
        project: dict[str, Any] = client.execute(rops.PROJECT, {"id": project_id})["project"]
    except railway_errors.NotFoundError:
        raise OpsError(f"--id project={project_id}: Railway has no project {project_id} this token can see") from None
    if project["name"] != b.project_name:
        raise OpsError(
            f"the Railway project {project_id} is named {project['name']!r}, the config says {b.project_name!r}: "
            f"adopt it under its running name first (`pulumi config set --path '{NAMESPACE}:backend.projectName' "
            f"'{project['name']}' --stack {cfg.stack}`); renaming it later is an in-place update"
        )
    description = project_description(cfg)
    differs = (
        ""
        if (project.get("description") or "") == description
        else (f"description: runs {project.get('description')!r}, config {description!r}")
    )
    _found(d, "project", "Project", "backend-project", project_id, project["name"], differs)
    return {**project, "id": project_id}


def _discover_environment(
    cfg: StackConfig, given: Mapping[str, str], project: Mapping[str, Any], d: Discovery
) -> str | None:
    """This stack's environment id; the project's other environments are listed as extra and left alone."""
    envs = {e["name"]: e["id"] for e in edges(project.get("environments"))}
    env_id = given.get("environment") or envs.get(cfg.environment)
    if env_id is None:
        d.add("railway", "environment", cfg.environment, "-", MISSING, f"runs: {sorted(envs)}; up creates it")
        return None
    _found(d, "environment", "Environment", "backend-environment", env_id, cfg.environment)
    for name, other in sorted(envs.items()):
        if other != env_id:
            d.add("railway", "environment", name, other, EXTRA, "not this stack's; left alone")
    return env_id


def _discover_services(
    cfg: StackConfig, given: Mapping[str, str], project: Mapping[str, Any], d: Discovery
) -> tuple[str | None, str | None]:
    """The backend service id and (with ``database: railway``) the PostgreSQL service id.

    Services that are neither are listed as extra: the project may hold the team's own services, which
    adoption must never claim.
    """
    b = cfg.backend
    services = {s["name"]: s["id"] for s in edges(project.get("services"))}
    service_id = given.get("service") or services.get(b.service_name)
    postgres_id = (given.get("postgres") or services.get("Postgres")) if b.database == "railway" else None
    for name, sid in sorted(services.items()):
        if sid not in (service_id, postgres_id):
            d.add("railway", "service", name, sid, EXTRA, "not declared; left alone")
    if service_id is None:
        d.add("railway", "service", b.service_name, "-", MISSING, "up creates it")
        return None, postgres_id
    _found(d, "service", "Service", "backend-service", service_id, b.service_name)
    return service_id, postgres_id


def _discover_instance_settings(client: RailwayClient, cfg: StackConfig, at: _BackendScope, d: Discovery) -> None:
    """The service instance's build/deploy settings, compared field by field with what the component declares."""
    instance = client.execute(rops.SERVICE_INSTANCE, {"serviceId": at.service_id, "environmentId": at.environment_id})[
        "serviceInstance"
    ]
    differs = _differences(_running_instance(instance), _desired_instance(cfg))
    resource_id = f"{at.service_id}:{at.environment_id}"
    _found(d, "settings", "ServiceInstance", "backend-settings", resource_id, "instance settings", differs)


def _discover_variables(client: RailwayClient, cfg: StackConfig, at: _BackendScope, d: Discovery) -> None:
    """Variable names only (values are never read into the table): absent declared ones, and extra running ones.

    Railway's own ``RAILWAY_*`` variables are not ours to declare, so they are neither missing nor extra.
    """
    running = {
        k for k in client.execute(rops.VARIABLES, at.variables())["variables"] or {} if not k.startswith("RAILWAY_")
    }
    declared = {v.name for v in envvars.for_target(cfg, Target.BACKEND)} | {"DATABASE_URL"}
    absent = sorted(declared - running)
    detail = f"not set yet (up sets them): {', '.join(absent)}" if absent else ""
    resource_id = f"{at.project_id}:{at.environment_id}:{at.service_id}"
    _found(d, "variables", "Variables", "backend-variables", resource_id, "variables", detail)
    for name in sorted(running - declared):
        d.add("railway", "variable", name, "-", EXTRA, "runs but is not declared: kept, never deleted")


def _discover_postgres(
    client: RailwayClient, cfg: StackConfig, env_id: str, postgres_id: str | None, d: Discovery
) -> dict[str, Any] | None:
    """The PostgreSQL service and its volume instance (returned: the backup schedule hangs off it).

    A volume in another region than the config's is reported, not moved: moving it would move the data.
    """
    b = cfg.backend
    if b.database != "railway":
        return None
    if postgres_id is None:
        d.add("railway", "postgres", "Postgres", "-", MISSING, "up deploys Railway's PostgreSQL template")
        return None
    volumes = edges(
        client.execute(rops.ENVIRONMENT_INSTANCES, {"environmentId": env_id})["environment"]["volumeInstances"]
    )
    volume_instance: dict[str, Any] | None = next((v for v in volumes if v.get("serviceId") == postgres_id), None)
    label = f"Postgres (volume {volume_instance['volumeId']})" if volume_instance else "Postgres (no volume!)"
    region = (volume_instance or {}).get("region")
    moved = (
        f"region: runs {region!r}, config {b.postgres_region!r} (up refuses to move data: set "
        f"backend.databaseRegion to {region!r}, or move it in the dashboard)"
        if region and region != b.postgres_region
        else ""
    )
    _found(d, "postgres", "Postgres", "backend-postgres", postgres_id, label, moved)
    return volume_instance


def _target_port_differs(running: Any, wanted: int, unset_ok: bool = False) -> str:
    """The table's ``targetPort`` difference, or "" when the domain routes to the configured port."""
    if running == wanted or (unset_ok and running is None):
        return ""
    return f"targetPort: runs {running!r}, config {wanted}"


def _discover_domains(client: RailwayClient, cfg: StackConfig, at: _BackendScope, d: Discovery) -> None:
    """The ``*.up.railway.app`` service domain and the configured custom domain; other custom domains are extra.

    A custom domain without a target port routes to the service's port, so an unset port matches.
    """
    b = cfg.backend
    domains = client.execute(rops.DOMAINS, at.variables())["domains"]
    service_domain = next(iter(domains["serviceDomains"]), None)
    if service_domain is None:
        d.add("railway", "serviceDomain", "*.up.railway.app", "-", MISSING, "up creates it")
    else:
        port = _target_port_differs(service_domain.get("targetPort"), b.port)
        _found(
            d, "serviceDomain", "ServiceDomain", "backend-domain", service_domain["id"], service_domain["domain"], port
        )
    for custom in domains["customDomains"]:
        if custom["domain"] == b.custom_domain:
            port = _target_port_differs(custom.get("targetPort"), b.port, unset_ok=True)
            _found(d, "customDomain", "CustomDomain", "backend-custom-domain", custom["id"], custom["domain"], port)
        else:
            d.add("railway", "customDomain", custom["domain"], custom["id"], EXTRA, "not declared; left alone")
    if b.custom_domain and not any(c["domain"] == b.custom_domain for c in domains["customDomains"]):
        d.add("railway", "customDomain", b.custom_domain, "-", MISSING, "up attaches it")


def _discover_trigger(
    client: RailwayClient, cfg: StackConfig, given: Mapping[str, str], at: _BackendScope, d: Discovery
) -> None:
    """The deployment trigger on the backend repository (or the one given by id), with its branch and CI wait."""
    repository = f"{cfg.github.owner}/{cfg.github.backend_repository}"
    triggers = edges(client.execute(rops.DEPLOYMENT_TRIGGERS, at.variables())["deploymentTriggers"])
    trigger = next((t for t in triggers if t["id"] == given.get("trigger") or t["repository"] == repository), None)
    if trigger is None:
        d.add("railway", "trigger", f"{repository}@{cfg.github.branch}", "-", MISSING, "up creates it")
        return
    want = {"branch": cfg.github.branch, "checkSuites": cfg.backend.wait_for_ci}
    differs = "; ".join(f"{k}: runs {trigger[k]!r}, config {v!r}" for k, v in want.items() if trigger[k] != v)
    label = f"{repository}@{trigger['branch']}"
    _found(d, "trigger", "DeploymentTrigger", "backend-trigger", trigger["id"], label, differs)


def _discover_backup_schedule(
    client: RailwayClient, cfg: StackConfig, volume_instance: Mapping[str, Any] | None, d: Discovery
) -> None:
    """The database volume's backup kinds, when the stack declares backups and a volume was found."""
    if volume_instance is None or not cfg.backup_kinds:
        return
    listed = client.execute(rops.VOLUME_INSTANCE_BACKUP_SCHEDULES, {"volumeInstanceId": volume_instance["id"]})[
        "volumeInstanceBackupScheduleList"
    ]
    kinds = sorted(s["kind"] for s in listed)
    differs = "" if kinds == sorted(cfg.backup_kinds) else f"kinds: runs {kinds}, config {list(cfg.backup_kinds)}"
    _found(d, "backupSchedule", "BackupSchedule", "backend-backups", volume_instance["id"], "backup schedule", differs)


def _discover_active_deployment(client: RailwayClient, at: _BackendScope, d: Discovery) -> None:
    """The latest deployment, recorded as it runs: adoption must not redeploy what serves traffic."""
    latest = edges(client.execute(rops.DEPLOYMENTS, {"input": at.variables(), "first": 1})["deployments"])
    if not latest:
        return
    d.railway_found.append(("Deployment", "backend-deployment"))
    deployment = latest[0]
    d.add(
        "railway",
        "deployment",
        "active deployment",
        deployment["id"],
        MATCHES,
        f"{deployment['status']}; kept, not redeployed",
    )


def _note_ci_token(cfg: StackConfig, d: Discovery) -> None:
    """The CI deploy token is always missing: Railway shows a token's value once, so an old one cannot be adopted."""
    d.add(
        "railway",
        "ciToken",
        f"maya-infra-{cfg.stack}-ci-deploy",
        "-",
        MISSING,
        "up creates the CI deploy token (a token's value is shown once: an old one cannot be adopted)",
    )


# ---- Vercel -----------------------------------------------------------------------------------------------
def discover_vercel(client: VercelClient, cfg: StackConfig, given: Mapping[str, str], d: Discovery) -> None:
    """The Vercel project, its domains and environment variables (keys only), by name or ``--id vercel=prj_…``."""
    f = cfg.frontend
    status, project = client.request("GET", f"/v9/projects/{quote(given.get('vercel') or f.project_name, safe='')}")
    if status == 404 or not isinstance(project, Mapping):
        d.add("vercel", "project", f.project_name, "-", MISSING, "up creates it")
        return
    pid = str(project["id"])
    scoped = f"{f.team_id}/{pid}" if f.team_id else pid
    differs = "" if project.get("name") == f.project_name else f"name: runs {project.get('name')!r}"
    d.imports["frontend-project"] = scoped
    d.add("vercel", "project", f.project_name, scoped, DIFFERS if differs else MATCHES, differs)

    _, listed = client.request("GET", f"/v9/projects/{pid}/domains")
    running = {str(x["name"]): x for x in (listed or {}).get("domains", [])}
    wanted = {
        **{n: ("domain", None) for n in f.domains},
        **{n: ("redirect", f.primary_domain) for n in f.redirect_domains},
    }
    for name, (kind, redirect) in wanted.items():
        found = running.get(name)
        if found is None:
            d.add("vercel", kind, name, "-", MISSING, "up adds it")
            continue
        differs = (
            ""
            if found.get("redirect") == redirect
            else f"redirect: runs {found.get('redirect')!r}, config {redirect!r}"
        )
        d.imports[f"frontend-{kind}-{name}"] = f"{scoped}/{name}"
        d.add("vercel", kind, name, f"{scoped}/{name}", DIFFERS if differs else MATCHES, differs)
    for name in sorted(set(running) - set(wanted)):
        d.add("vercel", "domain", name, "-", EXTRA, "not declared; left alone")

    _, env = client.request("GET", f"/v9/projects/{pid}/env")
    declared = {v.name for v in envvars.for_target(cfg, Target.FRONTEND_BUILD)}
    for item in (env or {}).get("envs", []):
        key = str(item["key"])
        if key in declared:
            d.imports[f"frontend-env-{key}"] = f"{scoped}/{item['id']}"
            d.add("vercel", "variable", key, str(item["id"]), MATCHES, "value not compared (up writes the config's)")
        else:
            d.add("vercel", "variable", key, str(item["id"]), EXTRA, "not declared; left alone")
    for key in sorted(declared - {str(i["key"]) for i in (env or {}).get("envs", [])}):
        d.add("vercel", "variable", key, "-", MISSING, "up adds it")


# ---- GitHub -----------------------------------------------------------------------------------------------
class GitHubReader:
    """GitHub REST reads over httpx (``GITHUB_TOKEN``; ``github.baseUrl`` for GHES or the loopback fake)."""

    def __init__(self, token: str, base_url: str | None) -> None:
        root = (base_url or GITHUB_API).rstrip("/")
        api = root if root == GITHUB_API else f"{root}/api/v3"
        self._http = httpx.Client(
            base_url=api,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json"},
            timeout=30.0,
        )

    def get(self, path: str) -> Any:
        try:
            response = self._http.get(path)
        except httpx.TransportError as exc:
            raise OpsError(
                f"cannot reach GitHub at {self._http.base_url} ({type(exc).__name__}); it is set by "
                f"MAYA_GITHUB_API_URL, else {NAMESPACE}:github.baseUrl: check it, and the network",
                1,
            ) from None
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise OpsError(f"GitHub GET {path}: HTTP {response.status_code}")
        return response.json()

    def close(self) -> None:
        self._http.close()


def discover_github(
    gh: GitHubReader,
    cfg: StackConfig,
    d: Discovery,
    files: Mapping[str, Mapping[str, str]],
    prefix: str = "pipeline",
) -> None:
    """Environments with reviewers, environment secret/variable names, the ruleset, the workflow files of
    ``cfg``'s GitHub half, recorded under the resource names ``<prefix>-…`` of the stack that declares them
    (production declares staging's as ``staging-pipeline-…``; docs/trust.md)."""
    owner, env = cfg.github.owner, cfg.environment
    reviewers = sorted((r.kind, r.id) for r in cfg.github.reviewers)
    for repo in cfg.github.repositories:
        base = f"/repos/{owner}/{repo}"
        found = gh.get(f"{base}/environments/{quote(env)}")
        if found is None:
            d.add("github", "environment", f"{repo}:{env}", "-", MISSING, "up creates it")
            continue
        running = sorted(
            ("team" if r.get("type") == "Team" else "user", int(r["reviewer"]["id"]))
            for rule in found.get("protection_rules") or []
            if rule.get("type") == "required_reviewers"
            for r in rule.get("reviewers") or []
        )
        differs = "" if running == reviewers else f"reviewers: runs {running}, config {reviewers}"
        d.imports[f"{prefix}-{repo}-environment"] = f"{repo}:{env}"
        d.add("github", "environment", f"{repo}:{env}", f"{repo}:{env}", DIFFERS if differs else MATCHES, differs)
        policies = gh.get(f"{base}/environments/{quote(env)}/deployment-branch-policies") or {}
        policy = next((x for x in policies.get("branch_policies", []) if x.get("name") == cfg.github.branch), None)
        if policy is None:
            d.add("github", "branchPolicy", f"{repo}:{env}:{cfg.github.branch}", "-", MISSING, "up adds it")
        else:
            d.imports[f"{prefix}-{repo}-branch-policy"] = f"{repo}:{env}:{policy['id']}"
            d.add("github", "branchPolicy", f"{repo}:{env}:{cfg.github.branch}", str(policy["id"]), MATCHES)
        for kind in ("secrets", "variables"):
            listed = gh.get(f"{base}/environments/{quote(env)}/{kind}") or {}
            for item in listed.get(kind, []):
                name = str(item["name"])
                resource = f"{prefix}-{repo}-{kind[:-1]}-{name}"
                d.imports[resource] = f"{repo}:{env}:{name}"
                d.add("github", kind[:-1], f"{repo}:{env}:{name}", name, MATCHES, "value write-only: up writes it")
        if cfg.github.protection == "ruleset":
            wanted = f"maya-infra {cfg.stack}: {cfg.github.branch}"
            ruleset = next((r for r in gh.get(f"{base}/rulesets") or [] if r.get("name") == wanted), None)
            if ruleset is None:
                d.add("github", "ruleset", wanted, "-", MISSING, "up creates it")
            else:
                d.imports[f"{prefix}-{repo}-ruleset"] = f"{repo}:{ruleset['id']}"
                d.add("github", "ruleset", wanted, str(ruleset["id"]), MATCHES)
        if cfg.github.commit_workflows:
            for path, content in sorted(files.get(repo, {}).items()):
                found_file = gh.get(f"{base}/contents/{quote(path)}?ref={quote(cfg.github.branch)}")
                if found_file is None:
                    d.add("github", "workflow", path, "-", MISSING, "up commits it")
                    continue
                running_text = base64.b64decode(found_file.get("content") or "").decode(errors="replace")
                differs = "" if running_text == content else "content differs: up commits the generated file"
                # not imported: the github provider (6.15.0) answers an import of a repository file with "does
                # not exist" without asking GitHub; `overwrite_on_create` commits the generated file over it
                d.add(
                    "github",
                    "workflow",
                    path,
                    str(found_file.get("sha", ""))[:12],
                    DIFFERS if differs else MATCHES,
                    differs or "same content: up commits it once (the file does not change)",
                )


# ---- showing and writing ----------------------------------------------------------------------------------
def render(d: Discovery) -> str:
    """The table: one row per object, columns as wide as their longest cell (ids are never cut)."""
    head = ("platform", "object", "name", "id", "verdict")
    cells = [head, *((r.platform, r.kind, r.name, r.id, r.verdict) for r in d.rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(head))]
    details = ["detail", *(r.detail for r in d.rows)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + "  " + x
        for row, x in zip(cells, details, strict=True)
    ]
    summary = ", ".join(f"{d.count(v)} {v}" for v in (MATCHES, DIFFERS, EXTRA, MISSING))
    lines.append(f"\n{len(d.rows)} objects: {summary}. Extra objects are kept; nothing is created or deleted now.")
    return "\n".join(line.rstrip() for line in lines)


def adopt_block(d: Discovery, remove_undeclared: bool) -> dict[str, Any]:
    return {
        "imports": dict(sorted(d.imports.items())),
        "railway": {k: d.railway_ids[k] for k in RAILWAY_ADOPT_KINDS if k in d.railway_ids},
        "removeUndeclaredVariables": remove_undeclared,
    }


def write_config(project_dir: Path, stack: str, block: Mapping[str, Any]) -> Path:
    """Replace (or add) the ``maya-infra:adopt`` block inside ``config:`` of ``Pulumi.<stack>.yaml``; every
    other line (comments, secrets, the encryption salt) stays as it is."""
    path = project_dir / f"Pulumi.{stack}.yaml"
    lines = path.read_text().splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    key = f"  {NAMESPACE}:adopt:"
    kept: list[str] = []
    skipping = False
    for line in lines:
        if line.startswith(key):
            skipping = True
            continue
        if skipping and (line.startswith("   ") or line.startswith("  -") or not line.strip()):
            continue
        skipping = False
        kept.append(line)
    dumped = yaml.safe_dump({f"{NAMESPACE}:adopt": dict(block)}, sort_keys=False, default_flow_style=False, width=200)
    block_lines = ["  " + line + "\n" for line in dumped.splitlines()]
    if "config:\n" not in kept:
        return _write(path, [*kept, "config:\n", *block_lines])
    at = kept.index("config:\n") + 1
    while at < len(kept) and (kept[at].startswith(" ") or not kept[at].strip()):
        at += 1
    return _write(path, [*kept[:at], *block_lines, *kept[at:]])


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(lines))
    return path


def railway_targets(stack: str, found: Iterable[tuple[str, str]]) -> list[str]:
    prefix = f"urn:pulumi:{stack}::maya-infra::"
    urns = [f"{prefix}{RAILWAY_PARENT}::backend"]
    urns += [f"{prefix}{RAILWAY_PARENT}${RAILWAY_TYPE}{type_}::{name}" for type_, name in found]
    return urns


def record_railway(
    project_dir: Path, stack: str, d: Discovery, env: Mapping[str, str], run: Callable[..., Any] = subprocess.run
) -> None:
    """The one targeted ``pulumi up`` in which Railway creates read and record (no mutation is sent).

    Only objects the state does not hold yet are targeted: an update is never intercepted, so running
    ``ops adopt`` again must not turn into a targeted update of what is already managed.
    """
    exported = run(
        ["pulumi", "stack", "export", "--stack", stack],
        cwd=project_dir,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if exported.returncode != 0:
        raise OpsError(f"`pulumi stack export --stack {stack}` failed: {exported.stderr.strip()[:300]}")
    held = {r.get("urn") for r in (json.loads(exported.stdout or "{}").get("deployment") or {}).get("resources") or []}
    targets = [urn for urn in railway_targets(stack, d.railway_found) if urn not in held]
    if not [urn for urn in targets if RAILWAY_TYPE in urn]:
        return
    args = ["pulumi", "up", "--yes", "--skip-preview", "--non-interactive", "--stack", stack]
    for urn in targets:
        args += ["--target", urn]
    result = run(
        args,
        cwd=project_dir,
        env={**env, RECORDING_ENV: "1", PINNED_ENV: json.dumps(d.railway_ids)},
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if result.returncode != 0:
        raise OpsError(
            "recording the Railway objects failed (nothing was written to Railway):\n"
            f"{result.stdout[-3000:]}{result.stderr[-2000:]}",
            1,
        )


# ---- the command ------------------------------------------------------------------------------------------
def discover(ctx: StackContext, given: Mapping[str, str], project_dir: Path = PROJECT_DIR) -> Discovery:
    cfg = ctx.config
    d = Discovery(cfg.stack)
    if "railway" in cfg.platforms:
        discover_railway(ctx.railway(), cfg, given, d)
    if "vercel" in cfg.platforms:
        try:
            with VercelClient(ctx.vercel_token(), ctx.vercel_api(), cfg.frontend.team_id) as vercel:
                discover_vercel(vercel, cfg, given, d)
        except VercelError as exc:
            raise OpsError(f"Vercel: {exc}") from None
    if "github" in cfg.platforms and cfg.is_production:  # only production declares GitHub, every stack's half
        reader = GitHubReader(ctx.secret("GITHUB_TOKEN", "githubToken"), ctx.github_api())
        halves = [(cfg, "pipeline"), *((other, f"{other.stack}-pipeline") for other in handed_stacks(cfg, project_dir))]
        try:
            for half, prefix in halves:
                files = render_app_workflows(half) if half.github.commit_workflows else {}
                discover_github(reader, half, d, files, prefix)
        finally:
            reader.close()
    return d


def _given(pairs: Iterable[str]) -> dict[str, str]:
    known = {*RAILWAY_ADOPT_KINDS, "vercel"}
    out: dict[str, str] = {}
    for pair in pairs:
        kind, sep, value = pair.partition("=")
        if not sep or not value or kind not in known:
            raise OpsError(f"--id {pair!r}: use kind=ID with kind one of {', '.join(sorted(known))}")
        out[kind] = value
    return out


def run(args: argparse.Namespace, io: Streams) -> int:
    """The ``ops adopt`` handler: streams and environment come from ``io`` (the shared handler contract)."""
    env = dict(os.environ if io.env is None else io.env)
    try:
        project_dir = Path(args.project_dir).resolve()
        from config import ConfigError, load_from_stack_file

        try:
            cfg = load_from_stack_file(args.stack, project_dir)
        except ConfigError as exc:
            raise OpsError(str(exc)) from None
        ctx = StackContext(args.stack, cfg, {}, env)
        d = discover(ctx, _given(args.id or []), project_dir)
        print(render(d), file=io.out)
        if not args.yes:
            if not io.stdin.isatty():
                print("\nnothing written: run again with --yes to adopt these objects", file=io.out)
                return 0
            print("\nadopt these objects into the stack? [y/N] ", end="", file=io.out, flush=True)
            if io.stdin.readline().strip().lower() != "y":
                print("nothing written", file=io.out)
                return 0
        block = adopt_block(d, args.remove_undeclared_variables)
        # the recording run sees no import ids: untargeted imports would still be attempted by the engine,
        # and Vercel and GitHub are imported by the next preview/up, with the rest of their stack
        write_config(project_dir, args.stack, {**block, "imports": {}})
        record_railway(project_dir, args.stack, d, env)
        path = write_config(project_dir, args.stack, block)
        print(f"\nwrote {NAMESPACE}:adopt into {path.name}", file=io.out)
        print(
            f"recorded {len(d.railway_found)} Railway objects without writing to Railway. Next: "
            f"`pulumi preview --stack {args.stack}` lists only the differences above.",
            file=io.out,
        )
        return 0
    except GUARDED as exc:  # one line, never a traceback
        text, code = explain(exc)
        print(f"ops adopt: {text}", file=io.err)
        return code


def register(subparsers: Any) -> None:
    parser = command(subparsers, "adopt", "take over the running MAYA: discover, show, record (no writes)", __doc__)
    parser.add_argument("--stack", required=True, choices=["staging", "production"])
    parser.add_argument("--id", action="append", metavar="KIND=ID", help="pin an object by id (repeatable)")
    parser.add_argument("--yes", action="store_true", help="adopt without asking")
    parser.add_argument(
        "--remove-undeclared-variables",
        action="store_true",
        help="let later writes remove Railway variables the stack does not declare (default: keep them)",
    )
    parser.add_argument("--project-dir", default=str(PROJECT_DIR), help=argparse.SUPPRESS)
    parser.set_defaults(handler=run)
