"""The rules of the maya-infra policy pack, as plain functions over plain data.

One source of truth for "a resource a policy would refuse": the pack (``policy/__main__.py``) runs these
functions on what the engine is about to declare, ``python -m ops audit`` runs the same functions on an
exported state, and the tests call them directly. Nothing here imports ``pulumi_policy``.

A resource is a :class:`Resource`: its type token, URN and *inputs* (camelCase for GitHub and Vercel,
snake_case for our Railway dynamic resources, exactly as the engine carries them), plus which top-level
properties are known to be stored as secrets. Values the engine does not know yet (preview) are
:data:`UNKNOWN`; values held encrypted (a state's secret envelope) are :data:`SECRET`.

Each :class:`Policy` is either a resource policy (``check(resource) -> messages``) or a stack policy
(``check(resources, facts) -> (message, urn)``), with a level:

* ``mandatory`` — a control the pipeline depends on; the program's own config validation already
  guarantees it, so a violation means the code and the guard drifted apart. ``preview``/``up`` refuse.
* ``advisory`` — a heuristic or a hygiene rule with legitimate exceptions; reported, never blocking.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

from config import STACKS, StackConfig, envvars
from policy.credentials import is_credential_name, plaintext_credentials
from workflows.pins import ACTIONS

Level = Literal["mandatory", "advisory"]
MANDATORY: Level = "mandatory"
ADVISORY: Level = "advisory"

#: The migration step every backend deploy runs first (README, "Database migrations").
MIGRATION_COMMAND = "python apply_migrations.py"  # the runner: each pending file through apply_migration.py

# ---- type tokens ------------------------------------------------------------------------------------------
RAILWAY = "pulumi-python:dynamic/railway:"
ALERTS_SUFFIX = "-alerts"  # config.envvars.ALERTS_SUFFIX: the environment of the alert mail
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

_SHA = re.compile(r"^[0-9a-f]{40}$")
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


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
    #: The validated configs of this stack and of the other one, when known (policy/trust.py compares them).
    own: StackConfig | None = None
    other: StackConfig | None = None


#: The component production declares another stack's GitHub half under (components/handoff.py), as in a URN.
HANDED_OFF = "maya:github:HandedOff$"


def is_handed_off(r: Resource) -> bool:
    """Declared by production for another stack, from that stack's hand-off (docs/trust.md): the other stack's
    object, held to the other stack's rules (policy/trust.py), not to production's."""
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


# ---- resource rules -----------------------------------------------------------------------------------------
def production_environment_protected(r: Resource) -> Iterator[str]:
    """The production GitHub environment: required reviewers, no self-review, admins cannot bypass."""
    if r.type != GH_ENVIRONMENT or is_handed_off(r):
        return
    environment = r.get("environment")
    if environment is UNKNOWN:
        return
    if environment != "production" and r.stack != "production":
        return
    if isinstance(environment, str) and environment.endswith(ALERTS_SUFFIX):
        return  # <environment>-alerts holds only the alert mail settings and must never wait for a reviewer
    reviewers = r.get("reviewers")
    if reviewers is not UNKNOWN:
        ids = [
            i
            for rv in reviewers or []
            if isinstance(rv, Mapping)
            for i in [*(rv.get("users") or []), *(rv.get("teams") or [])]
        ]
        if not ids:
            yield (
                f"GitHub environment {environment!r} has no required reviewers: production deploys would not wait "
                "for approval (set maya-infra:github.reviewers)"
            )
    if r.get("preventSelfReview", "prevent_self_review") is not True:
        yield f"GitHub environment {environment!r} lets whoever triggered a deploy approve it (preventSelfReview)"
    if r.get("canAdminsBypass", "can_admins_bypass") is not False:
        yield f"GitHub environment {environment!r} lets repository admins bypass its protection (canAdminsBypass)"


def _vercel_items(r: Resource) -> Iterator[tuple[str, Any, Any, str]]:
    """(key, sensitive, value, value-path) of every Vercel variable a resource declares."""
    if r.type in (VERCEL_ENV, VERCEL_SHARED_ENV):
        yield str(r.get("key") or ""), r.get("sensitive"), r.get("value"), "value"
    elif r.type == VERCEL_ENVS:
        for i, item in enumerate(r.get("variables") or []):
            if isinstance(item, Mapping):
                yield str(item.get("key") or ""), item.get("sensitive"), item.get("value"), f"variables[{i}].value"


def credentials_are_secrets(r: Resource) -> Iterator[str]:
    """Every credential is a secret on its platform and in Pulumi state."""
    for key, sensitive, value, _path in _vercel_items(r):
        if is_credential_name(key):
            if sensitive is not True and sensitive is not UNKNOWN:
                yield f"Vercel variable {key} holds a credential but is not sensitive (set sensitive: true)"
            if r.secrets_visible and value is not None and value is not SECRET:
                yield f"Vercel variable {key} holds a credential stored in plain text in the Pulumi state"
    if r.type in (GH_ENV_VARIABLE, GH_REPO_VARIABLE, GH_ORG_VARIABLE):
        name = _text(r.get("variableName", "variable_name")) or ""
        if is_credential_name(name):
            yield (
                f"GitHub variable {name} holds a credential: variables are shown in plain text; declare it as an "
                "environment secret (envvars.TABLE secret=True)"
            )
    if r.type in (GH_ENV_SECRET, GH_REPO_SECRET, GH_ORG_SECRET) and r.secrets_visible:
        for prop in SECRET_CARRYING[r.type]:
            if r.props.get(prop) is not None and r.props.get(prop) is not SECRET:
                yield f"GitHub secret {r.get('secretName')}: {prop} is stored in plain text in the Pulumi state"
    if r.type in (RAILWAY_VARIABLES, RAILWAY_TOKEN):
        prop = "variables" if r.type == RAILWAY_VARIABLES else "token"
        if not r.is_secret(prop):
            what = "the backend's variables" if prop == "variables" else "the CI project token"
            yield (
                f"Railway {r.type.rsplit(':', 1)[-1]} {r.name}: {what} ({prop}) would be stored in plain text in the "
                "Pulumi state (declare it in additional_secret_outputs / wrap it in Output.secret)"
            )


def railway_health_and_migrations(r: Resource) -> Iterator[str]:
    """A Railway service has a health-check path and runs the migrations before each deploy."""
    if r.type != RAILWAY_INSTANCE:
        return
    path = r.get("healthcheck_path", "healthcheckPath")
    if path is not UNKNOWN and not (isinstance(path, str) and path.startswith("/")):
        yield (
            f"Railway service {r.name} has no health-check path (got {path!r}): a deploy would go live without "
            "being checked (set maya-infra:backend.healthcheckPath)"
        )
    command = r.get("pre_deploy_command", "preDeployCommand")
    if command is not UNKNOWN and not (isinstance(command, str) and MIGRATION_COMMAND in command):
        yield (
            f"Railway service {r.name} does not run the migrations before deploying: its pre-deploy command is "
            f"{command!r}, it must run {MIGRATION_COMMAND!r} (set maya-infra:backend.preDeployCommand)"
        )


def workflow_document(r: Resource) -> tuple[str, dict[str, Any] | None, str | None]:
    """(path, parsed workflow or None, parse error) of a RepositoryFile that is a workflow, else ("", None, None)."""
    path = _text(r.get("file")) or ""
    if r.type != GH_FILE or not path.startswith(".github/workflows/") or not path.endswith((".yml", ".yaml")):
        return "", None, None
    content = r.get("content")
    if not isinstance(content, str) or content is UNKNOWN:
        return path, None, None
    try:
        document = yaml.safe_load(content)
    except yaml.YAMLError as exc:
        return path, None, f"is not valid YAML ({str(exc).splitlines()[0]})"
    if not isinstance(document, dict):
        return path, None, "is not a workflow (not a mapping)"
    return path, document, None


def _uses(document: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, ref) of every ``uses:`` of a workflow: job-level (reusable workflows) and step-level."""
    jobs = document.get("jobs")
    for job_id, job in (jobs or {}).items() if isinstance(jobs, Mapping) else ():
        if not isinstance(job, Mapping):
            continue
        if isinstance(job.get("uses"), str):
            yield f"job {job_id}", job["uses"]
        for index, step in enumerate(job.get("steps") or []):
            if isinstance(step, Mapping) and isinstance(step.get("uses"), str):
                yield f"job {job_id} step {step.get('name') or index + 1}", step["uses"]


