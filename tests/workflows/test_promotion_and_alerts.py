"""The generated pipelines of issue 13: production only after staging, E2E on staging, alert mail on failure."""

from __future__ import annotations

from typing import Any

import pytest

FILES = ["frontend.yml", "backend.yml"]


def _doc(workflows: dict[str, dict[str, Any]], file: str, stack: str = "production") -> dict[str, Any]:
    return workflows[f"{stack}/maya/.github/workflows/{file}"]


@pytest.mark.parametrize("file", FILES)
def test_every_deploy_waits_for_the_staging_gate(workflows: dict[str, dict[str, Any]], file: str) -> None:
    jobs = _doc(workflows, file)["jobs"]
    gate = jobs["staging-gate"]
    assert "staging-gate" in jobs["deploy"]["needs"]
    assert gate["if"] == jobs["deploy"]["if"]  # runs whenever a deploy would, and passes at once for staging
    [check] = [s for s in gate["steps"] if s["name"] == "Require this code to have passed on staging"]
    assert "--production production --staging staging" in check["run"]
    assert f"--check {file.replace('.yml', '-ci')}" in check["run"]
    assert gate["permissions"] == {"contents": "read", "deployments": "read", "checks": "read"}


def test_e2e_runs_against_the_new_staging_deployment_with_cached_browsers(
    workflows: dict[str, dict[str, Any]],
) -> None:
    jobs = _doc(workflows, "frontend.yml")["jobs"]
    e2e = jobs["e2e"]
    assert e2e["needs"] == ["changes", "deploy"]
    assert "needs.changes.outputs.environment == 'staging'" in e2e["if"]
    assert jobs["deploy"]["outputs"]["url"] == "${{ steps.deploy.outputs.url }}"
    steps = {s["name"]: s for s in e2e["steps"]}
    cache = steps["Cache the Playwright browsers"]
    assert cache["uses"].startswith("actions/cache@") and cache["with"]["path"] == "~/.cache/ms-playwright"
    assert "steps.playwright.outputs.version" in cache["with"]["key"]
    assert steps["Install Chromium and its system libraries"]["run"].endswith("playwright install --with-deps chromium")
    assert steps["E2E tests"]["env"]["PLAYWRIGHT_BASE_URL"] == "${{ needs.deploy.outputs.url }}"
    assert "e2e" in jobs["frontend-ci"]["needs"]  # a failed E2E run fails the check the gate requires


@pytest.mark.parametrize("file", FILES)
def test_smoke_and_health_checks_assert_the_body(workflows: dict[str, dict[str, Any]], file: str) -> None:
    deploy = _doc(workflows, file)["jobs"]["deploy"]
    runs = "\n".join(str(s.get("run", "")) for s in deploy["steps"])
    for expectation in ("'$.status=healthy'", "'$.database=ok'", "'$.external_apis=ok'"):
        assert f"--expect {expectation}" in runs


@pytest.mark.parametrize("file", FILES)
def test_a_failed_run_on_a_deploy_branch_mails_the_alert_recipients(
    workflows: dict[str, dict[str, Any]], file: str
) -> None:
    jobs = _doc(workflows, file)["jobs"]
    alert = jobs["alert"]
    assert set(alert["needs"]) == set(jobs) - {"alert"}
    assert alert["if"].startswith("failure() && github.event_name == 'push'")
    assert alert["environment"] == {"name": "${{ needs.changes.outputs.environment }}-alerts"}
    [mail] = alert["steps"]
    assert (
        mail["env"]["SMTP_URL"] == "${{ secrets.SMTP_URL }}" and "curl" in mail["run"] and "--mail-rcpt" in mail["run"]
    )
    assert alert["permissions"] == {}


def test_the_monitor_mails_new_incidents_and_recoveries_and_checks_the_body(
    workflows: dict[str, dict[str, Any]],
) -> None:
    job = workflows["production/maya/.github/workflows/monitor.yml"]["jobs"]["health"]
    assert job["environment"] == {"name": "${{ matrix.environment }}-alerts"}
    names = [s["name"] for s in job["steps"]]
    assert "Mail the alert recipients: a new incident" in names and "Mail the alert recipients: recovered" in names
    entries = {e["environment"]: e for e in job["strategy"]["matrix"]["include"]}
    assert "production" not in entries  # Checkly watches production (issue 17: no double alerts)
    assert entries["staging"]["backend_expect"].splitlines() == [
        "$.status=healthy",
        "$.database=ok",
        "$.external_apis=ok",
    ]


def test_the_build_applies_migrations_through_the_runner(workflows: dict[str, dict[str, Any]]) -> None:
    build = _doc(workflows, "backend.yml")["jobs"]["build"]
    runs = "\n".join(str(s.get("run", "")) for s in build["steps"])
    assert 'apply_migrations.py" --dir migrations --script apply_migration.py' in runs
    assert 'apply_migrations.py" --dir migrations --check' in runs
