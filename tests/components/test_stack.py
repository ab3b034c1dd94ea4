"""Program tests: the real program under Pulumi mocks, for both stacks, from their real config files."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import config
from tests.components.program import RAILWAY, GitHubHalf, ProgramRun, github_half, is_secret, run_program
from tests.secrets import EXTERNAL_DATABASE_URL, TEST_CHECKLY_SECRETS, TEST_PRODUCTION_SECRETS, TEST_SECRETS
from workflows import tools

VERCEL_PROJECT = "vercel:index/project:Project"
VERCEL_DOMAIN = "vercel:index/projectDomain:ProjectDomain"
VERCEL_ENV = "vercel:index/projectEnvironmentVariable:ProjectEnvironmentVariable"
GH_ENV = "github:index/repositoryEnvironment:RepositoryEnvironment"
GH_POLICY = "github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy"
GH_SECRET = "github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret"
GH_VARIABLE = "github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable"
GH_RULESET = "github:index/repositoryRuleset:RepositoryRuleset"
GH_FILE = "github:index/repositoryFile:RepositoryFile"


@pytest.fixture(scope="module", params=config.STACKS)
def run(request: pytest.FixtureRequest) -> ProgramRun:
    return run_program(request.param)


@pytest.fixture(scope="module")
def production() -> ProgramRun:
    return run_program("production")


@pytest.fixture
def half(run: ProgramRun, production: ProgramRun) -> GitHubHalf:
    """The GitHub half of the stack under test, as production's program declares it (docs/trust.md)."""
    return github_half(production, run.outputs["stack"])


def _walk(value: Any, inside_secret: bool = False) -> Iterator[tuple[Any, bool]]:
    if is_secret(value):
        yield from _walk(value["value"], True)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _walk(v, inside_secret)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v, inside_secret)
    else:
        yield value, inside_secret


def _plain(value: Any) -> Any:
    return _plain(value["value"]) if is_secret(value) else value


def test_resource_set(run: ProgramRun, half: GitHubHalf) -> None:
    types = [r.typ for r in run.mocks.resources]
    for kind in (
        "Project",
        "Environment",
        "Service",
        "ServiceInstance",
        "Variables",
        "ServiceDomain",
        "CustomDomain",
        "DeploymentTrigger",
        "Postgres",
        "Deployment",
    ):
        assert types.count(RAILWAY + kind) == 1, kind
    # CI's deploy token, and the backend 5xx-rate alert's own metrics token (docs/monitoring.md)
    tokens = sorted(r.name for r in run.mocks.of_type(RAILWAY + "ProjectToken"))
    assert tokens == ["backend-ci-token", "backend-metrics-token"]
    assert types.count(VERCEL_PROJECT) == 1
    # the deploy environment, <environment>-alerts (alert mail only) and <environment>-scan (the scanners' tokens
    # only: docs/gates.md), each with its branch policy (staging's alerts environment also admits main, the
    # default branch, where the scheduled monitor runs); staging's `preview` environment of the previews
    # workflow (docs/previews.md) is counted apart
    stack_envs = [r for r in half.of_type(GH_ENV) if r.inputs.get("environment") != "preview"]
    policies = 4 if run.outputs["stack"] == "staging" else 3
    assert len(stack_envs) == 3 and len(half.of_type(GH_RULESET)) == 1
    assert len([r for r in half.of_type(GH_POLICY) if r.inputs.get("environment") != "preview"]) == policies
    assert len(half.of_type(GH_FILE)) >= 2
    # only production declares GitHub resources, its own and staging's (docs/trust.md)
    github_types = {t for t in types if t.startswith("github:") or t == "pulumi:providers:github"}
    assert bool(github_types) is (run.outputs["stack"] == "production")
    components = {r.typ for r in run.mocks.resources if not r.custom}
    assert {"maya:railway:Backend", "maya:vercel:Frontend"} <= components
    assert ("maya:github:Pipeline" in components) is (run.outputs["stack"] == "production")


