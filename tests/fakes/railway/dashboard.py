"""Railway as a person (or CI, or an earlier tool) uses it — outside maya-infra.

The exactly-once rule is maya-infra's: its client refuses a create outside
:func:`components.railway.exactly_once.write_once` (``admit``). What tests set up beforehand — the running
MAYA, a duplicate someone made by hand, CI's deploy — is not maya-infra's doing, so it goes through this
instead: any document, sent once over real HTTP with the fake's token (validated and counted like every
request, and spending the same rate-limit budget), no retries, no rule.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any, Protocol


class _Document(Protocol):
    name: str
    document: str


class DashboardError(RuntimeError):
    """Railway answered the dashboard's request with an error."""


class Dashboard:
    """``execute(operation, variables)`` like the product's client, without its retries or its rule."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self._token = token

    def __repr__(self) -> str:  # never the token
        return f"Dashboard({self.url!r})"

    def execute(self, operation: _Document, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """One POST (urllib: a loopback http:// request builds no TLS context, unlike a fresh httpx client)."""
        body = {"query": operation.document, "variables": dict(variables or {}), "operationName": operation.name}
        request = urllib.request.Request(  # noqa: S310 - the fake's loopback URL
            f"{self.url}?{urllib.parse.urlencode({'source': 'dashboard'})}",
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - the fake's loopback URL
                status, text = answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode()
        try:
            payload = json.loads(text)
        except ValueError:
            raise DashboardError(f"{operation.name}: HTTP {status} {text[:200]}") from None
        if payload.get("errors") or payload.get("data") is None:
            raise DashboardError(f"{operation.name}: HTTP {status} {payload.get('errors')}")
        data: dict[str, Any] = payload["data"]
        return data
