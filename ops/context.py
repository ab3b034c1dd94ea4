"""What every operator command needs about a stack: its config, its outputs (ids, URLs) and credentials.

Sources, in order:
* config: ``Pulumi.<stack>.yaml`` (non-secret settings, validated by :mod:`config`);
* outputs: ``--outputs FILE`` (JSON of ``pulumi stack output --json``), else ``MAYA_OPS_OUTPUTS``, else
  ``pulumi stack output --json --stack <stack>`` run in the project;
* credentials: the usual environment variables (``RAILWAY_API_TOKEN``, ``VERCEL_TOKEN``), else the
  stack's secret config through ``pulumi config get`` (needs the stack's passphrase or backend login);
* API endpoints: ``railway.apiUrl`` from the stack config, overridable with ``MAYA_RAILWAY_API_URL``,
  ``MAYA_VERCEL_API_URL`` and ``MAYA_GITHUB_API_URL`` (the local rehearsal and the tests point them at loopback
  fakes). A malformed one is a configuration error (exit 2) before any request; an unreachable one is named
  with the variable that set it.

**Bound to its stack.** Outputs read from a file or ``MAYA_OPS_OUTPUTS`` must say (their ``stack`` output)
that they are the outputs of the stack the command names, or the command stops before any request: with
production's env file sourced, ``--stack staging`` must never act on production. That the Railway and Vercel
projects they name are the stack's own is checked by :mod:`ops.binding` before any write.

Nothing secret is ever printed; errors say which variable or key to set.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from components.railway import errors as railway_errors
from components.railway.client import ClientSettings, RailwayClient
from components.railway.operations import Operation
from config import NAMESPACE, PROJECT_DIR, STACKS, ConfigError, StackConfig, load_from_stack_file

VERCEL_API = "https://api.vercel.com"
GITHUB_API = "https://api.github.com"
#: Hosts a token may be sent to over plain http: the loopback fakes of the tests and the rehearsal.
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
#: An on-call command waits at most this long between two retries of an unannounced failure (Retry-After is
#: honoured in full): an unreachable Railway is reported within seconds, not after the provider's backoff.
OPS_BACKOFF_CAP_SECONDS = 1.0
#: Where the Railway token comes from: the environment variable, else this secret of the stack's config.
RAILWAY_CREDENTIAL = ("RAILWAY_API_TOKEN", "railwayToken")
#: What the client says when an HTTP 4xx came back without a GraphQL answer: the URL is not Railway's API.
_NOT_GRAPHQL = re.compile(r"^HTTP 4(0[0-9]|1[0-9]) (with a body that is not JSON|without data)")


class OpsError(Exception):
    """A refusal or failure an operator can act on; ``code`` is the process exit status."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


class PulumiCommandError(OpsError):
    """``pulumi …`` ran and failed; ``stderr`` holds its own words (the true cause, e.g. the backend's)."""

    def __init__(self, command: str, stderr: str) -> None:
        super().__init__(f"`{command}` failed: {stderr.strip()[:300] or '(no message)'}")
        self.stderr = stderr


#: What ``pulumi config get`` says when the key is not set, and when the passphrase is missing or wrong.
_KEY_MISSING = ("configuration key", "not found")
_PASSPHRASE_PROBLEMS = ("passphrase", "incorrect passphrase", "decrypt")


