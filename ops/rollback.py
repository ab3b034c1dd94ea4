"""``rollback``: put the previous good deployment back in front of users, and check that it is healthy.

    python -m ops rollback backend  --stack production [--to DEPLOYMENT] [--yes]
    python -m ops rollback frontend --stack production [--to DEPLOYMENT] [--yes]

backend (Railway): from the live deployment (the newest SUCCESS one; the newest one when none is live)
to the previous deployment that went live and that Railway can roll back to (``canRollback``), or to
``--to``; sends ``deploymentRollback``, follows the deployment Railway creates until it is live, then
probes ``/api/health``. The choice is ``previous_successful_deployment`` of
workflows/scripts/railway_rollback.py — the same function the generated pipeline's automatic rollback
uses.

frontend (Vercel): promotes the newest production deployment older than the live one that SERVED the
production domains (or ``--to``) with ``POST /v10/projects/{id}/promote/{deployment}``, waits until it
serves them, then probes the site. A deployment the pipeline built with ``--skip-domain`` but never
promoted (its smoke tests or E2E failed: Vercel's ``readySubstate`` STAGED) never served anyone and was
never tested live: it is passed over, and ``--to`` refuses it (there is no flag to force it). The rule is
``served_production`` of workflows/scripts/vercel_production.py — the one the pipeline's automatic
rollback applies to the deployment it records before a promotion.

Both refuse (exit 2), changing nothing: when the outputs or the project they name are not the stack's;
when another mutating command runs on the stack (this machine's lock, ops/lock.py) or a rollback is already
under way on the platform (a rollback deployment in flight on Railway, a pending promotion on Vercel); when
there is nothing to roll back to or ``--to`` is not a deployment that can be rolled back to. On production
they ask you to type the stack's name unless ``--yes`` (no terminal and no ``--yes``: refused). The
deployment a rollback created is the one Railway made from THIS request (a rollback of the chosen
deployment, unseen before it was sent), never "the newest". Ctrl-C (exit 130) says whether the rollback
was already sent and how to follow it. Exit 0 when the rollback is live and healthy, 1 when it failed or
is unhealthy.
"""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from components.railway import operations as gql
from components.railway.client import RailwayClient
from components.railway.exactly_once import write_once
from ops import binding, health, vercel
from ops import railway_deploys as railway
from ops.cli import command
from ops.clock import short
from ops.console import FAILED, OK, StackCommand, Streams, Waiter, always, confirm
from ops.context import OpsError, StackContext

MAX_LOOKS = 10_000  # a hard bound on every polling loop, on top of its deadline
FRONTEND_TIMEOUT_SECONDS = 300.0
FRONTEND_POLL_SECONDS = 2.0


def register(subparsers: Any) -> None:
    parser = command(
        subparsers,
        "rollback",
        "roll the backend (Railway) or the frontend (Vercel) back to the previous good deployment",
        __doc__,
    )
    which = parser.add_subparsers(dest="target", required=True, metavar="{backend,frontend}")
    for name, action, what in (
        ("backend", rollback_backend, "Railway: roll back to the previous successful deployment"),
        ("frontend", rollback_frontend, "Vercel: promote the previous production deployment"),
    ):
        sub = command(which, name, what, __doc__, stack=True)
        sub.add_argument("--to", metavar="DEPLOYMENT", help="the deployment id to go back to (default: the previous)")
        sub.add_argument("--yes", action="store_true", help="do not ask for confirmation on production")
        sub.add_argument(
            "--timeout",
            type=float,
            metavar="SECONDS",
            help="how long to wait for it to be live and healthy (backend: backend.deployTimeoutSeconds; "
            f"frontend: {FRONTEND_TIMEOUT_SECONDS:.0f})",
        )
        sub.add_argument(
            "--poll",
            type=float,
            metavar="SECONDS",
            help="seconds between two looks (backend: backend.deployPollSeconds; "
            f"frontend: {FRONTEND_POLL_SECONDS:.0f})",
        )
        sub.set_defaults(handler=StackCommand(f"rollback {name}", action, mutating=always))


def _health_after(endpoint: health.Endpoint, waiter: Waiter, out: TextIO) -> bool:
    watches = health.check(
        [endpoint], wait=max(waiter.left(), 0.0), attempts=3, delay=max(waiter.poll, 0.5), progress=waiter.progress
    )
    return health.report(watches, out) == OK


