"""One typed, validated configuration model per stack.

The stack's config is read once (``load_from_pulumi`` inside the program, ``load_from_stack_file`` for
tools that run without the engine) and validated as a whole. Every problem is collected and reported
together in one :class:`ConfigError` that names each key, what is wrong and the command that fixes it —
before a single resource is declared. Secret values are held as :class:`pydantic.SecretStr`, so they
never appear in a ``repr``, a validation message or a log line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from config.monitoring import MONITORING_CHECKLY, MONITORING_NONE, MONITORING_SCHEDULE, MonitoringSettings
from config.performance import PerformanceSettings
from config.tracking import ErrorTrackingSettings
from config.types import REGION_RE, Branch, Domain, GitHubName, UrlPath, _Section

NAMESPACE = "maya-infra"
STACKS = ("staging", "production")
PROJECT_DIR = Path(__file__).resolve().parent.parent

Platform = Literal["railway", "vercel", "github", "checkly"]
#: ``checkly`` is the uptime-monitoring platform (components/monitoring.py); like the others it can be left out
#: of a stack on purpose (a local rehearsal without its plugin), which production then reports as a gap.
ALL_PLATFORMS: tuple[Platform, ...] = ("railway", "vercel", "github", "checkly")
#: The longest interval between two backend health checks production accepts (the spec: every 30 seconds).
PRODUCTION_BACKEND_INTERVAL_SECONDS = 30
#: The GitHub App id of GitHub Actions: a required check that names it can only be satisfied by a workflow run,
#: never by a commit status someone with write access posts under the same name (docs/trust.md).
GITHUB_ACTIONS_APP_ID = 15368


class Reviewer(_Section):
    """A required reviewer of a GitHub environment. GitHub's API takes numeric ids, not names."""

    kind: Literal["user", "team"]
    id: int = Field(gt=0)
    name: str = Field(min_length=1, description="login or team slug, for people reading the config")


def _at_most_six_reviewers(reviewers: tuple[Reviewer, ...]) -> tuple[Reviewer, ...]:
    if len(reviewers) > 6:
        raise ValueError("GitHub allows at most 6 required reviewers per environment")
    return reviewers


Reviewers = Annotated[tuple[Reviewer, ...], AfterValidator(_at_most_six_reviewers)]


class BypassActor(_Section):
    """Who may push to the protected branch without a pull request (the bot that runs `pulumi up`)."""

    actor_type: Literal["Integration", "OrganizationAdmin", "RepositoryRole", "Team", "DeployKey"]
    actor_id: int = Field(ge=0)
    bypass_mode: Literal["always", "pull_request"] = "always"


class GitHubSettings(_Section):
    owner: GitHubName
    frontend_repository: GitHubName
    backend_repository: GitHubName
    frontend_path: str = "omega-frontend"
    backend_path: str = "backend"
    branch: Branch
    required_checks: tuple[str, ...] = Field(min_length=1)
    reviewers: Reviewers = ()
    prevent_self_review: bool = True
    required_approvals: int = Field(default=1, ge=0, le=6)
    wait_timer_minutes: int = Field(default=0, ge=0, le=43200)
    protection: Literal["ruleset", "branch_protection"] = "ruleset"
    bypass_actors: tuple[BypassActor, ...] = ()
    commit_workflows: bool = True
    base_url: str | None = Field(default=None, description="GitHub Enterprise or test API base URL")

    @field_validator("protection")
    @classmethod
    def _only_rulesets(cls, protection: str) -> str:
        if protection != "ruleset":
            raise ValueError(
                "'branch_protection' cannot require that a check comes from GitHub Actions (the provider's "
                "BranchProtection names no app), so a commit status of the same name posted by anyone with write "
                "access would satisfy it: use 'ruleset' (its required checks name GitHub Actions, app 15368)"
            )
        return protection

    @property
    def monorepo(self) -> bool:
        return self.frontend_repository == self.backend_repository

    @property
    def repositories(self) -> tuple[str, ...]:
        """Each repository once: one for a monorepo, two when frontend and backend are split."""
        return tuple(dict.fromkeys((self.frontend_repository, self.backend_repository)))


