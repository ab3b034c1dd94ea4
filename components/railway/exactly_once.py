"""Exactly-once writes to Railway: the one rule every create (and every other non-idempotent mutation) obeys.

1. **Look first.** The object's natural key (project: workspace + name; service: project + name; ...) is
   looked up before anything is sent; a match is adopted instead of created. This is what makes a plain
   ``pulumi up`` after a crash (``kill -9``) converge: what the killed run made is found and taken over.
2. **Never resend blind.** When the answer to a non-idempotent mutation is lost (timeout, dropped
   connection, 5xx, Railway's generic "Problem processing request" — the client raises
   :class:`~components.railway.errors.AmbiguousResultError`), the mutation is sent again only after reads
   have shown that it did not land. Railway commits some writes late (a slow commit that lands after the
   client gave up; a template deploy whose service appears when its workflow finishes), so "did not land"
   means: not found by polls with backoff for ``settle_seconds`` (``railway.settleSeconds``).
3. **Bounded.** At most :data:`MAX_SENDS` sends; then a clear error asks the user to check Railway.

Objects whose create answer cannot be recovered by a read (a project token's value is shown only once)
pass ``discard``: a found leftover is deleted and a fresh one is made, so there is never a second one.

**Held at run time**, not only by reading the source: the client asks :func:`admit` before every request.
A non-idempotent mutation (:attr:`Operation.creates`, or any document selecting one of their root fields) is
refused — nothing is sent, :class:`~components.railway.errors.UnguardedWriteError` — unless it is the one
mutation of a ``send`` that :func:`write_once` is running; a ``find`` that sent no request (``lambda: None``,
a cached answer) is refused the same way, since it cannot have looked.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Generic, Literal, Protocol, TypeVar

from components.railway import errors
from components.railway.operations import CREATING_ROOT_FIELDS, Operation

T = TypeVar("T")
Origin = Literal["created", "adopted"]
#: We made it (in this run, or in an interrupted run of ours that this run finished).
CREATED: Origin = "created"
#: It existed before and is not ours: never deleted by this stack.
ADOPTED: Origin = "adopted"
#: How many times one write may be sent (each after reads showed the previous one did not land).
MAX_SENDS = 3
_FIRST_POLL_SECONDS = 0.5
_POLL_CAP_SECONDS = 8.0

log = logging.getLogger(__name__)


class Client(Protocol):
    """What the rule needs of the Railway client (which imports this module: ``admit``): its settle window
    and its clock."""

    @property
    def settings(self) -> Any: ...

    def sleep(self, seconds: float) -> None: ...


@dataclass
class _Step:
    """What :func:`write_once` is running right now, in this thread (``find``, ``send`` or ``discard``)."""

    what: str
    phase: Literal["find", "send", "discard"]
    requests: int = 0
    creates: int = 0


_step: ContextVar[_Step | None] = ContextVar("railway_write_once_step", default=None)


def creates(operation: Operation) -> bool:
    """Would sending ``operation`` twice make two of something? (Its flag, or a creating root field.)"""
    return operation.creates or (operation.is_mutation and operation.root_field in CREATING_ROOT_FIELDS)


def admit(operation: Operation) -> None:
    """The client's question before it sends ``operation``: refused unless the exactly-once rule allows it.

    Counts the request for the running step (a ``find`` must send at least one); a non-idempotent mutation
    passes only as the first one of a ``send`` of :func:`write_once`.
    """
    step = _step.get()
    if step is not None:
        step.requests += 1
    if not creates(operation):
        return
    if step is None or step.phase != "send":
        where = "outside write_once" if step is None else f"inside the {step.phase} of {step.what}"
        raise errors.UnguardedWriteError(
            operation.name,
            f"refused to send a non-idempotent mutation {where}: every create, deploy, rollback, backup, "
            "restore and token goes through components.railway.exactly_once.write_once (a bug in maya-infra)",
        )
    if step.creates:
        raise errors.UnguardedWriteError(
            operation.name,
            f"refused a second non-idempotent mutation in one send of {step.what}: a send that is repeated "
            "after a lost answer must hold exactly one (a bug in maya-infra)",
        )
    step.creates += 1


def _run(what: str, phase: Literal["find", "send", "discard"], action: Callable[[], T]) -> tuple[T, _Step]:
    step = _Step(what, phase)
    token = _step.set(step)
    try:
        return action(), step
    finally:
        _step.reset(token)


def _looked(what: str, find: Callable[[], T | None]) -> T | None:
    """One call of ``find``, which must have asked Railway (a find that sends nothing cannot have looked)."""
    found, step = _run(what, "find", find)
    if step.requests == 0:
        raise errors.UnguardedWriteError(
            what,
            "its find sent no request to Railway, so it cannot have looked for the object: a find reads the "
            "natural key from Railway every time it is called (a bug in maya-infra)",
        )
    return found


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What a write produced, and how it came to be."""

    value: T
    origin: Origin
    #: How many times the write was sent (0: adopted; more than 1: an earlier answer was lost).
    sends: int = 1


