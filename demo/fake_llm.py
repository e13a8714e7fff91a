"""A local OpenAI-compatible chat-completions server for demos and tests.

It answers ``POST /v1/chat/completions`` (plain and streamed) with deterministic
replies and real ``usage`` blocks, so an instrumented crew can run end to end
without reaching any provider. Behaviour:

* If the request offers ``tools`` and the conversation holds no tool result yet,
  it answers with one native tool call (arguments filled from the tool schema). A
  ``coworker`` argument of CrewAI's delegation tools names a real coworker from the tool
  description: the one the last user message (the task) mentions, else the first listed.
  ``server.script_tool_call(name, arguments)`` queues the arguments for the next such
  call of tool ``name`` (when offered, that tool is called instead of the first one):
  e.g. a hierarchical manager delegating to a real coworker.
* If the conversation is in CrewAI's ReAct format ("Action:" instructions) and no
  observation has come back yet, it answers with an ``Action:`` block.
* If the request asks for structured output (``response_format`` ``json_schema`` or
  ``json_object``), it answers with a JSON object that fits the schema (``FakeCall``
  notes the schema's name in ``response_format``).
* Otherwise it answers with a final answer.

Every reply is logged (``server.calls``) with its token usage, so tests can compare
span attributes against exactly what the "provider" reported. ``server.fail_next(n,
status)`` makes the next ``n`` requests fail with an HTTP error.

Binds to 127.0.0.1 only.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class FakeCall:
    """One answered (or failed) chat-completions request."""

    model: str
    kind: str  # "tool_call", "react_action", "final", "error"
    prompt_tokens: int
    completion_tokens: int
    status: int = 200
    stream: bool = False
    tool_name: str | None = None
    response_format: str | None = None
    """Structured output asked for: the ``json_schema`` name (or ``json_object``)."""


@dataclass
class _State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    calls: list[FakeCall] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)
    latency_s: float = 0.0
    scripted: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def _count_tokens(text: str) -> int:
    """A deterministic stand-in for a tokenizer: one token per word-ish chunk."""
    return max(1, len(re.findall(r"\w+|[^\w\s]", text)))


def _messages_text(messages: list[dict[str, Any]]) -> str:
    parts: list[str] = []
    for m in messages:
        content = m.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(str(p.get("text", "")) for p in content if isinstance(p, dict))
        for tc in m.get("tool_calls") or []:
            parts.append(json.dumps(tc.get("function", {})))
    return "\n".join(parts)


def _example_value(schema: dict[str, Any], defs: dict[str, Any]) -> Any:
    if "$ref" in schema:
        schema = defs.get(schema["$ref"].rsplit("/", 1)[-1], {})
    for combo in ("anyOf", "oneOf", "allOf"):
        if combo in schema:
            options = [o for o in schema[combo] if o.get("type") != "null"] or schema[combo]
            return _example_value(options[0], defs)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type", "string")
    if kind in ("integer", "number"):
        return 1 if "maximum" in schema and schema["maximum"] <= 1 else 21
    if kind == "boolean":
        return True
    if kind == "array":
        return [_example_value(schema.get("items") or {}, defs)]
    if kind == "object":
        return _example_args(schema, defs)
    return "observability for crewai agents"


def _example_args(schema: dict[str, Any], defs: dict[str, Any] | None = None) -> dict[str, Any]:
    """A JSON object that satisfies a (simple) JSON schema: tool arguments, structured output."""
    defs = {**(defs or {}), **(schema.get("$defs") or {})}
    props = schema.get("properties") or {}
    required = schema.get("required") or list(props)
    return {name: _example_value(props.get(name) or {}, defs) for name in required}


_COWORKERS = re.compile(r"following coworkers: (.*?)\n\n", re.S)


def _coworker(fn: dict[str, Any], messages: list[dict[str, Any]]) -> str | None:
    """A coworker role for CrewAI's delegation tools: the one the task mentions."""
    match = _COWORKERS.search(str(fn.get("description") or ""))
    if not match:
        return None
    roles = [" ".join(r.split()) for r in match.group(1).split(",") if r.strip()]
    users = [m for m in messages if m.get("role") == "user"]
    task = _messages_text(users[-1:]).casefold()
    mentioned = [r for r in roles if r.casefold() in task]
    picks = mentioned or roles
    return picks[0] if picks else None


