"""What the fake GitHub's handlers share: the request context, the error they raise, extra answer headers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.fakes.github.openapi import Operation


class HttpError(Exception):
    """An answer other than success, raised by a handler (status, GitHub-style error message; ``errors``
    makes it GitHub's validation-error shape, for a 422 "Validation Failed")."""

    def __init__(self, status: int, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors


@dataclass
class Context:
    op: Operation
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    headers: dict[str, str]


Handler = Callable[[Context], tuple[int, Any]]


@dataclass
class WithHeaders:
    """A handler's payload with headers of its own (ETag, Link, Location)."""

    headers: dict[str, str]
    payload: Any