def _write_all(document: Mapping[str, Any]) -> Iterator[str]:
    if document.get("permissions") == "write-all":
        yield "the workflow"
    jobs = document.get("jobs")
    for job_id, job in (jobs or {}).items() if isinstance(jobs, Mapping) else ():
        if isinstance(job, Mapping) and job.get("permissions") == "write-all":
            yield f"job {job_id}"


def is_pinned(ref: str) -> bool:
    """Local actions, ``owner/repo[/path]@<40-hex SHA>`` and ``docker://image@sha256:<digest>`` are pinned."""
    if ref.startswith("./"):
        return True
    if ref.startswith("docker://"):
        return bool(_DIGEST.search(ref))
    _action, sep, version = ref.partition("@")
    return bool(sep) and bool(_SHA.match(version))


def workflows_least_privilege_pinned(r: Resource) -> Iterator[str]:
    """No committed workflow grants write-all, and every action it uses is pinned to a commit SHA."""
    path, document, error = workflow_document(r)
    if error:
        yield f"workflow {path} {error}"
    if document is None:
        return
    for where in _write_all(document):
        yield f"workflow {path}: {where} grants `permissions: write-all`; grant each scope it needs instead"
    for where, ref in _uses(document):
        if not is_pinned(ref):
            yield f"workflow {path}: {where} uses {ref!r}, not pinned to a 40-hex commit SHA (workflows/pins.py)"


