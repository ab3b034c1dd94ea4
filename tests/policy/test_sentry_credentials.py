"""The error tracker's values as the policy pack and the audit see them (config/tracking.py): the auth token and
the backend's DSN are credentials by name, a Sentry token is one by its shape wherever it appears in plain text,
and the frontend's public DSN (``NEXT_PUBLIC_SENTRY_DSN``) is not one."""

from __future__ import annotations

from policy import rules
from policy.credentials import is_credential_name, shape_of
from tests.config.test_performance import DSN, FRONTEND_DSN
from tests.policy.test_rules import messages, res

TOKEN = "sntrys_eyJpYXQiOjE3MDAwMDAwMDAsInVybCI6Imh0dHBzOi8vc2VudHJ5LmlvIn0_abcDEF123456"


def test_the_token_and_the_backend_dsn_are_credentials_and_the_public_dsn_is_not() -> None:
    assert is_credential_name("SENTRY_AUTH_TOKEN") and is_credential_name("maya-infra:sentryAuthToken")
    assert is_credential_name("SENTRY_DSN") and is_credential_name("maya-infra:sentryDsn")
    assert not is_credential_name("NEXT_PUBLIC_SENTRY_DSN")
    assert shape_of(TOKEN) == "Sentry auth token"
    assert shape_of(DSN) is None and shape_of(FRONTEND_DSN) is None  # a public key, no password: not a shape


def test_a_sentry_token_in_plain_text_is_reported_wherever_it_is() -> None:
    leaked = res(rules.RAILWAY_INSTANCE, {"start_command": f"sentry-cli --auth-token {TOKEN} releases list"})
    [found] = messages(rules.no_plaintext_credential_values, leaked)
    assert "start_command" in found and "Sentry auth token" in found and TOKEN not in found
    public = res(rules.VERCEL_ENV, {"key": "NEXT_PUBLIC_SENTRY_DSN", "value": FRONTEND_DSN, "sensitive": False})
    assert messages(rules.no_plaintext_credential_values, public) == []
    assert messages(rules.credentials_are_secrets, public) == []
    secret_in_plain = res(rules.VERCEL_ENV, {"key": "SENTRY_AUTH_TOKEN", "value": "abc", "sensitive": False})
    assert messages(rules.credentials_are_secrets, secret_in_plain) != []
