"""Every environment variable of the pipeline, declared once.

Each row says which services receive the variable (the backend on Railway, the frontend build on
Vercel, the CI deploy jobs as GitHub environment secrets or variables), whether it is secret, in which
stacks it is required, and where its value comes from: a config secret, a literal, a stack setting, or
another resource's output. Cross-platform wiring lives here and nowhere else: the components only ask
"which variables do I get?" and resolve the sources they are handed.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, fields

import pulumi

from config import StackConfig
from config.monitoring import MONITORING_SCHEDULE
from config.secrets import SECRETS, PreviewUse, SecretSpec


class Target(enum.Enum):
    BACKEND = "backend"  # Railway service variables
    FRONTEND_BUILD = "frontend"  # Vercel project environment variables
    CI_FRONTEND = "ci-frontend"  # GitHub environment secret/variable of the frontend repository
    CI_BACKEND = "ci-backend"  # GitHub environment secret/variable of the backend repository
    CI_PREVIEW = "ci-preview"  # GitHub `preview` environment of the backend repository (docs/previews.md)
    CI_ALERTS = "ci-alerts"  # GitHub environment "<environment>-alerts" of each repository: alert mail only
    CI_SCAN = "ci-scan"  # GitHub environment "<environment>-scan" of each repository: scanner tokens only


#: The GitHub environment of a stack's alert mail is ``<environment>`` plus this (no reviewers, mail only).
ALERTS_SUFFIX = "-alerts"
#: The GitHub environment of the token-holding scanners (Snyk, Safety): ``<environment>`` plus this. It holds
#: no deploy secret, so the scanners — third-party code — never run in a job that can deploy.
SCAN_SUFFIX = "-scan"


@dataclass(frozen=True)
class ConfigSecret:
    """A secret from the stack config (``maya-infra:<key>``)."""

    key: str


@dataclass(frozen=True)
class Setting:
    """A non-secret value derived from the validated stack config."""

    pick: Callable[[StackConfig], str]


@dataclass
class Wiring:
    """What the platform components hand each other: the typed contract of the cross-platform values.

    The program fills it in the order the data flows (Railway first, then Vercel; GitHub and monitoring
    read it) and every :class:`Output` source of the table names one of its fields, checked when the table
    is built. A field left ``None`` means its platform is not in the stack; a variable that needs it then
    fails with a message naming both.
    """

    backend_url: pulumi.Input[str] | None = None
    database_url: pulumi.Input[str] | None = None
    railway_project_token: pulumi.Input[str] | None = None
    #: the 5xx-rate alert's own project token (program.py), None where nobody polls the rate
    railway_metrics_token: pulumi.Input[str] | None = None
    railway_project_id: pulumi.Input[str] | None = None
    railway_environment_id: pulumi.Input[str] | None = None
    railway_service_id: pulumi.Input[str] | None = None
    #: the PostgreSQL volume instance of the stack's Railway database (the pre-deploy backup), None without one
    railway_volume_instance_id: pulumi.Input[str] | None = None
    vercel_project_id: pulumi.Input[str] | None = None
    vercel_team_id: pulumi.Input[str] | None = None
    #: the staging project's "Protection Bypass for Automation" secret (components/vercel.py), a secret Output
    vercel_automation_bypass: pulumi.Input[str] | None = None


WIRING_FIELDS = frozenset(f.name for f in fields(Wiring))


@dataclass(frozen=True)
class Output:
    """A value another component produces, by its :class:`Wiring` field."""

    name: str

    def __post_init__(self) -> None:
        if self.name not in WIRING_FIELDS:
            raise ValueError(f"envvars: {self.name!r} is not a Wiring field ({', '.join(sorted(WIRING_FIELDS))})")


Source = ConfigSecret | Setting | Output


@dataclass(frozen=True)
class EnvVar:
    name: str
    targets: frozenset[Target]
    secret: bool
    source: Source
    required_in: frozenset[str] = frozenset({"staging", "production"})
    description: str = ""
    #: the platform the value belongs to; when a stack leaves that platform out, so is the variable
    platform: str | None = None
    #: when set, an empty value is an error with this fix (a CI variable the tools cannot do without)
    if_empty: str | None = None
    #: what a pull-request preview gets of it (see PreviewUse); the policy pack holds the workflow to it
    previews: PreviewUse = True
    #: when set, the variable exists only in stacks where this holds (e.g. only where its resource is declared)
    only_if: Callable[[StackConfig], bool] | None = None
    #: Railway: a shared variable of the environment (the service references it as ``${{shared.NAME}}``)
    shared: bool = False

    def applies_to(self, cfg: StackConfig) -> bool:
        """Declared in a stack if its platform is there and it is required, or its optional source is set."""
        if self.platform is not None and self.platform not in cfg.platforms:
            return False
        if self.only_if is not None and not self.only_if(cfg):
            return False
        if cfg.stack in self.required_in:
            return True
        return isinstance(self.source, ConfigSecret) and cfg.secret(self.source.key) is not None


_BOTH = frozenset({"staging", "production"})
_CI = frozenset({Target.CI_FRONTEND, Target.CI_BACKEND})
#: What the scheduled monitor reads Railway's request counts with (workflows/scripts/error_rate.py): only in
#: the backend repository's ``<environment>-alerts``, only where the workflow polls them (never production).
METRICS_VARIABLES = ("RAILWAY_METRICS_TOKEN", "RAILWAY_SERVICE_ID", "RAILWAY_ENVIRONMENT_ID")


def _workflow_polls_error_rate(cfg: StackConfig) -> bool:
    return cfg.error_rate_poller == MONITORING_SCHEDULE and not cfg.is_production


def _tracks_errors(cfg: StackConfig) -> bool:
    return cfg.error_tracking is not None


#: The backend's release is the commit of the running deployment: Railway sets RAILWAY_GIT_COMMIT_SHA in every
#: deployment of a GitHub source, and a same-service reference resolves to it (the deploy job marks that release).
SENTRY_RELEASE_REFERENCE = "${{RAILWAY_GIT_COMMIT_SHA}}"


def _tracking(
    name: str, targets: frozenset[Target], secret: bool, source: Source, description: str, previews: PreviewUse = True
) -> EnvVar:
    """A variable of the optional error tracker: present exactly where ``maya-infra:errorTracking`` is set."""
    return EnvVar(name, targets, secret, source, _BOTH, description, previews=previews, only_if=_tracks_errors)


def _backend_secret(spec: SecretSpec) -> EnvVar:
    """The backend variable of a secret ``config.secrets`` declares as one (``SecretSpec.backend``)."""
    assert spec.backend is not None
    return EnvVar(
        spec.env_name,
        frozenset({Target.BACKEND}),
        True,
        ConfigSecret(spec.key),
        _BOTH,
        spec.description,
        previews=spec.backend,
    )


TABLE: tuple[EnvVar, ...] = (
    # --- backend (Railway) -------------------------------------------------------------------------
    EnvVar(
        "DATABASE_URL",
        frozenset({Target.BACKEND}),
        True,
        Output("database_url"),
        _BOTH,
        "PostgreSQL connection: ${{Postgres.DATABASE_URL}} on Railway, or the external URL secret",
    ),
    # the backend's secrets, from their one declaration in config/secrets.py (with what a preview gets of each)
    *(_backend_secret(spec) for spec in SECRETS if spec.backend is not None),
    EnvVar(
        "ENVIRONMENT",
        frozenset({Target.BACKEND}),
        False,
        Setting(lambda c: c.stack),
        _BOTH,
        "which environment the backend runs in",
    ),
    EnvVar(
        "PORT",
        frozenset({Target.BACKEND}),
        False,
        Setting(lambda c: str(c.backend.port)),
        _BOTH,
        "the port uvicorn listens on; the Railway domain targets the same port",
    ),
    # --- alert mail of the pipelines and the scheduled monitor (workflows/mail.py) -------------------------
    EnvVar(
        "SMTP_URL",
        frozenset({Target.CI_ALERTS}),
        True,
        ConfigSecret("smtpUrl"),
        _BOTH,
        "SMTP server with credentials (smtps://user:password@host:465) the pipelines mail alerts through",
        platform="github",
    ),
    EnvVar(
        "ALERT_EMAILS",
        frozenset({Target.CI_ALERTS}),
        False,
        Setting(lambda c: ",".join(c.monitoring.alert_emails) if c.monitoring else ""),
        _BOTH,
        "monitoring.alertEmails: who a failed pipeline run or an unhealthy environment mails",
        platform="github",
    ),
    EnvVar(
        "ALERT_FROM",
        frozenset({Target.CI_ALERTS}),
        False,
        Setting(lambda c: (c.monitoring.alert_from or c.monitoring.alert_emails[0]) if c.monitoring else ""),
        _BOTH,
        "the sender of alert mail (monitoring.alertFrom, else the first alertEmails address)",
        platform="github",
    ),
    EnvVar(
        "FRONTEND_URL",
        frozenset({Target.BACKEND}),
        False,
        Setting(lambda c: c.frontend.url),
        _BOTH,
        "the public frontend origin, for CORS and links in e-mails",
    ),
    # --- frontend build (Vercel) --------------------------------------------------------------------
    EnvVar(
        "NEXT_PUBLIC_API_URL",
        frozenset({Target.FRONTEND_BUILD}),
        False,
        Output("backend_url"),
        _BOTH,
        "the backend's public URL, baked into the Next.js build",
    ),
    # --- CI deploy jobs (GitHub environment secrets and variables) ------------------------------------
    EnvVar(
        "VERCEL_TOKEN",
        frozenset({Target.CI_FRONTEND}),
        True,
        ConfigSecret("vercelDeployToken"),
        _BOTH,
        "the stack's own deploy token, scoped to its Vercel project only (never the team-wide vercelToken): "
        "lets the frontend deploy job run `vercel pull/build/deploy --prebuilt`",
        platform="vercel",
    ),
    EnvVar(
        "VERCEL_ORG_ID",
        frozenset({Target.CI_FRONTEND, Target.CI_PREVIEW}),
        False,
        Output("vercel_team_id"),
        _BOTH,
        "Vercel team that owns the project (the Vercel CLI refuses an empty one)",
        platform="vercel",
        if_empty="set maya-infra:frontend.teamId to the team's id (Vercel → Team Settings → General → Team ID)",
    ),
    EnvVar(
        "VERCEL_PROJECT_ID",
        frozenset({Target.CI_FRONTEND, Target.CI_PREVIEW}),
        False,
        Output("vercel_project_id"),
        _BOTH,
        "the stack's Vercel project",
        platform="vercel",
    ),
    EnvVar(
        "SNYK_TOKEN",
        frozenset({Target.CI_SCAN}),
        True,
        ConfigSecret("snykToken"),
        frozenset(),
        "optional: enables the Snyk scan of the frontend",
    ),
    EnvVar(
        "SAFETY_API_KEY",
        frozenset({Target.CI_SCAN}),
        True,
        ConfigSecret("safetyApiKey"),
        frozenset(),
        "optional: enables the Safety scan of the backend",
    ),
    EnvVar(
        "RAILWAY_TOKEN",
        frozenset({Target.CI_BACKEND}),
        True,
        Output("railway_project_token"),
        _BOTH,
        "environment-scoped Railway project token of the backend deploy job",
        platform="railway",
    ),
    EnvVar(
        "RAILWAY_PROJECT_ID",
        frozenset({Target.CI_BACKEND, Target.CI_PREVIEW}),
        False,
        Output("railway_project_id"),
        _BOTH,
        "Railway project of the stack",
        platform="railway",
    ),
    EnvVar(
        "RAILWAY_ENVIRONMENT_ID",
        frozenset({Target.CI_BACKEND, Target.CI_PREVIEW}),
        False,
        Output("railway_environment_id"),
        _BOTH,
        "Railway environment of the stack",
        platform="railway",
    ),
    EnvVar(
        "RAILWAY_SERVICE_ID",
        frozenset({Target.CI_BACKEND, Target.CI_PREVIEW}),
        False,
        Output("railway_service_id"),
        _BOTH,
        "the backend service, for deploys and rollbacks",
        platform="railway",
    ),
    EnvVar(
        "RAILWAY_VOLUME_INSTANCE_ID",
        frozenset({Target.CI_BACKEND}),
        False,
        Output("railway_volume_instance_id"),
        frozenset({"production"}),
        "the PostgreSQL volume the production deploy backs up before new migrations run",
        platform="railway",
        only_if=lambda c: c.is_production and c.has_railway_database,
    ),
    EnvVar(
        "RAILWAY_BACKUP_TOKEN",
        frozenset({Target.CI_BACKEND}),
        True,
        ConfigSecret("railwayBackupToken"),
        frozenset(),
        "takes the pre-deploy backup of the database volume (project tokens cannot): an account token of a bot "
        "that is a member of the production Railway project only",
        platform="railway",
        only_if=lambda c: c.is_production and c.has_railway_database,
    ),
    EnvVar(
        "RAILWAY_PREVIEW_TOKEN",
        frozenset({Target.CI_PREVIEW}),
        True,
        ConfigSecret("previewsRailwayToken"),
        frozenset({"staging"}),
        "creates and removes the pull requests' Railway environments (never production's token)",
        platform="railway",
    ),
    # --- the scheduled monitor's backend 5xx rate (staging's fallback; docs/monitoring.md) ----------------------
    EnvVar(
        "RAILWAY_METRICS_TOKEN",
        frozenset({Target.CI_ALERTS}),
        True,
        Output("railway_metrics_token"),
        frozenset({"staging"}),
        "the stack's metrics project token (maya-<stack>-metrics): reads the backend's request counts",
        platform="railway",
        only_if=_workflow_polls_error_rate,
    ),
    EnvVar(
        "RAILWAY_SERVICE_ID",
        frozenset({Target.CI_ALERTS}),
        False,
        Output("railway_service_id"),
        frozenset({"staging"}),
        "the backend service whose request counts the monitor reads",
        platform="railway",
        only_if=_workflow_polls_error_rate,
    ),
    EnvVar(
        "RAILWAY_ENVIRONMENT_ID",
        frozenset({Target.CI_ALERTS}),
        False,
        Output("railway_environment_id"),
        frozenset({"staging"}),
        "the Railway environment of those request counts",
        platform="railway",
        only_if=_workflow_polls_error_rate,
    ),
    EnvVar(
        "VERCEL_TOKEN",
        frozenset({Target.CI_PREVIEW}),
        True,
        ConfigSecret("previewsVercelToken"),
        frozenset(),
        "optional: wires each preview's Vercel build to its backend (a token of a team that holds no production "
        "project; without it previews have no frontend wiring)",
        platform="vercel",
    ),
    EnvVar(
        "VERCEL_AUTOMATION_BYPASS_SECRET",
        frozenset({Target.CI_PREVIEW}),
        True,
        Output("vercel_automation_bypass"),
        frozenset({"staging"}),
        "the x-vercel-protection-bypass header value of the previews' E2E job (Vercel protects previews; "
        "generated by Vercel for staging's project, never production's)",
        platform="vercel",
        only_if=lambda c: c.preview_e2e,
    ),
    EnvVar("BACKEND_URL", _CI, False, Output("backend_url"), _BOTH, "health checks and smoke tests after a deploy"),
    # --- error tracking (optional: maya-infra:errorTracking; docs/monitoring.md, "Error tracking") --------------
    # never in previews: a pull request's unreviewed code must not report into the stack's Sentry project
    _tracking(
        "SENTRY_DSN", frozenset({Target.BACKEND}), True, ConfigSecret("sentryDsn"), "the backend's Sentry DSN", False
    ),
    _tracking(
        "SENTRY_ENVIRONMENT",
        frozenset({Target.BACKEND}),
        False,
        Setting(lambda c: c.environment),
        "the environment the backend's errors are filed under",
    ),
    _tracking(
        "SENTRY_RELEASE",
        frozenset({Target.BACKEND}),
        False,
        Setting(lambda c: SENTRY_RELEASE_REFERENCE),
        "the release of the backend's errors: the commit Railway deployed (the deploy job marks it in Sentry)",
    ),
    _tracking(
        "NEXT_PUBLIC_SENTRY_DSN",
        frozenset({Target.FRONTEND_BUILD}),
        False,
        Setting(lambda c: c.error_tracking.frontend_dsn if c.error_tracking else ""),
        "the frontend's Sentry DSN (public: the browser sends errors with it)",
    ),
    _tracking(
        "NEXT_PUBLIC_SENTRY_ENVIRONMENT",
        frozenset({Target.FRONTEND_BUILD}),
        False,
        Setting(lambda c: c.environment),
        "the environment the frontend's errors are filed under (its release is the built commit, SENTRY_RELEASE)",
    ),
    _tracking(
        "SENTRY_AUTH_TOKEN",
        _CI,
        True,
        ConfigSecret("sentryAuthToken"),
        "lets the deploy jobs mark each release in Sentry (sentry-cli; scope project:releases)",
    ),
    _tracking(
        "SENTRY_URL",
        _CI,
        False,
        Setting(lambda c: c.error_tracking.url if c.error_tracking else ""),
        "the Sentry server sentry-cli talks to",
    ),
    _tracking(
        "SENTRY_ORG",
        _CI,
        False,
        Setting(lambda c: c.error_tracking.organization if c.error_tracking else ""),
        "the Sentry organization of the releases",
    ),
    _tracking(
        "SENTRY_FRONTEND_PROJECT",
        frozenset({Target.CI_FRONTEND}),
        False,
        Setting(lambda c: c.error_tracking.frontend_project if c.error_tracking else ""),
        "the frontend's Sentry project (the frontend deploy job marks its releases there)",
    ),
    _tracking(
        "SENTRY_BACKEND_PROJECT",
        frozenset({Target.CI_BACKEND}),
        False,
        Setting(lambda c: c.error_tracking.backend_project if c.error_tracking else ""),
        "the backend's Sentry project (the backend deploy job marks its releases there)",
    ),
    EnvVar(
        "FRONTEND_URL",
        frozenset({Target.CI_FRONTEND}),
        False,
        Setting(lambda c: c.frontend.url),
        _BOTH,
        "smoke tests after a frontend deploy",
    ),
)


def for_target(cfg: StackConfig, target: Target) -> tuple[EnvVar, ...]:
    """The variables a target receives in this stack, in table order (the preview environment's only when
    the stack has previews)."""
    if target is Target.CI_PREVIEW and not cfg.previews_active:
        return ()
    return tuple(v for v in TABLE if target in v.targets and v.applies_to(cfg))


def preview_names(use: PreviewUse, target: Target = Target.BACKEND) -> tuple[str, ...]:
    """The names of ``target``'s variables whose preview use is ``use`` (e.g. ``False``: never copied)."""
    return tuple(v.name for v in TABLE if target in v.targets and v.previews == use)


