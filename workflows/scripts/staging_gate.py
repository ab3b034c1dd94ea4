"""Staging → production gate: production ships only code that was deployed to staging and passed there.

maya-infra inlines this file into the production deploy path of the frontend and backend pipelines.
Standard library only; reads GitHub's REST API with the job's token (deployments, statuses, check runs).

"The same code" is the same git tree: merging develop into main makes a new commit (a merge commit) whose
tree is the tree develop had, so the staging deployment is looked up by tree, not by commit SHA. It passes
when a deployment to the staging environment of a commit with that tree has the status ``success`` (the
deploy job, with its smoke tests, succeeded) and that commit's required check (``frontend-ci`` /
``backend-ci``, which includes the E2E tests against staging) concluded ``success``.

Usage: python3 staging_gate.py --repo OWNER/NAME --sha SHA --target ENV --production ENV --staging ENV --check NAME
A target other than production passes at once (nothing to gate). Exit 0 passed, 1 refused.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any

Get = Callable[[str], Any]
MAX_DEPLOYMENTS = 50  # the newest staging deployments looked at


def _get(path: str) -> Any:
    api = os.environ.get("GITHUB_API_URL", "https://api.github.com")
    request = urllib.request.Request(  # noqa: S310 - the GitHub API URL of the runner
        f"{api}{path}",
        headers={
            "Authorization": f"Bearer {os.environ['GITHUB_TOKEN']}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return json.load(response)


def verdict(get: Get, repo: str, sha: str, staging: str, check: str) -> tuple[bool, str]:
    """(passed, why) for shipping ``sha`` to production."""
    trees: dict[str, str] = {}

    def tree_of(commit: str) -> str:
        if commit not in trees:
            trees[commit] = get(f"/repos/{repo}/git/commits/{commit}")["tree"]["sha"]
        return trees[commit]

    wanted = tree_of(sha)
    deployments = get(f"/repos/{repo}/deployments?environment={staging}&per_page={MAX_DEPLOYMENTS}")
    same_code = [d for d in deployments if tree_of(d["sha"]) == wanted]
    if not same_code:
        return False, f"no deployment to {staging} of this code (tree {wanted[:12]}): merge what passed on staging"
    for deployment in same_code:
        statuses = get(f"/repos/{repo}/deployments/{deployment['id']}/statuses?per_page=1")
        if not statuses or statuses[0]["state"] != "success":
            continue
        runs = get(f"/repos/{repo}/commits/{deployment['sha']}/check-runs?check_name={check}")["check_runs"]
        if any(r.get("conclusion") == "success" for r in runs):
            return True, f"{deployment['sha'][:12]} was deployed to {staging} and passed {check} there"
    return False, f"this code was deployed to {staging} but did not pass there ({check} or the deployment failed)"


def main(argv: Sequence[str] | None = None, get: Get = _get) -> int:
    parser = argparse.ArgumentParser(prog="staging_gate", description=__doc__.split("\n\n")[0])
    for name in ("--repo", "--sha", "--target", "--production", "--staging", "--check"):
        parser.add_argument(name, required=True)
    args = parser.parse_args(argv)
    if args.target != args.production:
        print(f"deploying to {args.target or 'nothing'}: no staging gate")
        return 0
    passed, why = verdict(get, args.repo, args.sha, args.staging, args.check)
    print(why if passed else f"::error::refused: {why}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
