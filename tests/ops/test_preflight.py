"""``python -m ops preflight`` against the loopback world (tests/ops/preflight_world.py): each check passing and
failing with its one-line fix, and no write anywhere."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from components.railway import operations as gql
from config.model import BypassActor
from ops import __main__ as cli
from ops.console import Streams
from ops.preflight import run_checks
from ops.preflight.context import Run
from ops.preflight.report import FAIL, PASS, SKIP, WARN, Check
from tests.fakes.railway.schema import find_schema_path
from tests.ops.preflight_world import (
    DEPLOY_TOKEN,
    RAILWAY_TOKEN,
    TEAM,
    World,
    _Accounts,
    _free_port,
    _Mailbox,
    world,
)

APP_ID = 918273


def ready(w: World) -> Any:
    """The stack as an operator would have it after reading the table once: workspace pinned, the bot's
    bypass declared, Checkly configured, a notification rule using the program's event names."""
    cfg = w.cfg.model_copy(
        update={
            "railway": w.cfg.railway.model_copy(update={"workspace_id": w.railway.workspace_id}),
            "github": w.cfg.github.model_copy(
                update={"bypass_actors": (BypassActor(actor_type="Integration", actor_id=APP_ID),)}
            ),
            "declared_secrets": w.cfg.declared_secrets | {"checklyApiKey", "checklyAccountId"},
        }
    )
    c = w.railway.dashboard()  # set up by hand: not maya-infra's own write
    c.execute(
        gql.NOTIFICATION_RULE_CREATE,
        {
            "input": {
                "workspaceId": w.railway.workspace_id,
                "eventTypes": ["Deployment.failed", "Deployment.crashed"],
                "channelConfigs": [{"type": "email", "email": "ops@example.com"}],
            }
        },
    )
    w.railway.reset_counters()  # the set-up's own mutation is not preflight's
    return cfg


def unpinned(w: World) -> Any:
    """The stack without railway.workspaceId (each stack file pins its own account's workspace, docs/trust.md)."""
    return w.cfg.model_copy(update={"railway": w.cfg.railway.model_copy(update={"workspace_id": None})})


def checks(
    w: World, cfg: Any = None, env: dict[str, str] | None = None, only: tuple[str, ...] = (), **options: Any
) -> dict[str, Check]:
    """The checks of ``only`` (families; all when empty), by name; ``skip=("railway.schema",)`` spares the
    introspection where a test is about something else."""
    run = Run.of(cfg or w.cfg, {**w.env, **(env or {})}, **options)
    return {c.name: c for c in run_checks(run, only)}


def verdict(found: dict[str, Check], name: str, expected: str) -> Check:
    check = found[name]
    assert check.verdict == expected, f"{name}: {check}"
    if expected == FAIL:
        assert check.fix and "\n" not in check.fix
    return check


# ---- everything in order ------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_a_ready_stack_passes_every_check_and_nothing_is_written(stack: str) -> None:
    with world(stack) as w:
        found = checks(w, ready(w))
        failures = {name: c for name, c in found.items() if c.verdict == FAIL}
        assert failures == {}
        for name in (
            "railway.token",
            "railway.workspace",
            "railway.rate-limit",
            "railway.schema",
            "railway.project",
            "railway.template",
            "railway.notifications",
            "github.token",
            "github.repo mayassistant/maya",
            "github.bypass",
            "vercel.token",
            "vercel.project",
            "vercel.deploy-token",
            "checkly",
            "smtp",
            "state.backend",
            "state.lock",
            *(f"dns {d}" for d in (*w.cfg.frontend.domains, *w.cfg.frontend.redirect_domains)),
        ):
            verdict(found, name, PASS)
        assert found[f"dns {w.cfg.backend.custom_domain}"].verdict == WARN  # Railway names it at create
        assert "account token" in found["railway.token"].seen
        assert "77/77" in found["railway.schema"].seen or "documents valid" in found["railway.schema"].seen
        assert w.mutations() == {"railway": 0, "github": 0, "vercel": 0, "checkly": 0, "smtp messages": 0}
        assert w.railway.invalid_documents == [] and w.github.problems == []


# ---- Railway ------------------------------------------------------------------------------------------------


def test_a_token_without_workspace_access_fails_with_the_token_page() -> None:
    with world("staging") as w:
        w.railway.token_workspaces = []
        check = verdict(checks(w, only=("railway",), skip=("railway.schema",)), "railway.workspace", FAIL)
        assert "sees no workspace" in check.seen and "railway.com/account/tokens" in check.fix


