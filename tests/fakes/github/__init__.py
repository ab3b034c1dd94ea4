"""The fake GitHub REST API (see server.py), judged by GitHub's own OpenAPI description (openapi.py).

Layout: ``server`` (``FakeGitHub``: seeding, observation, the request pipeline — auth, OpenAPI routing and
validation, faults — and the route table) · handlers by area: ``repos`` (accounts, repository, branches,
refs, commits, contents), ``environments`` (environments, branch policies, secrets, variables),
``rulesets``, ``comments`` · ``common`` (what the handlers share) · ``model`` · ``payloads`` · ``openapi``.
The loopback server, request log and fault queue are the three fakes' shared ones (tests/fakes/base.py).
"""

from tests.fakes.github.server import FakeGitHub, Fault, HttpError, RecordedRequest

__all__ = ["FakeGitHub", "Fault", "HttpError", "RecordedRequest"]
