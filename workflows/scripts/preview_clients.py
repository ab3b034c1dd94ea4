"""The previews' Vercel and GitHub clients: the branch's API URL and preview build, the one PR comment.

Standard library only; part of pr_preview.py's bundle (:func:`workflows.render.write_script` writes it next
to pr_preview.py on the runner).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING or __package__:  # siblings of an inlined script: see workflows/scripts/__init__.py
    from workflows.scripts import preview_graphql as gql
    from workflows.scripts import script_http
else:
    import preview_graphql as gql
    import script_http

VERCEL_API = "https://api.vercel.com"
GITHUB_API = "https://api.github.com"
MARKER = "<!-- maya-infra:pr-preview -->"
API_URL_VARIABLE = "NEXT_PUBLIC_API_URL"

# ---- Vercel: the branch's API URL and its preview build ---------------------------------------------------


@dataclass
class Vercel:
    token: str
    project_id: str
    team_id: str | None = None
    url: str = VERCEL_API
    http: script_http.Http = field(default_factory=gql.Http)

    def _call(self, method: str, path: str, payload: Any = None, *, query: Mapping[str, str] | None = None) -> Any:
        params = dict(query or {})
        if self.team_id:
            params["teamId"] = self.team_id
        url = f"{script_http.check_url(self.url)}{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
        status, answer = self.http.call(method, url, {"Authorization": f"Bearer {self.token}"}, payload)
        if status >= 400 and not (method == "DELETE" and status == 404):
            message = (answer or {}).get("error", {}).get("message", "") if isinstance(answer, dict) else ""
            raise gql.PreviewError(f"Vercel {method} {path}: HTTP {status} {message}"[:300])
        return answer

    def branch_variables(self, branch: str) -> list[dict[str, Any]]:
        answer = self._call("GET", f"/v9/projects/{self.project_id}/env", query={"gitBranch": branch})
        return [e for e in (answer or {}).get("envs", []) if e.get("gitBranch") == branch]

    def set_api_url(self, branch: str, url: str) -> bool:
        """Point the branch's previews at ``url``; True when the variable changed (a new build is needed)."""
        for item in self.branch_variables(branch):
            if item.get("key") == API_URL_VARIABLE and item.get("value") == url:
                return False
        body = {"key": API_URL_VARIABLE, "value": url, "type": "plain", "target": ["preview"], "gitBranch": branch}
        self._call("POST", f"/v10/projects/{self.project_id}/env", body, query={"upsert": "true"})
        return True

    def remove_branch(self, branch: str) -> int:
        items = [e for e in self.branch_variables(branch) if e.get("key") == API_URL_VARIABLE]
        for item in items:
            self._call("DELETE", f"/v9/projects/{self.project_id}/env/{item['id']}")
        return len(items)

    def latest(self, branch: str) -> dict[str, Any] | None:
        answer = self._call(
            "GET", "/v6/deployments", query={"projectId": self.project_id, "target": "preview", "limit": "100"}
        )
        for item in (answer or {}).get("deployments", []):
            if (item.get("meta") or {}).get("githubCommitRef") == branch:
                return dict(item)
        return None

    def build(self, repository: str, branch: str, sha: str) -> dict[str, Any]:
        """One preview build of the branch's commit (the Git build that ran before the variable existed
        baked the staging URL in)."""
        owner, _, repo = repository.partition("/")
        body = {
            "name": self.project_id,
            "project": self.project_id,
            "target": "preview",
            "gitSource": {"type": "github", "org": owner, "repo": repo, "ref": branch, "sha": sha},
        }
        answer = self._call("POST", "/v13/deployments", body)
        return dict(answer or {})


# ---- GitHub: the one comment ------------------------------------------------------------------------------


@dataclass
class GitHub:
    token: str
    repository: str
    url: str = GITHUB_API
    http: script_http.Http = field(default_factory=gql.Http)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "X-GitHub-Api-Version": "2022-11-28"}

    def _find(self, pr: int) -> dict[str, Any] | None:
        base = f"{script_http.check_url(self.url)}/repos/{self.repository}/issues/{pr}/comments"
        for page in range(1, script_http.MAX_PAGES + 1):
            status, answer = self.http.call("GET", f"{base}?per_page=100&page={page}", self._headers())
            if status >= 400 or not isinstance(answer, list):
                raise gql.PreviewError(f"GitHub: listing the comments of #{pr} answered HTTP {status}")
            for comment in answer:
                if MARKER in str(comment.get("body") or ""):
                    return dict(comment)
            if len(answer) < 100:
                return None
        return None

    def comment(self, pr: int, body: str) -> str:
        """Edit the preview comment of the PR, or create it once; returns ``created``/``updated``/``unchanged``."""
        text = f"{MARKER}\n{body}"
        found = self._find(pr)
        if found is not None:
            if found.get("body") == text:
                return "unchanged"
            url = f"{script_http.check_url(self.url)}/repos/{self.repository}/issues/comments/{found['id']}"
            status, _ = self.http.call("PATCH", url, self._headers(), {"body": text})
            if status >= 400:
                raise gql.PreviewError(f"GitHub: editing the preview comment answered HTTP {status}")
            return "updated"
        url = f"{script_http.check_url(self.url)}/repos/{self.repository}/issues/{pr}/comments"

        def look() -> tuple[int, Any] | None:
            again = self._find(pr)
            return None if again is None else (200, again)

        status, _ = gql.create_once(
            lambda: self.http.call("POST", url, self._headers(), {"body": text}, creates=True), look
        )
        if status >= 400:
            raise gql.PreviewError(f"GitHub: commenting on #{pr} answered HTTP {status}")
        return "created"
