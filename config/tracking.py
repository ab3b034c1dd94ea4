"""``maya-infra:errorTracking``: the optional error tracker (Sentry) of a stack (docs/monitoring.md).

With it, the backend gets ``SENTRY_DSN`` (the secret ``sentryDsn``), ``SENTRY_ENVIRONMENT`` and
``SENTRY_RELEASE`` (Railway's commit of the running deployment), the frontend build ``NEXT_PUBLIC_SENTRY_DSN``
and ``NEXT_PUBLIC_SENTRY_ENVIRONMENT``, and the deploy jobs mark each release in Sentry with ``sentry-cli``
(the secret ``sentryAuthToken`` becomes the GitHub environment secret ``SENTRY_AUTH_TOKEN``): errors are
tied to the commit that was deployed. Without it, the backend 5xx-rate alert stays the built-in error
signal (``monitoring.backendErrorRate``).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from config.types import _Section

_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")
#: A Sentry DSN: https://<public key>@<host>/<project id> (a public value: it is shipped to every browser).
_DSN_RE = re.compile(r"^https://[0-9a-f]{16,64}@[a-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9_.-]+)*/[0-9]+$")


def dsn_problem(value: str) -> str | None:
    """Why ``value`` is not a Sentry DSN, or None when it is one."""
    if _DSN_RE.match(value):
        return None
    return (
        "is not a Sentry DSN (https://<public key>@o<org>.ingest.sentry.io/<project id>: "
        "Sentry → Project Settings → Client Keys)"
    )


class ErrorTrackingSettings(_Section):
    """Sentry: where (``url``), which organization, and the project of each app (slugs, as in Sentry's URLs)."""

    provider: Literal["sentry"] = "sentry"
    url: str = Field(default="https://sentry.io/", pattern=r"^https://[^\s/]+/?$")
    organization: str
    backend_project: str
    frontend_project: str
    #: the frontend project's DSN: public by design (it is in every page the browser loads), so plain config
    frontend_dsn: str

    @field_validator("organization", "backend_project", "frontend_project")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _SLUG_RE.match(value):
            raise ValueError(f"{value!r} is not a Sentry slug (lower-case letters, digits, '-', '_')")
        return value

    @field_validator("frontend_dsn")
    @classmethod
    def _dsn(cls, value: str) -> str:
        problem = dsn_problem(value)
        if problem:
            raise ValueError(f"{value[:40]!r} {problem}")
        return value
