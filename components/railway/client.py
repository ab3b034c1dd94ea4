"""A small Railway GraphQL client on httpx: retries, backoff, a request-rate cap, typed errors.

Why not a generic GraphQL client: Railway's failure modes need specific handling — 429 with
``Retry-After`` (and Cloudflare's ``error code: 1015`` edge block, which has none), 502/503/504 that may
arrive after ~30 s, GraphQL errors on HTTP 200 whose only reliable signal is their text — and a
mutation whose answer was lost must not be blindly sent again. The client is thread-safe (the dynamic
provider server calls it from 4 threads) and is created in ``configure()``, never pickled.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from components.railway import errors
from components.railway.exactly_once import admit
from components.railway.operations import Operation
from config.model import RailwaySettings

DEFAULT_ENDPOINT = RailwaySettings.model_fields["api_url"].default
SOURCE = "maya-infra"
USER_AGENT = "maya-infra-railway-provider/1"
#: Answers after which Railway may or may not have done the work (the write may be committed).
_SERVER_STATUSES = frozenset({500, 502, 503, 504})
#: Cloudflare's edge block (HTTP 429, body "error code: 1015") comes without Retry-After: back off hard.
_CLOUDFLARE_BLOCK_SECONDS = 60.0
#: Railway's answers to a failure on its side (HTTP 200 with this error): the work may have been done.
_GENERIC_MESSAGES = ("problem processing request", "internal server error")
_GENERIC_CODES = frozenset({"INTERNAL_SERVER_ERROR"})

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClientSettings:
    """The client's tuning. Build it with :meth:`of` from the validated config (its one owner)."""

    endpoint: str = DEFAULT_ENDPOINT
    requests_per_second: float = 5.0
    max_attempts: int = 6
    timeout_seconds: float = 60.0
    connect_timeout_seconds: float = 10.0
    backoff_base_seconds: float = 0.5
    backoff_cap_seconds: float = 30.0
    deadline_seconds: float = 300.0
    settle_seconds: float = 60.0

    @classmethod
    def of(cls, railway: RailwaySettings, *, endpoint: str | None = None) -> ClientSettings:
        """The settings for a stack's ``railway`` section (``endpoint`` overrides its ``apiUrl``)."""
        return cls(
            endpoint=endpoint or railway.api_url,
            requests_per_second=railway.requests_per_second,
            max_attempts=railway.max_attempts,
            timeout_seconds=railway.timeout_seconds,
            backoff_cap_seconds=railway.backoff_cap_seconds,
            deadline_seconds=railway.deadline_seconds,
            settle_seconds=railway.settle_seconds,
        )


@dataclass
class _RateCap:
    """Spaces requests at least ``1/rate`` seconds apart across threads."""

    rate: float
    sleep: Callable[[float], None]
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _next_at: float = 0.0

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            at = max(now, self._next_at)
            self._next_at = at + 1.0 / self.rate
        if at > now:
            self.sleep(at - now)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, parsed.timestamp() - time.time())


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Remove every secret (token, variable values) from a server message before it is shown."""
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, "[redacted]")
    return text[:500]


def _values(obj: Any) -> Iterable[str]:
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, Mapping):
        for v in obj.values():
            yield from _values(v)
    elif isinstance(obj, list | tuple):
        for v in obj:
            yield from _values(v)


def is_generic_failure(message: str, code: str | None) -> bool:
    """Railway's answer when something failed on its side — not a verdict on our input."""
    return code in _GENERIC_CODES or message.lower().strip().rstrip(".") in _GENERIC_MESSAGES


def classify(operation: str, message: str, code: str | None) -> errors.RailwayError:
    """Map a GraphQL error to a typed exception (``extensions.code`` is not reliably present).

    Railway's generic failure comes back as :class:`errors.UnavailableError`; the client turns it into a
    retry (idempotent operations) or :class:`errors.AmbiguousResultError` (the others).
    """
    lowered = message.lower()
    if is_generic_failure(message, code):
        return errors.UnavailableError(operation, f"Railway failed to process the request ({message})")
    if code == "NOT_FOUND" or lowered.endswith("not found") or " not found" in lowered:
        return errors.NotFoundError(operation, message)
    if code in ("UNAUTHENTICATED", "FORBIDDEN") or "not authorized" in lowered or "unauthorized" in lowered:
        return errors.NotAuthorizedError(
            operation, f"{message} — check maya-infra:railwayToken (an account or workspace token is needed)"
        )
    if code == "RATE_LIMITED" or "rate limit" in lowered or "too many requests" in lowered:
        return errors.RateLimitedError(operation, message)
    return errors.InvalidInputError(operation, message)


