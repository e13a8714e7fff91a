"""Real browsers for the web UI tests: Debian's Chromium through Playwright, Firefox ESR
through Selenium and geckodriver. Nothing here downloads a browser.

Chromium: ``launch()`` starts ``/usr/bin/chromium`` (``CREWSCOPE_CHROMIUM`` overrides) with
Playwright's bundled driver; Playwright's own browser builds are never used or fetched.
``GuardedPage`` wraps one page in a fresh context: it records every request the page makes
(HTTP and WebSocket) and aborts any to a host other than 127.0.0.1, and collects console
errors and uncaught page errors, so ``assert_clean()`` fails a test that leaked a request
or raised in JavaScript. ``screenshot(view)`` writes ``tests/artifacts/<view>.png``
(1366x768 viewport) and ``<view>-full.png`` (the full page).

Firefox: ``firefox()`` drives ``/usr/bin/firefox-esr`` headless with the geckodriver that
``scripts/test.sh`` builds from crates.io into ``~/.cache/crewscope/geckodriver``
(``CREWSCOPE_GECKODRIVER`` overrides).

Both skip the calling test with the reason when their browser, driver or Python package is
missing (``require_chromium()``, ``require_firefox()``).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

CHROMIUM = os.environ.get("CREWSCOPE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
FIREFOX = os.environ.get("CREWSCOPE_FIREFOX", "/usr/bin/firefox-esr")
CACHE = Path(os.environ.get("CREWSCOPE_CACHE") or Path.home() / ".cache" / "crewscope")
GECKODRIVER_VERSION = "0.37.1"
"""The geckodriver crate scripts/test.sh builds (``cargo install --locked``)."""

VIEWPORT = {"width": 1366, "height": 768}
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
LOOPBACK = {"127.0.0.1"}
READY_TIMEOUT_MS = 15_000


def _real_home() -> Path:
    """The user's home: tests/conftest.py points HOME at a temporary folder for CrewAI."""
    import pwd

    return Path(pwd.getpwuid(os.getuid()).pw_dir)


def geckodriver_path() -> str | None:
    """The cached geckodriver (built by scripts/test.sh), else one on PATH, else None."""
    explicit = os.environ.get("CREWSCOPE_GECKODRIVER")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    cache = Path(os.environ.get("CREWSCOPE_CACHE") or _real_home() / ".cache" / "crewscope")
    cached = cache / "geckodriver" / GECKODRIVER_VERSION / "bin" / "geckodriver"
    if os.access(cached, os.X_OK):
        return str(cached)
    return shutil.which("geckodriver")


