#!/usr/bin/env bash
# Refresh the web UI's browser libraries from the npm registry: install the versions pinned
# in ui/package-lock.json and copy their builds and licences into
# query_api/web/static/vendor/ (committed: installs and the server never download anything).
# Run after changing a version in ui/package.json; tests/query_api/web/test_assets.py checks
# the copies against vendor/MANIFEST.json.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
(cd ui && npm ci --no-audit --no-fund --ignore-scripts)
out=query_api/web/static/vendor
rm -rf "$out" && mkdir -p "$out"
m=ui/node_modules
copy() {  # package, file in the package, name in vendor/
  cp "$m/$1/$2" "$out/$3"
}
copy preact dist/preact.mjs preact.mjs
copy preact hooks/dist/hooks.mjs preact-hooks.mjs
copy htm dist/htm.mjs htm.mjs
copy uplot dist/uPlot.iife.min.js uplot.min.js
copy uplot dist/uPlot.min.css uplot.min.css
for p in preact htm uplot; do cp "$m/$p/LICENSE" "$out/LICENSE.$p.txt"; done
# hooks import the bare name "preact"; point it at the copy beside them (no import map, which
# the page's Content-Security-Policy would have to allow as an inline script)
sed -i 's|from"preact"|from"./preact.mjs"|g' "$out/preact-hooks.mjs"
grep -q 'from"./preact.mjs"' "$out/preact-hooks.mjs"
python3 - "$out" "$m" <<'PY'
import hashlib, json, pathlib, sys
out, mods = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
owners = {"preact.mjs": "preact", "preact-hooks.mjs": "preact", "htm.mjs": "htm",
          "uplot.min.js": "uplot", "uplot.min.css": "uplot"}
files = []
for name, pkg in owners.items():
    meta = json.loads((mods / pkg / "package.json").read_text())
    files.append({"file": name, "package": pkg, "version": meta["version"],
                  "license": meta["license"], "license_file": f"LICENSE.{pkg}.txt",
                  "patched": "imports ./preact.mjs" if name == "preact-hooks.mjs" else None,
                  "sha256": hashlib.sha256((out / name).read_bytes()).hexdigest()})
(out / "MANIFEST.json").write_text(json.dumps({"files": files}, indent=2) + "\n")
PY
echo "==> vendored into $out:"; ls "$out"
