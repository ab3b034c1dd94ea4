"""What a Vercel project's production domains serve: read before a promotion, checked after it. Stdlib only.

maya-infra inlines this file into the frontend's promotion steps (workflows/frontend.py). The pipeline
deploys with ``vercel deploy --prebuilt --prod --skip-domain`` (the domains stay where they are), tests the
new deployment by its own URL, then promotes it (``vercel promote``); if the site then fails its health checks it
promotes back the deployment this script recorded before (an automatic rollback).

A rollback target must have served the production domains: ``served_production`` is that rule, for this
script and for ``python -m ops rollback frontend`` alike. A production deployment built with ``--skip-domain``
whose smoke tests failed was never promoted: Vercel marks it ``readySubstate: STAGED`` (never saw production
traffic; ``PROMOTED`` once it has, ``ROLLING`` while a rolling release moves traffic to it) and not
``isRollbackCandidate``. Promoting it "back" would put untested code live, so it is never a target.

Commands:
  current            write ``previous_id`` and ``previous_url`` (the deployment serving production now) to
                     $GITHUB_OUTPUT; none yet (a first deploy), or one that never served production (a staged
                     build: see ``served_production``), leaves them empty: no automatic rollback target
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
READY = "READY"
PROMOTED = "PROMOTED"


def served_production(deployment: Mapping[str, Any]) -> bool:
    """Did this deployment serve the production domains (so that going back to it is a rollback)?

    READY, built for production, and Vercel's own evidence: ``readySubstate`` PROMOTED when Vercel reports
    the substate (STAGED: built with ``--skip-domain`` and never promoted; ROLLING: a rolling release still
    moving traffic), else ``isRollbackCandidate``. Without either field there is no evidence: not a target."""
    state = deployment.get("readyState") or deployment.get("state")
    if state != READY or deployment.get("target") != "production":
        return False
    substate = deployment.get("readySubstate")
    if substate:
        return substate == PROMOTED
    return deployment.get("isRollbackCandidate") is True


def _get(env: Mapping[str, str], path: str, what: str, http: script_http.Http | None) -> dict[str, Any]:
    token = env.get("VERCEL_TOKEN", "")
    api = script_http.check_url(env.get("VERCEL_API_URL") or VERCEL_API)
    query = f"?{urllib.parse.urlencode({'teamId': env['VERCEL_ORG_ID']})}" if env.get("VERCEL_ORG_ID") else ""
    client = http or script_http.Http(user_agent="maya-infra-vercel-production/1")
    status, answer = client.call("GET", f"{api}{path}{query}", {"Authorization": f"Bearer {token}"})
    if status != 200 or not isinstance(answer, dict):
        raise script_http.ScriptError(f"Vercel answered HTTP {status} for {what}")
    return answer


def production_of(env: Mapping[str, str], http: script_http.Http | None = None) -> dict[str, Any]:
    """The project's ``targets.production`` (``{}`` when nothing serves production yet)."""
    project, token = env.get("VERCEL_PROJECT_ID", ""), env.get("VERCEL_TOKEN", "")
    if not project or not token:
        raise script_http.ScriptError("VERCEL_PROJECT_ID and VERCEL_TOKEN must be set (the environment's values)")
    answer = _get(env, f"/v9/projects/{urllib.parse.quote(project, safe='')}", f"the project {project}", http)
    targets = answer.get("targets") or {}
    production = targets.get("production") if isinstance(targets, dict) else None
    return dict(production) if isinstance(production, dict) else {}


def rollback_target(
    env: Mapping[str, str], production: Mapping[str, Any], http: script_http.Http | None = None
) -> dict[str, Any]:
    """``production`` when it served the production domains (``served_production``), else ``{}``. When the
    project's answer does not carry the evidence, the deployment's own (``GET /v13/deployments/{id}``) decides."""
    if not production.get("id"):
        return {}
    details: Mapping[str, Any] = production
    if not production.get("readySubstate") and "isRollbackCandidate" not in production:
        ident = str(production["id"])
        details = {
            "target": "production",
            **_get(env, f"/v13/deployments/{urllib.parse.quote(ident, safe='')}", f"deployment {ident}", http),
        }
    return dict(production) if served_production({"target": "production", **details}) else {}


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
        try:
            target = rollback_target(env, production)
        except script_http.ScriptError as error:
            print(f"::error::{error}")
            return 1
        if production.get("id") and not target:
            print(
                f"::warning::production points at {production['id']}, which Vercel does not show as having served "
                f"production (readySubstate {production.get('readySubstate') or '-'}): it is no rollback target, so "
                "a failed check after this promotion is not rolled back by itself; `python -m ops rollback frontend` "
                "picks one that served"
            )
        script_http.append(
            env,
            "GITHUB_OUTPUT",
            f"previous_id={target.get('id') or ''}\nprevious_url={_host(str(target.get('url') or ''))}\n",
        )
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
