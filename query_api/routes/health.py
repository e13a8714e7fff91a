"""System health."""

from __future__ import annotations

from fastapi import APIRouter, Request

from crewscope.query_api.deps import DbDep, HealthDep
from crewscope.query_api.models.health import SystemHealthSummary
from crewscope.query_api.ops.health import system_health

router = APIRouter(prefix="/system", tags=["health"])


@router.get("/health", response_model=SystemHealthSummary)
def read_health(request: Request, db: DbDep, registry: HealthDep) -> SystemHealthSummary:
    """Overall status with the database, ingest, background jobs and exporter queue."""
    return system_health(db, registry, request.app.state.jobs)
