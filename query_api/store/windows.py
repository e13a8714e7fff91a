"""Splitting a time window into whole hours (read from the hourly sums) and edges.

A window [start, end] is answered exactly as: raw projection rows in [start, h_from),
hourly sums for the hours in [h_from, h_to), raw rows in [h_to, end]. The edges are less
than an hour each, so a 30-day total reads ~720 hourly rows plus two hours of rows.
"""

from __future__ import annotations

from datetime import datetime, timedelta

HOUR = timedelta(hours=1)


def floor_hour(ts: datetime) -> datetime:
    return ts.replace(minute=0, second=0, microsecond=0)


def ceil_hour(ts: datetime) -> datetime:
    floor = floor_hour(ts)
    return floor if floor == ts else floor + HOUR


def hour_split(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """(h_from, h_to) for the window [start, end]; h_from == h_to when no hour is whole."""
    h_from, h_to = ceil_hour(start), floor_hour(end)
    if h_from >= h_to:
        return start, start
    return h_from, h_to
