"""The data the policy rules see: type tokens, :class:`Resource`, the facts of a stack, :class:`Policy`.

A resource is a :class:`Resource`: its type token, URN and *inputs* (camelCase for GitHub and Vercel,
snake_case for our Railway dynamic resources, exactly as the engine carries them), plus which top-level
properties are known to be stored as secrets. Values the engine does not know yet (preview) are
:data:`UNKNOWN`; values held encrypted (a state's secret envelope) are :data:`SECRET`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from config import STACKS, StackConfig

Level = Literal["mandatory", "advisory"]
MANDATORY: Level = "mandatory"
ADVISORY: Level = "advisory"

#: The migration step every backend deploy runs first (README, "Database migrations").
MIGRATION_COMMAND = "python apply_migrations.py"  # the runner: each pending file through apply_migration.py

# ---- type tokens ------------------------------------------------------------------------------------------
RAILWAY = "pulumi-python:dynamic/railway:"
ALERTS_SUFFIX = "-alerts"  # config.envvars.ALERTS_SUFFIX: the environment of the alert mail
SCAN_SUFFIX = "-scan"  # config.envvars.SCAN_SUFFIX: the environment of the scanners' tokens
RAILWAY_PROJECT = RAILWAY + "Project"
RAILWAY_ENVIRONMENT = RAILWAY + "Environment"
RAILWAY_INSTANCE = RAILWAY + "ServiceInstance"
RAILWAY_VARIABLES = RAILWAY + "Variables"
RAILWAY_CUSTOM_DOMAIN = RAILWAY + "CustomDomain"
RAILWAY_TRIGGER = RAILWAY + "DeploymentTrigger"
RAILWAY_TOKEN = RAILWAY + "ProjectToken"
RAILWAY_DEPLOYMENT = RAILWAY + "Deployment"
VERCEL_PROJECT = "vercel:index/project:Project"
VERCEL_DOMAIN = "vercel:index/projectDomain:ProjectDomain"
VERCEL_ENV = "vercel:index/projectEnvironmentVariable:ProjectEnvironmentVariable"
VERCEL_ENVS = "vercel:index/projectEnvironmentVariables:ProjectEnvironmentVariables"
VERCEL_SHARED_ENV = "vercel:index/sharedEnvironmentVariable:SharedEnvironmentVariable"
VERCEL_BYPASS = "vercel:index/projectProtectionBypass:ProjectProtectionBypass"
GH_ENVIRONMENT = "github:index/repositoryEnvironment:RepositoryEnvironment"
GH_BRANCH_POLICY = "github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy"
GH_ENV_SECRET = "github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret"  # noqa: S105 (a type token / signature, not a password)
GH_ENV_VARIABLE = "github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable"
GH_REPO_SECRET = "github:index/actionsSecret:ActionsSecret"  # noqa: S105 (a type token / signature, not a password)
GH_REPO_VARIABLE = "github:index/actionsVariable:ActionsVariable"
GH_ORG_SECRET = "github:index/actionsOrganizationSecret:ActionsOrganizationSecret"  # noqa: S105 (a type token / signature, not a password)
GH_ORG_VARIABLE = "github:index/actionsOrganizationVariable:ActionsOrganizationVariable"
GH_RULESET = "github:index/repositoryRuleset:RepositoryRuleset"
GH_BRANCH_PROTECTION = "github:index/branchProtection:BranchProtection"
GH_BRANCH_PROTECTION_V3 = "github:index/branchProtectionV3:BranchProtectionV3"
GH_FILE = "github:index/repositoryFile:RepositoryFile"

#: Properties whose value is a credential or derived from one, per type: the platform stores them secret.
SECRET_CARRYING: Mapping[str, tuple[str, ...]] = {
    RAILWAY_VARIABLES: ("variables", "revision"),
    RAILWAY_TOKEN: ("token",),
    RAILWAY_DEPLOYMENT: ("revision",),
    GH_ENV_SECRET: ("value", "plaintextValue", "encryptedValue", "valueEncrypted"),
    GH_REPO_SECRET: ("value", "plaintextValue", "encryptedValue", "valueEncrypted"),
    GH_ORG_SECRET: ("value", "plaintextValue", "encryptedValue", "valueEncrypted"),
}


# ---- the data the rules see --------------------------------------------------------------------------------
class _Marker:
    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name

    def __bool__(self) -> bool:
        return False


#: A value the engine does not know yet (preview). Falsy, so "is it set?" checks skip it.
UNKNOWN: Any = _Marker("UNKNOWN")
#: A value stored encrypted (its plaintext is not available to the rule).
SECRET: Any = _Marker("SECRET")

SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"  # noqa: S105 (a type token / signature, not a password)
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"  # noqa: S105 (a type token / signature, not a password)


def is_secret_envelope(value: Any) -> bool:
    """A serialized secret: ``{"4dabf…": "1b470…", "ciphertext"|"plaintext"|"value": …}``."""
    return isinstance(value, Mapping) and value.get(SECRET_SIG_KEY) == SECRET_SIG


@dataclass(frozen=True)
class Resource:
    type: str
    urn: str
    props: Mapping[str, Any]
    #: Top-level properties known to be stored as Pulumi secrets (inputs or outputs).
    secret_props: frozenset[str] = frozenset()
    #: True when secretness is visible in ``props`` (a state or a program record, where secret values are
    #: :data:`SECRET`); False in the pack, where pulumi-policy hands over plaintext.
    secrets_visible: bool = False
    #: The ``protect`` and ``delete_before_replace`` resource options, when the caller knows them (the pack
    #: does; None means "not known here", and the rules about them stay silent).
    protect: bool | None = None
    delete_before_replace: bool | None = None

    @property
    def name(self) -> str:
        return self.urn.rsplit("::", 1)[-1]

    @property
    def stack(self) -> str:
        return self.urn.removeprefix("urn:pulumi:").split("::", 1)[0]

    def get(self, *names: str) -> Any:
        """The first of ``names`` present (GitHub/Vercel are camelCase, Railway snake_case)."""
        for name in names:
            if name in self.props:
                return self.props[name]
        return None

    def is_secret(self, prop: str) -> bool:
        return prop in self.secret_props or self.props.get(prop) is SECRET


def _unwrap_secrets(value: Any, top: str, found: set[str]) -> Any:
    if is_secret_envelope(value):
        found.add(top)
        return SECRET
    if isinstance(value, Mapping):
        return {k: _unwrap_secrets(v, top, found) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_unwrap_secrets(v, top, found) for v in value]
    return value


def secret_keys(section: Mapping[str, Any]) -> set[str]:
    """The top-level keys of serialized properties that hold a secret envelope (at any depth)."""
    found: set[str] = set()
    for key, value in section.items():
        _unwrap_secrets(value, key, found)
    return found


def from_serialized(
    type_: str,
    urn: str,
    inputs: Mapping[str, Any],
    outputs: Mapping[str, Any] | None = None,
    additional_secret_outputs: Iterable[str] = (),
    protect: bool | None = None,
) -> Resource:
    """A :class:`Resource` from serialized properties (a state's ``inputs``/``outputs``, a mock's record):
    secret envelopes become :data:`SECRET`, and their top-level keys are recorded as secret."""
    found: set[str] = set(additional_secret_outputs)
    props = {k: _unwrap_secrets(v, k, found) for k, v in inputs.items()}
    for key, value in (outputs or {}).items():
        _unwrap_secrets(value, key, found)
    return Resource(type_, urn, props, frozenset(found), secrets_visible=True, protect=protect)


@dataclass(frozen=True)
class StackFacts:
    """What a stack should look like, from its config when available (else derived from its resources)."""

    stack: str
    branch: str | None = None
    required_checks: tuple[str, ...] = ()
    #: The other stack's name and the real-world identifiers it owns, as ``(kind, value)``.
    other_stack: str | None = None
    other_identifiers: frozenset[tuple[str, str]] = frozenset()
    #: The validated configs of this stack and of the other one, when known (policy/rules/trust.py compares them).
    own: StackConfig | None = None
    other: StackConfig | None = None


#: The component production declares another stack's GitHub half under (components/handoff.py), as in a URN.
HANDED_OFF = "maya:github:HandedOff$"


def is_handed_off(r: Resource) -> bool:
    """Declared by production for another stack, from that stack's hand-off (docs/trust.md): the other stack's
    object, held to the other stack's rules (policy/rules/trust.py), not to production's."""
    return HANDED_OFF in r.urn


def identifiers_of_config(cfg: StackConfig) -> frozenset[tuple[str, str]]:
    """The real-world objects a stack owns, by its config: what the other stack must never declare."""
    ids = {("Vercel project", cfg.frontend.project_name), ("Railway project", cfg.backend.project_name)}
    ids |= {("domain", d) for d in (*cfg.frontend.domains, *cfg.frontend.redirect_domains)}
    if cfg.backend.custom_domain:
        ids.add(("domain", cfg.backend.custom_domain))
    ids.add(("environment", cfg.environment))
    ids.add(("branch", cfg.github.branch))
    return frozenset(ids)


def facts_from_config(cfg: StackConfig | None, other: StackConfig | None, stack: str) -> StackFacts:
    return StackFacts(
        stack=stack,
        branch=cfg.github.branch if cfg else None,
        required_checks=tuple(cfg.github.required_checks) if cfg else (),
        other_stack=other.stack if other else None,
        other_identifiers=identifiers_of_config(other) if other else frozenset(),
        own=cfg,
        other=other,
    )


def other_stack(stack: str) -> str | None:
    others = [s for s in STACKS if s != stack]
    return others[0] if len(others) == 1 else None


# ---- policy model -----------------------------------------------------------------------------------------
ResourceCheck = Callable[[Resource], Iterable[str]]
StackCheck = Callable[[Sequence[Resource], StackFacts], Iterable[tuple[str, str | None]]]


@dataclass(frozen=True)
class Policy:
    name: str
    description: str
    level: Level
    #: Why this level (documented in docs/audit.md and shown by the pack).
    rationale: str
    resource_check: ResourceCheck | None = None
    stack_check: StackCheck | None = None
    types: tuple[str, ...] = field(default=())

    @property
    def kind(self) -> str:
        return "resource" if self.resource_check else "stack"


@dataclass(frozen=True)
class Violation:
    policy: str
    level: Level
    message: str
    urn: str | None = None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value is not UNKNOWN else None


# ---- type tokens of the production, alerting and previews rules -------------------------------------------------
CHECKLY_CHECK = "checkly:index/check:Check"
CHECKLY_CHANNEL = "checkly:index/alertChannel:AlertChannel"
RAILWAY_POSTGRES = RAILWAY + "Postgres"
RAILWAY_SERVICE = RAILWAY + "Service"
RAILWAY_BACKUP_SCHEDULE = RAILWAY + "BackupSchedule"
RAILWAY_NOTIFICATION_RULE = RAILWAY + "NotificationRule"
RAILWAY_PR_SETTINGS = RAILWAY + "PrEnvironmentSettings"
MONITOR_WORKFLOW = ".github/workflows/monitor.yml"
PREVIEWS_WORKFLOW = ".github/workflows/previews.yml"
PREVIEW_ENVIRONMENT = "preview"
