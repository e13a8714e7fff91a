"""The web UI's server side: the shell at every view's URL, assets from the installed package
(gzip, ETag, 304), nothing outside static/, and the vendored libraries as pinned."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from importlib import resources
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from crewscope.query_api import create_app
from crewscope.query_api.web.routes import VIEW_PATHS

STATIC = Path(str(resources.files("crewscope.query_api.web").joinpath("static")))
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    db = str(tmp_path_factory.mktemp("web") / "web.duckdb")
    with TestClient(create_app(db, rollup_interval_s=0, retention_days=None)) as c:
        yield c


@pytest.mark.parametrize(
    "path",
    [p.replace("{agent}", "Senior%20Researcher").replace("{run_id}", "abc") for p in VIEW_PATHS],
)
def test_every_view_url_serves_the_shell(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/ui/app.js">' in r.text
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src" not in csp.replace("default-src", "")


def test_assets_gzip_etag_and_revalidation(client: TestClient) -> None:
    r = client.get("/ui/app.js", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    assert r.headers["content-encoding"] == "gzip"
    assert r.content == (STATIC / "app.js").read_bytes()  # httpx decodes the gzip body
    etag = r.headers["etag"]
    again = client.get("/ui/app.js", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    plain = client.get("/ui/style.css", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.text.startswith("/*")


@pytest.mark.parametrize(
    "path",
    ["/ui/../app.py", "/ui/%2e%2e/routes.py", "/ui/nope.js", "/ui/", "/ui/index.html", "/ui/.x"],
)
def test_nothing_outside_static_or_unknown(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_dashboard_address_redirects_to_the_overview(client: TestClient) -> None:
    r = client.get("/dashboard", follow_redirects=False)
    assert r.status_code == 308 and r.headers["location"] == "/"


def test_every_module_import_resolves_to_a_shipped_file() -> None:
    """No bare specifiers (no import map, no CDN): every import is a file in static/."""
    pattern = re.compile(r"""\b(?:import|from)\s*["']([\w@./-]+)["']""")
    modules = [p for p in STATIC.rglob("*") if p.suffix in (".js", ".mjs")]
    assert len(modules) >= 10
    for module in modules:
        for spec in pattern.findall(module.read_text("utf-8")):
            assert spec.startswith((".", "/ui/")), f"{module.name} imports {spec}"
            target = (module.parent / spec).resolve() if spec.startswith(".") else STATIC / spec[4:]
            assert target.is_file(), f"{module.name} imports missing {spec}"
    html = (STATIC / "index.html").read_text("utf-8")
    assert not re.search(r"""(?:src|href)=["'](?:https?:)?//""", html)  # nothing from elsewhere


def test_vendored_libraries_match_the_manifest_and_lock() -> None:
    vendor = STATIC / "vendor"
    manifest = json.loads((vendor / "MANIFEST.json").read_text())
    lock = json.loads((ROOT / "ui" / "package-lock.json").read_text())
    pinned = json.loads((ROOT / "ui" / "package.json").read_text())["dependencies"]
    for entry in manifest["files"]:
        body = (vendor / entry["file"]).read_bytes()
        assert hashlib.sha256(body).hexdigest() == entry["sha256"], entry["file"]
        assert (vendor / entry["license_file"]).read_text().strip(), entry["license_file"]
        assert pinned[entry["package"]] == entry["version"]
        assert lock["packages"][f"node_modules/{entry['package']}"]["version"] == entry["version"]


def test_page_weight_of_scripts_and_styles() -> None:
    """Every script and stylesheet the UI can load, gzip-compressed as served, under 300 KB."""
    files = [p for p in STATIC.rglob("*") if p.suffix in (".js", ".mjs", ".css")]
    total = sum(len(gzip.compress(p.read_bytes(), 9)) for p in files)
    assert total < 300_000, total