def test_a_workspace_the_token_cannot_reach_fails_naming_it() -> None:
    with world("staging") as w:
        cfg = ready(w)
        w.railway.token_workspaces = [{"id": "ws-other", "name": "Someone else"}]
        check = verdict(checks(w, cfg, only=("railway",), skip=("railway.schema",)), "railway.workspace", FAIL)
        assert f"no access to railway.workspaceId {w.railway.workspace_id}" in check.seen and "ws-other" in check.seen


def test_several_workspaces_without_a_pinned_one_fail_and_one_is_a_warning() -> None:
    with world("staging") as w:
        w.railway.token_workspaces = [{"id": "ws-a", "name": "A"}, {"id": "ws-b", "name": "B"}]
        check = verdict(checks(w, unpinned(w), only=("railway",), skip=("railway.schema",)), "railway.workspace", FAIL)
        assert "railway.workspaceId" in check.fix
    with world("staging") as w:
        check = verdict(checks(w, unpinned(w), only=("railway",), skip=("railway.schema",)), "railway.workspace", WARN)
        assert w.railway.workspace_id in check.fix


def test_the_token_kind_is_told_apart_and_a_refused_token_fails() -> None:
    with world("staging") as w:
        w.railway.token_kind = "workspace"
        assert verdict(checks(w, only=("railway",), skip=("railway.schema",)), "railway.token", PASS).seen.startswith(
            "workspace token"
        )
    with world("staging") as w:
        found = checks(
            w,
            env={"MAYA_INFRA_RAILWAY_TOKEN": "a-project-token-sent-as-bearer"},
            only=("railway",),
            skip=("railway.schema",),
        )
        check = verdict(found, "railway.token", FAIL)
        assert "railwayToken" in check.fix
        assert not any(name.startswith("railway.") and name != "railway.token" for name in found)


def test_an_account_token_that_may_not_introspect_itself_passes_through_me() -> None:
    with world("staging") as w:
        w.railway.api_token_introspection = False
        found = checks(w, unpinned(w), only=("railway",), skip=("railway.schema",))
        assert verdict(found, "railway.token", PASS).seen.startswith("account token of fake@example.invalid")
        assert verdict(found, "railway.workspace", WARN)
        w.railway.token_kind = "workspace"
        assert "Not Authorized" in verdict(checks(w, only=("railway",)), "railway.token", FAIL).seen


def test_a_live_schema_that_dropped_a_field_a_document_uses_fails_per_document(tmp_path: Path) -> None:
    """The fake serves a modified copy of the vendored schema through its introspection."""
    sdl = find_schema_path().read_text()
    dropped = sdl.replace("  canRollback: Boolean!\n", "", 1)
    assert dropped != sdl
    modified = tmp_path / "schema.graphql"
    modified.write_text(dropped)
    with world("staging", schema_path=modified) as w:
        found = checks(w, only=("railway",))
        check = verdict(found, "railway.schema", FAIL)
        assert "Deployment.canRollback was removed" in check.seen
        refused = {n for n, c in found.items() if n.startswith("railway.document ") and c.verdict == FAIL}
        assert "railway.document components/railway/operations.py: Deployment" in refused
        assert "railway.document workflows/scripts/railway_rollback.py: Deployments" in refused
        assert all("canRollback" in found[n].seen for n in refused)
        assert w.mutations()["railway"] == 0


def test_few_requests_left_and_no_rate_headers_are_warnings() -> None:
    with world("staging", request_budget=None) as w:
        assert (
            "no X-RateLimit"
            in verdict(checks(w, only=("railway",), skip=("railway.schema",)), "railway.rate-limit", WARN).seen
        )
    with world("staging", request_budget=60) as w:
        check = verdict(checks(w, only=("railway",), skip=("railway.schema",)), "railway.rate-limit", WARN)
        assert "remaining=" in check.seen and "reset" in check.fix


def test_a_region_railway_does_not_have_fails_the_template_check() -> None:
    with world("staging") as w:
        cfg = w.cfg.model_copy(update={"backend": w.cfg.backend.model_copy(update={"database_region": "eu-north9"})})
        check = verdict(checks(w, cfg, only=("railway",), skip=("railway.schema",)), "railway.template", FAIL)
        assert "backend.databaseRegion eu-north9 is not one of Railway's regions" in check.seen