def _pulumi(*args: str, stack: str, timeout: float = 120) -> str:
    command = f"pulumi {' '.join(args)} --stack {stack}"
    try:
        result = subprocess.run(
            ["pulumi", *args, "--stack", stack],
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        raise OpsError(
            "the pulumi CLI is not on PATH (scripts/provide-engine.sh prints where it is), so the stack "
            f"cannot be read; run `{command}` once it is"
        ) from None
    except subprocess.TimeoutExpired:
        raise OpsError(f"`{command}` did not answer within {timeout:.0f}s: is the state backend reachable?") from None
    if result.returncode != 0:
        raise PulumiCommandError(command, result.stderr)
    return result.stdout


def _secret_cause(exc: PulumiCommandError, key: str, stack: str) -> str:
    """Why ``pulumi config get`` could not give the secret, in the operator's terms."""
    text = exc.stderr.lower()
    said = f"Pulumi said: {exc.stderr.strip()[:200]}"
    if all(part in text for part in _KEY_MISSING):
        return f"or `pulumi config set --secret {NAMESPACE}:{key} --stack {stack}` (the stack does not hold it)"
    if any(word in text for word in _PASSPHRASE_PROBLEMS):
        return (
            f"or make stack {stack}'s passphrase available (PULUMI_CONFIG_PASSPHRASE): {NAMESPACE}:{key} "
            f"cannot be decrypted without it. {said}"
        )
    return (
        f"or fix access to the state backend (`pulumi login`, PULUMI_BACKEND_URL): stack {stack} cannot be "
        f"read, so neither can {NAMESPACE}:{key}. {said}"
    )


@dataclass
class StackContext:
    stack: str
    config: StackConfig
    outputs: Mapping[str, Any]
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))

    # ---- loading --------------------------------------------------------------------------------------
    @classmethod
    def load(cls, stack: str, outputs_file: Path | None = None, env: Mapping[str, str] | None = None) -> StackContext:
        env = dict(os.environ if env is None else env)
        if stack not in STACKS:
            raise OpsError(f"unknown stack {stack!r}: this project has {', '.join(STACKS)}")
        try:
            config = load_from_stack_file(stack)
        except ConfigError as exc:
            raise OpsError(str(exc)) from None
        source = outputs_file or (Path(env["MAYA_OPS_OUTPUTS"]) if env.get("MAYA_OPS_OUTPUTS") else None)
        if source is not None:
            try:
                outputs = json.loads(source.read_text())
            except (OSError, ValueError) as exc:
                raise OpsError(f"cannot read stack outputs from {source}: {exc}") from None
            where = str(source)
        else:
            try:
                outputs = json.loads(_pulumi("stack", "output", "--json", stack=stack) or "{}")
            except ValueError as exc:
                raise OpsError(f"`pulumi stack output --json --stack {stack}` printed no JSON: {exc}") from None
            where = f"`pulumi stack output --json --stack {stack}`"
        if not isinstance(outputs, dict):
            raise OpsError(
                f"stack outputs from {where} must be a JSON object of output name -> value, got a JSON "
                f"{type(outputs).__name__}: write it with `pulumi stack output --json --stack {stack} > FILE`"
            )
        if outputs_file is None and source is not None:
            where = f"MAYA_OPS_OUTPUTS ({source})"
        check_outputs_stack(stack, outputs, where, from_file=source is not None)
        return cls(stack, config, outputs, env)

    # ---- outputs ----------------------------------------------------------------------------------------
    def output(self, name: str) -> Any:
        value = self.outputs.get(name)
        if value in (None, ""):
            raise OpsError(
                f"stack {self.stack!r} has no output {name!r}: run `pulumi up --stack {self.stack}` "
                "first (or pass --outputs FILE)"
            )
        return value

    # ---- credentials ------------------------------------------------------------------------------------
    def secret(self, env_name: str, key: str) -> str:
        value = self.env.get(env_name)
        if value:
            return value
        try:
            value = _pulumi("config", "get", f"{NAMESPACE}:{key}", stack=self.stack).strip()
        except PulumiCommandError as exc:
            raise OpsError(f"no credentials: set {env_name}, {_secret_cause(exc, key, self.stack)}") from None
        except OpsError as exc:  # no engine, or no answer: that is the cause, not the passphrase
            raise OpsError(f"no credentials: set {env_name}; {NAMESPACE}:{key} cannot be read instead: {exc}") from None
        if not value:
            raise OpsError(
                f"no credentials: set {env_name}, or `pulumi config set --secret {NAMESPACE}:{key} "
                f"--stack {self.stack}` (the stack holds an empty value)"
            )
        return value

    def railway_api(self) -> tuple[str, str]:
        """(Railway's GraphQL URL, what set it); a malformed ``MAYA_RAILWAY_API_URL`` is refused here."""
        if self.env.get("MAYA_RAILWAY_API_URL"):
            return endpoint(self.env["MAYA_RAILWAY_API_URL"], "MAYA_RAILWAY_API_URL"), "MAYA_RAILWAY_API_URL"
        source = f"{NAMESPACE}:railway.apiUrl of Pulumi.{self.stack}.yaml"
        return endpoint(self.config.railway.api_url, source), source

    def railway(self, credential: tuple[str, str] = RAILWAY_CREDENTIAL) -> RailwayClient:
        """Railway's client with the token of ``credential`` (environment variable, secret config key)."""
        url, source = self.railway_api()  # before the credentials: a configuration error needs no token
        settings = ClientSettings.of(self.config.railway, endpoint=url)
        settings = replace(settings, backoff_cap_seconds=min(settings.backoff_cap_seconds, OPS_BACKOFF_CAP_SECONDS))
        return OpsRailwayClient(self.secret(*credential), settings, source=source, credential=credential)

    def vercel_api(self) -> str:
        if self.env.get("MAYA_VERCEL_API_URL"):
            return endpoint(self.env["MAYA_VERCEL_API_URL"], "MAYA_VERCEL_API_URL")
        return VERCEL_API

    def github_api(self) -> str:
        """GitHub's REST API: ``MAYA_GITHUB_API_URL`` (the rehearsal's fake), else ``github.baseUrl``."""
        if self.env.get("MAYA_GITHUB_API_URL"):
            return endpoint(self.env["MAYA_GITHUB_API_URL"], "MAYA_GITHUB_API_URL")
        return self.config.github.base_url or GITHUB_API

    def vercel_token(self) -> str:
        return self.secret("VERCEL_TOKEN", "vercelToken")


