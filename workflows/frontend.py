"""The frontend pipeline (Next.js on Vercel): lint, test, build, security, deploy, smoke tests.

Stages follow docs DEPLOYMENT_PIPELINE.md "Frontend Pipeline"; docs/workflows.md maps each seed stage to
the job and step below. The app's package.json is expected to provide the scripts ``test:unit`` and
``test:integration`` (Jest) and eslint, typescript, prettier and next as dev dependencies.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from config import StackConfig
from config.envvars import Target
from workflows import pins
from workflows.e2e import E2E_JOB, playwright_job, staging_target
from workflows.mail import ALERT_JOB, pipeline_alert_job
from workflows.pipeline import (
    CHANGES_JOB,
    DEPLOY,
    ENVIRONMENT,
    FRONTEND_CHECK,
    RELEVANT,
    Route,
    all_configs,
    app_workflow,
)
from workflows.promotion import GATE_JOB, staging_gate_job
from workflows.render import (
    Job,
    checkout,
    ci_env,
    expr,
    install_npm_tool,
    job,
    run_script,
    script,
    setup_node,
    upload_artifact,
    write_script,
)
from workflows.smoke import health_arguments

PATH = ".github/workflows/frontend.yml"
ASSET_BUDGET_KB = 250  # gzip size above which a JavaScript chunk is reported as a warning


def _at(directory: str, path: str) -> str:
    return path if directory == "." else f"{directory}/{path}"


def _node_job(
    name: str,
    directory: str,
    node_version: str,
    steps: list[dict[str, Any]],
    *,
    timeout: int,
    permissions: dict[str, str] | None = None,
) -> Job:
    prelude = [
        checkout(),
        setup_node(node_version, _at(directory, "package-lock.json")),
        {"name": "Install dependencies", "run": "npm ci"},
    ]
    return job(
        name,
        prelude + steps,
        timeout=timeout,
        needs=[CHANGES_JOB],
        condition=RELEVANT,
        permissions=permissions,
        defaults={"run": {"working-directory": directory}},
    )


def lint_job(directory: str, node: str) -> Job:
    """ESLint, the TypeScript compiler and Prettier, each failing on any finding."""
    return _node_job(
        "Lint & type check",
        directory,
        node,
        [
            {"name": "ESLint", "run": "npx --no-install eslint . --max-warnings 0"},
            {"name": "TypeScript check", "run": "npx --no-install tsc --noEmit"},
            {"name": "Format check", "run": "npx --no-install prettier --check ."},
        ],
        timeout=15,
    )


def test_job(directory: str, node: str) -> Job:
    """Unit and integration tests (Jest), with the coverage summary on the run page."""
    return _node_job(
        "Tests",
        directory,
        node,
        [
            {
                "name": "Unit tests",
                "run": script("""
            npm run test:unit -- --ci --coverage --coverageDirectory=coverage \\
              --coverageReporters=json-summary --coverageReporters=lcov --coverageReporters=text
            """),
            },
            {"name": "Integration tests", "run": "npm run test:integration -- --ci"},
            {
                "name": "Coverage report",
                "if": "always()",
                "run": script("""
            if [ -f coverage/coverage-summary.json ]; then
              {
                echo "### Frontend coverage"
                echo ""
                echo "| metric | covered |"
                echo "| --- | ---: |"
                jq -r '.total | to_entries[] | "| \\(.key) | \\(.value.pct)% |"' coverage/coverage-summary.json
              } >> "$GITHUB_STEP_SUMMARY"
            else
              echo "::warning::no coverage/coverage-summary.json: did the unit tests run with --coverage?"
            fi
            """),
            },
            upload_artifact("Keep the coverage report", "frontend-coverage", _at(directory, "coverage/")),
        ],
        timeout=20,
    )


def build_job(directory: str, node: str) -> Job:
    """The production build, its bundle analysis and the asset budget."""
    return _node_job(
        "Build",
        directory,
        node,
        [
            {
                "name": "Next.js production build",
                "env": {"NEXT_TELEMETRY_DISABLED": "1", "ANALYZE": "true"},
                "run": "npx --no-install next build",
            },
            {
                "name": "Bundle analysis",
                "run": script("""
            set -euo pipefail
            mkdir -p bundle-analysis
            if [ -d .next/analyze ]; then cp -R .next/analyze bundle-analysis/; fi
            {
              echo "### Largest frontend assets (gzip)"
              echo ""
              echo "| asset | bytes | gzip bytes |"
              echo "| --- | ---: | ---: |"
              find .next/static -type f \\( -name '*.js' -o -name '*.css' \\) -print0 |
                while IFS= read -r -d '' file; do
                  printf '%s\\t%s\\t%s\\n' "$file" "$(wc -c <"$file")" "$(gzip -9c "$file" | wc -c)"
                done | sort -t "$(printf '\\t')" -k3,3nr | head -n 25 |
                awk -F '\\t' '{ printf "| %s | %d | %d |\\n", $1, $2, $3 }'
            } > bundle-analysis/report.md
            cat bundle-analysis/report.md >> "$GITHUB_STEP_SUMMARY"
            """),
            },
            {
                "name": "Asset optimization budget",
                "env": {"BUDGET_KB": str(ASSET_BUDGET_KB)},
                "run": script("""
            set -euo pipefail
            over=0
            while IFS= read -r -d '' file; do
              size="$(gzip -9c "$file" | wc -c)"
              if [ "$size" -gt "$((BUDGET_KB * 1024))" ]; then
                echo "::warning file=$file::$file is $((size / 1024)) kB gzipped (budget ${BUDGET_KB} kB)"
                over=$((over + 1))
              fi
            done < <(find .next/static -type f -name '*.js' -print0)
            echo "$over chunk(s) over the ${BUDGET_KB} kB budget" | tee -a "$GITHUB_STEP_SUMMARY"
            """),
            },
            upload_artifact("Keep the bundle analysis", "frontend-bundle-analysis", _at(directory, "bundle-analysis/")),
        ],
        timeout=20,
    )


def security_job(directory: str, node: str) -> Job:
    """npm audit, and GitHub's dependency review on pull requests."""
    return job(
        "Security scan",
        [
            checkout(),
            setup_node(node, _at(directory, "package-lock.json")),
            {"name": "npm audit", "run": "npm audit --audit-level=high"},
            {
                "name": "Dependency review",
                "if": "github.event_name == 'pull_request'",
                "uses": pins.uses("actions/dependency-review-action"),
                "with": {"fail-on-severity": "high"},
            },
        ],
        timeout=10,
        needs=[CHANGES_JOB],
        condition=RELEVANT,
        defaults={"run": {"working-directory": directory}},
    )


