"""The generated pipelines of issue 13: production only after staging, E2E on staging, alert mail on failure."""

from __future__ import annotations

import re
from typing import Any

import pytest

FILES = ["frontend.yml", "backend.yml"]


def _doc(workflows: dict[str, dict[str, Any]], file: str, stack: str = "production") -> dict[str, Any]:
    return workflows[f"{stack}/maya/.github/workflows/{file}"]


# the staging run's jobs the gate requires; `performance`: the staging performance stage (workflows/performance.py)
GATED = {"frontend.yml": ["deploy", "promote", "e2e", "performance"], "backend.yml": ["deploy", "e2e", "performance"]}


@pytest.mark.parametrize("file", FILES)
def test_every_deploy_waits_for_the_staging_gate(workflows: dict[str, dict[str, Any]], file: str) -> None:
    jobs = _doc(workflows, file)["jobs"]
    gate = jobs["staging-gate"]
    assert "staging-gate" in jobs["deploy"]["needs"]
    assert gate["if"] == jobs["deploy"]["if"]  # runs whenever a deploy would, and passes at once for staging
    [check] = [s for s in gate["steps"] if s["name"].startswith("Require this code to have been deployed")]
    assert "--production production --staging staging" in check["run"]
    assert f"--check {file.replace('.yml', '-ci')}" in check["run"]
    assert f"--workflow .github/workflows/{file}" in check["run"] and "--staging-branch develop" in check["run"]
    assert check["run"].split("--path ")[1].split()[0] == ("omega-frontend" if file == "frontend.yml" else "backend")
    required = [part.split()[0] for part in check["run"].split("--require-job ")[1:]]
    assert required == GATED[file]
    for name in required:  # the jobs API reports display names: each required job is named like its id
        assert jobs[name]["name"] == name
    assert set(gate["permissions"]) == {"contents", "actions"}


@pytest.mark.parametrize("file", FILES)
def test_every_deploy_job_refuses_stale_code_first(workflows: dict[str, dict[str, Any]], file: str) -> None:
    jobs = _doc(workflows, file)["jobs"]
    deploying = [j for j in jobs if j in ("deploy", "promote")]
    for job_id in deploying:
        steps = jobs[job_id]["steps"]
        assert steps[0]["name"].startswith("Write branch_head.py")
        assert steps[1]["name"] == "Refuse stale code (this run's commit must be the branch head)"
        assert steps[1]["env"]["SHA"] == "${{ github.sha }}" and steps[1]["env"]["BRANCH"] == "${{ github.ref_name }}"


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


def test_e2e_runs_after_a_backend_deploy_to_staging_against_the_staging_site(
    workflows: dict[str, dict[str, Any]],
) -> None:
    jobs = _doc(workflows, "backend.yml")["jobs"]
    e2e = jobs["e2e"]
    assert e2e["needs"] == ["changes", "deploy"]
    assert e2e["if"] == "needs.deploy.result == 'success' && (needs.changes.outputs.environment == 'staging')"
    steps = {s["name"]: s for s in e2e["steps"]}
    assert steps["E2E tests"]["env"]["PLAYWRIGHT_BASE_URL"] == "https://staging.mayassistant.com"
    assert e2e["defaults"]["run"]["working-directory"] == "omega-frontend"  # the suite of the monorepo
    assert "e2e" in jobs["backend-ci"]["needs"] and "secrets." not in repr(e2e)


def test_the_frontend_is_promoted_only_after_its_checks_and_rolled_back_on_a_failed_live_check(
    workflows: dict[str, dict[str, Any]],
) -> None:
    jobs = _doc(workflows, "frontend.yml")["jobs"]
    deploy, promote = jobs["deploy"], jobs["promote"]
    names = [s["name"] for s in deploy["steps"]]
    runs = {s["name"]: str(s.get("run", "")) for s in deploy["steps"]}
    deployed = runs["Deploy to Vercel without moving the production domains"]
    assert "vercel deploy --prebuilt --prod --skip-domain" in deployed
    smoke = names.index("Smoke tests of the new deployment (its own URL; the backend health)")
    promoted = names.index("Promote the verified deployment (the production domains move now)")
    assert (
        names.index("Verify deployment")
        < smoke
        < promoted
        < names.index("Health checks of the live site after the promotion")
        < names.index("Roll back: promote what production served before (the live site failed its checks)")
    )
    by_name = {s["name"]: s for s in deploy["steps"]}
    assert by_name["Promote the verified deployment (the production domains move now)"]["if"] == (
        "needs.changes.outputs.environment == 'production'"
    )  # staging promotes in its own job, after E2E
    assert promote["needs"] == ["changes", "deploy", "e2e"]
    assert "needs.e2e.result == 'success'" in promote["if"] and "'staging'" in promote["if"]
    everything = repr(jobs)
    assert "--token" not in everything  # the CLI reads VERCEL_TOKEN from the environment
    assert "vercel deploy --prebuilt --prod\n" not in everything and "--prod --token" not in everything
    alert = jobs["alert"]["steps"][0]["env"]["BODY"]
    assert "Promotion: ${{ needs.promote.outputs.promotion || needs.deploy.outputs.promotion ||" in alert


