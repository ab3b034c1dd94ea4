"""What counts as a credential: by name (the project's own tables) and by the shape of a value.

Names come from the two tables that already say which values are secret — :data:`config.SECRETS`
(config keys and the variable each becomes) and :data:`config.envvars.TABLE` (``secret=True`` rows) —
plus a conservative suffix rule (``*_TOKEN``, ``*_PASSWORD``, ``*_SECRET``, ``*_API_KEY``, …) for names the
tables do not know yet. Shapes are well-known credential formats (provider key prefixes, JWTs, PEM private
keys, URLs with a password, ``Authorization`` headers, ``password=…`` assignments).

Deliberately *not* a shape: "long random-looking string". Resource ids, URNs, revisions, digests and
commit SHAs look exactly like that, and a clean state must audit clean; a credential that has neither a
credential-like name nor a known format is out of reach of any heuristic and is left to the
"stored as a secret" policy, which checks the declarations instead of the values.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from config import SECRETS
from config.envvars import TABLE

#: Environment-variable names that hold a credential, from the project's tables.
CREDENTIAL_NAMES: frozenset[str] = frozenset(
    {spec.env_name for spec in SECRETS} | {var.name for var in TABLE if var.secret}
)
#: Config keys (``maya-infra:<key>``) that hold a credential.
CREDENTIAL_CONFIG_KEYS: frozenset[str] = frozenset(spec.key for spec in SECRETS)

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_CREDENTIAL_SUFFIX = re.compile(
    r"(^|_)(token|password|passwd|secret|secret_key|api_key|apikey|private_key|auth_token|access_key|"
    r"access_token|refresh_token|client_secret|credentials?|connection_string)$"
)
#: Keys that name a secret rather than hold one (``secretName: RAILWAY_TOKEN`` is not a credential).
_NAME_KEYS = ("key", "name", "secretName", "secret_name", "variableName", "variable_name")

#: Values that are references to a secret held elsewhere, not the secret itself.
_REFERENCE = re.compile(r"^\$\{\{\s*[^}]+\}\}$")

#: (label, pattern) of well-known credential formats. Each needs enough fixed structure that an id, a URN,
#: a hash or a commit SHA cannot match.
SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("PEM private key", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----")),
    ("URL with a password", re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s/:@'\"]+:[^\s/@'\"$]+@[^\s/]+")),
    ("JSON Web Token", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    ("Anthropic API key", re.compile(r"\bsk-ant-[A-Za-z0-9_-]{16,}")),
    ("OpenAI-style API key", re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9]{32,}")),
    ("Stripe key", re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}")),
    ("GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})")),
    ("AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    # the error tracker's CI token (maya-infra:sentryAuthToken): organization (sntrys_) or user (sntryu_) tokens
    ("Sentry auth token", re.compile(r"\bsntry[su]_[A-Za-z0-9+/=_-]{20,}")),
    ("Twilio account SID", re.compile(r"\bAC[0-9a-f]{32}\b")),
    ("Authorization header", re.compile(r"(?i)\b(?:bearer|basic)\s+[A-Za-z0-9._~+/=-]{20,}")),
    (
        "password or token assignment",
        re.compile(
            r"(?i)\b(?:password|passwd|pwd|secret|api[_-]?key|auth[_-]?token|access[_-]?token)"
            r"\s*[=:]\s*['\"]?(?![$'\"\s{<])[^\s'\"]{8,}"
        ),
    ),
)


def _snake(name: str) -> str:
    return _CAMEL.sub("_", name).replace("-", "_").lower()


def is_credential_name(name: str) -> bool:
    """True for a variable or property name that holds a credential (``NEXT_PUBLIC_*`` never does)."""
    name = name.rsplit(":", 1)[-1]  # a config key as the engine stores it: maya-infra:jwtSecretKey
    if not name or name.upper().startswith("NEXT_PUBLIC_"):
        return False
    if name in CREDENTIAL_NAMES or name in CREDENTIAL_CONFIG_KEYS:
        return True
    return bool(_CREDENTIAL_SUFFIX.search(_snake(name)))


def is_reference(value: str) -> bool:
    """``${{Postgres.DATABASE_URL}}``-style references name a secret; they are not one."""
    return bool(_REFERENCE.match(value.strip()))


def shape_of(value: str) -> str | None:
    """The label of the credential format ``value`` contains, or None."""
    for label, pattern in SHAPES:
        if pattern.search(value):
            return label
    return None


def plaintext_credentials(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Walk plain JSON data and yield ``(path, why)`` for every credential-looking string in it.

    A string is credential-looking when it sits under a credential name (a key like ``apiToken`` or
    ``JWT_SECRET_KEY``, or a ``{name: STRIPE_API_KEY, value: …}`` pair) or when it has a known credential
    shape. Values are never yielded, only where they are. The caller decides what is *not* plain data
    (secret envelopes are passed over by :func:`walk_plain`).
    """
    if isinstance(value, Mapping):
        named = next((value[k] for k in _NAME_KEYS if isinstance(value.get(k), str)), None)
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if isinstance(item, str) and item.strip() and not is_reference(item):
                if is_credential_name(str(key)):
                    yield here, f"a plaintext value under the credential name {key!r}"
                    continue
                if key == "value" and named is not None and is_credential_name(named):
                    yield here, f"the plaintext value of {named!r}"
                    continue
            yield from plaintext_credentials(item, here)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from plaintext_credentials(item, f"{path}[{index}]")
    elif isinstance(value, str):
        label = shape_of(value)
        if label is not None:
            yield path, f"a string shaped like a {label}"
