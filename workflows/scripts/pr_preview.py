"""Bring up, refresh and tear down the full-stack preview of one pull request. Standard library only.

maya-infra inlines this file into the generated ``previews`` workflow (workflows/previews.py), so it runs
on a bare runner's ``python3``; ``python -m ops previews`` imports it too. One pull request gets:

* a Railway environment ``<prefix><number>`` forked from staging (``environmentCreate`` with
  ``sourceEnvironmentId`` and ``ephemeral: true``): the same services and settings — the same pre-deploy
  command, so the migrations run — but its OWN, EMPTY PostgreSQL volume, a fresh database password, only
  the variables that are safe for previews (``--withhold`` names are removed before anything deploys), no
  branch trigger (this script deploys the PR's commit itself, so one push is one deploy), a Railway domain,
  and ``sleepApplication`` when ``--sleep`` is on;
* a Vercel variable ``NEXT_PUBLIC_API_URL`` for the PR's branch only (``gitBranch``, target ``preview``)
  pointing at THAT backend, and one preview build of the branch once that variable is in place;
* one comment on the pull request (found again by a hidden marker and edited, never repeated) with both
  URLs and their health.

Every Railway write happens at most once: each create looks first; a create whose answer was lost
(connection dropped, 5xx) is never sent again before a read shows it did not land. The number of live
previews is capped (``--max-environments``): a run that would exceed the cap creates nothing (and a run
that raced past it removes what it just created), and says so in the comment.

Environment: RAILWAY_PREVIEW_TOKEN (an account or workspace token that can create environments in the
staging project only — never production's), RAILWAY_PROJECT_ID, RAILWAY_ENVIRONMENT_ID (staging, the
source), RAILWAY_SERVICE_ID (the backend); VERCEL_TOKEN, VERCEL_PROJECT_ID, VERCEL_ORG_ID (optional:
without them the frontend part is skipped); GITHUB_TOKEN, GITHUB_REPOSITORY, GITHUB_API_URL. RAILWAY_API_URL
and VERCEL_API_URL override the endpoints (tests point them at loopback fakes).

The parts live in sibling modules, written next to this file on the runner and imported as
``workflows.scripts.<module>`` in maya-infra (see workflows/scripts/__init__.py): script_http.py (HTTP with
bounded retries), preview_graphql.py (Railway's GraphQL client and documents), preview_environment.py (the
environment: cap, fork, variables, deployments), preview_clients.py (Vercel and GitHub). This file holds the
health check, the comment's text and the commands.

Commands:
  up --pr N --branch B --sha SHA      create or refresh the preview, deploy SHA, wait, comment
  down --pr N --branch B              remove the preview (environment, branch variable), update the comment
  list                                print the live previews (name, age, backend URL) as JSON lines
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING or __package__:  # siblings of an inlined script: see workflows/scripts/__init__.py
    from workflows.scripts import preview_clients, preview_environment, preview_graphql, script_http
else:
    import preview_clients
    import preview_environment
    import preview_graphql
    import script_http

# The names this module uses, and that `python -m ops previews`, bench/ and tests/ use as ``pr_preview.<name>``.
Http = preview_graphql.Http
PreviewError = preview_graphql.PreviewError
Railway = preview_graphql.Railway
RAILWAY_API = preview_graphql.RAILWAY_API
USER_AGENT = preview_graphql.USER_AGENT
DOCUMENTS = preview_graphql.DOCUMENTS
ENVIRONMENT_CREATE = preview_graphql.ENVIRONMENT_CREATE
ENVIRONMENT_DELETE = preview_graphql.ENVIRONMENT_DELETE
Target = preview_environment.Target
Preview = preview_environment.Preview
LIVE = preview_environment.LIVE
previews = preview_environment.previews
find = preview_environment.find
admit = preview_environment.admit
prepare = preview_environment.prepare
branch_of = preview_environment.branch_of
backend_url = preview_environment.backend_url
deploy = preview_environment.deploy
wait = preview_environment.wait
Vercel = preview_clients.Vercel
GitHub = preview_clients.GitHub
VERCEL_API = preview_clients.VERCEL_API
GITHUB_API = preview_clients.GITHUB_API
MARKER = preview_clients.MARKER
API_URL_VARIABLE = preview_clients.API_URL_VARIABLE

# ---- health and the comment's text ------------------------------------------------------------------------

Probe = Callable[[str], int | None]


def probe(url: str) -> int | None:
    """The HTTP status of a GET, or None when nothing answered."""
    try:
        status, _, _ = script_http.urlopen("GET", script_http.check_url(url), {"User-Agent": USER_AGENT}, None, 10.0)
        return status
    except (OSError, TimeoutError, PreviewError):
        return None


def check_health(url: str | None, path: str, check: Probe, attempts: int, sleep: Callable[[float], None]) -> str:
    if not url:
        return "no URL"
    status = None
    for attempt in range(attempts):
        status = check(f"{url}{path}")
        if status == 200:
            return f"healthy (`{path}` 200)"
        if attempt + 1 < attempts:
            sleep(5.0)
    return f"unhealthy (`{path}` {status if status is not None else 'no answer'})"


@dataclass
class Report:
    pr: int
    sha: str = ""
    environment: str = ""
    backend_url: str | None = None
    backend_status: str = ""
    backend_health: str = ""
    frontend_url: str | None = None
    frontend_status: str = ""
    withheld: tuple[str, ...] = ()
    fresh: tuple[str, ...] = ()
    note: str = ""
    capped: bool = False  # no slot under the cap, even after waiting in line

    def markdown(self) -> str:
        lines = [f"### Preview of this pull request (`{self.environment}`)", ""]
        if self.note:
            lines += [self.note, ""]
        if self.backend_url or self.frontend_url:
            lines += ["| | URL | state |", "| --- | --- | --- |"]
            backend = f"deployment {self.backend_status or 'unknown'}; {self.backend_health or 'not checked'}"
            lines.append(f"| backend (Railway) | {self.backend_url or '—'} | {backend} |")
            if self.frontend_url or self.frontend_status:
                lines.append(f"| frontend (Vercel) | {self.frontend_url or '—'} | {self.frontend_status or '—'} |")
            lines += [
                "",
                f"Database: the preview's own PostgreSQL (empty at first; migrations applied by the pre-deploy "
                f"command). `{API_URL_VARIABLE}` of this branch points at the backend above.",
            ]
            if self.withheld:
                lines.append(f"Not copied from staging: {', '.join(f'`{n}`' for n in self.withheld)}.")
            if self.fresh:
                lines.append(f"Own values (not staging's): {', '.join(f'`{n}`' for n in self.fresh)}.")
        if self.sha:
            lines.append(f"Commit `{self.sha[:12]}`. Removed when the pull request is closed or merged.")
        return "\n".join(lines) + "\n"


# ---- commands ---------------------------------------------------------------------------------------------


@dataclass
class Clients:
    railway: Railway
    vercel: Vercel | None
    github: GitHub | None
    check: Probe = probe
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic


def up(
    clients: Clients,
    target: Target,
    pr: int,
    branch: str,
    sha: str,
    repository: str,
    *,
    timeout: float,
    poll: float,
    health_attempts: int = 12,
    queue: float = 0.0,
) -> Report:
    """Create or refresh the PR's preview and deploy ``sha`` to it. At the cap it waits in line up to ``queue``
    seconds for a slot (another pull request closing); still none: the report says so and ``up`` fails."""
    railway = clients.railway
    report = Report(
        pr, sha, target.name(pr), withheld=tuple(sorted(target.withhold)), fresh=tuple(sorted(target.fresh))
    )
    admission = admit(railway, target, pr)
    deadline = clients.clock() + queue
    while admission.preview is None and clients.clock() < deadline:
        # the cap: wait in line (bounded) for a slot, never pass the required check with nothing tested
        print(f"queued: {admission.reason}; looking again in {poll:.0f} s", flush=True)
        clients.sleep(poll)
        admission = admit(railway, target, pr)
    if admission.preview is None:
        report.note = f"No preview environment after waiting {queue:.0f} s in line: {admission.reason}."
        report.capped = True
        return report
    preview = admission.preview
    shape = prepare(railway, target, preview, branch, sleep=clients.sleep)
    report.backend_url = preview.backend_url
    _deploy_image_services(clients, target, preview, shape["instances"], timeout=timeout, poll=poll)
    deployment_id, _ = deploy(railway, target, preview, target.service_id, sha)
    report.backend_status = wait(railway, deployment_id, timeout=timeout, poll=poll, sleep=clients.sleep)
    if report.backend_status in LIVE:
        report.backend_health = check_health(
            report.backend_url, target.health_path, clients.check, health_attempts, clients.sleep
        )
    if clients.vercel is not None and report.backend_url:
        _point_frontend(clients.vercel, report, report.backend_url, repository, branch, sha)
    return report


def _deploy_image_services(
    clients: Clients, target: Target, preview: Preview, instances: Mapping[str, Any], *, timeout: float, poll: float
) -> None:
    """The database (and any other image service) deploys once, before the backend's first deploy.

    The backend's pre-deploy command migrates that database, so it must be up first; a rerun finds the
    deployment and waits for nothing.
    """
    for service_id in sorted(set(instances) - {target.service_id}):
        deployment_id, fresh = deploy(clients.railway, target, preview, service_id, None)
        if fresh:
            wait(clients.railway, deployment_id, timeout=timeout, poll=poll, sleep=clients.sleep)


def _point_frontend(vercel: Vercel, report: Report, backend: str, repository: str, branch: str, sha: str) -> None:
    """Point the branch's Vercel previews at the backend; build once when that changed; report the latest build.

    A Git build that ran before the variable existed baked staging's URL in, hence the one extra build.
    """
    if vercel.set_api_url(branch, backend):
        vercel.build(repository, branch, sha)
    latest = vercel.latest(branch)
    if latest is not None:
        report.frontend_url = f"https://{latest['url']}"
        report.frontend_status = str(latest.get("readyState") or latest.get("state") or "")


def down(clients: Clients, target: Target, pr: int, branch: str) -> Report:
    """Remove the PR's preview: its environment (database included) and its branch variable."""
    report = Report(pr, environment=target.name(pr))
    preview = find(clients.railway, target, pr)
    removed = []
    if preview is not None:
        try:
            clients.railway(ENVIRONMENT_DELETE, {"id": preview.environment_id})
        except PreviewError as error:
            if "not found" not in str(error).lower():  # removed meanwhile (a concurrent run, a prune): done
                raise
        removed.append(f"Railway environment `{preview.name}` (with its database)")
    if clients.vercel is not None and branch and clients.vercel.remove_branch(branch):
        removed.append(f"Vercel `{API_URL_VARIABLE}` of branch `{branch}`")
    report.note = "Preview removed: " + ("; ".join(removed) if removed else "nothing was left") + "."
    return report