def test_railway_backend_settings(run: ProgramRun) -> None:
    cfg = config.load_from_stack_file(run.outputs["stack"])
    project = run.mocks.one(RAILWAY + "Project").inputs
    assert project["name"] == cfg.backend.project_name
    assert project["default_environment_name"] == cfg.stack
    assert run.mocks.one(RAILWAY + "Environment").inputs["name"] == cfg.stack
    settings = run.mocks.one(RAILWAY + "ServiceInstance").inputs
    assert settings["root_directory"] == "backend"
    assert settings["source_repo"] == "mayassistant/maya"
    assert settings["healthcheck_path"] == "/api/health"
    assert settings["pre_deploy_command"] == "python apply_migrations.py"
    assert settings["num_replicas"] == cfg.backend.replicas
    assert settings["region"] == cfg.backend.region
    assert settings["restart_policy_type"] == "ON_FAILURE"
    trigger = run.mocks.one(RAILWAY + "DeploymentTrigger").inputs
    assert trigger["branch"] == cfg.github.branch and trigger["check_suites"] is True
    assert run.mocks.one(RAILWAY + "ServiceDomain").inputs["target_port"] == cfg.backend.port
    assert run.mocks.one(RAILWAY + "CustomDomain").inputs["domain"] == cfg.backend.custom_domain


def test_backend_variables_are_one_secret_set(run: ProgramRun) -> None:
    variables = run.mocks.one(RAILWAY + "Variables").inputs["variables"]
    assert is_secret(variables)
    values = variables["value"]
    assert set(values) == {
        "DATABASE_URL",
        "JWT_SECRET_KEY",
        "ENCRYPTION_KEY",
        "ANTHROPIC_API_KEY",
        "STRIPE_API_KEY",
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "ENVIRONMENT",
        "PORT",
        "FRONTEND_URL",
    }
    assert values["DATABASE_URL"] == "${{Postgres.DATABASE_URL}}"
    assert values["JWT_SECRET_KEY"] == TEST_SECRETS["maya-infra:jwtSecretKey"]
    assert values["ENVIRONMENT"] == run.outputs["stack"]


def test_vercel_project_and_domains(run: ProgramRun) -> None:
    cfg = config.load_from_stack_file(run.outputs["stack"])
    project = run.mocks.one(VERCEL_PROJECT).inputs
    assert project["rootDirectory"] == "omega-frontend"
    assert project["framework"] == "nextjs"
    assert project["gitRepository"] == {
        "type": "github",
        "repo": "mayassistant/maya",
        "productionBranch": cfg.github.branch,
    }
    assert project["previewDeploymentsDisabled"] is (cfg.stack == "production")
    domains = {r.inputs["domain"]: r.inputs for r in run.mocks.of_type(VERCEL_DOMAIN)}
    if cfg.stack == "production":
        assert set(domains) == {"mayassistant.com", "www.mayassistant.com"}
        assert domains["www.mayassistant.com"]["redirect"] == "mayassistant.com"
        assert "redirect" not in domains["mayassistant.com"]
    else:
        assert set(domains) == {"staging.mayassistant.com"}


def test_frontend_gets_the_backend_url_and_production_values_never_reach_previews(run: ProgramRun) -> None:
    env = run.mocks.one(VERCEL_ENV).inputs
    assert env["key"] == "NEXT_PUBLIC_API_URL"
    assert _plain(env["value"]) == run.outputs["backend_url"]  # the Vercel SDK makes every value secret
    assert env["sensitive"] is False
    expected = ["production"] if run.outputs["stack"] == "production" else ["production", "preview"]
    assert env["targets"] == expected


