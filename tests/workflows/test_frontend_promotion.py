"""The frontend's staged production deploy as the deploy job runs it (workflows/frontend.py ``promote_steps``).

The rendered steps from the smoke tests to the outcome line run in order, each under its ``if`` as GitHub
evaluates it, against the fake Vercel (a stand-in ``vercel`` CLI promotes through its API) and a stand-in site
that serves whatever production points at. A smoke failure promotes nothing; a failed live check promotes back
what production served before; the last step's line, which the alert mail quotes, says which happened.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from config import load_from_stack_file
from tests.fakes.vercel_api import FakeVercel
from tests.ops.apps import Answer, FakeApp
from tests.workflows.conftest import load_workflow
from tests.workflows.test_pipeline import _run_step
from workflows import render_app_workflows

TOKEN = "vc-ci-token-promote"
HEALTHY = {"status": "healthy", "database": "ok", "external_apis": "ok"}

#: `vercel promote URL --yes --timeout=5m`: the deployment of that URL, promoted through the fake's REST API
VERCEL_CLI = f"""#!{sys.executable}
import json, os, sys, urllib.request
command, url = sys.argv[1], sys.argv[2]
assert command == "promote", sys.argv
api, project = os.environ["VERCEL_API_URL"], os.environ["VERCEL_PROJECT_ID"]
auth = {{"Authorization": "Bearer " + os.environ["VERCEL_TOKEN"]}}
def call(method, path):
    with urllib.request.urlopen(urllib.request.Request(api + path, method=method, headers=auth)) as answer:
        return json.loads(answer.read() or b"null")
host = url.split("://", 1)[-1].rstrip("/")
listed = call("GET", "/v6/deployments?projectId=" + project + "&limit=100")["deployments"]
[uid] = [d["uid"] for d in listed if d["url"] == host]
call("POST", "/v10/projects/" + project + "/promote/" + uid)
"""


@pytest.fixture(scope="module")
def deploy_steps() -> list[dict[str, Any]]:
    """The production deploy job's steps from writing health_check.py to the outcome line."""
    files = render_app_workflows(load_from_stack_file("production"))["maya"]
    steps = load_workflow(files[".github/workflows/frontend.yml"])["jobs"]["deploy"]["steps"]
    names = [str(s.get("name", "")) for s in steps]
    first = next(i for i, n in enumerate(names) if n.startswith("Write health_check.py"))
    last = names.index("Say what production serves (for the alert mail)")
    return steps[first : last + 1]