_REACT_TOOLS = re.compile(r"Action: the action to take, only one name of \[([^\]]+)\]")


def _wants_tool_call(body: dict[str, Any]) -> bool:
    """The request offers tools and the conversation holds no tool result yet."""
    messages: list[dict[str, Any]] = body.get("messages") or []
    return bool(body.get("tools")) and not any(m.get("role") == "tool" for m in messages)


def _offered_tools(body: dict[str, Any]) -> list[str]:
    return [str(t.get("function", {}).get("name")) for t in body.get("tools") or []]


def _decide(
    body: dict[str, Any], scripted: tuple[str, dict[str, Any]] | None = None
) -> tuple[str, dict[str, Any]]:
    """Return (kind, assistant message) for a chat request; ``scripted`` is the
    (tool name, arguments) of a queued call to make instead of the default one."""
    messages: list[dict[str, Any]] = body.get("messages") or []
    tools: list[dict[str, Any]] = body.get("tools") or []
    if _wants_tool_call(body):
        fn = tools[0].get("function", {})
        name = fn.get("name", "tool")
        arguments = _example_args(fn.get("parameters") or {})
        if "coworker" in arguments:
            arguments["coworker"] = _coworker(fn, messages) or arguments["coworker"]
        if scripted is not None:
            name, arguments = scripted
        call = {
            "id": f"call_{uuid.uuid4().hex[:12]}",
            "type": "function",
            "function": {"name": name, "arguments": json.dumps(arguments)},
        }
        return "tool_call", {"role": "assistant", "content": None, "tool_calls": [call]}
    response_format = body.get("response_format") or {}
    schema = (response_format.get("json_schema") or {}).get("schema")
    if response_format.get("type") in ("json_schema", "json_object"):
        content = json.dumps(_example_args(schema or {}))
        return "final", {"role": "assistant", "content": content}
    text = _messages_text(messages)
    react = "Action Input:" in text and "Final Answer:" in text
    answered = any(m.get("role") == "assistant" for m in messages)
    match = _REACT_TOOLS.search(text)
    if react and match and not answered:
        tool = match.group(1).split(",")[0].strip()
        args = json.dumps({"text": "observability for crewai agents"})
        content = f"Thought: I should use a tool.\nAction: {tool}\nAction Input: {args}"
        return "react_action", {"role": "assistant", "content": content}
    answer = "The crew looked into it and everything checks out."
    if react:
        answer = f"Thought: I now know the final answer\nFinal Answer: {answer}"
    return "final", {"role": "assistant", "content": answer}


