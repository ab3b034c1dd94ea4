"""Typed errors of the Railway API.

Messages name the operation and what to do; they never contain a token or a variable's value (the
client scrubs every value it sent out of the server's text before building one of these).
"""

from __future__ import annotations


class RailwayError(Exception):
    """Base class: a Railway request failed."""

    def __init__(self, operation: str, message: str) -> None:
        super().__init__(f"Railway {operation}: {message}")
        self.operation = operation
        self.detail = message


class NotFoundError(RailwayError):
    """The object does not exist (deleted outside Pulumi, or never created)."""


class NotAuthorizedError(RailwayError):
    """The token is wrong, expired, or cannot act on this object."""


class RateLimitedError(RailwayError):
    """Railway kept answering 429, or asked for a wait that would cross ``railway.deadlineSeconds``."""

    def __init__(self, operation: str, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(operation, message)
        #: Seconds Railway asked us to wait (None when it did not say).
        self.retry_after = retry_after


class InvalidInputError(RailwayError):
    """Railway rejected the request's input (a GraphQL validation or argument error)."""


class UnavailableError(RailwayError):
    """Railway did not answer usefully (5xx, timeouts, dropped connections, its generic "Problem
    processing request") after every retry."""


class AmbiguousResultError(UnavailableError):
    """A non-idempotent mutation was sent but its answer was lost: it may or may not have happened.

    Never send it again before a read has shown it did not land (``RailwayProvider.create_exactly_once``).
    """


class ReadOnlyError(RailwayError):
    """A read-only client (``RailwayClient(read_only=True)``, e.g. ``ops preflight``) was asked to send a
    mutation: refused before anything left the process."""


class DeploymentFailedError(RailwayError):
    """A deployment ended FAILED/CRASHED/REMOVED or did not finish in time."""


class UnguardedWriteError(RailwayError):
    """A bug in maya-infra, stopped before anything was sent: a non-idempotent mutation outside
    :func:`~components.railway.exactly_once.write_once`'s ``send``, two of them in one ``send``, or a ``find``
    that looked at nothing (see :func:`~components.railway.exactly_once.admit`)."""
