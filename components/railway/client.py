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
from typing import Any

import httpx

from components.railway import errors
from components.railway.operations import Operation

DEFAULT_ENDPOINT = "https://backboard.railway.com/graphql/v2"
SOURCE = "maya-infra"
USER_AGENT = "maya-infra-railway-provider/1"
_RETRY_STATUSES = frozenset({429, 502, 503, 504})
_CLOUDFLARE_BLOCK_SECONDS = 60.0

log = logging.getLogger(__name__)


@dataclass
class ClientSettings:
    endpoint: str = DEFAULT_ENDPOINT
    requests_per_second: float = 5.0
    max_attempts: int = 6
    timeout_seconds: float = 60.0
    connect_timeout_seconds: float = 10.0
    backoff_base_seconds: float = 0.5
    backoff_cap_seconds: float = 30.0


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
        parsed = email.utils.parsedate_to_datetime(value)
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


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


def classify(operation: str, message: str, code: str | None) -> errors.RailwayError:
    """Map a GraphQL error to a typed exception (``extensions.code`` is not reliably present)."""
    lowered = message.lower()
    if code == "NOT_FOUND" or lowered.endswith("not found") or " not found" in lowered:
        return errors.NotFoundError(operation, message)
    if code in ("UNAUTHENTICATED", "FORBIDDEN") or "not authorized" in lowered or "unauthorized" in lowered:
        return errors.NotAuthorizedError(
            operation, f"{message} — check maya-infra:railwayToken (an account or workspace token is needed)"
        )
    if code == "RATE_LIMITED" or "rate limit" in lowered or "too many requests" in lowered:
        return errors.RateLimitedError(operation, message)
    return errors.InvalidInputError(operation, message)


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
    ) -> None:
        if not token:
            raise errors.NotAuthorizedError("(configure)", "no Railway token: set maya-infra:railwayToken")
        self.settings = settings or ClientSettings()
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

    def _backoff(self, attempt: int) -> float:
        cap = min(self.settings.backoff_cap_seconds, self.settings.backoff_base_seconds * (2**attempt))
        return random.uniform(cap / 2, cap)  # noqa: S311 - jitter, not cryptography

    def execute(self, operation: Operation, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Send one operation, retrying what is safe to retry.

        429 and connection failures before the request left are always retried. 5xx answers, timeouts and
        dropped connections are retried for queries and idempotent mutations; for a mutation marked
        ``creates`` they raise :class:`errors.AmbiguousResultError` so the caller can look before retrying.
        """
        variables = dict(variables or {})
        secrets = [self._token, *_values(variables)]
        body = {"query": operation.document, "variables": variables, "operationName": operation.name}
        last: errors.RailwayError | None = None
        for attempt in range(self.settings.max_attempts):
            if attempt:
                log.info("Railway %s: retry %d/%d", operation.name, attempt, self.settings.max_attempts - 1)
            self._rate.wait()
            try:
                response = self._http.post(self.settings.endpoint, json=body)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                last = errors.UnavailableError(operation.name, f"cannot connect ({type(exc).__name__})")
                self._sleep(self._backoff(attempt))
                continue
            except httpx.TransportError as exc:  # sent, but the answer was lost
                if operation.creates:
                    raise errors.AmbiguousResultError(
                        operation.name, f"the connection failed after the request was sent ({type(exc).__name__})"
                    ) from None
                last = errors.UnavailableError(operation.name, f"no answer ({type(exc).__name__})")
                self._sleep(self._backoff(attempt))
                continue

            if response.status_code in _RETRY_STATUSES:
                text = response.text[:200]
                if response.status_code == 429:
                    wait = _retry_after(response)
                    if wait is None and "1015" in text:
                        wait = _CLOUDFLARE_BLOCK_SECONDS  # edge block: back off hard
                    wait = min(wait if wait is not None else self._backoff(attempt), self.settings.backoff_cap_seconds)
                    last = errors.RateLimitedError(operation.name, "rate limited by Railway (HTTP 429)")
                else:
                    if operation.creates:
                        raise errors.AmbiguousResultError(operation.name, f"HTTP {response.status_code} from Railway")
                    wait = self._backoff(attempt)
                    last = errors.UnavailableError(operation.name, f"HTTP {response.status_code} from Railway")
                self._sleep(wait)
                continue
            return self._data(operation, response, secrets)
        assert last is not None
        raise type(last)(operation.name, f"{last.detail}; gave up after {self.settings.max_attempts} attempts")

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
