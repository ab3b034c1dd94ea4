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
from config.envvars import Target
from workflows import pins
from workflows.mail import ALERT_JOB, pipeline_alert_job
from workflows.pipeline import (
    BACKEND_CHECK,
    CHANGES_JOB,
    DEPLOY,
    ENVIRONMENT,
    RELEVANT,
    Route,
    all_configs,
    branches,
    changes_job,
    gate_job,
    routes_source,
)
from workflows.promotion import GATE_JOB, staging_gate_job
from workflows.render import (
    Job,
    Step,
    checkout,
    ci_env,
    ci_names,
    dump,
    expr,
    header,
    install_npm_tool,
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


def _install(*tools: str, dev: bool = True) -> Step:
    lines = ["set -euo pipefail", "python -m pip install --requirement requirements.txt"]
    if dev:
        lines.append(
            "if [ -f requirements-dev.txt ]; then python -m pip install --requirement requirements-dev.txt; fi"
        )
    if tools:
        lines.append(f"python -m pip install {pins.pypi(*tools)}")
    return {"name": "Install dependencies", "run": "\n".join(lines) + "\n"}


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


def _python_job(
    name: str, directory: str, steps: list[Step], *, tools: Sequence[str], timeout: int, **extra: Any
) -> Job:
    prelude = [
        checkout(),
        setup_python(pins.PYTHON_BACKEND, _at(directory, "requirements*.txt")),
        _install(*tools),
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


def render(
    cfg: StackConfig, routes: Sequence[Route], directory: str, watch: Sequence[str], notes: Sequence[str] = ()
) -> str:
    """The backend workflow; ``directory`` is the app's folder, ``watch`` the paths that make it relevant."""
    lint = _python_job(
        "Lint & type check",
        directory,
        [
            {"name": "Ruff (linter)", "run": "ruff check --output-format=github ."},
            {"name": "Ruff (formatter)", "run": "ruff format --check --diff ."},
            {"name": "MyPy (type check)", "run": "mypy app"},
        ],
        tools=("ruff", "mypy"),
        timeout=15,
    )

    test = _python_job(
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
        tools=("pytest", "pytest-cov", "coverage"),
        timeout=20,
        services=_postgres("maya_test"),
        env={"DATABASE_URL": TEST_DATABASE_URL, "ENVIRONMENT": "test"},
    )

    railway_variables = [var for var in ci_names(Target.CI_BACKEND) if var.startswith("RAILWAY_")]
    backend_variables = " ".join(shlex.quote(name) for name in ci_names(Target.BACKEND))
    build = _python_job(
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
        tools=(),
        timeout=15,
        services=_postgres("maya_migrations"),
        env={"DATABASE_URL": TEST_DATABASE_URL.replace("maya_test", "maya_migrations")},
    )

    security = _python_job(
        "Security scan",
        directory,
        [
            {"name": "Bandit scan", "run": "bandit --recursive app --severity-level medium --confidence-level medium"},
            {
                "name": "Dependency audit (pip-audit)",
                "run": "pip-audit --requirement requirements.txt --progress-spinner off",
            },
        ],
        tools=("bandit", "pip-audit"),
        timeout=15,
    )

    railway = ci_env(Target.CI_BACKEND, *railway_variables)
    health_url = {**ci_env(Target.CI_BACKEND, "BACKEND_URL"), "HEALTH_PATH": cfg.backend.healthcheck_path}
    rollback_args = f"--timeout {DEPLOY_TIMEOUT_SECONDS}"
    health = run_script("health_check.py", '"$BACKEND_URL$HEALTH_PATH" ' + health_arguments(cfg))
    deploy = job(
        "Deploy to Railway",
        [
            checkout(),
            setup_python(pins.PYTHON_BACKEND, None),
            {
                "name": "Safety check (when SAFETY_API_KEY is set)",
                "working-directory": directory,
                "env": ci_env(Target.CI_BACKEND, "SAFETY_API_KEY"),
                "run": script(f"""
            set -euo pipefail
            if [ -z "${{SAFETY_API_KEY:-}}" ]; then
              echo "::notice::SAFETY_API_KEY is not set in this environment: Safety check skipped"
              exit 0
            fi
            python -m pip install {pins.pypi("safety")}
            safety --key "$SAFETY_API_KEY" --stage cicd scan
            """),
            },
            install_npm_tool("@railway/cli", "Railway CLI"),
            write_script("railway_rollback.py"),
            write_script("health_check.py"),
            {
                "name": "Record the newest deployment before deploying",
                "id": "before",
                "env": railway,
                "run": run_script("railway_rollback.py", "latest"),
            },
            {
                "name": "Deploy to Railway",
                "id": "deploy",
                "env": railway,
                "run": 'railway up --service "$RAILWAY_SERVICE_ID" --environment "$RAILWAY_ENVIRONMENT_ID" --ci',
            },
            {
                "name": "Verify deployment",
                "id": "verify",
                "env": {**railway, "BEFORE_ID": expr("steps.before.outputs.deployment_id")},
                "run": run_script("railway_rollback.py", f'wait --after "$BEFORE_ID" {rollback_args}'),
            },
            {
                "name": "Health checks (status and body: database, external APIs)",
                "id": "health",
                "env": health_url,
                "run": health,
            },
            {
                "name": "Roll back to the previous successful deployment",
                "id": "rollback",
                "if": "failure() && steps.deploy.outcome == 'success'",
                "env": {**railway, "CURRENT_ID": expr("steps.verify.outputs.deployment_id")},
                "run": run_script("railway_rollback.py", f'rollback --current "$CURRENT_ID" {rollback_args}'),
            },
            {
                "name": "Health checks after the rollback",
                "if": "failure() && steps.rollback.outcome == 'success'",
                "env": health_url,
                "run": health,
            },
        ],
        timeout=45,
        needs=[CHANGES_JOB, "lint", "test", "build", "security", GATE_JOB],
        condition=DEPLOY,
        environment={"name": ENVIRONMENT, "url": expr("vars.BACKEND_URL")},
        concurrency={"group": f"railway-{ENVIRONMENT}", "cancel-in-progress": False},
    )

    gate = staging_gate_job(all_configs(cfg), BACKEND_CHECK, ["lint", "test", "build", "security"])
    stages = {"lint": lint, "test": test, "build": build, "security": security, GATE_JOB: gate, "deploy": deploy}
    document = {
        "name": "backend",
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
            CHANGES_JOB: changes_job(watch, routes),
            **stages,
            BACKEND_CHECK: gate_job(BACKEND_CHECK, [CHANGES_JOB, *stages]),
            ALERT_JOB: pipeline_alert_job("backend", [*stages, BACKEND_CHECK]),
        },
    }
    return dump(
        document,
        header(
            "Backend pipeline: lint & type check, tests, build checks, security scan, deploy to Railway, "
            "health checks, automatic rollback.",
            routes_source(routes),
            notes,
        ),
    )
