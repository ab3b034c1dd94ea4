"""Staging → production gate: production ships only code that a push run deployed to staging and tested there.

maya-infra inlines this file into the production deploy path of the frontend and backend pipelines.
Standard library only; reads GitHub's REST API with the job's token (workflow runs and their jobs, git
commits and trees).

The evidence is the pipeline's own run on the staging branch, read from GitHub Actions: a **push** run (a
pull request's run on the same commit lints and tests but never deploys) of **this app's workflow**
(``--workflow``, and a run must contain this app's check job ``--check``: the frontend's and the backend's
runs are told apart) on **the staging branch** (``--staging-branch``), whose deploy job and every staging
verification job (``--require-job``, repeatable: the deploy, E2E against staging, and any other the
pipeline adds) **succeeded** — not skipped — in the run's latest attempt, and whose check job succeeded too.

"The same code" is the app's folder (``--path``; ``.`` is the whole repository): its git tree at the
production commit must equal its tree at the run's head commit. Merging develop into main makes a new commit
with the same folder; a push that changed only the other app leaves this app's run skipped (its changes job
found nothing new since its last successful deploy), and that run proves nothing — the run that deployed
this folder is found further back, by the same tree. Among the runs with this tree, the newest one whose
deploy job did not skip decides: if staging last deployed this code and it failed there, it is refused
even if an older deploy of it passed.

A stale production run (a re-run of an old one) is refused by the deploy job's branch-head check
(workflows/scripts/branch_head.py), not here: this gate only answers "did staging deploy and pass this code".

Usage: python3 staging_gate.py --repo OWNER/NAME --sha SHA --target ENV --production ENV --staging ENV --check NAME
         [--staging-branch develop] [--path DIR] [--workflow .github/workflows/<app>.yml] [--require-job NAME ...]
A staging target passes at once (nothing to gate); an empty or unknown target is refused (the changes job
must name the environment). Exit 0 passed, 1 refused.
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING or __package__:  # a sibling of an inlined script: see workflows/scripts/__init__.py
    from workflows.scripts import script_http
else:
    import script_http

DEFAULT_JOBS = ("deploy", "e2e")
#: a deploy job that ended so never deployed this run's code: the run proves nothing either way (a pending run
#: superseded by a newer push is cancelled before its jobs start)
NOT_DEPLOYED = frozenset({"skipped", "cancelled"})  # the display names the generated pipelines give these jobs
PER_PAGE = 100
MAX_PAGES = 5  # the newest 500 push runs on the staging branch are looked at

#: path (with query) -> decoded JSON; raises GateError when GitHub cannot be read
Get = Callable[[str], Any]


class GateError(Exception):
    """GitHub could not be read: the gate refuses (it never passes on an unknown)."""


@dataclass(frozen=True)
class Evidence:
    """What the gate requires of a run, and where to look for it."""

    repo: str
    staging_branch: str
    check: str
    jobs: tuple[str, ...]
    path: str = "."
    workflow: str = ""


def github_get(env: Mapping[str, str], http: script_http.Http | None = None) -> Get:
    api = script_http.check_url(env.get("GITHUB_API_URL") or "https://api.github.com")
    token = env.get("GITHUB_TOKEN", "")
    if not token:
        raise GateError("GITHUB_TOKEN is empty: the gate step passes github.token")
    client = http or script_http.Http(user_agent="maya-infra-staging-gate/2")
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
    }

    def get(path: str) -> Any:
        try:
            status, answer = client.call("GET", f"{api}{path}", headers)
        except script_http.ScriptError as error:
            raise GateError(str(error)) from None
        if status != 200:
            message = answer.get("message", "") if isinstance(answer, dict) else ""
            raise GateError(f"GET {script_http.path_of(api + path)}: HTTP {status} {message}".strip())
        return answer

    return get


class Trees:
    """The git tree of one folder at a commit, read once per commit."""

    def __init__(self, get: Get, repo: str, path: str) -> None:
        self.get, self.repo = get, repo
        self.parts = [part for part in path.strip("/").split("/") if part not in ("", ".")]
        self.cache: dict[str, str] = {}

    def of(self, commit: str) -> str:
        """The folder's tree sha at ``commit``; "" when the folder does not exist there."""
        if commit not in self.cache:
            tree = str(self.get(f"/repos/{self.repo}/git/commits/{commit}")["tree"]["sha"])
            for part in self.parts:
                entries = self.get(f"/repos/{self.repo}/git/trees/{tree}")["tree"]
                found = next((e for e in entries if e.get("path") == part and e.get("type") == "tree"), None)
                tree = str(found["sha"]) if found else ""
                if not tree:
                    break
            self.cache[commit] = tree
        return self.cache[commit]


