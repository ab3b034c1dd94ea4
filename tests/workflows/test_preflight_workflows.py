"""``ops preflight`` in this repository's pipeline: first in every preview and up (before ``pulumi``), and the
scheduled schema-drift job that keeps one issue open while Railway's live schema refuses a document."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from workflows import infra
from workflows import preflight as wf


def _jobs(path: str) -> dict[str, Any]:
    jobs: dict[str, Any] = yaml.safe_load(infra.render()[path])["jobs"]
    return jobs


def test_preflight_runs_before_pulumi_in_every_preview_and_up_job() -> None:
    for path in (infra.PREVIEW_PATH, infra.UP_PATH):
        for job_id, job in _jobs(path).items():
            names = [s.get("name", "") for s in job["steps"]]
            stack = job_id.rsplit("-", 1)[-1]  # preview-/plan-/up-<stack>, in <stack>'s environments (docs/trust.md)
            preflight = next(i for i, n in enumerate(names) if n.startswith("Preflight"))
            pulumi = next(
                i
                for i, s in enumerate(job["steps"])
                if (s.get("with") or {}).get("command")
                or "-m ops plan " in str(s.get("run"))
                or "-m ops apply " in str(s.get("run"))
            )
            assert preflight < pulumi, f"{path}:{job_id}"
            step = job["steps"][preflight]
            assert f"venv/bin/python -m ops preflight --stack {stack}\n" in step["run"]
            assert "continue-on-error" not in step  # a failed check stops the job before pulumi
            assert set(step["env"]) == {"PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE"}
            install = next(i for i, s in enumerate(job["steps"]) if "pulumi/actions@" in str(s.get("uses")))
            assert install < preflight and "command" not in job["steps"][install]["with"]


def test_the_schema_job_raises_one_issue_with_the_refused_documents_and_clears_it() -> None:
    (job_id, job), *_ = _jobs(wf.SCHEMA_PATH).items()
    # staging's plan environment: it only reads, on the default branch's schedule (docs/trust.md)
    assert job_id == "railway-schema-staging" and job["environment"] == "staging-plan"
    assert job["if"] == "github.ref == 'refs/heads/main'"
    steps = {s.get("id"): s for s in job["steps"] if s.get("id")}
    check = steps["schema"]
    assert check["continue-on-error"] is True
    assert "--only railway.schema" in check["run"] and "--schema-issue" in check["run"]
    assert 'echo "refused=true" >> "$GITHUB_OUTPUT"' in check["run"]
    alert, recovery = steps["alert"], steps["recovery"]
    assert alert["if"] == "steps.schema.outputs.refused == 'true'"
    assert alert["env"]["LABEL"] == recovery["env"]["LABEL"] == wf.SCHEMA_LABEL
    assert alert["env"]["BODY_FILE"] == "${{ runner.temp }}/schema-issue.md"
    assert 'cat "$BODY_FILE"' in alert["run"] and 'gh issue edit "$number"' in alert["run"]
    assert recovery["if"] == "steps.schema.outcome == 'success'"
    assert job["steps"][-1]["if"] == "steps.schema.outcome == 'failure'"


# ---- the schema-drift issue, run as the job runs it ---------------------------------------------------------

FAKE_GH = """#!{python}
import json, os, sys
path = os.environ["FAKE_GH_STATE"]
state = json.load(open(path)) if os.path.exists(path) else {{"issues": []}}
args = sys.argv[1:]
def opt(name):
    return args[args.index(name) + 1]
def issue(number):
    return next(i for i in state["issues"] if i["number"] == int(number))
if args[:2] == ["label", "create"]:
    pass
elif args[:2] == ["issue", "list"]:
    found = [i for i in state["issues"] if i["state"] == "open" and opt("--label") in i["labels"]]
    print(json.dumps([{{"number": i["number"], "title": i["title"]}} for i in found]))
elif args[:2] == ["issue", "create"]:
    state["issues"].append(
        {{"number": len(state["issues"]) + 1, "title": opt("--title"), "labels": [opt("--label")],
          "body": opt("--body"), "state": "open", "edits": 0}}
    )
elif args[:2] == ["issue", "edit"]:
    issue(args[2]).update(body=opt("--body"), edits=issue(args[2])["edits"] + 1)
elif args[:2] == ["issue", "close"]:
    issue(args[2]).update(state="closed", comment=opt("--comment"))
else:
    sys.exit(f"fake gh: unexpected {{args}}")
json.dump(state, open(path, "w"))
"""


def _run_step(step: dict[str, Any], tmp_path: Path) -> str:
    """The step's script with bash as Actions runs it, ``gh`` faked on PATH; returns what it wrote to GITHUB_OUTPUT."""
    values = {
        "github.token": "token",
        "github.repository": "owner/maya-infra",
        "github.server_url": "https://github.com",
        "github.run_id": "7",
        "runner.temp": str(tmp_path),
        "steps.schema.outcome": "failure",
    }
    env = {k: re.sub(r"\$\{\{\s*([^}]+?)\s*\}\}", lambda m: values[m.group(1)], v) for k, v in step["env"].items()}
    output = tmp_path / "output"
    output.write_text("")
    script = tmp_path / "step.sh"
    script.write_text(step["run"])
    path = f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}"
    extra = {"PATH": path, "GITHUB_OUTPUT": str(output), "FAKE_GH_STATE": str(tmp_path / "gh.json")}
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        env={**os.environ, **env, **extra},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return output.read_text()


def test_the_schema_issue_is_opened_once_edited_while_refused_and_closed_on_recovery(tmp_path: Path) -> None:
    """Run after run, a lasting drift is one issue whose body follows the refused documents (no new mail)."""
    (tmp_path / "bin").mkdir()
    gh = tmp_path / "bin" / "gh"
    gh.write_text(FAKE_GH.format(python=sys.executable))
    gh.chmod(0o755)
    (_, job), *_ = _jobs(wf.SCHEMA_PATH).items()
    steps = {s.get("id"): s for s in job["steps"] if s.get("id")}
    body = tmp_path / "schema-issue.md"

    def issues() -> list[dict[str, Any]]:
        return list(json.loads((tmp_path / "gh.json").read_text())["issues"])

    body.write_text("refused: PreviewEnvironmentCreate")
    assert "opened=true" in _run_step(steps["alert"], tmp_path)
    body.write_text("refused: BackupCreate")
    assert "opened=true" not in _run_step(steps["alert"], tmp_path)
    (issue,) = issues()
    assert issue["title"] == wf.SCHEMA_TITLE and issue["labels"] == [wf.SCHEMA_LABEL] and issue["edits"] == 1
    assert "BackupCreate" in issue["body"] and "PreviewEnvironmentCreate" not in issue["body"]
    assert "closed=true" in _run_step(steps["recovery"], tmp_path)
    (issue,) = issues()
    assert issue["state"] == "closed" and issue["comment"].startswith("Recovered")
    assert "closed=true" not in _run_step(steps["recovery"], tmp_path)  # nothing open: nothing to close
    assert "opened=true" in _run_step(steps["alert"], tmp_path)  # a new drift is a new issue
    assert [i["state"] for i in issues()] == ["closed", "open"]
