"""``audit``: an auditor's report of a stack, from its exported state alone.

    pulumi stack export --stack production --file state.json       # never --show-secrets
    python -m ops audit state.json                                  # Markdown on stdout
    pulumi stack export --stack production | python -m ops audit - --format json
    PGPASSWORD=… python -m ops audit --postgres postgres://auditor@db/pulumi --stack production

The report has: the stack's last update time; every finding; the result of each policy of the policy
pack (policy/rules/, the same functions ``pulumi preview --policy-pack policy`` runs); the secrets by
name (never by value); the inventory by platform and type (URNs, ids, key settings).

Findings: a credential-looking value stored in plain text anywhere in the resources (by name or shape,
see policy/credentials.py); secret values exported in plain text (``--show-secrets``); a resource a
mandatory policy would refuse; pending operations left by an interrupted update; resources left marked
for deletion. Advisory policy results are listed but are not findings.

Exit status: 0 no finding; 1 at least one finding; 2 the input is not readable as a stack export.
"""

from __future__ import annotations

import argparse
import contextlib
import json
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from config import NAMESPACE, PROJECT_DIR, ConfigError, load_from_stack_file
from ops import state_table
from ops.cli import command
from ops.console import Streams
from policy import rules
from policy.credentials import plaintext_credentials

EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2

#: Policies the audit runs on a state. The advisory value heuristic is replaced by the scan of the whole
#: state (where secrets are visible as envelopes), whose hits are findings.
AUDIT_POLICIES = tuple(p for p in rules.POLICIES if p.name != "no-plaintext-credential-values")

#: The settings shown for each type in the inventory (from outputs, else inputs). Other types show their
#: plain scalar inputs.
KEY_SETTINGS: Mapping[str, tuple[str, ...]] = {
    rules.RAILWAY_PROJECT: ("name", "workspace_id", "default_environment_name"),
    rules.RAILWAY_ENVIRONMENT: ("name",),
    rules.RAILWAY + "Service": ("name",),
    rules.RAILWAY_INSTANCE: (
        "source_repo",
        "root_directory",
        "start_command",
        "pre_deploy_command",
        "healthcheck_path",
        "healthcheck_timeout",
        "num_replicas",
        "region",
        "restart_policy_type",
    ),
    rules.RAILWAY_VARIABLES: (),
    rules.RAILWAY + "ServiceDomain": ("domain", "target_port"),
    rules.RAILWAY_CUSTOM_DOMAIN: ("domain", "target_port", "verified", "certificate_status"),
    rules.RAILWAY_TRIGGER: ("repository", "branch", "check_suites", "root_directory"),
    rules.RAILWAY_TOKEN: ("name",),
    rules.RAILWAY + "Postgres": ("service_name", "volume_id"),
    rules.RAILWAY_DEPLOYMENT: ("deployment_id", "status"),
    rules.VERCEL_PROJECT: ("name", "framework", "rootDirectory", "nodeVersion", "previewDeploymentsDisabled"),
    rules.VERCEL_DOMAIN: ("domain", "redirect", "redirectStatusCode"),
    rules.VERCEL_ENV: ("key", "targets", "sensitive"),
    rules.GH_ENVIRONMENT: ("repository", "environment", "reviewers", "preventSelfReview", "canAdminsBypass"),
    rules.GH_BRANCH_POLICY: ("repository", "environment", "branchPattern"),
    rules.GH_ENV_SECRET: ("repository", "environment", "secretName"),
    rules.GH_ENV_VARIABLE: ("repository", "environment", "variableName"),
    rules.GH_RULESET: ("repository", "name", "enforcement", "target"),
    rules.GH_BRANCH_PROTECTION: ("repositoryId", "pattern", "enforceAdmins"),
    rules.GH_FILE: ("repository", "branch", "file"),
    "pulumi:pulumi:Stack": (),
}
_PLATFORM_ORDER = ("railway", "vercel", "github", "components", "pulumi")


class AuditInputError(Exception):
    """The input is not the JSON of ``pulumi stack export``."""


@dataclass
class Finding:
    kind: str
    message: str
    urn: str | None = None
    policy: str | None = None
    path: str | None = None


@dataclass
class SecretEntry:
    platform: str
    name: str
    urn: str
    property: str
    stored: str = "encrypted"


@dataclass
class Item:
    platform: str
    type: str
    name: str
    urn: str
    id: str | None
    settings: dict[str, Any]
    secret_properties: list[str]
    pending_delete: bool = False


@dataclass
class PolicyResult:
    name: str
    level: str
    kind: str
    description: str
    violations: int


