"""The staging → production gate (staging_gate.py) and the stale-run refusal (branch_head.py), against the fake
GitHub: real git commits and trees (a develop → main merge commit has develop's tree), and workflow runs that
carry their event, branch, workflow file, attempts and jobs — every request and answer checked against
GitHub's OpenAPI description.

The scenarios are the ways the old gate passed empty: a pull request's green run on the commit whose push run
failed on staging; a backend-only change that never ran E2E; the backend's run standing in for the frontend's;
a re-run of an old run. And the gate as the workflow runs it: its TARGET comes from the ``changes`` job.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from config import load_from_stack_file
from tests.fakes.github import FakeGitHub
from tests.workflows.conftest import load_workflow
from tests.workflows.test_pipeline import _commit, _fake_gh, _git, _run_step
from workflows import render_app_workflows
from workflows.scripts import branch_head, staging_gate

REPO = "mayassistant/maya"
TOKEN = "gate-test-token"
FRONTEND, BACKEND = ".github/workflows/frontend.yml", ".github/workflows/backend.yml"
FRONT_JOBS = {"deploy": "success", "e2e": "success", "promote": "success", "frontend-ci": "success"}
BACK_JOBS = {"deploy": "success", "e2e": "success", "backend-ci": "success"}
SKIPPED_FRONT = {"deploy": "skipped", "e2e": "skipped", "promote": "skipped", "frontend-ci": "success"}
SKIPPED_BACK = {"deploy": "skipped", "e2e": "skipped", "backend-ci": "success"}
FRONT_ARGS = ["--check", "frontend-ci", "--path", "omega-frontend", "--workflow", FRONTEND]
FRONT_ARGS += ["--require-job", "deploy", "--require-job", "promote", "--require-job", "e2e"]
BACK_ARGS = ["--check", "backend-ci", "--path", "backend", "--workflow", BACKEND]
BACK_ARGS += ["--require-job", "deploy", "--require-job", "e2e"]


@pytest.fixture
def gh() -> Iterator[FakeGitHub]:
    with FakeGitHub(repos=[REPO], token=TOKEN) as fake:
        yield fake
        assert fake.problems == []  # every request and answer matched GitHub's description


def _env(gh: FakeGitHub) -> dict[str, str]:
    return {"GITHUB_API_URL": gh.url + "api/v3", "GITHUB_TOKEN": TOKEN}


def _gate(gh: FakeGitHub, sha: str, app: list[str], target: str = "production") -> int:
    argv = ["--repo", REPO, "--sha", sha, "--target", target, "--production", "production", "--staging", "staging"]
    return staging_gate.main([*argv, "--staging-branch", "develop", *app], env=_env(gh))


def _push(gh: FakeGitHub, files: dict[str, str | None]) -> str:
    return gh.push(REPO, "develop", files)


def _run(gh: FakeGitHub, workflow: str, sha: str, jobs: dict[str, str | None], event: str = "push") -> int:
    return gh.add_workflow_run(REPO, workflow, event=event, branch="develop", sha=sha, jobs=jobs)


def _both_apps(gh: FakeGitHub) -> str:
    """develop with a change to both apps, each deployed and tested on staging by its push run."""
    sha = _push(gh, {"omega-frontend/app/page.tsx": "v1", "backend/app/main.py": "v1"})
    _run(gh, FRONTEND, sha, FRONT_JOBS)
    _run(gh, BACKEND, sha, BACK_JOBS)
    return sha


def test_a_merge_of_what_passed_on_staging_ships(gh: FakeGitHub, capsys: pytest.CaptureFixture[str]) -> None:
    staged = _both_apps(gh)
    merge = gh.merge(REPO, "main", "develop")  # a new commit: only the trees are the same
    assert merge != staged
    assert _gate(gh, merge, FRONT_ARGS) == 0
    assert "deployed omega-frontend/ (tree" in capsys.readouterr().out
    assert _gate(gh, merge, BACK_ARGS) == 0


def test_a_green_pull_request_run_does_not_hide_a_failed_push_run(
    gh: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    """The develop → main pull request's run is green on develop's head; the push run of that commit failed E2E
    on staging (and, for the backend, its deploy failed and was rolled back). Both are refused."""
    sha = _push(gh, {"omega-frontend/app/page.tsx": "v1", "backend/app/main.py": "v1"})
    _run(gh, FRONTEND, sha, {**FRONT_JOBS, "e2e": "failure", "promote": "skipped", "frontend-ci": "failure"})
    _run(gh, BACKEND, sha, {**BACK_JOBS, "deploy": "failure", "e2e": "skipped", "backend-ci": "failure"})
    _run(gh, FRONTEND, sha, FRONT_JOBS, event="pull_request")  # every job "success", even one named deploy
    _run(gh, BACKEND, sha, BACK_JOBS, event="pull_request")
    merge = gh.merge(REPO, "main", "develop")
    assert _gate(gh, merge, FRONT_ARGS) == 1
    assert "e2e failure" in capsys.readouterr().out
    assert _gate(gh, merge, BACK_ARGS) == 1
    assert "deploy failure" in capsys.readouterr().out


def test_a_backend_only_change_ships_only_after_its_e2e_run_on_staging(
    gh: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    _both_apps(gh)
    change = _push(gh, {"backend/app/main.py": "v2"})
    _run(gh, FRONTEND, change, SKIPPED_FRONT)  # the frontend did not change: its run skipped everything
    backend_run = _run(gh, BACKEND, change, {**BACK_JOBS, "e2e": "failure", "backend-ci": "failure"})
    merge = gh.merge(REPO, "main", "develop")
    assert _gate(gh, merge, BACK_ARGS) == 1, "the backend deployed but E2E failed after it"
    assert "e2e failure" in capsys.readouterr().out
    # the frontend's folder is what its earlier run deployed and tested: the skipped run proves nothing, that one does
    assert _gate(gh, merge, FRONT_ARGS) == 0
    gh.rerun(REPO, backend_run, BACK_JOBS)  # E2E re-run green: now it may ship
    assert _gate(gh, merge, BACK_ARGS) == 0


def test_a_deploy_run_without_an_e2e_job_is_not_evidence(gh: FakeGitHub, capsys: pytest.CaptureFixture[str]) -> None:
    """The pipeline before E2E ran after backend deploys: deploy and backend-ci green, no e2e job at all."""
    sha = _push(gh, {"backend/app/main.py": "v1"})
    _run(gh, BACKEND, sha, {"deploy": "success", "backend-ci": "success"})
    assert _gate(gh, gh.merge(REPO, "main", "develop"), BACK_ARGS) == 1
    assert "e2e missing" in capsys.readouterr().out


def test_the_backends_run_never_stands_in_for_the_frontends(gh: FakeGitHub, capsys: pytest.CaptureFixture[str]) -> None:
    sha = _push(gh, {"omega-frontend/app/page.tsx": "v1", "backend/app/main.py": "v1"})
    _run(gh, FRONTEND, sha, {**FRONT_JOBS, "deploy": "failure", "e2e": "skipped", "promote": "skipped"})
    _run(gh, BACKEND, sha, BACK_JOBS)  # same commit, same job names, all green: another app's evidence
    merge = gh.merge(REPO, "main", "develop")
    assert _gate(gh, merge, FRONT_ARGS) == 1
    assert "deploy failure" in capsys.readouterr().out
    # run by hand as before (no --workflow, the default jobs deploy and e2e): the check job's name still tells
    # the runs apart, though the backend's run has jobs of those names, green
    assert _gate(gh, merge, ["--check", "frontend-ci", "--path", "omega-frontend"]) == 1


def test_a_failed_check_job_refuses_though_deploy_and_e2e_passed(
    gh: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    """The check job gathers every stage (a scan, a performance budget): red there, the run is no evidence."""
    sha = _push(gh, {"omega-frontend/app/page.tsx": "v1"})
    _run(gh, FRONTEND, sha, {**FRONT_JOBS, "frontend-ci": "failure"})
    assert _gate(gh, gh.merge(REPO, "main", "develop"), FRONT_ARGS) == 1
    assert "frontend-ci failure" in capsys.readouterr().out


def test_by_hand_a_newer_run_of_the_other_app_does_not_hide_this_apps_evidence(gh: FakeGitHub) -> None:
    """Without ``--workflow`` only the check job tells the runs apart: the backend's run on the same commit (newer,
    no ``frontend-ci`` job) is skipped over, not read as the frontend's failed evidence."""
    _both_apps(gh)  # the frontend's run first, then the backend's: the newest run is the backend's
    merge = gh.merge(REPO, "main", "develop")
    assert _gate(gh, merge, ["--check", "frontend-ci", "--path", "omega-frontend"]) == 0


