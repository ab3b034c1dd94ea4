"""Secrecy: every credential is a secret on its platform and in Pulumi state, and nothing plain looks like one."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policy.credentials import is_credential_name, plaintext_credentials
from policy.rules.model import (
    GH_ENV_SECRET,
    GH_ENV_VARIABLE,
    GH_ORG_SECRET,
    GH_ORG_VARIABLE,
    GH_REPO_SECRET,
    GH_REPO_VARIABLE,
    RAILWAY_TOKEN,
    RAILWAY_VARIABLES,
    SECRET,
    SECRET_CARRYING,
    UNKNOWN,
    VERCEL_ENV,
    VERCEL_ENVS,
    VERCEL_SHARED_ENV,
    Resource,
    _text,
)


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
