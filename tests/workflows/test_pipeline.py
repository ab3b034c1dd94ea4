"""Change detection, the required-check gate and the repository layout, run for real where they are scripts."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from config import load_from_stack_file
from tests.workflows.conftest import load_workflow
from workflows import render_app_workflows, tools
from workflows.pipeline import Route, all_routes, check_required

ZERO = "0" * 40


def _git(repo: Path, *args: str) -> str:
    result = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=30, check=True)
    return result.stdout.strip()


def _commit(repo: Path, path: str, text: str) -> str:
    target = repo / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", path)
    return _git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    _git(root, "init", "-q")
    _commit(root, "README.md", "x\n")
    return root


def _step(workflow: dict[str, Any], job: str, step_id: str | None = None, index: int | None = None) -> dict[str, Any]:
    steps = workflow["jobs"][job]["steps"]
    return next(s for s in steps if s.get("id") == step_id) if step_id else steps[index or 0]


def _run_step(step: dict[str, Any], cwd: Path, env: dict[str, str], tmp: Path) -> tuple[int, dict[str, str], str]:
    output, summary = tmp / "output", tmp / "summary"
    output.write_text("")
    summary.write_text("")
    full_env = {"PATH": os.environ["PATH"], "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary)}
    # The way GitHub runs a bash step: bash --noprofile --norc -eo pipefail {0}
    command = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]]
    result = subprocess.run(command, cwd=cwd, env={**full_env, **env}, capture_output=True, text=True, timeout=30)
    values = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
    return result.returncode, values, result.stdout + result.stderr


@pytest.fixture(scope="module")
def frontend() -> dict[str, Any]:
    files = render_app_workflows(load_from_stack_file("staging"))
    return load_workflow(files["maya"][".github/workflows/frontend.yml"])


def _fake_gh(folder: Path) -> Path:
    """`gh run list …` answering like GitHub: the head commit of the last successful push run (LAST_SUCCESS)."""
    folder.mkdir(exist_ok=True)
    gh = folder / "gh"
    gh.write_text(
        "#!/usr/bin/env bash\n"
        'echo "$*" >> "$GH_CALLS"\n'
        '[ "${GH_FAILS:-}" = 1 ] && { echo "HTTP 502" >&2; exit 1; }\n'
        'case "$*" in *"run list --workflow $WORKFLOW_FILE --branch $REF_NAME --event push --status success"*) ;;\n'
        '  *) echo "unexpected: $*" >&2; exit 2 ;; esac\n'
        'echo "${LAST_SUCCESS:-}"\n'
    )
    gh.chmod(0o755)
    return folder


def _detect(frontend: dict[str, Any], repo: Path, tmp_path: Path, **env: str) -> tuple[str, str]:
    step = _step(frontend, "changes", "detect")
    assert set(step["env"]) == {"EVENT_NAME", "REF_NAME", "PR_BASE_SHA", "WORKFLOW_FILE", "GH_TOKEN", "GH_REPO"}
    assert step["env"]["WORKFLOW_FILE"] == "frontend.yml"
    path = f"{_fake_gh(tmp_path / 'bin')}{os.pathsep}{os.environ['PATH']}"
    defaults = {
        "EVENT_NAME": "push",
        "REF_NAME": "develop",
        "PR_BASE_SHA": "",
        "WORKFLOW_FILE": step["env"]["WORKFLOW_FILE"],  # a literal in the workflow
        "LAST_SUCCESS": "",
        "GH_CALLS": str(tmp_path / "gh-calls"),
        "PATH": path,
    }
    code, values, log = _run_step(step, repo, {**defaults, **env}, tmp_path)
    assert code == 0, log
    return values["relevant"], values["environment"]


def test_push_to_develop_that_changes_the_frontend_deploys_staging(frontend: dict, repo: Path, tmp_path: Path) -> None:
    before = _git(repo, "rev-parse", "HEAD")
    _commit(repo, "omega-frontend/app/page.tsx", "export default 1\n")
    assert _detect(frontend, repo, tmp_path, LAST_SUCCESS=before) == ("true", "staging")


def test_push_to_main_without_frontend_changes_skips_the_stages(frontend: dict, repo: Path, tmp_path: Path) -> None:
    before = _git(repo, "rev-parse", "HEAD")
    _commit(repo, "backend/app/main.py", "app = 1\n")
    assert _detect(frontend, repo, tmp_path, REF_NAME="main", LAST_SUCCESS=before) == ("false", "production")


def test_a_change_to_the_workflow_itself_runs_the_stages(frontend: dict, repo: Path, tmp_path: Path) -> None:
    before = _git(repo, "rev-parse", "HEAD")
    _commit(repo, ".github/workflows/frontend.yml", "name: frontend\n")
    assert _detect(frontend, repo, tmp_path, LAST_SUCCESS=before)[0] == "true"


def test_pull_requests_compare_with_their_base_and_never_deploy(frontend: dict, repo: Path, tmp_path: Path) -> None:
    base = _git(repo, "rev-parse", "HEAD")
    _commit(repo, "omega-frontend/package.json", "{}\n")
    changed = _detect(frontend, repo, tmp_path, EVENT_NAME="pull_request", REF_NAME="7/merge", PR_BASE_SHA=base)
    assert changed == ("true", "")
    base = _git(repo, "rev-parse", "HEAD")
    _commit(repo, "docs/notes.md", "x\n")
    unrelated = _detect(frontend, repo, tmp_path, EVENT_NAME="pull_request", REF_NAME="8/merge", PR_BASE_SHA=base)
    assert unrelated == ("false", "")


@pytest.mark.parametrize("before", [ZERO, "1234567890abcdef1234567890abcdef12345678", ""])
def test_an_unknown_base_runs_every_stage(frontend: dict, repo: Path, tmp_path: Path, before: str) -> None:
    _commit(repo, "docs/other.md", "x\n")
    assert _detect(frontend, repo, tmp_path, LAST_SUCCESS=before) == ("true", "staging")


def test_other_branches_deploy_nowhere(frontend: dict, repo: Path, tmp_path: Path) -> None:
    before = _git(repo, "rev-parse", "HEAD")
    _commit(repo, "omega-frontend/x.ts", "1\n")
    assert _detect(frontend, repo, tmp_path, REF_NAME="feature/x", LAST_SUCCESS=before) == ("true", "")


@pytest.mark.parametrize(
    ("results", "passes"),
    [
        ({"changes": "success", "lint": "success", "deploy": "skipped"}, True),
        ({"changes": "success", "lint": "skipped", "deploy": "skipped"}, True),
        ({"changes": "success", "lint": "failure", "deploy": "skipped"}, False),
        ({"changes": "success", "lint": "success", "deploy": "cancelled"}, False),
        ({"changes": "failure", "lint": "skipped", "deploy": "skipped"}, False),
    ],
)
def test_the_gate_passes_only_when_every_stage_succeeded_or_was_skipped(
    frontend: dict, tmp_path: Path, results: dict[str, str], passes: bool
) -> None:
    needs = {job: {"result": result, "outputs": {}} for job, result in results.items()}
    step = _step(frontend, "frontend-ci")
    code, _, log = _run_step(step, tmp_path, {"RESULTS": json.dumps(needs)}, tmp_path)
    assert (code == 0) is passes, log


def test_split_repositories_get_their_own_files_without_path_filters() -> None:
    cfg = load_from_stack_file("staging")
    split = cfg.model_copy(
        update={
            "github": cfg.github.model_copy(
                update={"frontend_repository": "omega-frontend", "backend_repository": "maya-backend"}
            )
        }
    )
    files = render_app_workflows(split)
    locks = [f".github/ci-tools/{name}" for name in tools.FILES]  # every repository installs its tools locked
    assert {repo: sorted(paths) for repo, paths in files.items()} == {
        "maya-backend": sorted(
            [
                *locks,
                ".github/workflows/backend.yml",
                ".github/workflows/monitor.yml",
                ".github/workflows/previews.yml",  # previews fork the backend's environment (docs/previews.md)
                "apply_migrations.py",
            ]
        ),
        "omega-frontend": sorted([*locks, ".github/workflows/frontend.yml"]),
    }
    back = files["maya-backend"][".github/workflows/backend.yml"]
    # the backend's E2E job tests the staging site with the suite of the frontend's repository
    assert "repository: mayassistant/omega-frontend" in back and "ref: develop" in back
    front = files["omega-frontend"][".github/workflows/frontend.yml"]
    assert "paths=()" in front and "working-directory: omega-frontend" not in front
    assert "Stack-specific: github.frontendRepository/backendRepository differs" in front


def test_a_required_check_that_no_workflow_reports_is_an_error() -> None:
    cfg = load_from_stack_file("production")
    other = cfg.model_copy(update={"github": cfg.github.model_copy(update={"required_checks": ("frontend-ci", "e2e")})})
    with pytest.raises(ValueError, match=r"\['e2e'\]"):
        check_required(other, {"frontend-ci", "backend-ci"})
    with pytest.raises(ValueError, match="e2e"):
        render_app_workflows(other)


def test_two_stacks_on_one_branch_are_refused() -> None:
    staging, production = load_from_stack_file("staging"), load_from_stack_file("production")
    same = production.model_copy(update={"github": production.github.model_copy(update={"branch": "develop"})})
    assert all_routes([staging, production]) == (
        Route("staging", "develop", "staging"),
        Route("production", "main", "production"),
    )
    with pytest.raises(ValueError, match="same branch"):
        all_routes([staging, same])


def _checkly(cfg: Any) -> Any:
    assert cfg.monitoring is not None
    return cfg.model_copy(update={"monitoring": cfg.monitoring.model_copy(update={"provider": "checkly"})})


def _with_checkly(stack: str) -> Any:
    return _checkly(load_from_stack_file(stack))


def test_monitor_workflow_only_for_environments_checkly_does_not_watch() -> None:
    files = render_app_workflows(_with_checkly("production"))["maya"]
    matrix = load_workflow(files[".github/workflows/monitor.yml"])["jobs"]["health"]["strategy"]["matrix"]["include"]
    assert [row["environment"] for row in matrix] == ["staging"]  # production: Checkly alone, no double alerts

    production = _with_checkly("production")  # and its peer, staging, watched by Checkly too
    everywhere = render_app_workflows(production.model_copy(update={"peers": tuple(map(_checkly, production.peers))}))
    everywhere = everywhere["maya"]
    assert ".github/workflows/monitor.yml" not in everywhere
    assert {".github/workflows/frontend.yml", ".github/workflows/backend.yml"} <= set(everywhere)


def test_infra_workflows_refuse_a_stack_without_a_shared_state_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    """CI on a runner's empty file:// state would build a second MAYA: rendering stops and says what to set."""
    import io
    from argparse import Namespace

    from ops import render as render_command
    from ops.console import Streams

    def without_backend(stack: str) -> Any:
        return load_from_stack_file(stack).model_copy(update={"state_backend": None})

    monkeypatch.setattr("workflows.infra.load_from_stack_file", without_backend)
    err = io.StringIO()
    code = render_command.run(Namespace(infra=True, stack=None, out=Path("/nonexistent")), Streams(err=err))
    assert code == 2
    assert "has no maya-infra:stateBackend" in err.getvalue() and "stateBackend.kind" in err.getvalue()
