"""One APIRouter per resource, mounted under /api/v1/monitoring by app.create_app."""
