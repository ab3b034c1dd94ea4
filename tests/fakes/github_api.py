"""The fake GitHub API, standalone: ``python -m tests.fakes.github_api --port 0`` prints the base URL and
serves until SIGTERM/SIGINT, then prints every request it received with its operationId and status.

The fake itself lives in tests/fakes/github/ (server.py; judged by GitHub's OpenAPI description in
openapi.py); this module keeps the import path ``tests.fakes.github_api.FakeGitHub`` working.
"""

from __future__ import annotations

import argparse
import signal
import threading
from typing import Any

from tests.fakes.github import FakeGitHub, Fault, RecordedRequest

__all__ = ["FakeGitHub", "Fault", "RecordedRequest", "main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.github_api", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--org", action="append", default=None, help="an organization login (repeatable)")
    parser.add_argument("--repo", action="append", default=None, help="an existing repository owner/name")
    parser.add_argument("--login", default="maya-bot", help="the user GET /user answers")
    args = parser.parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("the fake only listens on loopback")
    fake = FakeGitHub(
        orgs=args.org or ("mayassistant",),
        repos=args.repo or ("mayassistant/maya",),
        login=args.login,
        host=args.host,
        port=args.port,
    )
    stop = threading.Event()

    def on_signal(_signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    fake.start()
    print(fake.url, flush=True)
    try:
        while not stop.wait(0.2):
            pass
    finally:
        fake.stop()
        for r in fake.requests:
            print(f"{r.status} {r.operation_id or '-'} {r.line}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
