"""HTTP for the inlined scripts: one urllib call, the https-only rule, bounded retries honouring Retry-After.

Standard library only. It is not run by itself: :func:`workflows.render.write_script` writes it next to each
script that imports it (pr_preview.py and its modules, railway_rollback.py, preview_deployment.py), so the
rules every script follows towards an API — https only (loopback for the tests' fakes), a bounded number of
attempts, Retry-After honoured up to a minute, a create never blindly resent — are written once.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

RETRY_HTTP = frozenset({429, 500, 502, 503, 504})
MAX_PAGES = 20  # every listing is bounded
#: The only URLs a script sends a token to: https, or the loopback fakes of the tests.
SAFE_PREFIXES = ("https://", "http://127.0.0.1", "http://localhost")


class ScriptError(RuntimeError):
    """A failure the workflow reports (never carries a token or a variable's value)."""


class AmbiguousError(ScriptError):
    """A create was sent but its answer was lost: it may or may not have happened."""


#: (method, url, headers, body, timeout) -> (status, headers, body); raises OSError when no answer came back.
Send = Callable[[str, str, Mapping[str, str], bytes | None, float], tuple[int, Mapping[str, str], bytes]]


def urlopen(
    method: str, url: str, headers: Mapping[str, str], body: bytes | None, timeout: float
) -> tuple[int, Mapping[str, str], bytes]:
    """One request; an HTTP error status is an answer like any other, only a lost connection raises."""
    request = urllib.request.Request(url, data=body, headers=dict(headers), method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - scheme checked
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers or {}), error.read() or b""


def is_safe(url: str) -> bool:
    """Whether a token may be sent to ``url`` (see :data:`SAFE_PREFIXES`)."""
    return url.startswith(SAFE_PREFIXES)


def check_url(url: str) -> str:
    """``url`` without its trailing slash, or :class:`ScriptError` when it is not :func:`is_safe`."""
    if not is_safe(url):
        raise ScriptError(f"{url!r}: APIs are reached over https only")
    return url.rstrip("/")


def retry_delay(headers: Mapping[str, str], attempt: int) -> float:
    """Seconds before attempt ``attempt + 1``: the answer's Retry-After (at most a minute), else a backoff."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    try:
        seconds = float(value or "")  # Railway sets it on every 429
    except ValueError:
        seconds = -1.0
    if 0.0 <= seconds < float("inf"):
        return min(seconds, 60.0)
    return min(2.0**attempt, 30.0)


def path_of(url: str) -> str:
    """The path of ``url``: what an error message names (never the query, which may carry ids)."""
    return urllib.parse.urlsplit(url).path


@dataclass
class Http:
    """Bounded retries of throttled or failed requests; a write that creates is never blindly resent."""

    send: Send = urlopen
    sleep: Callable[[float], None] = time.sleep
    attempts: int = 5
    timeout: float = 30.0
    requests: int = 0
    user_agent: str = "maya-infra-script/1"

    def call(
        self, method: str, url: str, headers: Mapping[str, str], payload: Any = None, *, creates: bool = False
    ) -> tuple[int, Any]:
        """(status, decoded JSON or None) of the first answer that is not retried."""
        body = None if payload is None else json.dumps(payload).encode()
        sent = {"User-Agent": self.user_agent, "Accept": "application/json", **headers}
        if body is not None:
            sent["Content-Type"] = "application/json"
        last = ""
        for attempt in range(1, self.attempts + 1):
            self.requests += 1
            try:
                status, answer_headers, raw = self.send(method, url, sent, body, self.timeout)
            except (OSError, TimeoutError) as error:  # no answer: it may have been applied
                if creates:
                    raise AmbiguousError(f"{method} {path_of(url)}: no answer ({type(error).__name__})") from None
                last = type(error).__name__
                self.sleep(retry_delay({}, attempt))
                continue
            if status == 429 or (status in RETRY_HTTP and not creates):
                last = f"HTTP {status}"
                if attempt < self.attempts:
                    self.sleep(retry_delay(answer_headers, attempt))
                continue
            if status in RETRY_HTTP:
                raise AmbiguousError(f"{method} {path_of(url)}: HTTP {status}")
            try:
                decoded = json.loads(raw) if raw else None
            except ValueError:
                decoded = None
            return status, decoded
        raise ScriptError(f"{method} {path_of(url)}: gave up after {self.attempts} attempts ({last})")


def append(env: Mapping[str, str], variable: str, text: str) -> None:
    """Append ``text`` to the file GitHub names in ``variable`` (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY), if set."""
    path = env.get(variable)
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(text)
