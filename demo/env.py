"""Keep CrewAI local: its own telemetry, tracking, tracing and version checks off."""

from __future__ import annotations

import os

CREWAI_OFFLINE_ENV = {
    "CREWAI_DISABLE_TELEMETRY": "true",
    "CREWAI_DISABLE_TRACKING": "true",
    "CREWAI_TRACING_ENABLED": "false",
    "CREWAI_DISABLE_VERSION_CHECK": "true",
}


def apply_offline_env() -> None:
    """Must run before ``import crewai``."""
    for key, value in CREWAI_OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