def settle(client: Client, find: Callable[[], T | None], seconds: float, what: str = "(settle)") -> T | None:
    """Look for the object with backoff for ``seconds``; the last look is at the end of the window."""
    deadline = time.monotonic() + max(0.0, seconds)
    wait = _FIRST_POLL_SECONDS
    while True:
        found = _looked(what, find)
        if found is not None:
            return found
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        client.sleep(min(wait, left))
        wait = min(wait * 2, _POLL_CAP_SECONDS)


def write_once(
    client: Client,
    what: str,
    *,
    find: Callable[[], T | None],
    send: Callable[[], T],
    look_first: bool = True,
    discard: Callable[[T], None] | None = None,
    settle_seconds: float | None = None,
    max_sends: int = MAX_SENDS,
) -> Outcome[T]:
    """Make ``what`` exist exactly once: adopt it if ``find`` sees it, else ``send`` (see the module doc).

    ``find`` returns the object when its natural key matches (or None); ``send`` makes it with exactly one
    non-idempotent mutation. Without ``discard``, a match found by looking first is ADOPTED, a match found
    after a lost answer is CREATED (it is what our request made). With ``discard``, every match is removed
    and a fresh one is sent. ``max_sends=1``: never sent twice (a restore) — a lost answer that no read
    confirms ends in :class:`errors.AmbiguousResultError`.
    """
    window = client.settings.settle_seconds if settle_seconds is None else settle_seconds
    if look_first:
        found = _look(what, find, discard)
        if found is not None:
            return Outcome(found, ADOPTED, 0)
    for sends in range(1, max_sends + 1):
        try:
            return Outcome(_run(what, "send", send)[0], CREATED, sends)
        except errors.AmbiguousResultError as exc:
            log.warning("%s: %s; looking for it for up to %.0f s before deciding", what, exc.detail, window)
            landed = settle(client, find, window, what)
            if landed is None:
                log.warning("%s: not found after %.0f s: it did not land", what, window)
                continue
            if discard is None:
                return Outcome(landed, CREATED, sends)
            _discard(what, discard, landed)  # a leftover we cannot use: remove it, then make exactly one
            _look(what, find, discard)
            if sends == max_sends:
                break
    raise errors.AmbiguousResultError(
        what,
        f"sent {max_sends} time(s) and Railway never confirmed it; check the Railway dashboard for a "
        "duplicate, then run `pulumi up` again (it adopts what exists)",
    )


def _discard(what: str, discard: Callable[[T], None], item: T) -> None:
    _run(what, "discard", lambda: discard(item))


def _look(what: str, find: Callable[[], T | None], discard: Callable[[T], None] | None) -> T | None:
    """One look; with ``discard``, remove every match (bounded) and report nothing."""
    found = _looked(what, find)
    if discard is None or found is None:
        return found
    for _ in range(20):
        _discard(what, discard, found)
        found = _looked(what, find)
        if found is None:
            return None
    raise errors.RailwayError("(look first)", "leftover objects keep reappearing; check Railway")
