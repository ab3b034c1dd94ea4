"""Times and ages as the on-call commands show them to a person (UTC, short, never ambiguous)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def utc_now() -> datetime:
    return datetime.now(UTC)


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 string (Railway) or epoch milliseconds (Vercel) as an aware datetime."""
    if isinstance(value, int | float) and value > 0:
        return datetime.fromtimestamp(value / 1000, UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def age(then: datetime | None, now: datetime | None = None) -> str:
    """``45s``, ``12m``, ``3h 05m``, ``2d 4h`` — how long ago; ``?`` when unknown."""
    if then is None:
        return "?"
    seconds = max(0, int(((now or utc_now()) - then).total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if hours < 1:
        return f"{minutes}m"
    if days < 1:
        return f"{hours}h {minutes % 60:02d}m"
    return f"{days}d {hours % 24}h"


def clock(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def short(sha: str | None) -> str:
    return (sha or "")[:7] or "-"
