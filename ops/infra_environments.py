"""``infra-environments``: maya-infra's own GitHub environments as code (docs/trust.md).

    python -m ops infra-environments            # compares GitHub with the table; reads only
    python -m ops infra-environments --apply    # converges them (run once by an admin, again after a change)

The table comes from the stacks' configs (workflows/infra_environments.py): for each stack, ``<stack>-plan``
(the saved-plan preview and the drift check; the stack's branch only; no reviewers), ``<stack>`` (``pulumi up``;
the stack's branch only; ``infra.reviewers``) and, for stacks with ``infra.pullRequestReviewers``,
``<stack>-pr-preview`` (any branch; a reviewer approves every pull request's run). For each environment it
sets the required reviewers, prevent self-review, no admin bypass and no wait timer, and the deployment branch
policy: the named branches only (patterns not in the table are removed), or every branch where reviewers gate
each run. Secret VALUES are never handled here: the table names the secrets each environment must hold and
says which are missing, with the command that sets one (run by whoever holds the value).

Credentials: ``GITHUB_TOKEN``, a token of a repository admin (a fine-grained token with Administration: write on
maya-infra alone is enough). ``github.baseUrl`` (or ``MAYA_GITHUB_API_URL``) for GitHub Enterprise or the fake.

Exit status: 0 everything matches (or was converged); 1 differences found (without ``--apply``); 2 usage,
configuration, credentials or a GitHub error (one line says which).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from config import PROJECT_DIR, STACKS, ConfigError, StackConfig, load_from_stack_file
from ops.cli import command
from ops.console import Streams
from ops.context import OpsError
from workflows.infra_environments import InfraEnvironment, infra_environments

GITHUB_API = "https://api.github.com"
DIFFERS = 1


class GitHub:
    """GitHub REST over httpx with an admin's token; every answer outside 2xx is one clear OpsError."""

    def __init__(self, token: str, base_url: str | None) -> None:
        root = (base_url or GITHUB_API).rstrip("/")
        api = root if root == GITHUB_API else f"{root}/api/v3"
        self._http = httpx.Client(
            base_url=api,
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
            },
            timeout=30.0,
        )

    def request(self, method: str, path: str, body: Any = None, *, missing_ok: bool = False) -> Any:
        try:
            response = self._http.request(method, path, json=body)
        except httpx.TransportError as exc:
            raise OpsError(
                f"cannot reach GitHub at {self._http.base_url} ({type(exc).__name__}); it is set by "
                "MAYA_GITHUB_API_URL, else production's github.baseUrl: check it, and the network",
                1,
            ) from None
        except httpx.HTTPError as exc:
            raise OpsError(f"GitHub {method} {path}: {exc}") from None
        if response.status_code == 404 and missing_ok:
            return None
        if response.status_code >= 400:
            detail = ""
            try:
                detail = str(response.json().get("message") or "")
            except ValueError:
                detail = response.text[:200]
            raise OpsError(f"GitHub {method} {path}: HTTP {response.status_code} {detail}".rstrip())
        return response.json() if response.content else None

    def close(self) -> None:
        self._http.close()


@dataclass
class Row:
    environment: str
    verdict: str
    details: list[str]
    missing_secrets: list[str]


def _reviewers(found: Mapping[str, Any]) -> list[tuple[str, int]]:
    return sorted(
        (str(r.get("type")), int(r["reviewer"]["id"]))
        for rule in found.get("protection_rules") or []
        if rule.get("type") == "required_reviewers"
        for r in rule.get("reviewers") or []
    )


def _prevent_self_review(found: Mapping[str, Any]) -> bool:
    return any(
        bool(rule.get("prevent_self_review"))
        for rule in found.get("protection_rules") or []
        if rule.get("type") == "required_reviewers"
    )


def _wanted_reviewers(env: InfraEnvironment) -> list[tuple[str, int]]:
    return sorted(("Team" if r.kind == "team" else "User", r.id) for r in env.reviewers)


def differences(env: InfraEnvironment, found: Mapping[str, Any] | None, patterns: Sequence[str]) -> list[str]:
    """How GitHub's environment differs from the table (empty: it matches)."""
    if found is None:
        return ["missing"]
    out = []
    if _reviewers(found) != _wanted_reviewers(env):
        out.append(f"reviewers: {_reviewers(found)} -> {_wanted_reviewers(env)}")
    if env.reviewers and _prevent_self_review(found) != env.prevent_self_review:
        out.append(f"prevent self-review: {_prevent_self_review(found)} -> {env.prevent_self_review}")
    if found.get("can_admins_bypass", True):
        out.append("admins may bypass -> no bypass")
    policy = found.get("deployment_branch_policy")
    if env.branches is None:
        if policy is not None:
            out.append("branches: restricted -> every branch (reviewers gate each run)")
    else:
        if not (isinstance(policy, Mapping) and policy.get("custom_branch_policies") is True):
            out.append(f"branches: every branch -> {list(env.branches)} only")
        if sorted(patterns) != sorted(env.branches):
            out.append(f"branch patterns: {sorted(patterns)} -> {sorted(env.branches)}")
    return out


