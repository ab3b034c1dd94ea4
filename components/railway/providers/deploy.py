"""Providers of how code reaches the service: the GitHub deployment trigger, the CI project token, and deploys."""

from __future__ import annotations

import ipaddress
import json
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pulumi
from pulumi.dynamic import CheckFailure, DiffResult

from components.railway import errors
from components.railway import operations as gql
from components.railway.client import RailwayClient
from components.railway.providers.adoption import Runs
from components.railway.providers.base import (
    IN_FLIGHT,
    REPOSITORY,
    TERMINAL_FAILURES,
    RailwayProvider,
    edges,
    is_unknown,
    service_scope,
)
from components.railway.providers.schema import RailwayResource, output, parent, setting

# The deploy path's decisions are CI's own (stdlib, inlined into the deploy job): one definition of "live",
# "in flight", "verified" and "what to roll back to" for both deploy paths of the backend.
from workflows.scripts import health_check
from workflows.scripts import railway_rollback as rr

_REVISION_TIME = re.compile(r"@(\d{16,20})")


class DeploymentTriggerProvider(RailwayProvider):
    """The service's GitHub source branch, and whether Railway deploys its pushes by itself.

    ``auto_deploy`` False (what maya-infra sets): pushes deploy nothing by themselves; the backend pipeline's
    deploy job is the one deploy path (docs/workflows.md). None leaves Railway's setting alone.
    ``check_suites`` ("wait for CI") applies to automatic deploys only.
    """

    _TRIGGER_KEYS = ("repository", "branch", "check_suites", "root_directory")

    def validate(self, news: Mapping[str, Any]) -> list[CheckFailure]:
        repo = news.get("repository")
        if isinstance(repo, str) and not is_unknown(repo) and not REPOSITORY.match(repo):
            return [CheckFailure("repository", f"{repo!r} is not an owner/name GitHub repository")]
        return []

    def _list(self, props: Mapping[str, Any]) -> list[dict[str, Any]]:
        return edges(
            self.client.execute(
                gql.DEPLOYMENT_TRIGGERS,
                service_scope(props),
            )["deploymentTriggers"]
        )

    def candidates(self, inputs: Mapping[str, Any], runs: Runs | None = None) -> list[dict[str, Any]]:
        """Natural key: service + environment + repository + branch; adoption (``runs``) takes the service's
        trigger on the repository whatever its branch (a different branch is a difference to converge)."""
        listed = [t for t in self._list(inputs) if t["repository"] == inputs["repository"]]
        return listed if runs is not None else [t for t in listed if t["branch"] == inputs["branch"]]

    def label(self, node: Mapping[str, Any]) -> str:
        return f"{node.get('repository')}@{node.get('branch')}"

    def _running(self, id_: str, inputs: Mapping[str, Any], node: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """What runs, automatic deploys included (``_read`` reads them only where the state declares them)."""
        running = self._read(id_, {**inputs, "auto_deploy": True}) if node is None else self._outputs(node)
        if running is None:
            return None
        if node is not None:
            running["auto_deploy"] = self._auto_deploy(inputs)
        return running

    @staticmethod
    def _outputs(trigger: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "repository": trigger["repository"],
            "branch": trigger["branch"],
            "check_suites": trigger["checkSuites"],
            "provider": trigger["provider"],
        }

    def _auto_deploy(self, scope: Mapping[str, Any]) -> bool:
        status = self.client.execute(gql.AUTO_DEPLOY_STATUS, service_scope(scope))["serviceInstanceAutoDeployStatus"]
        return bool(status["enabled"])

    def _create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        outcome = self.create_exactly_once(
            f"{inputs['repository']}@{inputs['branch']}",
            find=lambda: self.find(inputs),
            send=lambda: self.client.execute(
                gql.DEPLOYMENT_TRIGGER_CREATE,
                {
                    "input": {
                        **service_scope(inputs),
                        "provider": inputs.get("provider") or "github",
                        "repository": inputs["repository"],
                        "branch": inputs["branch"],
                        "checkSuites": bool(inputs.get("check_suites")),
                        "rootDirectory": inputs.get("root_directory"),
                    }
                },
            )["deploymentTriggerCreate"],
        )
        trigger = outcome.value
        if trigger.get("checkSuites") != bool(inputs.get("check_suites")):  # adopted with other settings
            self._update(trigger["id"], {}, inputs)  # sets auto_deploy too
        else:
            self._set_auto_deploy(inputs)
        return trigger["id"], {"origin": outcome.origin}

    def _set_auto_deploy(self, inputs: Mapping[str, Any]) -> None:
        """Idempotent (sets a flag), so a retried request cannot do anything twice."""
        wanted = inputs.get("auto_deploy")
        if wanted is not None:
            self.client.execute(gql.AUTO_DEPLOY_UPDATE, {"input": {**service_scope(inputs), "enabled": bool(wanted)}})

    def _update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        if olds.get("auto_deploy") != news.get("auto_deploy"):
            self._set_auto_deploy(news)
        if all(olds.get(k) == news.get(k) for k in self._TRIGGER_KEYS):
            return {}
        self.client.execute(
            gql.DEPLOYMENT_TRIGGER_UPDATE,
            {
                "id": id_,
                "input": {
                    "branch": news["branch"],
                    "repository": news["repository"],
                    "checkSuites": bool(news.get("check_suites")),
                    "rootDirectory": news.get("root_directory"),
                },
            },
        )
        return {}

    def _delete(self, id_: str, props: Mapping[str, Any]) -> None:
        self.client.execute(gql.DEPLOYMENT_TRIGGER_DELETE, {"id": id_})

    def _read(self, id_: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        found = next((t for t in self._list(state) if t["id"] == id_), None)
        if found is None:
            return None
        outs: dict[str, Any] = self._outputs(found)
        if state.get("auto_deploy") is not None:
            outs["auto_deploy"] = self._auto_deploy(state)
        return outs


class DeploymentTrigger(RailwayResource, provider=DeploymentTriggerProvider, adopt_key="trigger"):
    """The service's GitHub source branch; ``auto_deploy`` False keeps CI the one deploy path."""

    project_id: pulumi.Input[str] = parent()
    environment_id: pulumi.Input[str] = parent()
    service_id: pulumi.Input[str] = parent()
    provider: str = setting(default="github", replace=True)
    repository: pulumi.Input[str] = setting(required=True)
    branch: pulumi.Input[str] = setting(required=True)
    check_suites: pulumi.Input[bool] = setting(default=True)
    root_directory: pulumi.Input[str] | None = setting(
        default=None, write_only="Railway's trigger does not list it; the service instance's rootDirectory is read"
    )
    auto_deploy: pulumi.Input[bool] | None = setting(default=None)


class ProjectTokenProvider(RailwayProvider):
    """An environment-scoped project token for the CI deploy job; its value is a secret output.

    Natural key: project + environment + name. Railway shows a token's value only once, so a token of
    that name left by an interrupted run, or made by a create whose answer was lost, is useless to us:
    it is deleted, and exactly one token — the one whose value we hold — remains. The create is sent
    first (a lost answer is looked for, deleted and sent again, never blindly); then the tokens of that
    name are listed: one is ours; with more, Railway is asked which one we hold (``projectToken``, with
    the value itself) and the others are deleted.
    """

    def candidates(self, inputs: Mapping[str, Any], runs: Runs | None = None) -> list[dict[str, Any]]:
        """Natural key: project + environment + name."""
        return self._named(inputs)

    def _named(self, inputs: Mapping[str, Any]) -> list[dict[str, Any]]:
        tokens = edges(self.client.execute(gql.PROJECT_TOKENS, {"projectId": inputs["project_id"]})["projectTokens"])
        return [t for t in tokens if t["name"] == inputs["name"] and t["environmentId"] == inputs["environment_id"]]

    def _create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        send = {
            "input": {
                "projectId": inputs["project_id"],
                "environmentId": inputs["environment_id"],
                "name": inputs["name"],
            }
        }
        outcome = self.create_exactly_once(
            f"{inputs['name']!r}",
            find=lambda: self.find(inputs),
            send=lambda: {"token": self.client.execute(gql.PROJECT_TOKEN_CREATE, send)["projectTokenCreate"]},
            discard=lambda stray: self._delete(stray["id"], inputs),
            look_first=False,  # a token found first is useless (its value is gone): strays are cleared below
        )
        value = str(outcome.value["token"])
        named = self._named(inputs)
        mine = named[0]["id"] if len(named) == 1 else self._id_of(value)
        for stray in named:
            if stray["id"] != mine:
                self._delete(stray["id"], inputs)
        return mine, {"token": value}

    def _id_of(self, value: str) -> str:
        """Railway's id of the token we hold, asked with the token itself."""
        with RailwayClient(value, self.client.settings, project_token=True) as own:
            return str(own.execute(gql.PROJECT_TOKEN, {})["projectToken"]["id"])

    def _delete(self, id_: str, props: Mapping[str, Any]) -> None:
        self.client.execute(gql.PROJECT_TOKEN_DELETE, {"id": id_})

    def _read(self, id_: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        tokens = edges(self.client.execute(gql.PROJECT_TOKENS, {"projectId": state["project_id"]})["projectTokens"])
        found = next((t for t in tokens if t["id"] == id_), None)
        return None if found is None else {"name": found["name"], "environment_id": found["environmentId"]}


class ProjectToken(
    RailwayResource,
    provider=ProjectTokenProvider,
    not_adoptable="a token's value is shown once, so a running one cannot be taken over: up creates a new one",
):
    """An environment-scoped project token (CI's deploy token, the 5xx poller's); ``token`` is secret."""

    project_id: pulumi.Input[str] = parent()
    environment_id: pulumi.Input[str] = parent()
    name: pulumi.Input[str] = setting(replace=True, required=True)
    token: pulumi.Output[str] = output(secret=True)


def written_at(revision: str | None) -> datetime | None:
    """When the newest write in a revision fingerprint was made (see ``revision_of``), to the millisecond."""
    stamps = [int(m) for m in _REVISION_TIME.findall(revision or "")]
    if not stamps:
        return None
    moment = datetime.fromtimestamp(max(stamps) / 1e9, UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _created(deployment: Mapping[str, Any]) -> datetime:
    return datetime.fromisoformat(str(deployment["createdAt"]).replace("Z", "+00:00"))


#: Probes of the health endpoint after a redeploy went live, ``poll_seconds`` apart (CI: 12, 10 s apart).
HEALTH_ATTEMPTS = 12


def _loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def health_judgement(
    inputs: Mapping[str, Any],
    commit: str,
    railway_endpoint: str,
    attempts: int,
    delay: float,
    fetch: health_check.Fetch | None = None,
) -> str:
    """Why the backend at ``health_url`` is unhealthy ("" when healthy, or when there is nothing to probe).

    CI's judgement (workflows/scripts/health_check.py ``problems``): HTTP 200 and every ``$.path=value`` of
    ``health_expect`` (monitoring.healthBody); and when the body reports ``commit``, it is the deployed one
    (a stale replica answering would otherwise pass). Bounded: ``attempts`` probes ``delay`` s apart. A
    Railway reached on loopback (a fake: the rehearsal, the tests) made domains that exist nowhere, so only a
    loopback ``health_url`` is probed then — never a stranger's host."""
    url = inputs.get("health_url")
    if not url or is_unknown(url) or (_loopback(railway_endpoint) and not _loopback(str(url))):
        return ""
    expectations = [health_check.parse_expectation(e) for e in (inputs.get("health_expect") or ())]
    last: list[str] = []
    for attempt in range(max(1, attempts)):
        try:
            status, raw = (fetch or health_check._fetch)(str(url), 15.0)
            last = health_check.problems(status, raw, expectations) + _commit_problem(raw, commit)
        except (OSError, TimeoutError) as exc:
            last = [f"no answer from {url} ({type(exc).__name__})"]
        if not last:
            return ""
        if attempt + 1 < attempts:
            time.sleep(delay)
    return "; ".join(last)


def _commit_problem(raw: bytes, commit: str) -> list[str]:
    """The body's ``commit``, when it reports one, must be the deployed commit (full or abbreviated)."""
    try:
        body = json.loads(raw.decode("utf-8") or "null")
    except (UnicodeDecodeError, json.JSONDecodeError):
        return []
    said = body.get("commit") if isinstance(body, dict) else None
    if not commit or not isinstance(said, str) or not said or commit.startswith(said) or said.startswith(commit):
        return []
    return [f"$.commit is {said[:12]} (expected the deployed {commit[:12]})"]


class DeploymentProvider(RailwayProvider):
    """One redeploy of a service instance per change of its settings or variables, checked like CI's deploy.

    ``revision`` fingerprints what was written; when it changes, ``up`` redeploys **the commit that is live**
    (``serviceInstanceDeployV2`` with the active deployment's ``meta.commitHash``: a fresh build of that commit
    with the new settings and variables) — never the branch's latest commit, which may be one the staging gate
    refused. It is the backend's one deploy path, the same as CI's (workflows/scripts/railway_rollback.py, whose
    decisions it uses): it waits while another deployment of the service is in flight (CI's concurrency group
    cannot include a Pulumi run; this is its equivalent, and CI's deploy waits the same way), waits (bounded)
    for its deployment, requires it to be the live one and to have gone live through the migration gate
    (``pre_deploy``), and on any failure rolls back to the last deployment that was live and healthy, then fails
    the update naming the deployment. A service that has never been deployed has no live commit: its first
    deploy is Railway's build of the branch (the bootstrap; docs/gates.md), after which CI owns every commit.

    Railway's SUCCESS only says its own health check got HTTP 200. With ``health_url`` set, the redeploy must
    also pass CI's health gate (``health_judgement``: status 200 and every ``health_expect`` ``$.path=value``
    of the body, as workflows/scripts/health_check.py judges it, plus the deployed commit when the body
    reports one), else it is rolled back like any failed deploy.
    """

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        result = super().diff(id_, olds, news)
        if olds.get("status") in TERMINAL_FAILURES and not result.replaces:
            return DiffResult(changes=True, replaces=[], delete_before_replace=False)  # the service is down
        return result

    def _deployments(
        self, inputs: Mapping[str, Any], first: int, statuses: list[str] | None = None
    ) -> list[dict[str, Any]]:
        """The newest deployments of the service instance, newest first."""
        listing = service_scope(inputs)
        if statuses:
            listing["status"] = {"in": statuses}
        return edges(self.client.execute(gql.DEPLOYMENTS, {"input": listing, "first": first})["deployments"])

    def _quiet(self, inputs: Mapping[str, Any], timeout: float, poll: float) -> list[dict[str, Any]]:
        """The service's deployments once none is in flight (CI's deploy, a dashboard deploy); bounded."""
        deadline = time.monotonic() + timeout
        while True:
            recent = self._deployments(inputs, first=20)
            busy = [d for d in recent if d["status"] in IN_FLIGHT]
            if not busy:
                return recent
            if time.monotonic() >= deadline:
                raise self._failed(
                    str(busy[0]["id"]),
                    f"still {busy[0]['status']} after {timeout:.0f} s (another deploy of the service)",
                    inputs,
                    "nothing was deployed by `pulumi up`; wait for that deploy and run `pulumi up` again",
                )
            self.client.sleep(poll)

    def _deploy(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """Redeploy the live commit once. Natural key: a deployment of that commit made after the revision was
        written (ours from an interrupted run, or CI's — it carries these settings and variables too); after a
        lost answer, any deployment of it that was not there before. Either is adopted and checked."""
        timeout = float(inputs.get("timeout_seconds") or 900)
        poll = float(inputs.get("poll_seconds") or 5)
        since = written_at(inputs.get("revision"))
        commit = self._live_commit(inputs, self._deployments(inputs, first=20))
        before: set[str] | None = None

        def find() -> dict[str, Any] | None:
            nonlocal before
            listed = self._deployments(inputs, first=5)
            if before is None:
                before = {d["id"] for d in listed if since is None or _created(d) < since}
            return next(
                (
                    d
                    for d in listed
                    if d["id"] not in before
                    and d["status"] not in TERMINAL_FAILURES
                    and (not commit or rr.commit_of(d) == commit)
                ),
                None,
            )

        if find() is None:  # not made yet (by an interrupted run of ours, or CI): wait for quiet, look again
            commit = self._live_commit(inputs, self._quiet(inputs, timeout, poll))
        scope = {"serviceId": inputs["service_id"], "environmentId": inputs["environment_id"]}
        # without a live commit: never deployed (the bootstrap, see the class docstring) or an image service
        outcome = self.create_exactly_once(
            f"of commit {commit[:12] or '(first deploy)'}",
            find=find,
            send=lambda: {
                "id": (
                    self.client.execute(gql.SERVICE_INSTANCE_DEPLOY_COMMIT, {**scope, "commitSha": commit})
                    if commit
                    else self.client.execute(gql.SERVICE_INSTANCE_DEPLOY, scope)
                )["serviceInstanceDeployV2"]
            },
        )
        deployment_id = str(outcome.value["id"])
        try:
            status = self.wait(deployment_id, timeout, poll, inputs)
            self._verify(inputs, deployment_id)
            unhealthy = health_judgement(inputs, commit, self.client.settings.endpoint, HEALTH_ATTEMPTS, poll)
            if unhealthy:
                raise self._failed(deployment_id, f"is live but unhealthy ({unhealthy})", inputs, "see above")
        except errors.DeploymentFailedError as failure:
            done = self._roll_back(inputs, deployment_id)
            raise errors.DeploymentFailedError(failure.operation, f"{failure.detail}; {done}") from None
        return {"deployment_id": deployment_id, "status": status, "commit": commit or None}

    def _live_commit(self, inputs: Mapping[str, Any], recent: list[dict[str, Any]]) -> str:
        """The commit the live deployment runs ("" when none is live, or the service deploys an image)."""
        live = rr.live_deployment(recent)
        commit = rr.commit_of(live) if live is not None else ""
        if live is not None and not commit and (live.get("meta") or {}).get("repo"):
            raise self._failed(
                str(live["id"]),
                "is live but names no commit",
                inputs,
                "deploy the service through CI once (a push, or a re-run of the deploy job), then `pulumi up`",
            )
        return commit

    def _verify(self, inputs: Mapping[str, Any], deployment_id: str) -> None:
        """CI's verification (railway_rollback.py verify): the live deployment is ours, and it went live through
        the migration gate (Railway's pre-deploy command ``pre_deploy``)."""
        recent = self._deployments(inputs, first=20)
        live = rr.live_deployment(recent)
        if live is None or live["id"] != deployment_id:
            raise self._failed(
                deployment_id, f"is not the live deployment ({live['id'] if live else 'none is'})", inputs, "see above"
            )
        wanted = inputs.get("pre_deploy")
        if wanted and wanted not in rr.pre_deploy_of(live):
            raise self._failed(deployment_id, f"did not run the migration gate {wanted!r}", inputs, "see above")

    def _roll_back(self, inputs: Mapping[str, Any], deployment_id: str) -> str:
        """CI's rollback (railway_rollback.plan_rollback): cancel it if it never went live, else roll back to the
        last deployment that was live and healthy before it — exactly once. Returns what was done, in words."""
        recent = self._deployments(inputs, first=20)
        plan = rr.plan_rollback(recent, deployment_id)
        if plan.action == "cancel":
            self.client.execute(gql.DEPLOYMENT_CANCEL, {"id": deployment_id})
            return f"{plan.reason}; cancelled it"
        if plan.action != "rollback" or plan.target is None:
            return plan.reason
        target = str(plan.target["id"])
        known = {d["id"] for d in recent}
        self.create_exactly_once(
            f"rollback to {target}",
            find=lambda: next((d for d in self._deployments(inputs, first=5) if d["id"] not in known), None),
            send=lambda: {"sent": self.client.execute(gql.DEPLOYMENT_ROLLBACK, {"id": target})["deploymentRollback"]},
        )
        return f"{plan.reason}: rolled back, the service runs {target}'s build again"

    def wait(self, deployment_id: str, timeout: float, poll: float, scope: Mapping[str, Any] | None = None) -> str:
        deadline = time.monotonic() + timeout
        status = "QUEUED"
        while time.monotonic() < deadline:
            status = self.client.execute(gql.DEPLOYMENT, {"id": deployment_id})["deployment"]["status"]
            if status == "SUCCESS":
                return status
            if status in TERMINAL_FAILURES:
                raise self._failed(deployment_id, status, scope, "fix the cause and run `pulumi up` again")
            if status == "NEEDS_APPROVAL":
                raise self._failed(deployment_id, status, scope, "approve it in Railway, then run `pulumi up` again")
            self.client.sleep(poll)
        raise self._failed(
            deployment_id,
            f"still {status} after {timeout:.0f} s",
            scope,
            "raise backend.deployTimeoutSeconds or check Railway, then run `pulumi up` again",
        )

    def _failed(
        self, deployment_id: str, status: str, scope: Mapping[str, Any] | None, then: str
    ) -> errors.DeploymentFailedError:
        """One line: stack, service, deployment, status, where its logs are, and what to do next."""
        stack, service = self._names(scope)
        ops_status = f"`python -m ops status --stack {stack}`" if stack != "?" else "`python -m ops status`"
        return errors.DeploymentFailedError(
            "Deployment",
            f"stack {stack}, service {service}: deployment {deployment_id} {status}; read its logs with "
            f"`railway logs --deployment {deployment_id}` or {ops_status}; {then}",
        )

    def _names(self, scope: Mapping[str, Any] | None) -> tuple[str, str]:
        """The stack (its Railway environment is named after it) and the service, for the failure line."""
        if not scope:
            return "?", "?"
        try:
            env = self.client.execute(gql.ENVIRONMENT, {"id": scope["environment_id"]})["environment"]["name"]
            service = self.client.execute(gql.SERVICE, {"id": scope["service_id"]})["service"]["name"]
        except errors.RailwayError:
            return "?", str(scope.get("service_id"))
        return str(env), str(service)

    def _create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        outs = self._deploy(inputs)
        return f"{inputs['service_id']}:{inputs['environment_id']}", outs

    def _update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        if olds.get("revision") == news.get("revision") and olds.get("status") == "SUCCESS":
            return {}  # only the wait settings changed: nothing to deploy
        return self._deploy(news)

    def _delete(self, id_: str, props: Mapping[str, Any]) -> None:
        return  # a deployment is history, not an object to remove; the service's deletion stops it

    def _read(self, id_: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        """The ACTIVE deployment — the one serving (newest SUCCESS not removed), whoever made it (CI
        deploys too) — not merely the newest: a build in progress or a failed newer attempt does not take
        the service down. With none serving, the newest tells why (CRASHED, FAILED...: the next up deploys)."""
        active = self._deployments(state, first=1, statuses=["SUCCESS"])
        if active:
            return {"deployment_id": active[0]["id"], "status": "SUCCESS", "commit": rr.commit_of(active[0]) or None}
        latest = self._deployments(state, first=1)
        if not latest:
            return None
        return {"deployment_id": latest[0]["id"], "status": latest[0]["status"]}

    def candidates(self, inputs: Mapping[str, Any], runs: Runs | None = None) -> list[dict[str, Any]]:
        """The service instance's deployments: adoption records the active one (it is not redeployed)."""
        return [{"id": f"{inputs['service_id']}:{inputs['environment_id']}", "name": "active deployment"}]


class Deployment(RailwayResource, provider=DeploymentProvider):
    """Deploys the service instance once whenever ``revision`` changes, and waits until it is live."""

    project_id: pulumi.Input[str] = parent()
    service_id: pulumi.Input[str] = parent()
    environment_id: pulumi.Input[str] = parent()
    revision: pulumi.Input[str] = setting(secret=True, local=True)
    timeout_seconds: float = setting(default=900, local=True)
    poll_seconds: float = setting(default=5, local=True)
    #: the migration gate a deployment must have gone live through (what CI's deploy verifies too)
    pre_deploy: str | None = setting(default=None, local=True)
    #: CI's health gate after the redeploy (``health_judgement``): the URL and its ``$.path=value`` expectations
    health_url: pulumi.Input[str] | None = setting(default=None, local=True)
    health_expect: list[str] | None = setting(default=None, local=True)
    deployment_id: pulumi.Output[str] = output()
    status: pulumi.Output[str] = output()
    commit: pulumi.Output[str] = output()
