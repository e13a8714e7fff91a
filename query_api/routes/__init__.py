"""One APIRouter per resource, mounted under /api/v1/monitoring by main.create_app."""
