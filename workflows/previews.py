"""The previews workflow: a full-stack preview for every same-repository pull request (docs/previews.md).

One job per event: on ``opened``/``reopened``/``synchronize`` it runs ``pr_preview.py up`` (a Railway
environment forked from the stack's, with its own PostgreSQL; the branch's Vercel previews pointed at it; one
comment), on ``closed`` (merged or not) ``pr_preview.py down``. The script is inlined (workflows/scripts/pr_preview.py),
its shape — cap, idle sleep, which variables are withheld or made fresh — is written here from the stack's
config and the variable table, so a change to either is a reviewed diff of this file.

Least privilege: ``pull_request`` (never ``pull_request_target``), so a pull request from a fork runs without
secrets and is skipped; the job reads only the ``preview`` GitHub environment (the previews'
own tokens and the staging ids, never production's); the token may only comment on pull requests. One run
per pull request at a time; a newer push supersedes a queued one.

When the stack runs E2E against its previews (``StackConfig.preview_e2e``), a second job, ``preview-e2e``,
runs the frontend's Playwright suite (workflows/e2e.py, the staging job's steps and browser cache) against the
Vercel preview the first one wired: it finds the head commit's newest preview build and waits until it is
READY (workflows/scripts/preview_deployment.py), and passes Vercel's automation bypass from the ``preview``
environment to the suite. It reports on every pull request, fork or not, so branch protection can require it (config:
required_status_checks). It passes without testing only where nothing can be tested and nobody asked for it:
a fork's pull request (GitHub gives it no secrets) and a bot's when ``botPullRequests`` is off; for a
same-repository pull request a missing credential fails it with its fix, and the cap makes the preview job
wait in line (bounded) for a slot instead of passing.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from config import PREVIEW_E2E_CHECK, StackConfig, envvars
from config.envvars import Target
from workflows import pins
from workflows.e2e import E2ETarget, playwright_job
from workflows.pipeline import Route, routes_source
from workflows.render import Job, because, ci_env, dump, expr, header, job, run_script, write_script

PATH = ".github/workflows/previews.yml"
SCRIPT = "pr_preview.py"
FIND_SCRIPT = "preview_deployment.py"
PREVIEW_JOB = "preview"
ENVIRONMENT = "preview"
_RAILWAY = ("RAILWAY_PREVIEW_TOKEN", "RAILWAY_PROJECT_ID", "RAILWAY_ENVIRONMENT_ID", "RAILWAY_SERVICE_ID")
_VERCEL = ("VERCEL_TOKEN", "VERCEL_ORG_ID", "VERCEL_PROJECT_ID")


def source_config(configs: Sequence[StackConfig]) -> StackConfig | None:
    """The stack whose environment previews fork (the one with previews on), or None: no workflow."""
    active = [c for c in configs if c.previews_active]
    if len(active) > 1:
        raise ValueError(f"previews are on in {[c.stack for c in active]}; only one stack (staging) may fork them")
    return active[0] if active else None


def shape_arguments(cfg: StackConfig) -> str:
    """The script's options from the config and the variable table (also read by the policy pack)."""
    previews = cfg.previews
    parts = [
        f"--prefix {shlex.quote(previews.environment_prefix)}",
        f"--max-environments {previews.max_environments}",
        "--sleep" if previews.sleep_when_idle else "--no-sleep",
        f"--health-path {shlex.quote(cfg.backend.healthcheck_path)}",
        f"--port {cfg.backend.port}",
    ]
    withheld = envvars.preview_names(False)
    fresh = envvars.preview_names("fresh")
    if withheld:
        parts.append("--withhold " + ",".join(withheld))
    if fresh:
        parts.append("--fresh " + ",".join(fresh))
    return " ".join(parts)


def _same_repository(bots: bool) -> str:
    condition = "github.event.pull_request.head.repo.full_name == github.repository"
    if not bots:
        condition += " && github.event.pull_request.user.type != 'Bot'"
    return condition


