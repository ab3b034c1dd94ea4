"""Fail when the backend's share of 5xx responses over the last window is above the threshold.

maya-infra inlines this file into the scheduled monitor workflow (the staging fallback when Checkly does not
watch the stack); the Checkly check of production runs the same query and the same arithmetic in JavaScript
(components/error_rate.py generates it from :data:`QUERY` and is tested against this). Standard library only.

Railway counts the service's requests per status code (``httpMetricsGroupedByStatus``); this sums them over
the window. Fewer than ``--min-requests`` requests never alert: 1 failure out of 2 requests at 3 a.m. is no
incident.

Usage: python3 error_rate.py --threshold PCT --window MIN --min-requests N [--api-url URL] [--timeout S]
Environment: RAILWAY_METRICS_TOKEN (the stack's metrics project token, sent as Project-Access-Token),
             RAILWAY_SERVICE_ID, RAILWAY_ENVIRONMENT_ID.
Exit status: 0 at or below the threshold, or too few requests to judge; 1 above the threshold;
             2 Railway could not be asked (no token, a refused token, an unreachable or failing API).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

API_URL = "https://backboard.railway.com/graphql/v2"
#: The one document both pollers send: a copy of components/error_rate.py's (this file imports nothing of
#: maya-infra's, being inlined into a workflow); tests/components/test_error_rate.py keeps them identical.
QUERY = (
    "query BackendErrorRate($serviceId: String!, $environmentId: String!, $startDate: DateTime!, "
    "$endDate: DateTime!, $stepSeconds: Int) { httpMetricsGroupedByStatus(serviceId: $serviceId, "
    "environmentId: $environmentId, startDate: $startDate, endDate: $endDate, stepSeconds: $stepSeconds) "
    "{ statusCode samples { ts value } } }"
)
STEP_SECONDS = 60


class RailwayError(Exception):
    """Railway could not be asked, or refused: the rate is unknown (exit 2)."""


def window(minutes: int, now: float | None = None) -> tuple[str, str]:
    """``startDate`` and ``endDate`` of the last ``minutes``, as Railway's DateTime (ISO 8601, UTC)."""
    end = time.time() if now is None else now
    fmt = "%Y-%m-%dT%H:%M:%S.000Z"
    return (
        datetime.fromtimestamp(end - minutes * 60, UTC).strftime(fmt),
        datetime.fromtimestamp(end, UTC).strftime(fmt),
    )


def counts(groups: Sequence[Mapping[str, Any]]) -> tuple[int, int]:
    """(5xx requests, all requests) of Railway's answer: the samples of each status code, summed."""
    errors = total = 0
    for group in groups:
        requests = math.floor(sum(float(s["value"]) for s in group["samples"]) + 0.5)  # JS's Math.round
        total += requests
        if 500 <= int(group["statusCode"]) <= 599:
            errors += requests
    return errors, total


def verdict(errors: int, total: int, threshold: float, minutes: int, min_requests: int) -> tuple[bool, str]:
    """(alert?, the one line saying why) — the same words as the Checkly check's teardown script."""
    rate = 100.0 * errors / total if total else 0.0
    share = f"backend 5xx rate {rate:.1f}% ({errors} of {total} requests) in the last {minutes} min"
    if total < min_requests:
        return False, f"{share}: fewer than {min_requests} requests, not judged"
    if rate > threshold:
        return True, f"{share} is above {threshold:g}%"
    return False, f"{share}: within {threshold:g}%"


def ask_railway(url: str, token: str, variables: Mapping[str, Any], timeout: float) -> list[dict[str, Any]]:
    """Railway's ``httpMetricsGroupedByStatus`` answer, or :class:`RailwayError` saying what went wrong."""
    body = json.dumps({"query": QUERY, "operationName": "BackendErrorRate", "variables": dict(variables)}).encode()
    request = urllib.request.Request(  # noqa: S310 - the configured Railway API URL
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Project-Access-Token": token,
            "User-Agent": "maya-infra-error-rate",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status, raw = int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        status, raw = int(exc.code), exc.read()
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise RailwayError(f"Railway's API at {url} could not be reached: {exc}") from None
    try:
        answer = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise RailwayError(f"Railway answered HTTP {status} without JSON") from None
    errors = answer.get("errors") if isinstance(answer, dict) else None
    if errors:
        messages = "; ".join(str(e.get("message", e)) for e in errors if isinstance(e, dict)) or str(errors)
        raise RailwayError(f"Railway refused the metrics query (HTTP {status}): {messages}")
    data = answer.get("data") if isinstance(answer, dict) else None
    groups = data.get("httpMetricsGroupedByStatus") if isinstance(data, dict) else None
    if status != 200 or not isinstance(groups, list):
        raise RailwayError(f"Railway answered HTTP {status} without metrics")
    return groups


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, required=True, help="percent of 5xx above which to fail")
    parser.add_argument("--window", type=int, required=True, help="minutes of requests to count")
    parser.add_argument("--min-requests", type=int, required=True, help="fewer requests are not judged")
    parser.add_argument("--api-url", default=os.environ.get("RAILWAY_API_URL") or API_URL)
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args(argv)
    token = os.environ.get("RAILWAY_METRICS_TOKEN", "")
    service, environment = os.environ.get("RAILWAY_SERVICE_ID", ""), os.environ.get("RAILWAY_ENVIRONMENT_ID", "")
    if not (token and service and environment):
        print(
            "::error::the backend 5xx rate cannot be read: RAILWAY_METRICS_TOKEN, RAILWAY_SERVICE_ID or "
            "RAILWAY_ENVIRONMENT_ID is missing from the <environment>-alerts environment (run `pulumi up` for "
            "this stack)"
        )
        return 2
    start, end = window(args.window)
    variables = {
        "serviceId": service,
        "environmentId": environment,
        "startDate": start,
        "endDate": end,
        "stepSeconds": STEP_SECONDS,
    }
    try:
        groups = ask_railway(args.api_url, token, variables, args.timeout)
    except RailwayError as exc:
        print(f"::error::the backend 5xx rate is unknown: {exc}")
        return 2
    alert, line = verdict(*counts(groups), args.threshold, args.window, args.min_requests)
    print(f"::error::{line}" if alert else line)
    return 1 if alert else 0


if __name__ == "__main__":
    sys.exit(main())
