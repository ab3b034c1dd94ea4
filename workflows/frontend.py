"""The frontend pipeline (Next.js on Vercel): lint, test, build, security, deploy, smoke tests, promotion.

Stages follow docs DEPLOYMENT_PIPELINE.md "Frontend Pipeline"; docs/workflows.md maps each seed stage to
the job and step below. The app's package.json is expected to provide the scripts ``test:unit`` and
``test:integration`` (Jest) and eslint, typescript, prettier and next as dev dependencies.

Staged production: the deploy job builds and deploys **without moving the production domains**
(``vercel deploy --prebuilt --prod --skip-domain``) and smoke-tests the new deployment by its own URL; on
staging the ``e2e`` job then runs Playwright against that URL and job ``promote`` promotes it; in production
(no E2E there) the deploy job promotes it itself, so production's reviewers approve once. After the
promotion the live site is checked, and a failed check promotes back what production served before. A
deployment that fails before its promotion is never promoted: the domains stay where they were.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from config import StackConfig
from config.envvars import SCAN_SUFFIX, Target
from workflows import pins, tools
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
from workflows.promotion import GATE_JOB, fresh_commit_steps, gated_jobs, staging_gate_job
from workflows.render import (
    Job,
    Step,
    checkout,
    ci_env,
    ci_value,
    expr,
    job,
    run_script,
    script,
    setup_node,
    upload_artifact,
    write_script,
)
from workflows.smoke import health_arguments

PATH = ".github/workflows/frontend.yml"
PRODUCTION_SCRIPT = "vercel_production.py"
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


def snyk_job(directory: str, node: str) -> Job:
    """Snyk, before a deploy, in ``<environment>-scan``: its token never shares a job with a deploy secret."""
    return job(
        "Snyk scan",
        [
            checkout(),
            setup_node(node, None),
            tools.install_node_tools(),
            {
                "name": "Snyk scan (when SNYK_TOKEN is set)",
                "working-directory": directory,
                "env": ci_env(Target.CI_SCAN, "SNYK_TOKEN"),
                "run": script("""
            set -euo pipefail
            if [ -z "${SNYK_TOKEN:-}" ]; then
              echo "::notice::SNYK_TOKEN is not set in this environment: Snyk scan skipped"
              exit 0
            fi
            snyk test --severity-threshold=high
            """),
            },
        ],
        timeout=10,
        needs=[CHANGES_JOB],
        condition=DEPLOY,
        environment={"name": ENVIRONMENT + SCAN_SUFFIX},
    )


_VERCEL = ("VERCEL_TOKEN", "VERCEL_ORG_ID", "VERCEL_PROJECT_ID")


def _smoke(cfg: StackConfig, site: str, title: str = "") -> Step:
    """The site at ``site`` (an env variable's name), and the backend's health body it depends on."""
    return {
        "name": title,
        "env": ci_env(Target.CI_FRONTEND, "BACKEND_URL") | {"HEALTH_PATH": cfg.backend.healthcheck_path},
        "run": script(f"""
            set -euo pipefail
            {run_script("health_check.py", f'"${site}/"')}
            {run_script("health_check.py", '"$BACKEND_URL$HEALTH_PATH" ' + health_arguments(cfg))}
            echo "Smoke tests passed against ${site}" >> "$GITHUB_STEP_SUMMARY"
            """),
    }


def promote_steps(cfg: StackConfig, deployment: str, condition: str | None = None) -> list[Step]:
    """Promote the verified deployment (the expression ``deployment``: its URL), check the live site, and on a
    failed check promote back what production served before; the last step says which happened.

    ``condition`` (an ``if``) limits the steps to some runs (the deploy job promotes only in production)."""
    vercel = ci_env(Target.CI_FRONTEND, *_VERCEL)

    def when(extra: str | None = None) -> dict[str, str]:
        parts = [c for c in (condition, extra) if c]
        return {"if": " && ".join(parts)} if parts else {}

    def named(name: str, step_id: str, extra: str | None = None) -> Step:
        return {"name": name, **when(extra), "id": step_id}

    live = {"FRONTEND_URL": ci_value("FRONTEND_URL", Target.CI_FRONTEND)}
    return [
        {**write_script(PRODUCTION_SCRIPT), **when()},
        {
            **named("Record what production serves now (the automatic rollback's target)", "previous"),
            "env": vercel,
            "run": run_script(PRODUCTION_SCRIPT, "current"),
        },
        {
            **named("Promote the verified deployment (the production domains move now)", "promote"),
            "env": {**vercel, "DEPLOYMENT_URL": deployment},
            "run": script(f"""
            set -euo pipefail
            vercel promote "$DEPLOYMENT_URL" --yes --timeout=5m
            {run_script(PRODUCTION_SCRIPT, 'serves --url "$DEPLOYMENT_URL"')}
            """),
        },
        {
            **named("Health checks of the live site after the promotion", "live"),
            **{k: v for k, v in _smoke(cfg, "FRONTEND_URL").items() if k not in ("name", "env")},
            "env": {**live, **_smoke(cfg, "FRONTEND_URL")["env"]},
        },
        {
            **named(
                "Roll back: promote what production served before (the live site failed its checks)",
                "rollback",
                "failure() && steps.promote.outcome != 'skipped' && steps.previous.outputs.previous_url != ''",
            ),
            "env": {**vercel, "PREVIOUS_URL": expr("steps.previous.outputs.previous_url")},
            "run": script(f"""
            set -euo pipefail
            vercel promote "$PREVIOUS_URL" --yes --timeout=5m
            {run_script(PRODUCTION_SCRIPT, 'serves --url "$PREVIOUS_URL"')}
            echo "Rolled back: production serves $PREVIOUS_URL again" >> "$GITHUB_STEP_SUMMARY"
            """),
        },
        {
            **named("Say what production serves (for the alert mail)", "outcome", "always()"),
            "env": {
                "PROMOTE": expr("steps.promote.outcome"),
                "LIVE": expr("steps.live.outcome"),
                "ROLLBACK": expr("steps.rollback.outcome"),
                "DEPLOYMENT_URL": deployment,
                "PREVIOUS_URL": expr("steps.previous.outputs.previous_url"),
            },
            "run": OUTCOME,
        },
    ]


#: What the promotion steps did, in one line: the job's ``promotion`` output, which the alert mail quotes.
OUTCOME = script("""
    set -euo pipefail
    before="${PREVIOUS_URL:-the deployment it served before}"
    if [ "$PROMOTE" = success ] && [ "$LIVE" = success ]; then
      text="promoted $DEPLOYMENT_URL: production serves it"
    elif [ "$ROLLBACK" = success ]; then
      text="promoted $DEPLOYMENT_URL, which failed its health checks: rolled back, production serves $before again"
    elif [ "$PROMOTE" != success ] && [ "$PROMOTE" != failure ]; then
      text="nothing was promoted: production still serves $before"
    else
      text="the promotion of $DEPLOYMENT_URL failed and was not undone: run python -m ops rollback frontend now"
    fi
    echo "promotion=$text" >> "$GITHUB_OUTPUT"
    echo "$text" >> "$GITHUB_STEP_SUMMARY"
    """)


def deploy_job(cfg: StackConfig, directory: str, node: str, production: str) -> Job:
    """Build and deploy with the Vercel CLI without moving the domains, verify, smoke-test the new deployment by
    its own URL; in production then promote it (staging promotes in job ``promote``, after E2E)."""
    vercel = ci_env(Target.CI_FRONTEND, *_VERCEL)
    in_production = f"needs.{CHANGES_JOB}.outputs.environment == '{production}'"
    return job(
        "deploy",
        [
            *fresh_commit_steps(),
            checkout(),
            setup_node(node, None),
            tools.install_node_tools(),
            {
                "name": "Pull the Vercel project settings",
                "env": vercel,
                "run": "vercel pull --yes --environment=production",
            },
            {"name": "Build with the Vercel CLI", "env": vercel, "run": "vercel build --prod"},
            {
                "name": "Deploy to Vercel without moving the production domains",
                "id": "deploy",
                "env": vercel,
                "run": script("""
            set -euo pipefail
            url="$(vercel deploy --prebuilt --prod --skip-domain)"
            echo "url=$url" >> "$GITHUB_OUTPUT"
            echo "Vercel deployment (not live until promoted): $url" >> "$GITHUB_STEP_SUMMARY"
            """),
            },
            {
                "name": "Verify deployment",
                "env": {**vercel, "DEPLOYMENT_URL": expr("steps.deploy.outputs.url")},
                "run": 'vercel inspect "$DEPLOYMENT_URL" --wait --timeout 5m',
            },
            write_script("health_check.py"),
            {
                **_smoke(cfg, "DEPLOYMENT_URL", "Smoke tests of the new deployment (its own URL; the backend health)"),
                "env": {"DEPLOYMENT_URL": expr("steps.deploy.outputs.url"), **_smoke(cfg, "DEPLOYMENT_URL")["env"]},
            },
            *promote_steps(cfg, expr("steps.deploy.outputs.url"), in_production),
        ],
        timeout=30,
        needs=[CHANGES_JOB, "lint", "test", "build", "security", "scan", GATE_JOB],
        condition=DEPLOY,
        environment={"name": ENVIRONMENT, "url": expr("vars.FRONTEND_URL")},
        concurrency={"group": f"vercel-{ENVIRONMENT}", "cancel-in-progress": False},
        outputs={"url": expr("steps.deploy.outputs.url"), "promotion": expr("steps.outcome.outputs.promotion")},
    )


def promote_job(cfg: StackConfig, node: str, staging: Sequence[str]) -> Job:
    """Staging: promote the deployment E2E has just passed against (production promotes in its deploy job)."""
    targets = " || ".join(f"needs.{CHANGES_JOB}.outputs.environment == '{e}'" for e in staging)
    return job(
        "promote",
        [
            *fresh_commit_steps(),
            checkout(),
            setup_node(node, None),
            tools.install_node_tools(),
            write_script("health_check.py"),
            *promote_steps(cfg, expr("needs.deploy.outputs.url")),
        ],
        timeout=15,
        needs=[CHANGES_JOB, "deploy", E2E_JOB],
        condition=f"needs.deploy.result == 'success' && needs.{E2E_JOB}.result == 'success' && ({targets})",
        environment={"name": ENVIRONMENT, "url": expr("vars.FRONTEND_URL")},
        concurrency={"group": f"vercel-{ENVIRONMENT}", "cancel-in-progress": False},
        outputs={"promotion": expr("steps.outcome.outputs.promotion")},
    )


def render(
    cfg: StackConfig, routes: Sequence[Route], directory: str, watch: Sequence[str], notes: Sequence[str] = ()
) -> str:
    """The frontend workflow; ``directory`` is the app's folder, ``watch`` the paths that make it relevant."""
    node = cfg.frontend.node_version or pins.NODE_VERSION_FALLBACK
    configs = all_configs(cfg)
    staging = [c.environment for c in configs if not c.is_production]
    production = next(c.environment for c in configs if c.is_production)
    checks = ["lint", "test", "build", "security"]
    later = {
        "scan": snyk_job(directory, node),
        "deploy": deploy_job(cfg, directory, node, production),
        E2E_JOB: playwright_job(directory, node, _at(directory, "package-lock.json"), staging_target(staging)),
        "promote": promote_job(cfg, node, staging),
    }
    gate = staging_gate_job(
        configs,
        FRONTEND_CHECK,
        checks,
        folder=directory,
        workflow=PATH,
        required=gated_jobs(later, "deploy", ["promote"]),
    )
    stages = {
        "lint": lint_job(directory, node),
        "test": test_job(directory, node),
        "build": build_job(directory, node),
        "security": security_job(directory, node),
        GATE_JOB: gate,
        **later,
    }
    promotion = expr(
        "needs.promote.outputs.promotion || needs.deploy.outputs.promotion || 'nothing was promoted: the "
        "production domains still serve the deployment they served before this run'"
    )
    return app_workflow(
        "frontend",
        FRONTEND_CHECK,
        stages,
        path=PATH,
        watch=watch,
        routes=routes,
        title="Frontend pipeline: lint & type check, tests, build, security scan, staged deploy to Vercel, smoke "
        "tests, E2E on staging, promotion, automatic rollback.",
        notes=notes,
        after={ALERT_JOB: pipeline_alert_job("frontend", [*stages, FRONTEND_CHECK], {"Promotion": promotion})},
    )