def workflow_pins_from_table(r: Resource) -> Iterator[str]:
    """Pinned actions come from workflows/pins.py, the one table reviewers check."""
    path, document, _error = workflow_document(r)
    if document is None:
        return
    if "permissions" not in document:
        yield (
            f"workflow {path} declares no top-level permissions: its token gets the repository default, which "
            "may be write-all (declare `permissions: {}` and grant per job)"
        )
    for where, ref in _uses(document):
        action, _, sha = ref.partition("@")
        if ref.startswith(("./", "docker://")) or not is_pinned(ref):
            continue
        root = "/".join(action.split("/")[:2])
        pin = ACTIONS.get(root)
        if pin is None or pin.sha != sha:
            yield f"workflow {path}: {where} uses {ref} which is not a pin of workflows/pins.py ACTIONS"


def _plain_fields(r: Resource) -> Iterator[tuple[str, Any]]:
    """The properties of a resource that are not meant to hold a credential (so must not look like one)."""
    skip = {"__provider", *SECRET_CARRYING.get(r.type, ())}
    if r.type in (VERCEL_ENV, VERCEL_SHARED_ENV) and r.get("sensitive") is True:
        skip.add("value")
    for key, value in r.props.items():
        if key in skip or (r.type.startswith("pulumi:providers:") and not r.secrets_visible):
            continue
        if r.type == VERCEL_ENVS and key == "variables" and isinstance(value, list):
            value = [v for v in value if isinstance(v, Mapping) and v.get("sensitive") is not True]
        yield key, value


def no_plaintext_credential_values(r: Resource) -> Iterator[str]:
    """Heuristic: no property that is not a secret holds something shaped like a credential."""
    for path, why in plaintext_credentials(dict(_plain_fields(r))):
        yield f"{r.name}: {path} holds {why}; make it a secret (config secret + envvars.TABLE secret=True)"


# ---- stack rules ----------------------------------------------------------------------------------------------
def _branch_of(resources: Sequence[Resource]) -> str | None:
    for r in resources:
        if r.type == GH_BRANCH_POLICY and _text(r.get("branchPattern")):
            return str(r.get("branchPattern"))
    for r in resources:
        if r.type == GH_FILE and _text(r.get("branch")):
            return str(r.get("branch"))
    return None


def _ruleset_covers(r: Resource, branch: str) -> tuple[bool, set[str]]:
    """(does this ruleset protect refs/heads/<branch>, the status checks it requires)."""
    if r.get("enforcement") != "active" or r.get("target") not in ("branch", None):
        return False, set()
    ref_name = (r.get("conditions") or {}).get("refName") or {}
    ref = f"refs/heads/{branch}"
    includes = [p for p in ref_name.get("includes") or [] if isinstance(p, str)]
    excludes = [p for p in ref_name.get("excludes") or [] if isinstance(p, str)]
    covered = any(p == "~ALL" or fnmatch.fnmatchcase(ref, p) for p in includes) and not any(
        fnmatch.fnmatchcase(ref, p) for p in excludes
    )
    checks = ((r.get("rules") or {}).get("requiredStatusChecks") or {}).get("requiredChecks") or []
    return covered, {str(c["context"]) for c in checks if isinstance(c, Mapping) and c.get("context")}


def _protection_covers(r: Resource, branch: str) -> tuple[bool, set[str]]:
    pattern = r.get("pattern") if r.type == GH_BRANCH_PROTECTION else r.get("branch")
    if not isinstance(pattern, str) or not fnmatch.fnmatchcase(branch, pattern):
        return False, set()
    status = r.get("requiredStatusChecks")
    blocks = status if isinstance(status, list) else [status] if isinstance(status, Mapping) else []
    checks: set[str] = set()
    for block in blocks:
        if isinstance(block, Mapping):
            checks |= {c for c in block.get("contexts") or [] if isinstance(c, str)}
            checks |= {
                str(c["context"]) for c in block.get("checks") or [] if isinstance(c, Mapping) and c.get("context")
            }
    return True, checks