# ---- backend (Railway) ------------------------------------------------------------------------------------------


def _backend_target(
    client: RailwayClient,
    service: railway.Service,
    deployments: list[railway.Deployment],
    current: railway.Deployment,
    wanted: str,
) -> railway.Deployment:
    found = next((d for d in deployments if d["id"] == wanted), None)
    if found is None:
        found = railway.get(client, wanted)
        if (found.get("serviceId"), found.get("environmentId")) != (service.service_id, service.environment_id):
            raise OpsError(f"deployment {wanted} is not one of this stack's backend ({service.label})")
    if found["id"] == current["id"] and current.get("status") in railway.LIVE:
        raise OpsError(f"deployment {wanted} is the live one already: nothing to roll back")
    if not found.get("canRollback"):
        raise OpsError(
            f"Railway cannot roll back to {wanted} ({found.get('status')}): only a deployment that went live "
            "and was replaced can be rolled back to"
        )
    return found


def _backend_plan(
    ctx: StackContext, args: argparse.Namespace, client: RailwayClient, service: railway.Service, out: TextIO
) -> tuple[list[railway.Deployment], railway.Deployment, railway.Deployment]:
    """(deployments, current, target), printed as the plan; a refusal when a rollback is already under way
    on Railway or there is nothing to roll back to."""
    deployments = service.deployments(client)
    if not deployments:
        raise OpsError(f"nothing to roll back to: the backend ({service.label}) has no deployments")
    running = railway.rollback_in_flight(deployments)
    if running is not None:
        raise OpsError(
            f"a rollback is already under way on Railway: {railway.describe(running)}; nothing was done. "
            f"Follow it with `python -m ops status --stack {ctx.stack}` and decide once it has finished"
        )
    current = railway.live(deployments) or deployments[0]
    if args.to:
        target = _backend_target(client, service, deployments, current, args.to)
    else:
        found, passed_over = railway.rollback_target(deployments, current["id"])
        for reason in passed_over:  # a deployment we rolled back from is never a target: say so
            print(f"  note: not {reason}", file=out)
        if found is None:
            raise OpsError(
                f"nothing to roll back to: no deployment before {current['id']} went live, was not rolled back "
                "from, and can be rolled back to (Railway keeps the recent ones). A git revert and a new "
                "deploy is the way forward."
            )
        target = found
    now = "now (live):" if current.get("status") in railway.LIVE else "now (newest, not live):"
    plan = [
        f"backend of {ctx.stack} — {service.label}",
        f"  {now:<14} {railway.describe(current)}",
        f"  {'roll back to:':<14} {railway.describe(target)}",
    ]
    for newer in deployments:
        if newer is current:
            break
        if newer.get("status") not in railway.FINISHED:
            plan.append(f"  note: {newer['id']} is {newer['status']}; if it goes live later it replaces the rollback")
    print("\n".join(plan), file=out, flush=True)
    return deployments, current, target


def _send_rollback(
    ctx: StackContext,
    client: RailwayClient,
    service: railway.Service,
    known: set[str],
    target_id: str,
    io: Streams,
    waiter: Waiter,
) -> railway.Deployment | None:
    """Send the rollback exactly once; the deployment Railway made for it, or None (said why on stdout)."""
    follow = f"python -m ops status --stack {ctx.stack}"
    what = f"Railway's rollback of the {ctx.stack} backend to deployment {target_id}"
    # exactly once: a rollback whose answer was lost is looked for (a rollback of target_id that was not
    # there before) before it is ever sent again
    with io.journal.sending(what, follow):
        outcome = write_once(
            client,
            f"rollback to {target_id}",
            find=lambda: railway.rollback_of(service.deployments(client), target_id, known),
            send=lambda: client.execute(gql.DEPLOYMENT_ROLLBACK, {"id": target_id}),
            look_first=False,
        )
    if outcome.value.get("deploymentRollback") is False:
        print(f"Railway refused to roll back to {target_id}; nothing changed", file=io.out)
        return None
    io.journal.started("rollback", what, follow)
    created: railway.Deployment | None = outcome.value if "id" in outcome.value else None
    for _ in range(MAX_LOOKS):
        if created is not None or not waiter.pause("waiting for Railway to create the rollback deployment"):
            break
        created = railway.rollback_of(service.deployments(client), target_id, known)
    if created is None:
        print(
            f"Railway accepted the rollback but showed no rollback deployment of {target_id} within "
            f"{waiter.timeout:.0f}s; `{follow}` shows what it does",
            file=io.out,
        )
        return None
    io.journal.started("rollback", f"{what} (deployment {created['id']})", follow)
    return created


