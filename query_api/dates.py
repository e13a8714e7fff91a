"""UTC time helpers: stored timestamps are naive UTC, responses carry aware datetimes."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

UTC = timezone.utc


def utcnow() -> datetime:
    """Now as a naive UTC datetime, the form Timestamp columns hold."""
    return datetime.now(UTC).replace(tzinfo=None)


def to_naive_utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def as_utc(value: datetime) -> datetime:
    """A stored (naive UTC) timestamp as an aware datetime for responses."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min)


def window(days: int, now: datetime | None = None) -> tuple[datetime, datetime]:
    """[now - days, now] as naive UTC."""
    end = now or utcnow()
    return end - timedelta(days=days), end


def day_window(days: int, now: datetime | None = None) -> tuple[date, date]:
    """The whole UTC days covering `window(days)`: (first day, today)."""
    start, end = window(days, now)
    return start.date(), end.date()