class _Handler(BaseHTTPRequestHandler):
    server: _FakeHTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _send_json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            self._send_json(200, {"object": "list", "data": [{"id": "gpt-4o-mini"}]})
            return
        self._send_json(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send_json(404, {"error": {"message": f"unknown path {self.path}"}})
            return
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            self._send_json(400, {"error": {"message": "invalid JSON"}})
            return
        state = self.server.state
        model = str(body.get("model", "gpt-4o-mini"))
        stream = bool(body.get("stream"))
        scripted = None
        with state.lock:
            fail_status = state.failures.pop(0) if state.failures else None
            latency = state.latency_s
            if fail_status is None and _wants_tool_call(body):
                offered = _offered_tools(body)
                for i, (name, _) in enumerate(state.scripted):
                    if name in offered:
                        scripted = state.scripted.pop(i)
                        break
        if latency:
            time.sleep(latency)
        if fail_status is not None:
            with state.lock:
                state.calls.append(FakeCall(model, "error", 0, 0, status=fail_status))
            self._send_json(
                fail_status,
                {"error": {"message": "injected failure", "type": "server_error"}},
            )
            return
        kind, message = _decide(body, scripted)
        prompt_tokens = _count_tokens(_messages_text(body.get("messages") or []))
        completion_tokens = _count_tokens(
            message.get("content") or json.dumps(message.get("tool_calls"))
        )
        tool_name = None
        response_format = body.get("response_format") or {}
        structured = None
        if response_format.get("type") == "json_schema":
            structured = str((response_format.get("json_schema") or {}).get("name") or "schema")
        elif response_format.get("type") == "json_object":
            structured = "json_object"
        if message.get("tool_calls"):
            tool_name = message["tool_calls"][0]["function"]["name"]
        with state.lock:
            state.calls.append(
                FakeCall(
                    model,
                    kind,
                    prompt_tokens,
                    completion_tokens,
                    stream=stream,
                    tool_name=tool_name,
                    response_format=structured,
                )
            )
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        finish = "tool_calls" if message.get("tool_calls") else "stop"
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:16]}"
        if stream:
            self._stream(completion_id, model, message, finish, usage)
            return
        self._send_json(
            200,
            {
                "id": completion_id,
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": usage,
            },
        )

    def _stream(
        self,
        completion_id: str,
        model: str,
        message: dict[str, Any],
        finish: str,
        usage: dict[str, int],
    ) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        base = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
        }
        delta: dict[str, Any] = {"role": "assistant"}
        if message.get("tool_calls"):
            delta["tool_calls"] = [dict(tc, index=i) for i, tc in enumerate(message["tool_calls"])]
        chunks = [dict(base, choices=[{"index": 0, "delta": delta, "finish_reason": None}])]
        for word in re.findall(r"\S+\s*", message.get("content") or ""):
            chunks.append(
                dict(
                    base, choices=[{"index": 0, "delta": {"content": word}, "finish_reason": None}]
                )
            )
        chunks.append(dict(base, choices=[{"index": 0, "delta": {}, "finish_reason": finish}]))
        chunks.append(dict(base, choices=[], usage=usage))
        for chunk in chunks:
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True


class _FakeHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    state: _State


class FakeLLMServer:
    """Runs the fake provider on 127.0.0.1 in a background thread."""

    def __init__(self, port: int = 0) -> None:
        self._httpd = _FakeHTTPServer(("127.0.0.1", port), _Handler)
        self._httpd.state = _State()
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="crewscope-fake-llm", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL (ends in ``/v1``)."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def calls(self) -> list[FakeCall]:
        with self._httpd.state.lock:
            return list(self._httpd.state.calls)

    def reset(self) -> None:
        with self._httpd.state.lock:
            self._httpd.state.calls.clear()
            self._httpd.state.failures.clear()
            self._httpd.state.latency_s = 0.0
            self._httpd.state.scripted.clear()

    def fail_next(self, count: int, status: int = 500) -> None:
        with self._httpd.state.lock:
            self._httpd.state.failures.extend([status] * count)

    def script_tool_call(self, name: str, arguments: dict[str, Any]) -> None:
        """Queue ``arguments`` for the next native call of tool ``name`` (see the module doc):
        the next request that offers ``name`` and holds no tool result calls it with them."""
        with self._httpd.state.lock:
            self._httpd.state.scripted.append((name, dict(arguments)))

    def set_latency(self, seconds: float) -> None:
        with self._httpd.state.lock:
            self._httpd.state.latency_s = seconds

    def start(self) -> FakeLLMServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Run the crewscope fake LLM server.")
    parser.add_argument("--port", type=int, default=8765)
    ns = parser.parse_args()
    server = FakeLLMServer(ns.port)
    print(f"fake OpenAI-compatible server on {server.base_url}")
    server._httpd.serve_forever()


if __name__ == "__main__":
    main()
