"""The security baseline of every generated workflow, checked on the parsed YAML (not just by the linters)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from config import envvars
from config.envvars import ALERTS_SUFFIX, SCAN_SUFFIX, Target
from workflows import pins
from workflows.render import ci_names

USES_LINE = re.compile(r"^\s*(?:- )?uses: (?P<ref>\S+) # (?P<version>\S+)$")
SHA_REF = re.compile(r"^(?P<action>[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_./-]+)?)@(?P<sha>[0-9a-f]{40})$")
CONTEXT_REF = re.compile(r"\b(?P<kind>secrets|vars)\.(?P<name>[A-Z][A-Z0-9_]*)")


def _jobs(workflows: dict[str, dict[str, Any]]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for key, document in workflows.items():
        for job_id, job in document["jobs"].items():
            yield key, job_id, job


def _steps(workflows: dict[str, dict[str, Any]]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for key, job_id, job in _jobs(workflows):
        for step in job.get("steps", []):
            yield key, job_id, step


def test_every_action_is_pinned_to_a_sha_of_the_pin_table(rendered: dict[str, str]) -> None:
    seen = set()
    for key, text in rendered.items():
        for line in text.splitlines():
            if line.strip().removeprefix("- ").startswith("uses:"):
                match = USES_LINE.match(line)
                assert match, f"{key}: `uses:` without a `# version` comment: {line}"
                ref = SHA_REF.match(match.group("ref"))
                assert ref, f"{key}: not pinned to a full commit SHA: {line}"
                pin = pins.ACTIONS.get(ref.group("action"))
                assert pin is not None, f"{key}: {ref.group('action')} is not in workflows/pins.py"
                assert (pin.sha, pin.version) == (ref.group("sha"), match.group("version")), line
                seen.add(pin.action)
    assert seen == set(pins.ACTIONS), f"pins no workflow uses: {set(pins.ACTIONS) - seen}"


def test_permissions_are_empty_at_the_top_and_granted_per_job(workflows: dict[str, dict[str, Any]]) -> None:
    for key, document in workflows.items():
        top = document["permissions"]
        assert top == {} or set(top.values()) == {"read"}, key
    for key, job_id, job in _jobs(workflows):
        assert "permissions" in job, f"{key}:{job_id} has no permissions of its own"
        writes = {scope for scope, level in job["permissions"].items() if level == "write"}
        assert writes <= {"issues", "pull-requests"}, f"{key}:{job_id} writes {writes}"
        assert "contents" not in writes and "id-token" not in job["permissions"], f"{key}:{job_id}"


def test_only_the_alerting_and_commenting_jobs_may_write(workflows: dict[str, dict[str, Any]]) -> None:
    writers = {
        (key.rsplit("/", 1)[-1], job_id)
        for key, job_id, job in _jobs(workflows)
        if "write" in job["permissions"].values()
    }
    assert writers == {
        ("monitor.yml", "health"),
        ("infra-preview.yml", "preview-staging"),
        ("infra-drift.yml", "drift-staging"),
        ("infra-drift.yml", "drift-production"),
        ("infra-schema.yml", "railway-schema-staging"),  # the one Railway schema-drift issue (docs/preflight.md)
        ("previews.yml", "preview"),  # the pull request's preview comment (docs/previews.md)
    }


def test_infra_secrets_are_read_only_inside_their_stacks_environment(workflows: dict[str, dict[str, Any]]) -> None:
    """No repository-wide secret: each job reads only what its one environment holds (workflows/infra_environments)."""
    from config import STACKS, load_from_stack_file
    from workflows.infra_environments import infra_environments

    table = {e.name: e for e in infra_environments([load_from_stack_file(s) for s in STACKS])}
    infra = {k: w for k, w in workflows.items() if k.startswith("infra/")}
    for key, job_id, job in _jobs(infra):
        read = {m.group("name") for m in CONTEXT_REF.finditer(repr(job)) if m.group("kind") == "secrets"}
        if read:
            environment = table[job["environment"]]
            assert job_id.endswith(environment.stack), f"{key}:{job_id} reads {environment.stack}'s secrets"
            assert read <= set(environment.secrets), f"{key}:{job_id} reads {read - set(environment.secrets)}"


def test_pull_requests_never_run_production(workflows: dict[str, dict[str, Any]]) -> None:
    preview = workflows["infra/.github/workflows/infra-preview.yml"]
    assert set(preview["on"]) == {"pull_request"}
    assert [job.get("environment") for job in preview["jobs"].values()] == ["staging-pr-preview"]
    assert "production" not in repr(preview["jobs"])


def test_every_checkout_leaves_no_credentials(workflows: dict[str, dict[str, Any]]) -> None:
    checkouts = [(k, j, s) for k, j, s in _steps(workflows) if str(s.get("uses", "")).startswith("actions/checkout@")]
    assert checkouts
    for key, job_id, step in checkouts:
        assert step["with"]["persist-credentials"] is False, f"{key}:{job_id}"


def test_every_job_has_a_name_and_a_timeout(workflows: dict[str, dict[str, Any]]) -> None:
    for key, job_id, job in _jobs(workflows):
        assert job.get("name"), f"{key}:{job_id}"
        assert isinstance(job["timeout-minutes"], int) and 0 < job["timeout-minutes"] <= 60, f"{key}:{job_id}"


def test_no_expression_is_expanded_inside_a_run_script(workflows: dict[str, dict[str, Any]]) -> None:
    runs = [(k, j, s) for k, j, s in _steps(workflows) if "run" in s]
    assert len(runs) > 30
    for key, job_id, step in runs:
        assert "${{" not in step["run"], f"{key}:{job_id}:{step.get('name')}: pass the value through env:"


def test_triggers_are_never_privileged(workflows: dict[str, dict[str, Any]]) -> None:
    for key, document in workflows.items():
        assert not {"pull_request_target", "workflow_run"} & set(document["on"]), key


def test_deploys_only_on_push_inside_the_environment(workflows: dict[str, dict[str, Any]]) -> None:
    app = {k: w for k, w in workflows.items() if k.startswith("staging/")}
    for key in ("staging/maya/.github/workflows/frontend.yml", "staging/maya/.github/workflows/backend.yml"):
        deploy = app[key]["jobs"]["deploy"]
        assert deploy["if"] == "needs.changes.outputs.relevant == 'true' && needs.changes.outputs.environment != ''"
        assert deploy["environment"]["name"] == "${{ needs.changes.outputs.environment }}"
        assert deploy["concurrency"]["cancel-in-progress"] is False
    # Secrets and environment variables appear only in jobs that declare an environment.
    for key, job_id, job in _jobs(app):
        text = repr(job)
        if "secrets." in text or "vars." in text:
            assert "environment" in job, f"{key}:{job_id} reads environment values without an environment"


def test_app_workflows_use_the_names_of_the_envvars_table(workflows: dict[str, dict[str, Any]]) -> None:
    """Every secrets./vars. reference is a CI variable of the table, as secret or variable as it declares."""
    targets = {"frontend.yml": Target.CI_FRONTEND, "backend.yml": Target.CI_BACKEND}
    everything: set[str] = set()
    for file, target in targets.items():
        document = workflows[f"staging/maya/.github/workflows/{file}"]
        for job_id, job in document["jobs"].items():
            # each job reads only the table's variables of the environment it declares: the deploy environment,
            # <environment>-alerts (the mail), or <environment>-scan (the scanners: never beside a deploy secret)
            environment = str((job.get("environment") or {}).get("name", ""))
            job_target = (
                Target.CI_ALERTS
                if environment.endswith(ALERTS_SUFFIX)
                else Target.CI_SCAN
                if environment.endswith(SCAN_SUFFIX)
                else target
            )
            used = {(m.group("kind"), m.group("name")) for m in CONTEXT_REF.finditer(repr(job))}
            table = {v.name: v.secret for v in envvars.TABLE if job_target in v.targets}
            allowed = {("secrets" if secret else "vars", name) for name, secret in table.items()}
            assert used <= allowed, f"{file}: job {job_id} ({environment or 'no environment'})"
            everything |= {name for _, name in used}
        assert set(ci_names(target)) == {v.name for v in envvars.TABLE if target in v.targets}
    ci = {v.name for v in envvars.TABLE if {Target.CI_FRONTEND, Target.CI_BACKEND, Target.CI_SCAN} & v.targets}
    assert ci <= everything, f"CI variables of the table that no workflow reads: {ci - everything}"


@pytest.mark.parametrize("file", ["frontend.yml", "backend.yml"])
def test_the_gate_job_is_the_required_check(workflows: dict[str, dict[str, Any]], file: str) -> None:
    document = workflows[f"production/maya/.github/workflows/{file}"]
    check = file.replace(".yml", "-ci")
    gate = document["jobs"][check]
    assert gate["name"] == check
    assert gate["if"] == "always()"
    assert set(gate["needs"]) == set(document["jobs"]) - {check, "alert"}  # the alert job follows the check
    for job_id, job in document["jobs"].items():
        if job_id not in {"changes", check}:
            assert "changes" in job["needs"], job_id
    assert "paths" not in document["on"]["push"] and "paths" not in document["on"]["pull_request"]
