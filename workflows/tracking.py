"""Error tracking in the deploy jobs: mark each deployed commit as a Sentry release (config/tracking.py).

The apps report errors with their DSN (config/envvars.py: ``SENTRY_DSN`` on Railway, ``NEXT_PUBLIC_SENTRY_DSN``
in the frontend build) under the release of the deployed commit: the backend's ``SENTRY_RELEASE`` is Railway's
``RAILWAY_GIT_COMMIT_SHA`` of the running deployment, the frontend build gets ``SENTRY_RELEASE`` (the commit)
from :func:`release_env`. After a deploy has passed its checks, the deploy job creates that release in Sentry,
associates its commits, finalizes it and records a deploy to the environment, so Sentry shows which release
brought an error and when it reached staging or production.

sentry-cli is installed from its hashed lockfile (workflows/tools.py) into a virtual environment of its own. The
step is skipped with a notice where the stack has no error tracker (no ``SENTRY_AUTH_TOKEN`` in the
environment), and it never fails a deploy (``continue-on-error``): a Sentry outage must not roll back a healthy
release. Without an error tracker the backend 5xx-rate alert stays the error signal (docs/monitoring.md).
"""

from __future__ import annotations

from typing import Literal

from config.envvars import Target
from workflows import tools
from workflows.pipeline import CHANGES_JOB
from workflows.render import Step, ci_env, ci_value, expr, script

App = Literal["frontend", "backend"]
_TARGET: dict[App, Target] = {"frontend": Target.CI_FRONTEND, "backend": Target.CI_BACKEND}


def release_env() -> dict[str, str]:
    """The frontend build's ``SENTRY_RELEASE``: the commit being built (Sentry's Next.js SDK reads it at build)."""
    return {"SENTRY_RELEASE": expr("github.sha")}


def mark_release(app: App, condition: str | None = None) -> Step:
    """The step after a deploy went live: the commit as a release of ``app``'s Sentry project, deployed to the
    environment; ``condition`` (an ``if``) limits it to the runs where the job makes the release live."""
    target = _TARGET[app]
    venv = "$RUNNER_TEMP/sentry-cli"
    install = "\n            ".join(tools.install_in_venv(tools.RELEASE_TOOLS, venv))
    return {
        "name": "Mark the release in Sentry (when SENTRY_AUTH_TOKEN is set)",
        **({"if": condition} if condition else {}),
        "continue-on-error": True,
        "env": {
            **ci_env(target, "SENTRY_AUTH_TOKEN", "SENTRY_URL", "SENTRY_ORG"),
            "SENTRY_PROJECT": ci_value(f"SENTRY_{app.upper()}_PROJECT", target),
            "RELEASE": expr("github.sha"),
            "ENVIRONMENT": expr(f"needs.{CHANGES_JOB}.outputs.environment"),
        },
        "run": script(f"""
            set -euo pipefail
            if [ -z "${{SENTRY_AUTH_TOKEN:-}}" ]; then
              echo "::notice::no error tracker in this environment (SENTRY_AUTH_TOKEN is not set): release not marked"
              exit 0
            fi
            {install}
            cli="{venv}/bin/sentry-cli"
            "$cli" releases new "$RELEASE"
            "$cli" releases set-commits "$RELEASE" --auto --ignore-missing ||
              echo "::warning::Sentry could not associate commits (is the repository connected to Sentry?)"
            "$cli" releases finalize "$RELEASE"
            "$cli" deploys new --release "$RELEASE" --env "$ENVIRONMENT"
            echo "Sentry: release $RELEASE of $SENTRY_PROJECT deployed to $ENVIRONMENT" >> "$GITHUB_STEP_SUMMARY"
            """),
    }
