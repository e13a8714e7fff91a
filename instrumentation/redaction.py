"""Redaction: what captured content and error texts go through before they are recorded.

Content (prompts, completions, tool arguments/results, crew inputs, output previews) is
recorded only with content capture on (``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``,
off by default). When it is on, each content value passes through `ContentRedactor`, the one
place every content text goes through before it is set on a span or a log event, in this
order:

1. the user's hook, ``redact(key, text) -> str | None``: ``key`` is the attribute the text is
   for (``gen_ai.input.messages``, ``gen_ai.output.messages``, ``gen_ai.tool.call.arguments``,
   ``gen_ai.tool.call.result``, ``crewai.crew.inputs``, ``crewscope.output.preview``,
   ``crewai.delegation.task``),
   ``text`` the whole untruncated value (for messages: each text part, tool-call arguments
   and tool result on its own). It returns the text to keep, or None to drop the value.
   Given as ``CrewAIInstrumentor().instrument(redact=fn)`` (or ``configure(redact=fn)``), or
   for zero-code use as ``CREWSCOPE_REDACT=module:function`` (OpenTelemetry has no variable
   for this; its GenAI ``OTEL_INSTRUMENTATION_GENAI_COMPLETION_HOOK`` uploads content, it does
   not rewrite it). The hook fails closed: a hook that raises (or returns something else
   than a str or None) drops the value, is counted (`ContentRedactor.errors`) and logged once
   (its type, never the text); a ``CREWSCOPE_REDACT`` that cannot be imported drops every
   value.
2. the built-in secret scrubber, on by default (``redact_secrets=False`` or
   ``CREWSCOPE_REDACT_SECRETS=false`` turns it off for content): credential-shaped strings
   (`SECRET_PATTERNS`: ``sk-...`` keys, ``Bearer``/``Basic`` credentials, AWS access keys and
   secrets, Google ``AIza...`` keys, GitHub, Slack, Hugging Face and Groq tokens, JWTs,
   ``api_key=...``/``password: ...`` assignments) and the exact values of this process's
   credentials (`KNOWN_SECRETS`: environment variables named like keys, ``*_API_KEY``,
   ``*_TOKEN``, ``*_SECRET``, ..., the ``OTEL_EXPORTER_OTLP_*HEADERS`` values, and each LLM's
   ``api_key``, AWS keys and auth headers, read when it is first called) become
   ``[REDACTED]``.
3. truncation to the capture limit (``CREWSCOPE_CAPTURE_MAX_LENGTH``).

Error texts are not content and are recorded with capture off too (span status messages,
``exception`` events' message and stacktrace); exported log records are the app's own. The
secret scrubber always applies to them (`scrub_secrets`), whatever ``redact_secrets`` says;
the user's hook does not.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any

from crewscope.instrumentation.environment_variables import (
    CREWSCOPE_REDACT,
    CREWSCOPE_REDACT_SECRETS,
)

logger = logging.getLogger(__name__)

Redactor = Callable[[str, str], "str | None"]
"""``(attribute key, text) -> text to keep, or None to drop the value``."""

REDACTED = "[REDACTED]"

_VALUE = r"[A-Za-z0-9_\-]"
SECRET_PATTERNS: tuple[tuple[tuple[str, ...], str, str], ...] = (
    # (triggers, regex, replacement): the regex runs only on a text holding one of the
    # triggers (lowercased); a replacement keeps what names the secret, never the secret.
    # A scheme and a credential with a digit in it ("Bearer bonds" is prose, not a token):
    (
        ("bearer", "basic"),
        r"(?i)\b(Bearer|Basic)(\s+)(?=[\w.~+/=\-]*\d)[\w.~+/=\-]{8,}",
        rf"\1\2{REDACTED}",
    ),
    (("sk-",), rf"\bsk-{_VALUE}{{16,}}", REDACTED),  # OpenAI (sk-, sk-proj-), Anthropic
    (("akia", "asia", "abia", "acca"), r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b", REDACTED),
    (("aiza",), rf"\bAIza{_VALUE}{{30,}}", REDACTED),  # Google / Gemini API key
    (
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        r"\b(?:gh[pousr]|github_pat)_[A-Za-z0-9_]{20,}",
        REDACTED,
    ),  # GitHub
    (("xox",), r"\bxox[abposr]-[A-Za-z0-9\-]{10,}", REDACTED),  # Slack
    (("hf_", "gsk_"), r"\b(?:hf|gsk)_[A-Za-z0-9]{20,}", REDACTED),  # Hugging Face, Groq
    (("eyj",), rf"\beyJ{_VALUE}{{8,}}\.eyJ{_VALUE}{{8,}}\.{_VALUE}{{8,}}", REDACTED),  # JWT
)
_PATTERNS = tuple(
    (triggers, re.compile(regex), replacement) for triggers, regex, replacement in SECRET_PATTERNS
)
ASSIGNMENT_TRIGGERS = ("key", "secret", "passw", "token", "authorization")
ASSIGNMENT = (
    # key = value, "key": "value": names that say the value is a credential (matched on the
    # lowercased text: case-insensitive matching is ten times slower in Python's re)
    r"(?:api[_\-]?key|secret(?:[_\-]access)?[_\-]?key|secret|password|passwd"
    r"|access[_\-]?token|auth[_\-]?token|session[_\-]?token|authorization)"
    r"[\"']?\s*[:=]\s*[\"']?(?!bearer\b|basic\b)(?P<value>[^\s\"',;{}\[\]]{8,})"
)
_ASSIGNMENT = re.compile(ASSIGNMENT)
_ASSIGNMENT_ANY_CASE = re.compile(ASSIGNMENT, re.IGNORECASE)

_CREDENTIAL_NAME = re.compile(
    r"(?i)(?:^|_)(?:API_?KEY|APIKEY|KEY|KEY_ID|ACCESS_KEY|TOKEN|SECRET|PASSWORD|PASSWD|PAT|JWT"
    r"|CREDENTIALS?)$"
)
_OTLP_HEADERS = re.compile(r"^OTEL_EXPORTER_OTLP(?:_TRACES|_METRICS|_LOGS)?_HEADERS$")
_LLM_CREDENTIALS = (
    "api_key",
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "token",
    "azure_ad_token",
)
_HEADER_FIELDS = ("default_headers", "extra_headers", "headers")
_SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "api-key", "x-api-key", "x-goog-api-key", "cookie"}
)
MIN_SECRET_LENGTH = 8
"""Shorter values (``true``, a port) are not taken for credentials."""


class KnownSecrets:
    """The exact credential values of this process; `scrub` replaces each occurrence."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._regex: re.Pattern[str] | None = None

    def add(self, value: object) -> None:
        """Remember ``value`` (a str or a pydantic ``SecretStr``) if it is long enough."""
        getter = getattr(value, "get_secret_value", None)
        if callable(getter):
            value = getter()
        if not isinstance(value, str):
            return
        value = value.strip()
        scheme, _, rest = value.partition(" ")
        candidates = [value, rest.strip()] if scheme.lower() in ("bearer", "basic") else [value]
        fresh = [v for v in candidates if len(v) >= MIN_SECRET_LENGTH and v not in self._values]
        if not fresh:
            return
        with self._lock:
            self._values.update(fresh)
            ordered = sorted(self._values, key=len, reverse=True)  # longest match first
            self._regex = re.compile("|".join(re.escape(v) for v in ordered))

    def add_environment(self, environ: Mapping[str, str] | None = None) -> None:
        """Values of variables named like credentials, and of the OTLP exporter headers."""
        for name, value in (os.environ if environ is None else environ).items():
            if _OTLP_HEADERS.match(name):
                for pair in value.split(","):
                    self.add(pair.partition("=")[2])
            elif _CREDENTIAL_NAME.search(name):
                self.add(value)

    def add_llm(self, llm: Any) -> None:
        """An LLM's credentials: ``api_key``, AWS keys, credential headers."""
        for name in _LLM_CREDENTIALS:
            self.add(getattr(llm, name, None))
        for name in _HEADER_FIELDS:
            headers = getattr(llm, name, None)
            if isinstance(headers, Mapping):
                for header, value in headers.items():
                    if str(header).lower() in _SECRET_HEADERS:
                        self.add(value)

    def add_agent(self, agent: Any) -> None:
        """The credentials of an agent's LLMs (before its first call: its run's content is
        recorded from the start)."""
        for name in ("llm", "function_calling_llm"):
            self.add_llm(getattr(agent, name, None))

    def add_crew(self, crew: Any) -> None:
        """The credentials of every LLM of a crew: its agents', the manager's, the planner's."""
        for agent in getattr(crew, "agents", None) or ():
            self.add_agent(agent)
        self.add_agent(getattr(crew, "manager_agent", None))
        for name in ("manager_llm", "planning_llm", "function_calling_llm"):
            self.add_llm(getattr(crew, name, None))

    def scrub(self, text: str) -> str:
        regex = self._regex
        return text if regex is None else regex.sub(REDACTED, text)