def _repository_of(r: Resource) -> str | None:
    return _text(r.get("repository", "repositoryId"))


def branch_protected_with_ci(resources: Sequence[Resource], facts: StackFacts) -> Iterator[tuple[str, str | None]]:
    """The stack's branch, in every repository the stack deploys from, requires the CI checks."""
    resources = [r for r in resources if not is_handed_off(r)]  # another stack's branch: policy/trust.py
    managed = [r for r in resources if r.type in (GH_ENVIRONMENT, GH_FILE, GH_ENV_SECRET, GH_ENV_VARIABLE)]
    if not managed:
        return  # GitHub is left out of this stack (see README, "Platforms"), or declared by production
    branch = facts.branch or _branch_of(resources)
    if not branch:
        yield "cannot tell the stack's branch (no github.branch in config, no deployment branch policy)", None
        return
    wanted = set(facts.required_checks)
    repositories = sorted({repo for r in managed if (repo := _repository_of(r))})
    for repo in repositories:
        guards = [r for r in resources if _repository_of(r) == repo]
        required: set[str] = set()
        protected = False
        for r in guards:
            if r.type == GH_RULESET:
                covered, checks = _ruleset_covers(r, branch)
            elif r.type in (GH_BRANCH_PROTECTION, GH_BRANCH_PROTECTION_V3):
                covered, checks = _protection_covers(r, branch)
            else:
                continue
            if covered:
                protected = True
                required |= checks
        if not protected:
            yield (
                f"branch {branch!r} of {repo} is not protected: no active ruleset or branch protection covers it "
                "(github.protection)",
                None,
            )
            continue
        missing = sorted(wanted - required)
        if missing:
            yield f"branch {branch!r} of {repo} does not require the CI checks {missing} (github.requiredChecks)", None
        elif not required:
            yield f"branch {branch!r} of {repo} requires no status check: CI can fail and still merge", None


def _identifiers(resources: Sequence[Resource]) -> Iterator[tuple[str, str, str]]:
    """(kind, value, urn) of the real-world objects this stack declares (not those it declares for another stack
    from its hand-off: those are the other stack's own, checked by policy/trust.py)."""
    for r in resources:
        if is_handed_off(r):
            continue
        pick: list[tuple[str, Any]] = []
        if r.type == VERCEL_PROJECT:
            pick = [("Vercel project", r.get("name"))]
        elif r.type == VERCEL_DOMAIN:
            pick = [("domain", r.get("domain"))]
        elif r.type == RAILWAY_PROJECT:
            pick = [("Railway project", r.get("name"))]
        elif r.type == RAILWAY_CUSTOM_DOMAIN:
            pick = [("domain", r.get("domain"))]
        elif r.type in (GH_ENVIRONMENT, GH_BRANCH_POLICY, GH_ENV_SECRET, GH_ENV_VARIABLE):
            pick = [("environment", r.get("environment"))]
            alerts_only = str(r.get("environment") or "").endswith(ALERTS_SUFFIX)
            if r.type == GH_BRANCH_POLICY and not alerts_only:  # <env>-alerts also admits the default branch,
                pick.append(("branch", r.get("branchPattern")))  # where the scheduled monitor runs: mail only
        elif r.type == RAILWAY_ENVIRONMENT:
            pick = [("environment", r.get("name"))]
        elif r.type in (RAILWAY_TRIGGER, GH_FILE):
            pick = [("branch", r.get("branch"))]
        for kind, value in pick:
            if isinstance(value, str) and value is not UNKNOWN and value:
                yield kind, value, r.urn


