"""The HTTP side: Railway's one endpoint on the shared loopback server (tests/fakes/base.py)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from tests.fakes.base import Answer, Incoming, json_answer, text_answer
from tests.fakes.railway.base import GRAPHQL_PATH


class HttpMixin:
    """``POST /graphql/v2`` (``?source=`` recorded), ``GET /healthz``; anything else 404/405 like Railway."""

    def serve(self: Any, request: Incoming) -> Answer:
        if request.method == "GET" and request.path == "/healthz":
            return text_answer(200, "ok")
        if request.method != "POST":
            return json_answer(405, {"errors": [{"message": "Use POST for GraphQL requests"}]})
        if request.path.rstrip("/") != GRAPHQL_PATH:
            return text_answer(404, "Not Found")
        source = parse_qs(request.query).get("source", [None])[0]
        answer: Answer = self._handle_http(request.body, request.headers, source)
        return answer