def push_runs(get: Get, evidence: Evidence) -> list[dict[str, Any]]:
    """Push runs on the staging branch, newest first (of ``evidence.workflow`` when given), bounded."""
    runs: list[dict[str, Any]] = []
    query = {"branch": evidence.staging_branch, "event": "push", "per_page": str(PER_PAGE)}
    for page in range(1, MAX_PAGES + 1):
        listed = get(f"/repos/{evidence.repo}/actions/runs?{urllib.parse.urlencode({**query, 'page': str(page)})}")
        batch = listed.get("workflow_runs") or []
        runs.extend(batch)
        if len(batch) < PER_PAGE:
            break
    wanted = evidence.workflow.strip("/")
    return [
        run
        for run in runs
        # the API filters these already; checked again, since a wrong answer here would ship untested code
        if run.get("event") == "push"
        and run.get("head_branch") == evidence.staging_branch
        and (not wanted or str(run.get("path", "")).split("@", 1)[0] == wanted)
    ]


def job_results(get: Get, repo: str, run_id: int) -> dict[str, str]:
    """Job display name -> conclusion ("" while running) in the run's latest attempt."""
    listed = get(f"/repos/{repo}/actions/runs/{run_id}/jobs?filter=latest&per_page={PER_PAGE}")
    return {str(job["name"]): str(job.get("conclusion") or job.get("status") or "") for job in listed.get("jobs", [])}


def verdict(get: Get, sha: str, evidence: Evidence) -> tuple[bool, str]:
    """(passed, why) for shipping ``sha`` to production."""
    trees = Trees(get, evidence.repo, evidence.path)
    folder = "the repository" if not trees.parts else f"{'/'.join(trees.parts)}/"
    wanted = trees.of(sha)
    if not wanted:
        return False, f"{folder} does not exist at {sha[:12]}: nothing this pipeline deploys"
    same_code = 0
    for run in push_runs(get, evidence):
        if trees.of(str(run["head_sha"])) != wanted:
            continue
        results = job_results(get, evidence.repo, int(run["id"]))
        if evidence.check not in results:
            continue  # another app's workflow (it has no job named like this app's check)
        same_code += 1
        where = f"push run {run['id']} (attempt {run.get('run_attempt', 1)}) of {str(run['head_sha'])[:12]}"
        deploy = evidence.jobs[0]
        if results.get(deploy, "skipped") in NOT_DEPLOYED:
            continue  # nothing changed since that app's last deploy (or it never ran): proves nothing, look back
        wrong = [
            f"{name} {results.get(name) or 'missing'}"
            for name in (*evidence.jobs, evidence.check)
            if results.get(name) != "success"
        ]
        if wrong:
            return False, (
                f"{folder} (tree {wanted[:12]}) was last deployed to staging by {where}, which did not pass "
                f"there ({', '.join(wrong)}): fix it on {evidence.staging_branch}, let staging pass, merge again"
            )
        passed = ", ".join((*evidence.jobs, evidence.check))
        return True, f"{where} deployed {folder} (tree {wanted[:12]}) to staging and passed {passed} there"
    seen = f"{same_code} push run(s) with this code skipped their deploy" if same_code else "no push run has it"
    return False, (
        f"no push run on {evidence.staging_branch} deployed {folder} as it is at {sha[:12]} (tree {wanted[:12]}) "
        f"to staging ({seen}): merge what passed on staging, or push it to {evidence.staging_branch} first"
    )


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None, get: Get | None = None) -> int:
    env = dict(os.environ) if env is None else env
    parser = argparse.ArgumentParser(prog="staging_gate", description=__doc__.split("\n\n")[0])
    for name in ("--repo", "--sha", "--target", "--production", "--staging", "--check"):
        parser.add_argument(name, required=True)
    parser.add_argument("--staging-branch", default="develop", help="the branch whose pushes deploy to staging")
    parser.add_argument("--path", default=".", help="the app's folder: the code compared (default: everything)")
    parser.add_argument("--workflow", default="", help="the app's workflow file (.github/workflows/<app>.yml)")
    parser.add_argument(
        "--require-job",
        action="append",
        default=[],
        help=f"a job that must have succeeded in that run; the first is the deploy (default: {' '.join(DEFAULT_JOBS)})",
    )
    args = parser.parse_args(argv)
    if args.target == args.staging:
        print(f"deploying to {args.target}: no staging gate")
        return 0
    if args.target != args.production:
        print(f"::error::refused: TARGET is {args.target!r}, neither {args.production} nor {args.staging}")
        return 1
    evidence = Evidence(
        args.repo, args.staging_branch, args.check, tuple(args.require_job or DEFAULT_JOBS), args.path, args.workflow
    )
    try:
        passed, why = verdict(get or github_get(env), args.sha, evidence)
    except (GateError, KeyError, TypeError, ValueError) as error:
        passed, why = False, f"GitHub could not be read ({error}); nothing is shipped on an unknown"
    print(why if passed else f"::error::refused: {why}")
    script_http.append(env, "GITHUB_STEP_SUMMARY", f"Staging gate: {'passed' if passed else 'refused'}: {why}\n")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