def _put_body(env: InfraEnvironment) -> dict[str, Any]:
    return {
        "wait_timer": 0,
        "prevent_self_review": env.prevent_self_review,
        "reviewers": [{"type": kind, "id": rid} for kind, rid in _wanted_reviewers(env)],
        # not in GitHub's published request schema, accepted and returned by GitHub (docs/github.md, deviation 1)
        "can_admins_bypass": False,
        "deployment_branch_policy": None
        if env.branches is None
        else {"protected_branches": False, "custom_branch_policies": True},
    }


def converge_one(gh: GitHub, repo: str, env: InfraEnvironment, apply: bool) -> Row:
    base = f"/repos/{repo}/environments/{quote(env.name, safe='')}"
    found = gh.request("GET", base, missing_ok=True)
    listed = gh.request("GET", f"{base}/deployment-branch-policies", missing_ok=True) if found else None
    policies = {str(p["name"]): int(p["id"]) for p in (listed or {}).get("branch_policies", [])}
    changes = differences(env, found, list(policies))
    verdict = "matches" if not changes else ("created" if found is None else "updated") if apply else "differs"
    if changes and apply:
        gh.request("PUT", base, _put_body(env))
        for branch in env.branches or ():
            if branch not in policies:
                gh.request("POST", f"{base}/deployment-branch-policies", {"name": branch, "type": "branch"})
        for name, policy_id in policies.items():
            if env.branches is not None and name not in env.branches:
                gh.request("DELETE", f"{base}/deployment-branch-policies/{policy_id}")
    held: set[str] = set()
    if found is not None or apply:
        secrets = gh.request("GET", f"{base}/secrets", missing_ok=True) or {}
        held = {str(s["name"]).upper() for s in secrets.get("secrets", [])}
    return Row(env.name, verdict, changes, [s for s in env.secrets if s.upper() not in held])


def repository(configs: Sequence[StackConfig]) -> str:
    """``owner/maya-infra``: every stack must name the same repository."""
    names = {f"{c.github.owner}/{c.infra.repository}" for c in configs}
    if len(names) != 1:
        raise OpsError(
            f"the stacks name different maya-infra repositories {sorted(names)}: set the same infra.repository"
        )
    return names.pop()


def render(repo: str, rows: Sequence[Row], table: Sequence[InfraEnvironment]) -> str:
    by_name = {e.name: e for e in table}
    lines = [f"maya-infra's GitHub environments in {repo} (docs/trust.md)", ""]
    for row in rows:
        env = by_name[row.environment]
        branches = ", ".join(env.branches) if env.branches is not None else "every branch"
        reviewers = ", ".join(r.name for r in env.reviewers) or "none"
        lines.append(f"{row.environment:<24} {row.verdict:<8} branches: {branches}; reviewers: {reviewers}")
        lines.append(f"{'':<24} {env.purpose}")
        lines += [f"{'':<24} - {change}" for change in row.details if change != "missing"]
        for secret in row.missing_secrets:
            lines.append(
                f"{'':<24} secret {secret} is not set: gh secret set {secret} --env {row.environment} --repo {repo}"
            )
    return "\n".join(lines)


def run(args: argparse.Namespace, io: Streams) -> int:
    env = dict(os.environ if io.env is None else io.env)
    project_dir = Path(args.project_dir)
    gh: GitHub | None = None
    try:
        try:
            configs = [load_from_stack_file(stack, project_dir) for stack in STACKS]
        except ConfigError as exc:
            raise OpsError(str(exc)) from None
        token = env.get("GITHUB_TOKEN")
        if not token:
            raise OpsError("GITHUB_TOKEN is not set: a token of an admin of the maya-infra repository")
        repo = repository(configs)
        base_url = env.get("MAYA_GITHUB_API_URL") or next(c.github.base_url for c in configs if c.is_production)
        gh = GitHub(token, base_url)
        if gh.request("GET", f"/repos/{repo}", missing_ok=True) is None:
            raise OpsError(f"repository {repo} not found, or the token cannot see it")
        table = infra_environments(configs)
        rows = []
        follow = "python -m ops infra-environments"  # compares again: shows what is still to converge
        for environment in table:  # --apply: what an interruption must say was already changed on GitHub
            what = f"GitHub environment {environment.name} of {repo} being converged"
            with io.journal.sending(what, follow) if args.apply else nullcontext():
                rows.append(converge_one(gh, repo, environment, args.apply))
            if args.apply:
                io.journal.started(environment.name, f"GitHub environment {environment.name} converged", follow)
        print(render(repo, rows, table), file=io.out)
        if any(r.verdict == "differs" for r in rows):
            print("\ndifferences found; run again with --apply (an admin's GITHUB_TOKEN) to converge", file=io.out)
            return DIFFERS
        return 0
    except OpsError as exc:
        print(f"ops infra-environments: {exc}", file=io.err)
        return exc.code
    finally:
        if gh is not None:
            gh.close()


def register(subparsers: Any) -> None:
    parser = command(subparsers, "infra-environments", "maya-infra's own GitHub environments as code", __doc__)
    parser.add_argument("--apply", action="store_true", help="converge GitHub to the table (default: compare only)")
    parser.add_argument("--project-dir", default=str(PROJECT_DIR), help=argparse.SUPPRESS)
    parser.set_defaults(handler=run)