def test_code_never_deployed_to_staging_is_refused(gh: FakeGitHub, capsys: pytest.CaptureFixture[str]) -> None:
    _both_apps(gh)
    gh.merge(REPO, "main", "develop")
    hotfix = gh.push(REPO, "main", {"omega-frontend/app/page.tsx": "hotfix"})  # straight to main
    assert _gate(gh, hotfix, FRONT_ARGS) == 1
    assert "no push run on develop deployed omega-frontend/" in capsys.readouterr().out


def test_the_newest_deploy_of_the_same_code_decides(gh: FakeGitHub, capsys: pytest.CaptureFixture[str]) -> None:
    """Staging deployed this folder twice; the second time it failed there: staging's last word is "no"."""
    sha = _push(gh, {"backend/app/main.py": "v1"})
    _run(gh, BACKEND, sha, BACK_JOBS)
    again = _push(gh, {"docs/readme.md": "x"})  # the backend's folder unchanged
    _run(gh, BACKEND, again, {**BACK_JOBS, "e2e": "failure", "backend-ci": "failure"})  # e.g. a re-deploy
    assert _gate(gh, gh.merge(REPO, "main", "develop"), BACK_ARGS) == 1
    assert "e2e failure" in capsys.readouterr().out


def test_a_failed_re_run_of_the_staging_run_revokes_its_evidence(gh: FakeGitHub) -> None:
    """The run's latest attempt counts (a re-run of the deploy that failed and rolled back is staging's last word)."""
    sha = _push(gh, {"backend/app/main.py": "v1"})
    run = _run(gh, BACKEND, sha, BACK_JOBS)
    merge = gh.merge(REPO, "main", "develop")
    assert _gate(gh, merge, BACK_ARGS) == 0
    gh.rerun(REPO, run, {**BACK_JOBS, "deploy": "failure", "e2e": "skipped", "backend-ci": "failure"})
    assert _gate(gh, merge, BACK_ARGS) == 1


