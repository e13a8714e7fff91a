"""System health."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class ComponentStatus(BaseModel):
    name: str
    status: str = Field(description="healthy, degraded, unhealthy or not_configured")
    details: str | None = None
    metrics: dict[str, float | int | str | None] = Field(default_factory=dict)


class SystemHealthSummary(BaseModel):
    overall_status: str = Field(description="healthy, degraded or unhealthy")
    timestamp: datetime
    service_statuses: list[ComponentStatus]