def stacks_share_nothing(resources: Sequence[Resource], facts: StackFacts) -> Iterator[tuple[str, str | None]]:
    """Staging and production never share a domain, a project, an environment, a branch or a token."""
    for r in resources:
        if r.type in (GH_REPO_SECRET, GH_REPO_VARIABLE, GH_ORG_SECRET, GH_ORG_VARIABLE, VERCEL_SHARED_ENV):
            name = r.get("secretName", "variableName", "key")
            yield (
                f"{r.type.rsplit(':', 1)[-1]} {name}: repository-, organization- or team-wide values are shared by "
                "both stacks; use an environment-scoped one",
                r.urn,
            )
    if facts.other_stack is None:
        return
    seen: set[tuple[str, str]] = set()
    for kind, value, urn in _identifiers(resources):
        if (kind, value) in facts.other_identifiers and (kind, value) not in seen:
            seen.add((kind, value))
            yield f"{kind} {value!r} also belongs to stack {facts.other_stack!r} (Pulumi.{facts.other_stack}.yaml)", urn
    for r in resources:
        if r.type == RAILWAY_TOKEN:
            name = _text(r.get("name")) or ""
            if name and facts.stack not in name:
                yield f"Railway project token {name!r} is not named for stack {facts.stack!r}", r.urn


CHECKLY_CHECK = "checkly:index/check:Check"
RAILWAY_POSTGRES = RAILWAY + "Postgres"
RAILWAY_SERVICE = RAILWAY + "Service"

#: Production's stateful and identity objects (components/safety.py): what they are, for the messages.
STATEFUL: Mapping[str, str] = {
    RAILWAY_PROJECT: "the Railway project (every service, variable and volume of the stack lives in it)",
    RAILWAY_ENVIRONMENT: "the Railway environment (its service instances and the database volume live in it)",
    RAILWAY_SERVICE: "the backend service (its id is what CI deploys to)",
    RAILWAY_POSTGRES: "the PostgreSQL service and its volume (production's data)",
    RAILWAY_CUSTOM_DOMAIN: "the backend's custom domain (a name DNS points at)",
    VERCEL_PROJECT: "the Vercel project (its id is what CI deploys to)",
    VERCEL_DOMAIN: "a production domain of the frontend (a name DNS points at)",
    GH_ENVIRONMENT: "the production GitHub environment (its reviewers gate deploys; its secrets live in it)",
}


def _is_stateful(r: Resource) -> bool:
    if r.type not in STATEFUL or is_handed_off(r):  # staging's GitHub half stays destroyable like staging
        return False
    return not (r.type == VERCEL_DOMAIN and _text(r.get("redirect")))  # a redirect domain holds no name of ours


def production_data_never_deleted_or_replaced(r: Resource) -> Iterator[str]:
    """No delete or replace of a stateful resource in production: each is declared ``protect``-ed (so the
    engine refuses to delete or replace it) and never ``delete_before_replace``."""
    if r.stack != "production" or not _is_stateful(r):
        return
    safe_path = (
        "safe path: keep it protected (components/safety.py `stateful`); renames are in-place updates; a change "
        "that needs a new object is made beside the old one and moved to by hand; to really remove it, run "
        f"`pulumi state unprotect '{r.urn}'` deliberately (README, \"Protecting production's data\")"
    )
    if r.protect is False:
        yield (
            f"{r.name} is {STATEFUL[r.type]} and is not protected: this update could delete or replace it "
            f"(the engine allows both once `protect` is gone); {safe_path}"
        )
    if r.delete_before_replace:
        yield f"{r.name} is {STATEFUL[r.type]} and asks to be deleted before it is replaced; {safe_path}"


RAILWAY_BACKUP_SCHEDULE = RAILWAY + "BackupSchedule"
MONITOR_WORKFLOW = ".github/workflows/monitor.yml"


def production_backed_up(resources: Sequence[Resource], facts: StackFacts) -> Iterator[tuple[str, str | None]]:
    """A production PostgreSQL on Railway has a backup schedule with at least one kind."""
    if facts.stack != "production":
        return
    schedules = [r for r in resources if r.type == RAILWAY_BACKUP_SCHEDULE]
    for database in (r for r in resources if r.type == RAILWAY_POSTGRES):
        if not any(r.get("kinds") for r in schedules):
            yield "production's PostgreSQL has no backup schedule (set maya-infra:backups.kinds)", database.urn


def production_monitored(resources: Sequence[Resource], facts: StackFacts) -> Iterator[tuple[str, str | None]]:
    """A production stack declares uptime checks: Checkly checks, or the scheduled monitor workflow."""
    if facts.stack != "production" or not resources:
        return
    checkly = any(r.type == CHECKLY_CHECK for r in resources)
    workflow = any(r.type == GH_FILE and _text(r.get("file")) == MONITOR_WORKFLOW for r in resources)
    if not (checkly or workflow):
        yield (
            (
                "production is not monitored: no Checkly check and no scheduled monitor workflow "
                "(see docs/monitoring.md)"
            ),
            None,
        )


