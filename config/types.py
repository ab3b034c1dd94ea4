"""The building blocks of the stack config's sections: checked value types and the strict section base.

Each type names what it accepts and why it refuses a value, so a bad value in ``Pulumi.<stack>.yaml`` is
reported with its fix (config/load.py turns each refusal into one keyed problem).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

_DOMAIN_RE = re.compile(r"^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_GITHUB_NAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,98}[A-Za-z0-9_])?$")
_BRANCH_RE = re.compile(r"^(?!/)(?!.*//)(?!.*\.\.)[A-Za-z0-9._/-]{1,200}(?<!/)$")
REGION_RE = re.compile(r"^[a-z]+-[a-z]+[0-9][a-z0-9-]*$")
_EMAIL_RE = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$"
)
_CHECKLY_LOCATION_RE = re.compile(r"^[a-z]{2}-[a-z]+-[0-9]$")


def _domain(value: str) -> str:
    if not _DOMAIN_RE.match(value):
        raise ValueError(
            f"{value!r} is not a domain name: use lower-case host names without a scheme, "
            "path or port, e.g. staging.mayassistant.com"
        )
    return value


def _github_name(value: str) -> str:
    if not _GITHUB_NAME_RE.match(value):
        raise ValueError(f"{value!r} is not a GitHub account or repository name")
    return value


def _branch(value: str) -> str:
    if not _BRANCH_RE.match(value):
        raise ValueError(f"{value!r} is not a valid git branch name")
    return value


def _url_path(value: str) -> str:
    if not value.startswith("/") or " " in value:
        raise ValueError(f"{value!r} must be a URL path starting with '/', e.g. /api/health")
    return value


def _email(value: str) -> str:
    if not _EMAIL_RE.match(value) or len(value) > 254:
        raise ValueError(f"{value!r} is not an e-mail address")
    return value


def _checkly_location(value: str) -> str:
    if not _CHECKLY_LOCATION_RE.match(value):
        raise ValueError(f"{value!r} is not a Checkly location (e.g. us-east-1, eu-west-1, ap-southeast-1)")
    return value


Domain = Annotated[str, AfterValidator(_domain)]
GitHubName = Annotated[str, AfterValidator(_github_name)]
Branch = Annotated[str, AfterValidator(_branch)]
UrlPath = Annotated[str, AfterValidator(_url_path)]
Email = Annotated[str, AfterValidator(_email)]
CheckLocation = Annotated[str, AfterValidator(_checkly_location)]


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


class _Section(BaseModel):
    """Strict section: camelCase keys as written in Pulumi.<stack>.yaml, unknown keys rejected."""

    model_config = ConfigDict(alias_generator=_camel, extra="forbid", populate_by_name=True, frozen=True, strict=True)