def test_a_template_the_program_cannot_use_fails_naming_each_difference(monkeypatch: pytest.MonkeyPatch) -> None:
    """The backend's DATABASE_URL is ``${{Postgres.DATABASE_URL}}`` and the data lives on the service's volume:
    a template renamed, without that variable or without a volume fails before the first ``up``."""
    with world("staging") as w:
        template = w.railway._postgres_template()
        config = template["serializedConfig"]
        config = json.loads(config) if isinstance(config, str) else copy.deepcopy(config)
        (service,) = config["services"].values()
        service["name"] = "PostgreSQL"
        del service["variables"]["DATABASE_URL"], service["volumeMounts"]
        monkeypatch.setattr(w.railway, "_postgres_template", lambda: {**template, "serializedConfig": config})
        seen = verdict(checks(w, only=("railway",), skip=("railway.schema",)), "railway.template", FAIL).seen
        assert "its service is named 'PostgreSQL'" in seen
        assert "exposes no DATABASE_URL variable" in seen and "mounts no volume" in seen


def test_an_answer_of_an_unexpected_shape_fails_its_own_row_and_the_others_still_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with world("staging") as w:
        template = w.railway._postgres_template()
        monkeypatch.setattr(w.railway, "_postgres_template", lambda: {**template, "serializedConfig": "not json"})
        found = checks(w, only=("railway",), skip=("railway.schema",))
        assert "unexpected shape (JSONDecodeError" in verdict(found, "railway.template", FAIL).seen
        assert verdict(found, "railway.notifications", WARN)


def test_notification_events_named_otherwise_by_the_workspace_fail() -> None:
    with world("staging") as w:
        c = w.railway.dashboard()  # set up by hand: not maya-infra's own write
        c.execute(
            gql.NOTIFICATION_RULE_CREATE,
            {
                "input": {
                    "workspaceId": w.railway.workspace_id,
                    "eventTypes": ["DEPLOYMENT_FAILED"],
                    "channelConfigs": [{"type": "email", "email": "ops@example.com"}],
                }
            },
        )
        check = verdict(checks(w, only=("railway",), skip=("railway.schema",)), "railway.notifications", FAIL)
        assert "DEPLOYMENT_FAILED" in check.seen and "DEPLOYMENT_FAILURE_EVENTS" in check.fix


@pytest.mark.parametrize(
    ("documented", "expected"),
    [("Deployment.failed, Deployment.crashed, Deployment.succeeded", PASS), ("Deploy.failed, Deploy.crashed", FAIL)],
)
def test_event_names_the_live_schema_documents_decide(tmp_path: Path, documented: str, expected: str) -> None:
    sdl = find_schema_path().read_text()
    field = "  ephemeralEnvironments: Boolean\n  eventTypes: [String!]!\n  projectId: String\n"
    assert sdl.count(field) == 1
    described = sdl.replace(field, field.replace("  eventTypes", f'  """One of: {documented}."""\n  eventTypes'))
    (tmp_path / "schema.graphql").write_text(described)
    with world("staging", schema_path=tmp_path / "schema.graphql") as w:
        check = verdict(checks(w, only=("railway",)), "railway.notifications", expected)
        assert ("documented event types" in check.seen) if expected == PASS else ("Deploy.failed" in check.seen)


def test_a_missing_project_is_a_warning_that_points_at_adoption() -> None:
    with world("staging", seed_project=False) as w:
        check = verdict(checks(w, only=("railway",), skip=("railway.schema",)), "railway.project", WARN)
        assert "ops adopt" in check.fix


# ---- GitHub -------------------------------------------------------------------------------------------------


def test_a_classic_token_without_the_workflow_scope_fails() -> None:
    with world("staging") as w:
        w.github.scopes = ("repo",)
        check = verdict(checks(w, ready(w), only=("github",)), "github.repo mayassistant/maya", FAIL)
        assert "no `workflow` scope (Workflows: write)" in check.seen
        assert "workflow" in check.fix and "githubToken" in check.fix


def test_a_classic_token_of_a_non_admin_fails() -> None:
    with world("staging") as w:
        w.github.admin = False
        check = verdict(checks(w, ready(w), only=("github",)), "github.repo mayassistant/maya", FAIL)
        assert "not an admin" in check.seen


