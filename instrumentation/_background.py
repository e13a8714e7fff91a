"""Work CrewAI starts beneath a run unit and finishes after the unit's call has returned.

With memory on, CrewAI saves what a task produced in the background
(``Memory._submit_save``: a ``memory-save`` thread, the context copied into it), so the
memory extraction's LLM calls often start after the task's ``_execute_core`` returned. The
copied context carries the enclosing units' token accumulators (``TOTALS``), so the calls
still add to them; `save_submitted` also records each save on them (`Totals.defer`). A
unit whose call returns with saves still running ends its span once they are done, with
the time its call returned as the span's end (`end_when_done`): the span's totals are then
the sums of every LLM call beneath it, and its duration is the call's. A crew waits for its
saves before it returns, so a task span ends before its crew's; a save that has not ended
after `MAX_WAIT_S` no longer holds the span back (its calls then count in the crew only).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from crewscope.instrumentation._state import TOTALS

logger = logging.getLogger(__name__)

MAX_WAIT_S = 60.0
"""The longest a span waits for the background work beneath it."""


def save_submitted(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
    """``Memory._submit_save``: the save's future is deferred work of every enclosing unit."""
    future = wrapped(*args, **kwargs)
    try:
        if isinstance(future, Future) and not future.done():
            for totals in TOTALS.get():
                totals.defer(future)
    except Exception:  # telemetry must never raise into the app
        logger.debug("crewscope: could not follow a memory save", exc_info=True)
    return future


def end_when_done(pending: list[Future[Any]], finish: Callable[[int], None]) -> None:
    """Call ``finish(end_ns)`` once every future in `pending` is done (or after
    `MAX_WAIT_S`), `end_ns` being now: when the unit's call returned."""
    end_ns = time.time_ns()
    lock = threading.Lock()
    left = [len(pending)]
    fired = [False]

    def fire() -> None:
        with lock:
            if fired[0]:
                return
            fired[0] = True
        timer.cancel()
        try:
            finish(end_ns)
        except Exception:  # telemetry must never raise into the app
            logger.debug("crewscope: could not end a span after its background work", exc_info=True)

    def one_done(_: Future[Any]) -> None:
        with lock:
            left[0] -= 1
            last = left[0] <= 0
        if last:
            fire()

    timer = threading.Timer(MAX_WAIT_S, fire)
    timer.daemon = True
    timer.start()
    for future in pending:
        future.add_done_callback(one_done)