def listing(
    railway: Railway, target: Target, now: datetime | None = None, vercel: Vercel | None = None
) -> list[dict[str, Any]]:
    """Live previews with their age (hours), branch, backend URL and (with Vercel) frontend URL, oldest first."""
    now = now or datetime.now(UTC)
    rows = []
    for preview in previews(railway, target):
        created = datetime.fromisoformat(preview.created_at.replace("Z", "+00:00"))
        branch = branch_of(railway, target, preview)
        latest = vercel.latest(branch) if vercel is not None and branch else None
        rows.append(
            {
                "pr": preview.pr,
                "environment": preview.name,
                "environment_id": preview.environment_id,
                "created_at": preview.created_at,
                "age_hours": round((now - created).total_seconds() / 3600, 1),
                "branch": branch,
                "backend_url": backend_url(railway, target, preview),
                "frontend_url": f"https://{latest['url']}" if latest else None,
            }
        )
    return rows


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _names(text: str) -> tuple[str, ...]:
    names = tuple(n for n in text.split(",") if n)
    if not all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", n) for n in names):
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of variable names")
    return names


def parser() -> argparse.ArgumentParser:
    main_parser = argparse.ArgumentParser(prog="pr_preview", description=__doc__.split("\n\n")[0])
    main_parser.add_argument("--prefix", default="pr-")
    main_parser.add_argument("--max-environments", type=_positive_int, default=5)
    main_parser.add_argument("--sleep", action=argparse.BooleanOptionalAction, default=True)
    main_parser.add_argument("--withhold", type=_names, default=(), help="NAME,NAME: never copied to a preview")
    main_parser.add_argument("--fresh", type=_names, default=(), help="NAME,NAME: a new random value per preview")
    main_parser.add_argument("--health-path", default="/api/health")
    main_parser.add_argument("--port", type=_positive_int, default=8000)
    commands = main_parser.add_subparsers(dest="command", required=True)
    up_parser = commands.add_parser("up", help="create or refresh the PR's preview")
    down_parser = commands.add_parser("down", help="remove the PR's preview")
    for sub in (up_parser, down_parser):
        sub.add_argument("--pr", type=_positive_int, required=True)
        sub.add_argument("--branch", default="")
    up_parser.add_argument("--sha", required=True)
    up_parser.add_argument("--timeout", type=float, default=900.0)
    up_parser.add_argument(
        "--queue", type=float, default=None, help="seconds to wait in line at the cap (default: --timeout)"
    )
    up_parser.add_argument("--poll", type=float, default=10.0)
    commands.add_parser("list", help="print the live previews as JSON lines")
    return main_parser


