"""The fake Railway API's historical import path and command line; the fake lives in :mod:`tests.fakes.railway`.

``python -m tests.fakes.railway_api --port 0`` prints the URL and serves until SIGTERM/SIGINT.
"""

from __future__ import annotations

import os
import sys

from tests.fakes.base import loopback_parser, run_standalone
from tests.fakes.railway import FakeRailway, FakeState, Fault, RecordedRequest, find_schema_path, load_schema

__all__ = [
    "FakeRailway",
    "FakeState",
    "Fault",
    "RecordedRequest",
    "find_schema_path",
    "load_schema",
    "main",
]


# ------------------------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    """Run the fake standalone: prints its URL on stdout and serves until SIGTERM/SIGINT."""
    parser = loopback_parser("python -m tests.fakes.railway_api", __doc__.splitlines()[0])
    parser.add_argument(
        "--token-env",
        default="FAKE_RAILWAY_TOKEN",
        help="environment variable holding the accepted Bearer token (default token if unset: fake-railway-token)",
    )
    parser.add_argument("--workspace-id", default="ws-fake")
    parser.add_argument("--deploy-polls", type=int, default=2, help="deployment(id) polls until a deploy finishes")
    parser.add_argument("--schema", default=None, help="path to Railway's schema.graphql")
    args = parser.parse_args(argv)
    fake = FakeRailway(
        token=os.environ.get(args.token_env) or "fake-railway-token",
        workspace_id=args.workspace_id,
        deploy_polls_to_finish=args.deploy_polls,
        schema_path=args.schema,
        host=args.host,
        port=args.port,
    )
    return run_standalone(fake, lambda: fake.url)


if __name__ == "__main__":
    sys.exit(main())
