"""``WS /api/v1/monitoring/live``: run/task/tool/LLM events and process samples as they land.

Filters as query parameters (``?crew=research_crew&agent=Writer&events=llm_call,process``,
also ``service`` and ``pid``), or later as a JSON message
``{"action": "subscribe", "crew": ..., "agent": ..., "events": [...]}`` that replaces them.
Messages: ``subscribed`` (the filters in force), ``event`` (``event`` = llm_call, tool_call,
agent_step, task_completed, run_completed, memory, flow_completed), ``log`` (a log record:
``severity``, ``body``, ``crew``, ``agent``, ``task``, ``run_id``, ``trace_id``, ``span_id``;
``events=log`` selects them), ``process`` (at most one per second per process), ``dropped`` (``count`` messages lost because the client read too
slowly), ``error``, ``pong``. See `crewscope.query_api.live.feed`.
"""

from __future__ import annotations

from fastapi import APIRouter, WebSocket

from crewscope.query_api.live.feed import LiveFeed
from crewscope.query_api.live.messages import FilterError, Filters

router = APIRouter(tags=["live"])

POLICY_VIOLATION = 1008


@router.websocket("/live")
async def live(ws: WebSocket) -> None:
    feed: LiveFeed = ws.app.state.live
    try:
        filters = Filters.parse(dict(ws.query_params))
    except FilterError as exc:
        await ws.close(code=POLICY_VIOLATION, reason=str(exc)[:120])
        return
    await ws.accept()
    await feed.serve(ws, filters)