KNOWN_SECRETS = KnownSecrets()
"""Process-wide: credentials belong to the process, not to one instrumentor."""


def scrub_secrets(text: str) -> str:
    """``text`` with credential-shaped strings and known credential values redacted."""
    text = KNOWN_SECRETS.scrub(text)
    lowered = text.lower()
    for triggers, regex, replacement in _PATTERNS:
        if any(trigger in lowered for trigger in triggers):
            text = regex.sub(replacement, text)
            lowered = text.lower()
    if any(trigger in lowered for trigger in ASSIGNMENT_TRIGGERS):
        text = _redact_assignments(text, lowered)
    return text


def _redact_assignments(text: str, lowered: str) -> str:
    if len(lowered) != len(text):  # a character whose lowercase is longer: no shared offsets
        return _ASSIGNMENT_ANY_CASE.sub(lambda m: _keep_name(m, text), text)
    out, last = [], 0
    for match in _ASSIGNMENT.finditer(lowered):
        start, end = match.span("value")
        out += [text[last:start], REDACTED]
        last = end
    return "".join(out) + text[last:] if out else text


def _keep_name(match: re.Match[str], text: str) -> str:
    start, end = match.span("value")
    return text[match.start() : start] + REDACTED + text[end : match.end()]


def scrub_value(value: Any) -> Any:
    """`scrub_secrets` on every str inside ``value`` (nested lists and dicts)."""
    if isinstance(value, str):
        return scrub_secrets(value)
    if isinstance(value, Mapping):
        return {k: scrub_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub_value(v) for v in value]
    return value


