"""``health``: probe the stack's public endpoints; exit 0 only when every one is healthy.

    python -m ops health --stack production              # one round, each endpoint tried up to 3 times
    python -m ops health --stack production --wait 300   # keep retrying (backoff) until healthy or 300 s

Endpoints (from the stack's outputs): the backend's ``<backend_url><backend.healthcheckPath>``
(``/api/health``), healthy on HTTP 200 with a JSON object whose ``status`` and parts (``database``,
external APIs …, reported as they come) are not ``unhealthy``/``error``/``down``/``fail…``; and the
frontend's ``<frontend_url>``, healthy on any 2xx after redirects. Each probe times out after 10 s.
For a failing endpoint the report says what failed and since when (the first failure of this run).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TextIO

import httpx

from ops.cli import command
from ops.clock import age, clock, utc_now
from ops.console import FAILED, OK, Progress, Streams, run_guarded
from ops.context import OpsError, StackContext

USER_AGENT = "maya-infra-ops-health/1"
PROBE_TIMEOUT_SECONDS = 10.0
BACKOFF_CAP_SECONDS = 15.0
MAX_ROUNDS = 1000  # a hard bound on top of the deadline
BAD_WORDS = frozenset({"unhealthy", "error", "errored", "down", "fail", "failed", "failing", "critical", "unavailable"})
_SKIP_KEYS = frozenset({"status", "timestamp", "time", "version", "uptime", "environment", "service"})


@dataclass(frozen=True)
class Endpoint:
    name: str  # "backend" | "frontend"
    url: str
    kind: str  # "api" (JSON health) | "site" (any 2xx)


@dataclass
class Probe:
    ok: bool
    detail: str
    at: datetime
    status: int | None = None
    elapsed_ms: int = 0
    parts: dict[str, str] = field(default_factory=dict)


@dataclass
class Watch:
    """Everything one run learned about one endpoint."""

    endpoint: Endpoint
    probes: int = 0
    failures: int = 0
    first_failure: datetime | None = None
    last: Probe | None = None

    @property
    def ok(self) -> bool:
        return self.last is not None and self.last.ok

    def record(self, probe: Probe) -> None:
        self.probes += 1
        self.last = probe
        if not probe.ok:
            self.failures += 1
            self.first_failure = self.first_failure or probe.at


def endpoints_of(ctx: StackContext) -> list[Endpoint]:
    backend = str(ctx.output("backend_url")).rstrip("/") + ctx.config.backend.healthcheck_path
    return [Endpoint("backend", backend, "api"), Endpoint("frontend", str(ctx.output("frontend_url")), "site")]


def _is_bad(value: Any) -> bool:
    if isinstance(value, bool):
        return not value
    return isinstance(value, str) and value.strip().lower() in BAD_WORDS


def health_parts(body: Mapping[str, Any]) -> tuple[dict[str, str], list[str]]:
    """The parts a health body reports (``database: ok`` …) and the names of the failing ones.

    ``{"database": "ok"}``, ``{"database": {"status": "error", …}}`` and ``{"checks": {"database": …}}``
    are all understood; values are shortened, and only the parts' states are kept (never whole bodies).
    """
    parts: dict[str, str] = {}
    bad: list[str] = []

    def add(name: str, value: Any) -> None:
        if isinstance(value, Mapping):
            if "status" in value:
                value = value["status"]
            elif "healthy" in value:
                value = value["healthy"]
            elif "ok" in value:
                value = value["ok"]
            else:
                for sub, inner in list(value.items())[:10]:
                    add(f"{name}.{sub}", inner)
                return
        if isinstance(value, Mapping | list):
            return
        text = str(value).lower() if isinstance(value, bool) else str(value)
        parts[name] = text[:40]
        if _is_bad(value):
            bad.append(name)

    for key, value in list(body.items())[:20]:
        if key in ("checks", "components", "services", "dependencies") and isinstance(value, Mapping):
            for sub, inner in list(value.items())[:10]:
                add(str(sub), inner)
        elif key not in _SKIP_KEYS:
            add(str(key), value)
    return parts, bad


def probe(endpoint: Endpoint, http: httpx.Client) -> Probe:
    started = time.monotonic()
    at = utc_now()
    try:
        response = http.get(endpoint.url)
    except httpx.TimeoutException:
        return Probe(False, f"no answer within {PROBE_TIMEOUT_SECONDS:.0f}s", at)
    except httpx.HTTPError as exc:
        return Probe(False, f"cannot connect ({type(exc).__name__})", at)
    elapsed = int((time.monotonic() - started) * 1000)
    code = response.status_code
    if endpoint.kind == "site":
        ok = 200 <= code < 300
        return Probe(ok, f"HTTP {code} in {elapsed} ms", at, code, elapsed)
    try:
        body = response.json()
    except ValueError:
        body = None
    parts: dict[str, str] = {}
    bad: list[str] = []
    if isinstance(body, Mapping):
        parts, bad = health_parts(body)
        if _is_bad(body.get("status")):
            bad.insert(0, "status")
            parts = {"status": str(body.get("status"))[:40], **parts}
    detail = f"HTTP {code} in {elapsed} ms"
    if code != 200:
        return Probe(False, detail, at, code, elapsed, parts)
    if not isinstance(body, Mapping):
        return Probe(False, f"{detail}, but the body is not a JSON object", at, code, elapsed)
    if bad:
        return Probe(False, f"{detail}, failing: {', '.join(bad)}", at, code, elapsed, parts)
    return Probe(True, detail, at, code, elapsed, parts)


def new_http(timeout: float = PROBE_TIMEOUT_SECONDS) -> httpx.Client:
    return httpx.Client(
        timeout=httpx.Timeout(timeout, connect=min(5.0, timeout)),
        follow_redirects=True,
        headers={"User-Agent": USER_AGENT, "Accept": "application/json, text/html;q=0.9"},
    )


def check(
    endpoints: Sequence[Endpoint],
    *,
    wait: float = 0.0,
    attempts: int = 3,
    delay: float = 1.0,
    http: httpx.Client | None = None,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> list[Watch]:
    """Probe every endpoint; retry the failing ones with backoff for at least ``attempts`` rounds and
    until ``wait`` seconds have passed, stopping as soon as all are healthy."""
    watches = [Watch(e) for e in endpoints]
    own = http is None
    client = http or new_http()
    deadline = monotonic() + max(0.0, wait)
    try:
        pending = list(watches)
        for round_ in range(1, MAX_ROUNDS + 1):
            for watch in pending:
                watch.record(probe(watch.endpoint, client))
            pending = [w for w in pending if not w.ok]
            if not pending:
                break
            left = deadline - monotonic()
            if round_ >= attempts and left <= 0:
                break
            pause = min(delay * 2 ** (round_ - 1), BACKOFF_CAP_SECONDS)
            if round_ >= attempts:
                pause = min(pause, left)
            if progress is not None:
                failing = "; ".join(f"{w.endpoint.name}: {w.last.detail if w.last else '?'}" for w in pending)
                progress.say(f"unhealthy ({failing}); probe {round_ + 1} in {pause:.0f}s", deadline if wait else None)
            sleep(max(0.0, pause))
    finally:
        if own:
            client.close()
    return watches


def describe(watch: Watch) -> str:
    last = watch.last
    assert last is not None
    state = "healthy" if last.ok else "UNHEALTHY"
    line = f"  {watch.endpoint.name:<9} {state:<10} {watch.endpoint.url}  {last.detail}"
    if last.parts:
        line += " — " + ", ".join(f"{k}: {v}" for k, v in last.parts.items())
    if watch.first_failure is not None:
        span = f"{watch.failures} of {watch.probes} probes failed"
        since = f"{clock(watch.first_failure)}, {age(watch.first_failure)} ago"
        line += (
            f"\n  {'':<9} failing since {since} ({span})"
            if not last.ok
            else f"\n  {'':<9} recovered; was failing since {since} ({span})"
        )
    return line


def report(watches: Sequence[Watch], out: TextIO) -> int:
    for watch in watches:
        print(describe(watch), file=out)
    return OK if all(w.ok for w in watches) else FAILED


# ---- the command ---------------------------------------------------------------------------------------------


def register(subparsers: Any) -> None:
    parser = command(
        subparsers,
        "health",
        "probe the backend's /api/health and the frontend; exit 0 only when healthy",
        __doc__,
        stack=True,
    )
    parser.add_argument(
        "--wait", type=float, default=0.0, metavar="SECONDS", help="keep retrying until healthy or this long"
    )
    parser.add_argument("--attempts", type=int, default=3, help="probes per endpoint at least (default 3)")
    parser.add_argument(
        "--retry-delay", type=float, default=1.0, metavar="SECONDS", help="first pause; doubles, up to 15 s"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, io: Streams) -> int:
    out, err, env = io.out, io.err, io.env

    def body() -> int:
        if args.wait < 0 or args.attempts < 1 or args.retry_delay < 0:
            raise OpsError("--wait and --retry-delay must be >= 0 and --attempts >= 1")
        ctx = StackContext.load(args.stack, args.outputs, env)
        endpoints = endpoints_of(ctx)
        print(f"health of {ctx.stack}:", file=out, flush=True)
        watches = check(
            endpoints,
            wait=args.wait,
            attempts=args.attempts,
            delay=args.retry_delay,
            progress=Progress(err),
        )
        code = report(watches, out)
        print("healthy" if code == OK else "UNHEALTHY: see docs/oncall.md", file=out)
        return code

    return run_guarded("health", err, body)
