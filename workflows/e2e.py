"""End-to-end tests of the frontend (Playwright) against the deployment the pipeline just made.

DEPLOYMENT_PIPELINE.md "Testing in Pipeline" lists E2E tests (Playwright) for the frontend. They run on
staging after every staging deploy (a push to develop), before anything can be promoted: the gate
(workflows/promotion.py) requires the check that includes them. The app's package.json is expected to
provide ``@playwright/test`` and a ``playwright.config`` that reads its base URL from ``PLAYWRIGHT_BASE_URL``.

Browsers are cached by the Playwright version the lock file installs (``~/.cache/ms-playwright``), so a
Playwright upgrade downloads new browsers and nothing else does; the system libraries are not cacheable
and are installed on every run (``install-deps``).
"""

from __future__ import annotations

from collections.abc import Sequence

from workflows import pins
from workflows.pipeline import CHANGES_JOB
from workflows.render import Job, checkout, expr, job, script, setup_node, upload_artifact

E2E_JOB = "e2e"
BROWSERS = "~/.cache/ms-playwright"


def playwright_job(directory: str, node_version: str, lock_file: str, condition: str, url: str) -> Job:
    """Runs the Playwright suite against ``url`` (an expression naming the fresh deployment)."""
    return job(
        "E2E tests (Playwright) against the new deployment",
        [
            checkout(),
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
                "env": {"PLAYWRIGHT_BASE_URL": url, "CI": "true"},
                "run": "npx --no-install playwright test --project=chromium",
            },
            upload_artifact(
                "Keep the Playwright report",
                "playwright-report",
                (directory + "/" if directory != "." else "") + "playwright-report/",
                when="failure()",
            ),
        ],
        timeout=30,
        needs=[CHANGES_JOB, "deploy"],
        condition=condition,
        defaults={"run": {"working-directory": directory}},
    )


def staging_only(configs_environments: Sequence[str]) -> str:
    """The condition: a deploy ran, to one of ``configs_environments`` (staging)."""
    targets = " || ".join(f"needs.{CHANGES_JOB}.outputs.environment == '{e}'" for e in configs_environments)
    return f"needs.deploy.result == 'success' && ({targets})"