def resolve(var: EnvVar, cfg: StackConfig, wiring: Wiring) -> pulumi.Output[str]:
    """The variable's value as an Output; secret variables are always secret Outputs."""
    source = var.source
    value: pulumi.Output[str]
    if isinstance(source, ConfigSecret):
        secret = cfg.secret(source.key)
        if secret is None:
            raise KeyError(f"maya-infra:{source.key} is not set but {var.name} needs it")
        value = pulumi.Output.secret(secret.get_secret_value())
    elif isinstance(source, Setting):
        value = pulumi.Output.from_input(source.pick(cfg))
    else:
        produced = getattr(wiring, source.name)
        if produced is None:
            raise KeyError(f"{var.name} comes from {source.name!r}, which no component of this stack produces")
        value = pulumi.Output.from_input(produced)
    if var.if_empty is not None:
        value = value.apply(lambda v: _not_empty(var, v))
    return pulumi.Output.secret(value) if var.secret else value


@dataclass(frozen=True)
class Resolved:
    """A variable's value as a component receives it, and whether its platform must hold it as a secret
    (a GitHub environment secret rather than a variable; a sensitive Vercel variable)."""

    value: pulumi.Input[str]
    secret: bool


def resolved(var: EnvVar, cfg: StackConfig, wiring: Wiring) -> Resolved:
    """:func:`resolve` with the variable's secrecy, what a component declares it from."""
    return Resolved(resolve(var, cfg, wiring), var.secret)


def resolved_for(cfg: StackConfig, target: Target, wiring: Wiring) -> dict[str, Resolved]:
    """Every variable ``target`` receives in this stack, NAME -> :class:`Resolved`, in table order."""
    return {v.name: resolved(v, cfg, wiring) for v in for_target(cfg, target)}


def _not_empty(var: EnvVar, value: str) -> str:
    if not value:
        raise ValueError(f"{var.name} would be empty ({var.description}); {var.if_empty}")
    return value
