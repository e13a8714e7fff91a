#!/usr/bin/env bash
# Build Jaeger v2 (github.com/jaegertracing/jaeger/cmd/jaeger, pinned below) from the
# Go module proxy, for tests/collector/test_jaeger.py and for trying crewscope's
# Collector fan-out to Jaeger by hand. The binary is cached once per machine:
#
#   ${CREWSCOPE_CACHE:-$HOME/.cache/crewscope}/jaeger/<version>/jaeger
#
# Jaeger's go.mod has a replace directive, so `go install ...@version` refuses it;
# the script downloads the module source (`go mod download`), copies it out of the
# read-only module cache and runs `go build ./cmd/jaeger` there, with Jaeger's own
# go.mod and go.sum (the exact dependency versions of the release).
# The module zip carries no built Jaeger UI (a git submodule upstream), so the binary
# serves Jaeger's placeholder page at / ; the query APIs (/api/traces, /api/v3/...)
# are all there. When the binary already exists the script prints its path and exits.
#
# Usage:
#   scripts/build_jaeger.sh               build if needed; last stdout line = binary path
#   scripts/build_jaeger.sh --print-path  print where the binary is (or would be); no build
#   scripts/build_jaeger.sh --force       rebuild even if the binary exists
#
# Environment:
#   CREWSCOPE_CACHE   cache root (default: $HOME/.cache/crewscope)
#   GOMODCACHE        Go module cache (default: Go's own, shared with your other builds)
#   GOTOOLCHAIN       honoured if set; otherwise Go's default applies
#   GOFLAGS           passed on (e.g. GOFLAGS=-p=1 on a small or busy machine)
#
# Progress goes to stderr; stdout carries only the binary path.
set -euo pipefail

JAEGER_MODULE="github.com/jaegertracing/jaeger"
JAEGER_VERSION="1.76.0"      # v1.x tags carry the v2 binary cmd/jaeger (Jaeger v2.x release line)
MIN_GO="1.24"                # jaeger v1.76.0 go.mod: `go 1.24.6` (toolchain go1.25.4)

log() { printf '[build_jaeger] %s\n' "$*" >&2; }
die() { printf '[build_jaeger] ERROR: %s\n' "$*" >&2; exit 1; }

mode="build"
case "${1:-}" in
  "") ;;
  --print-path) mode="print" ;;
  --force) mode="force" ;;
  -h|--help) sed -n '2,27p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) die "unknown argument: $1 (try --help)" ;;
esac

CACHE_ROOT="${CREWSCOPE_CACHE:-${HOME:?neither CREWSCOPE_CACHE nor HOME is set}/.cache/crewscope}"
VERSION_DIR="${CACHE_ROOT}/jaeger/${JAEGER_VERSION}"
BINARY="${VERSION_DIR}/jaeger"

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
    die "Go is not installed (no 'go' on PATH). Install Go >= ${MIN_GO} from https://go.dev/dl/ and re-run."
  fi
fi
go_version="$(go env GOVERSION)"                 # e.g. go1.26.8
go_mm="$(printf '%s' "${go_version#go}" | cut -d. -f1,2)"
if [[ -z "${GOTOOLCHAIN:-}" ]] && \
   [[ "$(printf '%s\n%s\n' "${MIN_GO}" "${go_mm}" | sort -V | head -n1)" != "${MIN_GO}" ]]; then
  die "${go_version} is too old: Jaeger v${JAEGER_VERSION} needs Go >= ${MIN_GO}. \
Upgrade Go, or let Go fetch a toolchain through the module proxy: GOTOOLCHAIN=go${MIN_GO}.6+auto $0"
fi

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

WORK="$(mktemp -d "${VERSION_DIR}/.work.XXXXXX")"
trap 'chmod -R u+w "${WORK}" 2>/dev/null; rm -rf "${WORK}"' EXIT
trap 'exit 143' INT TERM   # so the EXIT trap cleans up when the build is interrupted too
mkdir -p "${WORK}/tmp"
export TMPDIR="${WORK}/tmp"

# --- source of the pinned release, from the module proxy ------------------------
log "downloading ${JAEGER_MODULE}@v${JAEGER_VERSION} ..."
# `go mod download -json` prints the module's directory in the module cache ("Dir").
# Run it outside any module so a go.mod in the caller's directory has no say.
if ! dl_json="$(cd "${WORK}/tmp" && GOFLAGS=-modcacherw go mod download -json "${JAEGER_MODULE}@v${JAEGER_VERSION}")"; then
  die "could not download ${JAEGER_MODULE}@v${JAEGER_VERSION} (GOPROXY=$(go env GOPROXY)): ${dl_json}"
fi
src_dir="$(printf '%s\n' "${dl_json}" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
[[ -n "${src_dir}" && -f "${src_dir}/go.mod" ]] || die "no module directory in: ${dl_json}"

cp -R "${src_dir}" "${WORK}/src"
chmod -R u+w "${WORK}/src"

# --- compile --------------------------------------------------------------------
# The same -X build-info flags as Jaeger's Makefile (scripts/makefiles/BuildInfo.mk),
# so `jaeger version` reports the release instead of an empty version.
vpkg="${JAEGER_MODULE}/internal/version"
ldflags="-s -w -X ${vpkg}.latestVersion=v${JAEGER_VERSION} -X ${vpkg}.commitSHA=module-proxy \
-X ${vpkg}.date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
log "building jaeger v${JAEGER_VERSION} in ${WORK} (first build downloads the modules and compiles; allow several minutes) ..."
if ! (cd "${WORK}/src" && go build -trimpath -ldflags "${ldflags}" -o "${WORK}/jaeger" ./cmd/jaeger 1>&2); then
  die "go build failed (see the output above). Common causes: no access to the Go module proxy \
(GOPROXY=$(go env GOPROXY)), or too little memory (try GOFLAGS=-p=1)."
fi
[[ -x "${WORK}/jaeger" ]] || die "go build finished but ${WORK}/jaeger is missing"

# Atomic publish: readers see either no binary or a complete one.
cp "${WORK}/jaeger" "${BINARY}.tmp.$$"
chmod 0755 "${BINARY}.tmp.$$"
mv -f "${BINARY}.tmp.$$" "${BINARY}"

log "built ${BINARY} in $(( $(date +%s) - start ))s"
"${BINARY}" version >&2 || true
echo "${BINARY}"
