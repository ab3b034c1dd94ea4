"""GitHub: the token's type and its permissions on each repository the stack manages, against the README's
table ("Before you deploy"), and the ruleset bypass the workflow commit needs.

What GitHub tells a reader, and so what is checked:
* a classic PAT (or OAuth token) carries its scopes in ``X-OAuth-Scopes`` on every answer: ``repo`` and
  ``workflow`` are required, and its user must be an admin of the repository (``permissions.admin``):
  environments and rulesets are admin settings;
* a fine-grained PAT or an App installation token has no read-back of its granted permissions; GitHub names
  the permission a refused request needed (``X-Accepted-GitHub-Permissions``). Preflight proves what reads
  can prove — the repository is reachable (an App: listed by ``/installation/repositories``), Contents and
  Secrets can be read — and reports the write levels it cannot see as a warning naming them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from config import NAMESPACE
from ops.preflight.context import Run
from ops.preflight.readonly import read_only_client
from ops.preflight.report import Check, failed, passed, skipped, warned

#: The README's table, as GitHub names the permissions (fine-grained / App) and the classic scopes covering them.
REQUIRED_PERMISSIONS = ("administration", "environments", "secrets", "actions_variables", "contents", "workflows")
REQUIRED_SCOPES = ("repo", "workflow")
TOKENS_PAGE = "https://github.com/settings/tokens"


def token_kind(token: str, scopes: set[str] | None) -> str:
    """What the token is, from its prefix (GitHub's documented formats) and whether scopes came back."""
    prefixes = {
        "ghp_": "classic PAT",
        "github_pat_": "fine-grained PAT",
        "ghs_": "GitHub App installation token",
        "gho_": "OAuth token",
        "ghu_": "GitHub App user token",
    }
    kind = next((name for prefix, name in prefixes.items() if token.startswith(prefix)), "")
    if kind:
        return kind
    return "classic PAT" if scopes is not None else "fine-grained or App token"


def _scopes(response: httpx.Response) -> set[str] | None:
    value = response.headers.get("x-oauth-scopes")
    if value is None:
        return None
    return {s.strip() for s in value.split(",") if s.strip()}


def _accepted(response: httpx.Response) -> str:
    return response.headers.get("x-accepted-github-permissions") or "a permission GitHub did not name"


class GitHubChecks:
    def __init__(self, run: Run) -> None:
        self.run = run
        self.cfg = run.cfg
        self.checks: list[Check] = []
        self.setter = f"pulumi config set --secret {NAMESPACE}:githubToken --stack {run.stack}"

    def all(self) -> list[Check]:
        if "github" not in self.cfg.platforms:
            return [skipped("github", f"{NAMESPACE}:platforms leaves GitHub out of stack {self.run.stack}")]
        token, why = self.run.secrets.get("githubToken")
        if token is None:
            return [failed("github.token", "no GitHub token", why)]
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "maya-infra-preflight/1",
        }
        with read_only_client("github", self.run.ledger, self.run.github_url(), headers, timeout=self.run.timeout) as c:
            try:
                kind, scopes, reachable = self._token(c, token)
                if kind:
                    for repo in self.cfg.github.repositories:
                        self._repository(c, kind, scopes, reachable, f"{self.cfg.github.owner}/{repo}")
                    self._bypass(c)
            except httpx.HTTPError as exc:
                self.checks.append(
                    failed(
                        "github.api", f"GitHub did not answer ({type(exc).__name__})", "check the network and re-run"
                    )
                )
        return self.checks

    # ---- the token --------------------------------------------------------------------------------------
    def _token(self, c: httpx.Client, token: str) -> tuple[str, set[str] | None, set[str] | None]:
        """(kind, classic scopes or None, repositories an App installation reaches or None); kind "" on failure."""
        user = c.get("/user")
        if user.status_code == 401:
            self.checks.append(
                failed(
                    "github.token",
                    "GitHub refused the token (401 Bad credentials): wrong, expired or revoked",
                    f"make a new token ({TOKENS_PAGE}, or the App's installation) and `{self.setter}`",
                )
            )
            return "", None, None
        scopes = _scopes(user)
        kind = token_kind(token, scopes)
        if user.status_code == 200:
            login = user.json().get("login", "?")
            seen = f"{kind} of {login}" + (
                f"; scopes: {', '.join(sorted(scopes)) or 'none'}" if scopes is not None else ""
            )
            self.checks.append(passed("github.token", seen))
            return kind, scopes, None
        installation = c.get("/installation/repositories", params={"per_page": 100})
        if installation.status_code == 200:
            names = {r["full_name"].lower() for r in installation.json().get("repositories", [])}
            self.checks.append(passed("github.token", f"{kind}; the installation reaches {len(names)} repositories"))
            return "GitHub App installation token", None, names
        self.checks.append(
            failed(
                "github.token",
                f"GitHub answered {user.status_code} to /user and {installation.status_code} to "
                "/installation/repositories",
                f"use a classic PAT or a GitHub App installation token with the README's permissions; `{self.setter}`",
            )
        )
        return "", None, None

    # ---- each repository ----------------------------------------------------------------------------------
    def _repository(
        self, c: httpx.Client, kind: str, scopes: set[str] | None, reachable: set[str] | None, full: str
    ) -> None:
        name = f"github.repo {full}"
        if reachable is not None and full.lower() not in reachable:
            self.checks.append(
                failed(name, f"the App installation does not include {full}", f"add {full} to the App's installation")
            )
            return
        repo = c.get(f"/repos/{full}")
        if repo.status_code != 200:
            self.checks.append(
                failed(
                    name,
                    f"GET /repos/{full} answered {repo.status_code}: the token cannot see the repository",
                    f"grant the token access to {full} (a fine-grained token lists its repositories) "
                    f"and `{self.setter}`",
                )
            )
            return
        if scopes is not None:
            self._classic(name, scopes, repo.json(), full)
        else:
            self._fine_grained(c, name, kind, full)

    def _classic(self, name: str, scopes: set[str], repo: Mapping[str, Any], full: str) -> None:
        missing = [s for s in REQUIRED_SCOPES if s not in scopes]
        admin = (repo.get("permissions") or {}).get("admin")
        problems = []
        if "workflow" in missing:
            problems.append("no `workflow` scope (Workflows: write): committing .github/workflows/* is refused")
        if "repo" in missing:
            problems.append("no `repo` scope: environments, secrets, variables and rulesets cannot be written")
        if admin is False:
            problems.append("its user is not an admin of the repository (environments and rulesets need admin)")
        if problems:
            self.checks.append(
                failed(
                    name,
                    "; ".join(problems),
                    f"regenerate the classic token with scopes {', '.join(REQUIRED_SCOPES)} ({TOKENS_PAGE}) as an "
                    f"admin of {full}, then `{self.setter}`",
                )
            )
            return
        self.checks.append(passed(name, f"scopes {', '.join(REQUIRED_SCOPES)} and admin on {full}"))

    def _fine_grained(self, c: httpx.Client, name: str, kind: str, full: str) -> None:
        branch = self.cfg.github.branch
        probes: tuple[tuple[str, str, dict[str, str]], ...] = (
            ("Contents: read", f"/repos/{full}/contents/.github", {"ref": branch}),
            ("Secrets: read", f"/repos/{full}/actions/secrets/public-key", {}),
        )
        refused = []
        for permission, path, params in probes:
            answer = c.get(path, params=params)
            if answer.status_code in (401, 403) or (
                answer.status_code == 404 and "x-accepted-github-permissions" in answer.headers
            ):
                refused.append(f"{permission} (GitHub asks for {_accepted(answer)})")
        if refused:
            self.checks.append(
                failed(
                    name,
                    f"{kind} lacks {', '.join(refused)}",
                    "grant the README's permissions (Administration, Environments, Secrets, Variables, Contents, "
                    f"Workflows: read and write) on {full} and `{self.setter}`",
                )
            )
            return
        self.checks.append(
            warned(
                name,
                f"{kind} reaches {full} and can read Contents and Secrets; GitHub does not show a fine-grained or "
                "App token its write permissions, so Administration, Environments, Secrets, Variables, Contents and "
                "Workflows: write are not proven",
                "confirm them on the token's (or the App's) permissions page before the first `up`",
            )
        )

    # ---- the ruleset bypass the workflow commit needs ------------------------------------------------------
    def _bypass(self, c: httpx.Client) -> None:
        gh = self.cfg.github
        if not gh.commit_workflows:
            self.checks.append(
                skipped("github.bypass", "github.commitWorkflows is false: no workflow file is committed")
            )
            return
        if gh.protection != "ruleset":
            self.checks.append(
                warned(
                    "github.bypass",
                    "branch protection (not a ruleset) guards the branch: the bot's workflow commit needs admin rights",
                )
            )
            return
        actors = [f"{a.actor_type}:{a.actor_id}" for a in gh.bypass_actors]
        blocking = self._blocking_rulesets(c)
        if not actors:
            self.checks.append(
                failed(
                    "github.bypass",
                    f"the stack's ruleset on {gh.branch} requires pull requests and github.bypassActors is empty: "
                    "the commit of .github/workflows/* would be refused"
                    + (f"; live rulesets already requiring them: {', '.join(blocking)}" if blocking else ""),
                    f"pulumi config set --path '{NAMESPACE}:github.bypassActors[0].actorType' Integration --stack "
                    f"{self.run.stack} (and .actorId <the App's id>)",
                )
            )
            return
        others = [b for b in blocking if not b.startswith("maya-infra ")]
        if others:
            self.checks.append(
                failed(
                    "github.bypass",
                    f"rulesets not made by maya-infra require pull requests on {gh.branch} without a bypass for "
                    f"{', '.join(actors)}: {', '.join(others)}",
                    "add the bot to those rulesets' bypass list, or adopt them (python -m ops adopt)",
                )
            )
            return
        self.checks.append(
            passed("github.bypass", f"the stack's ruleset lets {', '.join(actors)} commit to {gh.branch}")
        )

    def _blocking_rulesets(self, c: httpx.Client) -> list[str]:
        """Active live rulesets on the branch with a pull-request rule that none of the bypass actors may skip."""
        gh = self.cfg.github
        ours = {(a.actor_type, a.actor_id) for a in gh.bypass_actors}
        found: list[str] = []
        for repo in gh.repositories:
            listing = c.get(f"/repos/{gh.owner}/{repo}/rulesets", params={"includes_parents": "true"})
            if listing.status_code != 200:
                continue
            for summary in listing.json():
                detail = c.get(f"/repos/{gh.owner}/{repo}/rulesets/{summary['id']}")
                if detail.status_code != 200:
                    continue
                ruleset = detail.json()
                include = ((ruleset.get("conditions") or {}).get("ref_name") or {}).get("include") or []
                targets = f"refs/heads/{gh.branch}" in include or "~ALL" in include
                requires_pr = any(r.get("type") == "pull_request" for r in ruleset.get("rules") or [])
                bypass = {(a.get("actor_type"), a.get("actor_id")) for a in ruleset.get("bypass_actors") or []}
                if ruleset.get("enforcement") == "active" and targets and requires_pr and not (ours & bypass):
                    found.append(str(ruleset.get("name")))
        return found