def test_a_production_backend_deploy_backs_the_database_up_first(workflows: dict[str, dict[str, Any]]) -> None:
    """predeploy_backup.py runs in production before the deploy step, on the full history (it compares the
    migrations with the live commit's); a failed backup stops the job, and its id reaches the alert mail."""
    jobs = _doc(workflows, "backend.yml")["jobs"]
    steps = jobs["deploy"]["steps"]
    ids = [s.get("id") for s in steps]
    backup = steps[ids.index("backup")]
    assert ids.index("backup") < ids.index("deploy")
    assert backup["if"] == "needs.changes.outputs.environment == 'production'"
    assert "continue-on-error" not in backup
    assert backup["env"]["RAILWAY_BACKUP_TOKEN"] == "${{ secrets.RAILWAY_BACKUP_TOKEN }}"
    assert {"RAILWAY_VOLUME_INSTANCE_ID", "COMMIT_SHA"} <= set(backup["env"])
    assert 'predeploy_backup.py" --commit "$COMMIT_SHA" --migrations' in backup["run"]
    checkout = next(s for s in steps if str(s.get("uses", "")).startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0
    assert jobs["deploy"]["outputs"]["backup"] == "${{ steps.backup.outputs.backup_id }}"
    assert "needs.deploy.outputs.backup" in jobs["alert"]["steps"][0]["env"]["BODY"]


@pytest.mark.parametrize("file", FILES)
def test_scanners_run_in_jobs_that_hold_no_deploy_secret(workflows: dict[str, dict[str, Any]], file: str) -> None:
    jobs = _doc(workflows, file)["jobs"]
    scan = jobs["scan"]
    assert scan["environment"] == {"name": "${{ needs.changes.outputs.environment }}-scan"}
    assert "scan" in jobs["deploy"]["needs"]
    text = repr(scan)
    assert ("SNYK_TOKEN" if file == "frontend.yml" else "SAFETY_API_KEY") in text
    for deploy_secret in ("VERCEL_TOKEN", "RAILWAY_TOKEN", "RAILWAY_BACKUP_TOKEN"):
        assert deploy_secret not in text
    for job_id in ("deploy", "promote"):
        runs = "\n".join(str(step.get("run", "")) for step in jobs.get(job_id, {}).get("steps", []))
        assert "snyk test" not in runs and "safety" not in runs


def test_app_jobs_that_hold_a_secret_install_only_locked_tools(workflows: dict[str, dict[str, Any]]) -> None:
    """An app pipeline's job with a secret installs nothing unpinned: npm from a lockfile (``npm ci``), pip with
    hashes (maya-infra's own workflows install its requirements.txt: not covered here)."""
    checked = 0
    for key, workflow in workflows.items():
        if "/maya/" not in key:
            continue
        for job_id, job in workflow["jobs"].items():
            if "secrets." not in repr(job):
                continue
            for step in job.get("steps", []):
                for line in str(step.get("run", "")).splitlines():
                    if re.search(r"\bpip3? install\b", line):
                        assert "--require-hashes" in line, f"{key} {job_id}: {line.strip()}"
                        checked += 1
                    if re.search(r"\bnpm (install|i|add|ci)\b", line):
                        assert re.search(r"\bnpm ci\b", line), f"{key} {job_id}: {line.strip()}"
                        checked += 1
    assert checked >= 8  # the deploy, promote and scan jobs of both stacks install their CLIs


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
