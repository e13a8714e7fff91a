#!/usr/bin/env bash
# Install everything the tests need into ./.venv (and, as root on Debian, the browser and
# servers the tests drive), lint, type-check and run the test suite.
source "$(dirname "$0")/_venv.sh" dev
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v firefox-esr >/dev/null || missing+=(firefox-esr)  # tests/ui/test_firefox.py
command -v prometheus >/dev/null || missing+=(prometheus)
command -v valgrind >/dev/null || missing+=(valgrind)  # bench_overhead_instructions smoke run
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "==> apt-get install ${missing[*]}"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; } \
      || echo "==> apt-get failed: tests needing ${missing[*]} will be skipped"
  else
    echo "==> not root or no apt-get: tests needing ${missing[*]} will be skipped"
  fi
fi
# geckodriver for the Firefox smoke test: built from crates.io once per machine (about 4 min
# on 2 cores), cached like the Collector; tests/helpers/browser.py GECKODRIVER_VERSION matches.
GECKODRIVER_VERSION=0.37.1
gecko="${CREWSCOPE_CACHE:-$HOME/.cache/crewscope}/geckodriver/$GECKODRIVER_VERSION"
if [ ! -x "$gecko/bin/geckodriver" ]; then
  if command -v cargo >/dev/null; then
    echo "==> cargo install geckodriver $GECKODRIVER_VERSION into $gecko (once per machine)"
    rm -rf "$gecko.partial"
    if cargo install geckodriver --version "$GECKODRIVER_VERSION" --locked --quiet \
        --root "$gecko.partial" >/dev/null; then
      rm -rf "$gecko" && mv "$gecko.partial" "$gecko"
    else
      echo "==> geckodriver build failed: the Firefox test will be skipped"
    fi
  else
    echo "==> no cargo: the Firefox test will be skipped"
  fi
fi
echo "==> ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "==> mypy"
bash scripts/typecheck.sh
echo "==> pytest"
.venv/bin/pytest "$@"
