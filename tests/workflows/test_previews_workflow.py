"""The generated previews workflow (workflows/previews.py): least privilege, the shape from the config and the
variable table, the inlined script, and its removal step run for real against the fakes."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from config import envvars, load_from_stack_file
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
    [job] = workflow["jobs"].values()
    assert job["permissions"] == {"pull-requests": "write"}
    assert job["environment"] == "preview"
    assert "github.event.pull_request.head.repo.full_name == github.repository" in job["if"]  # no forks
    assert "user.type != 'Bot'" in job["if"]
    text = str(workflow)
    secrets = set(re.findall(r"secrets\.([A-Z_]+)", text))
    assert secrets == {"RAILWAY_PREVIEW_TOKEN", "VERCEL_TOKEN"}  # the preview environment's own, nothing else


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
    assert write.split("<<'PYTHON_SCRIPT'\n", 1)[1].removesuffix("PYTHON_SCRIPT\n") == bundled_script(SCRIPT)


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
