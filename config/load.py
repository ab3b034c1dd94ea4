"""Reading a stack's config (inside the program, or from its stack file) into one validated StackConfig.

Every problem is collected and reported together in one :class:`ConfigError` that names each key, what
is wrong and the command that fixes it — before a single resource is declared.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pydantic import (
    BaseModel,
    SecretStr,
    ValidationError,
)

from config.model import (
    ALL_PLATFORMS,
    CHECKLY_ACCOUNT_KEYS,
    DEFAULT_PREVIEWS,
    NAMESPACE,
    PROJECT_DIR,
    STACKS,
    AdoptSettings,
    BackendSettings,
    BackupSettings,
    FrontendSettings,
    GitHubSettings,
    InfraSettings,
    MonitoringSettings,
    PreviewSettings,
    RailwaySettings,
    StackConfig,
    StateBackendSettings,
    _KeyedError,
)
from config.performance import PerformanceSettings
from config.secrets import KNOWN_KEYS, SECRET_KEYS, SECRETS
from config.tracking import ErrorTrackingSettings, dsn_problem


@dataclass(frozen=True)
class Problem:
    key: str
    message: str
    fix: str

    def render(self) -> str:
        return f"  - {NAMESPACE}:{self.key}: {self.message}\n      fix: {self.fix}"


class ConfigError(pulumi.RunError):
    """Every configuration problem of a stack at once; raised before any resource is declared."""

    def __init__(self, stack: str, problems: list[Problem]) -> None:
        self.stack = stack
        self.problems = problems
        plural = "problem" if len(problems) == 1 else "problems"
        lines = [f"stack {stack!r}: {len(problems)} configuration {plural}; nothing was deployed."]
        lines += [p.render() for p in problems]
        lines.append("See README.md, 'Configuration' and 'Secrets', for every key.")
        super().__init__("\n".join(lines))


def _fix_set(stack: str, path: str, hint: str) -> str:
    if "." in path or "[" in path:
        return f"pulumi config set --path '{NAMESPACE}:{path}' {hint} --stack {stack}"
    return f"pulumi config set {NAMESPACE}:{path} {hint} --stack {stack}"


def _fix_secret(stack: str, key: str) -> str:
    return f"pulumi config set --secret {NAMESPACE}:{key} --stack {stack}   # paste the value when prompted"


def _loc_to_path(section: str, loc: tuple[Any, ...]) -> str:
    path = section
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _decode(value: Any) -> Any:
    """Structured config reaches a program as JSON text; the stack file gives YAML objects."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


#: The structured sections of a stack and their models; a missing section is handled by ``_missing_section``.
_SECTIONS: dict[str, type[BaseModel]] = {
    "github": GitHubSettings,
    "frontend": FrontendSettings,
    "backend": BackendSettings,
    "railway": RailwaySettings,
    "monitoring": MonitoringSettings,
    "backups": BackupSettings,
    "stateBackend": StateBackendSettings,
    "previews": PreviewSettings,
    "infra": InfraSettings,
    "adopt": AdoptSettings,
    "performance": PerformanceSettings,
    "errorTracking": ErrorTrackingSettings,
}


def parse(
    stack: str,
    raw: Mapping[str, Any],
    secret_keys: Collection[str],
    *,
    require_secrets: bool = True,
) -> StackConfig:
    """Validate a stack's raw config (``"maya-infra:key" -> value``) into a :class:`StackConfig`.

    ``secret_keys`` names the keys that Pulumi holds encrypted. With ``require_secrets=False`` (tools that
    read the stack file and need no secret) missing secrets are not reported. Each step below adds what it
    finds to one list of problems, so the user sees every problem of the stack at once.
    """
    if stack not in STACKS:
        problem = Problem(
            "(stack)", f"unknown stack {stack!r}; this project has {list(STACKS)}", "pulumi stack select staging"
        )
        raise ConfigError(stack, [problem])
    problems: list[Problem] = []
    ours = _our_keys(stack, raw, problems)
    refused = _secrets_of_other_stacks(stack, ours, secret_keys)
    problems += refused
    secrets, reported = _read_secrets(stack, ours, secret_keys, problems)
    reported |= {p.key for p in refused}
    platforms = _read_platforms(stack, ours, problems)
    sections = _read_sections(stack, ours, problems)
    if require_secrets:
        problems += _missing_secret_problems(stack, platforms, sections, secrets, reported)
        tracking = sections.get("errorTracking") if "errorTracking" in ours else False
        problems += _error_tracking_secret_problems(stack, tracking, platforms, secrets, reported)
    if problems:
        raise ConfigError(stack, problems)
    return _assemble(stack, platforms, sections, secrets, secret_keys)


