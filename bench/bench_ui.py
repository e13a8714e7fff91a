"""Web UI: time to first meaningful render of every view and its JS+CSS weight, in headless
Chromium against `crewscope serve` over a DuckDB file of generated spans.

    .venv/bin/python bench/bench_ui.py --spans 1000000 [--loads 9] [--dir DIR]

Generates `--spans` spans (bench/gen_spans.py, cached under --dir as bench_query.py does),
serves a copy with the real CLI (`crewscope serve`, its own process, default settings but
the gRPC port, on 127.0.0.1) and opens each view in Debian's Chromium (/usr/bin/chromium,
Playwright's driver; no browser download). Render time: from navigation start to the moment
``main#view`` first carries the view's ``data-state="ready"`` (a MutationObserver installed
before the page's scripts records ``performance.now()``, whose origin is the navigation
start). Cold: a new browser context (empty cache) per load; warm: the same context loaded
again (assets revalidated by ETag). Median of `--loads` loads each, after one discarded
load per view that warms the server (its first query of a view's endpoints). Weight: the
compressed body bytes of the JS and CSS the cold page loaded (Resource Timing
``encodedBodySize``), checked against a plain GET of each file with ``Accept-Encoding: gzip``.
Targets: <= 500 ms per view, <= 300 KB of JS+CSS.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from typing import Any
from urllib.parse import quote, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import gen_spans
import httpx

API = "/api/v1/monitoring"
TARGET_MS = 500.0
TARGET_KB = 300.0
CHROMIUM = os.environ.get("CREWSCOPE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
READY_PROBE = """
(() => {
  window.__readyAt = null;
  const check = () => {
    const main = document.querySelector('main#view');
    if (window.__readyAt === null && main && main.dataset.state === 'ready' &&
        main.dataset.view === window.__wantView) {
      window.__readyAt = performance.now();
    }
  };
  new MutationObserver(check).observe(document, {subtree: true, childList: true,
    attributes: true, attributeFilter: ['data-state', 'data-view']});
})();
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(db: str) -> tuple[subprocess.Popen[bytes], str]:
    """`crewscope serve` over `db` in its own process; returns it and its base URL."""
    port = free_port()
    cli = [sys.executable, "-m", "crewscope.query_api.cli", "serve", "--db", db]
    proc = subprocess.Popen(
        [*cli, "--port", str(port), "--grpc", "", "--log-level", "warning"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while True:
        try:
            if httpx.get(url + API + "/system/health", timeout=60).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"crewscope serve did not start (exit {proc.returncode})")
        time.sleep(0.2)


def views(url: str) -> dict[str, tuple[str, str]]:
    """name -> (path, data-view): every view, detail views on a real run and agent."""
    runs = httpx.get(url + API + "/runs", params={"limit": 1}, timeout=120).json()["runs"]
    agents = httpx.get(url + API + "/agents", params={"time_range": "30d"}, timeout=120).json()
    run_id = runs[0]["run_id"] if runs else "0000000000000000"
    agent = agents["agents"][0]["agent"] if agents["agents"] else "nobody"
    return {
        "overview": ("/", "overview"),
        "agents": ("/agents", "agents"),
        "agent": (f"/agents/{quote(agent, safe='')}", "agent"),
        "runs": ("/runs", "runs"),
        "run": (f"/runs/{run_id}", "run"),
        "usage": ("/usage", "usage"),
    }


def load(page: Any, url: str, timeout_ms: float = 60_000) -> float:
    """Navigate and return ms from navigation start to the view's first ``ready``."""
    page.goto(url, wait_until="commit")
    page.wait_for_function("() => window.__readyAt !== null", timeout=timeout_ms, polling=20)
    return float(page.evaluate("window.__readyAt"))


def assets_weight(page: Any) -> tuple[int, list[str]]:
    """(compressed body bytes, URLs) of the JS and CSS this page loaded."""
    entries = page.evaluate(
        "performance.getEntriesByType('resource').map((e) => [e.name, e.encodedBodySize])"
    )
    picked = [(u, int(n)) for u, n in entries if urlsplit(u).path.endswith((".js", ".mjs", ".css"))]
    return sum(n for _, n in picked), [u for u, _ in picked]


def phases(page: Any, ready_ms: float) -> tuple[float, float]:
    """(ms until the last JS/CSS arrived, ms spent in API calls before ready) of this load."""
    entries = page.evaluate(
        "performance.getEntriesByType('resource').map((e) => [e.name, e.startTime, e.responseEnd])"
    )
    assets = [end for u, _, end in entries if urlsplit(u).path.endswith((".js", ".mjs", ".css"))]
    api = [(start, end) for u, start, end in entries if API in u and end <= ready_ms + 1]
    api_ms = max(e for _, e in api) - min(s for s, _ in api) if api else 0.0
    return (max(assets) if assets else 0.0), api_ms


def gzip_bytes(urls: list[str]) -> int:
    """Bytes on the wire for each URL fetched with Accept-Encoding: gzip (as served)."""
    total = 0
    with httpx.Client(timeout=30) as client:
        for u in urls:
            with client.stream("GET", u, headers={"Accept-Encoding": "gzip"}) as reply:
                assert reply.status_code == 200, u
                total += sum(len(chunk) for chunk in reply.iter_raw())
    return total


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--spans", type=int, default=1_000_000)
    p.add_argument("--loads", type=int, default=9, help="measured loads per view and cache state")
    p.add_argument("--dir", default="/tmp/crewscope_bench_data")
    p.add_argument("--fresh", action="store_true", help="regenerate the cached data file")
    p.add_argument("--views", default="", help="comma-separated view names (default: all)")
    args = p.parse_args(argv)
    from playwright.sync_api import sync_playwright

    os.makedirs(args.dir, exist_ok=True)
    duck = os.path.join(args.dir, f"spans_{args.spans}.duckdb")
    if args.fresh or not os.path.exists(duck):
        for f in (duck, duck + ".wal"):
            if os.path.exists(f):
                os.remove(f)
        t = time.perf_counter()
        gen_spans.create(duck, args.spans)
        print(f"generated {args.spans:,} spans: {time.perf_counter() - t:.1f} s", flush=True)
    work = os.path.join(args.dir, f"ui_work_{args.spans}_{os.getpid()}.duckdb")
    shutil.copyfile(duck, work)
    t = time.perf_counter()
    proc, url = serve(work)
    print(f"crewscope serve up in {time.perf_counter() - t:.1f} s at {url}", flush=True)
    out: dict[str, Any] = {"spans": args.spans, "loads": args.loads, "views": {}}
    try:
        targets = views(url)
        if args.views:
            targets = {k: v for k, v in targets.items() if k in args.views.split(",")}
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                out["chromium"] = browser.version
                for name, (path, view) in targets.items():
                    out["views"][name] = measure(browser, url + path, view, args.loads)
            finally:
                browser.close()
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        for f in (work, work + ".wal"):
            if os.path.exists(f):
                os.remove(f)
    report(out)
    return out


def measure(browser: Any, url: str, view: str, loads: int) -> dict[str, Any]:
    def fresh() -> tuple[Any, Any]:
        ctx = browser.new_context(viewport={"width": 1366, "height": 768})
        ctx.add_init_script(f"window.__wantView = {view!r};" + READY_PROBE)
        return ctx, ctx.new_page()

    ctx, page = fresh()
    load(page, url)  # warms the server's first query of this view's endpoints
    ctx.close()
    cold: list[float] = []
    warm: list[float] = []
    assets_end: list[float] = []
    api_time: list[float] = []
    weight, gz, hosts = 0, 0, set()
    for i in range(loads):
        ctx, page = fresh()
        requests: list[str] = []
        page.on("request", lambda r, seen=requests: seen.append(r.url))
        cold.append(load(page, url))
        assets_ms, api_ms = phases(page, cold[-1])
        assets_end.append(assets_ms)
        api_time.append(api_ms)
        if i == 0:
            weight, assets = assets_weight(page)
            gz = gzip_bytes(assets)
        warm.append(load(page, url))
        hosts |= {urlsplit(u).hostname for u in requests}
        ctx.close()
    return {
        "cold_ms": statistics.median(cold),
        "warm_ms": statistics.median(warm),
        "cold_assets_ms": statistics.median(assets_end),
        "cold_api_ms": statistics.median(api_time),
        "cold_all": cold,
        "warm_all": warm,
        "js_css_bytes": weight,
        "js_css_gzip_bytes": gz,
        "hosts": sorted(h for h in hosts if h),
    }


def report(out: dict[str, Any]) -> None:
    print(
        f"\nweb UI over {out['spans']:,} spans, Chromium {out.get('chromium', '?')}, "
        f"median of {out['loads']} loads"
    )
    print(
        f"{'view':<10} {'cold ms':>8} {'warm ms':>8} {'assets ms':>10} {'API ms':>8} "
        f"{'JS+CSS KB':>10} {'gzip GET KB':>12}  met"
    )
    for name, v in out["views"].items():
        kb, gz = v["js_css_bytes"] / 1024, v["js_css_gzip_bytes"] / 1024
        met = max(v["cold_ms"], v["warm_ms"]) <= TARGET_MS and max(kb, gz) <= TARGET_KB
        print(
            f"{name:<10} {v['cold_ms']:>8.0f} {v['warm_ms']:>8.0f} {v['cold_assets_ms']:>10.0f} "
            f"{v['cold_api_ms']:>8.0f} {kb:>10.1f} {gz:>12.1f}  "
            f"{'yes' if met else 'NO'}"
        )
    print(
        f"targets: <= {TARGET_MS:.0f} ms per view, <= {TARGET_KB:.0f} KB JS+CSS "
        "(assets: the last JS/CSS arrived, cold; API: first call start to last answer, cold)"
    )


if __name__ == "__main__":
    main()
