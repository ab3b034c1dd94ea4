"""What the frontend and backend pipelines share: routes, change detection, and the required-check gate.

Branch protection waits for the check contexts of ``github.requiredChecks``. A ``paths:`` filter on the
trigger would leave such a check pending forever on a pull request that does not touch the app, so the
workflows always run: a first job (``changes``) decides whether the app changed and which environment a
push deploys to, the stage jobs run only when relevant, and a last job named exactly like the required
check (``frontend-ci``, ``backend-ci``) always runs and passes when every stage succeeded or was skipped.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from config import StackConfig
from workflows.render import Job, because, checkout, dump, expr, header, job, script

FRONTEND_CHECK = "frontend-ci"
BACKEND_CHECK = "backend-ci"
CHANGES_JOB = "changes"


@dataclass(frozen=True)
class Route:
    """A push to ``branch`` deploys stack ``stack`` inside the GitHub environment ``environment``."""

    stack: str
    branch: str
    environment: str


def route_of(cfg: StackConfig) -> Route:
    return Route(cfg.stack, cfg.github.branch, cfg.environment)


def all_configs(cfg: StackConfig) -> tuple[StackConfig, ...]:
    """Every stack's config in STACKS order: ``cfg`` and the peers loaded with it (``StackConfig.all_stacks``)."""
    return cfg.all_stacks


def all_routes(configs: Sequence[StackConfig]) -> tuple[Route, ...]:
    """The routes of every stack.

    The app workflows contain all routes, so both stacks render the same file and merging develop into
    main never conflicts on a generated workflow.
    """
    routes = [route_of(c) for c in configs]
    names = [r.branch for r in routes]
    if len(set(names)) != len(names):
        raise ValueError(f"two stacks deploy from the same branch: {names}; give each stack its own branch")
    return tuple(routes)


def routes_source(routes: Sequence[Route]) -> str:
    stacks = ", ".join(f"{r.stack} (branch {r.branch})" for r in routes)
    return f"maya-infra stacks {stacks}: `python -m ops render-workflows --stack <stack> --out DIR`"


def branches(routes: Sequence[Route]) -> list[str]:
    return [r.branch for r in routes]


def changes_job(paths: Sequence[str], routes: Sequence[Route], workflow_file: str, timeout: int = 5) -> Job:
    """Outputs ``relevant`` (did ``paths`` change? always true without paths) and ``environment``.

    ``environment`` is the GitHub environment a push deploys to, empty for pull requests and for other
    branches. A pull request compares with its base. A push compares with the commit of the last
    **successful** run of this workflow for a push to the same branch — the last successful deploy of that
    environment, not the previous push: a push whose checks or deploy failed leaves its change to the next
    push, which then checks and deploys it. (A run succeeds only when every stage succeeded or was skipped,
    and is skipped only when nothing changed since the last success, so by induction the app folder at that
    commit is what is deployed.) When that commit is unknown (first run, API unreachable, history
    rewritten) every stage runs.
    """
    q = shlex.quote
    body = (
        "\n".join(
            [
                "set -euo pipefail",
                'environment=""',
                'if [ "$EVENT_NAME" = push ]; then',
                '  case "$REF_NAME" in',
                *(f"    {q(r.branch)}) environment={q(r.environment)} ;;" for r in routes),
                "  esac",
                "fi",
                f"paths=({' '.join(q(p) for p in paths)})",
                "relevant=true",
                'if [ "${#paths[@]}" -gt 0 ]; then',
                '  case "$EVENT_NAME" in',
                '    pull_request) base="$PR_BASE_SHA" ;;',
                "    push)",
                '      base="$(gh run list --workflow "$WORKFLOW_FILE" --branch "$REF_NAME" --event push \\',
                '        --status success --limit 1 --json headSha --jq \'.[0].headSha // ""\' 2>/dev/null || true)"',
                '      echo "last successful deploy of $REF_NAME: ${base:-none found}"',
                "      ;;",
                '    *) base="" ;;',
                "  esac",
                '  if [ -n "$base" ] && git cat-file -e "$base^{commit}" 2>/dev/null; then',
                '    if git diff --quiet "$base" HEAD -- "${paths[@]}"; then',
                "      relevant=false",
                "    fi",
                "  else",
                '    echo "::notice::no base commit to compare with; every stage runs"',
                "  fi",
                "fi",
                'echo "relevant=$relevant" >> "$GITHUB_OUTPUT"',
                'echo "environment=$environment" >> "$GITHUB_OUTPUT"',
                'echo "changed: $relevant; deploys to: ${environment:-nothing}" >> "$GITHUB_STEP_SUMMARY"',
            ]
        )
        + "\n"
    )
    return job(
        "Detect changes",
        [
            checkout(fetch_depth=0),
            {
                "name": "Compare with the last successful deploy (or the PR's base) and pick the environment",
                "id": "detect",
                "env": {
                    "EVENT_NAME": expr("github.event_name"),
                    "REF_NAME": expr("github.ref_name"),
                    "PR_BASE_SHA": expr("github.event.pull_request.base.sha"),
                    "WORKFLOW_FILE": workflow_file,
                    "GH_TOKEN": expr("github.token"),
                    "GH_REPO": expr("github.repository"),
                },
                "run": body,
            },
        ],
        timeout=timeout,
        permissions={
            "contents": "read",
            "actions": because("read", "finds the commit of the last successful run (the last deploy)"),
        },
        outputs={
            "relevant": expr("steps.detect.outputs.relevant"),
            "environment": expr("steps.detect.outputs.environment"),
        },
    )