def _our_keys(stack: str, raw: Mapping[str, Any], problems: list[Problem]) -> dict[str, Any]:
    """This project's keys; an unknown key is a problem (with the closest known key as a hint)."""
    ours: dict[str, Any] = {}
    for full_key, value in raw.items():
        namespace, _, key = full_key.partition(":")
        if namespace != NAMESPACE:
            continue
        if key not in KNOWN_KEYS:
            close = difflib.get_close_matches(key, sorted(KNOWN_KEYS), n=1)
            hint = f" (did you mean {NAMESPACE}:{close[0]}?)" if close else ""
            problems.append(
                Problem(
                    key,
                    f"is not a setting of this project{hint}",
                    f"pulumi config rm {NAMESPACE}:{key} --stack {stack}",
                )
            )
            continue
        ours[key] = value
    return ours


def _read_secrets(
    stack: str, ours: dict[str, Any], secret_keys: Collection[str], problems: list[Problem]
) -> tuple[dict[str, SecretStr], set[str]]:
    """Take the secrets out of ``ours``: each must be stored encrypted and not empty.

    Returns the secrets and the keys already reported (plain text, empty), which are then not reported as
    missing as well.
    """
    secrets: dict[str, SecretStr] = {}
    reported: set[str] = set()
    for spec in SECRETS:
        full_key = f"{NAMESPACE}:{spec.key}"
        if spec.key not in ours:
            continue
        value = ours.pop(spec.key)
        if full_key not in secret_keys:
            reported.add(spec.key)
            problems.append(
                Problem(
                    spec.key,
                    "is stored in plain text; it must be a Pulumi secret",
                    f"pulumi config rm {full_key} --stack {stack} && {_fix_secret(stack, spec.key)}",
                )
            )
            continue
        if value is None or not isinstance(value, str) or not value.strip():
            reported.add(spec.key)
            problems.append(Problem(spec.key, "is empty", _fix_secret(stack, spec.key)))
            continue
        secrets[spec.key] = SecretStr(value)
    return secrets, reported


def _secrets_of_other_stacks(stack: str, ours: dict[str, Any], secret_keys: Collection[str]) -> list[Problem]:
    """A secret this stack must never hold (the GitHub write token outside production; docs/trust.md), taken
    out of ``ours``. Refused whenever the stack holds it, encrypted or not, its value known or not: tools that
    read only the stack file refuse it too."""
    problems: list[Problem] = []
    for spec in SECRETS:
        held = spec.key in ours or f"{NAMESPACE}:{spec.key}" in secret_keys
        if stack in spec.stacks or not held:
            continue
        ours.pop(spec.key, None)
        holders = " and ".join(sorted(spec.stacks))
        problems.append(
            Problem(
                spec.key,
                f"must not be held by stack {stack!r}: only {holders} holds it ({spec.description}); whoever can "
                f"decrypt {stack}'s config (its pipeline, a pull request's approved preview) could otherwise change "
                f"{holders}",
                f"pulumi config rm {NAMESPACE}:{spec.key} --stack {stack}   # and revoke the token if it was ever used",
            )
        )
    return problems


def _read_platforms(stack: str, ours: Mapping[str, Any], problems: list[Problem]) -> frozenset[str]:
    value = _decode(ours.get("platforms", list(ALL_PLATFORMS)))
    if not isinstance(value, list) or not value or any(p not in ALL_PLATFORMS for p in value):
        problems.append(
            Problem(
                "platforms",
                f"must be a non-empty list drawn from {list(ALL_PLATFORMS)}",
                _fix_set(stack, "platforms", '\'["railway","vercel","github"]\' --path'),
            )
        )
        value = list(ALL_PLATFORMS)
    return frozenset(value)


