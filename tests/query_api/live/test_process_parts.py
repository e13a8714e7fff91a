"""A process sample whose points a poll reads in parts (its sums before its gauges) is
published whole: the parts of one collection time are merged, a later sample is not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crewscope.query_api.live.feed import LiveFeed
from crewscope.query_api.live.messages import process_messages
from crewscope.query_api.store.handle import open_database


def _row(metric: str, value: float, t_ns: int, temporality: int | None = None) -> dict[str, Any]:
    return {"service": "app", "pid": 42, "t_ns": t_ns, "crew": "c", "agent": None,
            "metric": metric, "value": value, "temporality": temporality}  # fmt: skip


def test_parts_of_one_sample_are_merged(tmp_path: Path) -> None:
    db = open_database(str(tmp_path / "live.duckdb"))
    feed = LiveFeed(db, process_interval_s=0.0)
    try:
        t = 1_700_000_000_000_000_000
        sums = process_messages([_row("process.cpu.time", 1.5, t, 2)])
        gauges = process_messages([
            _row("process.memory.usage", 64 * 2**20, t),
            _row("process.thread.count", 3, t),
        ])  # fmt: skip
        first = feed._complete(("app", 42), sums[0])
        assert first["data"]["memory_mb"] is None and first["data"]["cpu_time_s"] == 1.5
        whole = feed._complete(("app", 42), gauges[0])
        assert whole["data"]["memory_mb"] == 64 and whole["data"]["threads"] == 3
        assert whole["data"]["cpu_time_s"] == 1.5 and whole["crew"] == "c"
        later = process_messages([_row("process.thread.count", 4, t + 10**9)])
        alone = feed._complete(("app", 42), later[0])
        assert alone["data"]["threads"] == 4 and alone["data"]["memory_mb"] is None
    finally:
        db.close()
