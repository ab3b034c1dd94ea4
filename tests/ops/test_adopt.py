"""``python -m ops adopt``: discovery against the fakes (reads only, ids and verdicts), the stack file it writes,
and the import ids the program then hands Vercel and GitHub (under mocks)."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

import config
from components.railway import operations as gql
from components.railway.client import ClientSettings, RailwayClient
from config import envvars
from config.envvars import Target
from ops import adopt
from ops.adopt_railway import remove_undeclared
from ops.context import OpsError
from ops.vercel import VercelClient
from tests.components.program import run_program
from tests.fakes.github_api import FakeGitHub
from tests.fakes.railway_api import FakeRailway
from tests.fakes.running_maya import UNDECLARED, seed
from tests.fakes.vercel_api import FakeVercel
from workflows import render_app_workflows

TOKEN = "fake-railway-token"


def _declared(cfg: config.StackConfig) -> dict[str, str]:
    return {v.name: f"value-of-{v.name.lower()}" for v in envvars.for_target(cfg, Target.BACKEND)}


def _client(fake: FakeRailway) -> RailwayClient:
    return RailwayClient(TOKEN, ClientSettings(endpoint=fake.url, requests_per_second=500))


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_railway_discovery_reads_only_and_reports_every_object(stack: str) -> None:
    cfg = config.load_from_stack_file(stack)
    # the stack's own workspace (docs/trust.md): discovery looks there only
    with FakeRailway(token=TOKEN, deploy_polls_to_finish=1, workspace_id=str(cfg.railway.workspace_id)) as fake:
        running = seed(fake, cfg, _declared(cfg), settings={"healthcheckTimeout": 120})
        found = adopt.Discovery(stack)
        adopt.discover_railway(_client(fake), cfg, {}, found, _declared(cfg))
        assert fake.count(mutations_only=True) == 0
        requests = fake.count()
    objects = [r for r in found.rows if r.id != "-" and r.verdict != adopt.EXTRA]
    assert requests <= 2 * len(objects), (requests, len(objects))
    by_kind = {r.kind: r for r in found.rows if r.verdict != adopt.EXTRA}
    assert by_kind["project"].id == running.project_id and by_kind["postgres"].id == running.postgres_id
    assert running.volume_id in by_kind["postgres"].name
    settings = by_kind["serviceInstance"]
    assert settings.verdict == adopt.DIFFERS
    assert settings.detail == "healthcheck_timeout: runs 120, config 300 (up updates it in place)"
    # Railway deploys every push by itself until someone turns it off: adoption reads it, up turns it off
    assert by_kind["trigger"].detail == "auto_deploy: runs True, config False (up updates it in place)"
    assert by_kind["variables"].verdict == adopt.MATCHES, by_kind["variables"].detail
    assert by_kind["customDomain"].id == running.custom_domain_id and by_kind["trigger"].id == running.trigger_id
    assert by_kind["projectToken"].verdict == adopt.MISSING and "shown once" in by_kind["projectToken"].detail
    extras = {r.name for r in found.rows if r.verdict == adopt.EXTRA and r.kind == "variable"}
    assert extras == set(UNDECLARED) and {n for _scope, n in found.undeclared} == set(UNDECLARED)
    table = adopt.render(found)
    assert not any(v in table for v in UNDECLARED.values()) and "value-of-" not in table
    assert found.railway_ids["project"] == running.project_id and found.railway_ids["backupSchedule"]
    assert found.names == {}, "found under the config's names: nothing to record"


def test_objects_are_found_by_what_they_run_and_their_names_are_kept() -> None:
    """The issue's running MAYA: project "MAYA", the GitHub service under Railway's default name "maya", the
    database renamed: found without any --id, each difference listed, and the running names recorded."""
    cfg = config.load_from_stack_file("production")
    names = {"project": "MAYA", "service": "maya", "postgres": "maya-db"}
    with FakeRailway(token=TOKEN, deploy_polls_to_finish=1, workspace_id=str(cfg.railway.workspace_id)) as fake:
        running = seed(fake, cfg, _declared(cfg), names=names)
        found = adopt.Discovery("production")
        adopt.discover_railway(_client(fake), cfg, {}, found, _declared(cfg))
    by_kind = {r.kind: r for r in found.rows if r.verdict != adopt.EXTRA}
    assert by_kind["project"].id == running.project_id and by_kind["service"].id == running.service_id
    assert by_kind["postgres"].id == running.postgres_id
    assert found.names == {
        "backend.projectName": "MAYA",
        "backend.serviceName": "maya",
        "backend.databaseServiceName": "maya-db",
    }
    service = by_kind["service"]
    assert service.verdict == adopt.DIFFERS
    assert "name: runs 'maya', config 'backend' (kept: --yes records backend.serviceName: maya" in service.detail
    # the database URL follows the database's running name: the variables still match
    assert by_kind["variables"].verdict == adopt.MATCHES, by_kind["variables"].detail
    assert not [r for r in found.rows if r.verdict == adopt.EXTRA and r.kind == "service"]


def test_two_services_running_the_repository_are_refused_with_the_id_to_choose() -> None:
    cfg = config.load_from_stack_file("staging")
    with FakeRailway(token=TOKEN, deploy_polls_to_finish=1, workspace_id=str(cfg.railway.workspace_id)) as fake:
        running = seed(fake, cfg, _declared(cfg), names={"service": "maya"})
        client = _client(fake)
        twin = fake.dashboard().execute(
            gql.SERVICE_CREATE, {"input": {"projectId": running.project_id, "name": "maya-2"}}
        )
        twin_id = twin["serviceCreate"]["id"]
        instance: dict[str, Any] = {"source": {"repo": f"{cfg.github.owner}/{cfg.github.backend_repository}"}}
        if cfg.github.monorepo:
            instance["rootDirectory"] = cfg.github.backend_path
        client.execute(
            gql.SERVICE_INSTANCE_UPDATE,
            {"serviceId": twin_id, "environmentId": running.environment_id, "input": instance},
        )
        with pytest.raises(OpsError) as refused:
            adopt.discover_railway(client, cfg, {}, adopt.Discovery("staging"), _declared(cfg))
        message = str(refused.value)
        assert running.service_id in message and twin_id in message and "--id service=<id>" in message
        chosen = adopt.Discovery("staging")
        adopt.discover_railway(client, cfg, {"service": running.service_id}, chosen, _declared(cfg))
    assert chosen.railway_ids["service"] == running.service_id


def test_the_running_names_are_recorded_in_the_stack_file(tmp_path: Path) -> None:
    shutil.copy2(config.PROJECT_DIR / "Pulumi.production.yaml", tmp_path / "Pulumi.production.yaml")
    names = {"backend.projectName": "MAYA", "backend.serviceName": "maya", "backend.databaseServiceName": "db"}
    adopt.write_config(tmp_path, "production", {"imports": {}, "railway": {"project": "p-1"}}, names)
    document = yaml.safe_load((tmp_path / "Pulumi.production.yaml").read_text())
    backend = document["config"]["maya-infra:backend"]
    assert (backend["projectName"], backend["serviceName"], backend["databaseServiceName"]) == ("MAYA", "maya", "db")
    cfg = config.parse("production", document["config"], set(), require_secrets=False)
    assert cfg.backend.service_name == "maya" and cfg.backend.database_service_name == "db"


def test_removing_undeclared_variables_deletes_exactly_those_once() -> None:
    cfg = config.load_from_stack_file("staging")
    with FakeRailway(token=TOKEN, deploy_polls_to_finish=1, workspace_id=str(cfg.railway.workspace_id)) as fake:
        running = seed(fake, cfg, _declared(cfg))
        found = adopt.Discovery("staging")
        client = _client(fake)
        adopt.discover_railway(client, cfg, {}, found, _declared(cfg))
        fake.reset_counters()
        removed = remove_undeclared(client, found)
        deletes = [r.variables["input"]["name"] for r in fake.requests if r.operation_name == "VariableDelete"]
        left = fake.state.variables[(running.project_id, running.environment_id, running.service_id)]
    assert sorted(removed) == sorted(deletes) == sorted(UNDECLARED)
    assert fake.count(mutations_only=True) == len(UNDECLARED)
    assert set(left) == set(_declared(cfg)) | {"DATABASE_URL"}


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_vercel_discovery_gives_import_ids_the_program_uses(stack: str) -> None:
    cfg = config.load_from_stack_file(stack)
    f = cfg.frontend
    with FakeVercel(token="vt") as fake:
        fake.start()
        pid = fake.add_project(f.project_name, "prj_running123")
        for domain in f.domains:
            fake.add_domain(pid, domain)
        for domain in f.redirect_domains:
            fake.add_domain(pid, domain, redirect=f.primary_domain)
        fake.add_domain(pid, "old.mayassistant.com")
        env_id = fake.add_env(pid, "NEXT_PUBLIC_API_URL")
        fake.add_env(pid, "LEFTOVER_KEY")
        found = adopt.Discovery(stack)
        with VercelClient("vt", fake.url) as client:
            adopt.discover_vercel(client, cfg, {}, found)
        assert all(r.method == "GET" for r in fake.requests)
    scoped = f"{f.team_id}/{pid}"  # each stack names its own Vercel team (docs/trust.md)
    assert found.imports["frontend-project"] == scoped
    assert found.imports["frontend-env-NEXT_PUBLIC_API_URL"] == f"{scoped}/{env_id}"
    assert found.imports[f"frontend-domain-{f.primary_domain}"] == f"{scoped}/{f.primary_domain}"
    assert {r.name for r in found.rows if r.verdict == adopt.EXTRA} == {"old.mayassistant.com", "LEFTOVER_KEY"}

    block = adopt.adopt_block(found)
    mocks = run_program(stack, {"maya-infra:adopt": block}).mocks
    for name, import_id in found.imports.items():
        assert mocks.options[name].import_id == import_id and mocks.options[name].retain_on_delete, name


def github_world(fake: FakeGitHub, cfg: config.StackConfig) -> dict[str, Any]:
    """The GitHub side of the running MAYA: the environment, its secrets/variables, the ruleset, the files."""
    repo = f"{cfg.github.owner}/{cfg.github.backend_repository}"
    reviewers = [("Team" if r.kind == "team" else "User", r.id) for r in cfg.github.reviewers]
    fake.add_environment(
        repo,
        cfg.environment,
        reviewers=reviewers,
        secrets=["RAILWAY_TOKEN", "SET_BY_HAND_TOKEN"],
        variables={"API_URL": "https://x"},
    )
    ruleset = fake.add_ruleset(repo, f"maya-infra {cfg.stack}: {cfg.github.branch}", cfg.github.branch)
    files = render_app_workflows(cfg)[cfg.github.backend_repository]
    path = sorted(files)[0]
    fake.add_file(repo, path, cfg.github.branch, files[path])
    return {"ruleset": ruleset, "path": path}


@pytest.mark.parametrize(("stack", "prefix"), [("staging", "staging-pipeline"), ("production", "pipeline")])
def test_github_discovery_gives_environment_ruleset_and_file_import_ids(stack: str, prefix: str) -> None:
    """Production's `ops adopt` finds both halves: its own as ``pipeline-…``, staging's as ``staging-pipeline-…``
    (the names production's program declares them under; docs/trust.md)."""
    cfg = config.load_from_stack_file(stack)
    with FakeGitHub(orgs=["mayassistant"]) as fake:
        world = github_world(fake, cfg)
        cfg = cfg.model_copy(update={"github": cfg.github.model_copy(update={"base_url": fake.url})})
        reader = adopt.GitHubReader("gh-token", fake.url)
        found = adopt.Discovery(stack)
        adopt.discover_github(reader, cfg, found, render_app_workflows(cfg), prefix)
        reader.close()
        assert all(r.method == "GET" for r in fake.requests)
    repo = cfg.github.backend_repository
    assert found.imports[f"{prefix}-{repo}-environment"] == f"{repo}:{cfg.environment}"
    assert found.imports[f"{prefix}-{repo}-ruleset"] == f"{repo}:{world['ruleset']}"
    assert f"{prefix}-{repo}-{world['path']}" not in found.imports  # committed over, not imported (ops/adopt.py)
    assert next(r for r in found.rows if r.name == world["path"]).verdict == adopt.MATCHES
    assert found.imports[f"{prefix}-{repo}-secret-RAILWAY_TOKEN"] == f"{repo}:{cfg.environment}:RAILWAY_TOKEN"
    # set by hand, declared nowhere: listed as extra, never imported (so never in the state, never deleted)
    assert f"{prefix}-{repo}-secret-SET_BY_HAND_TOKEN" not in found.imports
    hand_set = next(r for r in found.rows if r.name.endswith(":SET_BY_HAND_TOKEN"))
    assert hand_set.verdict == adopt.EXTRA and "never deleted" in hand_set.detail
    environment = next(r for r in found.rows if r.kind == "environment")
    assert environment.verdict == adopt.MATCHES
    missing_files = [r for r in found.rows if r.kind == "workflow" and r.verdict == adopt.MISSING]
    assert missing_files, "the other generated files are reported as missing (up commits them)"


def test_the_adopt_block_replaces_itself_and_keeps_every_other_line(tmp_path: Path) -> None:
    shutil.copy2(config.PROJECT_DIR / "Pulumi.production.yaml", tmp_path / "Pulumi.production.yaml")
    path = tmp_path / "Pulumi.production.yaml"
    path.write_text(path.read_text() + "  maya-infra:jwtSecretKey:\n    secure: v1:abc\nencryptionsalt: v1:salt\n")
    before = path.read_text()
    found = adopt.Discovery("production", imports={"frontend-project": "prj_1"}, railway_ids={"project": "p-1"})
    adopt.write_config(tmp_path, "production", adopt.adopt_block(found))
    found.railway_ids["environment"] = "e-1"
    adopt.write_config(tmp_path, "production", adopt.adopt_block(found))
    after = path.read_text()
    document = yaml.safe_load(after)
    assert document["encryptionsalt"] == "v1:salt"
    assert document["config"]["maya-infra:adopt"] == {
        "imports": {"frontend-project": "prj_1"},
        "railway": {"project": "p-1", "environment": "e-1"},
    }
    assert document["config"]["maya-infra:jwtSecretKey"] == {"secure": "v1:abc"}
    kept = [line for line in before.splitlines() if line.lstrip().startswith("#")]
    assert kept and all(line in after for line in kept), "comments survive"
    assert after.count("maya-infra:adopt:") == 1
    config.parse(
        "production",
        {k: v for k, v in document["config"].items() if "secure" not in str(v)},
        set(),
        require_secrets=False,
    )


def test_bad_ids_are_one_clear_message() -> None:
    with pytest.raises(OpsError, match="use kind=ID"):
        adopt._given(["projekt=1"])
    assert adopt._given(["project=p-1", "vercel=prj_2"]) == {"project": "p-1", "vercel": "prj_2"}


def test_a_database_in_another_region_is_reported_with_the_fix() -> None:
    cfg = config.load_from_stack_file("staging")
    with FakeRailway(token=TOKEN, deploy_polls_to_finish=1, workspace_id=str(cfg.railway.workspace_id)) as fake:
        seed(fake, cfg, _declared(cfg))
        elsewhere = cfg.model_copy(
            update={"backend": cfg.backend.model_copy(update={"database_region": "europe-west4-drams3a"})}
        )
        found = adopt.Discovery("staging")
        adopt.discover_railway(_client(fake), elsewhere, {}, found)
    postgres = next(r for r in found.rows if r.kind == "postgres")
    assert postgres.verdict == adopt.DIFFERS
    assert "region: runs 'us-west2', config 'europe-west4-drams3a'" in postgres.detail
    assert "up refuses to move the data" in postgres.detail and "backend.databaseRegion" in postgres.detail


def test_the_command_lists_what_it_would_delete_and_deletes_nothing_unasked(tmp_path: Path) -> None:
    """``--remove-undeclared-variables`` names every variable it would delete before anything is written;
    unconfirmed (no --yes, no terminal), nothing is written and nothing deleted."""
    import io

    from ops.console import Streams

    document = yaml.safe_load((config.PROJECT_DIR / "Pulumi.staging.yaml").read_text())
    document["config"]["maya-infra:platforms"] = ["railway"]
    (tmp_path / "Pulumi.staging.yaml").write_text(yaml.safe_dump(document))
    shutil.copy2(config.PROJECT_DIR / "Pulumi.production.yaml", tmp_path)  # every stack's config is read
    before = (tmp_path / "Pulumi.staging.yaml").read_text()
    cfg = config.load_from_stack_file("staging", tmp_path)
    with FakeRailway(token=TOKEN, deploy_polls_to_finish=1, workspace_id=str(cfg.railway.workspace_id)) as fake:
        seed(fake, cfg, _declared(cfg))
        out, err = io.StringIO(), io.StringIO()
        env = {"RAILWAY_API_TOKEN": TOKEN, "MAYA_RAILWAY_API_URL": fake.url, "PATH": "/nonexistent"}
        args = argparse.Namespace(
            stack="staging", id=None, yes=False, remove_undeclared_variables=True, project_dir=str(tmp_path)
        )
        assert adopt.run(args, Streams(env, io.StringIO(), out, err)) == 0, err.getvalue()
        assert fake.count(mutations_only=True) == 0
    text = out.getvalue()
    listed = next(line for line in text.splitlines() if line.startswith("--remove-undeclared-variables"))
    assert all(name in listed for name in UNDECLARED) and "nothing written" in text
    assert not any(value in text for value in UNDECLARED.values())
    assert "variable values not compared" in text  # no pulumi here: the secrets cannot be read, and it says so
    assert (tmp_path / "Pulumi.staging.yaml").read_text() == before


def test_a_service_that_is_down_is_listed_as_differing_never_as_matching() -> None:
    """Its settings may all match, yet the next preview deploys it (Deployment.diff): the table must say so."""
    cfg = config.load_from_stack_file("production")
    with FakeRailway(token=TOKEN, deploy_polls_to_finish=1, workspace_id=str(cfg.railway.workspace_id)) as fake:
        running = seed(fake, cfg, _declared(cfg))
        with fake._lock:  # the live deployment crashed after it went live: nothing serves
            fake.state.deployments[running.deployment_id]["status"] = "CRASHED"
        found = adopt.Discovery("production")
        adopt.discover_railway(_client(fake), cfg, {}, found, _declared(cfg))
    deployment = next(r for r in found.rows if r.kind == "deployment")
    assert deployment.verdict == adopt.DIFFERS, deployment
    assert "the service is down (up deploys it)" in deployment.detail
