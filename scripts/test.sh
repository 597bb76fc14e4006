#!/usr/bin/env bash
# The test command of the README: installs what is missing, provides RabbitMQ and the MongoDB wire
# server, checks generated code is fresh, then lint, typecheck, build, unit + integration tests and
# the end-to-end suite. Ends with one line "N passed, N failed".
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

ensure_packages
# Tests get their own FerretDB port and data, so they never touch a developer's running Herald.
eval "$(HERALD_MONGO_PORT="${HERALD_TEST_MONGO_PORT:-27117}" HERALD_DATA_DIR="$ROOT/.data/test" bash scripts/infra.sh)"
export AMQP_URL MONGO_URL

log "checking generated contracts are up to date"
nx run @herald/contracts:generate --skip-nx-cache --output-style=static >/dev/null
if ! git diff --quiet -- libs/contracts/src/gen || [[ -n "$(git ls-files --others --exclude-standard libs/contracts/src/gen)" ]]; then
  git status --short -- libs/contracts/src/gen >&2
  log "libs/contracts/src/gen is stale: run 'npm run generate' and commit the result"
  exit 1
fi
buf lint

log "lint, build, typecheck"
biome check .
# Build before typecheck, and not from a cache: typecheck emits declarations only, and a build after it
# would find TypeScript's build info up to date and emit no JavaScript for the end-to-end tests to run.
nx run-many -t build --output-style=static --skip-nx-cache
nx run-many -t typecheck --output-style=static --skip-nx-cache

reports="$ROOT/.data/test/reports"
rm -rf "$reports" && mkdir -p "$reports"
status=0
log "unit and integration tests"
vitest run --reporter=default --reporter=json --outputFile.json="$reports/unit.json" || status=1
if [[ -d test/e2e ]]; then
  log "end-to-end tests"
  vitest run --root test --reporter=default --reporter=json --outputFile.json="$reports/e2e.json" || status=1
fi

node -e '
  const fs = require("fs");
  let passed = 0, failed = 0, skipped = 0;
  for (const f of fs.readdirSync(process.argv[1])) {
    const r = JSON.parse(fs.readFileSync(process.argv[1] + "/" + f, "utf8"));
    passed += r.numPassedTests; failed += r.numFailedTests; skipped += r.numPendingTests + (r.numTodoTests ?? 0);
  }
  if (passed + failed === 0) { console.log("no tests ran"); process.exit(1); }
  console.log(`${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "$reports" || status=1
exit $status
