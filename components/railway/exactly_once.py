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
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from components.railway import errors
from components.railway.client import RailwayClient

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


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What a write produced, and how it came to be."""

    value: T
    origin: Origin
    #: How many times the write was sent (0: adopted; more than 1: an earlier answer was lost).
    sends: int = 1


def settle(client: RailwayClient, find: Callable[[], T | None], seconds: float) -> T | None:
    """Look for the object with backoff for ``seconds``; the last look is at the end of the window."""
    deadline = time.monotonic() + max(0.0, seconds)
    wait = _FIRST_POLL_SECONDS
    while True:
        found = find()
        if found is not None:
            return found
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        client.sleep(min(wait, left))
        wait = min(wait * 2, _POLL_CAP_SECONDS)


def write_once(
    client: RailwayClient,
    what: str,
    *,
    find: Callable[[], T | None],
    send: Callable[[], T],
    look_first: bool = True,
    discard: Callable[[T], None] | None = None,
    settle_seconds: float | None = None,
) -> Outcome[T]:
    """Make ``what`` exist exactly once: adopt it if ``find`` sees it, else ``send`` (see the module doc).

    ``find`` returns the object when its natural key matches (or None); ``send`` makes it. Without
    ``discard``, a match found by looking first is ADOPTED, a match found after a lost answer is CREATED
    (it is what our request made). With ``discard``, every match is removed and a fresh one is sent.
    """
    window = client.settings.settle_seconds if settle_seconds is None else settle_seconds
    if look_first:
        found = _look(find, discard)
        if found is not None:
            return Outcome(found, ADOPTED, 0)
    for sends in range(1, MAX_SENDS + 1):
        try:
            return Outcome(send(), CREATED, sends)
        except errors.AmbiguousResultError as exc:
            log.warning("%s: %s; looking for it for up to %.0f s before deciding", what, exc.detail, window)
            landed = settle(client, find, window)
            if landed is None:
                log.warning("%s: not found after %.0f s: it did not land, sending again", what, window)
                continue
            if discard is None:
                return Outcome(landed, CREATED, sends)
            discard(landed)  # a leftover we cannot use: remove it, then make exactly one
            _look(find, discard)
            if sends == MAX_SENDS:
                break
    raise errors.AmbiguousResultError(
        what,
        f"sent {MAX_SENDS} times and Railway never confirmed it; check the Railway dashboard for a "
        "duplicate, then run `pulumi up` again (it adopts what exists)",
    )


def _look(find: Callable[[], T | None], discard: Callable[[T], None] | None) -> T | None:
    """One look; with ``discard``, remove every match (bounded) and report nothing."""
    found = find()
    if discard is None or found is None:
        return found
    for _ in range(20):
        discard(found)
        found = find()
        if found is None:
            return None
    raise errors.RailwayError("(look first)", "leftover objects keep reappearing; check Railway")
