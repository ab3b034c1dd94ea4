"""Real-engine tests: the real Pulumi CLI and language host run the real program for both stacks against
the fake Railway API on 127.0.0.1, with a local file:// backend and a passphrase secrets provider."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from pulumi import automation as auto

from tests.engine.harness import EngineStack, engine_bin, local_overrides, make_stack
from tests.fakes.railway_api import FakeRailway
from tests.secrets import TEST_SECRETS

pytestmark = [pytest.mark.engine, pytest.mark.timeout(900)]
RAILWAY_TOKEN = TEST_SECRETS["maya-infra:railwayToken"]


@pytest.fixture(scope="session")
def bin_dir() -> Path:
    return engine_bin()


@pytest.fixture(params=["staging", "production"])
def world(request: pytest.FixtureRequest, tmp_path: Path, bin_dir: Path) -> Iterator[tuple[EngineStack, FakeRailway]]:
    with FakeRailway(token=RAILWAY_TOKEN, deploy_polls_to_finish=2) as fake:
        stack = make_stack(tmp_path, request.param, local_overrides(fake.url, ["railway"]), bin_dir=bin_dir)
        yield stack, fake
        with_leftovers = fake.state.projects
        if with_leftovers:
            stack.destroy_deliberately()


def _changes(result: auto.UpResult | auto.RefreshResult | auto.DestroyResult) -> dict[str, int]:
    return {k: v for k, v in (result.summary.resource_changes or {}).items() if k != "same"}


def _redeploys_of_the_live_commit(fake: FakeRailway) -> int:
    """Deploys a stack update sent once the service runs: each names the live commit (never Railway's pick)."""
    assert fake.count("ServiceInstanceDeployV2") == 0, "a redeploy let Railway pick the commit"
    return fake.count("ServiceInstanceDeployCommit")


def _project_count(fake: FakeRailway) -> int:
    return len(fake.state.projects)


def test_converges_then_second_up_is_a_no_op(world: tuple[EngineStack, FakeRailway]) -> None:
    stack, fake = world
    preview = stack.preview()
    assert preview.change_summary.get("create", 0) >= 12
    assert fake.count(mutations_only=True) == 0, "preview must not change anything"

    first = stack.up()
    assert _changes(first) == {"create": first.summary.resource_changes["create"]}
    assert fake.count("ServiceInstanceDeployV2") == 1
    outputs = stack.outputs()
    assert outputs["railway_deployment_status"] == "SUCCESS"
    assert outputs["backend_url"].startswith("https://api.")
    assert fake.invalid_documents == []

    fake.reset_counters()
    second = stack.up()
    assert _changes(second) == {}
    assert fake.count(mutations_only=True) == 0 and fake.count() == 0


def test_one_variable_changed_is_one_update_and_one_deploy(world: tuple[EngineStack, FakeRailway]) -> None:
    stack, fake = world
    stack.up()
    fake.reset_counters()
    stack.set_secret("maya-infra:stripeApiKey", "test-stripe-key-rotated-77")
    result = stack.up()
    assert _changes(result) == {"update": 2}  # the variable set, and the deployment it triggers
    assert fake.count("VariableCollectionUpsert") == 1
    assert _redeploys_of_the_live_commit(fake) == 1
    outputs = stack.outputs()
    key = (outputs["railway_project_id"], outputs["railway_environment_id"], outputs["railway_service_id"])
    assert fake.state.variables[key]["STRIPE_API_KEY"] == "test-stripe-key-rotated-77"


def test_drift_is_found_by_refresh_and_reverted_by_up(world: tuple[EngineStack, FakeRailway]) -> None:
    stack, fake = world
    stack.up()
    outputs = stack.outputs()
    project, env, service = (
        outputs["railway_project_id"],
        outputs["railway_environment_id"],
        outputs["railway_service_id"],
    )
    fake.set_variable_behind(project, env, service, "ANTHROPIC_API_KEY", None)
    fake.update_instance_behind(service, env, healthcheckPath="/changed-in-dashboard")

    refreshed = stack.refresh()
    assert _changes(refreshed) == {"update": 2}

    fake.reset_counters()
    stack.up()
    assert (
        fake.state.variables[(project, env, service)]["ANTHROPIC_API_KEY"] == TEST_SECRETS["maya-infra:anthropicApiKey"]
    )
    assert fake.state.instances[(service, env)]["healthcheckPath"] == "/api/health"
    assert _redeploys_of_the_live_commit(fake) == 1
    fake.reset_counters()
    assert _changes(stack.up()) == {} and fake.count(mutations_only=True) == 0


def test_object_deleted_behind_our_back_is_recreated(world: tuple[EngineStack, FakeRailway]) -> None:
    stack, fake = world
    stack.up()
    domain_id = next(iter(fake.state.service_domains))
    fake.delete_behind("domain", domain_id)
    assert _changes(stack.refresh()).get("delete") == 1
    stack.up()
    assert len(fake.state.service_domains) == 1 and domain_id not in fake.state.service_domains


def test_railways_generic_error_after_a_commit_does_not_duplicate(world: tuple[EngineStack, FakeRailway]) -> None:
    stack, fake = world
    fake.inject("graphql_error_after", match="ServiceDomainCreate")  # done on Railway's side, answer lost
    stack.up()
    assert len(fake.state.service_domains) == 1
    assert _changes(stack.up()) == {}


def test_transient_faults_during_up_still_converge(world: tuple[EngineStack, FakeRailway]) -> None:
    stack, fake = world
    fake.inject("http", status=429, retry_after=1, match="ProjectCreate", times=2)
    fake.inject("http", status=503, match="Project", times=2)
    fake.inject("drop", match="ServiceInstanceUpdate")
    fake.inject("drop_after", match="ServiceCreate")
    fake.inject("cloudflare_1015", match="VariableCollectionUpsert")
    fake.inject("slow", delay=0.5, match="DeploymentTriggerCreate")
    stack.up()
    assert _project_count(fake) == 1
    assert sum(1 for s in fake.state.services.values() if s["name"] == "backend") == 1
    assert stack.outputs()["railway_deployment_status"] == "SUCCESS"
    assert _changes(stack.up()) == {}


def test_hard_failure_halfway_then_next_up_converges_without_duplicates(world: tuple[EngineStack, FakeRailway]) -> None:
    stack, fake = world
    fake.inject(
        "graphql_error",
        match="ServiceDomainCreate",
        message="Service domain limit reached",
        extensions={"code": "BAD_USER_INPUT"},
    )
    with pytest.raises(auto.CommandError) as failed:
        stack.up()
    assert "Railway ServiceDomainCreate: Service domain limit reached" in str(failed.value)
    assert "Traceback" not in str(failed.value), "our errors reach the user as one line"
    assert _project_count(fake) == 1
    stack.up()
    assert _project_count(fake) == 1
    assert len(fake.state.service_domains) == 1
    assert len(fake.state.project_tokens) == 1
    assert sum(1 for s in fake.state.services.values() if s["name"] == "Postgres") == 1
    assert _changes(stack.up()) == {}


def test_failed_deployment_fails_up_naming_it_and_the_next_up_retries(world: tuple[EngineStack, FakeRailway]) -> None:
    stack, fake = world
    stack.up()
    fake.fail_next_deploy("CRASHED", service_id=stack.outputs()["railway_service_id"])
    stack.set_secret("maya-infra:twilioAuthToken", "test-twilio-token-rotated-31")
    lines: list[str] = []
    with pytest.raises(auto.CommandError):
        stack.up(on_output=lines.append)
    failed = [d for d in fake.state.deployments.values() if d["status"] == "CRASHED"]
    assert failed and any(failed[0]["id"] in line and "CRASHED" in line for line in lines)
    fake.reset_counters()
    stack.up()
    assert _redeploys_of_the_live_commit(fake) == 1
    assert stack.outputs()["railway_deployment_status"] == "SUCCESS"


def test_exported_state_holds_no_secret_in_plain_text(world: tuple[EngineStack, FakeRailway]) -> None:
    stack, fake = world
    stack.up()
    cli = stack.cli("stack", "export")  # what an auditor gets (no --show-secrets)
    assert cli.returncode == 0
    exported = json.loads(cli.stdout)
    state_files = list((stack.project_dir.parent / "state").rglob("*.json"))
    assert state_files
    on_disk = "\n".join(path.read_text() for path in state_files)
    tokens = [fake.project_token_value(token_id) for token_id in fake.state.project_tokens]
    assert tokens
    planted = {
        **{k: v for k, v in TEST_SECRETS.items()},
        **{f"project token {i}": t for i, t in enumerate(tokens)},
        "DATABASE_URL reference": "${{Postgres.DATABASE_URL}}",
    }
    leaked = [name for name, value in planted.items() if value in cli.stdout or value in on_disk]
    assert leaked == [], f"stored in plain text in the stack state: {leaked}"
    variables = next(r for r in exported["deployment"]["resources"] if r["type"].endswith("railway:Variables"))
    assert "ciphertext" in variables["outputs"]["variables"]
    token = next(r for r in exported["deployment"]["resources"] if r["type"].endswith("railway:ProjectToken"))
    assert "ciphertext" in token["outputs"]["token"]


def test_destroy_leaves_the_fake_empty(world: tuple[EngineStack, FakeRailway]) -> None:
    """Staging is destroyable; production is torn down only deliberately, and keeps its stateful objects."""
    stack, fake = world
    stack.up()
    result = stack.destroy_deliberately()
    assert _changes(result).get("delete", 0) >= 12
    if stack.name == "staging":
        assert fake.is_empty()
        return
    retained = {t: len(getattr(fake.state, t)) for t in ("projects", "environments", "services", "custom_domains")}
    assert retained == {"projects": 1, "environments": 1, "services": 2, "custom_domains": 1}  # backend + Postgres
    assert len(fake.state.volumes) == 1 and not fake.state.project_tokens and not fake.state.triggers


def test_bad_config_fails_before_any_request(tmp_path: Path, bin_dir: Path) -> None:
    with FakeRailway(token=RAILWAY_TOKEN) as fake:
        secrets = {k: v for k, v in TEST_SECRETS.items() if k != "maya-infra:jwtSecretKey"}
        stack = make_stack(
            tmp_path, "staging", local_overrides(fake.url, ["railway"]), bin_dir=bin_dir, secrets=secrets
        )
        cli = stack.cli("preview", "--non-interactive")
        assert cli.returncode != 0
        assert "pulumi config set --secret maya-infra:jwtSecretKey --stack staging" in cli.stdout + cli.stderr
        assert fake.count() == 0
