"""``ops preflight`` in this repository's pipeline: first in every preview and up (before ``pulumi``), and the
scheduled schema-drift job that keeps one issue open while Railway's live schema refuses a document."""

from __future__ import annotations

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