@dataclass
class Report:
    stack: str | None
    project: str | None
    last_update: str | None
    latest_resource_change: str | None
    pulumi_version: str | None
    secrets_provider: str | None
    items: list[Item] = field(default_factory=list)
    secrets: list[SecretEntry] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    advisories: list[rules.Violation] = field(default_factory=list)
    policies: list[PolicyResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.findings

    def inventory(self) -> dict[str, dict[str, list[Item]]]:
        grouped: dict[str, dict[str, list[Item]]] = {}
        for item in sorted(self.items, key=lambda i: (_platform_rank(i.platform), i.type, i.name)):
            grouped.setdefault(item.platform, {}).setdefault(item.type, []).append(item)
        return grouped

    def to_json(self) -> dict[str, Any]:
        counts = Counter(item.platform for item in self.items)
        return {
            "stack": self.stack,
            "project": self.project,
            "last_update": self.last_update,
            "latest_resource_change": self.latest_resource_change,
            "pulumi_version": self.pulumi_version,
            "secrets_provider": self.secrets_provider,
            "result": "clean" if self.clean else "findings",
            "summary": {
                "resources": len(self.items),
                "by_platform": {p: counts[p] for p in sorted(counts, key=_platform_rank)},
                "secrets": len(self.secrets),
                "findings": len(self.findings),
                "advisories": len(self.advisories),
            },
            "findings": [asdict(f) for f in self.findings],
            "policies": [asdict(p) for p in self.policies],
            "advisories": [asdict(a) for a in self.advisories],
            "secrets": [asdict(s) for s in self.secrets],
            "inventory": {
                platform: {typ: [asdict(i) for i in items] for typ, items in types.items()}
                for platform, types in self.inventory().items()
            },
            "notes": self.notes,
        }

    def to_markdown(self) -> str:
        return "\n".join(_markdown(self)) + "\n"


# ---- reading the state ----------------------------------------------------------------------------------------
def load_state(text: str) -> Mapping[str, Any]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AuditInputError(f"not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(document, Mapping) or not isinstance(document.get("deployment"), Mapping):
        raise AuditInputError("not a `pulumi stack export` document (no top-level 'deployment')")
    if document.get("version") not in (1, 2, 3):
        raise AuditInputError(f"unsupported checkpoint version {document.get('version')!r} (expected 3)")
    resources = document["deployment"].get("resources") or []
    if not isinstance(resources, list):
        raise AuditInputError("'deployment.resources' is not a list")
    return document


def platform_of(type_: str) -> str:
    if type_.startswith(rules.RAILWAY):
        return "railway"
    if type_.startswith("vercel:") or type_ == "pulumi:providers:vercel":
        return "vercel"
    if type_.startswith("github:") or type_ == "pulumi:providers:github":
        return "github"
    if type_.startswith("pulumi:"):
        return "pulumi"
    return "components"


def _platform_rank(platform: str) -> int:
    return _PLATFORM_ORDER.index(platform) if platform in _PLATFORM_ORDER else len(_PLATFORM_ORDER)


def _name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def _strip_secrets(value: Any) -> tuple[Any, int]:
    """(value with every secret envelope replaced by None, number of envelopes holding plaintext)."""
    if rules.is_secret_envelope(value):
        return None, 1 if "plaintext" in value else 0
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        exposed = 0
        for key, item in value.items():
            out[key], n = _strip_secrets(item)
            exposed += n
        return out, exposed
    if isinstance(value, list):
        stripped = [_strip_secrets(item) for item in value]
        return [s for s, _ in stripped], sum(n for _, n in stripped)
    return value, 0


def _secret_keys(section: Mapping[str, Any] | None) -> list[str]:
    return sorted(rules.secret_keys(section or {}) - {"__provider"})


def _scan(urn: str, where: str, section: Any) -> Iterator[Finding]:
    stripped, exposed = _strip_secrets(section)
    if exposed:
        yield Finding(
            "secret-in-plaintext-export",
            f"{exposed} secret value(s) of {_name(urn)} are in plain text in this file: it was exported with "
            "--show-secrets; delete it and export again without that flag",
            urn,
            path=where,
        )
    for path, why in plaintext_credentials(stripped, where):
        yield Finding("plaintext-credential", f"{path} holds {why}", urn, path=path)


def _display(value: Any) -> Any:
    """A setting as shown in the report: secrets as "[secret]", credential-looking strings redacted."""
    if rules.is_secret_envelope(value):
        return "[secret]"
    if isinstance(value, str) and any(True for _ in plaintext_credentials({"value": value})):
        return "[redacted: looks like a credential]"
    if isinstance(value, Mapping):
        return {k: _display(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_display(v) for v in value]
    return value


def _settings(resource: Mapping[str, Any]) -> dict[str, Any]:
    type_ = str(resource.get("type"))
    merged = {**(resource.get("inputs") or {}), **(resource.get("outputs") or {})}
    keys = KEY_SETTINGS.get(type_)
    if keys is None:
        keys = tuple(
            k
            for k, v in sorted((resource.get("inputs") or {}).items())
            if not k.startswith("__") and not rules.is_secret_envelope(v) and isinstance(v, str | int | float | bool)
        )[:8]
    return {k: _display(merged[k]) for k in keys if k in merged and merged[k] is not None}


def _stack_config(state_resources: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The stack's config as the engine handed it to the Python provider (non-secret keys only)."""
    for r in state_resources:
        inputs = r.get("inputs") or {}
        if str(r.get("type", "")).startswith("pulumi:providers:") and any(
            k.startswith(NAMESPACE + ":") for k in inputs
        ):
            out = {}
            for key, value in inputs.items():
                if isinstance(value, str) and value[:1] in "[{":
                    with contextlib.suppress(json.JSONDecodeError):
                        value = json.loads(value)
                out[key] = value
            return out
    return {}


def _facts(
    stack: str | None, state_resources: Sequence[Mapping[str, Any]], project_dir: Path, notes: list[str]
) -> rules.StackFacts:
    if stack is None:
        return rules.StackFacts(stack="")
    github = _stack_config(state_resources).get(f"{NAMESPACE}:github")
    branch: str | None = None
    checks: tuple[str, ...] = ()
    if isinstance(github, Mapping):
        branch = github.get("branch") if isinstance(github.get("branch"), str) else None
        checks = tuple(c for c in github.get("requiredChecks") or [] if isinstance(c, str))
    else:
        try:
            own = load_from_stack_file(stack, project_dir)
            branch, checks = own.github.branch, tuple(own.github.required_checks)
            notes.append(f"the stack's branch and required checks come from {project_dir / f'Pulumi.{stack}.yaml'}")
        except ConfigError:
            notes.append("the stack's branch and required checks are derived from its resources (no config found)")
    other_name = rules.other_stack(stack)
    other = None
    if other_name is not None:
        try:
            other = load_from_stack_file(other_name, project_dir)
        except ConfigError:
            notes.append(
                f"cross-stack comparison skipped: {project_dir / f'Pulumi.{other_name}.yaml'} is missing or invalid"
            )
    facts = rules.facts_from_config(None, other, stack)
    return rules.StackFacts(stack, branch, checks, facts.other_stack, facts.other_identifiers, other=other)


# ---- the audit ------------------------------------------------------------------------------------------------
def audit(state: Mapping[str, Any], project_dir: Path = PROJECT_DIR) -> Report:
    deployment = state["deployment"]
    manifest = deployment.get("manifest") or {}
    state_resources: list[Mapping[str, Any]] = [r for r in deployment.get("resources") or [] if isinstance(r, Mapping)]
    stack_resource = next((r for r in state_resources if r.get("type") == "pulumi:pulumi:Stack"), None)
    first_urn = str((stack_resource or (state_resources[0] if state_resources else {})).get("urn") or "")
    stack = project = None
    if first_urn.startswith("urn:pulumi:"):
        stack, project = first_urn.removeprefix("urn:pulumi:").split("::")[:2]
    modified = sorted(str(r.get("modified")) for r in state_resources if r.get("modified"))
    report = Report(
        stack=stack,
        project=project,
        last_update=manifest.get("time"),
        latest_resource_change=modified[-1] if modified else None,
        pulumi_version=manifest.get("version"),
        secrets_provider=(deployment.get("secrets_providers") or {}).get("type"),
    )

    # inventory and secrets by name
    secret_names = ((stack_resource or {}).get("outputs") or {}).get("secret_names") or {}
    for r in state_resources:
        urn, type_ = str(r.get("urn")), str(r.get("type"))
        platform = platform_of(type_)
        secret_props = sorted(set(_secret_keys(r.get("inputs"))) | set(_secret_keys(r.get("outputs"))))
        report.items.append(
            Item(platform, type_, _name(urn), urn, r.get("id"), _settings(r), secret_props, bool(r.get("delete")))
        )
        report.secrets += _secrets_of(r, platform, secret_props, secret_names)

    # findings: plaintext credentials, pending operations, resources left for deletion
    for r in state_resources:
        urn = str(r.get("urn"))
        for section in ("inputs", "outputs"):
            report.findings += _scan(urn, section, r.get(section) or {})
        if r.get("delete"):
            report.findings.append(
                Finding(
                    "pending-delete",
                    f"{_name(urn)} is an old copy marked for deletion: an update that replaced it did not finish "
                    "(run `pulumi up` again, or `pulumi refresh` first)",
                    urn,
                )
            )
    for op in deployment.get("pending_operations") or []:
        resource = op.get("resource") or {} if isinstance(op, Mapping) else {}
        urn = str(resource.get("urn"))
        report.findings.append(
            Finding(
                "pending-operation",
                f"pending {op.get('type', '?')} of {_name(urn)} left by an interrupted update: check the object on its "
                "platform, then `pulumi refresh --clear-pending-creates` (or import it) before the next update",
                urn,
            )
        )
        for section in ("inputs", "outputs"):
            report.findings += _scan(urn, f"pending_operations.{section}", resource.get(section) or {})

    # the policy pack's verdict on the state
    facts = _facts(stack, state_resources, project_dir, report.notes)
    live = [
        rules.from_serialized(
            str(r.get("type")),
            str(r.get("urn")),
            r.get("inputs") or {},
            r.get("outputs") or {},  # what is stored encrypted, not what was asked (additionalSecretOutputs)
            protect=bool(r.get("protect")),  # a state records it: an unprotected production database is reported
        )
        for r in state_resources
        if not r.get("delete")
    ]
    violations = [v for res in live for v in rules.check_resource(res, AUDIT_POLICIES)]
    violations += rules.check_stack(live, facts, AUDIT_POLICIES)
    per_policy = Counter(v.policy for v in violations)
    report.policies = [PolicyResult(p.name, p.level, p.kind, p.description, per_policy[p.name]) for p in AUDIT_POLICIES]
    for v in violations:
        if v.level == rules.MANDATORY:
            report.findings.append(Finding("policy-refusal", v.message, v.urn, policy=v.policy))
        else:
            report.advisories.append(v)
    return report


def _secrets_of(
    r: Mapping[str, Any], platform: str, secret_props: Sequence[str], secret_names: Mapping[str, Any]
) -> list[SecretEntry]:
    urn, type_ = str(r.get("urn")), str(r.get("type"))
    inputs = r.get("inputs") or {}
    out: list[SecretEntry] = []
    for prop in secret_props:
        stored = "encrypted"
        for section in ("inputs", "outputs"):
            value = (r.get(section) or {}).get(prop)
            if _strip_secrets(value)[1]:
                stored = "plaintext in this export"
        if type_ == rules.RAILWAY_VARIABLES and prop == "variables":
            names = [n for n in secret_names.get("railway") or [] if isinstance(n, str)] or ["(names are encrypted)"]
            out += [SecretEntry(platform, n, urn, prop, stored) for n in names]
        elif type_ in (rules.GH_ENV_SECRET, rules.GH_REPO_SECRET, rules.GH_ORG_SECRET):
            if prop == "value" or prop not in ("encryptedValue", "plaintextValue", "valueEncrypted"):
                out.append(SecretEntry(platform, str(inputs.get("secretName")), urn, prop, stored))
        elif type_ in (rules.VERCEL_ENV, rules.VERCEL_SHARED_ENV) and prop == "value":
            out.append(SecretEntry(platform, str(inputs.get("key")), urn, prop, stored))
        else:
            out.append(SecretEntry(platform, prop, urn, prop, stored))
    return out


# ---- Markdown ---------------------------------------------------------------------------------------------------
def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    text = text.replace("\n", " ").replace("|", "\\|")
    return text if len(text) <= 120 else text[:117] + "..."


def _markdown(report: Report) -> Iterator[str]:
    title = f"stack `{report.stack}`" + (f" of project `{report.project}`" if report.project else "")
    yield f"# Audit of {title}" if report.stack else "# Audit of an empty state"
    yield ""
    counts = Counter(item.platform for item in report.items)
    by_platform = ", ".join(f"{p} {counts[p]}" for p in sorted(counts, key=_platform_rank)) or "none"
    verdict = "**clean** — no finding" if report.clean else f"**{len(report.findings)} finding(s)** — see below"
    yield f"- Result: {verdict}"
    yield f"- Last update: {report.last_update or 'unknown'} (state written by Pulumi {report.pulumi_version or '?'})"
    yield f"- Latest resource change: {report.latest_resource_change or 'none'}"
    yield f"- Secrets provider: {report.secrets_provider or 'none'}"
    yield f"- Resources: {len(report.items)} ({by_platform}); secrets: {len(report.secrets)}"
    for note in report.notes:
        yield f"- Note: {note}"
    yield ""
    yield "## Findings"
    yield ""
    if report.clean:
        yield "None."
    else:
        yield "| # | kind | resource | what |"
        yield "|---|---|---|---|"
        for i, f in enumerate(report.findings, 1):
            what = f"[{f.policy}] {f.message}" if f.policy else f.message
            yield f"| {i} | {f.kind} | {_cell(f.urn or '(stack)')} | {_cell(what)} |"
    yield ""
    yield "## Policy results"
    yield ""
    yield "Each policy of the pack (`policy/`), run on the resources of this state."
    yield ""
    yield "| policy | level | result | what it checks |"
    yield "|---|---|---|---|"
    for p in report.policies:
        result = "pass" if not p.violations else f"{p.violations} violation(s)"
        yield f"| {p.name} | {p.level} | {result} | {_cell(p.description)} |"
    if report.advisories:
        yield ""
        yield "### Advisories (not findings)"
        yield ""
        for a in report.advisories:
            yield f"- [{a.policy}] {a.message}" + (f" — `{a.urn}`" if a.urn else "")
    yield ""
    yield "## Secrets (names only)"
    yield ""
    if not report.secrets:
        yield "None."
    else:
        yield "| platform | name | held by | property | stored |"
        yield "|---|---|---|---|---|"
        for s in sorted(report.secrets, key=lambda s: (_platform_rank(s.platform), s.urn, s.name)):
            yield f"| {s.platform} | {_cell(s.name)} | {_cell(_name(s.urn))} | {s.property} | {s.stored} |"
    yield ""
    yield "## Inventory"
    for platform, types in report.inventory().items():
        yield ""
        yield f"### {platform}"
        for type_, items in types.items():
            yield ""
            yield f"#### `{type_}` ({len(items)})"
            yield ""
            yield "| name | id | key settings | URN |"
            yield "|---|---|---|---|"
            for item in items:
                settings = ", ".join(f"{k}={_cell(v)}" for k, v in item.settings.items())
                if item.secret_properties:
                    settings += ("; " if settings else "") + "secret: " + ", ".join(item.secret_properties)
                if item.pending_delete:
                    settings = "PENDING DELETE; " + settings
                yield f"| {_cell(item.name)} | {_cell(item.id or '-')} | {settings or '-'} | `{item.urn}` |"


# ---- command line ---------------------------------------------------------------------------------------------
def register(subparsers: Any) -> None:
    parser = command(
        subparsers,
        "audit",
        "audit a stack from `pulumi stack export`: inventory, secrets by name, findings (exit 1 on any)",
        __doc__,
    )
    parser.add_argument("state", nargs="?", help="the JSON of `pulumi stack export` (a file, or - for stdin)")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="read the latest checkpoint straight from the PostgreSQL state table instead (postgres://user@host/db"
        "[?table=…]; a role with SELECT on the table is enough; give the password in PGPASSWORD, not the URL)",
    )
    parser.add_argument("--stack", help="the stack to read with --postgres (staging or production)")
    parser.add_argument("--format", choices=("markdown", "json"), default="markdown", help="default: markdown")
    parser.add_argument(
        "--project-dir",
        type=Path,
        default=PROJECT_DIR,
        help="where Pulumi.<stack>.yaml live (the other stack's domains and projects; default: this project)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, io: Streams) -> int:
    out = io.out
    if (args.state is None) == (args.postgres is None) or (args.postgres is not None) != (args.stack is not None):
        print("audit: give either a state file (or -) or --postgres URL --stack NAME", file=io.err)
        return EXIT_USAGE
    source = args.state or f"stack {args.stack} in the PostgreSQL state table"
    try:
        if args.postgres is not None:
            state = load_state(json.dumps(state_table.read_stack(args.postgres, args.stack)))
        else:
            text = io.stdin.read() if args.state == "-" else Path(args.state).read_text(encoding="utf-8")
            state = load_state(text)
    except (OSError, AuditInputError, state_table.StateTableError) as exc:
        print(f"audit: cannot read {source}: {exc}", file=io.err)
        return EXIT_USAGE
    report = audit(state, args.project_dir)
    if args.format == "json":
        out.write(json.dumps(report.to_json(), indent=2, sort_keys=False) + "\n")
    else:
        out.write(report.to_markdown())
    return EXIT_CLEAN if report.clean else EXIT_FINDINGS
