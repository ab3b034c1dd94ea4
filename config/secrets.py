"""Which secrets a stack may hold, what each is, and when each is required."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from config.model import STACKS, Platform

#: What a pull-request preview gets of a backend/frontend variable (docs/previews.md): ``True`` the stack's
#: value is copied, ``False`` it is not copied at all, ``"fresh"`` a new random value per preview (keys
#: that sign or encrypt: a token minted by a preview's unreviewed code must not be valid on staging).
PreviewUse = bool | Literal["fresh"]


@dataclass(frozen=True)
class SecretSpec:
    """A secret the stack may hold: its config key, what it is, when it is required, and which stacks may hold it.

    ``backend``: the secret is also the backend's variable ``env_name`` on Railway (``config.envvars`` adds
    its row from here, so a backend secret is declared in this one place), and this is what a pull-request
    preview gets of it; None: the secret is not a backend variable. ``stacks``: the stacks allowed to hold it;
    any other stack is refused (the blast-radius model, docs/trust.md).
    """

    key: str
    env_name: str
    description: str
    required: Callable[[frozenset[str], str | None], bool]
    backend: PreviewUse | None = None
    stacks: frozenset[str] = frozenset(STACKS)


def _always(_platforms: frozenset[str], _database: str | None) -> bool:
    return True


def _never(_platforms: frozenset[str], _database: str | None) -> bool:
    return False


def _with(platform: Platform) -> Callable[[frozenset[str], str | None], bool]:
    return lambda platforms, _database: platform in platforms


def _with_all(*platforms: Platform) -> Callable[[frozenset[str], str | None], bool]:
    return lambda present, _database: all(p in present for p in platforms)


def _external_db(platforms: frozenset[str], database: str | None) -> bool:
    return "railway" in platforms and database == "external"


SECRETS: tuple[SecretSpec, ...] = (
    # the backend's own secrets (each also its Railway variable): previews get a fresh signing/encryption key
    # each (a preview's tokens are not staging's), staging's Claude key and test-mode Stripe key (the policy pack
    # refuses a live-mode one), and no Twilio (real SMS to real people)
    SecretSpec("jwtSecretKey", "JWT_SECRET_KEY", "JWT signing key of the backend", _always, backend="fresh"),
    SecretSpec("encryptionKey", "ENCRYPTION_KEY", "AES-256 encryption key of the backend", _always, backend="fresh"),
    SecretSpec("anthropicApiKey", "ANTHROPIC_API_KEY", "Claude API key", _always, backend=True),
    SecretSpec("stripeApiKey", "STRIPE_API_KEY", "Stripe secret key (test mode on staging)", _always, backend=True),
    SecretSpec("twilioAccountSid", "TWILIO_ACCOUNT_SID", "Twilio account SID", _always, backend=False),
    SecretSpec("twilioAuthToken", "TWILIO_AUTH_TOKEN", "Twilio auth token", _always, backend=False),
    SecretSpec("databaseUrl", "DATABASE_URL", "PostgreSQL URL when backend.database is external", _external_db),
    SecretSpec("railwayToken", "RAILWAY_API_TOKEN", "Railway account or workspace token", _with("railway")),
    SecretSpec("vercelToken", "VERCEL_TOKEN", "Vercel API token of the team (runs `pulumi up`)", _with("vercel")),
    SecretSpec(
        "vercelDeployToken",
        "VERCEL_TOKEN",
        "Vercel token scoped to this stack's project only, for the CI deploy job (README, 'Secrets')",
        _with_all("vercel", "github"),
    ),
    SecretSpec(
        "githubToken",
        "GITHUB_TOKEN",
        "GitHub token of production's `pulumi up`: writes the repository settings of every stack (docs/trust.md)",
        _with("github"),
        stacks=frozenset({"production"}),
    ),
    SecretSpec(
        "previewsRailwayToken",
        "RAILWAY_PREVIEW_TOKEN",
        "Railway token of the pull-request previews (required when previews are enabled; docs/previews.md)",
        _never,
    ),
    SecretSpec(
        "previewsVercelToken",
        "VERCEL_TOKEN",
        "Vercel token of the pull-request previews (optional; a team without production; docs/previews.md)",
        _never,
    ),
    SecretSpec(
        "railwayBackupToken",
        "RAILWAY_BACKUP_TOKEN",
        "Railway account token of a bot in the production project only: the pre-deploy backup (docs/gates.md)",
        _never,
        stacks=frozenset({"production"}),  # it reaches production's project: never in a config staging decrypts
    ),
    SecretSpec("snykToken", "SNYK_TOKEN", "Snyk token for the frontend security scan (optional)", _never),
    SecretSpec("safetyApiKey", "SAFETY_API_KEY", "Safety API key for the backend security scan (optional)", _never),
    # Monitoring: optional here; required by the checks at the end of `parse` when their feature is on.
    SecretSpec(
        "smtpUrl",
        "SMTP_URL",
        "SMTP URL with credentials for alert mail (smtps://user:password@host:465)",
        _with("github"),
    ),
    SecretSpec("checklyApiKey", "CHECKLY_API_KEY", "Checkly API key (uptime monitoring)", _never),
    SecretSpec("checklyAccountId", "CHECKLY_ACCOUNT_ID", "Checkly account id (uptime monitoring)", _never),
    SecretSpec("slackWebhookUrl", "SLACK_WEBHOOK_URL", "Slack incoming-webhook URL for alerts", _never),
    SecretSpec("pagerdutyServiceKey", "PAGERDUTY_SERVICE_KEY", "PagerDuty integration (service) key", _never),
    # Error tracking: required by the checks at the end of `parse` when errorTracking is set, refused without it.
    SecretSpec("sentryDsn", "SENTRY_DSN", "the backend's Sentry DSN (with errorTracking)", _never),
    SecretSpec(
        "sentryAuthToken",
        "SENTRY_AUTH_TOKEN",
        "Sentry auth token with project:releases, marks each deploy's release (with errorTracking)",
        _never,
    ),
)
SECRET_KEYS = {spec.key for spec in SECRETS}
STRUCTURED_KEYS = (
    "platforms",
    "github",
    "frontend",
    "backend",
    "railway",
    "monitoring",
    "backups",
    "stateBackend",
    "previews",
    "infra",
    "adopt",
    "performance",
    "errorTracking",
)
KNOWN_KEYS = SECRET_KEYS | set(STRUCTURED_KEYS)
