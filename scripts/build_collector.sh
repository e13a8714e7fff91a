#!/usr/bin/env bash
# Build crewscope's OpenTelemetry Collector (otelcol-crewscope) with the official
# OpenTelemetry Collector Builder (ocb), from the official Go modules listed in
# scripts/ocb-manifest.yaml. The binary is cached once per machine:
#
#   ${CREWSCOPE_CACHE:-$HOME/.cache/crewscope}/otelcol/<version>/otelcol-crewscope
#
# where <version> is the core Collector version plus a short hash of the manifest,
# so editing the manifest builds a new binary instead of reusing a stale one.
# When the binary already exists the script prints its path and exits at once.
#
# Usage:
#   scripts/build_collector.sh               build if needed; last stdout line = binary path
#   scripts/build_collector.sh --print-path  print where the binary is (or would be); no build
#   scripts/build_collector.sh --force       rebuild even if the binary exists
#
# Environment:
#   CREWSCOPE_CACHE   cache root (default: $HOME/.cache/crewscope)
#   GOMODCACHE        Go module cache (default: Go's own, shared with your other builds)
#   GOTOOLCHAIN       honoured if set; otherwise Go's default applies
#
# Progress goes to stderr; stdout carries only the binary path.
set -euo pipefail

OTELCOL_VERSION="0.161.0"    # core beta modules and the builder (stable modules: v1.67.0); see ocb-manifest.yaml
MIN_GO="1.26"                # core and contrib v0.161.0 declare `go 1.26.0`

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MANIFEST="${SCRIPT_DIR}/ocb-manifest.yaml"

log() { printf '[build_collector] %s\n' "$*" >&2; }
die() { printf '[build_collector] ERROR: %s\n' "$*" >&2; exit 1; }

mode="build"
case "${1:-}" in
  "") ;;
  --print-path) mode="print" ;;
  --force) mode="force" ;;
  -h|--help) sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) die "unknown argument: $1 (try --help)" ;;
esac

[[ -f "${MANIFEST}" ]] || die "manifest not found: ${MANIFEST}"

hash_file() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -c1-10
  else shasum -a 256 "$1" | cut -c1-10
  fi
}

CACHE_ROOT="${CREWSCOPE_CACHE:-${HOME:?neither CREWSCOPE_CACHE nor HOME is set}/.cache/crewscope}"
VERSION_DIR="${CACHE_ROOT}/otelcol/${OTELCOL_VERSION}-$(hash_file "${MANIFEST}")"
BINARY="${VERSION_DIR}/otelcol-crewscope"

if [[ "${mode}" == "print" ]]; then
  echo "${BINARY}"
  exit 0
fi
if [[ "${mode}" == "build" && -x "${BINARY}" ]]; then
  log "cached: ${BINARY}"
  echo "${BINARY}"
  exit 0
fi

# --- Go toolchain -----------------------------------------------------------
if ! command -v go >/dev/null 2>&1; then
  if [[ -x /usr/local/go/bin/go ]]; then
    export PATH="/usr/local/go/bin:${PATH}"
  else
    die "Go is not installed (no 'go' on PATH). Install Go >= ${MIN_GO} from https://go.dev/dl/ \
and re-run, or use the official otelcol-contrib binary instead (see README, 'OpenTelemetry Collector')."
  fi
fi
go_version="$(go env GOVERSION)"                 # e.g. go1.26.8
go_mm="$(printf '%s' "${go_version#go}" | cut -d. -f1,2)"
if [[ -z "${GOTOOLCHAIN:-}" ]] && \
   [[ "$(printf '%s\n%s\n' "${MIN_GO}" "${go_mm}" | sort -V | head -n1)" != "${MIN_GO}" ]]; then
  die "${go_version} is too old: the Collector ${OTELCOL_VERSION} modules need Go >= ${MIN_GO}. \
Upgrade Go, or let Go fetch a toolchain through the module proxy: GOTOOLCHAIN=go${MIN_GO}.0+auto $0"
fi

# Module downloads go to the usual Go module cache (shared with your other builds)
# unless GOMODCACHE says otherwise; -modcacherw keeps it deletable without chmod.
export GOMODCACHE="${GOMODCACHE:-$(go env GOMODCACHE)}"
export GOFLAGS="${GOFLAGS:+${GOFLAGS} }-modcacherw -buildvcs=false"
export CGO_ENABLED=0

mkdir -p "${VERSION_DIR}"

# One build at a time per version directory (parallel test sessions, CI jobs).
if command -v flock >/dev/null 2>&1; then
  exec 9>"${VERSION_DIR}/.lock"
  if ! flock -n 9; then
    log "another build is running; waiting for it ..."
    flock 9
  fi
  if [[ "${mode}" == "build" && -x "${BINARY}" ]]; then
    log "built meanwhile by another process: ${BINARY}"
    echo "${BINARY}"
    exit 0
  fi
fi

start=$(date +%s)
log "using ${go_version} ($(command -v go)), GOMODCACHE=${GOMODCACHE}"

# --- the builder, installed at the pinned version into the cache ---------------
BUILDER="${CACHE_ROOT}/otelcol/tools/builder-v${OTELCOL_VERSION}"
if [[ ! -x "${BUILDER}" ]]; then
  log "installing go.opentelemetry.io/collector/cmd/builder@v${OTELCOL_VERSION} ..."
  mkdir -p "$(dirname "${BUILDER}")"
  tools_tmp="$(mktemp -d "$(dirname "${BUILDER}")/.install.XXXXXX")"
  if ! GOBIN="${tools_tmp}" go install "go.opentelemetry.io/collector/cmd/builder@v${OTELCOL_VERSION}"; then
    rm -rf "${tools_tmp}"
    die "could not install the OpenTelemetry Collector Builder (GOPROXY=$(go env GOPROXY))"
  fi
  mv -f "${tools_tmp}/builder" "${BUILDER}"
  rm -rf "${tools_tmp}"
fi

# --- generate, fetch modules, compile ------------------------------------------
WORK="$(mktemp -d "${VERSION_DIR}/.work.XXXXXX")"
trap 'rm -rf "${WORK}"' EXIT
cp "${MANIFEST}" "${WORK}/manifest.yaml"
log "building otelcol-crewscope ${OTELCOL_VERSION} in ${WORK} (first build downloads the modules and compiles; allow several minutes) ..."
# TMPDIR inside WORK: ocb creates an (unused) default output dir under $TMPDIR on
# every run, and Go's scratch files go there too; the EXIT trap removes both.
mkdir -p "${WORK}/tmp"
if ! (cd "${WORK}" && TMPDIR="${WORK}/tmp" "${BUILDER}" --config=manifest.yaml 1>&2); then
  die "ocb failed (see the output above). Common causes: no access to the Go module proxy \
(GOPROXY=$(go env GOPROXY)), or a module version the proxy does not serve."
fi
[[ -x "${WORK}/dist/otelcol-crewscope" ]] || die "ocb finished but ${WORK}/dist/otelcol-crewscope is missing"

# Atomic publish: readers see either no binary or a complete one.
cp "${WORK}/dist/otelcol-crewscope" "${BINARY}.tmp.$$"
chmod 0755 "${BINARY}.tmp.$$"
mv -f "${BINARY}.tmp.$$" "${BINARY}"
cp "${MANIFEST}" "${VERSION_DIR}/ocb-manifest.yaml"

log "built ${BINARY} in $(( $(date +%s) - start ))s"
"${BINARY}" --version >&2 || true
echo "${BINARY}"