def e2e_job(cfg: StackConfig) -> Job:
    """``preview-e2e``: the Playwright suite against the pull request's Vercel preview, after the preview job.

    It runs on every event but ``closed`` (unless cancelled), whatever the preview job did: a fork's or a bot's
    pull request gets its one-line reason and passes; a failed preview fails it too (the required check must
    not pass when nothing was tested). The URL and the secret reach the steps through ``env:``, never ``run:``.
    """
    directory = cfg.github.frontend_path
    node = cfg.frontend.node_version or pins.NODE_VERSION_FALLBACK
    bypass = ci_env(Target.CI_PREVIEW, "VERCEL_AUTOMATION_BYPASS_SECRET")
    find = (
        write_script(FIND_SCRIPT),
        {
            "name": "Find the preview's Vercel deployment of this commit (waits until it is built)",
            "id": "preview",
            "env": {
                **ci_env(Target.CI_PREVIEW, *_VERCEL),
                **bypass,  # only whether it is set is read here
                "PREVIEW_JOB": expr(f"needs.{PREVIEW_JOB}.result"),
                "HEAD_REPOSITORY": expr("github.event.pull_request.head.repo.full_name"),
                "SHA": expr("github.event.pull_request.head.sha"),
                "BRANCH": expr("github.event.pull_request.head.ref"),
            },
            "run": run_script(
                FIND_SCRIPT,
                f'--sha "$SHA" --branch "$BRANCH" --timeout {cfg.previews.deploy_timeout_seconds} --poll 10',
            ),
        },
    )
    target = E2ETarget(
        PREVIEW_E2E_CHECK,
        expr("steps.preview.outputs.url"),
        (PREVIEW_JOB,),
        "!cancelled() && github.event.action != 'closed'",
        environment=ENVIRONMENT,
        find=find,
        when="steps.preview.outputs.url != ''",
        env=bypass,
        timeout=cfg.previews.deploy_timeout_seconds // 60 + 30,
    )
    lock_file = "package-lock.json" if directory == "." else f"{directory}/package-lock.json"
    return playwright_job(directory, node, lock_file, target)


def render(cfg: StackConfig, routes: Sequence[Route]) -> str:
    """The previews workflow for the stack ``cfg`` whose environment the previews fork."""
    env = {
        **ci_env(Target.CI_PREVIEW, *_RAILWAY, *_VERCEL),
        "GITHUB_TOKEN": expr("github.token"),
        "PR": expr("github.event.pull_request.number"),
        "BRANCH": expr("github.event.pull_request.head.ref"),
    }
    shape = shape_arguments(cfg)
    timeout = cfg.previews.deploy_timeout_seconds
    comment = {"pull-requests": because("write", "one comment on the pull request with the preview's URLs")}
    same_repo = _same_repository(cfg.previews.bot_pull_requests)
    preview = job(
        "Preview",
        [
            write_script(SCRIPT),
            {
                "name": "Create or refresh the preview, deploy the pull request's commit, comment",
                "if": "github.event.action != 'closed'",
                "env": {**env, "SHA": expr("github.event.pull_request.head.sha")},
                "run": run_script(
                    SCRIPT,
                    f'{shape} up --pr "$PR" --branch "$BRANCH" --sha "$SHA" --timeout {timeout} --poll 10',
                ),
            },
            {
                "name": "Remove the preview (environment, database, branch variable) and update the comment",
                "if": "github.event.action == 'closed'",
                "env": env,
                "run": run_script(SCRIPT, f'{shape} down --pr "$PR" --branch "$BRANCH"'),
            },
        ],
        timeout=2 * timeout // 60 + 15,  # a wait in line at the cap (bounded by the deploy timeout), then the deploy
        condition=same_repo,
        permissions=comment,
        environment=ENVIRONMENT,
    )
    document = {
        "name": "previews",
        "on": {
            "pull_request": {
                "types": ["opened", "reopened", "synchronize", "closed"],
                "branches": [cfg.github.branch],
            }
        },
        "permissions": {},
        "concurrency": {
            "group": "previews-" + expr("github.event.pull_request.number"),
            "cancel-in-progress": False,
        },
        "jobs": {PREVIEW_JOB: preview, **({PREVIEW_E2E_CHECK: e2e_job(cfg)} if cfg.preview_e2e else {})},
    }
    return dump(
        document,
        header(
            f"Previews: every pull request into {cfg.github.branch} gets a Railway environment forked from "
            f"{cfg.environment} (its own PostgreSQL) and its Vercel preview wired to it; removed on close.",
            routes_source(routes),
            [
                f"At most {cfg.previews.max_environments} previews at once; see docs/previews.md."
                + (f" Job {PREVIEW_E2E_CHECK}: Playwright against the preview." if cfg.preview_e2e else "")
            ],
        ),
    )
