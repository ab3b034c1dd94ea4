"""``status``: what a stack is serving now, and whether its public endpoints are healthy.

    python -m ops status --stack production [--outputs FILE] [--history N]

Shows the backend's live Railway deployment and the latest ones before it, the frontend's production
Vercel deployment and the previous ones (ids, commits, ages, states), the last Vercel promotion if one
is under way or failed, every active alert rule (trigger, channel, who is mailed, how fast; the stack
output ``alert_rules``), then one health probe of each public endpoint (see ``ops health``).
Exit status: 0 all read and healthy; 1 an endpoint is unhealthy or a platform could not be read;
2 a configuration or credentials problem (the message says what to set).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, TextIO

from ops import health, vercel
from ops import railway_deploys as railway
from ops.cli import command
from ops.clock import clock, utc_now
from ops.console import FAILED, OK, Streams, run_guarded
from ops.context import StackContext


def register(subparsers: Any) -> None:
    parser = command(
        subparsers,
        "status",
        "live deployments (Railway, Vercel), their commits, ages and states, and endpoint health",
        __doc__,
        stack=True,
    )
    parser.add_argument("--history", type=int, default=5, help="deployments shown per platform (default 5)")
    parser.set_defaults(handler=run)


def _backend(ctx: StackContext, history: int, out: TextIO) -> int:
    service = railway.Service.of(ctx)
    print(f"backend — {service.label}", file=out)
    client = ctx.railway()
    try:
        deployments = service.deployments(client)
    finally:
        client.close()
    current = railway.live(deployments)
    if current is None:
        print("  live       (none: no deployment of this service is live)", file=out)
    for deployment in deployments[: max(1, history)]:
        role = "live" if deployment is current else ""
        print(f"  {role:<10} {railway.describe(deployment)}", file=out)
    if not deployments:
        print("  (no deployments)", file=out)
    newer = [d for d in deployments if current is not None and d is not current and d["status"] not in railway.FINISHED]
    for deployment in newer[:1]:
        print(f"  note: deployment {deployment['id']} is {deployment['status']} and may replace the live one", file=out)
    return OK if current is not None else FAILED


def _frontend(ctx: StackContext, history: int, out: TextIO) -> int:
    project_id = vercel.project_of(ctx)
    print(f"frontend — Vercel project {ctx.config.frontend.project_name} ({project_id})", file=out)
    with vercel.client_for(ctx) as client:
        project = client.project(project_id)
        deployments = vercel.newest_first(client.production_deployments(project_id))
    current_id = vercel.production_deployment_id(project, deployments)
    shown = deployments[: max(1, history)]
    if current_id and all(vercel.id_of(d) != current_id for d in shown):
        shown = [d for d in deployments if vercel.id_of(d) == current_id][:1] + shown
    for deployment in shown:
        role = "production" if vercel.id_of(deployment) == current_id else ""
        print(f"  {role:<10} {vercel.describe(deployment)}", file=out)
    if current_id is None:
        print("  production (none: no READY production deployment)", file=out)
    target, job = vercel.alias_job(project)
    if job and job != "succeeded":
        print(f"  note: the last promotion (to {target}) is {job}", file=out)
    return OK if current_id is not None else FAILED


def _alerts(ctx: StackContext, out: TextIO) -> int:
    """The stack's active alert rules, from its ``alert_rules`` output (what ``pulumi up`` declared)."""
    rules = ctx.outputs.get("alert_rules")
    if not isinstance(rules, list):
        print("alerts — the stack has no alert_rules output yet: run `pulumi up` (docs/monitoring.md)", file=out)
        return OK  # informational: the exit status stays about what is served and its health
    print(f"alerts — {len(rules)} active rule(s)", file=out)
    for rule in rules:
        if not isinstance(rule, dict):
            continue
        latency = rule.get("latency_seconds")
        fast = f"≤ {latency} s" if isinstance(latency, int) else "event-driven"
        print(f"  {rule.get('trigger')}", file=out)
        print(f"      detected by {rule.get('detected_by')}; mails {rule.get('mails')}; {fast}", file=out)
    if not rules:
        print("  (none: maya-infra:monitoring is not set, so nobody is alerted)", file=out)
    return OK


def run(args: argparse.Namespace, io: Streams) -> int:
    out, err, env = io.out, io.err, io.env

    def body() -> int:
        ctx = StackContext.load(args.stack, args.outputs, env)
        print(f"stack {ctx.stack} — {clock(utc_now())}", file=out)
        codes = []
        sections: list[tuple[str, Callable[[], int]]] = [
            ("backend", lambda: _backend(ctx, args.history, out)),
            ("frontend", lambda: _frontend(ctx, args.history, out)),
        ]
        for name, section in sections:
            platform = "railway" if name == "backend" else "vercel"
            platforms = ctx.outputs.get("platforms")
            if isinstance(platforms, list) and platform not in platforms:
                print(f"{name} — {platform} is left out of this stack (maya-infra:platforms)", file=out)
                continue
            # a section that cannot be read says why in place, and the others still run
            codes.append(run_guarded(f"status ({name})", out, section))
        codes.append(run_guarded("status (alerts)", out, lambda: _alerts(ctx, out)))
        print("endpoints", file=out, flush=True)
        watches = health.check(health.endpoints_of(ctx), attempts=1)
        codes.append(health.report(watches, out))
        return max(codes)

    return run_guarded("status", err, body)