def test_a_fine_grained_token_missing_a_read_permission_fails_naming_it() -> None:
    with world("staging") as w:
        w.github.scopes = None
        w.github.withheld = {"secrets"}
        found = checks(w, ready(w), env={"MAYA_INFRA_GITHUB_TOKEN": "github_pat_fake"}, only=("github",))
        assert verdict(found, "github.token", PASS).seen.startswith("fine-grained PAT")
        check = verdict(found, "github.repo mayassistant/maya", FAIL)
        assert "secrets=read" in check.seen


def test_an_app_installation_token_is_reachable_but_its_write_permissions_are_a_warning() -> None:
    with world("staging") as w:
        w.github.scopes = None
        w.github.installation = True
        found = checks(w, ready(w), env={"MAYA_INFRA_GITHUB_TOKEN": "ghs_fakeinstallation"}, only=("github",))
        assert "installation reaches 1 repositories" in verdict(found, "github.token", PASS).seen
        check = verdict(found, "github.repo mayassistant/maya", WARN)
        assert "Workflows: write are not proven" in check.seen


def test_committing_workflows_without_a_bypass_fails_and_a_foreign_ruleset_is_named() -> None:
    with world("staging") as w:
        assert "bypassActors" in verdict(checks(w, only=("github",)), "github.bypass", FAIL).fix
        w.github.add_ruleset("mayassistant/maya", "hand-made review rule", "develop", rules=({"type": "pull_request"},))
        check = verdict(checks(w, ready(w), only=("github",)), "github.bypass", FAIL)
        assert "hand-made review rule" in check.seen


def test_a_refused_github_token_fails() -> None:
    with world("staging") as w:
        w.github.token = "ghp_the_real_one"
        assert "401" in verdict(checks(w, only=("github",)), "github.token", FAIL).seen


# ---- Vercel -------------------------------------------------------------------------------------------------


def test_a_vercel_token_of_another_team_fails() -> None:
    with world("staging") as w:
        w.vercel.add_token("other-team-token", teams=("team_someone_else",))
        check = verdict(
            checks(w, env={"MAYA_INFRA_VERCEL_TOKEN": "other-team-token"}, only=("vercel",)), "vercel.token", FAIL
        )
        assert TEAM in check.seen and "vercelToken" in check.fix


def test_a_deploy_token_that_reaches_the_team_or_equals_the_main_token_fails() -> None:
    with world("staging") as w:
        w.vercel.add_token("team-wide-deploy-token", teams=(TEAM,))
        found = checks(w, env={"MAYA_INFRA_VERCEL_DEPLOY_TOKEN": "team-wide-deploy-token"}, only=("vercel",))
        check = verdict(found, "vercel.deploy-token", FAIL)
        assert "not project-scoped" in check.seen and "vercelDeployToken" in check.fix
        same = checks(w, env={"MAYA_INFRA_VERCEL_DEPLOY_TOKEN": w.env["MAYA_INFRA_VERCEL_TOKEN"]}, only=("vercel",))
        assert "equals vercelToken" in verdict(same, "vercel.deploy-token", FAIL).seen
        assert verdict(checks(w, only=("vercel",)), "vercel.deploy-token", PASS)
        assert DEPLOY_TOKEN not in json.dumps([c.__dict__ for c in found.values()])


# ---- Checkly and SMTP ---------------------------------------------------------------------------------------


def test_a_wrong_checkly_key_fails_and_an_unused_checkly_is_skipped() -> None:
    with world("staging") as w:
        cfg = ready(w)
        check = verdict(checks(w, cfg, env={"MAYA_INFRA_CHECKLY_API_KEY": "wrong"}, only=("checkly",)), "checkly", FAIL)
        assert "401" in check.seen and "checklyApiKey" in check.fix
        assert verdict(checks(w, only=("checkly",)), "checkly", SKIP)


def test_an_smtp_server_refusing_auth_fails_and_no_mail_is_sent() -> None:
    with world("staging") as w:
        w.smtp_accounts.refuse = True
        check = verdict(checks(w, only=("smtp",)), "smtp", FAIL)
        assert "refused AUTH" in check.seen and "535" in check.seen and "smtpUrl" in check.fix
        assert w.smtp_accounts.attempts >= 1 and w.mailbox.messages == []


def test_an_smtp_url_without_tls_or_with_a_wrong_port_fails() -> None:
    with world("staging") as w:
        bad = {"MAYA_INFRA_SMTP_URL": "smtp://u:p@127.0.0.1:1"}
        assert "connect failed" in verdict(checks(w, env=bad, only=("smtp",)), "smtp", FAIL).seen
        untrusted = {"MAYA_SMTP_CA_FILE": ""}
        assert "TLS failed" in verdict(checks(w, env=untrusted, only=("smtp",)), "smtp", FAIL).seen