def test_a_run_still_deploying_is_not_evidence_yet(gh: FakeGitHub, capsys: pytest.CaptureFixture[str]) -> None:
    sha = _push(gh, {"backend/app/main.py": "v1"})
    _run(gh, BACKEND, sha, {"deploy": "success", "e2e": None, "backend-ci": None})
    assert _gate(gh, gh.merge(REPO, "main", "develop"), BACK_ARGS) == 1
    assert "e2e in_progress" in capsys.readouterr().out


@pytest.mark.parametrize("target", ["", "preview", "Production"])
def test_an_empty_or_unknown_target_is_refused(gh: FakeGitHub, target: str) -> None:
    staged = _both_apps(gh)
    assert _gate(gh, staged, FRONT_ARGS, target=target) == 1
    assert gh.requests == []  # refused before reading anything


def test_a_staging_deploy_is_not_gated(gh: FakeGitHub) -> None:
    sha = _push(gh, {"backend/app/main.py": "v1"})
    assert _gate(gh, sha, BACK_ARGS, target="staging") == 0
    assert gh.requests == []


def test_github_unreachable_refuses(gh: FakeGitHub, capsys: pytest.CaptureFixture[str]) -> None:
    sha = _push(gh, {"backend/app/main.py": "v1"})
    argv = ["--repo", REPO, "--sha", sha, "--target", "production", "--production", "production"]
    code = staging_gate.main([*argv, "--staging", "staging", *BACK_ARGS], env={**_env(gh), "GITHUB_TOKEN": "wrong"})
    assert code == 1
    assert "nothing is shipped on an unknown" in capsys.readouterr().out


