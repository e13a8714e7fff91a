"""Content-capture settings, parsed once, and the one function every content value goes
through (`CaptureConfig.text`: redaction, then truncation)."""

from __future__ import annotations

import enum
import logging
import os
from dataclasses import dataclass, field

from crewscope.instrumentation._attributes import truncate
from crewscope.instrumentation.environment_variables import (
    CREWSCOPE_CAPTURE_MAX_LENGTH,
    OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT,
)
from crewscope.instrumentation.redaction import ContentRedactor, Redactor

logger = logging.getLogger(__name__)

DEFAULT_MAX_LENGTH = 4096


class CaptureMode(enum.Enum):
    NO_CONTENT = "NO_CONTENT"
    SPAN_ONLY = "SPAN_ONLY"
    EVENT_ONLY = "EVENT_ONLY"
    SPAN_AND_EVENT = "SPAN_AND_EVENT"


def parse_capture_mode(value: str | bool | None) -> CaptureMode:
    """Parse the capture setting; unknown values fall back to NO_CONTENT with a warning."""
    if isinstance(value, bool):
        return CaptureMode.SPAN_ONLY if value else CaptureMode.NO_CONTENT
    text = (value or "").strip().upper()
    if text in ("", "FALSE"):
        return CaptureMode.NO_CONTENT
    if text == "TRUE":
        return CaptureMode.SPAN_ONLY
    try:
        return CaptureMode[text]
    except KeyError:
        logger.warning(
            "%s=%r is not one of NO_CONTENT, SPAN_ONLY, EVENT_ONLY, SPAN_AND_EVENT, true, "
            "false; content is not recorded",
            OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT,
            value,
        )
        return CaptureMode.NO_CONTENT


@dataclass(frozen=True)
class CaptureConfig:
    mode: CaptureMode = CaptureMode.NO_CONTENT
    max_length: int = DEFAULT_MAX_LENGTH
    redactor: ContentRedactor = field(default_factory=ContentRedactor)
    """The user's hook and the secret scrubber (``redaction.py``)."""

    def redact(self, key: str, text: str) -> str | None:
        """``text`` (for attribute ``key``) as it may be recorded, untruncated; None: drop it."""
        return self.redactor(key, text)

    def text(self, key: str, text: str, limit: int | None = None) -> str | None:
        """The one way a content value is recorded: redacted, then cut to ``limit``
        (default the capture limit); None when the redaction drops it."""
        kept = self.redactor(key, text)
        if kept is None:
            return None
        return truncate(kept, self.max_length if limit is None else limit)

    @property
    def on_span(self) -> bool:
        return self.mode in (CaptureMode.SPAN_ONLY, CaptureMode.SPAN_AND_EVENT)

    @property
    def as_event(self) -> bool:
        return self.mode in (CaptureMode.EVENT_ONLY, CaptureMode.SPAN_AND_EVENT)

    @property
    def enabled(self) -> bool:
        return self.mode is not CaptureMode.NO_CONTENT

    @classmethod
    def from_env(
        cls,
        capture_content: str | bool | None = None,
        max_length: int | None = None,
        redact: Redactor | str | None = None,
        redact_secrets: bool | None = None,
    ) -> CaptureConfig:
        """Keyword arguments override the environment."""
        if capture_content is None:
            capture_content = os.environ.get(OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT)
        if max_length is None:
            raw = os.environ.get(CREWSCOPE_CAPTURE_MAX_LENGTH, "")
            try:
                max_length = int(raw) if raw.strip() else DEFAULT_MAX_LENGTH
            except ValueError:
                logger.warning("%s=%r is not an integer", CREWSCOPE_CAPTURE_MAX_LENGTH, raw)
                max_length = DEFAULT_MAX_LENGTH
        mode = parse_capture_mode(capture_content)
        if mode is CaptureMode.NO_CONTENT:  # no content: no hook to load
            return cls(mode, max(0, max_length))
        return cls(mode, max(0, max_length), ContentRedactor.create(redact, redact_secrets))
