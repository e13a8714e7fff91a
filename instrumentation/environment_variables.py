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
