"""The rules of the maya-infra policy pack, as plain functions over plain data, one module per rule family.

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

from collections.abc import Iterable, Mapping, Sequence

from config.model import GITHUB_ACTIONS_APP_ID
from policy.rules.deploys import (
    railway_health_and_migrations,
)
from policy.rules.model import (
    ADVISORY,
    ALERTS_SUFFIX,
    CHECKLY_CHANNEL,
    CHECKLY_CHECK,
    GH_BRANCH_POLICY,
    GH_BRANCH_PROTECTION,
    GH_BRANCH_PROTECTION_V3,
    GH_ENV_SECRET,
    GH_ENV_VARIABLE,
    GH_ENVIRONMENT,
    GH_FILE,
    GH_ORG_SECRET,
    GH_ORG_VARIABLE,
    GH_REPO_SECRET,
    GH_REPO_VARIABLE,
    GH_RULESET,
    HANDED_OFF,
    MANDATORY,
    MIGRATION_COMMAND,
    MONITOR_WORKFLOW,
    PREVIEW_ENVIRONMENT,
    PREVIEWS_WORKFLOW,
    RAILWAY,
    RAILWAY_BACKUP_SCHEDULE,
    RAILWAY_CUSTOM_DOMAIN,
    RAILWAY_DEPLOYMENT,
    RAILWAY_ENVIRONMENT,
    RAILWAY_INSTANCE,
    RAILWAY_NOTIFICATION_RULE,
    RAILWAY_POSTGRES,
    RAILWAY_PR_SETTINGS,
    RAILWAY_PROJECT,
    RAILWAY_SERVICE,
    RAILWAY_TOKEN,
    RAILWAY_TRIGGER,
    RAILWAY_VARIABLES,
    SCAN_SUFFIX,
    SECRET,
    SECRET_CARRYING,
    SECRET_SIG,
    SECRET_SIG_KEY,
    UNKNOWN,
    VERCEL_BYPASS,
    VERCEL_DOMAIN,
    VERCEL_ENV,
    VERCEL_ENVS,
    VERCEL_PROJECT,
    VERCEL_SHARED_ENV,
    Level,
    Policy,
    Resource,
    ResourceCheck,
    StackCheck,
    StackFacts,
    Violation,
    _text,
    facts_from_config,
    from_serialized,
    identifiers_of_config,
    is_handed_off,
    is_secret_envelope,
    other_stack,
    secret_keys,
)
from policy.rules.ownership import (
    branch_protected_with_ci,
    stacks_share_nothing,
)
from policy.rules.previews import (
    previews_get_no_production_secret,
)
from policy.rules.production import (
    ERROR_RATE_FIELD,
    PRODUCTION_BACKEND_INTERVAL_SECONDS,
    STATEFUL,
    _is_error_rate_check,
    _is_stateful,
    production_alerting,
    production_backed_up,
    production_data_never_deleted_or_replaced,
    production_environment_protected,
    production_monitored,
)
from policy.rules.secrecy import (
    credentials_are_secrets,
    no_plaintext_credential_values,
)
from policy.rules.trust import (
    github_written_by_production_only,
    handed_off_half_is_the_other_stacks,
    pull_request_secrets_wait_for_a_reviewer,
    required_checks_from_github_actions,
    stacks_in_separate_accounts,
)
from policy.rules.workflows import (
    is_pinned,
    workflow_document,
    workflow_pins_from_table,
    workflows_least_privilege_pinned,
)

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
    # the blast radius of each credential (policy/rules/trust.py, docs/trust.md)
    Policy(
        "github-written-by-production-only",
        "Only production's stack declares GitHub resources and holds the GitHub token (docs/trust.md).",
        MANDATORY,
        "a GitHub token can change every environment of its repository: held by staging, it would reach "
        "production's reviewers, secrets and workflows; " + _MANDATORY_WHY,
        stack_check=github_written_by_production_only,
    ),
    Policy(
        "stacks-in-separate-accounts",
        "Staging and production name different Railway workspaces, and different Vercel teams unless staging's "
        "Vercel token is project-scoped.",
        MANDATORY,
        "a Railway token reaches every project of its workspace and a team token every project of its team; "
        + _MANDATORY_WHY,
        stack_check=stacks_in_separate_accounts,
    ),
    Policy(
        "handed-off-half-is-the-other-stacks",
        "What production declares for another stack comes from that stack's hand-off, sits in its environments and "
        "branch only, holds none of production's platform credentials and keeps its branch protected.",
        MANDATORY,
        "production writes every stack's GitHub settings, so a wiring mistake there would hand production's "
        "credentials to staging's pipeline; " + _MANDATORY_WHY,
        stack_check=handed_off_half_is_the_other_stacks,
    ),
    Policy(
        "pull-request-secrets-wait-for-a-reviewer",
        "A GitHub environment that holds secrets and admits every branch has required reviewers and prevents "
        "self-review.",
        MANDATORY,
        "a pull request can edit its workflow, so only the environment's protection keeps its secrets from "
        "unreviewed code; " + _MANDATORY_WHY,
        stack_check=pull_request_secrets_wait_for_a_reviewer,
    ),
    Policy(
        "required-checks-from-github-actions",
        f"Every required status check names GitHub Actions (integration_id {GITHUB_ACTIONS_APP_ID}).",
        MANDATORY,
        "without the app, anyone with write access can post a passing commit status of the same name; "
        + _MANDATORY_WHY,
        resource_check=required_checks_from_github_actions,
        types=(GH_RULESET, GH_BRANCH_PROTECTION, GH_BRANCH_PROTECTION_V3),
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


__all__ = [
    "ADVISORY",
    "ALERTS_SUFFIX",
    "BY_NAME",
    "CHECKLY_CHANNEL",
    "CHECKLY_CHECK",
    "ERROR_RATE_FIELD",
    "GH_BRANCH_POLICY",
    "GH_BRANCH_PROTECTION",
    "GH_BRANCH_PROTECTION_V3",
    "GH_ENVIRONMENT",
    "GH_ENV_SECRET",
    "GH_ENV_VARIABLE",
    "GH_FILE",
    "GH_ORG_SECRET",
    "GH_ORG_VARIABLE",
    "GH_REPO_SECRET",
    "GH_REPO_VARIABLE",
    "GH_RULESET",
    "HANDED_OFF",
    "MANDATORY",
    "MIGRATION_COMMAND",
    "MONITOR_WORKFLOW",
    "POLICIES",
    "PREVIEWS_WORKFLOW",
    "PREVIEW_ENVIRONMENT",
    "PRODUCTION_BACKEND_INTERVAL_SECONDS",
    "RAILWAY",
    "RAILWAY_BACKUP_SCHEDULE",
    "RAILWAY_CUSTOM_DOMAIN",
    "RAILWAY_DEPLOYMENT",
    "RAILWAY_ENVIRONMENT",
    "RAILWAY_INSTANCE",
    "RAILWAY_NOTIFICATION_RULE",
    "RAILWAY_POSTGRES",
    "RAILWAY_PROJECT",
    "RAILWAY_PR_SETTINGS",
    "RAILWAY_SERVICE",
    "RAILWAY_TOKEN",
    "RAILWAY_TRIGGER",
    "RAILWAY_VARIABLES",
    "SCAN_SUFFIX",
    "SECRET",
    "SECRET_CARRYING",
    "SECRET_SIG",
    "SECRET_SIG_KEY",
    "STATEFUL",
    "UNKNOWN",
    "VERCEL_BYPASS",
    "VERCEL_DOMAIN",
    "VERCEL_ENV",
    "VERCEL_ENVS",
    "VERCEL_PROJECT",
    "VERCEL_SHARED_ENV",
    "Level",
    "Policy",
    "Resource",
    "ResourceCheck",
    "StackCheck",
    "StackFacts",
    "Violation",
    "_is_error_rate_check",
    "_is_stateful",
    "_text",
    "branch_protected_with_ci",
    "check_all",
    "check_resource",
    "check_stack",
    "credentials_are_secrets",
    "facts_from_config",
    "from_serialized",
    "identifiers_of_config",
    "is_handed_off",
    "is_pinned",
    "is_secret_envelope",
    "no_plaintext_credential_values",
    "other_stack",
    "previews_get_no_production_secret",
    "production_alerting",
    "production_backed_up",
    "production_data_never_deleted_or_replaced",
    "production_environment_protected",
    "production_monitored",
    "railway_health_and_migrations",
    "secret_keys",
    "stacks_share_nothing",
    "workflow_document",
    "workflow_pins_from_table",
    "workflows_least_privilege_pinned",
]
