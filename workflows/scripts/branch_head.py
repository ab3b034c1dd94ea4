"""Refuse stale code: a deploy job deploys only the commit its branch points at now.

maya-infra inlines this file into every deploy job (the frontend's deploy and promote, the backend's
deploy), as their first step. Re-running an old run (GitHub lets anyone with write access re-run any run)
would otherwise redeploy that run's commit — older code than the branch holds, which the staging gate lets
through, since that code did pass on staging once. Standard library only.

A run whose branch moved on while it ran is refused too: the newer push's run deploys the newer commit
(runs of one branch are queued behind each other: the workflow's concurrency group), so nothing is lost.

Usage: python3 branch_head.py --repo OWNER/NAME --sha SHA --branch BRANCH
Reads GITHUB_TOKEN (and GITHUB_API_URL). Exit 0 the commit is the branch head; 1 it is not, or GitHub could
not be read (one ``::error::`` line either way).
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING or __package__:  # a sibling of an inlined script: see workflows/scripts/__init__.py
    from workflows.scripts import script_http
else:
    import script_http


def head_of(env: Mapping[str, str], repo: str, branch: str, http: script_http.Http | None = None) -> str:
    """The commit ``branch`` points at now."""
    api = script_http.check_url(env.get("GITHUB_API_URL") or "https://api.github.com")
    token = env.get("GITHUB_TOKEN", "")
    if not token:
        raise script_http.ScriptError("GITHUB_TOKEN is empty: the step passes github.token")
    client = http or script_http.Http(user_agent="maya-infra-branch-head/1")
    ref = urllib.parse.quote(f"heads/{branch}", safe="/")
    status, answer = client.call(
        "GET",
        f"{api}/repos/{repo}/git/ref/{ref}",
        {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json"},
    )
    if status != 200 or not isinstance(answer, dict):
        raise script_http.ScriptError(f"the head of {branch} could not be read (HTTP {status})")
    return str(answer["object"]["sha"])


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    env = dict(os.environ) if env is None else env
    parser = argparse.ArgumentParser(prog="branch_head", description=__doc__.split("\n\n")[0])
    for name in ("--repo", "--sha", "--branch"):
        parser.add_argument(name, required=True)
    args = parser.parse_args(argv)
    try:
        head = head_of(env, args.repo, args.branch)
    except (script_http.ScriptError, KeyError, TypeError) as error:
        print(f"::error::refused: {error}; nothing deployed")
        return 1
    if head != args.sha:
        print(
            f"::error::refused: stale run: it deploys {args.sha[:12]} but {args.branch} is at {head[:12]}; "
            f"nothing deployed (run the newest run of {args.branch} instead)"
        )
        return 1
    print(f"{args.sha[:12]} is the head of {args.branch}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
