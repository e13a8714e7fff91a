#!/usr/bin/env bash
# Fetch the OpenTelemetry Collector contrib clickhouseexporter module at the version
# scripts/ocb-manifest.yaml builds into otelcol-crewscope, and print its directory.
#
# The module comes from the Go module proxy through `go mod download`, into Go's
# module cache (per machine, shared with the Collector build), so only the first run
# downloads anything. crewscope vendors the module's SQL templates in
# query_api/store/clickhouse/vendor/exporter_tables/; the tests compare them with this copy.
#
# Usage:
#   scripts/clickhouse_exporter_module.sh            print the module directory (stdout)
#   scripts/clickhouse_exporter_module.sh --version  print the pinned version only
#
# Environment: GOMODCACHE, GOPROXY, GOFLAGS as for any `go` command.
# Exit status 3 when no Go toolchain is found (callers may skip on it).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MANIFEST="${SCRIPT_DIR}/ocb-manifest.yaml"
MODULE="github.com/open-telemetry/opentelemetry-collector-contrib/exporter/clickhouseexporter"

die() { printf '[clickhouse_exporter_module] ERROR: %s\n' "$1" >&2; exit "${2:-1}"; }

[[ -f "${MANIFEST}" ]] || die "manifest not found: ${MANIFEST}"
# The one place the version is pinned: the manifest line `- gomod: <MODULE> <version>`.
version="$(sed -n "s|^[[:space:]]*- gomod:[[:space:]]*${MODULE}[[:space:]]\{1,\}\(v[^[:space:]]*\)[[:space:]]*$|\1|p" "${MANIFEST}")"
[[ -n "${version}" ]] || die "${MODULE} is not in ${MANIFEST}"
[[ "$(printf '%s\n' "${version}" | wc -l)" -eq 1 ]] || die "${MODULE} is listed more than once in ${MANIFEST}"

case "${1:-}" in
  "") ;;
  --version) echo "${version}"; exit 0 ;;
  -h|--help) sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) die "unknown argument: $1 (try --help)" ;;
esac

if ! command -v go >/dev/null 2>&1; then
  if [[ -x /usr/local/go/bin/go ]]; then
    export PATH="/usr/local/go/bin:${PATH}"
  else
    die "Go is not installed (no 'go' on PATH)" 3
  fi
fi

# Outside any module: `go mod download` of a path@version needs no go.mod.
cd "${TMPDIR:-/tmp}"
json="$(GOFLAGS="${GOFLAGS:+${GOFLAGS} }-modcacherw" go mod download -json "${MODULE}@${version}")" \
  || die "go mod download ${MODULE}@${version} failed (GOPROXY=$(go env GOPROXY))"
dir="$(printf '%s\n' "${json}" | sed -n 's/^[[:space:]]*"Dir":[[:space:]]*"\(.*\)",\{0,1\}[[:space:]]*$/\1/p')"
err="$(printf '%s\n' "${json}" | sed -n 's/^[[:space:]]*"Error":[[:space:]]*"\(.*\)",\{0,1\}[[:space:]]*$/\1/p')"
[[ -z "${err}" ]] || die "go mod download ${MODULE}@${version}: ${err}"
[[ -n "${dir}" && -d "${dir}" ]] || die "go mod download gave no module directory: ${json}"
echo "${dir}"
