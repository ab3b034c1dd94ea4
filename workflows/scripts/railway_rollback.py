"""Deploy, verify and roll back one Railway service. Standard library only.

maya-infra inlines this file into the backend workflow's deploy job (workflows/backend.py), so it must
run on a bare runner's ``python3`` with no installed package; ``python -m ops`` can import it too. It
talks to Railway's public GraphQL API with the environment's project token (header
``Project-Access-Token``) and reads the ids from the environment: RAILWAY_TOKEN, RAILWAY_PROJECT_ID,
RAILWAY_ENVIRONMENT_ID, RAILWAY_SERVICE_ID (RAILWAY_API_URL overrides the endpoint).

Commands:
  deploy --commit SHA       deploy exactly this commit once (a re-run adopts the deployment it made) and wait
                            for it; ``deployment_id`` goes to $GITHUB_OUTPUT as soon as it is known. While
                            another deployment of the service is in flight (``pulumi up``'s redeploy, a
                            dashboard deploy), it waits, bounded by --timeout, then refuses
  verify --deployment ID    the live deployment is ID, and it went live through its pre-deploy (migration) gate
  rollback --current ID     roll back from deployment ID to the last deployment that was live and healthy
                            before it, and wait for it; without an ID it refuses rather than guess

The trigger's automatic deploys are off (maya-infra turns them off): this script is the only deploy path,
so the deployment it verifies, health-checks and rolls back is the one that is live.

Every command writes what it did to $GITHUB_STEP_SUMMARY when that variable is set.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING or __package__:  # a sibling of an inlined script: see workflows/scripts/__init__.py
    from workflows.scripts import script_http
else:
    import script_http

API_URL = "https://backboard.railway.com/graphql/v2"
USER_AGENT = "maya-infra-railway-rollback/1"

DEPLOYMENTS_QUERY = """
query Deployments($input: DeploymentListInput!, $first: Int) {
  deployments(input: $input, first: $first) {
    edges { node { id status createdAt canRollback meta } }
  }
}
"""
DEPLOYMENT_QUERY = """
query Deployment($id: String!) {
  deployment(id: $id) { id status createdAt canRollback meta }
}
"""
ROLLBACK_MUTATION = """
mutation DeploymentRollback($id: String!) {
  deploymentRollback(id: $id)
}
"""
CANCEL_MUTATION = """
mutation DeploymentCancel($id: String!) {
  deploymentCancel(id: $id)
}
"""
DEPLOY_MUTATION = """
mutation ServiceInstanceDeployV2($serviceId: String!, $environmentId: String!, $commitSha: String) {
  serviceInstanceDeployV2(serviceId: $serviceId, environmentId: $environmentId, commitSha: $commitSha)
}
"""
DOCUMENTS = (DEPLOYMENTS_QUERY, DEPLOYMENT_QUERY, ROLLBACK_MUTATION, CANCEL_MUTATION, DEPLOY_MUTATION)

# Statuses of Railway's DeploymentStatus enum, grouped by what they mean for a rollback.
LIVE = frozenset({"SUCCESS", "SLEEPING"})  # serving (or ready to serve) traffic now
SERVED_BEFORE = frozenset({"SUCCESS", "SLEEPING", "REMOVED"})  # REMOVED: replaced by a newer deployment
FAILED = frozenset({"FAILED", "CRASHED"})
FINISHED = LIVE | FAILED | frozenset({"REMOVED", "REMOVING", "SKIPPED"})
#: Building or starting: a deploy begun now would replace it half-way (Railway supersedes it), so it is waited for.
IN_FLIGHT = frozenset({"QUEUED", "WAITING", "INITIALIZING", "BUILDING", "DEPLOYING"})
RETRY_HTTP = frozenset({429, 500, 502, 503, 504})

Deployment = Mapping[str, Any]


class RailwayError(RuntimeError):
    """The API answered with errors, or could not be reached after bounded retries."""


# --- pure decisions (unit-tested) ------------------------------------------------------------------


#: Railway's answers that say nothing of whether a write landed (a 5xx in GraphQL clothing).
GENERIC_ERRORS = ("problem processing request", "internal server error")


class AmbiguousError(RailwayError):
    """A write was sent but its answer was lost: it may have happened. Look before sending it again."""


def _generic(problems: Sequence[Mapping[str, Any]]) -> bool:
    first = problems[0]
    code = (first.get("extensions") or {}).get("code")
    return (
        code == "INTERNAL_SERVER_ERROR" or str(first.get("message", "")).lower().strip().rstrip(".") in GENERIC_ERRORS
    )


def _created(deployment: Deployment) -> datetime:
    return datetime.fromisoformat(str(deployment["createdAt"]).replace("Z", "+00:00"))


def newest_first(deployments: Sequence[Deployment]) -> list[Deployment]:
    return sorted(deployments, key=_created, reverse=True)


def deployment_after(deployments: Sequence[Deployment], after_id: str | None) -> Deployment | None:
    """The oldest deployment newer than ``after_id`` (the one a deploy created), or the newest without it."""
    ordered = newest_first(deployments)
    if not after_id:
        return ordered[0] if ordered else None
    ids = [d["id"] for d in ordered]
    if after_id not in ids:
        return ordered[0] if ordered else None
    newer = ordered[: ids.index(after_id)]
    return newer[-1] if newer else None


def _meta(deployment: Deployment) -> Mapping[str, Any]:
    meta = deployment.get("meta")
    return meta if isinstance(meta, Mapping) else {}


def commit_of(deployment: Deployment) -> str:
    return str(_meta(deployment).get("commitHash") or "")


def source_of(deployment: Deployment) -> str:
    """What a deployment runs: a rollback is a copy of its source deployment, and runs the same."""
    meta = _meta(deployment)
    return (
        str(meta.get("sourceDeploymentId") or deployment["id"])
        if meta.get("reason") == "rollback"
        else str(deployment["id"])
    )


def rolled_back_from(deployments: Sequence[Deployment]) -> dict[str, str]:
    """Deployment id -> the rollback that replaced it: each was live when a rollback was made, so it was bad."""
    ordered = list(reversed(newest_first(deployments)))  # oldest first
    found: dict[str, str] = {}
    for index, deployment in enumerate(ordered):
        if _meta(deployment).get("reason") != "rollback":
            continue
        before = [d for d in ordered[:index] if d["status"] in SERVED_BEFORE and d["id"] != source_of(deployment)]
        if before:
            found[str(before[-1]["id"])] = str(deployment["id"])
    return found


def rollback_target(deployments: Sequence[Deployment], current_id: str) -> tuple[Deployment | None, list[str]]:
    """The last deployment that was live and healthy before ``current_id``, and why newer ones were passed over.

    Candidates are older than ``current_id``, went live (SUCCESS, SLEEPING, or REMOVED once replaced) and can
    be rolled back to. Passed over, with the reason in the second value: a deployment that was itself rolled
    back from (it was live when someone rolled back: it was bad), and one that runs what is live now (a
    rollback's source). So a second rollback never returns to the bad deployment of the first.
    """
    ordered = newest_first(deployments)
    ids = [d["id"] for d in ordered]
    older = ordered[ids.index(current_id) + 1 :] if current_id in ids else ordered
    current = next((d for d in ordered if d["id"] == current_id), None)
    running = source_of(current) if current is not None else current_id
    bad = rolled_back_from(deployments)
    skipped: list[str] = []
    for deployment in older:
        if deployment["id"] == current_id or deployment["status"] not in SERVED_BEFORE:
            continue
        if deployment["id"] in bad:
            skipped.append(f"{deployment['id']}: rolled back from (by {bad[deployment['id']]})")
        elif source_of(deployment) == running:
            skipped.append(f"{deployment['id']}: runs the same as the current deployment")
        elif deployment.get("canRollback"):
            return deployment, skipped
    return None, skipped


def previous_successful_deployment(deployments: Sequence[Deployment], current_id: str) -> Deployment | None:
    """The rollback target of :func:`rollback_target`, without the reasons (``python -m ops`` imports it)."""
    return rollback_target(deployments, current_id)[0]


@dataclass(frozen=True)
class Plan:
    """What to do about a deployment that failed its checks: ``rollback``, ``cancel`` or ``nothing``."""

    action: str
    target: Deployment | None
    reason: str


def plan_rollback(deployments: Sequence[Deployment], current_id: str) -> Plan:
    """Decide how to get back to a healthy deployment after ``current_id`` failed verification."""
    current = next((d for d in deployments if d["id"] == current_id), None)
    if current is None:
        return Plan("nothing", None, f"deployment {current_id} is not among the service's recent deployments")
    if current["status"] not in LIVE:
        # It never went live: Railway keeps serving the previous deployment. Stop it from going live later.
        still_live = next((d for d in newest_first(deployments) if d["status"] in LIVE and d["id"] != current_id), None)
        where = f"Railway still serves {still_live['id']}" if still_live else "no other deployment is live"
        if current["status"] in FINISHED:
            return Plan("nothing", still_live, f"deployment {current_id} ended {current['status']}; {where}")
        return Plan("cancel", still_live, f"deployment {current_id} is still {current['status']}; {where}")
    target, skipped = rollback_target(deployments, current_id)
    passed_over = f" (passed over: {'; '.join(skipped)})" if skipped else ""
    if target is None:
        return Plan("nothing", None, f"no deployment before {current_id} can be rolled back to{passed_over}")
    return Plan(
        "rollback",
        target,
        f"deployment {current_id} is live but unhealthy; rolling back to {target['id']}{passed_over}",
    )


# --- the API -------------------------------------------------------------------------------------------

Transport = Callable[[urllib.request.Request, float], bytes]


def _urlopen(request: urllib.request.Request, timeout: float) -> bytes:
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - scheme checked in Railway()
        body: bytes = response.read()
        return body


class Railway:
    """A minimal GraphQL client: one token, bounded retries on throttling and transient errors."""

    def __init__(
        self,
        token: str,
        url: str = API_URL,
        *,
        attempts: int = 4,
        timeout: float = 30.0,
        transport: Transport = _urlopen,
        sleep: Callable[[float], None] = time.sleep,
        bearer: bool = False,
    ) -> None:
        """``bearer``: an account or workspace token (``Authorization: Bearer``), not a project token."""
        if not token:
            raise RailwayError("RAILWAY_TOKEN is empty: the deploy job's environment must provide it")
        if not script_http.is_safe(url):
            raise RailwayError(f"{url!r}: the Railway API is reached over https only")
        self._token = token
        self._url = url
        self._attempts = attempts
        self._timeout = timeout
        self._transport = transport
        self._sleep = sleep
        self._auth = {"Authorization": f"Bearer {token}"} if bearer else {"Project-Access-Token": token}

    def execute(self, document: str, variables: Mapping[str, Any], *, idempotent: bool = True) -> dict[str, Any]:
        """Send one document with bounded retries. A non-idempotent one (a rollback) is resent only when
        Railway surely did not process it (429, connection refused); otherwise :class:`AmbiguousError`."""
        payload = json.dumps({"query": document, "variables": dict(variables)}).encode()
        headers = {"Content-Type": "application/json", **self._auth, "User-Agent": USER_AGENT}
        last_error = ""
        for attempt in range(1, self._attempts + 1):
            request = urllib.request.Request(self._url, data=payload, headers=headers, method="POST")  # noqa: S310
            maybe_done = False
            try:
                answer = json.loads(self._transport(request, self._timeout))
            except urllib.error.HTTPError as error:
                last_error = f"HTTP {error.code}"
                if error.code not in RETRY_HTTP:
                    raise RailwayError(f"Railway API answered {last_error}") from None
                maybe_done = error.code != 429
                delay = _retry_after(error.headers.get("Retry-After") if error.headers else None, attempt)
            except (OSError, http.client.HTTPException, json.JSONDecodeError) as error:  # no answer, or half of one
                last_error = type(error).__name__
                maybe_done = not isinstance(getattr(error, "reason", None), ConnectionRefusedError)
                delay = _retry_after(None, attempt)
            else:
                problems = answer.get("errors") or []
                messages = "; ".join(str(e.get("message")) for e in problems)
                if problems and not _generic(problems):
                    raise RailwayError(f"Railway API error: {messages}")
                if not problems:
                    data: dict[str, Any] = answer.get("data") or {}
                    return data
                last_error, maybe_done, delay = messages, True, _retry_after(None, attempt)
            if maybe_done and not idempotent:
                raise AmbiguousError(f"Railway API: {last_error} after the request was sent; it may have happened")
            if attempt < self._attempts:
                self._sleep(delay)
        raise RailwayError(f"Railway API unreachable after {self._attempts} attempt(s) ({last_error})")

    def deployments(self, project_id: str, environment_id: str, service_id: str, first: int = 20) -> list[Deployment]:
        data = self.execute(
            DEPLOYMENTS_QUERY,
            {
                "input": {"projectId": project_id, "environmentId": environment_id, "serviceId": service_id},
                "first": first,
            },
        )
        return [edge["node"] for edge in data["deployments"]["edges"]]

    def deployment(self, deployment_id: str) -> Deployment:
        node: Deployment = self.execute(DEPLOYMENT_QUERY, {"id": deployment_id})["deployment"]
        return node

    def rollback(self, deployment_id: str) -> bool:
        """Not idempotent (each call makes a deployment): see :func:`rollback_once`."""
        return bool(self.execute(ROLLBACK_MUTATION, {"id": deployment_id}, idempotent=False)["deploymentRollback"])

    def cancel(self, deployment_id: str) -> bool:
        return bool(self.execute(CANCEL_MUTATION, {"id": deployment_id})["deploymentCancel"])

    def deploy(self, project_id: str, environment_id: str, service_id: str, commit: str) -> str:
        """Ask Railway to deploy ``commit``, once: an unanswered request is never simply sent again."""
        variables = {"serviceId": service_id, "environmentId": environment_id, "commitSha": commit}
        return str(self.execute(DEPLOY_MUTATION, variables, idempotent=False)["serviceInstanceDeployV2"])


def _retry_after(header: str | None, attempt: int) -> float:
    if header and header.strip().isdigit():
        return min(float(header.strip()), 60.0)
    return min(2.0**attempt, 30.0)


# --- commands ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    project_id: str
    environment_id: str
    service_id: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Target:
        names = ("RAILWAY_PROJECT_ID", "RAILWAY_ENVIRONMENT_ID", "RAILWAY_SERVICE_ID")
        missing = [name for name in names if not env.get(name)]
        if missing:
            raise RailwayError(f"{', '.join(missing)} not set: they are variables of the GitHub environment")
        return cls(env["RAILWAY_PROJECT_ID"], env["RAILWAY_ENVIRONMENT_ID"], env["RAILWAY_SERVICE_ID"])


_append = script_http.append  # to $GITHUB_OUTPUT and $GITHUB_STEP_SUMMARY


def _list(client: Railway, target: Target) -> list[Deployment]:
    return client.deployments(target.project_id, target.environment_id, target.service_id)


deployments_of = _list  # the name the sibling scripts use


def live_deployment(deployments: Sequence[Deployment]) -> Deployment | None:
    """The deployment serving now (the newest live one), or None."""
    return next((d for d in newest_first(deployments) if d["status"] in LIVE), None)


def in_flight(deployments: Sequence[Deployment]) -> list[Deployment]:
    """Deployments still building or starting, newest first."""
    return [d for d in newest_first(deployments) if d["status"] in IN_FLIGHT]


def wait_until_quiet(
    client: Railway,
    target: Target,
    *,
    timeout: float,
    poll: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[Deployment]:
    """The service's deployments once none is in flight; waits (bounded), then refuses.

    The deploy paths of the backend — CI's deploy job and ``pulumi up``'s redeploy (components/railway/
    providers/deploy.py) — live in two systems that share no concurrency group. Railway serialises them
    badly: a new deployment supersedes one in flight, so the first path would verify, health-check or roll
    back something that was replaced under it. So each path waits while the service has a deployment in
    flight before it starts its own, and refuses with one line after ``timeout``.
    """
    deadline = clock() + timeout
    while True:
        deployments = _list(client, target)
        busy = in_flight(deployments)
        if not busy:
            return deployments
        if clock() >= deadline:
            raise RailwayError(
                f"deployment {busy[0]['id']} of the service is still {busy[0]['status']} after {timeout:.0f} s "
                "(another deploy: CI or `pulumi up`); nothing deployed — wait for it and run again"
            )
        print(f"waiting: deployment {busy[0]['id']} is {busy[0]['status']} (another deploy of this service)")
        sleep(poll)


def wait_for(
    client: Railway,
    target: Target,
    after_id: str | None,
    *,
    timeout: float,
    poll: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Deployment | None:
    """Poll until a deployment newer than ``after_id`` exists and has finished, or until ``timeout``."""
    deadline = clock() + timeout
    latest: Deployment | None = None
    while True:
        latest = deployment_after(_list(client, target), after_id)
        if latest is not None and latest["status"] in FINISHED:
            return latest
        if clock() >= deadline:
            return latest
        sleep(poll)


def of_commit(deployments: Sequence[Deployment], commit: str) -> Deployment | None:
    """The newest deployment of ``commit`` that CI made (not a rollback's copy) and that may still go live."""
    for deployment in newest_first(deployments):
        made = _meta(deployment).get("reason") != "rollback" and commit_of(deployment) == commit
        if made and deployment["status"] not in FAILED | frozenset({"REMOVED", "REMOVING", "SKIPPED"}):
            return deployment
    return None


def _start_deploy(
    client: Railway,
    target: Target,
    commit: str,
    *,
    timeout: float = 900.0,
    poll: float = 10.0,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[str, str]:
    """(deployment id, how it was had): adopt this commit's deployment if a first run made one, else wait while
    another deployment is in flight (:func:`wait_until_quiet`) and deploy once.

    A request whose answer was lost may have landed: the list is read again, and only when it shows no
    deployment of the commit is the request sent a second (and last) time.
    """
    existing = of_commit(_list(client, target), commit)
    if existing is not None:
        return str(existing["id"]), f"adopted {existing['id']} ({existing['status']}): this commit's earlier deploy"
    existing = of_commit(wait_until_quiet(client, target, timeout=timeout, poll=poll, sleep=sleep), commit)
    if existing is not None:
        return str(existing["id"]), f"adopted {existing['id']} ({existing['status']}): this commit's earlier deploy"
    last_error: RailwayError | None = None
    for _ in range(2):
        try:
            return client.deploy(target.project_id, target.environment_id, target.service_id, commit), "deployed"
        except RailwayError as error:
            last_error = error
        landed = of_commit(_list(client, target), commit)
        if landed is not None:
            return str(landed["id"]), f"the request's answer was lost but {landed['id']} shows it landed"
    raise RailwayError(f"Railway did not deploy commit {commit}: {last_error}")


def rollback_once(
    client: Railway,
    target: Target,
    deployment_id: str,
    *,
    settle: float,
    poll: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> bool:
    """Roll back exactly once: when the answer was lost, look for the rollback's deployment for ``settle``
    seconds before deciding it did not happen and sending it (once) more."""
    newest = deployment_after(_list(client, target), None)
    before = newest["id"] if newest else None
    try:
        return client.rollback(deployment_id)
    except AmbiguousError as error:
        print(f"{error}; looking for the rollback deployment before deciding")
    deadline = clock() + settle
    while True:
        if deployment_after(_list(client, target), before) is not None:
            return True  # it did happen
        if clock() >= deadline:
            break
        sleep(poll)
    print("no rollback deployment appeared: the rollback did not happen, sending it again")
    return client.rollback(deployment_id)


def cmd_deploy(
    client: Railway,
    target: Target,
    env: Mapping[str, str],
    commit: str,
    timeout: float,
    poll: float,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    if not commit:
        raise RailwayError("--commit is empty: the workflow passes github.sha")
    deployment_id, how = _start_deploy(client, target, commit, timeout=timeout, poll=poll, sleep=sleep)
    print(f"deployment {deployment_id} of commit {commit}: {how}")
    _append(env, "GITHUB_OUTPUT", f"deployment_id={deployment_id}\n")
    deadline = time.monotonic() + timeout
    status = str(client.deployment(deployment_id)["status"])
    while status not in FINISHED and time.monotonic() < deadline:
        sleep(poll)
        status = str(client.deployment(deployment_id)["status"])
    _append(env, "GITHUB_OUTPUT", f"status={status}\n")
    _append(env, "GITHUB_STEP_SUMMARY", f"Railway deployment `{deployment_id}` of `{commit[:12]}`: **{status}**\n")
    if status not in LIVE:
        print(f"::error::deployment {deployment_id} did not go live (status {status} after up to {timeout:.0f}s)")
        return 1
    return 0


def pre_deploy_of(deployment: Deployment) -> list[str]:
    """The pre-deploy commands a deployment ran (its service manifest), as a list."""
    manifest = _meta(deployment).get("serviceManifest") or {}
    ran = (manifest.get("deploy") or {}).get("preDeployCommand") if isinstance(manifest, Mapping) else None
    return [str(c) for c in ran] if isinstance(ran, list) else [str(ran)] if ran else []


def cmd_verify(client: Railway, target: Target, env: Mapping[str, str], deployment_id: str, pre_deploy: str) -> int:
    """The deployment CI made is the one serving, and it passed the migration gate (Railway's pre-deploy)."""
    deployments = _list(client, target)
    live = next((d for d in newest_first(deployments) if d["status"] in LIVE), None)
    problems = []
    if live is None or live["id"] != deployment_id:
        problems.append(f"the live deployment is {live['id'] if live else 'none'}, not {deployment_id}")
    mine = next((d for d in deployments if d["id"] == deployment_id), None)
    commands = pre_deploy_of(mine or {"id": deployment_id})
    if pre_deploy and pre_deploy not in commands:
        problems.append(f"deployment {deployment_id} did not run the migration gate {pre_deploy!r} (ran {commands})")
    lines = [f"- live deployment: `{live['id'] if live else '(none)'}`", f"- pre-deploy (migrations): {commands}"]
    _append(env, "GITHUB_STEP_SUMMARY", "### Verified on Railway\n\n" + "\n".join(lines) + "\n")
    for problem in problems:
        print(f"::error::{problem}")
    if not problems:
        print(f"deployment {deployment_id} is live and went live through its migrations ({pre_deploy})")
    return 1 if problems else 0


def cmd_rollback(
    client: Railway, target: Target, env: Mapping[str, str], current_id: str | None, timeout: float, poll: float
) -> int:
    if not current_id:
        # Never guess (the newest deployment may be a healthy one): without the id the deploy recorded,
        # nothing is rolled back and a person decides.
        print("::error::no deployment id was recorded by the deploy step: nothing rolled back; see docs/oncall.md")
        _append(env, "GITHUB_STEP_SUMMARY", "### Automatic rollback\n\n- **skipped**: no deployment id recorded\n")
        return 1
    deployments = _list(client, target)
    plan = plan_rollback(deployments, current_id)
    print(plan.reason)
    lines = [
        "### Automatic rollback",
        "",
        f"- failed deployment: `{current_id or '(none)'}`",
        f"- decision: {plan.reason}",
    ]
    code = 0
    if plan.action == "cancel":
        client.cancel(current_id)
        lines.append(f"- cancelled `{current_id}` so that it cannot go live later")
        code = 0 if plan.target is not None else 1
    elif plan.action == "rollback" and plan.target is not None:
        if not rollback_once(client, target, str(plan.target["id"]), settle=min(timeout, 120.0), poll=poll):
            lines.append("- **Railway refused the rollback**")
            code = 1
        else:
            restored = wait_for(client, target, current_id, timeout=timeout, poll=poll)
            status = restored["status"] if restored else "no new deployment"
            restored_id = restored["id"] if restored else ""
            lines.append(f"- rolled back to `{plan.target['id']}`: new deployment `{restored_id}` is **{status}**")
            _append(env, "GITHUB_OUTPUT", f"deployment_id={restored_id}\nstatus={status}\n")
            code = 0 if restored is not None and restored["status"] in LIVE else 1
    else:
        code = 0 if plan.target is not None else 1
    lines.append(f"- outcome: {'service restored' if code == 0 else '**manual action needed** (docs/workflows.md)'}")
    _append(env, "GITHUB_STEP_SUMMARY", "\n".join(lines) + "\n")
    return code


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None, client: Railway | None = None) -> int:
    env = dict(os.environ) if env is None else env
    parser = argparse.ArgumentParser(prog="railway_rollback", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    deploy = commands.add_parser("deploy", help="deploy exactly this commit, once, and wait for it")
    deploy.add_argument("--commit", required=True, help="the commit to deploy (github.sha)")
    verify = commands.add_parser("verify", help="the live deployment is this one and ran its migrations")
    verify.add_argument("--deployment", required=True, help="the deployment the deploy step made")
    verify.add_argument("--pre-deploy", default="", help="the migration command (backend.preDeployCommand)")
    rollback = commands.add_parser("rollback", help="roll back from --current to the last good one before it")
    rollback.add_argument("--current", default="", help="the deployment that failed its checks")
    for sub in (deploy, rollback):
        sub.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for a deployment")
        sub.add_argument("--poll", type=float, default=10.0, help="seconds between two looks")
    args = parser.parse_args(argv)
    try:
        target = Target.from_env(env)
        client = client or Railway(env.get("RAILWAY_TOKEN", ""), env.get("RAILWAY_API_URL") or API_URL)
        if args.command == "deploy":
            return cmd_deploy(client, target, env, args.commit, args.timeout, args.poll)
        if args.command == "verify":
            return cmd_verify(client, target, env, args.deployment, args.pre_deploy)
        return cmd_rollback(client, target, env, args.current or None, args.timeout, args.poll)
    except RailwayError as error:
        print(f"::error::{error}")
        _append(env, "GITHUB_STEP_SUMMARY", f"Railway {args.command} failed: {error}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
