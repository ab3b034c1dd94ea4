"""The backend pipeline (FastAPI on Railway): lint, tests, build checks, security, deploy, health, rollback.

Stages follow DEPLOYMENT_PIPELINE.md "Backend Pipeline" and "Database Migrations"; docs/workflows.md maps
each seed stage to the job and step below. The backend folder is expected to hold ``requirements.txt``
(optionally ``requirements-dev.txt``), the package ``app`` with ``app.main:app``, tests under
``tests/unit``, ``tests/integration`` and ``tests/database``, ``migrations/NNN_name.sql`` applied one
by one by ``python apply_migration.py <file>`` (maya-infra commits the runner ``apply_migrations.py``, Railway's
pre-deploy command, that does it for each pending file), and ``.env.example``.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import Any

from config import StackConfig
from config.envvars import SCAN_SUFFIX, Target
from workflows import pins, tools
from workflows.e2e import E2E_JOB, playwright_job, site_target
from workflows.mail import ALERT_JOB, pipeline_alert_job
from workflows.pipeline import (
    BACKEND_CHECK,
    CHANGES_JOB,
    DEPLOY,
    ENVIRONMENT,
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
    ci_names,
    expr,
    job,
    run_script,
    script,
    setup_python,
    upload_artifact,
    write_script,
)
from workflows.smoke import health_arguments

PATH = ".github/workflows/backend.yml"
TEST_DATABASE_URL = "postgresql://postgres@localhost:5432/maya_test"
DEPLOY_TIMEOUT_SECONDS = 900  # how long the deploy job waits for Railway to build and start a deployment
DEPLOY_POLL_SECONDS = 10
BACKUP_SCRIPT = "predeploy_backup.py"


def _at(directory: str, path: str) -> str:
    return path if directory == "." else f"{directory}/{path}"


def _postgres(database: str) -> dict[str, Any]:
    """A throwaway PostgreSQL service container; trust auth, so no password appears anywhere."""
    return {
        "postgres": {
            "image": pins.POSTGRES_IMAGE,
            "env": {"POSTGRES_DB": database, "POSTGRES_HOST_AUTH_METHOD": "trust"},
            "ports": ["5432:5432"],
            "options": "--health-cmd pg_isready --health-interval 5s --health-timeout 5s --health-retries 10",
        }
    }


#: Where the Python tools live on the runner (their own venv, from the hashed lockfile: workflows/tools.py).
TOOL = tools.VENV + "/bin/"


def _install(kind: str) -> Step:
    """The app's dependencies, then the job's tools from the hashed lockfiles: ``"tools"`` (Ruff, mypy, Bandit,
    pip-audit, in their own venv), ``"test"`` (pytest, pytest-cov, coverage, into the app's environment) or
    ``""`` (none)."""
    lines = [
        "set -euo pipefail",
        "python -m pip install --requirement requirements.txt",
        "if [ -f requirements-dev.txt ]; then python -m pip install --requirement requirements-dev.txt; fi",
    ]
    if kind == "tools":
        lines.extend(tools.install_python_tools())
    elif kind == "test":
        lines.append(tools.install_python_test_tools())
    name = "Install dependencies" + (" and the CI tools (hashed lockfile)" if kind else "")
    return {"name": name, "run": "\n".join(lines) + "\n"}


def _migrations_check_script() -> str:
    """Apply every migration through the runner, require nothing pending, list what schema_migrations holds."""
    read_versions = 'psql "$DATABASE_URL" --no-align --tuples-only --command "SELECT version FROM schema_migrations"'
    lines = [
        "set -euo pipefail",
        run_script("apply_migrations.py", "--dir migrations --script apply_migration.py"),
        run_script("apply_migrations.py", "--dir migrations --check") + "  # nothing may be pending",
        read_versions + ' > "$RUNNER_TEMP/applied-migrations.txt"',
    ]
    return "\n".join(lines) + "\n"


def _python_job(name: str, directory: str, steps: list[Step], *, tools: str, timeout: int, **extra: Any) -> Job:
    prelude = [
        checkout(),
        setup_python(pins.PYTHON_BACKEND, _at(directory, "requirements*.txt")),
        _install(tools),
    ]
    return job(
        name,
        prelude + steps,
        timeout=timeout,
        needs=[CHANGES_JOB],
        condition=RELEVANT,
        defaults={"run": {"working-directory": directory}},
        **extra,
    )


def lint_job(directory: str) -> Job:
    """Ruff (linter and formatter) and mypy."""
    return _python_job(
        "Lint & type check",
        directory,
        [
            {"name": "Ruff (linter)", "run": f'"{TOOL}ruff" check --output-format=github .'},
            {"name": "Ruff (formatter)", "run": f'"{TOOL}ruff" format --check --diff .'},
            {
                "name": "MyPy (type check)",
                "run": f'"{TOOL}mypy" --python-executable "$(command -v python)" app',
            },
        ],
        tools="tools",
        timeout=15,
    )


def test_job(directory: str) -> Job:
    """Unit, integration and database tests against a throwaway PostgreSQL, with coverage."""
    return _python_job(
        "Tests",
        directory,
        [
            write_script("apply_migrations.py"),
            {
                "name": "Apply migrations to the test database",
                "run": run_script("apply_migrations.py", "--dir migrations --script apply_migration.py"),
            },
            {"name": "Unit tests", "run": "pytest tests/unit --cov=app --cov-report="},
            {"name": "Integration tests", "run": "pytest tests/integration --cov=app --cov-append --cov-report="},
            {"name": "Database tests", "run": "pytest tests/database --cov=app --cov-append --cov-report="},
            {
                "name": "Coverage report",
                "if": "always()",
                "run": script("""
            set -euo pipefail
            coverage xml -o coverage.xml
            coverage html -d htmlcov
            {
              echo "### Backend coverage"
              echo ""
              coverage report --format=markdown
            } >> "$GITHUB_STEP_SUMMARY"
            """),
            },
            upload_artifact(
                "Keep the coverage report",
                "backend-coverage",
                "\n".join([_at(directory, "coverage.xml"), _at(directory, "htmlcov/")]) + "\n",
            ),
        ],
        tools="test",
        timeout=20,
        services=_postgres("maya_test"),
        env={"DATABASE_URL": TEST_DATABASE_URL, "ENVIRONMENT": "test"},
    )


def build_job(directory: str) -> Job:
    """The app imports, migrations are named, ordered and apply twice cleanly, .env.example is complete."""
    backend_variables = " ".join(shlex.quote(name) for name in ci_names(Target.BACKEND))
    return _python_job(
        "Build checks",
        directory,
        [
            write_script("backend_checks.py"),
            {
                "name": "Verify imports",
                "run": run_script("backend_checks.py", "import-app app.main:app --env-file .env.example"),
            },
            {
                "name": "Check migration names and order",
                "run": run_script("backend_checks.py", "migrations migrations"),
            },
            write_script("apply_migrations.py"),
            {
                "name": "Check migrations apply in order to an empty database",
                "run": _migrations_check_script(),
            },
            {
                "name": "Check every migration is recorded as applied",
                "run": run_script(
                    "backend_checks.py", 'migrations migrations --applied "$RUNNER_TEMP/applied-migrations.txt"'
                ),
            },
            {
                "name": "Validate configuration",
                "run": run_script("backend_checks.py", f"env-example .env.example --require {backend_variables}"),
            },
        ],
        tools="",
        timeout=15,
        services=_postgres("maya_migrations"),
        env={"DATABASE_URL": TEST_DATABASE_URL.replace("maya_test", "maya_migrations")},
    )


def security_job(directory: str) -> Job:
    """Bandit and pip-audit."""
    return _python_job(
        "Security scan",
        directory,
        [
            {
                "name": "Bandit scan",
                "run": f'"{TOOL}bandit" --recursive app --severity-level medium --confidence-level medium',
            },
            {
                "name": "Dependency audit (pip-audit)",
                "run": f'"{TOOL}pip-audit" --requirement requirements.txt --progress-spinner off',
            },
        ],
        tools="tools",
        timeout=15,
    )


def deploy_job(cfg: StackConfig, directory: str, production: str) -> Job:
    """Deploy this commit to Railway inside the environment, verify it is the live one, health-check, roll back.

    CI is one of two deploy paths, and both are this one: the other is ``pulumi up``, whose Deployment
    resource redeploys the commit that is live with the same verification, health check and rollback
    (components/railway/providers/deploy.py). Neither lets Railway pick a commit, and each waits while the
    other's deployment of the service is in flight (``railway_rollback.py deploy`` waits, bounded, then
    refuses): the equivalent of a concurrency group across two systems. Before a production deploy that brings
    new migration files, the database volume is backed up once (``predeploy_backup.py``).
    """
    backup_only = ("RAILWAY_BACKUP_TOKEN", "RAILWAY_VOLUME_INSTANCE_ID")
    railway_variables = [v for v in ci_names(Target.CI_BACKEND) if v.startswith("RAILWAY_") and v not in backup_only]
    railway = ci_env(Target.CI_BACKEND, *railway_variables)
    deployed = expr("steps.deploy.outputs.deployment_id")
    health_url = {**ci_env(Target.CI_BACKEND, "BACKEND_URL"), "HEALTH_PATH": cfg.backend.healthcheck_path}
    timing = f"--timeout {DEPLOY_TIMEOUT_SECONDS} --poll {DEPLOY_POLL_SECONDS}"
    health = run_script("health_check.py", '"$BACKEND_URL$HEALTH_PATH" ' + health_arguments(cfg))
    migrations = shlex.quote(_at(directory, "migrations"))
    return job(
        "deploy",
        [
            *fresh_commit_steps(),
            checkout(fetch_depth=0),  # the backup step compares the migrations with the live commit's
            write_script("railway_rollback.py"),
            write_script(BACKUP_SCRIPT),
            write_script("health_check.py"),
            {
                "name": "Back up the database before new migrations run (production; once per commit)",
                "id": "backup",
                "if": f"needs.{CHANGES_JOB}.outputs.environment == '{production}'",
                "env": {**railway, **ci_env(Target.CI_BACKEND, *backup_only), "COMMIT_SHA": expr("github.sha")},
                "run": run_script(BACKUP_SCRIPT, f'--commit "$COMMIT_SHA" --migrations {migrations} {timing}'),
            },
            {
                "name": "Deploy this commit to Railway (once; waits while another deploy is in flight)",
                "id": "deploy",
                "env": {**railway, "COMMIT_SHA": expr("github.sha")},
                "run": run_script("railway_rollback.py", f'deploy --commit "$COMMIT_SHA" {timing}'),
            },
            {
                "name": "Verify it is the live deployment and went live through its migrations",
                "id": "verify",
                "env": {**railway, "DEPLOYMENT_ID": deployed, "PRE_DEPLOY": cfg.backend.pre_deploy_command},
                "run": run_script(
                    "railway_rollback.py", 'verify --deployment "$DEPLOYMENT_ID" --pre-deploy "$PRE_DEPLOY"'
                ),
            },
            {
                "name": "Health checks (status and body: database, external APIs)",
                "id": "health",
                "env": health_url,
                "run": health,
            },
            {
                "name": "Roll back to the last deployment that was live and healthy",
                "id": "rollback",
                # only with the id the deploy step recorded: the rollback never guesses which deployment is bad
                "if": "failure() && steps.deploy.outputs.deployment_id != ''",
                "env": {**railway, "CURRENT_ID": deployed},
                "run": run_script("railway_rollback.py", f'rollback --current "$CURRENT_ID" {timing}'),
            },
            {
                "name": "Health checks after the rollback",
                "if": "failure() && steps.rollback.outcome == 'success'",
                "env": health_url,
                "run": health,
            },
        ],
        timeout=45,
        needs=[CHANGES_JOB, "lint", "test", "build", "security", "scan", GATE_JOB],
        condition=DEPLOY,
        environment={"name": ENVIRONMENT, "url": expr("vars.BACKEND_URL")},
        concurrency={"group": f"railway-{ENVIRONMENT}", "cancel-in-progress": False},
        outputs={"backup": expr("steps.backup.outputs.backup_id")},
    )


def safety_job(directory: str) -> Job:
    """Safety, before a deploy, in ``<environment>-scan``: its key never shares a job with a deploy secret."""
    return job(
        "Safety scan",
        [
            checkout(),
            setup_python(pins.PYTHON_BACKEND, None),
            {"name": "Install the CI tools (hashed lockfile)", "run": "\n".join(tools.install_python_tools()) + "\n"},
            {
                "name": "Safety scan (when SAFETY_API_KEY is set)",
                "working-directory": directory,
                "env": ci_env(Target.CI_SCAN, "SAFETY_API_KEY"),
                "run": script(f"""
            set -euo pipefail
            if [ -z "${{SAFETY_API_KEY:-}}" ]; then
              echo "::notice::SAFETY_API_KEY is not set in this environment: Safety scan skipped"
              exit 0
            fi
            "{TOOL}safety" --key "$SAFETY_API_KEY" --stage cicd scan
            """),
            },
        ],
        timeout=10,
        needs=[CHANGES_JOB],
        condition=DEPLOY,
        environment={"name": ENVIRONMENT + SCAN_SUFFIX},
    )


def e2e_job(cfg: StackConfig, configs: Sequence[StackConfig]) -> Job:
    """The frontend's Playwright suite against the staging site, after the backend deployed to staging."""
    staging = next(c for c in configs if not c.is_production)
    gh = cfg.github
    node = cfg.frontend.node_version or pins.NODE_VERSION_FALLBACK
    directory = gh.frontend_path if gh.monorepo else "."
    source: Step | None = None
    if not gh.monorepo:  # the suite lives in the frontend repository: check it out at what staging runs
        plain = checkout()
        with_ = {**plain["with"], "repository": f"{gh.owner}/{gh.frontend_repository}", "ref": staging.github.branch}
        source = {**plain, "name": "Check out the frontend repository (its E2E suite) at the staging branch"}
        source["with"] = with_
    target = site_target([staging.environment], staging.frontend.url, source)
    return playwright_job(directory, node, _at(directory, "package-lock.json"), target)


