"""Check a health endpoint's BODY, not only its status: every ``--expect $.path=value`` must hold.

maya-infra inlines this file into the deploy jobs (smoke tests, the backend's health gate). Standard
library only. ``$.database=ok`` reads the JSON body's ``database`` field; nested fields are ``$.a.b``.

Usage: python3 health_check.py URL [--expect '$.path=value']... [--expect-env NAME] [--attempts N] [--delay S]
       [--timeout S]       (--expect-env: a variable holding expectations, one per line)
Exit status: 0 healthy; 1 still unhealthy after every attempt (each failed expectation is printed).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any

Fetch = Callable[[str, float], tuple[int, bytes]]


def _fetch(url: str, timeout: float) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"User-Agent": "maya-infra-health-check"})  # noqa: S310 - https URL from config
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()


def parse_expectation(text: str) -> tuple[list[str], str]:
    path, sep, value = text.partition("=")
    if not sep or not path.startswith("$."):
        raise ValueError(f"{text!r}: expected $.field=value")
    return path[2:].split("."), value


def lookup(body: Any, path: Sequence[str]) -> Any:
    for part in path:
        if not isinstance(body, dict) or part not in body:
            return None
        body = body[part]
    return body


def problems(status: int, raw: bytes, expectations: Sequence[tuple[list[str], str]]) -> list[str]:
    """What is wrong with one answer: the status, a body that is not JSON, each expectation that fails."""
    found = [] if status == 200 else [f"status {status} (expected 200)"]
    if not expectations:
        return found
    try:
        body = json.loads(raw.decode("utf-8") or "null")
    except (UnicodeDecodeError, json.JSONDecodeError):
        return [*found, "the body is not JSON"]
    for path, value in expectations:
        actual = lookup(body, path)
        if str(actual) != value:
            found.append(f"$.{'.'.join(path)} is {json.dumps(actual)} (expected {value})")
    return found


def check(
    url: str,
    expectations: Sequence[tuple[list[str], str]],
    attempts: int,
    delay: float,
    timeout: float,
    fetch: Fetch = _fetch,
    sleep: Callable[[float], None] = time.sleep,
) -> list[str]:
    """The problems of the last attempt (empty when healthy); bounded by ``attempts``."""
    last: list[str] = []
    for attempt in range(1, max(1, attempts) + 1):
        try:
            last = problems(*fetch(url, timeout), expectations)
        except (OSError, TimeoutError) as exc:
            last = [f"no answer ({type(exc).__name__}: {exc})"]
        if not last:
            return []
        print(f"attempt {attempt}/{attempts}: {url}: {'; '.join(last)}", flush=True)
        if attempt < attempts:
            sleep(delay)
    return last


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="health_check", description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--expect", action="append", default=[])
    parser.add_argument("--expect-env", help="an environment variable holding more expectations, one per line")
    parser.add_argument("--attempts", type=int, default=10)
    parser.add_argument("--delay", type=float, default=6.0)
    parser.add_argument("--timeout", type=float, default=15.0)
    args = parser.parse_args(argv)
    texts = list(args.expect)
    if args.expect_env:
        texts += [line.strip() for line in os.environ.get(args.expect_env, "").splitlines() if line.strip()]
    expectations = [parse_expectation(e) for e in texts]
    left = check(args.url, expectations, args.attempts, args.delay, args.timeout)
    for problem in left:
        print(f"::error::{args.url}: {problem}")
    if not left:
        print(f"{args.url}: healthy ({len(expectations)} body expectation(s) hold)")
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
