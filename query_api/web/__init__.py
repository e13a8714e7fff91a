"""The web UI: one HTML shell for every view, ES modules and vendored libraries from static/.

Views (each a stable, shareable URL; the shell's router renders them client-side from the
query API under /api/v1/monitoring and the live WebSocket): ``/`` overview, ``/agents``,
``/agents/{agent}``, ``/runs``, ``/runs/{run_id}``, ``/usage``. Assets are served from the
installed package under ``/ui/`` (gzip when the browser accepts it, ETag revalidation); no
request leaves the server. The browser libraries in static/vendor/ come from npm, pinned in
ui/package-lock.json, with their licences (scripts/ui_vendor.sh).
"""
