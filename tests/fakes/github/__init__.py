"""The fake GitHub REST API (see server.py), judged by GitHub's own OpenAPI description (openapi.py)."""

from tests.fakes.github.server import FakeGitHub, Fault, HttpError, RecordedRequest

__all__ = ["FakeGitHub", "Fault", "HttpError", "RecordedRequest"]