def _read_sections(stack: str, ours: Mapping[str, Any], problems: list[Problem]) -> dict[str, Any]:
    """Validate each structured section against its model; every error becomes a keyed problem."""
    sections: dict[str, Any] = {}
    for name, model in _SECTIONS.items():
        if name not in ours:
            default = _missing_section(stack, name, ours, problems)
            if default is not None:
                sections[name] = default
            continue
        try:
            # JSON mode: arrays become tuples and ints are accepted as floats, while strings stay
            # strings (strict), so a wrong type in the stack file is reported, not coerced.
            sections[name] = model.model_validate_json(json.dumps(_decode(ours[name])))
            if isinstance(sections[name], PreviewSettings) and sections[name].enabled is None:
                sections[name] = sections[name].model_copy(update={"enabled": _previews_by_default(stack, ours)})
        except ValidationError as exc:
            problems += _section_problems(stack, name, model, exc)
    return sections


def _previews_by_default(stack: str, ours: Mapping[str, Any]) -> bool:
    """On by default where a preview can have its own database (docs/previews.md)."""
    backend_raw = _decode(ours.get("backend"))
    external = isinstance(backend_raw, dict) and backend_raw.get("database") == "external"
    return DEFAULT_PREVIEWS[stack] and not external


def _missing_section(stack: str, name: str, ours: Mapping[str, Any], problems: list[Problem]) -> BaseModel | None:
    """A section the stack file lacks: its default, nothing (optional), or a problem."""
    if name == "railway":
        return RailwaySettings()
    if name == "previews":
        return PreviewSettings(enabled=_previews_by_default(stack, ours))
    if name == "backups":
        return None  # the default schedule of the stack (DEFAULT_BACKUP_KINDS)
    if name == "adopt":
        return None  # nothing to adopt (written by `python -m ops adopt`)
    if name in ("performance", "errorTracking"):
        return None  # no performance stage (production never has one) / no error tracker: both optional
    if name == "infra":
        return InfraSettings()  # no reviewers: production's cross-check names the key
    if name == "stateBackend":
        return None  # needed to render the infra workflows, which say so (workflows/infra.py)
    if name == "monitoring" and stack != "production":
        return None  # staging may go without; production must be monitored
    if name == "monitoring":
        problems.append(
            Problem(
                name,
                "is missing: production must be monitored (alertEmails at least; see docs/monitoring.md)",
                f"copy the '{NAMESPACE}:monitoring' block of Pulumi.staging.yaml into Pulumi.{stack}.yaml "
                "and give it production's alert recipients",
            )
        )
        return None
    problems.append(
        Problem(
            name,
            "is missing",
            f"copy the '{NAMESPACE}:{name}' block of the other "
            f"stack's Pulumi.<stack>.yaml into Pulumi.{stack}.yaml and adapt it",
        )
    )
    return None


def _section_problems(stack: str, name: str, model: type[BaseModel], exc: ValidationError) -> list[Problem]:
    """pydantic's errors of one section as problems naming the exact key path and the fixing command."""
    problems: list[Problem] = []
    errors = exc.errors()
    locs = [tuple(e["loc"]) for e in errors]
    for err in errors:
        loc = tuple(err["loc"])
        if any(other != loc and other[: len(loc)] == loc for other in locs):
            continue  # the container's error is a consequence of its item's error
        path = _loc_to_path(name, loc)
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            owner = _model_at(model, loc[:-1])
            known = sorted(f.alias or n for n, f in owner.model_fields.items())
            leaf = str(err["loc"][-1]) if err["loc"] else ""
            close = difflib.get_close_matches(leaf, known, n=1)
            msg = "is not a known setting" + (f" (did you mean {close[0]}?)" if close else "")
            fix = f"pulumi config rm --path '{NAMESPACE}:{path}' --stack {stack}"
        elif err["type"] == "missing":
            msg = "is required"
            fix = _fix_set(stack, path, "<value>")
        else:
            if err["type"].endswith("_type") or err["type"] in ("literal_error", "enum"):
                msg = f"{msg} (got {json.dumps(err.get('input'))[:60]})"
            fix = _fix_set(stack, path, "<value>")
        problems.append(Problem(path, msg, fix))
    return problems


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel]:
    """The (nested) model that holds the key at ``loc``, so a misspelt nested key gets its own suggestion."""
    for part in loc:
        if isinstance(part, int):
            continue  # an item of a tuple of models: the same model
        field = next((f for n, f in model.model_fields.items() if part in (n, f.alias)), None)
        nested = [t for t in _types_in(field.annotation if field else None) if issubclass(t, BaseModel)]
        if not nested:
            return model
        model = nested[0]
    return model


