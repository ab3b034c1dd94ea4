"""The generated previews workflow (workflows/previews.py): least privilege, the shape from the config and the
variable table, the inlined script, and its removal step run for real against the fakes."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from config import PREVIEW_E2E_CHECK, envvars, load_from_stack_file
from tests.workflows.conftest import load_workflow
from tests.workflows.preview_world import world
from workflows import render_app_workflows
from workflows.previews import PATH, SCRIPT
from workflows.render import bundled_script
from workflows.scripts import pr_preview as pp


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    return load_workflow(render_app_workflows(load_from_stack_file("staging"))["maya"][PATH])


def _steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return list(workflow["jobs"]["preview"]["steps"])


def test_pull_request_only_and_least_privilege(workflow: dict[str, Any]) -> None:
    assert set(workflow["on"]) == {"pull_request"}  # never pull_request_target
    assert workflow["on"]["pull_request"]["types"] == ["opened", "reopened", "synchronize", "closed"]
    assert workflow["on"]["pull_request"]["branches"] == ["develop"]
    assert workflow["permissions"] == {}
    assert list(workflow["jobs"]) == ["preview", PREVIEW_E2E_CHECK]
    job = workflow["jobs"]["preview"]
    assert job["permissions"] == {"pull-requests": "write"}
    assert job["environment"] == "preview"
    assert "github.event.pull_request.head.repo.full_name == github.repository" in job["if"]  # no forks
    assert "user.type != 'Bot'" in job["if"]
    assert workflow["jobs"][PREVIEW_E2E_CHECK]["permissions"] == {"contents": "read"}
    text = str(workflow)
    secrets = set(re.findall(r"secrets\.([A-Z_]+)", text))
    # the preview environment's own, nothing else
    assert secrets == {"RAILWAY_PREVIEW_TOKEN", "VERCEL_TOKEN", "VERCEL_AUTOMATION_BYPASS_SECRET"}
    assert {j.get("environment") for j in workflow["jobs"].values()} == {"preview"}


def test_the_shape_comes_from_the_config_and_the_table(workflow: dict[str, Any]) -> None:
    up = _steps(workflow)[1]["run"]
    assert "--max-environments 5 --sleep" in up
    assert "--withhold " + ",".join(envvars.preview_names(False)) in up
    assert "--fresh " + ",".join(envvars.preview_names("fresh")) in up
    assert "--timeout 900" in up
    args = pp.parser().parse_args(
        up.split(SCRIPT + '" ', 1)[1].replace('"$PR"', "1").replace('"$BRANCH"', "b").replace('"$SHA"', "c").split()
    )
    assert (
        args.command == "up" and args.max_environments == 5 and set(args.withhold) == set(envvars.preview_names(False))
    )


def test_the_script_is_inlined_verbatim(workflow: dict[str, Any]) -> None:
    write = _steps(workflow)[0]["run"]
    first = write.split("<<'PYTHON_SCRIPT'\n", 1)[1].split("\nPYTHON_SCRIPT\n", 1)[0] + "\n"
    assert first == bundled_script(SCRIPT)  # the script first, then its modules (tests/workflows/test_render.py)


def test_no_workflow_when_no_stack_has_previews() -> None:
    cfg = load_from_stack_file("staging")
    off = cfg.model_copy(update={"previews": cfg.previews.model_copy(update={"enabled": False})})
    assert PATH not in render_app_workflows(off)["maya"]


def test_the_removal_step_runs_as_written_against_the_fakes(workflow: dict[str, Any], tmp_path: Path) -> None:
    with world() as w:
        clients = w.clients()
        target = pp.Target(w.project_id, w.staging_id, w.backend_id)
        w.open_pull_request(9)
        pp.up(clients, target, 9, "feat/y", "c" * 40, "mayassistant/maya", timeout=5, poll=0)
        assert "pr-9" in w.environments()
        write, _up, down = _steps(workflow)
        env = {**w.env(), "PR": "9", "BRANCH": "feat/y", "RUNNER_TEMP": str(tmp_path)}
        env["GITHUB_STEP_SUMMARY"] = str(tmp_path / "summary")
        for step in (write, down):
            command = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]]
            result = subprocess.run(
                command,
                env={"PATH": os.environ["PATH"], **env},
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert result.returncode == 0, result.stdout + result.stderr
        assert w.environments() == {} and w.vercel.envs == {}
        assert "Preview removed" in (tmp_path / "summary").read_text()


# ---- preview-e2e: Playwright against the pull request's Vercel preview ------------------------------------


def _e2e(workflow: dict[str, Any]) -> dict[str, Any]:
    return dict(workflow["jobs"][PREVIEW_E2E_CHECK])


def test_e2e_runs_after_the_preview_on_every_open_pull_request(workflow: dict[str, Any]) -> None:
    e2e = _e2e(workflow)
    assert e2e["name"] == PREVIEW_E2E_CHECK  # the check context the develop ruleset requires
    assert e2e["needs"] == ["preview"]
    # not skipped when the preview job was skipped (a fork, a bot) or failed: the job says why itself, and a
    # required check that was skipped would pass with nothing tested
    assert e2e["if"] == "!cancelled() && github.event.action != 'closed'"
    assert e2e["environment"] == "preview"
    assert e2e["defaults"] == {"run": {"working-directory": "omega-frontend"}}


def test_e2e_tests_the_found_url_with_the_bypass_from_the_preview_environment(workflow: dict[str, Any]) -> None:
    steps = {s["name"]: s for s in _e2e(workflow)["steps"]}
    find = next(s for s in steps.values() if s.get("id") == "preview")
    assert find["env"]["VERCEL_AUTOMATION_BYPASS_SECRET"] == "${{ secrets.VERCEL_AUTOMATION_BYPASS_SECRET }}"
    assert find["env"]["SHA"] == "${{ github.event.pull_request.head.sha }}"
    assert find["env"]["PREVIEW_JOB"] == "${{ needs.preview.result }}"
    assert "--timeout 900" in find["run"]
    test = steps["E2E tests"]
    assert test["env"]["PLAYWRIGHT_BASE_URL"] == "${{ steps.preview.outputs.url }}"
    assert test["env"]["VERCEL_AUTOMATION_BYPASS_SECRET"] == "${{ secrets.VERCEL_AUTOMATION_BYPASS_SECRET }}"
    after = list(steps)[list(steps).index(find["name"]) + 1 :]
    assert after and all(steps[n]["if"].startswith("steps.preview.outputs.url != ''") for n in after)
    for step in steps.values():  # no template injection: expressions only in env/with/if
        assert "${{" not in str(step.get("run", ""))


def test_e2e_installs_and_caches_browsers_exactly_like_the_staging_e2e(workflow: dict[str, Any]) -> None:
    frontend = load_workflow(
        render_app_workflows(load_from_stack_file("staging"))["maya"][".github/workflows/frontend.yml"]
    )
    staging = [s for s in frontend["jobs"]["e2e"]["steps"] if s["name"] != "Check out the repository"]
    preview = [s for s in _e2e(workflow)["steps"] if s["name"] in {t["name"] for t in staging}]
    assert [s["name"] for s in preview] == [s["name"] for s in staging]
    for mine, theirs in zip(preview, staging, strict=True):
        assert {k: v for k, v in mine.items() if k not in ("if", "env")} == {
            k: v for k, v in theirs.items() if k not in ("if", "env")
        }


def test_e2e_check_is_required_on_develop_only_where_it_runs() -> None:
    staging, production = load_from_stack_file("staging"), load_from_stack_file("production")
    assert staging.preview_e2e and staging.required_status_checks[-1] == PREVIEW_E2E_CHECK
    assert not production.preview_e2e and PREVIEW_E2E_CHECK not in production.required_status_checks
    split = staging.model_copy(
        update={"github": staging.github.model_copy(update={"frontend_repository": "maya-web"})}
    )  # the suite would live in another repository than the previews workflow: no job, nothing required
    assert not split.preview_e2e and PREVIEW_E2E_CHECK not in split.required_status_checks
    assert PREVIEW_E2E_CHECK not in load_workflow(render_app_workflows(split)["maya"][PATH])["jobs"]
    no_previews = staging.model_copy(
        update={"frontend": staging.frontend.model_copy(update={"preview_deployments": False})}
    )
    assert PREVIEW_E2E_CHECK not in no_previews.required_status_checks


def _run_find(
    workflow: dict[str, Any], env: dict[str, str], tmp_path: Path
) -> tuple[subprocess.CompletedProcess[str], str]:
    steps = _e2e(workflow)["steps"]
    write = next(s for s in steps if s["name"].startswith("Write "))
    find = next(s for s in steps if s.get("id") == "preview")
    output = tmp_path / "output"
    output.write_text("")
    full = {"PATH": os.environ["PATH"], "RUNNER_TEMP": str(tmp_path), "GITHUB_OUTPUT": str(output), **env}
    result = subprocess.CompletedProcess[str]([], 0, "", "")
    for step in (write, find):
        command = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]]
        result = subprocess.run(
            command, env=full, capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path
        )
        if result.returncode:
            break
    return result, output.read_text()


def test_the_find_step_runs_as_written_against_the_fake_vercel(workflow: dict[str, Any], tmp_path: Path) -> None:
    sha = "d" * 40
    with world() as w:
        clients = w.clients()
        target = pp.Target(w.project_id, w.staging_id, w.backend_id)
        w.open_pull_request(4)
        pp.up(clients, target, 4, "feat/e2e", sha, "mayassistant/maya", timeout=5, poll=0)  # wires + builds
        base = {
            **w.env(),
            "VERCEL_AUTOMATION_BYPASS_SECRET": "bypass-0123456789abcdef0123456789ab",
            "PREVIEW_JOB": "success",
            "HEAD_REPOSITORY": "mayassistant/maya",
            "SHA": sha,
            "BRANCH": "feat/e2e",
        }
        result, output = _run_find(workflow, base, tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
        [built] = [d for d in w.vercel.deployments.values() if d["meta"]["githubCommitSha"] == sha]
        assert output == f"url=https://{built['url']}\n"
        assert "bypass-0123" not in result.stdout + result.stderr  # the secret is never printed

        fork, output = _run_find(
            workflow, {**base, "HEAD_REPOSITORY": "someone/maya", "PREVIEW_JOB": "skipped"}, tmp_path
        )
        assert fork.returncode == 0 and output == ""
        [line] = fork.stdout.splitlines()
        assert line.startswith("::notice::") and "fork" in line and "no secrets" in line

        failed, output = _run_find(workflow, {**base, "PREVIEW_JOB": "failure"}, tmp_path)
        assert failed.returncode == 1 and output == ""
        assert failed.stdout == "::error::the preview job ended failure: there is no preview to test\n"

        missing, output = _run_find(workflow, {**base, "VERCEL_AUTOMATION_BYPASS_SECRET": ""}, tmp_path)
        assert missing.returncode == 1 and output == ""
        assert missing.stdout.startswith("::error::VERCEL_AUTOMATION_BYPASS_SECRET is not in the preview environment")