def load_redactor(spec: str) -> Redactor:
    """``module:function`` (or ``module.function``) -> the function."""
    module, sep, name = spec.strip().partition(":")
    if not sep:
        module, _, name = spec.strip().rpartition(".")
    target: Any = importlib.import_module(module)
    for part in name.split("."):
        target = getattr(target, part)
    if not callable(target):
        raise TypeError(f"{spec} is not callable")
    return target  # type: ignore[no-any-return]


def _drop_everything(key: str, text: str) -> None:
    return None


def secrets_enabled(value: bool | None = None) -> bool:
    """`value`, else ``CREWSCOPE_REDACT_SECRETS`` (anything but false/0/no/off is on)."""
    if value is not None:
        return value
    raw = os.environ.get(CREWSCOPE_REDACT_SECRETS, "").strip().lower()
    return raw not in ("false", "0", "no", "off")


class ContentRedactor:
    """The user's hook (guarded, failing closed), then the secret scrubber, on content."""

    __slots__ = ("_lock", "_logged", "dropped", "errors", "hook", "name", "secrets")

    def __init__(self, hook: Redactor | None = None, *, secrets: bool = True) -> None:
        self.hook = hook
        self.name = getattr(hook, "__qualname__", None) or repr(hook)
        self.secrets = secrets
        self.errors = 0
        """Hook calls that raised or returned neither a str nor None (value dropped)."""
        self.dropped = 0
        """Values dropped: the hook returned None, or failed."""
        self._logged = False
        self._lock = threading.Lock()

    @classmethod
    def create(
        cls, hook: Redactor | str | None = None, secrets: bool | None = None
    ) -> ContentRedactor:
        """``hook`` (a callable or ``module:function``), else ``CREWSCOPE_REDACT``."""
        spec = hook if hook is not None else os.environ.get(CREWSCOPE_REDACT, "").strip() or None
        if isinstance(spec, str):
            try:
                spec = load_redactor(spec)
            except Exception as exc:  # noqa: BLE001 - fail closed: no content, not unredacted
                logger.error(
                    "crewscope: redaction hook %r cannot be loaded (%s); no content is recorded",
                    spec,
                    type(exc).__name__,
                )
                spec = _drop_everything
        return cls(spec, secrets=secrets_enabled(secrets))

    def __call__(self, key: str, text: str) -> str | None:
        if self.hook is not None:
            try:
                out = self.hook(key, text)
                if out is not None and not isinstance(out, str):
                    raise TypeError(f"returned {type(out).__name__}, not str or None")
            except Exception as exc:  # noqa: BLE001 - the app's hook never breaks the app
                self._failed(key, exc)
                return None
            if out is None:
                with self._lock:
                    self.dropped += 1
                return None
            text = out
        return scrub_secrets(text) if self.secrets else text

    def _failed(self, key: str, exc: Exception) -> None:
        with self._lock:
            self.errors += 1
            self.dropped += 1
            first, self._logged = not self._logged, True
        if first:  # the type only: the message may quote the content
            logger.warning(
                "crewscope: redaction hook %s raised %s on %s; the value was dropped "
                "(logged once, every failure drops its value)",
                self.name,
                type(exc).__name__,
                key,
            )
