"""The deploy jobs mark each deployed commit as a Sentry release (workflows/tracking.py).

The step's script runs under bash as on the runner, with ``python3`` and ``sentry-cli`` replaced by stand-ins
that record their arguments (the real ones would need PyPI and Sentry): it installs sentry-cli from the lock
file, creates, associates, finalizes and deploys the release of this commit to the job's environment, survives
a Sentry without the repository connected, and does nothing where the stack has no error tracker. It never
fails a deploy, and the backend's rollback steps do not see it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from workflows import tools
from workflows.tracking import mark_release

FAKE_PYTHON = r"""#!/usr/bin/env bash
# python3 -m venv DIR: a "virtual environment" whose python records pip installs and whose sentry-cli records calls
set -euo pipefail
[ "$1 $2" = "-m venv" ] || { echo "unexpected: python3 $*" >&2; exit 2; }
mkdir -p "$3/bin"
cat > "$3/bin/python" <<'PY'
#!/usr/bin/env bash
echo "pip $*" >> "$CALLS"
PY
cat > "$3/bin/sentry-cli" <<'CLI'
#!/usr/bin/env bash
echo "sentry-cli $* [org=$SENTRY_ORG project=$SENTRY_PROJECT url=$SENTRY_URL]" >> "$CALLS"
[ "$2" != "set-commits" ] || exit "${SET_COMMITS_EXIT:-0}"
CLI
chmod +x "$3/bin/python" "$3/bin/sentry-cli"
"""


def _run(step: dict[str, Any], tmp_path: Path, env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "python3").write_text(FAKE_PYTHON)
    (bin_dir / "python3").chmod(0o755)
    calls = tmp_path / "calls.log"
    calls.write_text("")
    summary = tmp_path / "summary.md"
    environment = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "RUNNER_TEMP": str(tmp_path / "runner"),
        "GITHUB_WORKSPACE": str(tmp_path / "workspace"),
        "CALLS": str(calls),
        "GITHUB_STEP_SUMMARY": str(summary),
        "SENTRY_URL": "https://sentry.io/",
        "SENTRY_ORG": "mayassistant",
        "SENTRY_PROJECT": "maya-backend",
        "RELEASE": "0123456789abcdef0123456789abcdef01234567",
        "ENVIRONMENT": "staging",
        **env,
    }
    done = subprocess.run(
        ["bash", "-e", "-c", step["run"]], env=environment, capture_output=True, text=True, timeout=30, check=False
    )
    return done, calls.read_text()


def test_a_deployed_commit_becomes_a_finalized_release_deployed_to_the_environment(tmp_path: Path) -> None:
    done, calls = _run(mark_release("backend"), tmp_path, {"SENTRY_AUTH_TOKEN": "sntrys_test"})
    assert done.returncode == 0, done.stderr
    workspace = tmp_path / "workspace"
    sha = "0123456789abcdef0123456789abcdef01234567"
    suffix = " [org=mayassistant project=maya-backend url=https://sentry.io/]"
    assert calls.splitlines() == [
        f"pip -m pip install --require-hashes --no-deps --requirement {workspace}/{tools.FOLDER}/{tools.RELEASE_TOOLS}",
        f"sentry-cli releases new {sha}{suffix}",
        f"sentry-cli releases set-commits {sha} --auto --ignore-missing{suffix}",
        f"sentry-cli releases finalize {sha}{suffix}",
        f"sentry-cli deploys new --release {sha} --env staging{suffix}",
    ]
    assert f"release {sha} of maya-backend deployed to staging" in (tmp_path / "summary.md").read_text()


def test_a_sentry_without_the_repository_connected_still_gets_the_release(tmp_path: Path) -> None:
    done, calls = _run(mark_release("frontend"), tmp_path, {"SENTRY_AUTH_TOKEN": "t", "SET_COMMITS_EXIT": "1"})
    assert done.returncode == 0 and "::warning::Sentry could not associate commits" in done.stdout
    assert "releases finalize" in calls and "deploys new" in calls


def test_without_an_error_tracker_nothing_is_installed_or_called(tmp_path: Path) -> None:
    done, calls = _run(mark_release("backend"), tmp_path, {"SENTRY_AUTH_TOKEN": ""})
    assert done.returncode == 0 and "::notice::no error tracker" in done.stdout
    assert calls == ""


@pytest.mark.parametrize(
    ("app", "project"), [("frontend", "SENTRY_FRONTEND_PROJECT"), ("backend", "SENTRY_BACKEND_PROJECT")]
)
def test_the_step_never_fails_a_deploy_and_reads_its_apps_project(app: str, project: str) -> None:
    step = mark_release(app)  # type: ignore[arg-type]
    assert step["continue-on-error"] is True  # a Sentry outage must not fail (or roll back) a healthy deploy
    assert step["env"]["SENTRY_PROJECT"] == "${{ vars." + project + " }}"
    assert step["env"]["SENTRY_AUTH_TOKEN"] == "${{ secrets.SENTRY_AUTH_TOKEN }}"


def test_both_deploy_jobs_mark_their_release_after_their_checks(workflows: dict[str, dict[str, Any]]) -> None:
    for stack in ("staging", "production"):
        front = workflows[f"{stack}/maya/.github/workflows/frontend.yml"]["jobs"]["deploy"]["steps"]
        marked = [s for s in front if s["name"] == mark_release("frontend")["name"]]
        assert marked == [mark_release("frontend", "needs.changes.outputs.environment == 'production'")]
        assert front[-1] is marked[0]  # production: after the promotion and its checks
        promote = workflows[f"{stack}/maya/.github/workflows/frontend.yml"]["jobs"]["promote"]["steps"]
        assert promote[-1] == mark_release("frontend")  # staging: the promote job makes the release live
        build = next(s for s in front if s["name"] == "Build with the Vercel CLI")
        assert build["env"]["SENTRY_RELEASE"] == "${{ github.sha }}"  # the bundle reports the commit it was built from
        back = workflows[f"{stack}/maya/.github/workflows/backend.yml"]["jobs"]["deploy"]["steps"]
        names = [s["name"] for s in back]
        marked = names.index(mark_release("backend")["name"])
        assert names[marked - 1].startswith("Health checks") and names[marked + 1].startswith("Roll back")