def deploy_job(cfg: StackConfig, directory: str, node: str) -> Job:
    """Snyk, then build and deploy with the Vercel CLI inside the environment, verify, smoke-test."""
    vercel = ci_env(Target.CI_FRONTEND, "VERCEL_TOKEN", "VERCEL_ORG_ID", "VERCEL_PROJECT_ID")
    return job(
        "Deploy to Vercel",
        [
            checkout(),
            setup_node(node, None),
            install_npm_tool("snyk", "Snyk CLI"),
            {
                "name": "Snyk scan (when SNYK_TOKEN is set)",
                "working-directory": directory,
                "env": ci_env(Target.CI_FRONTEND, "SNYK_TOKEN"),
                "run": script("""
            set -euo pipefail
            if [ -z "${SNYK_TOKEN:-}" ]; then
              echo "::notice::SNYK_TOKEN is not set in this environment: Snyk scan skipped"
              exit 0
            fi
            snyk test --severity-threshold=high
            """),
            },
            install_npm_tool("vercel", "Vercel CLI"),
            {
                "name": "Pull the Vercel project settings",
                "env": vercel,
                "run": 'vercel pull --yes --environment=production --token="$VERCEL_TOKEN"',
            },
            {"name": "Build with the Vercel CLI", "env": vercel, "run": 'vercel build --prod --token="$VERCEL_TOKEN"'},
            {
                "name": "Deploy to Vercel",
                "id": "deploy",
                "env": vercel,
                "run": script("""
            set -euo pipefail
            url="$(vercel deploy --prebuilt --prod --token="$VERCEL_TOKEN")"
            echo "url=$url" >> "$GITHUB_OUTPUT"
            echo "Vercel deployment: $url" >> "$GITHUB_STEP_SUMMARY"
            """),
            },
            {
                "name": "Verify deployment",
                "env": {**vercel, "DEPLOYMENT_URL": expr("steps.deploy.outputs.url")},
                "run": 'vercel inspect "$DEPLOYMENT_URL" --wait --timeout 5m --token="$VERCEL_TOKEN"',
            },
            write_script("health_check.py"),
            {
                "name": "Smoke tests (the site, and the backend's health body)",
                "env": ci_env(Target.CI_FRONTEND, "FRONTEND_URL", "BACKEND_URL")
                | {"HEALTH_PATH": cfg.backend.healthcheck_path},
                "run": script(f"""
            set -euo pipefail
            {run_script("health_check.py", '"$FRONTEND_URL/"')}
            {run_script("health_check.py", '"$BACKEND_URL$HEALTH_PATH" ' + health_arguments(cfg))}
            echo "Smoke tests passed against $FRONTEND_URL" >> "$GITHUB_STEP_SUMMARY"
            """),
            },
        ],
        timeout=30,
        needs=[CHANGES_JOB, "lint", "test", "build", "security", GATE_JOB],
        condition=DEPLOY,
        environment={"name": ENVIRONMENT, "url": expr("vars.FRONTEND_URL")},
        concurrency={"group": f"vercel-{ENVIRONMENT}", "cancel-in-progress": False},
        outputs={"url": expr("steps.deploy.outputs.url")},
    )


def render(
    cfg: StackConfig, routes: Sequence[Route], directory: str, watch: Sequence[str], notes: Sequence[str] = ()
) -> str:
    """The frontend workflow; ``directory`` is the app's folder, ``watch`` the paths that make it relevant."""
    node = cfg.frontend.node_version or pins.NODE_VERSION_FALLBACK
    configs = all_configs(cfg)
    staging = [c.environment for c in configs if not c.is_production]
    stages = {
        "lint": lint_job(directory, node),
        "test": test_job(directory, node),
        "build": build_job(directory, node),
        "security": security_job(directory, node),
        GATE_JOB: staging_gate_job(configs, FRONTEND_CHECK, ["lint", "test", "build", "security"]),
        "deploy": deploy_job(cfg, directory, node),
        E2E_JOB: playwright_job(directory, node, _at(directory, "package-lock.json"), staging_target(staging)),
    }
    return app_workflow(
        "frontend",
        FRONTEND_CHECK,
        stages,
        path=PATH,
        watch=watch,
        routes=routes,
        title="Frontend pipeline: lint & type check, tests, build, security scan, deploy to Vercel, smoke tests.",
        notes=notes,
        after={ALERT_JOB: pipeline_alert_job("frontend", [*stages, FRONTEND_CHECK])},
    )
