"""Environment variables read by crewscope's instrumentation (read once, at instrument())."""

OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT = (
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
)
"""
Record prompts, completions, tool arguments/results and crew inputs/outputs.
``NO_CONTENT`` (default), ``SPAN_ONLY``, ``EVENT_ONLY``, ``SPAN_AND_EVENT`` as in
opentelemetry-util-genai; ``true`` (= ``SPAN_ONLY``) and ``false`` as older OTel
instrumentations spell it.
"""

CREWSCOPE_CAPTURE_MAX_LENGTH = "CREWSCOPE_CAPTURE_MAX_LENGTH"
"""Maximum characters kept of each captured content value (default 4096)."""

CREWSCOPE_LOG_LEVEL = "CREWSCOPE_LOG_LEVEL"
"""Least level of the app's ``logging`` records that ``configure(logs=True)`` exports
(``DEBUG``, ``INFO`` (default), ``WARNING``, ... or a number; ``none`` exports none). Only
records the app's logging configuration lets through reach it."""

CREWSCOPE_CREWAI_LOG_LEVEL = "CREWSCOPE_CREWAI_LOG_LEVEL"
"""Least level of the records of CrewAI's own loggers (``crewai.*``) that
``configure(logs=True)`` exports: ``WARNING`` (default); ``INFO`` or ``DEBUG`` to mirror
more of CrewAI's internals, ``none`` for none."""

CREWSCOPE_REDACT = "CREWSCOPE_REDACT"
"""``module:function`` of a redaction hook ``(attribute key, text) -> text or None`` that every
captured content value goes through before truncation (None drops the value; a hook that
raises drops it too). ``instrument(redact=...)`` overrides it. OpenTelemetry has no variable
for this; see ``crewscope.instrumentation.redaction``."""

CREWSCOPE_REDACT_SECRETS = "CREWSCOPE_REDACT_SECRETS"
"""``false`` turns off the built-in secret scrubber on captured content (API-key-shaped
strings and the process's known credentials become ``[REDACTED]``; on by default). Error
texts and exported log records are scrubbed whatever it says."""