# ---- stale code: a re-run of an old run ------------------------------------------------------------------------
def test_a_re_run_of_an_old_run_is_refused_before_it_deploys(
    gh: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    """The old production run's code passed the gate once (its tree was staged); only the branch-head check stops
    its re-run from putting the older code back."""
    _both_apps(gh)
    old = gh.merge(REPO, "main", "develop")
    _push(gh, {"backend/app/main.py": "v2"})
    new = gh.merge(REPO, "main", "develop")
    argv = ["--repo", REPO, "--branch", "main"]
    assert _gate(gh, old, BACK_ARGS) == 0  # the gate alone would let the re-run through
    assert branch_head.main([*argv, "--sha", old], env=_env(gh)) == 1
    out = capsys.readouterr().out
    assert f"stale run: it deploys {old[:12]} but main is at {new[:12]}" in out
    assert len([line for line in out.splitlines() if line.startswith("::error::")]) == 1
    assert branch_head.main([*argv, "--sha", new], env=_env(gh)) == 0


# ---- the gate as the workflow runs it: TARGET from the changes job ---------------------------------------------
def _resolve(step: dict[str, Any], context: dict[str, str]) -> dict[str, str]:
    """The step's env as GitHub would fill it; an expression this test does not know fails the test."""
    out = {}
    for key, value in step.get("env", {}).items():
        text = str(value)
        if text.startswith("${{") and text.endswith("}}"):
            expression = text[3:-2].strip()
            assert expression in context, f"{key}: unexpected expression {expression!r}"
            text = context[expression]
        out[key] = text
    return out


@pytest.fixture(scope="module")
def workflows() -> dict[str, dict[str, Any]]:
    files = render_app_workflows(load_from_stack_file("production"))["maya"]
    return {name: load_workflow(files[f".github/workflows/{name}.yml"]) for name in ("frontend", "backend")}


@pytest.mark.parametrize("app", ["frontend", "backend"])
@pytest.mark.parametrize(("branch", "code"), [("main", 1), ("develop", 0)])
def test_the_rendered_gate_gets_its_target_from_the_changes_job(
    gh: FakeGitHub, workflows: dict[str, dict[str, Any]], tmp_path: Path, app: str, branch: str, code: int
) -> None:
    """A push to main whose code never ran on staging: the changes job names production and the gate refuses;
    the same push to develop is a staging deploy and passes at once."""
    workflow = workflows[app]
    local = tmp_path / "repo"
    local.mkdir()
    _git(local, "init", "-q")
    before = _commit(local, "README.md", "x\n")
    _commit(local, f"{'omega-frontend' if app == 'frontend' else 'backend'}/main.txt", "changed\n")
    detect = next(s for s in workflow["jobs"]["changes"]["steps"] if s.get("id") == "detect")
    github = {"EVENT_NAME": "push", "REF_NAME": branch, "PR_BASE_SHA": "", "GH_TOKEN": "t", "GH_REPO": REPO}
    fake_gh = {"LAST_SUCCESS": before, "GH_CALLS": str(tmp_path / "calls"), "WORKFLOW_FILE": f"{app}.yml"}
    path = f"{_fake_gh(tmp_path / 'bin')}{os.pathsep}{os.environ['PATH']}"
    rc, outputs, log = _run_step(detect, local, {**github, **fake_gh, "PATH": path}, tmp_path)
    assert rc == 0, log
    assert outputs["relevant"] == "true"

    sha = gh.push(REPO, branch, {f"{'omega-frontend' if app == 'frontend' else 'backend'}/main.txt": "changed"})
    gate = workflow["jobs"]["staging-gate"]
    write, check = gate["steps"]
    runner = tmp_path / "runner"
    runner.mkdir()
    assert _run_step(write, tmp_path, {"RUNNER_TEMP": str(runner)}, tmp_path)[0] == 0
    context = {
        "github.token": TOKEN,
        "github.repository": REPO,
        "github.sha": sha,
        "needs.changes.outputs.environment": outputs["environment"],
    }
    env = {**_resolve(check, context), "RUNNER_TEMP": str(runner), "GITHUB_API_URL": gh.url + "api/v3"}
    rc, _, log = _run_step(check, tmp_path, env, tmp_path)
    assert rc == code, log
    if code:
        assert "::error::refused: no push run on develop deployed" in log


def test_the_rendered_gate_refuses_a_release_whose_performance_stage_failed_on_staging(
    gh: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    """The gate as rendered requires the staging run's ``performance`` job like E2E: code that passed E2E but
    broke a budget on staging reaches production only once a run of it passes the stage."""
    rendered = render_app_workflows(load_from_stack_file("production"))["maya"]
    for file, folder, check, jobs in (
        (FRONTEND, "omega-frontend", "frontend-ci", FRONT_JOBS),
        (BACKEND, "backend", "backend-ci", BACK_JOBS),
    ):
        steps = load_workflow(rendered[file])["jobs"]["staging-gate"]["steps"]
        gate = next(s["run"] for s in steps if s["name"].startswith("Require this code"))
        required = re.findall(r"--require-job (\S+)", gate)
        assert "performance" in required, gate
        args = ["--check", check, "--path", folder, "--workflow", file]
        args += [arg for job in required for arg in ("--require-job", job)]
        sha = _push(gh, {f"{folder}/app/main.py": "v1"})
        run_id = _run(gh, file, sha, {**jobs, "performance": "failure", check: "failure"})
        merge = gh.merge(REPO, "main", "develop")
        assert _gate(gh, merge, args) == 1
        assert "performance failure" in capsys.readouterr().out
        gh.rerun(REPO, run_id, {**jobs, "performance": "success"})
        assert _gate(gh, merge, args) == 0