def check_outputs_stack(stack: str, outputs: Mapping[str, Any], where: str, *, from_file: bool) -> None:
    """Refuse outputs that are not ``stack``'s, from the outputs alone (before any request).

    ``pulumi stack output --stack S`` is S's by construction; a file or ``MAYA_OPS_OUTPUTS`` must say so
    with the ``stack`` output every ``pulumi up`` of this program exports.
    """
    declared = outputs.get("stack")
    if declared is None and not from_file:
        return
    if declared is None:
        raise OpsError(
            f"the outputs from {where} do not say which stack they describe (no `stack` output), so they cannot "
            f"be trusted to be {stack}'s; write them with `pulumi stack output --json --stack {stack} > FILE`"
        )
    if declared != stack:
        shown = declared if isinstance(declared, str) and declared.isidentifier() else repr(declared)
        raise OpsError(
            f"the outputs from {where} are stack {shown}'s, not {stack}'s: nothing was done. Give "
            f"{stack}'s outputs (--outputs FILE, or MAYA_OPS_OUTPUTS; the rehearsal writes one env file per "
            f"stack), or run the command with --stack {shown}"
        )


def endpoint(url: str, source: str) -> str:
    """``url`` if it is a usable API URL (https, or http to loopback), else a configuration error naming ``source``."""
    problem = _url_problem(url)
    if problem:
        raise OpsError(f"{source} is {url!r}, which is not a usable API URL: {problem}; fix or unset it")
    return url


def _url_problem(url: str) -> str:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return "it is not a URL"
    if any(c.isspace() for c in url):
        return "it is not a URL"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "it must be https://HOST/…"
    if parts.scheme == "http" and parts.hostname not in LOOPBACK:
        return "plain http is for loopback fakes only (a token would travel in clear text)"
    return ""


class OpsRailwayClient(RailwayClient):
    """The provider's Railway client as the on-call commands use it: when Railway cannot be reached at all
    (nothing was sent), the error names the URL and the variable or key that set it."""

    def __init__(self, token: str, settings: ClientSettings, *, source: str, credential: tuple[str, str]) -> None:
        super().__init__(token, settings)
        self.source = source
        self.credential = credential

    def execute(self, operation: Operation, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        try:
            return super().execute(operation, variables)
        except railway_errors.NotAuthorizedError as exc:
            variable, key = self.credential
            raise OpsError(
                f"Railway refused the token ({operation.name}: {exc.detail.split(' — ')[0]}): check {variable} "
                f"(else {NAMESPACE}:{key}); an account or workspace token with access to the project is needed"
            ) from None
        except railway_errors.UnavailableError as exc:
            if isinstance(exc, railway_errors.AmbiguousResultError):
                raise
            if exc.detail.startswith("cannot connect"):
                raise OpsError(
                    f"cannot reach the Railway API at {self.settings.endpoint} ({exc.detail}); it is set by "
                    f"{self.source}: check it, and the network",
                    1,
                ) from None
            if _NOT_GRAPHQL.match(exc.detail):  # something answers there, but not Railway's GraphQL API
                raise OpsError(
                    f"{self.settings.endpoint} is not Railway's GraphQL API ({exc.detail}); it is set by "
                    f"{self.source}: it must be the GraphQL endpoint, https://backboard.railway.com/graphql/v2"
                ) from None
            raise