RELEVANT = f"needs.{CHANGES_JOB}.outputs.relevant == 'true'"
DEPLOY = f"needs.{CHANGES_JOB}.outputs.relevant == 'true' && needs.{CHANGES_JOB}.outputs.environment != ''"
ENVIRONMENT = expr(f"needs.{CHANGES_JOB}.outputs.environment")


def gate_job(check: str, needs: Sequence[str]) -> Job:
    """The job branch protection waits for: fails unless every stage succeeded or was skipped."""
    return job(
        check,
        [
            {
                "name": "Require every stage to have succeeded or been skipped",
                "env": {"RESULTS": expr("toJSON(needs)")},
                "run": script("""
                    set -euo pipefail
                    jq -r 'to_entries[] | "\\(.key): \\(.value.result)"' <<<"$RESULTS"
                    if ! jq -e 'all(.[]; .result == "success" or .result == "skipped")' <<<"$RESULTS" >/dev/null; then
                      echo "::error::a stage failed or was cancelled"
                      exit 1
                    fi
                    """),
            }
        ],
        timeout=5,
        needs=needs,
        condition="always()",
        permissions={},
    )


def check_required(cfg: StackConfig, produced: set[str]) -> None:
    """Every required check must come from a generated workflow, or protection waits for it forever."""
    missing = sorted(set(cfg.github.required_checks) - produced)
    if missing:
        raise ValueError(
            f"github.requiredChecks lists {missing}, which no generated workflow reports "
            f"(they report {sorted(produced)}); fix maya-infra:github.requiredChecks of stack {cfg.stack}"
        )


def app_workflow(
    name: str,
    check: str,
    stages: Mapping[str, Job],
    *,
    path: str,
    watch: Sequence[str],
    routes: Sequence[Route],
    title: str,
    notes: Sequence[str] = (),
    after: Mapping[str, Job] | None = None,
) -> str:
    """The common tail of the frontend and backend workflows: triggers, the changes job, the gate, the header.

    ``path`` is the workflow's file (``.github/workflows/<name>.yml``), which the changes job looks up in
    GitHub's run history. ``stages`` are the stage jobs in pipeline order; the ``changes`` job runs first
    and the job named ``check`` (branch protection's required check) after every stage; ``after`` are jobs
    that watch the whole run (the failure mail), placed last.
    """
    document = {
        "name": name,
        "on": {
            "push": {"branches": branches(routes)},
            "pull_request": {"branches": branches(routes)},
        },
        "permissions": {},
        "concurrency": {
            "group": f"{expr('github.workflow')}-{expr('github.ref')}",
            "cancel-in-progress": expr("github.event_name == 'pull_request'"),
        },
        "jobs": {
            CHANGES_JOB: changes_job(watch, routes, path.rsplit("/", 1)[-1]),
            **stages,
            check: gate_job(check, [CHANGES_JOB, *stages]),
            **(after or {}),
        },
    }
    return dump(document, header(title, routes_source(routes), notes))
