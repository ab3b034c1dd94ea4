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
    NAMESPACE,
    PROJECT_DIR,
    STACKS,
    AdoptSettings,
    BackendSettings,
    BackupSettings,
    FrontendSettings,
    GitHubSettings,
    MonitoringSettings,
    RailwaySettings,
    StackConfig,
    _KeyedError,
)
from config.secrets import KNOWN_KEYS, SECRET_KEYS, SECRETS


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


def parse(
    stack: str,
    raw: Mapping[str, Any],
    secret_keys: Collection[str],
    *,
    require_secrets: bool = True,
) -> StackConfig:
    """Validate a stack's raw config (``"maya-infra:key" -> value``) into a :class:`StackConfig`.

    ``secret_keys`` names the keys that Pulumi holds encrypted. With ``require_secrets=False`` (tools that
    read the stack file and need no secret) missing secrets are not reported.
    """
    problems: list[Problem] = []
    if stack not in STACKS:
        problems.append(
            Problem(
                "(stack)",
                f"unknown stack {stack!r}; this project has {list(STACKS)}",
                "pulumi stack select staging   # or production",
            )
        )
        raise ConfigError(stack, problems)

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

    secrets: dict[str, SecretStr] = {}
    reported: set[str] = set()  # secrets already reported (plain text, empty): not "missing" as well
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

    sections: dict[str, Any] = {}
    section_models: dict[str, type[BaseModel]] = {
        "github": GitHubSettings,
        "frontend": FrontendSettings,
        "backend": BackendSettings,
        "railway": RailwaySettings,
        "monitoring": MonitoringSettings,
        "backups": BackupSettings,
        "adopt": AdoptSettings,
    }
    platforms_value = _decode(ours.get("platforms", list(ALL_PLATFORMS)))
    if (
        not isinstance(platforms_value, list)
        or not platforms_value
        or any(p not in ALL_PLATFORMS for p in platforms_value)
    ):
        problems.append(
            Problem(
                "platforms",
                f"must be a non-empty list drawn from {list(ALL_PLATFORMS)}",
                _fix_set(stack, "platforms", '\'["railway","vercel","github"]\' --path'),
            )
        )
        platforms_value = list(ALL_PLATFORMS)
    for name, model in section_models.items():
        if name not in ours:
            if name == "railway":
                sections[name] = RailwaySettings()
                continue
            if name in ("backups", "adopt"):
                continue  # the default schedule of the stack (DEFAULT_BACKUP_KINDS)
            if name == "monitoring" and stack != "production":
                continue  # staging may go without; production must be monitored
            if name == "monitoring":
                problems.append(
                    Problem(
                        name,
                        "is missing: production must be monitored (alertEmails at least; see docs/monitoring.md)",
                        f"copy the '{NAMESPACE}:monitoring' block of Pulumi.staging.yaml into Pulumi.{stack}.yaml "
                        "and give it production's alert recipients",
                    )
                )
                continue
            problems.append(
                Problem(
                    name,
                    "is missing",
                    f"copy the '{NAMESPACE}:{name}' block of the other "
                    f"stack's Pulumi.<stack>.yaml into Pulumi.{stack}.yaml and adapt it",
                )
            )
            continue
        value = _decode(ours[name])
        try:
            # JSON mode: arrays become tuples and ints are accepted as floats, while strings stay
            # strings (strict), so a wrong type in the stack file is reported, not coerced.
            sections[name] = model.model_validate_json(json.dumps(value))
        except ValidationError as exc:
            errors = exc.errors()
            locs = [tuple(e["loc"]) for e in errors]
            for err in errors:
                loc = tuple(err["loc"])
                if any(other != loc and other[: len(loc)] == loc for other in locs):
                    continue  # the container's error is a consequence of its item's error
                path = _loc_to_path(name, loc)
                msg = err["msg"].removeprefix("Value error, ")
                if err["type"] == "extra_forbidden":
                    known = sorted(f.alias or n for n, f in model.model_fields.items())
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

    platforms = frozenset(platforms_value)
    if require_secrets:
        backend = sections.get("backend")
        database = backend.database if isinstance(backend, BackendSettings) else None
        for spec in SECRETS:
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
        problems += _monitoring_secret_problems(stack, sections.get("monitoring"), secrets, reported)
        db_url = secrets.get("databaseUrl")
        if db_url is not None and not db_url.get_secret_value().startswith(("postgres://", "postgresql://")):
            problems.append(
                Problem("databaseUrl", "must be a postgres:// or postgresql:// URL", _fix_secret(stack, "databaseUrl"))
            )
    if problems:
        raise ConfigError(stack, problems)

    declared = frozenset(
        k.partition(":")[2] for k in secret_keys if k.startswith(f"{NAMESPACE}:") and k.partition(":")[2] in SECRET_KEYS
    )
    try:
        fields = {"platforms": platforms, "secrets": secrets, "declared_secrets": declared | set(secrets), **sections}
        return StackConfig(stack=stack, **fields)  # type: ignore[arg-type]
    except ValidationError as exc:
        for err in exc.errors():
            cause = err.get("ctx", {}).get("error")
            if isinstance(cause, _KeyedError):
                problems.append(Problem(cause.path, cause.message, _fix_set(stack, cause.path, "<value>")))
            else:
                problems.append(Problem(".".join(map(str, err["loc"])) or "(stack)", err["msg"], "see README"))
        raise ConfigError(stack, problems) from None


def _monitoring_secret_problems(
    stack: str, monitoring: Any, secrets: Mapping[str, SecretStr], reported: Collection[str]
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


def load_from_pulumi() -> StackConfig:
    """Read the running program's stack config once and validate it."""
    from pulumi.runtime import config as runtime_config

    raw: dict[str, Any] = dict(runtime_config.get_config_env())
    raw.update(runtime_config.CONFIG.get())
    secret_keys = set(runtime_config.get_config_secret_keys_env())
    secret_keys |= {k for k in raw if runtime_config.is_config_secret(k)}
    return parse(pulumi.get_stack(), raw, secret_keys)


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
    """Validate the non-secret settings of a stack from its file, for tools that run without the engine."""
    raw, secret_keys = read_stack_file(stack, project_dir)
    return parse(stack, {k: v for k, v in raw.items() if k not in secret_keys}, secret_keys, require_secrets=False)
