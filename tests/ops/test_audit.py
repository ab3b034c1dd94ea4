"""``python -m ops audit``: on states exported by the real engine (fixtures, fake values), on hand-made bad
states, and — on the real engine — on fresh exports, clean and with a planted plaintext credential.

Fixtures: tests/ops/fixtures/audit/state-<stack>.json are `pulumi stack export` (no --show-secrets) of the
real program after `pulumi up --policy-pack policy` against the fake Railway API, Railway only, with the test
secrets of tests/secrets.py. Regenerate them with
``MAYA_REGENERATE_AUDIT_FIXTURES=1 venv/bin/python -m pytest tests/ops/test_audit.py -m engine``.
"""

from __future__ import annotations

import copy
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from config import STACKS
from ops import audit
from ops.__main__ import main
from policy import rules
from tests.components.program import run_program
from tests.secrets import EXTERNAL_DATABASE_URL, TEST_SECRETS

FIXTURES = Path(__file__).parent / "fixtures" / "audit"
REGENERATE = os.environ.get("MAYA_REGENERATE_AUDIT_FIXTURES") == "1"
SIG = {rules.SECRET_SIG_KEY: rules.SECRET_SIG}


def fixture(stack: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"state-{stack}.json").read_text())


def resources(state: dict[str, Any], suffix: str) -> list[dict[str, Any]]:
    found = [r for r in state["deployment"]["resources"] if r["type"].endswith(suffix)]
    assert found, suffix
    return found