def _types_in(annotation: Any) -> list[type]:
    """The classes named by an annotation (``tuple[X, ...]``, ``X | None``, ``X``)."""
    if isinstance(annotation, type):
        return [annotation]
    return [t for arg in getattr(annotation, "__args__", ()) for t in _types_in(arg)]


def _missing_secret_problems(
    stack: str,
    platforms: frozenset[str],
    sections: Mapping[str, Any],
    secrets: Mapping[str, SecretStr],
    reported: Collection[str],
) -> list[Problem]:
    """Secrets the stack needs and lacks, and secrets that contradict the settings."""
    problems: list[Problem] = []
    backend = sections.get("backend")
    database = backend.database if isinstance(backend, BackendSettings) else None
    for spec in SECRETS:
        if stack not in spec.stacks:
            continue  # refused when present (_secrets_of_other_stacks), never required
        if spec.key not in secrets and spec.key not in reported and spec.required(platforms, database):
            problems.append(Problem(spec.key, f"is missing ({spec.description})", _fix_secret(stack, spec.key)))
    if "databaseUrl" in secrets and database == "railway":
        problems.append(
            Problem(
                "databaseUrl",
                "is set but backend.database is 'railway' (the Railway PostgreSQL provides DATABASE_URL)",
                f"pulumi config rm {NAMESPACE}:databaseUrl --stack {stack}",
            )
        )
    problems += _monitoring_secret_problems(
        stack, sections.get("monitoring"), secrets, reported, checkly_platform="checkly" in platforms
    )
    problems += _production_checkly_problems(stack, sections.get("monitoring"), platforms, secrets, reported)
    smtp = secrets.get("smtpUrl")
    if smtp is not None and not smtp.get_secret_value().startswith(("smtp://", "smtps://")):
        problems.append(
            Problem("smtpUrl", "must be an smtp:// or smtps:// URL (credentials inside)", _fix_secret(stack, "smtpUrl"))
        )
    previews = sections.get("previews")
    wants_previews = isinstance(previews, PreviewSettings) and previews.enabled
    token_missing = "previewsRailwayToken" not in secrets and "previewsRailwayToken" not in reported
    if wants_previews and {"railway", "github"} <= platforms and token_missing:
        problems.append(
            Problem(
                "previewsRailwayToken",
                "is missing (previews.enabled is true: the preview workflow creates and removes Railway "
                "environments with it; use the account token of a bot that is a member of this stack's "
                "Railway project only — never production's; see docs/previews.md)",
                _fix_secret(stack, "previewsRailwayToken"),
            )
        )
    deploy_token, team_token = secrets.get("vercelDeployToken"), secrets.get("vercelToken")
    if deploy_token is not None and team_token is not None and deploy_token == team_token:
        problems.append(
            Problem(
                "vercelDeployToken",
                "is the team-wide vercelToken: CI's deploy job must hold a token scoped to this stack's "
                "Vercel project only, so that this environment's pipeline cannot change the other stack",
                _fix_secret(stack, "vercelDeployToken") + "   # a token created for this project alone",
            )
        )
    db_url = secrets.get("databaseUrl")
    if db_url is not None and not db_url.get_secret_value().startswith(("postgres://", "postgresql://")):
        problems.append(
            Problem("databaseUrl", "must be a postgres:// or postgresql:// URL", _fix_secret(stack, "databaseUrl"))
        )
    return problems