CHECKLY_CHANNEL = "checkly:index/alertChannel:AlertChannel"
RAILWAY_NOTIFICATION_RULE = RAILWAY + "NotificationRule"
PRODUCTION_BACKEND_INTERVAL_SECONDS = 30


def _check_interval_seconds(check: Resource) -> int | None:
    """Seconds between runs of a Checkly check (``frequency`` minutes, or 0 with ``frequencyOffset`` seconds)."""
    frequency = check.get("frequency")
    if not isinstance(frequency, int | float):
        return None
    if frequency == 0:
        offset = check.get("frequencyOffset", "frequency_offset")
        return int(offset) if isinstance(offset, int | float) else None
    return int(frequency) * 60


def production_alerting(resources: Sequence[Resource], facts: StackFacts) -> Iterator[tuple[str, str | None]]:
    """Production mails on an outage within a minute, on a high backend 5xx rate, and on a failed or crashed
    deployment.

    A Checkly backend check every 30 s or faster subscribed to an e-mail channel, and a Railway notification
    rule with an e-mail channel (issue 13: the scheduled workflow alone is not a monitor for production).
    """
    if facts.stack != "production" or not resources:
        return
    emails = any(r.type == CHECKLY_CHANNEL and r.get("email") for r in resources)
    fast = [
        r
        for r in resources
        if r.type == CHECKLY_CHECK
        and (_check_interval_seconds(r) or 10**6) <= PRODUCTION_BACKEND_INTERVAL_SECONDS
        and r.get("alertChannelSubscriptions", "alert_channel_subscriptions")
    ]
    if not (emails and fast):
        yield (
            f"production has no Checkly health check every {PRODUCTION_BACKEND_INTERVAL_SECONDS} s that mails "
            "monitoring.alertEmails (set the Checkly account; docs/monitoring.md)",
            None,
        )
    if any(r.type == RAILWAY_POSTGRES or r.type == RAILWAY_INSTANCE for r in resources):
        rules = [r for r in resources if r.type == RAILWAY_NOTIFICATION_RULE and r.get("channel_configs")]
        if not rules:
            yield "production's Railway project mails no one when a deployment fails or crashes", None
        if not any(_is_error_rate_check(r) for r in resources):
            yield (
                "production has no backend 5xx-rate alert: no Checkly check reads Railway's request metrics "
                "and mails monitoring.alertEmails (set monitoring.backendErrorRate.enabled; docs/monitoring.md)",
                None,
            )


#: The root field the backend 5xx-rate check asks Railway for (components/error_rate.py).
ERROR_RATE_FIELD = "httpMetricsGroupedByStatus"


def _is_error_rate_check(r: Resource) -> bool:
    """A Checkly check POSTing Railway's request-metrics query, judging it in a teardown script, that alerts."""
    if r.type != CHECKLY_CHECK:
        return False
    request = r.get("request")
    body = request.get("body") if isinstance(request, Mapping) else None
    teardown = r.get("localTeardownScript", "local_teardown_script")
    subscribed = r.get("alertChannelSubscriptions", "alert_channel_subscriptions")
    return isinstance(body, str) and ERROR_RATE_FIELD in body and bool(teardown) and bool(subscribed)


RAILWAY_PR_SETTINGS = RAILWAY + "PrEnvironmentSettings"
PREVIEWS_WORKFLOW = ".github/workflows/previews.yml"
PREVIEW_ENVIRONMENT = "preview"
_LIVE_STRIPE = re.compile(r"^(sk|rk)_live_")
_SHAPE_OPTION = re.compile(r"--(withhold|fresh) ([A-Za-z0-9_,]+)")


def _preview_shape(r: Resource) -> dict[str, set[str]] | None:
    """The ``--withhold``/``--fresh`` names of every run of the committed previews workflow (None: not it)."""
    path, document, _error = workflow_document(r)
    if path != PREVIEWS_WORKFLOW or document is None:
        return None
    shape: dict[str, set[str]] = {"withhold": set(), "fresh": set()}
    for job in (document.get("jobs") or {}).values():
        for step in (job or {}).get("steps") or []:
            run = str((step or {}).get("run") or "")
            if 'pr_preview.py" ' not in run or " up " not in f" {run} ":
                continue
            for option, names in _SHAPE_OPTION.findall(run):
                shape[option] |= set(names.split(","))
    return shape