def run_audit(
    state: dict[str, Any] | str, tmp_path: Path, *extra: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    path = tmp_path / "state.json"
    path.write_text(state if isinstance(state, str) else json.dumps(state))
    code = main(["audit", str(path), *extra])
    return code, capsys.readouterr().out


def report(state: dict[str, Any]) -> audit.Report:
    return audit.audit(state)


def kinds(r: audit.Report) -> list[tuple[str, str | None]]:
    return [(f.kind, f.policy) for f in r.findings]


def assert_no_secret_value(text: str, *values: str) -> None:
    for value in [*TEST_SECRETS.values(), *values]:
        assert value not in text, "the report shows a secret value"


# ---- clean exports ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("stack", STACKS)
def test_clean_export_reports_no_finding(stack: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = fixture(stack)
    code, markdown = run_audit(state, tmp_path, capsys=capsys)
    assert code == audit.EXIT_CLEAN, markdown
    assert f"# Audit of stack `{stack}` of project `maya-infra`" in markdown
    assert "- Result: **clean** — no finding" in markdown and "## Findings\n\nNone." in markdown
    assert f"- Last update: {state['deployment']['manifest']['time']}" in markdown
    for section in ("## Policy results", "## Secrets (names only)", "## Inventory", "### railway"):
        assert section in markdown
    assert_no_secret_value(markdown)

    code, text = run_audit(state, tmp_path, "--format", "json", capsys=capsys)
    document = json.loads(text)
    assert code == 0 and document["result"] == "clean" and document["findings"] == []
    assert document["stack"] == stack and document["last_update"] == state["deployment"]["manifest"]["time"]
    # the fixtures are Railway-only exports (the real engine here has no GitHub/Checkly resources to create),
    # so production's monitoring and alerting show as advisories, which are not findings
    expected = {"production-monitored", "production-alerting"} if stack == "production" else set()
    assert {p["name"] for p in document["policies"] if p["violations"]} == expected
    railway = document["inventory"]["railway"]
    for kind in ("Project", "Environment", "ServiceInstance", "Variables", "ProjectToken", "CustomDomain"):
        items = railway[rules.RAILWAY + kind]
        assert items and all(i["urn"].startswith(f"urn:pulumi:{stack}::") and i["id"] for i in items)
    settings = railway[rules.RAILWAY_INSTANCE][0]["settings"]
    assert settings["healthcheck_path"] == "/api/health" and settings["pre_deploy_command"] == rules.MIGRATION_COMMAND
    names = {(s["platform"], s["name"]) for s in document["secrets"]}
    assert {("railway", "JWT_SECRET_KEY"), ("railway", "DATABASE_URL"), ("railway", "token")} <= names
    assert ("pulumi", "maya-infra:railwayToken") in names
    assert all(s["stored"] == "encrypted" for s in document["secrets"])
    assert_no_secret_value(text)


@pytest.mark.parametrize("stack", STACKS)
def test_fixtures_are_real_exports_with_fake_values(stack: str) -> None:
    text = (FIXTURES / f"state-{stack}.json").read_text()
    state = json.loads(text)
    assert state["version"] == 3 and state["deployment"]["manifest"]["version"] == "v3.260.0"
    assert state["deployment"]["secrets_providers"]["type"] == "passphrase"
    assert '"ciphertext"' in text and '"plaintext"' not in text
    assert_no_secret_value(text)


def test_empty_state(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = {"version": 3, "deployment": {"manifest": {"time": "2026-01-01T00:00:00Z", "version": "v3.260.0"}}}
    code, markdown = run_audit(state, tmp_path, capsys=capsys)
    assert code == 0 and "# Audit of an empty state" in markdown


# ---- hand-made bad states -----------------------------------------------------------------------------------
def test_plaintext_credential_is_reported_and_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = fixture("staging")
    variables = resources(state, "railway:Variables")[0]
    plain = {"JWT_SECRET_KEY": TEST_SECRETS["maya-infra:jwtSecretKey"], "DATABASE_URL": "${{Postgres.DATABASE_URL}}"}
    variables["inputs"]["variables"] = plain
    variables["outputs"]["variables"] = plain
    code, markdown = run_audit(state, tmp_path, capsys=capsys)
    assert code == audit.EXIT_FINDINGS
    found = report(state)
    paths = sorted(f.path for f in found.findings if f.kind == "plaintext-credential")
    assert paths == ["inputs.variables.JWT_SECRET_KEY", "outputs.variables.JWT_SECRET_KEY"]  # not the reference
    assert ("policy-refusal", "credentials-are-secrets") in kinds(found)
    assert "plaintext-credential" in markdown and "**3 finding(s)**" in markdown
    code, text = run_audit(state, tmp_path, "--format", "json", capsys=capsys)
    assert code == 1 and json.loads(text)["result"] == "findings"
    assert_no_secret_value(markdown + text)


def test_credential_shapes_anywhere_are_reported_and_redacted(tmp_path: Path) -> None:
    state = fixture("production")
    instance = resources(state, "railway:ServiceInstance")[0]
    for section in ("inputs", "outputs"):
        instance[section]["start_command"] = f"uvicorn app.main:app --db {EXTERNAL_DATABASE_URL}"
    provider = resources(state, "pulumi:providers:pulumi-python")[0]
    provider["inputs"]["maya-infra:stripeApiKey"] = TEST_SECRETS["maya-infra:stripeApiKey"]  # set without --secret
    found = report(state)
    whys = {f.path: f.message for f in found.findings if f.kind == "plaintext-credential"}
    assert "URL with a password" in whys["inputs.start_command"] and "outputs.start_command" in whys
    assert "credential name 'maya-infra:stripeApiKey'" in whys["inputs.maya-infra:stripeApiKey"]
    rendered = found.to_markdown() + json.dumps(found.to_json())
    assert "[redacted: looks like a credential]" in rendered
    assert_no_secret_value(rendered, EXTERNAL_DATABASE_URL, "test-db-password-2c7f")


def test_secrets_exported_with_show_secrets_are_reported(tmp_path: Path) -> None:
    state = fixture("staging")
    token = resources(state, "railway:ProjectToken")[0]
    token["outputs"]["token"] = {**SIG, "plaintext": json.dumps("railway-project-token-value-1234")}
    found = report(state)
    assert [f.kind for f in found.findings] == ["secret-in-plaintext-export"]
    assert "--show-secrets" in found.findings[0].message
    assert any(s.stored == "plaintext in this export" for s in found.secrets)
    assert_no_secret_value(found.to_markdown() + json.dumps(found.to_json()), "railway-project-token-value-1234")


def test_pending_operations_and_leftover_deletes_are_reported() -> None:
    state = fixture("production")
    domain = resources(state, "railway:CustomDomain")[0]
    state["deployment"]["pending_operations"] = [{"resource": copy.deepcopy(domain), "type": "creating"}]
    old = copy.deepcopy(resources(state, "railway:ServiceDomain")[0])
    old["delete"] = True
    state["deployment"]["resources"].append(old)
    found = report(state)
    assert sorted(f.kind for f in found.findings) == ["pending-delete", "pending-operation"]
    pending = next(f for f in found.findings if f.kind == "pending-operation")
    assert pending.urn == domain["urn"] and "pending creating" in pending.message
    assert "PENDING DELETE" in found.to_markdown()


@pytest.mark.parametrize(
    ("suffix", "section_key", "value", "policy"),
    [
        ("railway:ServiceInstance", "pre_deploy_command", "echo skip", "railway-health-and-migrations"),
        ("railway:ServiceInstance", "healthcheck_path", None, "railway-health-and-migrations"),
        ("railway:CustomDomain", "domain", "api.mayassistant.com", "stacks-share-nothing"),
        ("railway:Project", "name", "maya-production", "stacks-share-nothing"),
    ],
)
def test_a_resource_a_policy_would_refuse_is_a_finding(suffix: str, section_key: str, value: Any, policy: str) -> None:
    state = fixture("staging")
    target = resources(state, suffix)[0]
    target["inputs"][section_key] = value
    found = report(state)
    assert kinds(found) == [("policy-refusal", policy)]
    assert found.findings[0].urn == target["urn"]
    assert next(p for p in found.policies if p.name == policy).violations == 1


# ---- every platform: a state built from the real program's declarations -------------------------------------
def _encrypt(value: Any) -> Any:
    if rules.is_secret_envelope(value):
        return {**SIG, "ciphertext": "v1:ZmFrZQ==:ZmFrZS1jaXBoZXJ0ZXh0"}
    if isinstance(value, dict):
        return {k: _encrypt(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encrypt(v) for v in value]
    return value


def synthetic_state(stack: str) -> dict[str, Any]:
    """What the full program (GitHub, Vercel, Railway) would leave in state: its declared inputs, secrets
    encrypted, as `pulumi stack export` lays them out. Outputs equal inputs here."""
    run = run_program(stack)
    stack_urn = f"urn:pulumi:{stack}::maya-infra::pulumi:pulumi:Stack::maya-infra-{stack}"
    out: list[dict[str, Any]] = [{"urn": stack_urn, "custom": False, "type": "pulumi:pulumi:Stack", "outputs": {}}]
    for r in run.mocks.resources:
        inputs = _encrypt(r.inputs)
        out.append(
            {
                "urn": run.mocks.urn(r),  # as the engine names it: parents' types included
                "custom": bool(r.custom),
                "protect": run.mocks.options[r.name].protect,  # as the engine records it
                "id": f"{r.name}-id" if r.custom else None,
                "type": r.typ,
                "inputs": inputs,
                "outputs": {
                    **inputs,
                    **({"token": {**SIG, "ciphertext": "v1:x:y"}} if r.typ.endswith("ProjectToken") else {}),
                },
                "modified": "2026-11-27T08:00:00Z",
            }
        )
    manifest = {"time": "2026-11-27T08:00:01Z", "magic": "", "version": "v3.260.0"}
    return {"version": 3, "deployment": {"manifest": manifest, "resources": out}}


@pytest.fixture(scope="module", params=STACKS)
def full_state(request: pytest.FixtureRequest) -> dict[str, Any]:
    return synthetic_state(request.param)


def test_full_program_state_is_clean(full_state: dict[str, Any]) -> None:
    found = report(copy.deepcopy(full_state))
    assert found.findings == [] and found.advisories == []
    platforms = found.to_json()["summary"]["by_platform"]
    assert platforms["vercel"] >= 3 and platforms["railway"] >= 10
    names = {(s.platform, s.name) for s in found.secrets}
    if full_state["deployment"]["resources"][0]["urn"].startswith("urn:pulumi:production"):
        # production's state holds both stacks' GitHub halves (docs/trust.md); staging's none
        assert platforms["github"] > 10
        assert ("github", "RAILWAY_TOKEN") in names and ("github", "VERCEL_TOKEN") in names
    else:
        assert "github" not in platforms


def _production() -> dict[str, Any]:
    return synthetic_state("production")


def test_github_and_vercel_violations_in_a_state() -> None:
    state = _production()
    env = resources(state, "repositoryEnvironment:RepositoryEnvironment")[0]
    env["inputs"]["reviewers"] = []
    files = resources(state, "repositoryFile:RepositoryFile")
    workflow = next(f for f in files if f["inputs"]["file"].startswith(".github/workflows/"))
    workflow["inputs"]["content"] = workflow["inputs"]["content"].replace(
        "permissions: {}", "permissions: write-all", 1
    )
    ruleset = resources(state, "repositoryRuleset:RepositoryRuleset")[0]
    ruleset["inputs"]["enforcement"] = "disabled"
    variable = resources(state, "actionsEnvironmentVariable:ActionsEnvironmentVariable")[0]
    variable["inputs"].update(variableName="STRIPE_API_KEY", value="sk_live_abcdefghijklmnopqrst")
    vercel = resources(state, "projectEnvironmentVariable:ProjectEnvironmentVariable")[0]
    vercel["inputs"].update(key="TWILIO_AUTH_TOKEN", sensitive=False)
    found = report(state)
    refused = sorted({p for k, p in kinds(found) if k == "policy-refusal"})
    assert refused == [
        "branch-protected-with-ci",
        "credentials-are-secrets",
        "production-environment-protected",
        "workflows-least-privilege-pinned",
    ]
    assert any(f.kind == "plaintext-credential" and f.urn == variable["urn"] for f in found.findings)
    assert_no_secret_value(found.to_markdown() + json.dumps(found.to_json()), "sk_live_abcdefghijklmnopqrst")


# ---- command line -------------------------------------------------------------------------------------------
def test_reads_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO((FIXTURES / "state-production.json").read_text()))
    assert main(["audit", "-", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["stack"] == "production"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not JSON"),
        ('{"resources": []}', "no top-level 'deployment'"),
        ('{"version": 9, "deployment": {}}', "unsupported checkpoint version"),
    ],
)
def test_unreadable_input_exits_2(text: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    assert main(["audit", str(path)]) == audit.EXIT_USAGE
    assert message in capsys.readouterr().err
    assert main(["audit", str(tmp_path / "missing.json")]) == audit.EXIT_USAGE


def test_cross_stack_check_is_skipped_without_the_other_stack_file(tmp_path: Path) -> None:
    state = fixture("staging")
    resources(state, "railway:CustomDomain")[0]["inputs"]["domain"] = "api.mayassistant.com"
    found = audit.audit(state, tmp_path)  # no Pulumi.production.yaml there
    assert found.findings == [] and any("cross-stack comparison skipped" in n for n in found.notes)


# ---- real engine: fresh exports -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bin_dir() -> Path:
    from tests.engine.harness import engine_bin

    return engine_bin()


@pytest.fixture
def fake() -> Iterator[Any]:
    from tests.fakes.railway_api import FakeRailway

    with FakeRailway(token=TEST_SECRETS["maya-infra:railwayToken"], deploy_polls_to_finish=1) as api:
        yield api


def _export_after_up(tmp_path: Path, stack: str, fake: Any, bin_dir: Path, **backend: Any) -> tuple[str, str]:
    from tests.engine.harness import local_overrides
    from tests.policy.pack_stack import pack_stack, with_pack

    overrides = local_overrides(fake.url, ["railway"])
    overrides["maya-infra:backend"].update(backend)
    engine_stack = pack_stack(tmp_path, stack, overrides, bin_dir)
    up = with_pack(engine_stack, "up", "--yes")
    assert up.returncode == 0, up.stdout + up.stderr
    exported = engine_stack.cli("stack", "export")  # what an auditor gets: no --show-secrets
    assert exported.returncode == 0, exported.stderr
    engine_stack.destroy_deliberately()
    return exported.stdout, up.stdout


@pytest.mark.engine
@pytest.mark.timeout(600)
@pytest.mark.parametrize("stack", STACKS)
def test_fresh_real_export_audits_clean(
    stack: str, tmp_path: Path, fake: Any, bin_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exported, up_output = _export_after_up(tmp_path, stack, fake, bin_dir)
    assert "maya-infra@v1.0.0" in up_output  # the update ran under the pack
    code, markdown = run_audit(exported, tmp_path, capsys=capsys)
    assert code == 0, markdown
    assert_no_secret_value(exported + markdown)
    if REGENERATE:
        FIXTURES.mkdir(parents=True, exist_ok=True)
        (FIXTURES / f"state-{stack}.json").write_text(exported)


@pytest.mark.engine
@pytest.mark.timeout(600)
def test_real_export_with_a_plaintext_credential_fails(
    tmp_path: Path, fake: Any, bin_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A credential pasted into a plain setting: the program accepts it, the pack only warns (advisory heuristic),
    # the state keeps it in plain text twice (the service setting, and the stack config the provider got).
    command = f"uvicorn app.main:app --host 0.0.0.0 --port $PORT --db {EXTERNAL_DATABASE_URL}"
    exported, up_output = _export_after_up(tmp_path, "staging", fake, bin_dir, startCommand=command)
    assert "[advisory]  no-plaintext-credential-values" in up_output
    code, text = run_audit(exported, tmp_path, "--format", "json", capsys=capsys)
    assert code == audit.EXIT_FINDINGS
    findings = json.loads(text)["findings"]
    where = {(f["urn"].rsplit("::", 1)[-1], f["path"]) for f in findings if f["kind"] == "plaintext-credential"}
    assert ("backend-settings", "inputs.start_command") in where
    assert ("default", "inputs.maya-infra:backend") in where
    assert "test-db-password-2c7f" not in text