def render(
    cfg: StackConfig, routes: Sequence[Route], directory: str, watch: Sequence[str], notes: Sequence[str] = ()
) -> str:
    """The backend workflow; ``directory`` is the app's folder, ``watch`` the paths that make it relevant."""
    configs = all_configs(cfg)
    production = next(c.environment for c in configs if c.is_production)
    checks = ["lint", "test", "build", "security"]
    later = {
        "scan": safety_job(directory),
        "deploy": deploy_job(cfg, directory, production),
        E2E_JOB: e2e_job(cfg, configs),
    }
    gate = staging_gate_job(
        configs, BACKEND_CHECK, checks, folder=directory, workflow=PATH, required=gated_jobs(later, "deploy")
    )
    stages = {
        "lint": lint_job(directory),
        "test": test_job(directory),
        "build": build_job(directory),
        "security": security_job(directory),
        GATE_JOB: gate,
        **later,
    }
    backup = expr("needs.deploy.outputs.backup || 'none taken (no new migration file, or not production)'")
    return app_workflow(
        "backend",
        BACKEND_CHECK,
        stages,
        path=PATH,
        watch=watch,
        routes=routes,
        title="Backend pipeline: lint & type check, tests, build checks, security scan, pre-deploy backup, deploy "
        "to Railway, health checks, automatic rollback, E2E on staging.",
        notes=notes,
        after={ALERT_JOB: pipeline_alert_job("backend", [*stages, BACKEND_CHECK], {"Pre-deploy backup": backup})},
    )
