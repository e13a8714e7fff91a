"""Captured content values (content capture only), each text through `CaptureConfig.text`.

Every text recorded as content is built here: the crew's inputs, output previews, tool
arguments and results, and the semconv ``gen_ai.input.messages`` / ``gen_ai.output.messages``
of LLM calls and standalone agents. Each text goes through the capture's redaction (the
user's hook, the secret scrubber) and then its truncation, with the attribute it is for as
the key; a value the redaction drops is left out: a dropped tool result or preview is no
attribute, a dropped message part is no part, dropped tool-call arguments are no
``arguments`` field, a dropped crew input is no key of ``crewai.crew.inputs``. What is not
content passes as is: roles, tool names, call ids, finish reasons.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from crewscope.instrumentation import _attributes as A
from crewscope.instrumentation._config import CaptureConfig

INPUT_LIMIT = 256
"""Each crew input value is cut to this many characters (and the whole JSON to the limit)."""


def tool_arguments(capture: CaptureConfig, arguments: Any) -> str | None:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments, default=str)
    return capture.text(A.TOOL_ARGUMENTS, text)


def tool_result(capture: CaptureConfig, value: Any) -> str | None:
    return capture.text(A.TOOL_RESULT, A.to_text(value))


def output_preview(capture: CaptureConfig, result: Any) -> str | None:
    return capture.text(A.OUTPUT_PREVIEW, A.to_text(result))


def crew_inputs(capture: CaptureConfig, inputs: Any) -> str | None:
    """JSON of the inputs, each value redacted and cut to `INPUT_LIMIT` characters (numbers
    and booleans stay numbers unless the redaction changes their text)."""
    if not isinstance(inputs, Mapping):
        return None
    kept: dict[str, Any] = {}
    for key, value in inputs.items():
        if value is None:
            kept[str(key)] = None
            continue
        text = capture.text(A.CREW_INPUTS, A.to_text(value), min(capture.max_length, INPUT_LIMIT))
        if text is None:
            continue
        scalar = isinstance(value, (bool, int, float)) and text == json.dumps(value)
        kept[str(key)] = value if scalar else text
    return A.truncate(json.dumps(kept, default=str), capture.max_length)


def _parts(capture: CaptureConfig, key: str, content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        texts = [content]
    elif isinstance(content, list):
        texts = [
            str(item.get("text"))
            for item in content
            if isinstance(item, Mapping) and item.get("type") == "text"
        ]
    else:
        return []
    parts = []
    for raw in texts:
        text = capture.text(key, raw)
        if text is not None:
            parts.append({"type": "text", "content": text})
    return parts


def _arguments(capture: CaptureConfig, key: str, raw: Any) -> tuple[bool, Any]:
    """(kept, arguments) for a tool-call part: the JSON value when its redacted text fits in
    the limit, else the truncated text (a string that is not JSON stays one)."""
    text = capture.redact(key, raw if isinstance(raw, str) else json.dumps(raw, default=str))
    if text is None:
        return False, None
    if len(text) > capture.max_length:
        return True, A.truncate(text, capture.max_length)
    try:
        return True, json.loads(text)
    except ValueError:
        return True, text


def tool_call_part(capture: CaptureConfig, key: str, call: Any) -> dict[str, Any] | None:
    """A provider's tool call (OpenAI object or dict, Anthropic, Gemini, Bedrock) -> the
    semconv ``tool_call`` part; read with CrewAI's own extractor, as the executor reads it."""
    try:
        from crewai.utilities.agent_utils import extract_tool_call_info
    except ImportError:
        return None
    info = extract_tool_call_info(call)
    if not info:
        return None
    call_id, name, arguments = info
    part: dict[str, Any] = {
        "type": "tool_call",
        "id": str(call_id) if call_id else None,
        "name": str(name),
    }
    kept, value = _arguments(capture, key, arguments)
    if kept:
        part["arguments"] = value
    return part


def input_messages(capture: CaptureConfig, messages: Any) -> str | None:
    """CrewAI messages -> semconv ``gen_ai.input.messages`` JSON (the span attribute)."""
    out = input_message_list(capture, messages)
    return None if out is None else json.dumps(out)


def input_message_list(capture: CaptureConfig, messages: Any) -> list[dict[str, Any]] | None:
    """CrewAI messages -> semconv ``gen_ai.input.messages`` (structured, as on a log event).

    Tool calls the model asked for are ``tool_call`` parts of the assistant message; a tool
    result (``role: tool``) is a ``tool_call_response`` part with the call's id.
    """
    key = A.INPUT_MESSAGES
    if isinstance(messages, str):
        messages = [{"role": "user", "content": messages}]
    if not isinstance(messages, Iterable):
        return None
    out = []
    for message in messages:
        if not isinstance(message, Mapping):
            continue
        role = message.get("role", "user")
        content = message.get("content")
        if role == "tool":
            response = None if content is None else capture.text(key, A.to_text(content))
            parts = [
                {
                    "type": "tool_call_response",
                    "id": message.get("tool_call_id"),
                    "response": response,
                }
            ]
        else:
            parts = _parts(capture, key, content)
            for call in message.get("tool_calls") or ():
                part = tool_call_part(capture, key, call)
                if part is not None:
                    parts.append(part)
        out.append({"role": role, "parts": parts})
    return out


def output_message_list(capture: CaptureConfig, result: Any) -> list[dict[str, Any]]:
    """An LLM call's return value -> semconv ``gen_ai.output.messages`` (structured): text,
    or (native function calling) a list of tool calls as ``tool_call`` parts."""
    key = A.OUTPUT_MESSAGES
    finish = "stop"
    items = result if isinstance(result, list) else [result]
    parts: list[dict[str, Any]] = []
    for item in items:
        part = tool_call_part(capture, key, item) if isinstance(result, list) else None
        if part is not None:
            finish = "tool_call"
            parts.append(part)
            continue
        text = capture.text(key, A.to_text(item))
        if text is not None:
            parts.append({"type": "text", "content": text})
    return [{"role": "assistant", "parts": parts, "finish_reason": finish}]


def delegated_task(capture: CaptureConfig, task: Any) -> str | None:
    """The ad-hoc task a manager LLM wrote for a coworker (CrewAI's delegation tools)."""
    return capture.text(A.DELEGATED_TASK, A.to_text(getattr(task, "description", None) or ""))