def test_github_environment_and_protection(half: GitHubHalf) -> None:
    cfg = config.load_from_stack_file(half.stack)
    environments = {
        r.inputs["environment"]: r.inputs for r in half.of_type(GH_ENV) if r.inputs["environment"] != "preview"
    }
    assert set(environments) == {cfg.stack, f"{cfg.stack}-alerts", f"{cfg.stack}-scan"}
    environment = environments[cfg.stack]
    for each in environments.values():
        assert each["deploymentBranchPolicy"] == {"protectedBranches": False, "customBranchPolicies": True}
    policies = {
        (r.inputs["environment"], r.inputs["branchPattern"])
        for r in half.of_type(GH_POLICY)
        if r.inputs["environment"] != "preview"
    }
    alert_branches = {cfg.github.branch, "main"}  # main: the default branch, where the monitor's schedule runs
    assert policies == {
        (cfg.stack, cfg.github.branch),
        (f"{cfg.stack}-scan", cfg.github.branch),
        *((f"{cfg.stack}-alerts", b) for b in alert_branches),
    }
    scan = environments[f"{cfg.stack}-scan"]  # the scanners' tokens only: no reviewers, no deploy secret
    assert not scan.get("reviewers") and scan["canAdminsBypass"] is False
    alerts = environments[f"{cfg.stack}-alerts"]
    assert not alerts.get("reviewers") and alerts["canAdminsBypass"] is False  # an alert never waits
    if cfg.is_production:
        assert environment["preventSelfReview"] is True
        assert environment["canAdminsBypass"] is False
        reviewers = environment["reviewers"][0]
        assert reviewers["teams"] == [4218001] and reviewers["users"] == [1920301]
    ruleset = half.one(GH_RULESET).inputs
    assert ruleset["conditions"]["refName"]["includes"] == [f"refs/heads/{cfg.github.branch}"]
    required = ruleset["rules"]["requiredStatusChecks"]["requiredChecks"]
    checks = [c["context"] for c in required]
    assert checks == list(cfg.required_status_checks)  # staging: + preview-e2e (test_previews_program.py)
    # only a GitHub Actions run satisfies them, never a commit status of the same name (docs/trust.md)
    assert {c.get("integrationId") for c in required} == {15368}
    files = half.of_type(GH_FILE)
    assert {f.inputs["branch"] for f in files} == {cfg.github.branch}
    assert {f.inputs["file"] for f in files if not f.inputs["file"].startswith(".github/workflows/")} == {
        "backend/apply_migrations.py",  # the migration runner, Railway's pre-deploy command
        *(f".github/ci-tools/{name}" for name in tools.FILES),  # the CI tools' lockfiles (docs/gates.md)
    }


def test_cross_platform_wiring_into_github(run: ProgramRun, half: GitHubHalf) -> None:
    """Each stack's own values reach its environments (staging's through the hand-off, docs/trust.md)."""
    stack_only = [r for r in half.of_type(GH_SECRET) if r.inputs["environment"] != "preview"]  # docs/previews.md
    secrets = {r.inputs["secretName"]: r.inputs for r in stack_only}
    variables = {
        r.inputs["variableName"]: r.inputs["value"]
        for r in half.of_type(GH_VARIABLE)
        if r.inputs["environment"] != "preview"
    }
    assert {"VERCEL_TOKEN", "RAILWAY_TOKEN", "SNYK_TOKEN"} <= set(secrets)
    assert _plain(secrets["RAILWAY_TOKEN"]["value"]) == "mock-project-token-value"
    # CI holds the stack's project-scoped deploy token, never the team-wide infrastructure token
    assert _plain(secrets["VERCEL_TOKEN"]["value"]) == TEST_SECRETS["maya-infra:vercelDeployToken"]
    assert variables["VERCEL_PROJECT_ID"] == "frontend-project-id"
    assert variables["VERCEL_ORG_ID"] == config.load_from_stack_file(half.stack).frontend.team_id
    assert variables["RAILWAY_SERVICE_ID"] == "backend-service-id"
    assert variables["BACKEND_URL"] == run.outputs["backend_url"]
    stack = run.outputs["stack"]
    deploy = {n: s for n, s in secrets.items() if s["environment"] == stack}
    assert {s["environment"] for s in secrets.values()} == {stack, f"{stack}-alerts", f"{stack}-scan"}
    assert secrets["SNYK_TOKEN"]["environment"] == f"{stack}-scan"  # never beside a deploy secret
    assert "SMTP_URL" not in deploy  # the alert mail lives in <environment>-alerts only, and nothing else does
    alert_secrets = {
        r.inputs["secretName"] for r in half.of_type(GH_SECRET) if r.inputs["environment"].endswith("-alerts")
    }
    # staging's scheduled monitor polls the backend 5xx rate with its metrics token; production's stays in Checkly
    polls = stack == "staging"
    assert alert_secrets == ({"SMTP_URL", "RAILWAY_METRICS_TOKEN"} if polls else {"SMTP_URL"})
    alert_vars = {
        r.inputs["variableName"]: r.inputs["value"]
        for r in half.of_type(GH_VARIABLE)
        if r.inputs["environment"].endswith("-alerts")
    }
    cfg = config.load_from_stack_file(stack)
    assert cfg.monitoring is not None
    ids = {"RAILWAY_SERVICE_ID": "backend-service-id", "RAILWAY_ENVIRONMENT_ID": variables["RAILWAY_ENVIRONMENT_ID"]}
    assert alert_vars == {
        "ALERT_EMAILS": ",".join(cfg.monitoring.alert_emails),
        "ALERT_FROM": cfg.monitoring.alert_emails[0],
        **(ids if polls else {}),
    }