class World:
    """The fake Vercel with production serving ``live``, a new staged deployment ``new``, and the site."""

    def __init__(self, vercel: FakeVercel, app: FakeApp, tmp: Path) -> None:
        self.vercel, self.app, self.tmp = vercel, app, tmp
        self.project = vercel.add_project("maya-frontend")
        self.live = vercel.add_deployment(self.project)
        self.new = vercel.add_deployment(self.project, promote=False)  # deploy --prebuilt --prod --skip-domain
        self.sick: set[str] = set()  # deployments whose pages answer 503
        self.sick_when_live: set[str] = set()  # ... only on the production domains (a domain-only setting)
        port = app.url.rsplit(":", 1)[1].rstrip("/")
        with vercel._lock:
            for uid in (self.live, self.new):  # each deployment's own URL reaches the stand-in site
                vercel.deployments[uid]["url"] = f"127.0.0.1:{port}/d/{uid}"
                app.route(f"/d/{uid}/", lambda uid=uid: self._page(uid))
        app.route("/live/", lambda: self._page(vercel.production_of(self.project) or "", live=True))
        app.route("/api/health", lambda: (200, HEALTHY))

    def _page(self, uid: str, *, live: bool = False) -> Answer:
        sick = uid in self.sick or (live and uid in self.sick_when_live)
        return (503, "down") if sick else (200, "<html>ok</html>")

    def url(self, uid: str) -> str:
        return f"http://{self.vercel.deployments[uid]['url']}"

    def run(self, steps: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Run ``steps`` as GitHub would; returns step id -> {outcome, outputs}."""
        runner = self.tmp / "runner"
        runner.mkdir(exist_ok=True)
        bin_dir = self.tmp / "bin"
        bin_dir.mkdir(exist_ok=True)
        (bin_dir / "vercel").write_text(VERCEL_CLI)
        (bin_dir / "vercel").chmod(0o755)
        context = {
            "secrets.VERCEL_TOKEN": TOKEN,
            "vars.VERCEL_ORG_ID": "",
            "vars.VERCEL_PROJECT_ID": self.project,
            "vars.FRONTEND_URL": f"{self.app.url.rstrip('/')}/live",
            "vars.BACKEND_URL": self.app.url.rstrip("/"),
            "needs.changes.outputs.environment": "production",
        }
        done: dict[str, dict[str, Any]] = {"deploy": {"outcome": "success", "outputs": {"url": self.url(self.new)}}}
        failed = False
        for step in steps:
            if not _condition(step.get("if", ""), done, context, failed):
                if "id" in step:
                    done[step["id"]] = {"outcome": "skipped", "outputs": {}}
                continue
            env = {k: _value(str(v), done, context) for k, v in step.get("env", {}).items()}
            run = re.sub(r"--attempts \d+ --delay \d+", "--attempts 1 --delay 0", step["run"])
            run = run.replace('health_check.py" "', 'health_check.py" --attempts 1 --delay 0 "')
            path = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
            extra = {"RUNNER_TEMP": str(runner), "VERCEL_API_URL": self.vercel.url, "PATH": path}
            code, outputs, log = _run_step({**step, "run": run}, self.tmp, {**env, **extra}, self.tmp)
            failed = failed or code != 0
            if "id" in step:
                done[step["id"]] = {"outcome": "success" if code == 0 else "failure", "outputs": outputs, "log": log}
        return done


def _value(text: str, done: dict[str, dict[str, Any]], context: dict[str, str]) -> str:
    if not (text.startswith("${{") and text.endswith("}}")):
        return text
    expression = text[3:-2].strip()
    step = re.fullmatch(r"steps\.(\w+)\.(outcome|outputs\.(\w+))", expression)
    if step:
        found = done.get(step.group(1), {"outcome": "", "outputs": {}})
        return str(found["outcome"] if step.group(3) is None else found["outputs"].get(step.group(3), ""))
    assert expression in context, f"unexpected expression {expression!r}"
    return context[expression]


def _condition(text: str, done: dict[str, dict[str, Any]], context: dict[str, str], failed: bool) -> bool:
    """GitHub's ``if``: ``success()`` is implied unless a status function is named."""
    if not re.search(r"\b(success|failure|always|cancelled)\(\)", text):
        text = f"success() && ({text})" if text else "success()"
    python = re.sub(
        r"\b(?:steps|needs|vars|secrets)\.[\w.-]+", lambda m: repr(_value(f"${{{{ {m[0]} }}}}", done, context)), text
    )
    python = python.replace("&&", " and ").replace("||", " or ")
    python = re.sub(r"!(?!=)", " not ", python)
    names = {
        "success": lambda: not failed,
        "failure": lambda: failed,
        "always": lambda: True,
        "cancelled": lambda: False,
    }
    return bool(eval(python, {"__builtins__": {}}, names))  # noqa: S307 - the workflow's own expressions


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    vercel = FakeVercel(token=TOKEN)
    vercel.start()
    try:
        with FakeApp() as app:
            yield World(vercel, app, tmp_path)
    finally:
        vercel.stop()


def test_a_healthy_deployment_is_promoted(world: World, deploy_steps: list[dict[str, Any]]) -> None:
    done = world.run(deploy_steps)
    assert world.vercel.production_of(world.project) == world.new
    assert done["outcome"]["outputs"]["promotion"] == f"promoted {world.url(world.new)}: production serves it"


def test_a_failed_smoke_test_promotes_nothing_and_says_so(world: World, deploy_steps: list[dict[str, Any]]) -> None:
    world.sick.add(world.new)
    done = world.run(deploy_steps)
    assert world.vercel.promotions == [] and world.vercel.production_of(world.project) == world.live
    assert done["promote"]["outcome"] == "skipped"
    assert done["outcome"]["outputs"]["promotion"].startswith("nothing was promoted: production still serves")


def test_a_failed_live_check_promotes_back_what_served_before(world: World, deploy_steps: list[dict[str, Any]]) -> None:
    """Its own URL passed the smoke tests; once live the site fails (say, a domain-only setting): rolled back."""
    world.sick_when_live.add(world.new)
    done = world.run(deploy_steps)
    assert done["live"]["outcome"] == "failure" and done["rollback"]["outcome"] == "success"
    assert [d for _, d in world.vercel.promotions] == [world.new, world.live]
    assert world.vercel.production_of(world.project) == world.live
    line = done["outcome"]["outputs"]["promotion"]
    assert line == (
        f"promoted {world.url(world.new)}, which failed its health checks: rolled back, production serves "
        f"{world.vercel.deployments[world.live]['url']} again"
    )


def test_the_alert_mail_quotes_the_outcome_line() -> None:
    """The line above reaches the mail: each promoting job's ``promotion`` output is its outcome step's."""
    files = render_app_workflows(load_from_stack_file("production"))["maya"]
    jobs = load_workflow(files[".github/workflows/frontend.yml"])["jobs"]
    for job_id in ("deploy", "promote"):
        [outcome] = [s for s in jobs[job_id]["steps"] if s.get("id") == "outcome"]
        assert outcome["name"] == "Say what production serves (for the alert mail)"
        assert jobs[job_id]["outputs"]["promotion"] == "${{ steps.outcome.outputs.promotion }}"
    body = jobs["alert"]["steps"][0]["env"]["BODY"]
    assert "${{ needs.promote.outputs.promotion || needs.deploy.outputs.promotion ||" in body