# ---- state backend (file://; PostgreSQL in test_preflight_state.py) -------------------------------------------


def test_a_locked_file_backend_fails_with_pulumi_cancel(tmp_path: Path) -> None:
    with world("staging") as w:
        root = Path(w.env["PULUMI_BACKEND_URL"][len("file://") :])
        (root / ".pulumi" / "stacks" / "maya-infra").mkdir(parents=True)
        (root / ".pulumi" / "stacks" / "maya-infra" / "staging.json").write_text("{}")
        assert verdict(checks(w, only=("state",)), "state.stack", PASS)
        assert verdict(checks(w, only=("state",)), "state.lock", PASS)
        lock = root / ".pulumi" / "locks" / "organization" / "maya-infra" / "staging"
        lock.mkdir(parents=True)
        (lock / "0b7c.json").write_text(
            json.dumps({"pid": 4242, "username": "ci", "hostname": "runner-7", "timestamp": "2026-12-07T02:00:00Z"})
        )
        check = verdict(checks(w, only=("state",)), "state.lock", FAIL)
        assert "ci@runner-7 (pid 4242)" in check.seen and "pulumi cancel --stack staging" in check.fix


def test_an_unknown_or_missing_backend_says_so() -> None:
    with world("staging") as w:
        assert verdict(
            checks(w, env={"PULUMI_BACKEND_URL": "file:///nonexistent/x"}, only=("state",)), "state.backend", FAIL
        )
        assert verdict(checks(w, env={"PULUMI_BACKEND_URL": "s3://bucket/x"}, only=("state",)), "state.backend", SKIP)
        assert verdict(checks(w, env={"PULUMI_BACKEND_URL": ""}, only=("state",)), "state.backend", WARN)


# ---- DNS ----------------------------------------------------------------------------------------------------


def test_dns_says_what_a_domain_points_at_and_what_the_platform_asks_for() -> None:
    with world("staging") as w:
        w.dns.records["staging.mayassistant.com"] = [("CNAME", "old-host.example.net"), ("A", "203.0.113.9")]
        check = verdict(checks(w, only=("dns",)), "dns staging.mayassistant.com", WARN)
        assert "today: CNAME old-host.example.net / A 203.0.113.9" in check.seen
        assert "Vercel asks for CNAME cname.vercel-dns.com" in check.seen
        del w.dns.records["staging.mayassistant.com"]
        assert "NXDOMAIN" in verdict(checks(w, only=("dns",)), "dns staging.mayassistant.com", WARN).seen
        assert any(q.endswith("staging.mayassistant.com") for q in w.dns.queries)


def test_the_railway_domain_is_compared_with_railways_required_record() -> None:
    with world("staging", custom_domain=True) as w:
        found = checks(w, only=("railway", "dns"), skip=("railway.schema",))
        check = verdict(found, "dns api.staging.mayassistant.com", WARN)
        assert "Railway asks for CNAME" in check.seen
        required = check.seen.split("Railway asks for CNAME ")[1]
        w.dns.records["api.staging.mayassistant.com"] = [("CNAME", required)]
        assert verdict(
            checks(w, only=("railway", "dns"), skip=("railway.schema",)), "dns api.staging.mayassistant.com", PASS
        )


# ---- the command line ---------------------------------------------------------------------------------------