class FrontendSettings(_Section):
    project_name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,99}$")
    root_directory: str = "omega-frontend"
    framework: Literal["nextjs"] = "nextjs"
    domains: tuple[Domain, ...] = Field(min_length=1)
    redirect_domains: tuple[Domain, ...] = ()
    preview_deployments: bool = False
    node_version: Literal["20.x", "22.x", "24.x"] = "20.x"
    team_id: str | None = Field(default=None, pattern=r"^team_[A-Za-z0-9]+$")
    #: The scope of this stack's ``vercelToken`` (Vercel → Account Settings → Tokens): ``team`` reaches every
    #: project of the team, ``project`` only this stack's project. Staging may share production's team only with a
    #: ``project`` token (docs/trust.md); the program cannot ask Vercel, so this is a declaration reviewers check.
    token_scope: Literal["team", "project"] = "team"  # noqa: S105 (a token's scope, not a password)

    @property
    def primary_domain(self) -> str:
        return self.domains[0]

    @property
    def url(self) -> str:
        return f"https://{self.primary_domain}"


class BackendSettings(_Section):
    project_name: str = Field(min_length=1, max_length=100)
    environment_name: str | None = None
    service_name: str = Field(default="backend", pattern=r"^[A-Za-z0-9][A-Za-z0-9 _-]{0,63}$")
    #: The PostgreSQL service's name (Railway's template calls it ``Postgres``; ``ops adopt`` records a
    #: running database's own name here, so adopting never renames or replaces it).
    database_service_name: str = Field(default="Postgres", pattern=r"^[A-Za-z0-9][A-Za-z0-9 _-]{0,63}$")
    root_directory: str = "backend"
    region: str = "us-west2"
    #: Where the PostgreSQL volume lives; None = the backend's ``region`` (a database far from its backend
    #: adds a network round trip to every query).
    database_region: str | None = None
    replicas: int = Field(default=1, ge=1, le=50)
    port: int = Field(default=8000, ge=1, le=65535)
    build_command: str | None = None
    start_command: str = Field(min_length=1)
    pre_deploy_command: str = Field(min_length=1)
    healthcheck_path: UrlPath = "/api/health"
    healthcheck_timeout_seconds: int = Field(default=300, ge=1, le=3600)
    restart_policy: Literal["ALWAYS", "NEVER", "ON_FAILURE"] = "ON_FAILURE"
    restart_policy_max_retries: int = Field(default=10, ge=0, le=100)
    custom_domain: Domain | None = None
    database: Literal["railway", "external"] = "railway"
    deploy_timeout_seconds: int = Field(default=900, ge=10, le=7200)
    deploy_poll_seconds: float = Field(default=5.0, gt=0, le=60)
    wait_for_ci: bool = True

    @field_validator("region", "database_region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        if value is not None and not REGION_RE.match(value):
            raise ValueError(f"{value!r} is not a Railway region id (e.g. us-west2, us-east4-eqdc4a)")
        return value

    @property
    def postgres_region(self) -> str:
        return self.database_region or self.region


class RailwaySettings(_Section):
    """How the Railway provider talks to the API (defaults suit the real service).

    The one owner of the client's tuning: ``components.railway.client.ClientSettings.of`` turns this into
    the client's settings, for the program's operator commands and for the provider's ``configure()``
    alike (which validates the raw ``maya-infra:railway`` value with this same model).
    """

    api_url: str = Field(default="https://backboard.railway.com/graphql/v2", pattern=r"^https?://")
    workspace_id: str | None = None
    requests_per_second: float = Field(default=5.0, gt=0, le=50)
    max_attempts: int = Field(default=6, ge=1, le=20)
    timeout_seconds: float = Field(default=60.0, gt=0, le=600)
    backoff_cap_seconds: float = Field(default=30.0, gt=0, le=600)
    #: The most one call may take, retries and Retry-After waits included; a 429 whose Retry-After would
    #: cross it fails at once, saying when to retry.
    deadline_seconds: float = Field(default=300.0, gt=0, le=3600)
    #: After a create whose answer was lost (timeout, dropped connection, 5xx), how long to keep looking
    #: for the object before concluding it was not made (Railway commits some writes late).
    settle_seconds: float = Field(default=60.0, ge=0, le=1800)


StateBackendKind = Literal["pulumi-cloud", "s3", "postgres"]
#: The GitHub environment secret that carries each backend's credential (never a repository secret).
STATE_BACKEND_SECRETS: dict[str, tuple[str, ...]] = {
    "pulumi-cloud": ("PULUMI_ACCESS_TOKEN",),
    "s3": ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
    "postgres": ("PULUMI_BACKEND_URL",),  # the whole URL: it holds the role's password
}
_S3_URL_RE = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[A-Za-z0-9._/-]*)?(\?[A-Za-z0-9=&._:/-]*)?$")
_PULUMI_ORG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")


