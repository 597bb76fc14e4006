#!/usr/bin/env bash
# The test command of the README: installs what is missing, provides RabbitMQ and the MongoDB wire
# server, checks generated code is fresh, then lint, typecheck, build, unit + integration tests and
# the end-to-end suite. Ends with one line "N passed, N failed".
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

# The lock file must be complete: `npm ci` (ensure_packages) refuses one out of step with the
# package.json files, and nothing here may rewrite it, so a fresh clone installs exactly what is committed.
lock_before="$(sha256sum <package-lock.json)"
ensure_packages
if [[ "$(sha256sum <package-lock.json)" != "$lock_before" ]]; then
  git diff --stat -- package-lock.json >&2 || true
  log "installing rewrote package-lock.json: run 'npm install' and commit the lock file"
  exit 1
fi
# Tests get their own FerretDB port and data, so they never touch a developer's running Herald. A
# FerretDB this run starts is stopped when it ends, however it ends.
trap stop_started_infra EXIT
HERALD_MONGO_PORT="${HERALD_TEST_MONGO_PORT:-27117}" HERALD_DATA_DIR="$ROOT/.data/test" start_infra

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
# The shipped alert rules must load and pass their unit tests (deploy/prometheus/alerts.test.yml). The
# end-to-end tests use the same promtool to lint what the services serve on /metrics.
log "alert rules (promtool)"
promtool="$(bash scripts/promtool.sh)"
"$promtool" check rules deploy/prometheus/alerts.yml
"$promtool" test rules deploy/prometheus/alerts.test.yml
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
  # test/e2e/deploy.test.ts checks the Helm chart with these; the first build on a machine takes minutes.
  log "Kubernetes tools: helm, kubeconform, schemas (scripts/k8s-tools.sh; cached after the first build)"
  for tool in helm kubeconform schemas; do bash scripts/k8s-tools.sh path "$tool" >/dev/null || status=1; done
  ensure_chromium || status=1
  log "end-to-end tests"
  vitest run --root test --reporter=default --reporter=json --outputFile.json="$reports/e2e.json" || status=1
fi

node -e '
  const fs = require("fs");
  let passed = 0, failed = 0, skipped = 0;
  for (const f of fs.readdirSync(process.argv[1])) {
    const r = JSON.parse(fs.readFileSync(process.argv[1] + "/" + f, "utf8"));
    passed += r.numPassedTests; failed += r.numFailedTests; skipped += r.numPendingTests + (r.numTodoTests ?? 0);
    // Name every failed test again at the end, where a truncated CI log still shows it.
    for (const file of r.testResults ?? [])
      for (const t of file.assertionResults ?? [])
        if (t.status === "failed") console.log(`FAILED ${file.name.replace(process.cwd() + "/", "")} > ${t.fullName}`);
    if (r.numFailedTestSuites && !(r.testResults ?? []).some((f) => f.assertionResults?.some((t) => t.status === "failed")))
      for (const file of r.testResults ?? []) if (file.status === "failed") console.log(`FAILED ${file.name} (${(file.message ?? "").split("\n")[0]})`);
  }
  if (passed + failed === 0) { console.log("no tests ran"); process.exit(1); }
  console.log(`${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "$reports" || status=1
exit $status