def clients_from_env(env: Mapping[str, str], http: Http | None = None) -> Clients:
    http = http or Http()
    railway = Railway(env.get("RAILWAY_PREVIEW_TOKEN", ""), env.get("RAILWAY_API_URL") or RAILWAY_API, http)
    vercel = None
    if env.get("VERCEL_TOKEN") and env.get("VERCEL_PROJECT_ID"):
        vercel = Vercel(
            env["VERCEL_TOKEN"], env["VERCEL_PROJECT_ID"], env.get("VERCEL_ORG_ID") or None,
            env.get("VERCEL_API_URL") or VERCEL_API, http,
        )  # fmt: skip
    github = None
    if env.get("GITHUB_TOKEN") and env.get("GITHUB_REPOSITORY"):
        github = GitHub(env["GITHUB_TOKEN"], env["GITHUB_REPOSITORY"], env.get("GITHUB_API_URL") or GITHUB_API, http)
    return Clients(railway, vercel, github)


def main(
    argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None, clients: Clients | None = None
) -> int:
    env = dict(os.environ) if env is None else env
    args = parser().parse_args(argv)
    try:
        target = _target(args, env)
        clients = clients or clients_from_env(env)
        if args.command == "list":
            for row in listing(clients.railway, target, vercel=clients.vercel):
                print(json.dumps(row, sort_keys=True))
            return 0
        if args.command == "up":
            repository = env.get("GITHUB_REPOSITORY", "")
            report = up(
                clients,
                target,
                args.pr,
                args.branch,
                args.sha,
                repository,
                timeout=args.timeout,
                poll=args.poll,
                queue=args.timeout if args.queue is None else args.queue,
            )
        else:
            report = down(clients, target, args.pr, args.branch)
        return _publish(args, env, clients, report)
    except PreviewError as error:
        print(f"::error::{error}")
        script_http.append(env, "GITHUB_STEP_SUMMARY", f"Preview {args.command} failed: {error}\n")
        return 1