class StateBackendSettings(_Section):
    """Where this stack's Pulumi state lives, as CI reaches it from the stack's GitHub environment.

    ``pulumi-cloud``: Pulumi Cloud (``url`` defaults to https://api.pulumi.com, ``organization`` required);
    credential: the environment secret PULUMI_ACCESS_TOKEN.
    ``s3``: an S3-compatible bucket, ``url`` like ``s3://bucket/prefix?region=…&endpoint=…&s3ForcePathStyle=true``;
    credentials: the environment secrets AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
    ``postgres``: Pulumi's PostgreSQL backend; the whole ``postgres://…`` URL (it carries the password) is
    the environment secret PULUMI_BACKEND_URL, so ``url`` must not be set here.
    Every kind: the stack's own passphrase is the environment secret PULUMI_CONFIG_PASSPHRASE.
    A ``file://`` backend is not offered: each CI runner would start from an empty state and create a
    second MAYA beside the running one.
    """

    kind: StateBackendKind
    url: str | None = None
    organization: str | None = None

    @property
    def secret_names(self) -> tuple[str, ...]:
        """The GitHub environment secrets CI needs for this backend, passphrase included."""
        return (*STATE_BACKEND_SECRETS[self.kind], "PULUMI_CONFIG_PASSPHRASE")

    @property
    def login_url(self) -> str | None:
        """The backend URL CI logs in to when it is not secret; None when it comes from PULUMI_BACKEND_URL."""
        if self.kind == "pulumi-cloud":
            return self.url or "https://api.pulumi.com"
        return self.url

    def stack_name(self, stack: str) -> str:
        """The stack as the backend names it: ``org/maya-infra/stack`` on Pulumi Cloud, ``stack`` on DIY backends."""
        return f"{self.organization}/{NAMESPACE}/{stack}" if self.kind == "pulumi-cloud" else stack

    @model_validator(mode="after")
    def _kind_fits(self) -> StateBackendSettings:
        url = self.url or ""
        if self.kind == "postgres" and url:
            raise ValueError(
                "url must not be set for kind postgres: the postgres:// URL holds the role's password; store it "
                "as the secret PULUMI_BACKEND_URL of the stack's GitHub environment instead"
            )
        if self.kind == "s3" and not _S3_URL_RE.match(url):
            raise ValueError(
                "url must be an s3:// bucket URL without credentials, e.g. "
                "s3://maya-pulumi-state/production?region=eu-west-1 "
                "(S3-compatible: add &endpoint=…&s3ForcePathStyle=true)"
            )
        if self.kind == "s3" and re.search(r"(?i)(secret|access_?key|token|password)=", url):
            raise ValueError("url must not carry credentials: they are the environment secrets AWS_ACCESS_KEY_ID/…")
        if self.kind == "pulumi-cloud":
            if url and not url.startswith("https://"):
                raise ValueError(
                    f"url {url!r} must be an https:// Pulumi Cloud API URL (default https://api.pulumi.com)"
                )
            if not self.organization or not _PULUMI_ORG_RE.match(self.organization):
                raise ValueError("organization (the Pulumi Cloud organization that owns the stacks) is required")
        elif self.organization is not None:
            raise ValueError(f"organization is only for kind pulumi-cloud (this is {self.kind})")
        return self


BackupKind = Literal["DAILY", "WEEKLY", "MONTHLY"]
BACKUP_KINDS: tuple[BackupKind, ...] = ("DAILY", "WEEKLY", "MONTHLY")
#: Backup schedule of the Railway PostgreSQL volume when ``maya-infra:backups`` is not set.
DEFAULT_BACKUP_KINDS: dict[str, tuple[BackupKind, ...]] = {"staging": ("DAILY",), "production": ("DAILY", "WEEKLY")}