def _preview_reachable(r: Resource) -> str | None:
    """What of a production stack a pull request's preview could read, or None."""
    environment = _text(r.get("environment"))
    if r.type in (GH_ENVIRONMENT, GH_ENV_SECRET, GH_ENV_VARIABLE) and environment == PREVIEW_ENVIRONMENT:
        name = r.get("secretName", "variableName") or PREVIEW_ENVIRONMENT
        return f"{r.type.rsplit(':', 1)[-1]} {name} in the {PREVIEW_ENVIRONMENT!r} GitHub environment"
    if r.type == VERCEL_ENV:
        targets = r.get("targets") or []
        if (isinstance(targets, list) and PREVIEW_ENVIRONMENT in targets) or _text(r.get("gitBranch")):
            return f"Vercel variable {r.get('key')} with a preview target"
    if r.type == VERCEL_BYPASS:  # its secret is sealed into the `preview` environment (docs/previews.md)
        return "a Vercel Protection Bypass for Automation"
    return None


def previews_get_no_production_secret(
    resources: Sequence[Resource], facts: StackFacts
) -> Iterator[tuple[str, str | None]]:
    """No production value reaches a pull request's preview (docs/previews.md)."""
    for r in resources:
        if r.type == RAILWAY_PR_SETTINGS and r.get("pr_deploys") is True:
            yield (
                f"Railway's own PR environments are on in {facts.stack!r}: each would fork the stack's environment "
                "with every secret, uncapped (previews come from the previews workflow; keep prDeploys off)",
                r.urn,
            )
        if facts.stack == "production" and not is_handed_off(r):  # staging's preview environment is staging's
            reachable = _preview_reachable(r)
            if reachable:
                yield f"production declares {reachable}: a pull request's preview could read it", r.urn
        shape = _preview_shape(r)
        if shape is not None:
            uses: tuple[tuple[envvars.PreviewUse, str], ...] = ((False, "withhold"), ("fresh", "fresh"))
            for use, option in uses:
                missing = sorted(set(envvars.preview_names(use)) - shape[option])
                if missing:
                    yield (
                        f"the previews workflow does not --{option} {', '.join(missing)} (config/envvars.py says "
                        f"previews={use!r}): re-render it (bash scripts/regenerate-workflows.sh)",
                        r.urn,
                    )
    # the stack forks previews: its config says so (its GitHub half may be declared by production, docs/trust.md),
    # else its own previews workflow and preview environment do
    has_previews = (
        facts.own.previews_active
        if facts.own is not None
        else any(_preview_shape(r) is not None for r in resources)
        and any(r.type == GH_ENVIRONMENT and _text(r.get("environment")) == PREVIEW_ENVIRONMENT for r in resources)
    )
    copied = set(envvars.preview_names(True))
    for r in resources if has_previews else ():
        variables = r.get("variables") if r.type == RAILWAY_VARIABLES else None
        if not isinstance(variables, Mapping):
            continue
        for name, value in variables.items():
            if name in copied and isinstance(value, str) and _LIVE_STRIPE.match(value):
                yield (
                    f"{name} is a live-mode Stripe key and would be copied to every preview: give this stack a "
                    f"test-mode key, or mark {name} previews=False in config/envvars.py",
                    r.urn,
                )


# ---- the pack ---------------------------------------------------------------------------------------------------
_MANDATORY_WHY = (
    "a control the pipeline's safety depends on, which the program already guarantees from validated config: "
    "a violation means the code and the guard drifted apart, so the update is refused"
)