def _assemble(
    stack: str,
    platforms: frozenset[str],
    sections: Mapping[str, Any],
    secrets: dict[str, SecretStr],
    secret_keys: Collection[str],
) -> StackConfig:
    """The StackConfig; its cross-section checks (``_KeyedError``) become keyed problems too."""
    declared = frozenset(
        k.partition(":")[2] for k in secret_keys if k.startswith(f"{NAMESPACE}:") and k.partition(":")[2] in SECRET_KEYS
    )
    sections = {**sections}
    sections["state_backend"] = sections.pop("stateBackend", None)
    sections["error_tracking"] = sections.pop("errorTracking", None)
    try:
        fields = {"platforms": platforms, "secrets": secrets, "declared_secrets": declared | set(secrets), **sections}
        return StackConfig(stack=stack, **fields)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            cause = err.get("ctx", {}).get("error")
            if isinstance(cause, _KeyedError):
                fix = cause.fix or _fix_set(stack, cause.path, "<value>")
                problems.append(Problem(cause.path, cause.message, fix))
            else:
                problems.append(Problem(".".join(map(str, err["loc"])) or "(stack)", err["msg"], "see README"))
        raise ConfigError(stack, problems) from None


def _monitoring_secret_problems(
    stack: str,
    monitoring: Any,
    secrets: Mapping[str, SecretStr],
    reported: Collection[str],
    *,
    checkly_platform: bool = True,
) -> list[Problem]:
    """The monitoring secrets: each required only when its feature is on, and refused when set for nothing."""
    problems: list[Problem] = []
    present = {k for k in (*CHECKLY_ACCOUNT_KEYS, "slackWebhookUrl", "pagerdutyServiceKey") if k in secrets}

    def unused(key: str, why: str) -> None:
        problems.append(Problem(key, f"is set but {why}", f"pulumi config rm {NAMESPACE}:{key} --stack {stack}"))

    def missing(key: str, why: str) -> None:
        if key not in reported:
            problems.append(Problem(key, f"is missing ({why})", _fix_secret(stack, key)))

    if not isinstance(monitoring, MonitoringSettings):
        for key in sorted(present):
            unused(key, f"{NAMESPACE}:monitoring is not set (nothing would use it)")
        return problems
    account = [k for k in CHECKLY_ACCOUNT_KEYS if k in present]
    if monitoring.provider == "github-actions":
        for key in account:
            unused(key, "monitoring.provider is github-actions (set it to checkly or auto to use Checkly)")
        checkly_on = False
    elif not checkly_platform:
        for key in account:
            unused(key, f"checkly is left out of {NAMESPACE}:platforms")
        checkly_on = False
    elif monitoring.provider == "checkly" or account:
        for key in CHECKLY_ACCOUNT_KEYS:
            if key not in present:
                missing(key, "the Checkly account needs both checklyApiKey and checklyAccountId")
        checkly_on = True
    else:
        checkly_on = False
    for key, section, label in (
        ("slackWebhookUrl", monitoring.slack, "slack"),
        ("pagerdutyServiceKey", monitoring.pagerduty, "pagerduty"),
    ):
        if section.enabled and checkly_on and key not in present:
            missing(key, f"monitoring.{label}.enabled is true")
        elif not section.enabled and key in present:
            unused(key, f"monitoring.{label}.enabled is false")
    webhook = secrets.get("slackWebhookUrl")
    if webhook is not None and not webhook.get_secret_value().startswith("https://"):
        problems.append(
            Problem(
                "slackWebhookUrl", "must be an https:// incoming-webhook URL", _fix_secret(stack, "slackWebhookUrl")
            )
        )
    return problems


