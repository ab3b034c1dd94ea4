"""End-to-end tests of the frontend (Playwright) against the deployment the pipeline just made.

DEPLOYMENT_PIPELINE.md "Testing in Pipeline" lists E2E tests (Playwright) for the frontend. They run on
staging after **either** app's staging deploy (a push to develop): after the frontend's, against the new
deployment before it is promoted (:func:`staging_target`); after the backend's, against the staging site,
which now calls the new backend (:func:`site_target`) — so a backend-only change is tested end to end too.
The production gate (workflows/promotion.py) requires the job (named ``e2e``) in both apps' staging runs. And
on every pull request into develop against its preview (workflows/previews.py, check ``preview-e2e``, required
on develop). One job does all three; its :class:`E2ETarget` says against what. The app's package.json is
expected to provide ``@playwright/test`` and a ``playwright.config`` that reads its base URL from
``PLAYWRIGHT_BASE_URL`` and, when ``VERCEL_AUTOMATION_BYPASS_SECRET`` is set (previews only: Vercel protects
them), gets past Vercel's protection with it (docs/previews.md, "E2E against the preview", shows the few lines).

Browsers are cached by the Playwright version the lock file installs (``~/.cache/ms-playwright``), so a
Playwright upgrade downloads new browsers and nothing else does; the system libraries are not cacheable
and are installed on every run (``install-deps``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from workflows import pins
from workflows.pipeline import CHANGES_JOB
from workflows.render import Job, Step, checkout, expr, job, script, setup_node, upload_artifact

E2E_JOB = "e2e"
BROWSERS = "~/.cache/ms-playwright"


@dataclass(frozen=True)
class E2ETarget:
    """What the suite runs against, and what the job needs before it can."""

    #: the job's name (for a preview: the required check's context, so it must stay stable)
    title: str
    #: an expression naming the deployment's URL (a job's or a step's output)
    url: str
    needs: tuple[str, ...]
    condition: str
    #: the GitHub environment whose secrets the job reads (None: it reads none)
    environment: str | None = None
    #: steps after the checkout that find the URL or decide, in one line, that there is nothing to test
    find: tuple[Step, ...] = ()
    #: the ``if`` of every later step: there is something to test (None: always)
    when: str | None = None
    #: more variables of the test step (the bypass secret)
    env: Mapping[str, str] = field(default_factory=dict)
    timeout: int = 30
    #: the checkout of the suite (None: this repository); the backend's job in split repositories checks out
    #: the frontend repository at the staging branch
    source: Step | None = None


def staging_target(configs_environments: Sequence[str]) -> E2ETarget:
    """The frontend deploy job's fresh deployment (not promoted yet), after a push that deployed to staging."""
    return E2ETarget(
        E2E_JOB,
        expr("needs.deploy.outputs.url"),
        (CHANGES_JOB, "deploy"),
        staging_only(configs_environments),
    )


def site_target(configs_environments: Sequence[str], site_url: str, source: Step | None = None) -> E2ETarget:
    """The staging site (``site_url``, staging's ``frontend.url``), after the backend deployed to staging."""
    return E2ETarget(E2E_JOB, site_url, (CHANGES_JOB, "deploy"), staging_only(configs_environments), source=source)


def _when(step: Step, when: str | None) -> Step:
    """``step`` run only ``when`` (and its own condition), its ``if`` right after its name as in every step."""
    if when is None:
        return step
    condition = f"{when} && {step['if']}" if "if" in step else when
    return {"name": step["name"], "if": condition, **{k: v for k, v in step.items() if k not in ("name", "if")}}


def playwright_job(directory: str, node_version: str, lock_file: str, target: E2ETarget) -> Job:
    """Runs the Playwright suite against ``target``'s URL."""
    steps: list[Step] = [
        setup_node(node_version, lock_file),
        {"name": "Install dependencies", "run": "npm ci"},
        {
            "name": "Playwright version",
            "id": "playwright",
            "run": script("""
                set -euo pipefail
                version="$(npx --no-install playwright --version | awk '{print $NF}')"
                echo "version=$version" >> "$GITHUB_OUTPUT"
                """),
        },
        {
            "name": "Cache the Playwright browsers",
            "id": "browsers",
            "uses": pins.uses("actions/cache"),
            "with": {
                "path": BROWSERS,
                "key": "playwright-" + expr("runner.os") + "-" + expr("steps.playwright.outputs.version"),
            },
        },
        {
            "name": "Install Chromium and its system libraries",
            "if": "steps.browsers.outputs.cache-hit != 'true'",
            "run": "npx --no-install playwright install --with-deps chromium",
        },
        {
            "name": "Install Chromium's system libraries (browsers from the cache)",
            "if": "steps.browsers.outputs.cache-hit == 'true'",
            "run": "npx --no-install playwright install-deps chromium",
        },
        {
            "name": "E2E tests",
            "env": {"PLAYWRIGHT_BASE_URL": target.url, "CI": "true", **target.env},
            "run": "npx --no-install playwright test --project=chromium",
        },
        upload_artifact(
            "Keep the Playwright report",
            "playwright-report",
            (directory + "/" if directory != "." else "") + "playwright-report/",
            when="failure()",
        ),
    ]
    extra: dict[str, Any] = {"environment": target.environment} if target.environment else {}
    return job(
        target.title,
        [target.source or checkout(), *target.find, *(_when(s, target.when) for s in steps)],
        timeout=target.timeout,
        needs=target.needs,
        condition=target.condition,
        defaults={"run": {"working-directory": directory}},
        **extra,
    )


def staging_only(configs_environments: Sequence[str]) -> str:
    """The condition: a deploy ran, to one of ``configs_environments`` (staging)."""
    targets = " || ".join(f"needs.{CHANGES_JOB}.outputs.environment == '{e}'" for e in configs_environments)
    return f"needs.deploy.result == 'success' && ({targets})"