class BackupSettings(_Section):
    """Railway's backup schedule of the stack's PostgreSQL volume (each kind has Railway's own retention)."""

    kinds: tuple[BackupKind, ...]

    @field_validator("kinds")
    @classmethod
    def _unique_kinds(cls, kinds: tuple[BackupKind, ...]) -> tuple[BackupKind, ...]:
        if len(set(kinds)) != len(kinds):
            raise ValueError("lists a kind twice")
        return tuple(k for k in BACKUP_KINDS if k in kinds)  # canonical order: what Railway lists


#: The check the previews workflow's E2E job reports (its job name): required on the previews' branch when the
#: stack runs E2E against its previews (StackConfig.required_status_checks, docs/previews.md).
PREVIEW_E2E_CHECK = "preview-e2e"

#: Whether a stack has pull-request previews when ``maya-infra:previews`` is not set (docs/previews.md).
DEFAULT_PREVIEWS: dict[str, bool] = {"staging": True, "production": False}


class PreviewSettings(_Section):
    """Full-stack previews of pull requests (docs/previews.md): a Railway environment forked from this
    stack's, with its own PostgreSQL, and the frontend's Vercel preview of the branch wired to it."""

    #: None in the stack file: the stack's default (on for staging unless its database is external).
    enabled: bool | None = None
    max_environments: int = Field(default=5, ge=1, le=25, description="cap on concurrent preview environments")
    sleep_when_idle: bool = Field(default=True, description="Railway sleepApplication on every preview service")
    environment_prefix: str = Field(default="pr-", pattern=r"^[a-z][a-z0-9-]{0,15}-$")
    bot_pull_requests: bool = Field(default=False, description="previews for pull requests opened by bots")
    deploy_timeout_seconds: int = Field(default=900, ge=60, le=3600)
    #: Who approves each run of the previews workflow (the ``preview`` GitHub environment's required reviewers):
    #: a pull request's code runs there with the previews' write-capable tokens (docs/trust.md).
    reviewers: Reviewers = ()


class InfraSettings(_Section):
    """maya-infra's own pipeline for this stack (docs/trust.md): its repository and who approves its runs.

    maya-infra's GitHub environments (``python -m ops infra-environments``): ``<stack>`` runs ``pulumi up`` and
    waits for ``reviewers`` (production must name at least one); ``<stack>-plan`` runs the saved-plan preview
    and the drift check, restricted to the stack's branch, without reviewers (the approvers read its diff before
    they approve); ``<stack>-pr-preview`` runs a pull request's ``pulumi preview`` of this stack and waits for
    ``pullRequestReviewers`` — a pull request's own code runs there with the stack's passphrase, so a maintainer
    approves every such run. Without ``pullRequestReviewers`` pull requests do not preview this stack; production
    never is.
    """

    repository: GitHubName = "maya-infra"
    reviewers: Reviewers = ()
    pull_request_reviewers: Reviewers = ()


CHECKLY_ACCOUNT_KEYS = ("checklyApiKey", "checklyAccountId")


class AdoptSettings(_Section):
    """What ``python -m ops adopt`` found running and brought under this stack (README, "Taking over the
    running MAYA"). Written by that command, read by the components; nothing here is created or deleted.

    ``imports``: Pulumi resource name -> the bridged provider's import id (Vercel, GitHub), passed as the
    ``import_`` option so the engine records the existing object instead of creating one; adopted objects are
    retained on delete. ``railway``: adopt key -> the Railway id the recording run must find (Pulumi cannot
    import into dynamic providers, pulumi/pulumi#16175); the keys are the kinds' ``adopt_key`` (the program
    refuses others, components/railway/backend.py). ``removeUndeclaredVariables``: only ``false`` — no
    ``up`` ever removes a variable the stack never declared; ``python -m ops adopt
    --remove-undeclared-variables`` lists such variables and removes them once asked.
    """

    imports: dict[str, str] = Field(default_factory=dict)
    railway: dict[str, str] = Field(default_factory=dict)
    remove_undeclared_variables: bool = False

    @field_validator("remove_undeclared_variables")
    @classmethod
    def _never_by_up(cls, value: bool) -> bool:
        if value:
            raise ValueError(
                "no `up` removes variables the stack never declared any more: set it to false (or remove it) "
                "and run `python -m ops adopt --stack <stack> --remove-undeclared-variables`, which lists them "
                "and asks before deleting"
            )
        return value

    @field_validator("railway")
    @classmethod
    def _railway_ids(cls, ids: dict[str, str]) -> dict[str, str]:
        empty = sorted(k for k, v in ids.items() if not v.strip())
        if empty:
            raise ValueError(f"{empty} have an empty id")
        return ids

    def import_id(self, resource_name: str) -> str | None:
        """The import id of a bridged resource ops adopt found, or None (the resource is ours to create)."""
        return self.imports.get(resource_name)