def _target(args: argparse.Namespace, env: Mapping[str, str]) -> Target:
    """The ids from the GitHub environment, the shape from the command line (the workflow passes the config's)."""
    return Target.from_env(
        env,
        prefix=args.prefix,
        max_environments=args.max_environments,
        sleep=args.sleep,
        withhold=tuple(args.withhold),
        fresh=tuple(args.fresh),
        health_path=args.health_path,
        port=args.port,
    )


def _publish(args: argparse.Namespace, env: Mapping[str, str], clients: Clients, report: Report) -> int:
    """The report as the PR comment, the log and the job summary; the exit code says whether ``up`` deployed.

    A preview refused by the cap after its bounded wait fails ``up``: the required ``preview-e2e`` check must
    not pass on a pull request nothing was tested for (the comment says why; re-run once a slot is free).
    """
    text = report.markdown()
    if clients.github is not None:
        outcome = clients.github.comment(args.pr, text)
        print(f"pull request comment {outcome}")
    print(text)
    script_http.append(env, "GITHUB_STEP_SUMMARY", text)
    healthy = args.command == "down" or not report.backend_url or report.backend_status in LIVE
    if report.note and args.command == "up":
        print(f"::{'error' if report.capped else 'warning'}::{report.note}")
    return 0 if healthy and not report.capped else 1


if __name__ == "__main__":
    sys.exit(main())
