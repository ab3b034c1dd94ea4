"""What a Vercel project's production domains serve: read before a promotion, checked after it. Stdlib only.

maya-infra inlines this file into the frontend's promotion steps (workflows/frontend.py). The pipeline
deploys with ``vercel deploy --prebuilt --prod --skip-domain`` (the domains stay where they are), tests the
new deployment by its own URL, then promotes it (``vercel promote``); if the site then fails its health checks it
promotes back the deployment this script recorded before (an automatic rollback).

Commands:
  current            write ``previous_id`` and ``previous_url`` (the deployment serving production now) to
                     $GITHUB_OUTPUT; none yet (a first deploy) leaves them empty
  serves --url URL   exit 0 when production serves the deployment at URL, 1 otherwise (one line)

Reads VERCEL_TOKEN (never printed; the Vercel CLI reads it from the environment too), VERCEL_PROJECT_ID,
VERCEL_ORG_ID (the team, when the project belongs to one); VERCEL_API_URL in tests.
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING or __package__:  # a sibling of an inlined script: see workflows/scripts/__init__.py
    from workflows.scripts import script_http
else:
    import script_http

VERCEL_API = "https://api.vercel.com"


def production_of(env: Mapping[str, str], http: script_http.Http | None = None) -> dict[str, Any]:
    """The project's ``targets.production`` (``{}`` when nothing serves production yet)."""
    project, token = env.get("VERCEL_PROJECT_ID", ""), env.get("VERCEL_TOKEN", "")
    if not project or not token:
        raise script_http.ScriptError("VERCEL_PROJECT_ID and VERCEL_TOKEN must be set (the environment's values)")
    api = script_http.check_url(env.get("VERCEL_API_URL") or VERCEL_API)
    query = f"?{urllib.parse.urlencode({'teamId': env['VERCEL_ORG_ID']})}" if env.get("VERCEL_ORG_ID") else ""
    client = http or script_http.Http(user_agent="maya-infra-vercel-production/1")
    status, answer = client.call("GET", f"{api}/v9/projects/{project}{query}", {"Authorization": f"Bearer {token}"})
    if status != 200 or not isinstance(answer, dict):
        raise script_http.ScriptError(f"Vercel answered HTTP {status} for the project {project}")
    targets = answer.get("targets") or {}
    production = targets.get("production") if isinstance(targets, dict) else None
    return dict(production) if isinstance(production, dict) else {}


def _host(url: str) -> str:
    return url.removeprefix("https://").removeprefix("http://").rstrip("/")


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    env = dict(os.environ) if env is None else env
    parser = argparse.ArgumentParser(prog="vercel_production", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("current", help="record the deployment serving production now")
    serves = commands.add_parser("serves", help="does production serve this deployment?")
    serves.add_argument("--url", required=True)
    args = parser.parse_args(argv)
    try:
        production = production_of(env)
    except script_http.ScriptError as error:
        print(f"::error::{error}")
        return 1
    url = _host(str(production.get("url") or ""))
    if args.command == "current":
        script_http.append(env, "GITHUB_OUTPUT", f"previous_id={production.get('id') or ''}\nprevious_url={url}\n")
        print(f"production serves {url or 'nothing yet'} now")
        script_http.append(env, "GITHUB_STEP_SUMMARY", f"Before the promotion, production served `{url or '-'}`\n")
        return 0
    if url == _host(args.url):
        print(f"production serves {url}")
        return 0
    print(f"::error::production serves {url or 'nothing'}, not {_host(args.url)}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
