"""``ops adopt``'s discovery on the platforms whose providers can import: Vercel and GitHub (reads only).

What they find is recorded as import ids (``maya-infra:adopt.imports``); the components pass each as the
``import_`` option, and every imported object is retained on delete (components/safety.py ``adopted``).
Hand-set things the stack does not declare (a Vercel environment variable, a GitHub secret) are listed as
extra: each declared one is its own resource, so an undeclared one is never in the state and never deleted.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from config import NAMESPACE, StackConfig, envvars
from config.envvars import Target
from ops.adopt_table import DIFFERS, EXTRA, MATCHES, MISSING, Discovery
from ops.context import OpsError
from ops.vercel import VercelClient

GITHUB_API = "https://api.github.com"


def declared_ci_names(cfg: StackConfig, repo: str) -> set[str]:
    """The secret and variable names the stack declares in ``repo``'s deployment environment (program.py)."""
    gh = cfg.github
    targets = [
        t
        for t, r in ((Target.CI_FRONTEND, gh.frontend_repository), (Target.CI_BACKEND, gh.backend_repository))
        if r == repo
    ]
    return {v.name for t in targets for v in envvars.for_target(cfg, t)}


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


def discover_github(gh: GitHubReader, cfg: StackConfig, d: Discovery, files: Mapping[str, Mapping[str, str]]) -> None:
    """Environments with reviewers, environment secret/variable names, the ruleset, the workflow files."""
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
        d.imports[f"pipeline-{repo}-environment"] = f"{repo}:{env}"
        d.add("github", "environment", f"{repo}:{env}", f"{repo}:{env}", DIFFERS if differs else MATCHES, differs)
        policies = gh.get(f"{base}/environments/{quote(env)}/deployment-branch-policies") or {}
        policy = next((x for x in policies.get("branch_policies", []) if x.get("name") == cfg.github.branch), None)
        if policy is None:
            d.add("github", "branchPolicy", f"{repo}:{env}:{cfg.github.branch}", "-", MISSING, "up adds it")
        else:
            d.imports[f"pipeline-{repo}-branch-policy"] = f"{repo}:{env}:{policy['id']}"
            d.add("github", "branchPolicy", f"{repo}:{env}:{cfg.github.branch}", str(policy["id"]), MATCHES)
        declared = declared_ci_names(cfg, repo)
        for kind in ("secrets", "variables"):
            listed = gh.get(f"{base}/environments/{quote(env)}/{kind}") or {}
            for item in listed.get(kind, []):
                name = str(item["name"])
                if name not in declared:  # each declared value is its own resource: this one never enters the state
                    d.add("github", kind[:-1], f"{repo}:{env}:{name}", name, EXTRA, "not declared: kept, never deleted")
                    continue
                resource = f"pipeline-{repo}-{kind[:-1]}-{name}"
                d.imports[resource] = f"{repo}:{env}:{name}"
                d.add("github", kind[:-1], f"{repo}:{env}:{name}", name, MATCHES, "value write-only: up writes it")
        if cfg.github.protection == "ruleset":
            wanted = f"maya-infra {cfg.stack}: {cfg.github.branch}"
            ruleset = next((r for r in gh.get(f"{base}/rulesets") or [] if r.get("name") == wanted), None)
            if ruleset is None:
                d.add("github", "ruleset", wanted, "-", MISSING, "up creates it")
            else:
                d.imports[f"pipeline-{repo}-ruleset"] = f"{repo}:{ruleset['id']}"
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
