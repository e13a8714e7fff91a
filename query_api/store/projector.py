"""`Projector`: keeps the DuckDB projections in step with ingest from a thread of its own.

The receiver's writer wakes it after each committed write (`IngestQueue.on_written`); it then
copies the new spans (`Projections.sync`), so a query finds little or nothing left to copy
and does not pay for ingest itself. Queries still sync first (`Database.session`): the
projector only moves that work off their path, it is not what makes them complete.
"""

from __future__ import annotations

import logging
import threading

from crewscope.query_api.store.database import Database

logger = logging.getLogger(__name__)


class Projector:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._wake = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="crewscope-projector", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """New spans were committed (cheap; called from the ingest writer)."""
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._stop:
                return
            try:
                self.db.sync_projections()
            except Exception as exc:  # noqa: BLE001 - a query's own sync reports the error
                logger.debug("crewscope: background projection sync failed: %s", exc)

    def close(self, timeout_s: float = 10.0) -> None:
        self._stop = True
        self._wake.set()
        self._thread.join(timeout_s)
