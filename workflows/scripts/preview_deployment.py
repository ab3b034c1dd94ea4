"""Find the pull request's Vercel preview for the E2E job, or say in one line why there is none to test.

maya-infra inlines this file into the previews workflow's ``preview-e2e`` job (docs/previews.md), after the
``preview`` job has brought up the pull request's backend and pointed the branch's ``NEXT_PUBLIC_API_URL`` at
it. Standard library only. It answers one of three ways:

* a URL (``url=`` in ``$GITHUB_OUTPUT``): the newest preview deployment of the head commit in the staging
  Vercel project, waited for until Vercel has built it (READY). Newest, because on a pull request's first push
  the preview job starts one more build of the same commit once the branch variable exists (the Git build
  before it baked staging's API URL in);
* nothing to test, exit 0 with one ``::notice::`` line — only where the check cannot test anything and is not
  a same-repository pull request's: a pull request from a fork (GitHub gives its runs no secrets, so it has no
  preview) and a bot's pull request (no preview unless ``botPullRequests``);
* an error, exit 1 with one ``::error::`` line and its fix: no previews Vercel token in the environment, the
  bypass secret missing, no preview backend for the branch (the preview job waits in line at the cap and fails
  when no slot came; it never lets this check pass on nothing tested), the build failing, or no READY build
  within ``--timeout``.

Usage: python3 preview_deployment.py --sha SHA --branch BRANCH [--timeout SECONDS] [--poll SECONDS]
Reads VERCEL_TOKEN, VERCEL_PROJECT_ID, VERCEL_ORG_ID, VERCEL_AUTOMATION_BYPASS_SECRET (only whether it is
set), PREVIEW_JOB (the preview job's result), HEAD_REPOSITORY, GITHUB_REPOSITORY; VERCEL_API_URL in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING or __package__:  # a sibling of an inlined script: see workflows/scripts/__init__.py
    from workflows.scripts import script_http
else:
    import script_http

VERCEL_API = "https://api.vercel.com"
API_URL_VARIABLE = "NEXT_PUBLIC_API_URL"  # what the preview job sets for the branch (pr_preview.py)
FAILED = frozenset({"ERROR", "CANCELED", "DELETED"})
ATTEMPTS = 5  # per request: 429 and 5xx are retried (every request here is a read)

#: (url, headers) -> (status, decoded JSON or None); raises OSError when nothing answered
Get = Callable[[str, Mapping[str, str]], tuple[int, Any]]


class NoPreview(Exception):
    """Nothing to test, for the reason given (not a failure)."""


class Failed(Exception):
    """The job fails, for the reason given (never carries a secret)."""


def _urlopen(url: str, headers: Mapping[str, str]) -> tuple[int, Any]:
    if not script_http.is_safe(url):
        raise Failed(f"{url!r}: the Vercel API is reached over https only")
    status, _, raw = script_http.urlopen("GET", url, headers, None, 30.0)
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, None


class Vercel:
    def __init__(self, env: Mapping[str, str], get: Get, sleep: Callable[[float], None]) -> None:
        self.token = env["VERCEL_TOKEN"]
        self.project_id = env.get("VERCEL_PROJECT_ID", "")
        self.team_id = env.get("VERCEL_ORG_ID", "")
        self.api = (env.get("VERCEL_API_URL") or VERCEL_API).rstrip("/")
        self.get, self.sleep = get, sleep
        if not self.project_id:
            raise Failed("VERCEL_PROJECT_ID is not in the preview environment: run `pulumi up --stack staging`")

    def read(self, path: str, query: Mapping[str, str]) -> Any:
        params = {**query, **({"teamId": self.team_id} if self.team_id else {})}
        url = f"{self.api}{path}?{urllib.parse.urlencode(params)}"
        last = ""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                status, answer = self.get(url, {"Authorization": f"Bearer {self.token}", "Accept": "application/json"})
            except (OSError, TimeoutError) as error:
                status, answer, last = 0, None, type(error).__name__
            if status == 429 or status >= 500 or status == 0:
                last = last if status == 0 else f"HTTP {status}"
                if attempt < ATTEMPTS:
                    self.sleep(min(2.0**attempt, 30.0))
                continue
            if status >= 400:
                message = (answer or {}).get("error", {}).get("message", "") if isinstance(answer, dict) else ""
                raise Failed(f"Vercel GET {path}: HTTP {status} {message}".strip()[:300])
            return answer
        raise Failed(f"Vercel GET {path}: gave up after {ATTEMPTS} attempts ({last})")

    def has_backend(self, branch: str) -> bool:
        answer = self.read(f"/v9/projects/{self.project_id}/env", {"gitBranch": branch})
        envs = (answer or {}).get("envs", [])
        return any(e.get("key") == API_URL_VARIABLE and e.get("gitBranch") == branch for e in envs)

    def newest_of(self, sha: str) -> dict[str, Any] | None:
        answer = self.read("/v6/deployments", {"projectId": self.project_id, "target": "preview", "limit": "100"})
        found = [
            d for d in (answer or {}).get("deployments", []) if (d.get("meta") or {}).get("githubCommitSha") == sha
        ]
        return max(found, key=lambda d: d.get("createdAt") or d.get("created") or 0, default=None)


def precondition(env: Mapping[str, str]) -> None:
    """Raises NoPreview (skip) or Failed (error) unless the preview job made a preview this job can test."""
    head, repository = env.get("HEAD_REPOSITORY", ""), env.get("GITHUB_REPOSITORY", "")
    if head and repository and head != repository:
        raise NoPreview(
            f"pull request from a fork ({head}): GitHub gives its runs no secrets, so it has no preview "
            "and no E2E against one"
        )
    job = env.get("PREVIEW_JOB", "")
    if job == "skipped":
        raise NoPreview("no preview for this pull request (opened by a bot, and previews.botPullRequests is off)")
    if job != "success":
        raise Failed(f"the preview job ended {job or 'without a result'}: there is no preview to test")
    if not env.get("VERCEL_TOKEN"):
        raise Failed(
            "no VERCEL_TOKEN in the preview environment, so nothing can be tested and this required check cannot "
            "pass: `pulumi config set --secret maya-infra:previewsVercelToken --stack staging` and `pulumi up "
            "--stack staging` (or set frontend.previewDeployments: false, which stops requiring preview-e2e)"
        )
    if not env.get("VERCEL_AUTOMATION_BYPASS_SECRET"):
        raise Failed(
            "VERCEL_AUTOMATION_BYPASS_SECRET is not in the preview environment, and Vercel protects previews: "
            "run `pulumi up --stack staging` (it declares the project's automation bypass and seals it there)"
        )


def find(
    vercel: Vercel, sha: str, branch: str, *, timeout: float, poll: float, clock: Callable[[], float] = time.monotonic
) -> str:
    """The URL of the newest READY preview of ``sha``; waits (bounded) while Vercel builds it."""
    if not vercel.has_backend(branch):
        raise Failed(
            f"branch {branch!r} has no preview backend ({API_URL_VARIABLE} is not set for it): nothing to test; "
            "see the pull request's preview comment, and re-run the previews workflow"
        )
    deadline = clock() + timeout
    state = "not created yet"
    while True:
        deployment = vercel.newest_of(sha)
        if deployment is not None:
            state = str(deployment.get("readyState") or deployment.get("state") or "unknown")
            if state == "READY":
                return f"https://{deployment['url']}"
            if state in FAILED:
                raise Failed(f"Vercel's preview build of {sha[:12]} ended {state} (https://{deployment.get('url')})")
        if clock() >= deadline:
            raise Failed(f"no READY Vercel preview of {sha[:12]} after {timeout:.0f} s (last state: {state})")
        vercel.sleep(poll)


def main(
    argv: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    get: Get = _urlopen,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    env = dict(os.environ) if env is None else env
    parser = argparse.ArgumentParser(prog="preview_deployment", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sha", required=True)
    parser.add_argument("--branch", required=True)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--poll", type=float, default=10.0)
    args = parser.parse_args(argv)
    try:
        precondition(env)
        url = find(Vercel(env, get, sleep), args.sha, args.branch, timeout=args.timeout, poll=args.poll)
    except NoPreview as skip:
        print(f"::notice::E2E against the preview skipped: {skip}")
        return 0
    except Failed as error:
        print(f"::error::{error}")
        return 1
    script_http.append(env, "GITHUB_OUTPUT", f"url={url}\n")
    print(f"E2E runs against {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