def rollback_backend(ctx: StackContext, args: argparse.Namespace, io: Streams) -> int:
    out = io.out
    service = railway.Service.of(ctx)
    endpoint = health.endpoints_of(ctx)[0]
    timeout = args.timeout if args.timeout is not None else float(ctx.config.backend.deploy_timeout_seconds)
    poll = args.poll if args.poll is not None else ctx.config.backend.deploy_poll_seconds
    waiter = Waiter(timeout, poll, io.err)
    client = ctx.railway()
    try:
        binding.railway_project(ctx, client)
        deployments, current, target = _backend_plan(ctx, args, client, service, out)
        confirm(
            ctx.stack,
            f"roll back the {ctx.stack} backend to deployment {target['id']} (commit {short(railway.commit(target))})",
            yes=args.yes,
            stdin=io.stdin,
            err=io.err,
            journal=io.journal,
        )
        target_id = str(target["id"])
        created = _send_rollback(ctx, client, service, {str(d["id"]) for d in deployments}, target_id, io, waiter)
        if created is None:
            return FAILED
        status = str(created.get("status"))
        for _ in range(MAX_LOOKS):
            status = str(railway.get(client, str(created["id"])).get("status"))
            if status in railway.FINISHED or not waiter.pause(f"rollback deployment {created['id']}: {status}"):
                break
    finally:
        client.close()

    if status not in railway.FINISHED:
        print(
            f"rollback deployment {created['id']} is still {status} after {timeout:.0f}s: Railway goes on with it; "
            f"`python -m ops status --stack {ctx.stack}` shows whether it goes live",
            file=out,
        )
        return FAILED
    if status not in railway.LIVE:
        print(
            f"rollback deployment {created['id']}: {status}\n"
            f"FAILED: the rollback deployment is {status}; {current['id']} is still what Railway had before. "
            "See docs/oncall.md.",
            file=out,
        )
        return FAILED
    print(f"rollback deployment {created['id']}: {status}", file=out)
    before, after = short(railway.commit(current)), short(railway.commit(target))
    return _finish(
        endpoint,
        waiter,
        out,
        f"changed: backend of {ctx.stack} now runs commit {after} (deployment {created['id']}, a copy of "
        f"{target_id}) instead of commit {before} (deployment {current['id']})",
    )


def _finish(endpoint: health.Endpoint, waiter: Waiter, out: TextIO, change: str) -> int:
    """After a rollback went live: wait for health, say what changed, and exit 0 only when healthy."""
    healthy = _health_after(endpoint, waiter, out)
    print(change, file=out)
    print("healthy" if healthy else "UNHEALTHY after the rollback: see docs/oncall.md", file=out)
    return OK if healthy else FAILED


# ---- frontend (Vercel) ------------------------------------------------------------------------------------------


def _frontend_target(
    stack: str,
    client: vercel.VercelClient,
    project_id: str,
    deployments: list[vercel.Deployment],
    current_id: str | None,
    wanted: str,
) -> vercel.Deployment:
    found = next((d for d in deployments if vercel.id_of(d) == wanted), None)
    if found is None:
        try:
            found = client.deployment(wanted)
        except vercel.VercelError as exc:
            if exc.status in (400, 404):
                raise OpsError(f"there is no Vercel deployment {wanted!r}") from None
            raise
        if found.get("projectId") not in (None, project_id):
            raise OpsError(f"deployment {wanted} belongs to another Vercel project, not {project_id}")
        if found.get("target") != "production":
            raise OpsError(
                f"deployment {wanted} is a preview deployment: promoting it would build it anew for production; "
                "only production deployments are rolled back to"
            )
    if vercel.id_of(found) == current_id:
        raise OpsError(f"deployment {wanted} serves production already: nothing to roll back")
    if vercel.state_of(found) != vercel.READY:
        raise OpsError(f"deployment {wanted} is {vercel.state_of(found)}, not READY: it cannot serve production")
    if not vercel.served_production(found):
        raise OpsError(
            f"deployment {wanted} never served production (readySubstate {found.get('readySubstate') or '-'}: "
            "built but never promoted, e.g. its smoke tests or E2E failed): rolling back to it would put untested "
            f"code live; pick one that served (`python -m ops status --stack {stack}` lists them)"
        )
    return found