POLICIES: tuple[Policy, ...] = (
    Policy(
        "production-data-never-deleted-or-replaced",
        "No delete or replace of a stateful resource in production: production's stateful and identity objects are "
        "declared protected (the engine then refuses to delete or replace them) and never delete-before-replace.",
        MANDATORY,
        "a replaced database is an empty database and a deleted project takes its volume with it; " + _MANDATORY_WHY,
        resource_check=production_data_never_deleted_or_replaced,
        types=tuple(STATEFUL),
    ),
    Policy(
        "production-environment-protected",
        "The production GitHub environment has required reviewers, prevents self-review and admins cannot bypass it.",
        MANDATORY,
        "the approval of production deploys is the human gate of the pipeline; " + _MANDATORY_WHY,
        resource_check=production_environment_protected,
        types=(GH_ENVIRONMENT,),
    ),
    Policy(
        "credentials-are-secrets",
        "Every credential is a secret on its platform (Vercel sensitive, GitHub secret, Railway variables) and in "
        "Pulumi state.",
        MANDATORY,
        "a credential in a plain variable is readable by everyone with read access; " + _MANDATORY_WHY,
        resource_check=credentials_are_secrets,
    ),
    Policy(
        "railway-health-and-migrations",
        f"Railway services have a health-check path and run {MIGRATION_COMMAND!r} as their pre-deploy command.",
        MANDATORY,
        "without them a broken build or an unmigrated schema goes live; " + _MANDATORY_WHY,
        resource_check=railway_health_and_migrations,
        types=(RAILWAY_INSTANCE,),
    ),
    Policy(
        "workflows-least-privilege-pinned",
        "No committed workflow grants write-all permissions or uses an action not pinned to a commit SHA.",
        MANDATORY,
        "a write-all token or a movable tag hands the repository to whoever controls the action; " + _MANDATORY_WHY,
        resource_check=workflows_least_privilege_pinned,
        types=(GH_FILE,),
    ),
    Policy(
        "branch-protected-with-ci",
        "The stack's branch is protected by an active ruleset or branch protection requiring the CI checks.",
        MANDATORY,
        "deploys follow the branch, so an unprotected branch deploys untested code; " + _MANDATORY_WHY,
        stack_check=branch_protected_with_ci,
    ),
    Policy(
        "stacks-share-nothing",
        "Staging and production never share a domain, a project, an environment, a branch or a token "
        "(no repository- or organization-wide secrets).",
        MANDATORY,
        "a shared object lets a staging update change production; " + _MANDATORY_WHY,
        stack_check=stacks_share_nothing,
    ),
    Policy(
        "production-backed-up",
        "Production's Railway PostgreSQL has a backup schedule.",
        MANDATORY,
        "the spec restores corrupted data from a backup, so production without one cannot recover; " + _MANDATORY_WHY,
        stack_check=production_backed_up,
    ),
    Policy(
        "previews-get-no-production-secret",
        "No production value reaches a pull request's preview: Railway's own PR environments stay off, production "
        "declares nothing in the preview environment, the previews workflow withholds what the variable table "
        "withholds, and no live-mode Stripe key is copied to previews.",
        MANDATORY,
        "a preview runs unreviewed code that anyone who can push a branch controls; " + _MANDATORY_WHY,
        stack_check=previews_get_no_production_secret,
    ),
    Policy(
        "production-monitored",
        "Production declares uptime checks (Checkly, or the scheduled monitor workflow).",
        ADVISORY,
        "the monitor workflow comes with the GitHub platform, which a partial stack may leave out on purpose "
        "(maya-infra:platforms); the config model already refuses a production stack without monitoring settings",
        stack_check=production_monitored,
    ),
    Policy(
        "production-alerting",
        "Production has a 30-second Checkly health check mailing monitoring.alertEmails, a Checkly check of the "
        "backend's 5xx rate (Railway's request metrics), and Railway mails a failed or crashed deployment.",
        ADVISORY,
        "the config refuses a production stack file without them; what remains is checkly or railway left out of "
        "maya-infra:platforms on purpose (a rehearsal), which is worth a report, not a refusal",
        stack_check=production_alerting,
    ),
    Policy(
        "workflow-pins-from-table",
        "Committed workflows declare top-level permissions and take their action pins from workflows/pins.py.",
        ADVISORY,
        "a SHA from elsewhere is still immutable and a missing top-level block may be harmless in a repository "
        "whose default token is read-only: worth a review, not a refusal",
        resource_check=workflow_pins_from_table,
        types=(GH_FILE,),
    ),
    Policy(
        "no-plaintext-credential-values",
        "No non-secret property holds a value shaped like a credential (key prefixes, JWTs, URLs with a password).",
        ADVISORY,
        "a heuristic: it can be wrong either way, so it warns and the audit reports the state itself",
        resource_check=no_plaintext_credential_values,
    ),
)

BY_NAME: Mapping[str, Policy] = {p.name: p for p in POLICIES}


def check_resource(resource: Resource, policies: Iterable[Policy] = POLICIES) -> list[Violation]:
    out = []
    for policy in policies:
        if policy.resource_check is None:
            continue
        out += [Violation(policy.name, policy.level, m, resource.urn) for m in policy.resource_check(resource)]
    return out


def check_stack(
    resources: Sequence[Resource], facts: StackFacts, policies: Iterable[Policy] = POLICIES
) -> list[Violation]:
    out = []
    for policy in policies:
        if policy.stack_check is None:
            continue
        out += [Violation(policy.name, policy.level, m, urn) for m, urn in policy.stack_check(resources, facts)]
    return out


def check_all(resources: Sequence[Resource], facts: StackFacts) -> list[Violation]:
    """Every violation of every policy: each resource, then the stack as a whole."""
    out = [v for r in resources for v in check_resource(r)]
    return out + check_stack(resources, facts)