class StackConfig(BaseModel):
    """The whole validated configuration of one stack."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    stack: Literal["staging", "production"]
    platforms: frozenset[Platform]
    github: GitHubSettings
    frontend: FrontendSettings
    backend: BackendSettings
    railway: RailwaySettings = RailwaySettings()
    monitoring: MonitoringSettings | None = None
    backups: BackupSettings | None = None
    #: Where the stack's state lives for CI (required to render the infra workflows; docs/architecture.md,
    #: "State backend").
    state_backend: StateBackendSettings | None = None
    previews: PreviewSettings = PreviewSettings(enabled=False)
    infra: InfraSettings = InfraSettings()
    adopt: AdoptSettings = AdoptSettings()
    #: the staging performance stage (config/performance.py); staging only, None = no stage
    performance: PerformanceSettings | None = None
    #: the optional error tracker (config/tracking.py); None = the 5xx-rate alert is the error signal
    error_tracking: ErrorTrackingSettings | None = None
    secrets: Mapping[str, SecretStr] = Field(default_factory=dict)
    #: Names of the secrets the stack holds, values known or not (tools reading only the stack file see these).
    declared_secrets: frozenset[str] = frozenset()
    #: The other stacks' configs (their stack files' non-secret settings), read once together with this one
    #: where the program or a tool starts (``config.load``), and handed down inside it: the workflows and the
    #: GitHub side need every stack's branch and environment, and nothing below the root reads a file again.
    peers: tuple[StackConfig, ...] = ()

    @property
    def all_stacks(self) -> tuple[StackConfig, ...]:
        """Every stack's config in STACKS order: this one and its peers.

        Raises when a peer was not loaded with this config (``config.load`` always loads them; a config made
        by ``parse`` alone has none)."""
        by_stack: dict[str, StackConfig] = {c.stack: c for c in (*self.peers, self)}
        missing = [s for s in STACKS if s not in by_stack]
        if missing:
            raise ValueError(
                f"stack {self.stack!r} was loaded without the config of {missing}: load it with "
                "config.load_from_pulumi() or config.load_from_stack_file(), which read every stack once"
            )
        return tuple(by_stack[s] for s in STACKS)

    @property
    def environment(self) -> str:
        """The environment name on every platform (GitHub environment, Railway environment)."""
        return self.backend.environment_name or self.stack

    @property
    def is_production(self) -> bool:
        return self.stack == "production"

    def secret(self, key: str) -> SecretStr | None:
        return self.secrets.get(key)

    # ---- monitoring and backups -------------------------------------------------------------------
    @property
    def checkly_account_configured(self) -> bool:
        return all(self.secrets.get(k) is not None or k in self.declared_secrets for k in CHECKLY_ACCOUNT_KEYS)

    @property
    def uses_checkly(self) -> bool:
        """Checkly checks are declared: chosen, or ``auto`` with the Checkly account configured."""
        if self.monitoring is None or self.monitoring.provider == "github-actions" or "checkly" not in self.platforms:
            return False
        return self.monitoring.provider == "checkly" or self.checkly_account_configured

    @property
    def monitoring_mode(self) -> str:
        """Which monitoring is active: Checkly, else the scheduled workflow this stack commits, else none."""
        if self.uses_checkly:
            return MONITORING_CHECKLY
        if "github" in self.platforms:
            return MONITORING_SCHEDULE
        return MONITORING_NONE

    @property
    def error_rate_poller(self) -> str | None:
        """Who reads Railway's request counts for the backend 5xx-rate alert: Checkly, the scheduled workflow
        (staging only: production's metrics token never reaches GitHub), or nobody (None)."""
        mon = self.monitoring
        if mon is None or not mon.backend_error_rate.enabled or "railway" not in self.platforms:
            return None
        if self.uses_checkly:
            return MONITORING_CHECKLY
        if self.monitoring_mode == MONITORING_SCHEDULE and not self.is_production:
            return MONITORING_SCHEDULE
        return None

    @property
    def has_railway_database(self) -> bool:
        return "railway" in self.platforms and self.backend.database == "railway"

    @property
    def previews_active(self) -> bool:
        """Pull requests get previews: enabled, with Railway (the forks) and GitHub (the workflow) declared."""
        return bool(self.previews.enabled) and {"railway", "github"} <= self.platforms

    @property
    def preview_e2e(self) -> bool:
        """Playwright runs against each pull request's Vercel preview (docs/previews.md): previews on, a Vercel
        project that builds previews (and protects them: hence the automation bypass), and one repository,
        since the previews workflow lives in the backend's and the suite in the frontend's."""
        return (
            self.previews_active
            and "vercel" in self.platforms
            and self.frontend.preview_deployments
            and self.github.monorepo
        )

    @property
    def required_status_checks(self) -> tuple[str, ...]:
        """What branch protection requires: ``github.requiredChecks``, plus the previews' E2E check when the
        stack runs it (it reports on every pull request into the branch, so it never stays pending)."""
        extra = (PREVIEW_E2E_CHECK,) if self.preview_e2e else ()
        return tuple(dict.fromkeys((*self.github.required_checks, *extra)))

    @property
    def backup_kinds(self) -> tuple[BackupKind, ...]:
        """The backup schedule of the Railway PostgreSQL volume; empty when there is none to schedule."""
        if not self.has_railway_database:
            return ()
        return self.backups.kinds if self.backups is not None else DEFAULT_BACKUP_KINDS[self.stack]

    def safety_gaps(self) -> list[str]:
        """What a production stack lacks of monitoring and backups (empty when nothing, or not production).

        The config refuses what a stack file can get wrong; what remains here comes from platforms left out
        on purpose (``maya-infra:platforms``), and is reported by the program and the tests instead.
        """
        if not self.is_production:
            return []
        gaps = []
        if self.monitoring_mode == MONITORING_NONE:
            gaps.append(
                "production is not monitored: no Checkly account and no scheduled monitor workflow "
                "(github is left out of maya-infra:platforms)"
            )
        elif self.monitoring_mode != MONITORING_CHECKLY:
            gaps.append(
                "production has no 30-second health check with e-mail alerts: checkly is left out of "
                "maya-infra:platforms, so only the 5-minute scheduled workflow watches it"
            )
        if self.backend.database == "railway" and "railway" in self.platforms and not self.backup_kinds:
            gaps.append("production's database has no backup schedule")
        watched = self.monitoring is not None and self.monitoring_mode != MONITORING_NONE
        if watched and "railway" in self.platforms and self.error_rate_poller is None:
            gaps.append(
                "production's backend 5xx rate is not watched: only Checkly polls it there (its metrics token "
                "never goes to GitHub), and checkly is left out of maya-infra:platforms"
            )
        return gaps

    @model_validator(mode="after")
    def _cross_checks(self) -> StackConfig:
        # Checks that need several sections; each raises with the key it is about.
        if self.is_production and "github" in self.platforms and not self.github.reviewers:
            raise _KeyedError("github.reviewers", "production needs at least one required reviewer")
        if self.is_production and "github" in self.platforms and not self.github.prevent_self_review:
            raise _KeyedError("github.preventSelfReview", "production must prevent self-review (set it to true)")
        if "railway" not in self.platforms and not self.backend.custom_domain:
            raise _KeyedError(
                "backend.customDomain",
                "is needed when Railway is left out of the stack: it gives the frontend its API URL",
            )
        if self.is_production and self.monitoring is None:
            raise _KeyedError(
                "monitoring",
                "production must be monitored: add the maya-infra:monitoring section (alertEmails at least)",
            )
        self._production_monitor_check()
        if self.is_production and self.has_railway_database and not self.backup_kinds:
            raise _KeyedError(
                "backups.kinds", "production's database must keep backups: list at least one of DAILY, WEEKLY, MONTHLY"
            )
        if self.is_production and self.previews.enabled:
            raise _KeyedError(
                "previews.enabled",
                "production never gets pull-request previews: a preview forks its stack's environment, and "
                "production's data and secrets must never reach a pull request (previews fork staging; "
                "set it to false)",
            )
        self._trust_checks()
        if self.previews.enabled and self.backend.database == "external":
            raise _KeyedError(
                "previews.enabled",
                "needs backend.database 'railway': each preview gets its own PostgreSQL, while an external "
                "database would be shared with the stack (set previews.enabled to false)",
            )
        self._performance_check()
        overlap = set(self.frontend.domains) & set(self.frontend.redirect_domains)
        if overlap:
            raise _KeyedError("frontend.redirectDomains", f"{sorted(overlap)} are also primary domains")
        return self

    def _performance_check(self) -> None:
        """The stage runs on staging only, against the addresses users reach (workflows/performance.py)."""
        perf = self.performance
        if perf is None:
            return
        if self.is_production:
            raise _KeyedError(
                "performance",
                "the performance stage runs on staging only (the gate carries its result to production, and "
                "production's real users must never be load-tested): remove the section from this stack",
                f"pulumi config rm {NAMESPACE}:performance --stack {self.stack}",
            )
        if perf.backend and not self.backend.custom_domain:
            raise _KeyedError(
                "performance.backend",
                "needs backend.customDomain: the load test targets the backend at the address its users reach, "
                "written into the workflow (or empty this list to load the frontend only)",
                f"pulumi config set --path '{NAMESPACE}:backend.customDomain' <api domain> --stack {self.stack}",
            )

    def _trust_checks(self) -> None:
        """Who approves what (docs/trust.md): production's infra updates and every pull request's previews."""
        if self.is_production and not self.infra.reviewers:
            raise _KeyedError(
                "infra.reviewers",
                "production's `pulumi up` must wait for a reviewer: name at least one (maya-infra's GitHub "
                "environment production; see docs/trust.md)",
            )
        if self.is_production and self.infra.pull_request_reviewers:
            raise _KeyedError(
                "infra.pullRequestReviewers",
                "production is never previewed on a pull request: its passphrase must not run a pull request's code "
                "(remove the key; pull requests preview staging)",
            )
        if self.previews.enabled and {"railway", "github"} <= self.platforms and not self.previews.reviewers:
            raise _KeyedError(
                "previews.reviewers",
                "a pull request's preview runs its own code with the previews' write-capable tokens: name who "
                "approves each run (the 'preview' GitHub environment's required reviewers; docs/trust.md)",
            )

    def _production_monitor_check(self) -> None:
        """Production's monitor must be a real 30-second check that mails (Checkly), not the 5-minute schedule.

        What the stack file can get wrong is refused here; a missing Checkly account is refused with the
        secrets (config/load.py), and checkly left out of ``platforms`` on purpose is a reported gap.
        """
        mon = self.monitoring
        if not self.is_production or mon is None or "checkly" not in self.platforms:
            return
        if mon.provider == "github-actions":
            raise _KeyedError(
                "monitoring.provider",
                "production needs a real 30-second health check with e-mail alerts; the scheduled workflow runs "
                "at most every 5 minutes: set it to checkly (and set the Checkly account secrets)",
            )
        if not mon.backend_error_rate.enabled and "railway" in self.platforms:
            raise _KeyedError(
                "monitoring.backendErrorRate.enabled",
                "production must alert on a high 5xx rate of the backend (DEPLOYMENT_PIPELINE.md: high error "
                "rates): set it to true, and tune thresholdPercent, windowMinutes and minRequests instead",
            )
        if mon.backend_frequency_seconds > PRODUCTION_BACKEND_INTERVAL_SECONDS:
            raise _KeyedError(
                "monitoring.backendFrequencySeconds",
                f"production checks the backend at least every {PRODUCTION_BACKEND_INTERVAL_SECONDS} s "
                f"(DEPLOYMENT_PIPELINE.md); {mon.backend_frequency_seconds} s is too slow",
            )


class _KeyedError(ValueError):
    """A cross-section problem: the key it is about, what is wrong, and (when setting the key is not the fix)
    the command that fixes it."""

    def __init__(self, path: str, message: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.message = message
        self.fix = fix