def rollback_frontend(ctx: StackContext, args: argparse.Namespace, io: Streams) -> int:
    stdin, out, err, journal = io.stdin, io.out, io.err, io.journal
    project_id = vercel.project_of(ctx)
    endpoint = health.endpoints_of(ctx)[1]
    waiter = Waiter(
        args.timeout if args.timeout is not None else FRONTEND_TIMEOUT_SECONDS,
        args.poll if args.poll is not None else FRONTEND_POLL_SECONDS,
        err,
    )
    follow = f"python -m ops status --stack {ctx.stack}"
    with vercel.client_for(ctx) as client:
        project = client.project(project_id)
        binding.vercel_project(ctx, project)
        deployments = vercel.newest_first(client.production_deployments(project_id))
        pending_to, job = vercel.alias_job(project)
        if job in vercel.PENDING_ALIAS:
            raise OpsError(
                f"a promotion to {pending_to} is already {job} on Vercel: nothing was done; wait for it "
                f"(`{follow}`) and try again"
            )
        current_id = vercel.production_deployment_id(project, deployments)
        current = next((d for d in deployments if vercel.id_of(d) == current_id), None)
        if args.to:
            target = _frontend_target(ctx.stack, client, project_id, deployments, current_id, args.to)
        else:
            found = vercel.previous_production_deployment(deployments, current_id)
            staged = vercel.never_served(deployments, current_id)
            if found is None:
                skipped = f" ({len(staged)} never promoted, passed over)" if staged else ""
                raise OpsError(
                    f"nothing to roll back to: no production deployment older than {current_id or '(none)'} that "
                    f"served the production domains among the last {len(deployments)}{skipped}; a git revert and "
                    "a new deploy is the way forward"
                )
            for passed in staged:
                if vercel.created_ms(passed) > vercel.created_ms(found):
                    print(f"  note: not {vercel.id_of(passed)}: built but never promoted (never served)", file=out)
            target = found
        target_id = vercel.id_of(target)
        now = vercel.describe(current) if current is not None else (current_id or "(none)")
        print(
            f"frontend of {ctx.stack} — Vercel project {ctx.config.frontend.project_name} ({project_id})\n"
            f"  {'now (live):':<14} {now}\n"
            f"  {'promote:':<14} {vercel.describe(target)}",
            file=out,
            flush=True,
        )
        confirm(
            ctx.stack,
            f"promote Vercel deployment {target_id} (commit {short(vercel.commit_of(target))}) to production "
            f"of {ctx.stack}",
            yes=args.yes,
            stdin=stdin,
            err=err,
            journal=journal,
        )
        what = f"Vercel's promotion of deployment {target_id} to the production domains of {ctx.stack}"
        with journal.sending(what, follow):
            answer = client.promote(project_id, target_id)  # promoting twice is harmless: no duplicate to fear
        journal.started("promotion", what, follow)
        serving, job = current_id, None
        for _ in range(MAX_LOOKS):
            project = client.project(project_id)
            serving = vercel.production_deployment_id(project, [])
            to, job = vercel.alias_job(project)
            if job == "failed" and to == target_id:
                break
            if serving == target_id and job not in vercel.PENDING_ALIAS:
                break
            if not waiter.pause(f"promotion of {target_id}: {job or f'HTTP {answer}'}"):
                break
    if serving != target_id:
        state = f"the promotion is {job}" if job else "the production domains did not move"
        print(f"FAILED: {state}; production still serves {serving or '(unknown)'}. See docs/oncall.md.", file=out)
        return FAILED
    before = short(vercel.commit_of(current)) if current is not None else "-"
    return _finish(
        endpoint,
        waiter,
        out,
        f"changed: frontend of {ctx.stack} now serves commit {short(vercel.commit_of(target))} (deployment "
        f"{target_id}) instead of commit {before} (deployment {current_id or '(none)'})",
    )
