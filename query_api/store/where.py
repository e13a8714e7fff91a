"""WHERE clauses from fixed condition strings plus named parameters, and time helpers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

UTC = timezone.utc


@dataclass
class Where:
    """Conditions come only from code (an allowlist); values only through parameters."""

    clauses: list[str] = field(default_factory=list)
    params: dict[str, object] = field(default_factory=dict)

    def add(self, clause: str, **params: object) -> Where:
        self.clauses.append(clause)
        self.params.update(params)
        return self

    def add_if(self, value: object, clause: str, name: str) -> Where:
        if value is not None:
            self.add(clause, **{name: value})
        return self

    def sql(self) -> str:
        return ("WHERE " + " AND ".join(self.clauses)) if self.clauses else ""


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


def preview(text: str | None, limit: int = 200) -> str | None:
    if text is None:
        return None
    return text if len(text) <= limit else text[: limit - 1] + "…"
