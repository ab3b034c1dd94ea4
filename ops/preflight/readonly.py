"""HTTP that can only read: every request preflight sends passes through :class:`ReadOnlyTransport`.

The guard sits in the transport, under every client preflight builds (Railway's GraphQL client, GitHub, Vercel,
Checkly), so no code path above it can send a write: a method other than GET/HEAD is refused before it leaves
the process, except a POST to a GraphQL endpoint whose document parses to queries only (Railway reads through
POST). The document is parsed with graphql-core, so a mutation hidden behind a comment or a second operation is
seen. Each request is counted per platform (``requests``) and the last response's headers are kept
(``last_headers``: Railway's rate-limit headers, GitHub's ``X-OAuth-Scopes``).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterable

import graphql
import httpx

READ_METHODS = frozenset({"GET", "HEAD"})


class ReadOnlyViolation(Exception):
    """A request that could change something was about to be sent; nothing was sent."""


def _operations(body: bytes) -> list[str]:
    """The operation types of the GraphQL document in a POST body (``query``, ``mutation``, …)."""
    try:
        payload = json.loads(body.decode("utf-8"))
        document = graphql.parse(payload["query"])
    except (ValueError, KeyError, TypeError, graphql.GraphQLError):
        return ["unparseable"]
    return [d.operation.value for d in document.definitions if isinstance(d, graphql.OperationDefinitionNode)]


class Ledger:
    """Requests per platform and the last response headers per platform, across every client of one run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.last_headers: dict[str, httpx.Headers] = {}

    def note(self, platform: str, response: httpx.Response | None) -> None:
        with self._lock:
            self.requests[platform] += 1
            if response is not None:
                self.last_headers[platform] = response.headers


class ReadOnlyTransport(httpx.BaseTransport):
    """Wraps a transport; refuses writes; counts what it sends in ``ledger`` under ``platform``."""

    def __init__(
        self,
        platform: str,
        ledger: Ledger,
        *,
        graphql_paths: Iterable[str] = (),
        inner: httpx.BaseTransport | None = None,
    ) -> None:
        self.platform = platform
        self.ledger = ledger
        self.graphql_paths = frozenset(p.rstrip("/") for p in graphql_paths)
        self._inner = inner or httpx.HTTPTransport()

    def check(self, request: httpx.Request) -> None:
        method = request.method.upper()
        if method in READ_METHODS:
            return
        path = request.url.path.rstrip("/")
        if method == "POST" and path in self.graphql_paths:
            kinds = _operations(request.read())
            if kinds and all(k == "query" for k in kinds):
                return
            raise ReadOnlyViolation(
                f"{self.platform}: refused to send a GraphQL {'/'.join(kinds) or 'request'} to {path}: "
                "preflight only reads"
            )
        raise ReadOnlyViolation(f"{self.platform}: refused to send {method} {path}: preflight only reads (GET/HEAD)")

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.check(request)
        try:
            response = self._inner.handle_request(request)
        except httpx.HTTPError:
            self.ledger.note(self.platform, None)
            raise
        self.ledger.note(self.platform, response)
        return response

    def close(self) -> None:
        self._inner.close()


def read_only_client(
    platform: str,
    ledger: Ledger,
    base_url: str,
    headers: dict[str, str],
    *,
    timeout: float = 10.0,
    graphql_paths: Iterable[str] = (),
) -> httpx.Client:
    """An httpx client for one platform that can only read (see the module docstring)."""
    return httpx.Client(
        base_url=base_url.rstrip("/"),
        headers=headers,
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        transport=ReadOnlyTransport(platform, ledger, graphql_paths=graphql_paths),
        follow_redirects=False,
    )