def test_every_secret_value_is_a_secret_output(run: ProgramRun) -> None:
    planted = set(TEST_SECRETS.values()) | set(TEST_PRODUCTION_SECRETS.values()) | {"mock-project-token-value"}
    found = 0
    for resource in run.mocks.resources:
        for key, value in resource.inputs.items():
            if key == "__provider":
                continue
            for leaf, inside_secret in _walk(value):
                if isinstance(leaf, str) and any(s in leaf for s in planted):
                    found += 1
                    assert inside_secret, f"{resource.typ} {resource.name}.{key} holds a secret in plain text"
    assert found >= (10 if run.outputs["stack"] == "production" else 5)  # production holds staging's GitHub half too


def test_staging_hands_its_github_values_over_as_one_secret_output(run: ProgramRun) -> None:
    """Staging declares no GitHub resource; its values leave it only inside the secret ``github_handoff``."""
    if run.outputs["stack"] == "production":
        assert "github_handoff" not in run.outputs and "handed_off" in run.outputs
        return
    assert run.secret_outputs == {"github_handoff"}
    handed = run.outputs["github_handoff"]
    assert handed["version"] == 1 and handed["stack"] == "staging"
    ci = handed["ci"]["maya"]
    assert ci["RAILWAY_TOKEN"] == {"value": "mock-project-token-value", "secret": True}
    assert ci["VERCEL_TOKEN"] == {"value": TEST_SECRETS["maya-infra:vercelDeployToken"], "secret": True}
    assert ci["BACKEND_URL"]["secret"] is False
    assert handed["alerts"]["SMTP_URL"] == {"value": TEST_SECRETS["maya-infra:smtpUrl"], "secret": True}
    assert handed["preview"]["RAILWAY_PREVIEW_TOKEN"]["secret"] is True
    assert run.outputs["github_declared_by"] == "production"


def test_outputs_name_secrets_but_never_hold_them(run: ProgramRun, production: ProgramRun) -> None:
    outputs = {k: v for k, v in run.outputs.items() if k != "github_handoff"}  # staging's secret hand-off (below)
    text = repr(outputs)
    assert not any(value in text for value in TEST_SECRETS.values())
    assert "JWT_SECRET_KEY" in run.outputs["secret_names"]["railway"]
    stack = run.outputs["stack"]
    github = production.outputs if stack == "production" else production.outputs["handed_off"][stack]
    assert github["protected_branch"] == {"staging": "develop", "production": "main"}[stack]
    previews_e2e = ["preview-e2e"] if stack == "staging" else []  # docs/previews.md
    assert github["required_checks"] == ["frontend-ci", "backend-ci", *previews_e2e]


def _identities(run: ProgramRun) -> set[tuple[str, ...]]:
    """The real-world identity of every object a stack declares."""
    out: set[tuple[str, ...]] = set()
    for r in run.mocks.resources:
        i = r.inputs
        if r.typ == RAILWAY + "Project":
            out.add(("railway-project", i["name"]))
        elif r.typ == RAILWAY + "CustomDomain":
            out.add(("domain", i["domain"]))
        elif r.typ == RAILWAY + "ProjectToken":
            out.add(("railway-token", i["name"]))
        elif r.typ == VERCEL_PROJECT:
            out.add(("vercel-project", i["name"]))
        elif r.typ == VERCEL_DOMAIN:
            out.add(("domain", i["domain"]))
        elif r.typ == GH_ENV:
            out.add(("github-environment", i["repository"], i["environment"]))
        elif r.typ in (GH_SECRET, GH_VARIABLE):
            out.add(("github-env-value", i["repository"], i["environment"], i.get("secretName") or i["variableName"]))
        elif r.typ == GH_FILE:
            out.add(("github-file", i["repository"], i["branch"], i["file"]))
        elif r.typ == GH_RULESET:
            out.add(("github-ruleset", i["repository"], i["name"]))
    return out


