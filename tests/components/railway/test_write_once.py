"""The exactly-once rule in isolation: look first, never resend before reads show the write did not land."""

from __future__ import annotations

from typing import Any

import pytest

from components.railway import errors
from components.railway import operations as gql
from components.railway.client import ClientSettings
from components.railway.exactly_once import ADOPTED, CREATED, MAX_SENDS, admit, write_once


class Clock:
    """A client stand-in whose sleeps only record (the settle loop's waits are checked, not waited)."""

    def __init__(self, settle: float = 2.0) -> None:
        self.settings = ClientSettings(settle_seconds=settle)
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)


def _lost() -> Any:
    raise errors.AmbiguousResultError("Create", "HTTP 502 from Railway")


def looks(*answers: Any) -> Any:
    """A find that reads Railway (the client's ``admit`` of a query, as every real request does) and answers
    ``answers`` in turn (the last one again when they run out)."""
    queue = list(answers)

    def find() -> Any:
        admit(gql.PROJECTS)
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return find


def test_a_match_found_first_is_adopted_and_nothing_is_sent() -> None:
    sent: list[int] = []
    outcome = write_once(Clock(), "x", find=looks({"id": "a"}), send=lambda: sent.append(1))  # type: ignore[arg-type]
    assert (outcome.value, outcome.origin, outcome.sends, sent) == ({"id": "a"}, ADOPTED, 0, [])


def test_a_lost_answer_is_looked_for_and_adopted_as_ours() -> None:
    # first look, then the write lands during the settle
    outcome = write_once(Clock(settle=60), "x", find=looks(None, None, None, {"id": "late"}), send=_lost)
    assert (outcome.value, outcome.origin, outcome.sends) == ({"id": "late"}, CREATED, 1)


def test_it_is_resent_only_after_the_settle_window_shows_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [0.0]
    monkeypatch.setattr("components.railway.exactly_once.time.monotonic", lambda: now[0])
    clock = Clock(settle=10)
    clock.sleep = lambda s: (clock.waits.append(s), now.__setitem__(0, now[0] + s))  # type: ignore[method-assign]
    attempts: list[int] = []

    def send() -> dict[str, str]:
        attempts.append(1)
        if len(attempts) == 1:
            _lost()
        return {"id": "second"}

    outcome = write_once(clock, "x", find=looks(None), send=send)
    assert outcome.value == {"id": "second"} and outcome.sends == 2
    assert sum(clock.waits) >= 10, "the whole window was waited before the resend"
    assert clock.waits[:3] == [0.5, 1.0, 2.0], "looks back off"


def test_sends_are_bounded_with_a_clear_error() -> None:
    sent: list[int] = []

    def send() -> None:
        sent.append(1)
        _lost()

    with pytest.raises(errors.AmbiguousResultError, match=f"sent {MAX_SENDS} time.*pulumi up"):
        write_once(Clock(settle=0), "x", find=looks(None), send=send)
    assert len(sent) == MAX_SENDS


def test_discard_removes_leftovers_and_makes_exactly_one() -> None:
    present = [{"id": "stray-1"}, {"id": "stray-2"}]
    deleted: list[str] = []

    def discard(item: dict[str, str]) -> None:
        deleted.append(item["id"])
        present.remove(item)

    def find() -> dict[str, str] | None:
        admit(gql.PROJECT_TOKENS)
        return next(iter(present), None)

    outcome = write_once(Clock(), "token", find=find, send=lambda: {"id": "fresh"}, discard=discard)
    assert deleted == ["stray-1", "stray-2"] and outcome.value == {"id": "fresh"} and outcome.origin == CREATED


def test_a_lost_answer_with_discard_removes_what_landed_and_sends_exactly_once_more() -> None:
    """A token whose create answer was lost: what landed is unusable (its value is gone), so it is discarded
    and one fresh one is made — never two left behind."""
    present: list[dict[str, str]] = []
    deleted: list[str] = []
    sent: list[int] = []

    def find() -> dict[str, str] | None:
        admit(gql.PROJECT_TOKENS)
        return next(iter(present), None)

    def send() -> dict[str, str]:
        sent.append(1)
        if len(sent) == 1:
            present.append({"id": "landed"})  # committed, but the answer is lost
            _lost()
        return {"id": "fresh"}

    def discard(item: dict[str, str]) -> None:
        deleted.append(item["id"])
        present.remove(item)

    outcome = write_once(Clock(settle=0), "token", find=find, send=send, discard=discard)
    assert (deleted, outcome.value, outcome.origin, outcome.sends) == (["landed"], {"id": "fresh"}, CREATED, 2)


def test_a_write_found_after_its_second_send_counts_both_sends() -> None:
    sent: list[int] = []

    def send() -> None:
        sent.append(1)
        _lost()

    outcome = write_once(Clock(settle=0), "x", find=looks(None, None, {"id": "late"}), send=send)
    assert (outcome.value, outcome.origin, outcome.sends, len(sent)) == ({"id": "late"}, CREATED, 2, 2)


def test_a_settle_window_given_by_the_kind_wins_over_the_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    """Postgres waits for its template's workflow (its own timeout), not the client's settle window."""
    now = [0.0]
    monkeypatch.setattr("components.railway.exactly_once.time.monotonic", lambda: now[0])
    clock = Clock(settle=0)
    clock.sleep = lambda s: (clock.waits.append(s), now.__setitem__(0, now[0] + s))  # type: ignore[method-assign]
    with pytest.raises(errors.AmbiguousResultError):
        write_once(clock, "x", find=looks(None), send=_lost, settle_seconds=5, max_sends=1)
    assert sum(clock.waits) == 5


def test_an_idempotent_mutation_needs_no_write_once() -> None:
    """Only what would make two of something is held to the rule: a variable upsert goes out as it is."""
    admit(gql.VARIABLE_COLLECTION_UPSERT)


def test_with_discard_every_lost_answer_is_cleared_and_the_sends_stay_bounded() -> None:
    present: list[dict[str, str]] = []
    deleted: list[str] = []

    def find() -> dict[str, str] | None:
        admit(gql.PROJECT_TOKENS)
        return next(iter(present), None)

    def send() -> None:
        present.append({"id": f"landed-{len(deleted)}"})  # each one committed, each answer lost
        _lost()

    def discard(item: dict[str, str]) -> None:
        deleted.append(item["id"])
        present.remove(item)

    with pytest.raises(errors.AmbiguousResultError, match="sent 2 time"):
        write_once(Clock(settle=0), "token", find=find, send=send, discard=discard, max_sends=2)
    assert deleted == ["landed-0", "landed-1"] and present == []


def test_leftovers_that_keep_reappearing_stop_with_a_clear_error() -> None:
    def find() -> dict[str, str]:
        admit(gql.PROJECT_TOKENS)
        return {"id": "stray"}

    with pytest.raises(errors.RailwayError, match="keep reappearing"):
        write_once(Clock(), "token", find=find, send=lambda: {"id": "fresh"}, discard=lambda _item: None)
