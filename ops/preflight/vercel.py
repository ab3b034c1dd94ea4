"""Vercel: the stack's token reaches its team and project; the deploy token is scoped as the README requires.

``vercelToken`` runs ``pulumi up``: it must reach ``frontend.teamId`` (``GET /v2/teams/{id}``; the personal
account with ``GET /v2/user`` when no team is set) and, when it exists, the project. ``vercelDeployToken`` is the
pipeline's: scoped to this stack's project only — it reads its own project, and is refused the team and the
other stack's project (Vercel denies a project-scoped token every other project and every team-level or
user-level resource). It must differ from ``vercelToken``. Every request is a GET.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from config import NAMESPACE
from ops.preflight.context import Run
from ops.preflight.readonly import read_only_client
from ops.preflight.report import Check, failed, passed, skipped, warned

TOKENS_PAGE = "https://vercel.com/account/tokens"
DENIED = (401, 403, 404)


class VercelChecks:
    def __init__(self, run: Run) -> None:
        self.run = run
        self.cfg = run.cfg
        self.checks: list[Check] = []
        self.project_exists: bool | None = None

    def _client(self, token: str) -> httpx.Client:
        headers = {
            "Authorization": f"Bearer {token}",
            "User-Agent": "maya-infra-preflight/1",
            "Accept": "application/json",
        }
        return read_only_client("vercel", self.run.ledger, self.run.vercel_url(), headers, timeout=self.run.timeout)

    def _params(self, **more: str) -> dict[str, str]:
        team = self.cfg.frontend.team_id
        return {**({"teamId": team} if team else {}), **more}

    def all(self) -> list[Check]:
        if "vercel" not in self.cfg.platforms:
            return [skipped("vercel", f"{NAMESPACE}:platforms leaves Vercel out of stack {self.run.stack}")]
        token, why = self.run.secrets.get("vercelToken")
        if token is None:
            return [failed("vercel.token", "no Vercel token", why)]
        try:
            with self._client(token) as c:
                if self._team(c):
                    self._project(c)
                    self._domains(c)
            self._deploy_token(token)
        except httpx.HTTPError as exc:
            self.checks.append(
                failed("vercel.api", f"Vercel did not answer ({type(exc).__name__})", "check the network")
            )
        return self.checks

    def _setter(self, key: str) -> str:
        return f"pulumi config set --secret {NAMESPACE}:{key} --stack {self.run.stack}"

    def _team(self, c: httpx.Client) -> bool:
        team = self.cfg.frontend.team_id
        answer = c.get(f"/v2/teams/{team}") if team else c.get("/v2/user")
        if answer.status_code == 200:
            body = answer.json()
            who = body.get("name") or body.get("slug") if team else (body.get("user") or {}).get("username")
            self.checks.append(
                passed("vercel.token", f"reaches {'team ' + str(team) if team else 'the personal account'} ({who})")
            )
            return True
        where = f"team {team} (frontend.teamId)" if team else "a personal account (frontend.teamId is not set)"
        self.checks.append(
            failed(
                "vercel.token",
                f"the token is refused by {where}: HTTP {answer.status_code} — a token of another team, or expired",
                f"create a token scoped to {team or 'your account'} ({TOKENS_PAGE}) and "
                f"`{self._setter('vercelToken')}`",
            )
        )
        return False

    def _project(self, c: httpx.Client) -> None:
        name = self.cfg.frontend.project_name
        answer = c.get(f"/v9/projects/{name}", params=self._params())
        if answer.status_code == 200:
            self.project_exists = True
            self.checks.append(passed("vercel.project", f"project {name!r} exists ({answer.json().get('id')})"))
        elif answer.status_code == 404:
            self.project_exists = False
            self.checks.append(
                warned(
                    "vercel.project",
                    f"no project {name!r} in the team: the first `up` creates it",
                    f"if the frontend already runs under another name, adopt it first: "
                    f"python -m ops adopt --stack {self.run.stack}",
                )
            )
        else:
            self.checks.append(
                failed(
                    "vercel.project",
                    f"GET /v9/projects/{name} answered {answer.status_code}",
                    "check the token's scope",
                )
            )

    def _domains(self, c: httpx.Client) -> None:
        """What Vercel will ask the DNS of each frontend domain for (kept for the DNS checks; no row here)."""
        wanted: dict[str, Mapping[str, Any]] = {}
        for domain in (*self.cfg.frontend.domains, *self.cfg.frontend.redirect_domains):
            answer = c.get(
                f"/v6/domains/{domain}/config", params=self._params(projectIdOrName=self.cfg.frontend.project_name)
            )
            if answer.status_code == 200:
                wanted[domain] = answer.json()
        self.run.notes["vercel.domains"] = wanted

    # ---- the pipeline's deploy token ------------------------------------------------------------------------
    def _other_project(self) -> str | None:
        """The other stack's Vercel project (its peers were loaded with this config)."""
        try:
            peers = [c for c in self.cfg.all_stacks if c.stack != self.run.stack]
        except ValueError:
            return None
        return peers[0].frontend.project_name if peers else None

    def _deploy_token(self, main_token: str) -> None:
        token, why = self.run.secrets.get("vercelDeployToken")
        name = "vercel.deploy-token"
        if token is None:
            self.checks.append(failed(name, "no deploy token", why))
            return
        if token == main_token:
            self.checks.append(
                failed(
                    name,
                    "vercelDeployToken equals vercelToken: the pipeline would hold the team's token",
                    f"create a token scoped to project {self.cfg.frontend.project_name} and "
                    f"`{self._setter('vercelDeployToken')}`",
                )
            )
            return
        project = self.cfg.frontend.project_name
        fix = (
            f"create a token scoped to project {project} only (Account Settings → Tokens → scope: the project, "
            f"{TOKENS_PAGE}) and `{self._setter('vercelDeployToken')}`"
        )
        with self._client(token) as c:
            own = c.get(f"/v9/projects/{project}", params=self._params())
            team = self.cfg.frontend.team_id
            level = c.get(f"/v2/teams/{team}") if team else c.get("/v2/user")
            other = self._other_project()
            foreign = c.get(f"/v9/projects/{other}", params=self._params()) if other else None
        reaches = []
        if level.status_code not in DENIED:
            reaches.append("the team" if team else "the account")
        if foreign is not None and foreign.status_code not in DENIED:
            reaches.append(f"the other stack's project {other!r}")
        if reaches:
            self.checks.append(
                failed(name, f"the deploy token reaches {' and '.join(reaches)}: it is not project-scoped", fix)
            )
            return
        if own.status_code == 200:
            self.checks.append(
                passed(name, f"scoped to {project!r}: reads it, refused the team and {other or 'other projects'}")
            )
        elif self.project_exists is False:
            self.checks.append(
                warned(name, f"refused the team and other projects; project {project!r} does not exist yet")
            )
        else:
            self.checks.append(
                failed(name, f"the deploy token cannot read project {project!r} (HTTP {own.status_code})", fix)
            )