def require_chromium() -> None:
    """Skip the calling test unless Playwright and Debian's Chromium are installed."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[dev]')")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} not found (apt-get install chromium; scripts/test.sh does)")


def require_firefox() -> str:
    """Skip unless Selenium, Firefox ESR and geckodriver are there; returns geckodriver."""
    try:
        import selenium.webdriver  # noqa: F401
    except ImportError:
        pytest.skip("selenium is not installed (pip install -e '.[dev]')")
    if not os.access(FIREFOX, os.X_OK):
        pytest.skip(f"{FIREFOX} not found (apt-get install firefox-esr; scripts/test.sh does)")
    driver = geckodriver_path()
    if driver is None:
        pytest.skip("geckodriver not built (scripts/test.sh builds it with cargo)")
    return driver


def require_a_browser() -> None:
    """Skip unless Chromium or Firefox can be driven (before building what the tests serve:
    pytest sets up session fixtures before a test's own, so a late skip would come after)."""
    reasons = []
    for check in (require_chromium, require_firefox):
        try:
            check()
            return
        except pytest.skip.Exception as exc:
            reasons.append(str(exc))
    pytest.skip("no browser to drive: " + "; ".join(reasons))


@contextmanager
def launch() -> Iterator[Any]:
    """Playwright's Chromium API over /usr/bin/chromium, headless; yields the Browser."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def is_loopback(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    return parts.hostname in LOOPBACK


@dataclass
class GuardedPage:
    """One page in its own browser context, with its requests and errors recorded."""

    context: Any
    page: Any
    base_url: str
    requests: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    websockets: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    allowed_console: list[re.Pattern[str]] = field(default_factory=list)
    checked: bool = False
    """Whether ``assert_clean()`` ran (the fixtures check the pages a test did not)."""

    @classmethod
    def open(cls, browser: Any, base_url: str, *, timezone_id: str = "UTC") -> GuardedPage:
        context = browser.new_context(
            viewport=VIEWPORT, locale="en-US", timezone_id=timezone_id, base_url=base_url
        )
        context.set_default_timeout(READY_TIMEOUT_MS)
        page = context.new_page()
        guarded = cls(context, page, base_url)
        context.route("**/*", guarded._route)
        page.on("request", lambda r: guarded.requests.append(r.url))
        page.on("websocket", guarded._websocket)
        page.on("console", guarded._console)
        page.on("pageerror", lambda e: guarded.page_errors.append(f"{e.name}: {e.message}"))
        return guarded

    def _route(self, route: Any) -> None:
        url = route.request.url
        if is_loopback(url):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort("blockedbyclient")

    def _websocket(self, ws: Any) -> None:
        self.websockets.append(ws.url)
        if not is_loopback(ws.url):
            self.blocked.append(ws.url)

    def _console(self, msg: Any) -> None:
        if msg.type == "error":
            where = msg.location.get("url", "") if msg.location else ""
            self.console_errors.append(f"{msg.text} ({where})")

    def allow_console(self, pattern: str) -> None:
        """Console errors matching `pattern` are expected (e.g. the 404 of an error test)."""
        self.allowed_console.append(re.compile(pattern))

    # --- navigation -------------------------------------------------------------------

    def goto(self, path: str, view: str, state: str = "ready") -> Any:
        """Open `path` and wait for ``main#view[data-view=view][data-state=state]``."""
        self.page.goto(self.base_url + path)
        return self.wait_view(view, state)

    def wait_view(self, view: str, state: str = "ready", timeout_ms: int | None = None) -> Any:
        selector = f'main#view[data-view="{view}"][data-state="{state}"]'
        try:
            return self.page.wait_for_selector(selector, timeout=timeout_ms or READY_TIMEOUT_MS)
        except Exception as exc:
            main = self.page.query_selector("main#view")
            shown = (
                {
                    "data-view": main.get_attribute("data-view"),
                    "data-state": main.get_attribute("data-state"),
                    "text": (main.inner_text() or "")[:500],
                }
                if main
                else "no main#view"
            )
            raise AssertionError(
                f"{selector} not reached at {self.page.url}: {shown}; "
                f"page errors {self.page_errors}; console {self.console_errors}"
            ) from exc

    # --- reading the DOM ---------------------------------------------------------------

    def values(self, selector: str, attr: str = "data-value") -> list[str | None]:
        return [e.get_attribute(attr) for e in self.page.query_selector_all(selector)]

    def field_value(self, scope: Any, name: str) -> str | None:
        """``data-value`` of ``[data-field=name]`` inside element or selector `scope`."""
        root = self.page.query_selector(scope) if isinstance(scope, str) else scope
        assert root is not None, f"{scope} not on the page"
        el = root.query_selector(f'[data-field="{name}"]')
        assert el is not None, f'[data-field="{name}"] not in {scope}'
        value: str | None = el.get_attribute("data-value")
        return value

    def fields(self, scope: Any) -> dict[str, dict[str, str | None]]:
        """``{name: {"value": data-value, "text": text}}`` of the ``[data-field]`` elements
        in `scope` (a selector or element; the first of each name), read in one round trip."""
        root = self.page.query_selector(scope) if isinstance(scope, str) else scope
        assert root is not None, f"{scope} not on the page"
        found: dict[str, dict[str, str | None]] = root.evaluate(FIELDS_JS)
        return found

    def rows(self, selector: str) -> list[dict[str, Any]]:
        """Each element matching `selector` as ``{"attrs": {data-* attributes}, "fields":
        fields(element), "links": [hrefs]}``, read in one round trip."""
        found: list[dict[str, Any]] = self.page.evaluate(ROWS_JS, selector)
        return found

    def texts(self, selector: str) -> list[str]:
        return [e.inner_text().strip() for e in self.page.query_selector_all(selector)]

    # --- checks ------------------------------------------------------------------------

    def js_errors(self) -> list[str]:
        console = [
            m for m in self.console_errors if not any(p.search(m) for p in self.allowed_console)
        ]
        return self.page_errors + console

    def assert_clean(self) -> None:
        """No request left loopback, no uncaught JS error, no unexpected console error."""
        self.checked = True
        assert self.requests, "the network guard saw no request at all"
        off = [u for u in self.requests + self.websockets if not is_loopback(u)]
        assert not self.blocked and not off, f"non-loopback requests: {self.blocked + off}"
        assert not self.js_errors(), f"JavaScript errors: {self.js_errors()}"

    def screenshot(self, view: str) -> tuple[Path, Path]:
        """``tests/artifacts/<view>.png`` (the 1366x768 viewport) and ``<view>-full.png``."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot, full = ARTIFACTS / f"{view}.png", ARTIFACTS / f"{view}-full.png"
        self.page.set_viewport_size(VIEWPORT)
        self.page.screenshot(path=str(shot))
        self.page.screenshot(path=str(full), full_page=True)
        assert shot.stat().st_size > 0 and full.stat().st_size > 0
        return shot, full

    def close(self) -> None:
        self.context.close()


FIELDS_JS = """(root) => {
  const out = {};
  for (const e of root.querySelectorAll('[data-field]')) {
    if (!(e.dataset.field in out)) {
      out[e.dataset.field] = {value: e.getAttribute('data-value'), text: e.innerText.trim()};
    }
  }
  return out;
}"""
ROWS_JS = (
    """(sel) => [...document.querySelectorAll(sel)].map((row) => ({
  attrs: Object.fromEntries([...row.attributes].filter((a) => a.name.startsWith('data-'))
    .map((a) => [a.name, a.value])),
  fields: ("""
    + FIELDS_JS
    + """)(row),
  links: [...row.querySelectorAll('a[href]')].map((a) => a.getAttribute('href')),
  text: row.innerText,
}))"""
)


def number(value: str | None) -> float | None:
    """A ``data-value`` as a number (None for the empty string of a null)."""
    if value is None or value == "":
        return None
    return float(value)


def same_number(shown: str | None, api: Any, rel: float = 1e-9) -> bool:
    """Whether a ``data-value`` is the API's value (null is the empty string)."""
    if api is None:
        return shown == ""
    got = number(shown)
    return got is not None and abs(got - float(api)) <= rel * max(1.0, abs(float(api)))


def assert_fields(ui: GuardedPage, scope: Any, expected: dict[str, Any], what: str = "") -> None:
    """Every ``[data-field=name]`` in `scope` carries the API's value as ``data-value``."""
    shown_fields = ui.fields(scope)
    wrong: dict[str, Any] = {}
    for name, api in expected.items():
        if name not in shown_fields:
            wrong[name] = "missing"
            continue
        shown = shown_fields[name]["value"]
        if not same_number(shown, api):
            wrong[name] = {"shown": shown, "api": api}
    assert not wrong, f"{what or scope}: data-value differs from the API: {wrong}"


# --- Firefox ---------------------------------------------------------------------------


@dataclass
class FirefoxSession:
    """Headless Firefox ESR under Selenium (WebDriver BiDi), with the same records as
    ``GuardedPage``: requests (non-loopback ones failed), JS errors, console errors."""

    driver: Any
    requests: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def _request(self, request: Any) -> None:
        self.requests.append(request.url)
        if not is_loopback(request.url):
            self.blocked.append(request.url)
            request.fail()

    def _js_error(self, entry: Any) -> None:
        self.page_errors.append(str(getattr(entry, "text", entry)))

    def _console(self, entry: Any) -> None:
        if getattr(entry, "level", "") == "error":
            self.console_errors.append(str(getattr(entry, "text", entry)))

    def wait_view(self, view: str, state: str = "ready", timeout_s: float = 20.0) -> None:
        from selenium.webdriver.support.ui import WebDriverWait

        selector = f'main#view[data-view="{view}"][data-state="{state}"]'
        try:
            WebDriverWait(self.driver, timeout_s).until(
                lambda d: d.execute_script(
                    "return !!document.querySelector(arguments[0])", selector
                )
            )
        except Exception as exc:
            shown = self.driver.execute_script(
                "const m = document.querySelector('main#view'); return m && "
                "[m.dataset.view, m.dataset.state, m.innerText.slice(0, 300)];"
            )
            raise AssertionError(
                f"{selector} not reached at {self.driver.current_url}: {shown}; "
                f"JS errors {self.page_errors}; console {self.console_errors}"
            ) from exc

    def assert_clean(self) -> None:
        assert self.requests, "the network guard saw no request at all"
        assert not self.blocked, f"non-loopback requests: {self.blocked}"
        errors = self.page_errors + self.console_errors
        assert not errors, f"JavaScript errors: {errors}"


@contextmanager
def firefox(geckodriver: str) -> Iterator[FirefoxSession]:
    """Headless Firefox ESR; yields a ``FirefoxSession``.

    Its profile turns off the connections Firefox makes by itself (updates, telemetry, safe
    browsing, captive portal, remote settings), so only the test's pages load.
    """
    from selenium import webdriver
    from selenium.webdriver.firefox.options import Options
    from selenium.webdriver.firefox.service import Service

    options = Options()
    options.binary_location = FIREFOX
    options.enable_bidi = True
    options.add_argument("-headless")
    options.add_argument(f"--width={VIEWPORT['width']}")
    options.add_argument(f"--height={VIEWPORT['height']}")
    for name, value in FIREFOX_PREFS.items():
        options.set_preference(name, value)
    service = Service(executable_path=geckodriver, log_output=os.devnull)
    driver = webdriver.Firefox(options=options, service=service)
    try:
        driver.set_page_load_timeout(30)
        session = FirefoxSession(driver)
        driver.network.add_request_handler(session._request)
        driver.script.add_javascript_error_handler(session._js_error)
        driver.script.add_console_message_handler(session._console)
        yield session
    finally:
        driver.quit()


FIREFOX_PREFS: dict[str, Any] = {
    "app.update.enabled": False,
    "app.update.auto": False,
    "app.normandy.enabled": False,
    "app.shield.optoutstudies.enabled": False,
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "browser.safebrowsing.downloads.enabled": False,
    "browser.safebrowsing.provider.mozilla.updateURL": "",
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "browser.newtabpage.enabled": False,
    "browser.aboutHomeSnippets.updateUrl": "",
    "browser.topsites.contile.enabled": False,
    "browser.newtabpage.activity-stream.feeds.topsites": False,
    "browser.ping-centre.telemetry": False,
    "datareporting.healthreport.uploadEnabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.enabled": False,
    "toolkit.telemetry.unified": False,
    "toolkit.telemetry.server": "",
    "extensions.update.enabled": False,
    "extensions.getAddons.cache.enabled": False,
    "extensions.blocklist.enabled": False,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "network.dns.disablePrefetch": True,
    "network.prefetch-next": False,
    "network.http.speculative-parallel-limit": 0,
    "services.settings.server": "http://127.0.0.1:9/",
    "media.gmp-manager.url": "",
    "geo.provider.network.url": "",
    "captivedetect.canonicalURL": "",
    "security.OCSP.enabled": 0,
    "dom.push.connection.enabled": False,
}