def _error_tracking_secret_problems(
    stack: str, tracking: Any, platforms: Collection[str], secrets: Mapping[str, SecretStr], reported: Collection[str]
) -> list[Problem]:
    """``sentryDsn`` (and, with GitHub, ``sentryAuthToken``) exactly when ``errorTracking`` is set.

    ``tracking``: the valid section, None when it is set but invalid (reported with its own keys), False when
    the stack has none.
    """
    problems: list[Problem] = []
    if tracking is None:
        return problems
    if tracking is False:
        for key in ("sentryDsn", "sentryAuthToken"):
            if key in secrets:
                problems.append(
                    Problem(
                        key,
                        f"is set but {NAMESPACE}:errorTracking is not (nothing would use it; docs/monitoring.md)",
                        f"pulumi config rm {NAMESPACE}:{key} --stack {stack}",
                    )
                )
        return problems
    needed = {"sentryDsn": "errorTracking is set: the backend reports its errors with it"}
    if "github" in platforms:
        needed["sentryAuthToken"] = (
            "errorTracking is set: the deploy jobs mark each release with it (a Sentry auth token with the "
            "project:releases scope)"
        )
    for key, why in needed.items():
        if key not in secrets and key not in reported:
            problems.append(Problem(key, f"is missing ({why})", _fix_secret(stack, key)))
    dsn = secrets.get("sentryDsn")
    problem = None if dsn is None else dsn_problem(dsn.get_secret_value())
    if problem:
        problems.append(Problem("sentryDsn", problem, _fix_secret(stack, "sentryDsn")))
    return problems


def _production_checkly_problems(
    stack: str, monitoring: Any, platforms: Collection[str], secrets: Mapping[str, SecretStr], reported: Collection[str]
) -> list[Problem]:
    """Production needs the Checkly account: its 30-second health check is what mails on an outage.

    Only when checkly is one of the stack's platforms (a rehearsal may leave it out on purpose; the program
    and the policy pack then report the gap) and the monitoring section is valid.
    """
    if stack != "production" or "checkly" not in platforms or not isinstance(monitoring, MonitoringSettings):
        return []
    if monitoring.provider != "auto" or any(k in secrets or k in reported for k in CHECKLY_ACCOUNT_KEYS):
        return []  # github-actions: refused by the model; checkly or half an account: reported as missing above
    return [
        Problem(
            key,
            "is missing: production's 30-second health check with e-mail alerts runs on Checkly",
            f"{_fix_secret(stack, key)}; then pulumi config set --path '{NAMESPACE}:monitoring.provider' "
            f"checkly --stack {stack}   (a rehearsal may leave checkly out of {NAMESPACE}:platforms; "
            "see docs/monitoring.md)",
        )
        for key in CHECKLY_ACCOUNT_KEYS
        if key not in secrets and key not in reported
    ]


def load_from_pulumi() -> StackConfig:
    """Read the running program's stack config once and validate it."""
    from pulumi.runtime import config as runtime_config

    raw: dict[str, Any] = dict(runtime_config.get_config_env())
    raw.update(runtime_config.CONFIG.get())
    secret_keys = set(runtime_config.get_config_secret_keys_env())
    secret_keys |= {k for k in raw if runtime_config.is_config_secret(k)}
    return with_peers(parse(pulumi.get_stack(), raw, secret_keys))


def with_peers(cfg: StackConfig, project_dir: Path = PROJECT_DIR) -> StackConfig:
    """``cfg`` with the other stacks' configs read from their stack files, once (see ``StackConfig.peers``)."""
    peers = tuple(_from_stack_file(stack, project_dir) for stack in STACKS if stack != cfg.stack)
    return cfg.model_copy(update={"peers": peers})


def read_stack_file(stack: str, project_dir: Path = PROJECT_DIR) -> tuple[dict[str, Any], set[str]]:
    """The raw config of Pulumi.<stack>.yaml and the keys it holds as ``secure:`` ciphertext."""
    path = project_dir / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise ConfigError(
            stack,
            [Problem("(stack)", f"{path.name} does not exist", f"pulumi stack init {stack}   # then set its config")],
        )
    document = yaml.safe_load(path.read_text()) or {}
    raw = dict(document.get("config") or {})
    secret_keys = {k for k, v in raw.items() if isinstance(v, dict) and set(v) == {"secure"}}
    return raw, secret_keys


def load_from_stack_file(stack: str, project_dir: Path = PROJECT_DIR) -> StackConfig:
    """Validate the non-secret settings of a stack from its file (and its peers'), for tools that run without the
    engine."""
    return with_peers(_from_stack_file(stack, project_dir), project_dir)


def _from_stack_file(stack: str, project_dir: Path) -> StackConfig:
    raw, secret_keys = read_stack_file(stack, project_dir)
    return parse(stack, {k: v for k, v in raw.items() if k not in secret_keys}, secret_keys, require_secrets=False)
