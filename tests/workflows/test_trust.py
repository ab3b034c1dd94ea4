"""Who can make a generated workflow read a secret (docs/trust.md), checked on every rendered file of every
repository (maya-infra's own and the app's):

* a job a pull request can run (its workflow triggers on ``pull_request`` and nothing in its ``if`` is false for a
  pull request) reads a secret only inside an environment declared in code with required reviewers, who cannot
  approve their own run;
* a job guarded to pushes reads secrets only inside an environment declared in code that a pull request cannot
  enter at all (restricted to named branches) — a pull request can edit the guard away, never the environment;
* maya-infra's own jobs guard on ``github.ref == 'refs/heads/<branch>'`` (never ``ref_name``), production's all.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest

from config import STACKS, load_from_stack_file
from tests.components.program import run_program
from workflows.infra_environments import infra_environments
from workflows.pipeline import all_routes

SECRET = re.compile(r"\bsecrets\.(?P<name>[A-Z][A-Z0-9_]*)")
#: Conditions that are false for every pull_request event (the changes job outputs an environment on push only).
PUSH_ONLY = (
    re.compile(r"needs\.changes\.outputs\.environment != ''"),
    re.compile(r"needs\.changes\.outputs\.environment == '[A-Za-z]"),  # a named environment: a push's
    re.compile(r"github\.event_name == 'push'"),
    re.compile(r"github\.ref == 'refs/heads/"),
)


@cache
def declared() -> dict[str, dict[str, Any]]:
    """Every GitHub environment declared in code, by repository-qualified name -> {reviewers, self, branches}."""
    configs = [load_from_stack_file(s) for s in STACKS]
    out: dict[str, dict[str, Any]] = {}
    for env in infra_environments(configs):
        out[f"infra:{env.name}"] = {
            "reviewers": [r.id for r in env.reviewers],
            "prevent_self_review": env.prevent_self_review,
            "branches": env.branches,
        }
    production = run_program("production")  # it declares every stack's app environments (docs/trust.md)
    for r in production.mocks.of_type("github:index/repositoryEnvironment:RepositoryEnvironment"):
        i = r.inputs
        policy = i.get("deploymentBranchPolicy") or {}
        ids = [x for block in i.get("reviewers") or [] for x in [*block.get("users", []), *block.get("teams", [])]]
        restricted = policy.get("customBranchPolicies") is True or policy.get("protectedBranches") is True
        out[f"app:{i['environment']}"] = {
            "reviewers": ids,
            "prevent_self_review": i.get("preventSelfReview") is True,
            "branches": ("named",) if restricted else None,
        }
    return out


def _environments(job: dict[str, Any]) -> list[str]:
    """The environments a job may run in (an expression of the route environment resolves to each route's)."""
    env = job.get("environment")
    name = env.get("name") if isinstance(env, dict) else env
    if not isinstance(name, str):
        return []
    routes = [r.environment for r in all_routes([load_from_stack_file(s) for s in STACKS])]
    if "${{" not in name:
        return [name]
    resolved = re.sub(r"\$\{\{\s*needs\.changes\.outputs\.environment\s*\}\}", "{}", name)
    assert "${{" not in resolved, f"an environment expression this test cannot resolve: {name}"
    return [resolved.format(route) for route in routes]


def _pr_jobs(workflows: dict[str, dict[str, Any]]) -> Iterator[tuple[str, str, dict[str, Any], bool]]:
    """(file, job id, job, reachable by a pull request) of every job of a pull_request-triggered workflow."""
    for key, document in workflows.items():
        if not {"pull_request", "pull_request_target"} & set(document["on"]):
            continue
        for job_id, job in document["jobs"].items():
            condition = str(job.get("if") or "")
            yield key, job_id, job, not any(guard.search(condition) for guard in PUSH_ONLY)


def test_the_push_only_guard_is_what_the_changes_job_says() -> None:
    """needs.changes.outputs.environment is set only when the event is a push (workflows/pipeline.py)."""
    from workflows.pipeline import changes_job

    script = next(s["run"] for s in changes_job([], [], "ci.yml")["steps"] if "run" in s)
    assert 'environment=""\nif [ "$EVENT_NAME" = push ]; then' in script


def test_pull_request_jobs_reach_secrets_only_behind_reviewers(workflows: dict[str, dict[str, Any]]) -> None:
    checked = 0
    for key, job_id, job, reachable in _pr_jobs(workflows):
        secrets = {m.group("name") for m in SECRET.finditer(repr(job))} - {"GITHUB_TOKEN"}
        if not secrets:
            continue
        names = _environments(job)
        assert names, f"{key}:{job_id} reads {sorted(secrets)} without naming an environment"
        scope = "infra" if key.startswith("infra/") else "app"
        for name in names:
            env = declared().get(f"{scope}:{name}")
            assert env is not None, f"{key}:{job_id} reads {sorted(secrets)} in {name!r}, which no code declares"
            if reachable:
                checked += 1
                assert env["reviewers"], (
                    f"{key}:{job_id}: a pull request reaches {sorted(secrets)} in {name!r} unapproved"
                )
                assert env["prevent_self_review"], f"{key}:{job_id}: the author of a pull request may approve {name!r}"
            else:
                assert env["branches"] is not None or env["reviewers"], (
                    f"{key}:{job_id}: a pull request that edits the guard away reaches {sorted(secrets)} in {name!r}"
                )
    # infra-preview (staging-pr-preview) and the app previews (preview, preview-e2e), for both stacks' copies
    assert checked >= 3


#: maya-infra's workflows a pull request does not trigger: each of their jobs reads a stack's passphrase
INFRA_PUSHED = ("infra-up.yml", "infra-drift.yml", "infra-schema.yml")


def test_every_infra_workflow_outside_pull_requests_is_guard_checked(workflows: dict[str, dict[str, Any]]) -> None:
    """A new workflow of maya-infra joins the guard check below, or this fails."""
    infra = {k.rsplit("/", 1)[-1]: d for k, d in workflows.items() if k.startswith("infra/.github/workflows/")}
    assert {name for name, d in infra.items() if "pull_request" not in d["on"]} == set(INFRA_PUSHED)


@pytest.mark.parametrize("workflow", INFRA_PUSHED)
def test_infra_jobs_guard_on_the_full_ref(workflows: dict[str, dict[str, Any]], workflow: str) -> None:
    document = workflows[f"infra/.github/workflows/{workflow}"]
    for job_id, job in document["jobs"].items():
        condition = str(job.get("if") or "")
        assert "ref_name" not in condition, f"{job_id}: a tag named like the branch would match"
        assert re.search(r"github\.ref == 'refs/heads/[^']+'", condition), f"{job_id} has no ref guard"
    production = {j: job for j, job in document["jobs"].items() if j.endswith("-production")}
    assert all("github.ref == 'refs/heads/main'" in job["if"] for job in production.values())
    assert production or workflow == "infra-schema.yml"  # the schema check reads staging's Railway only


def test_every_infra_environment_is_declared_in_code(workflows: dict[str, dict[str, Any]]) -> None:
    names = {k.removeprefix("infra:") for k in declared() if k.startswith("infra:")}
    used = {
        job["environment"]
        for key, document in workflows.items()
        if key.startswith("infra/")
        for job in document["jobs"].values()
    }
    assert used <= names and used == {
        "staging-pr-preview",
        "staging-plan",
        "staging",
        "production-plan",
        "production",
    }


def test_the_approvers_read_the_plan_before_the_update_runs(workflows: dict[str, dict[str, Any]]) -> None:
    """plan-<stack> (no reviewers, its branch only) writes the diff into the run summary; up-<stack> (the stack's
    reviewers) needs it and applies that plan with `ops apply`, never `pulumi up` of its own."""
    up = workflows["infra/.github/workflows/infra-up.yml"]
    table = declared()
    for stack in STACKS:
        plan, apply = up["jobs"][f"plan-{stack}"], up["jobs"][f"up-{stack}"]
        assert apply["needs"] == [f"plan-{stack}"] and plan["if"] == apply["if"]
        plan_env, up_env = table[f"infra:{plan['environment']}"], table[f"infra:{apply['environment']}"]
        assert not plan_env["reviewers"] and plan_env["branches"] is not None
        assert up_env["branches"] == (load_from_stack_file(stack).github.branch,)
        runs = "\n".join(str(s.get("run", "")) for s in plan["steps"])
        assert f"ops plan --stack {stack}" in runs and '--summary "$GITHUB_STEP_SUMMARY"' in runs
        runs = "\n".join(str(s.get("run", "")) for s in apply["steps"])
        assert f"ops apply --stack {stack}" in runs and "--head" in runs
        assert "pulumi up" not in runs and not [s for s in apply["steps"] if "command" in (s.get("with") or {})]
    assert table["infra:production"]["reviewers"] and table["infra:production"]["prevent_self_review"]


def test_production_reads_the_hand_off_and_staging_never_reads_productions_secrets(
    workflows: dict[str, dict[str, Any]],
) -> None:
    for key, document in workflows.items():
        if not key.startswith("infra/"):
            continue
        for job_id, job in document["jobs"].items():
            text = repr(job)
            handoff = "ops handoff --stack production" in text
            assert handoff is (job_id in ("plan-production", "up-production", "drift-production")), f"{key}:{job_id}"
            if job_id.endswith("staging"):
                assert "STAGING_" not in text and "ops handoff" not in text, f"{key}:{job_id}"