def test_no_real_world_object_is_declared_by_both_stacks() -> None:
    staging, production = run_program("staging"), run_program("production")
    shared = _identities(staging) & _identities(production)
    assert not shared
    assert len(_identities(staging)) > 4
    # production declares staging's GitHub objects once (from the hand-off), never its own a second time
    own = [r for r in production.mocks.resources if "maya:github:HandedOff$" not in production.mocks.urn(r)]
    handed = [r for r in production.mocks.resources if "maya:github:HandedOff$" in production.mocks.urn(r)]
    mine = _identities(ProgramRun(_Only(own)))  # type: ignore[arg-type]
    theirs = _identities(ProgramRun(_Only(handed)))  # type: ignore[arg-type]
    assert theirs and not mine & theirs
    assert {i[2] for i in theirs if i[0] == "github-environment"} == {
        "staging",
        "staging-alerts",
        "staging-scan",
        "preview",
    }


class _Only:
    def __init__(self, resources: list[Any]) -> None:
        self.resources = resources


def test_separate_repositories_are_expressible() -> None:
    raw, _ = config.read_stack_file("staging")
    repos = {"frontendRepository": "omega-frontend", "backendRepository": "maya-backend"}
    run = run_program("staging", {"maya-infra:github": {**raw["maya-infra:github"], **repos}})
    assert run.mocks.one(RAILWAY + "ServiceInstance").inputs.get("root_directory") is None
    assert "rootDirectory" not in run.mocks.one(VERCEL_PROJECT).inputs
    ci = run.outputs["github_handoff"]["ci"]  # its values, handed over per repository (production declares them)
    assert "VERCEL_TOKEN" in ci["omega-frontend"] and "RAILWAY_TOKEN" in ci["maya-backend"]
    assert "VERCEL_TOKEN" not in ci["maya-backend"]


def test_external_database() -> None:
    raw, _ = config.read_stack_file("production")
    backend = {**raw["maya-infra:backend"], "database": "external"}
    run = run_program(
        "production",
        {"maya-infra:backend": backend},
        secrets={
            **TEST_SECRETS,
            **TEST_CHECKLY_SECRETS,
            **TEST_PRODUCTION_SECRETS,
            "maya-infra:databaseUrl": EXTERNAL_DATABASE_URL,
        },
    )
    assert not run.mocks.of_type(RAILWAY + "Postgres")
    variables = run.mocks.one(RAILWAY + "Variables").inputs["variables"]
    assert is_secret(variables) and variables["value"]["DATABASE_URL"] == EXTERNAL_DATABASE_URL


def test_platforms_can_be_left_out_explicitly() -> None:
    run = run_program("staging", {"maya-infra:platforms": ["railway"]})
    assert {r.typ.split(":")[0] for r in run.mocks.resources if r.custom} == {"pulumi-python"}
    assert run.outputs["platforms"] == ["railway"]


@pytest.mark.parametrize(
    ("overrides", "secrets", "key"),
    [
        ({}, {k: v for k, v in TEST_SECRETS.items() if k != "maya-infra:anthropicApiKey"}, "anthropicApiKey"),
        ({"maya-infra:frontend": {"projectName": "x", "domains": ["bad domain"]}}, None, "frontend.domains[0]"),
        ({"maya-infra:colour": "blue"}, None, "colour"),
        (
            {
                "maya-infra:backend": {
                    "projectName": "p",
                    "startCommand": "s",
                    "preDeployCommand": "m",
                    "replicas": "lots",
                }
            },
            None,
            "backend.replicas",
        ),
    ],
)
def test_bad_configuration_declares_nothing(
    overrides: dict[str, Any], secrets: dict[str, str] | None, key: str
) -> None:
    with pytest.raises(config.ConfigError) as exc:
        run_program("staging", overrides, secrets)
    assert key in {p.key for p in exc.value.problems}
    assert [r for r in _resources_after_failure()] == []


def _resources_after_failure() -> list[Any]:
    from tests.components import program

    return program.LAST_MOCKS.resources if program.LAST_MOCKS else []


def test_production_without_reviewers_declares_nothing() -> None:
    raw, _ = config.read_stack_file("production")
    github = {**raw["maya-infra:github"], "reviewers": []}
    with pytest.raises(config.ConfigError, match="required reviewer"):
        run_program("production", {"maya-infra:github": github})
    assert _resources_after_failure() == []


def test_a_platform_left_out_takes_its_ci_values_with_it() -> None:
    run = run_program("staging", {"maya-infra:platforms": ["railway", "github"]})
    names = set(run.outputs["github_handoff"]["ci"]["maya"])
    assert "RAILWAY_TOKEN" in names and "BACKEND_URL" in names
    assert not {"VERCEL_TOKEN", "VERCEL_ORG_ID", "VERCEL_PROJECT_ID"} & names
