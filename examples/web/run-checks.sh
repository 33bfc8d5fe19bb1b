#!/usr/bin/env bash
# Frontend, browser and GraphQL-over-HTTP checks against a live Switchboard server
# (examples/web/README.md). Usage:
#
#   bash examples/web/run-checks.sh [PATH/TO/switchboard]
#
# The binary defaults to the debug build in $CARGO_TARGET_DIR (or ~/.cache/switchboard-target).
# Starts it on a free port with a throwaway SQLite database, creates an account, then runs:
# codegen + tsc, the TypeScript client, the resuming client (src/resume.ts) across dropped
# connections, GraphiQL in Chromium, and graphql-http's audit.
# Exits non-zero if any of them fails (all of them run either way).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
SERVER="${1:-${CARGO_TARGET_DIR:-$HOME/.cache/switchboard-target}/debug/switchboard}"
CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
ADMIN_EMAIL="admin@acme.test"
ADMIN_PASSWORD="correct horse battery"
ADMIN_NAME="Ada Admin"
GENERATED="src/generated/graphql.ts"

START=$SECONDS
step() { printf '\n== %s (%ss)\n' "$1" "$((SECONDS - START))"; }

case "$SERVER" in /*) ;; *) SERVER="$PWD/$SERVER" ;; esac
if [[ ! -x "$SERVER" ]]; then
  echo "no server binary at $SERVER: build it with" >&2
  echo "  CARGO_TARGET_DIR=\$HOME/.cache/switchboard-target cargo build --bin switchboard" >&2
  exit 2
fi
cd "$HERE"

step "prerequisites"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if ((node_major < 20)); then
  echo "Node.js 20 or newer is required (found $(node --version))" >&2
  exit 2
fi
if [[ ! -x "$CHROMIUM" ]]; then
  echo "installing chromium (no $CHROMIUM)"
  SUDO=""
  if [[ "$(id -u)" != 0 ]]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y chromium || { $SUDO apt-get update && $SUDO apt-get install -y chromium; }
fi
# npm ci when node_modules is missing or older than the lockfile (npm keeps its own copy of
# the lockfile it installed in node_modules/.package-lock.json).
if [[ ! -f node_modules/.package-lock.json ||
  package-lock.json -nt node_modules/.package-lock.json ||
  package.json -nt node_modules/.package-lock.json ]]; then
  echo "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
echo "node $(node --version), $("$CHROMIUM" --version 2>/dev/null | head -n 1)"

step "server"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/switchboard-web.XXXXXX")"
SERVER_PID=""
cleanup() {
  local status=$?
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if ((status != 0)) && [[ -f "$TMP/server.log" ]]; then
    echo "--- last lines of the server log ($TMP/server.log) ---" >&2
    tail -n 40 "$TMP/server.log" >&2 || true
  fi
  rm -rf "$TMP"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT="$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });')"
DB="sqlite://$TMP/switchboard.db?mode=rwc"
export JWT_SECRET="web-checks-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
export RUST_LOG="${RUST_LOG:-info}" NO_COLOR=1
# The embedded backends whatever the caller's environment says.
unset DATABASE_URL REDIS_URL LISTEN_ADDR
common=(--database-url "$DB" --import-dir "$TMP/imports")
ACCOUNT_ID="$("$SERVER" create-account "${common[@]}" --name Acme \
  --admin-email "$ADMIN_EMAIL" --admin-password "$ADMIN_PASSWORD" --admin-name "$ADMIN_NAME" \
  2>>"$TMP/server.log")"
TOKEN="$("$SERVER" token "${common[@]}" --email "$ADMIN_EMAIL" 2>>"$TMP/server.log")"
"$SERVER" serve "${common[@]}" --listen-addr "127.0.0.1:$PORT" >>"$TMP/server.log" 2>&1 &
SERVER_PID=$!
URL="http://127.0.0.1:$PORT"
ready=""
for _ in $(seq 1 100); do
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "the server exited while starting" >&2
    exit 1
  fi
  if node -e 'fetch(process.argv[1]).then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))' "$URL/readyz"; then
    ready=1
    break
  fi
  sleep 0.2
done
[[ -n "$ready" ]] || { echo "the server was not ready after 20 s" >&2; exit 1; }
echo "$SERVER listening on $URL (account $ACCOUNT_ID, admin $ADMIN_EMAIL)"

export SB_URL="$URL" SB_TOKEN="$TOKEN" SB_EMAIL="$ADMIN_EMAIL" SB_PASSWORD="$ADMIN_PASSWORD" \
  SB_ADMIN_NAME="$ADMIN_NAME" CHROMIUM_PATH="$CHROMIUM"
BIN="$HERE/node_modules/.bin"
failed=()

# Each check runs even when an earlier one failed; the script fails at the end.
run() {
  local name="$1"
  shift
  local began=$SECONDS
  if "$@"; then
    echo "-- $name: passed in $((SECONDS - began))s"
  else
    echo "-- $name: FAILED after $((SECONDS - began))s"
    failed+=("$name")
  fi
}

typecheck() {
  # The committed types must be what schema.graphql produces now: regenerate, type-check the
  # code against the result, then compare with the committed copy.
  local committed="$TMP/committed-graphql.ts"
  cp "$GENERATED" "$committed"
  if ! "$BIN/graphql-codegen" --config codegen.ts >"$TMP/codegen.log" 2>&1; then
    cat "$TMP/codegen.log"
    echo "codegen failed: src/operations.graphql no longer validates against schema.graphql"
    return 1
  fi
  echo "generated $GENERATED from $REPO/schema.graphql"
  "$BIN/tsc" --noEmit -p tsconfig.json || {
    echo "tsc failed: the client no longer type-checks against the generated types"
    return 1
  }
  echo "tsc --noEmit: no errors"
  if ! cmp -s "$committed" "$GENERATED"; then
    # The typed documents are one long line each: show the start of each changed line.
    diff -u "$committed" "$GENERATED" | cut -c 1-160 | head -n 60 || true
    echo "schema drift: the committed $GENERATED is not what schema.graphql generates."
    echo "It has been regenerated in place; review and commit it (npm run codegen does the same)."
    return 1
  fi
  echo "the committed $GENERATED is up to date"
}

step "1/5 codegen + tsc --noEmit"
run "codegen + tsc" typecheck

step "2/5 TypeScript client: login, graphql-ws subscriptions, messageCreated + presenceUpdated"
run "client" "$BIN/tsx" src/client.ts

step "3/5 resuming client: a cut and a frozen connection, HISTORY_EXPIRED, roomEvents"
run "resuming client" "$BIN/tsx" src/resume-check.ts

step "4/5 GraphiQL in Chromium"
run "GraphiQL browser check" "$BIN/tsx" src/graphiql.ts

step "5/5 GraphQL over HTTP audit (graphql-http)"
run "GraphQL-over-HTTP audit" "$BIN/tsx" src/audit.ts

step "done"
if ((${#failed[@]} > 0)); then
  printf 'FAILED: %s\n' "${failed[@]}"
  exit 1
fi
echo "all web checks passed"
