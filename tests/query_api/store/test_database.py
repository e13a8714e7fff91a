"""The database handle: closing waits for sessions still at work in other threads."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from crewscope.query_api.store.database import Database
from crewscope.query_api.store.query import inline

SLOW = inline("slow", "SELECT count(*) FROM range(20000000) t(i) WHERE i % 7 = 3")


def test_close_waits_for_a_session_at_work(tmp_path: Path) -> None:
    db = Database(str(tmp_path / "db.duckdb"))
    results: list[object] = []
    started = threading.Event()

    def job() -> None:  # like a live-feed poll or a rollup in a worker thread at shutdown
        with db.reader() as s:
            started.set()
            time.sleep(0.3)
            results.append(s.scalar(SLOW))

    worker = threading.Thread(target=job)
    worker.start()
    started.wait(5)
    db.close()  # must not pull the file from under the running query
    worker.join(10)
    assert results == [2857143]
    assert db.store.closed
