"""The fake GitHub API, standalone: ``python -m tests.fakes.github_api --port 0`` prints the base URL and
serves until SIGTERM/SIGINT, then prints every request it received with its operationId and status.

The fake itself lives in tests/fakes/github/ (server.py and a module per area; judged by GitHub's OpenAPI description in
openapi.py); this module keeps the import path ``tests.fakes.github_api.FakeGitHub`` working.
"""

from __future__ import annotations

from tests.fakes.base import loopback_parser, run_standalone
from tests.fakes.github import FakeGitHub, Fault, RecordedRequest

__all__ = ["FakeGitHub", "Fault", "RecordedRequest", "main"]


def main(argv: list[str] | None = None) -> int:
    parser = loopback_parser("python -m tests.fakes.github_api", __doc__.splitlines()[0])
    parser.add_argument("--org", action="append", default=None, help="an organization login (repeatable)")
    parser.add_argument("--repo", action="append", default=None, help="an existing repository owner/name")
    parser.add_argument("--login", default="maya-bot", help="the user GET /user answers")
    args = parser.parse_args(argv)
    fake = FakeGitHub(
        orgs=args.org or ("mayassistant",),
        repos=args.repo or ("mayassistant/maya",),
        login=args.login,
        host=args.host,
        port=args.port,
    )

    def print_requests() -> None:
        for r in fake.requests:
            print(f"{r.status} {r.operation_id or '-'} {r.line}", flush=True)

    return run_standalone(fake, lambda: fake.url, on_stop=print_requests)


if __name__ == "__main__":
    raise SystemExit(main())
