"""Rollup refreshes that overlap (the scheduled job and ``POST /rollups/refresh``, or two
clients) must not fail: they conflicted in DuckDB and the request got a 500 (18 of 30
overlapping refreshes); ``query_api/jobs/rollups.py`` now runs one refresh at a time.

Found by the crash test (its reader refreshed rollups while the server's timer did).
"""

from __future__ import annotations

import random
import threading

import httpx

from tests.helpers.served import API
from tests.reliability.load import http_exporter, make_requests


def test_overlapping_rollup_refreshes_all_succeed(served) -> None:
    exporter = http_exporter(served.url, 10)
    for request in make_requests(random.Random(7), "r", 20):
        assert exporter.export(request.spans).name == "SUCCESS"
    exporter.shutdown()
    codes: list[int] = []

    def refresh() -> None:
        with httpx.Client(timeout=30) as client:
            for _ in range(8):
                try:
                    codes.append(client.post(f"{served.url}{API}/rollups/refresh").status_code)
                except httpx.HTTPError:  # the server dropped the connection
                    codes.append(-1)

    threads = [threading.Thread(target=refresh) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert codes == [200] * 24, {c: codes.count(c) for c in set(codes)}