@dataclass
class _Attempt:
    """Why one attempt failed and how long to wait before the next (None: do not retry)."""

    error: errors.RailwayError
    wait: float | None


def _at(seconds_from_now: float) -> str:
    moment = datetime.now(UTC) + timedelta(seconds=seconds_from_now)
    return moment.strftime("%H:%M:%S UTC")


class RailwayClient:
    """Executes named operations; returns ``data`` or raises a :mod:`errors` exception."""

    def __init__(
        self,
        token: str,
        settings: ClientSettings | None = None,
        *,
        project_token: bool = False,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        read_only: bool = False,
    ) -> None:
        if not token:
            raise errors.NotAuthorizedError("(configure)", "no Railway token: set maya-infra:railwayToken")
        self.settings = settings or ClientSettings()
        #: Refuse every mutation before sending it (``ops preflight``: it must change nothing anywhere).
        self.read_only = read_only
        self._token = token
        self._sleep = sleep
        self._rate = _RateCap(self.settings.requests_per_second, sleep)
        auth = {"Project-Access-Token": token} if project_token else {"Authorization": f"Bearer {token}"}
        self._http = httpx.Client(
            headers={**auth, "User-Agent": USER_AGENT, "x-source": SOURCE, "Content-Type": "application/json"},
            params={"source": SOURCE},
            timeout=httpx.Timeout(self.settings.timeout_seconds, connect=self.settings.connect_timeout_seconds),
            transport=transport,
        )

    def __repr__(self) -> str:  # never show the token
        return f"RailwayClient(endpoint={self.settings.endpoint!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RailwayClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _backoff(self, attempt: int) -> float:
        cap = min(self.settings.backoff_cap_seconds, self.settings.backoff_base_seconds * (2**attempt))
        return random.uniform(cap / 2, cap)  # noqa: S311 - jitter, not cryptography

    def sleep(self, seconds: float) -> None:
        """The client's clock (tests record it); the providers' settle loops wait through it too."""
        self._sleep(seconds)

    def execute(self, operation: Operation, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Send one operation, retrying what is safe to retry, within ``deadline_seconds``.

        * Nothing was sent (connection refused, connect timeout) or Railway refused to look at it (429):
          retried for every operation. ``Retry-After`` is honoured in full; when it would cross the
          deadline the call fails at once with :class:`errors.RateLimitedError` saying when to retry.
        * The request may have been processed (5xx, read timeout, dropped connection, Railway's generic
          "Problem processing request"): retried for idempotent operations; for the others
          :class:`errors.AmbiguousResultError` — the caller reads before it sends again.
        * Anything else is final and typed (invalid input, not found, not authorized).

        There is no wait after the last attempt. A read-only client refuses a mutation before sending it
        (:class:`errors.ReadOnlyError`). A non-idempotent mutation is sent only as the ``send`` of
        :func:`components.railway.exactly_once.write_once` (:func:`~components.railway.exactly_once.admit`
        refuses it otherwise, before anything goes out).
        """
        if self.read_only and operation.is_mutation:
            raise errors.ReadOnlyError(operation.name, "this client is read-only; the mutation was not sent")
        admit(operation)
        variables = dict(variables or {})
        secrets = [self._token, *_values(variables)]
        body = {"query": operation.document, "variables": variables, "operationName": operation.name}
        deadline = time.monotonic() + self.settings.deadline_seconds
        attempts = self.settings.max_attempts
        for attempt in range(attempts):
            if attempt:
                log.info("Railway %s: retry %d/%d", operation.name, attempt, attempts - 1)
            self._rate.wait()
            outcome = self._attempt(operation, body, secrets, attempt)
            if isinstance(outcome, dict):
                return outcome
            if outcome.wait is None:
                raise outcome.error
            if attempt == attempts - 1:
                raise type(outcome.error)(operation.name, f"{outcome.error.detail}; gave up after {attempts} attempts")
            if time.monotonic() + outcome.wait > deadline:
                raise self._past_deadline(operation, outcome)
            self._sleep(outcome.wait)
        raise AssertionError("unreachable")  # pragma: no cover - the loop always returns or raises

    def _past_deadline(self, operation: Operation, outcome: _Attempt) -> errors.RailwayError:
        wait = outcome.wait or 0.0
        limit = f"railway.deadlineSeconds ({self.settings.deadline_seconds:g} s)"
        if isinstance(outcome.error, errors.RateLimitedError):
            return errors.RateLimitedError(
                operation.name,
                f"{outcome.error.detail}; Railway asks to wait {wait:.0f} s, past {limit}: "
                f"retry after {_at(wait)} (or raise the deadline)",
                retry_after=wait,
            )
        return type(outcome.error)(operation.name, f"{outcome.error.detail}; gave up at {limit}")

    def _attempt(
        self, operation: Operation, body: dict[str, Any], secrets: list[str], attempt: int
    ) -> dict[str, Any] | _Attempt:
        """One request: its data, or why it failed and how long to wait before the next one."""
        name = operation.name
        try:
            response = self._http.post(self.settings.endpoint, json=body)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:  # nothing was sent
            return _Attempt(
                errors.UnavailableError(name, f"cannot connect ({type(exc).__name__})"), self._backoff(attempt)
            )
        except httpx.TransportError as exc:  # sent, but the answer was lost
            return self._maybe_done(operation, f"no answer ({type(exc).__name__})", attempt)

        if response.status_code == 429:
            return self._rate_limited(name, response, attempt)
        if response.status_code in _SERVER_STATUSES:
            outcome = self._maybe_done(operation, f"HTTP {response.status_code} from Railway", attempt)
            asked = _retry_after(response)
            if outcome.wait is not None and asked is not None:
                outcome.wait = asked
            return outcome
        try:
            return self._data(operation, response, secrets)
        except errors.UnavailableError as exc:  # Railway's generic failure on HTTP 200
            return self._maybe_done(operation, exc.detail, attempt)

    def _maybe_done(self, operation: Operation, detail: str, attempt: int) -> _Attempt:
        """The request may have been processed: retry it only if doing it twice is harmless."""
        if operation.idempotent:
            return _Attempt(errors.UnavailableError(operation.name, detail), self._backoff(attempt))
        return _Attempt(
            errors.AmbiguousResultError(
                operation.name, f"{detail}: the request was sent and may have been carried out"
            ),
            None,
        )

    def _rate_limited(self, name: str, response: httpx.Response, attempt: int) -> _Attempt:
        """429: Railway did not process the request. Wait what it asks for, in full."""
        asked = _retry_after(response)
        if asked is None and "1015" in response.text[:200]:
            error = errors.RateLimitedError(name, "blocked by Cloudflare (error 1015, too many requests)")
            return _Attempt(error, max(_CLOUDFLARE_BLOCK_SECONDS, self._backoff(attempt)))
        error = errors.RateLimitedError(name, "rate limited by Railway (HTTP 429)", retry_after=asked)
        return _Attempt(error, asked if asked is not None else self._backoff(attempt))

    def _data(self, operation: Operation, response: httpx.Response, secrets: list[str]) -> dict[str, Any]:
        try:
            payload = response.json()
        except ValueError:
            raise errors.UnavailableError(
                operation.name, f"HTTP {response.status_code} with a body that is not JSON"
            ) from None
        problems = payload.get("errors") or []
        if problems:
            first = problems[0]
            message = scrub(str(first.get("message", "unknown error")), secrets)
            code = (first.get("extensions") or {}).get("code")
            raise classify(operation.name, message, code)
        if response.status_code >= 400 or payload.get("data") is None:
            raise errors.UnavailableError(operation.name, f"HTTP {response.status_code} without data")
        data: dict[str, Any] = payload["data"]
        return data