def _cli(w: World, *argv: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    args = cli.build_parser().parse_args(["preflight", *argv])
    code = int(args.handler(args, Streams(env={**w.env, **(env or {})}, out=out, err=err)))
    return code, out.getvalue(), err.getvalue()


def test_the_command_prints_one_table_writes_the_summary_and_exits_0_1_2(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    with world("staging", team=False) as w:
        env = {"GITHUB_STEP_SUMMARY": str(summary)}
        code, out, err = _cli(w, "--stack", "staging", "--only", "railway", "--only", "vercel", env=env)
        assert (code, err) == (0, "")
        assert out.splitlines()[0].split() == ["check", "verdict", "seen"]
        assert "requests: railway" in out and "(all reads)" in out
        assert "| `railway.schema` | ✅ pass |" in summary.read_text()
        code, out, _ = _cli(w, "--stack", "staging", "--only", "github")
        assert code == 1 and "FAIL" in out and "fix: pulumi config set --path" in out
        for argv in (
            ["--stack", "qa"],
            ["--stack", "staging", "--only", "everything"],
            ["--stack", "staging", "--timeout", "0"],
        ):
            code, out, err = _cli(w, *argv)
            assert code == 2 and out == "" and err.startswith("ops preflight: ") and "Traceback" not in err


def test_the_schema_only_run_writes_the_drift_issue_body(tmp_path: Path) -> None:
    dropped = find_schema_path().read_text().replace("  canRollback: Boolean!\n", "", 1)
    (tmp_path / "schema.graphql").write_text(dropped)
    body = tmp_path / "issue.md"
    with world("staging", team=False, schema_path=tmp_path / "schema.graphql") as w:
        code, out, _ = _cli(w, "--stack", "staging", "--only", "railway.schema", "--schema-issue", str(body))
        assert code == 1
        assert {line.split()[0] for line in out.splitlines()[2:] if line and not line.startswith(" ")} >= {
            "railway.token",
            "railway.schema",
        }
        assert "railway.template" not in out
        text = body.read_text()
        assert "components/railway/operations.py: Deployment" in text and "canRollback" in text
        counts = w.railway.counts()
        assert set(counts) == {"PreflightApiToken", "PreflightMe", "IntrospectionQuery"}


def test_an_smtp_server_without_starttls_fails_before_any_credential_is_sent() -> None:
    accounts = _Accounts()
    plain = Controller(
        _Mailbox(), hostname="127.0.0.1", port=_free_port(), authenticator=accounts, auth_require_tls=False
    )
    plain.start()
    try:
        with world("staging") as w:
            url = {"MAYA_INFRA_SMTP_URL": f"smtp://user:password@127.0.0.1:{plain.port}"}
            check = verdict(checks(w, env=url, only=("smtp",)), "smtp", FAIL)
            assert "offers no STARTTLS" in check.seen and "smtps://" in check.fix
        assert accounts.attempts == 0
    finally:
        plain.stop()


def _fake_pulumi(folder: Path, body: str) -> dict[str, str]:
    """A ``pulumi`` on PATH that answers ``pulumi config --json --show-secrets`` (and records its arguments)."""
    script = folder / "pulumi"
    script.write_text(f'#!/bin/sh\necho "$@" >> "{folder}/calls"\n{body}\n')
    script.chmod(0o755)
    return {"PATH": f"{folder}:/usr/bin:/bin"}


def test_credentials_come_from_the_stacks_secrets_in_one_pulumi_call(tmp_path: Path) -> None:
    with world("staging") as w:
        env = {k: v for k, v in w.env.items() if not k.startswith("MAYA_INFRA_")}
        secrets = {"maya-infra:railwayToken": {"value": RAILWAY_TOKEN, "secret": True}, "aws:region": {"value": "x"}}
        env |= _fake_pulumi(tmp_path, f"echo '{json.dumps(secrets)}'")
        run = Run.of(w.cfg, env)
        found = {c.name: c for c in run_checks(run, ("railway", "vercel"))}
        assert found["railway.token"].verdict == PASS
        vercel = verdict(found, "vercel.token", FAIL)
        assert "pulumi config set --secret maya-infra:vercelToken --stack staging" in vercel.fix
        assert (tmp_path / "calls").read_text() == "config --json --show-secrets --stack staging\n"


def test_an_unreadable_stack_fails_each_platform_with_pulumis_words(tmp_path: Path) -> None:
    with world("staging") as w:
        env = {k: v for k, v in w.env.items() if not k.startswith("MAYA_INFRA_")}
        env |= _fake_pulumi(tmp_path, 'echo "error: incorrect passphrase" >&2; exit 255')
        found = {c.name: c for c in run_checks(Run.of(w.cfg, env), ("railway", "github"))}
        for name in ("railway.token", "github.token"):
            check = verdict(found, name, FAIL)
            assert "incorrect passphrase" in check.fix and "MAYA_INFRA_" in check.fix
        assert (tmp_path / "calls").read_text().count("config") == 1


def test_an_unreachable_resolver_is_a_warning_about_the_resolver() -> None:
    with world("staging") as w:
        found = checks(w, env={"MAYA_DNS_SERVER": "127.0.0.1:9"}, only=("dns",), timeout=0.5)
        check = verdict(found, "dns staging.mayassistant.com", WARN)
        assert "could not be resolved" in check.seen and "--dns-server" in check.fix
