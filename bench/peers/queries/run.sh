#!/usr/bin/env bash
# Issue 6, benchmark 1: "Queries vs PostGraphile".
#
# One command, from anywhere:
#
#     bench/peers/queries/run.sh
#
# It creates its own database (sb_bench_queries) on the local PostgreSQL, migrates it with
# `switchboard migrate`, seeds one account with 100,000 contacts (labels, contact inboxes),
# starts Switchboard (the existing release binary) and PostGraphile v4 (npm, pinned in
# package-lock.json, with postgraphile-plugin-connection-filter for the filter) on that
# database, validates each query once on both servers and in SQL (no errors, 20 rows, the same
# rows), then measures, alternating the peers round by round (Switchboard, PostGraphile,
# pgbench, Switchboard, PostGraphile, pgbench, …):
#   - closed-loop throughput with wrk (-t2 -c10 -d10s), every response validated by post.lua;
#   - latency p50/p99 from the same wrk runs (closed loop: see "Open loop" in RESULTS.md);
#   - the pgbench ceiling (-n -M prepared -c10 -j2 -T10) with the equivalent SQL in sql/;
#   - open-loop latency: oha at one fixed request rate for both servers (-q RATE
#     --latency-correction, so a late response delays no later request's measurement), p50 / p90
#     / p99 / max and errors, Switchboard and PostGraphile alternating; the rate is RATE, or by
#     default half the slower server's closed-loop rate in this run (both can sustain it).
#     oha cannot check bodies: one validated request before and after each oha run, every
#     status code must be 200 and no request may fail.
# It writes RESULTS.md next to this file and ../../results/queries.json (every run, the
# machine, versions and commands, for `report`), and kills the servers and drops the database
# on exit.
#
# Needs: psql, pgbench, wrk (`apt-get install -y wrk`), node + npm, curl, jq, oha (installed
# with `cargo install oha --locked --version $OHA_VERSION` when missing), and the release
# binary at $SWITCHBOARD_BIN (default ~/.cache/switchboard-target/release/switchboard).
# Knobs (environment): PGURL_BASE (postgres://postgres@localhost), BENCH_DB (sb_bench_queries),
# CONTACTS (100000), ROUNDS (2), DURATION (10s), CONNECTIONS (10), THREADS (2), WARMUP (3s),
# RATE (auto: requests/s of the open-loop phase, one number for every query),
# OPEN_FRACTION (0.5: the auto rate's share of the slower server's closed-loop rate),
# OPEN_DURATION (10s), OPEN_ROUNDS (= ROUNDS; 0 skips the open loop),
# OPEN_CONNECTIONS (50: oha's connection pool, large enough that no request waits for one),
# KEEP_DB=1 to keep the database.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"

SWITCHBOARD_BIN="${SWITCHBOARD_BIN:-$HOME/.cache/switchboard-target/release/switchboard}"
PGURL_BASE="${PGURL_BASE:-postgres://postgres@localhost}"
BENCH_DB="${BENCH_DB:-sb_bench_queries}"
CONTACTS="${CONTACTS:-100000}"
ROUNDS="${ROUNDS:-2}"
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-10}"
THREADS="${THREADS:-2}"
WARMUP="${WARMUP:-3s}"
KEEP_DB="${KEEP_DB:-0}"
RATE="${RATE:-auto}"
OPEN_FRACTION="${OPEN_FRACTION:-0.5}"
OPEN_DURATION="${OPEN_DURATION:-10s}"
OPEN_ROUNDS="${OPEN_ROUNDS:-$ROUNDS}"
OPEN_CONNECTIONS="${OPEN_CONNECTIONS:-50}"
OHA_VERSION="${OHA_VERSION:-1.16.0}"
RESULTS_JSON="${RESULTS_JSON:-$(cd "$HERE/../.." && pwd)/results/queries.json}"
QUERIES=(page page_related filter)
# Targets from the issue.
TARGET_VS_PEER=3.0     # Switchboard ≥ 3× PostGraphile's throughput
TARGET_VS_PGBENCH=0.15 # Switchboard ≥ 15 % of pgbench's rate

DB_URL="$PGURL_BASE/$BENCH_DB"
ADMIN_URL="$PGURL_BASE/postgres"
WORK="$HERE/.work"
START_TS=$(date +%s)
SB_PID=""
PG_PID=""

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

cleanup() {
  local rc=$?
  set +e
  for pid in "$SB_PID" "$PG_PID"; do
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
      kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null
      wait "$pid" 2>/dev/null
    fi
  done
  if [[ "$KEEP_DB" != 1 ]]; then
    psql -X -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" >/dev/null 2>&1
  fi
  if [[ $rc -ne 0 ]]; then
    log "failed (exit $rc); server logs kept in $WORK"
  else
    rm -rf "$WORK"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'log "command failed at line $LINENO: $BASH_COMMAND"' ERR
LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)
# Other work on the machine skews every figure; record what was busiest when the run started.
BUSY_AT_START=$(ps -eo pcpu=,comm= --sort=-pcpu | head -3 | awk '{printf "%s%s (%s%% CPU)", (NR>1?", ":""), $2, $1}')

for tool in psql pgbench wrk node npm curl jq; do
  command -v "$tool" >/dev/null || die "$tool is missing${tool/wrk/ (apt-get install -y wrk)}"
done
[[ -x "$SWITCHBOARD_BIN" ]] || die "no Switchboard binary at $SWITCHBOARD_BIN"
[[ "$RATE" == auto || "$RATE" =~ ^[0-9]+$ ]] || die "RATE must be a whole number of requests/s or auto"

rm -rf "$WORK"
mkdir -p "$WORK"

# oha (crates.io) for the open loop: wrk has no fixed-rate mode and wrk2 is not packaged.
OHA="$(command -v oha || true)"
[[ -z "$OHA" && -x "$HOME/.cargo/bin/oha" ]] && OHA="$HOME/.cargo/bin/oha"
if [[ "$OPEN_ROUNDS" -gt 0 && -z "$OHA" ]]; then
  command -v cargo >/dev/null || die "oha is missing and there is no cargo to install it"
  log "cargo install oha --locked --version $OHA_VERSION (a few minutes, once)"
  # Its own temporary target directory: a shared CARGO_TARGET_DIR would hold the build lock.
  env -u CARGO_TARGET_DIR nice -n 19 cargo install oha --locked --version "$OHA_VERSION" >"$WORK/oha-install.log" 2>&1 \
    || die "cargo install oha failed; see $WORK/oha-install.log"
  OHA="$HOME/.cargo/bin/oha"
fi

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

wait_http() { # url name
  for _ in $(seq 1 120); do
    if curl -s -o /dev/null -XPOST -H 'content-type: application/json' \
        -d '{"query":"{ __typename }"}' "$1"; then
      return 0
    fi
    sleep 0.25
  done
  die "$2 did not start; see $WORK/$2.log"
}

# ---------------------------------------------------------------------------------------------
# 1. Database: create, migrate, seed.
# ---------------------------------------------------------------------------------------------
if [[ ! -d node_modules/postgraphile ]]; then
  log "npm ci (postgraphile@4 + connection filter plugin)"
  npm ci --no-audit --no-fund >"$WORK/npm.log" 2>&1 || die "npm ci failed; see $WORK/npm.log"
fi

log "creating database $BENCH_DB"
psql -X -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" -c "CREATE DATABASE $BENCH_DB" >/dev/null

export DATABASE_URL="$DB_URL"
export JWT_SECRET="bench-queries-$(date +%s%N)"
export RUST_LOG=warn

log "switchboard migrate"
"$SWITCHBOARD_BIN" migrate >"$WORK/migrate.log" 2>&1 || die "migrate failed; see $WORK/migrate.log"

ADMIN_EMAIL=admin@bench.local
ACCOUNT_ID=$("$SWITCHBOARD_BIN" create-account --name "Bench Queries" --admin-email "$ADMIN_EMAIL" \
  --admin-password 'bench-password-1' 2>>"$WORK/migrate.log" | tail -1 | tr -d '[:space:]')
[[ "$ACCOUNT_ID" =~ ^[0-9]+$ ]] || die "create-account printed '$ACCOUNT_ID'"
log "account $ACCOUNT_ID; seeding $CONTACTS contacts"
seed_start=$(date +%s)
psql -X -q "$DB_URL" -v ON_ERROR_STOP=1 -v acct="$ACCOUNT_ID" -v n="$CONTACTS" -f sql/seed.sql >"$WORK/seed.log" 2>&1 \
  || die "seeding failed; see $WORK/seed.log"
SEED_SECS=$(( $(date +%s) - seed_start ))
read -r N_CONTACTS N_LABELS N_INBOXES < <(psql -X -At -F ' ' "$DB_URL" -c \
  "SELECT (SELECT count(*) FROM contacts), (SELECT count(*) FROM contact_labels), (SELECT count(*) FROM contact_inboxes)")
log "seeded in ${SEED_SECS}s: $N_CONTACTS contacts, $N_LABELS contact labels, $N_INBOXES contact inboxes"
[[ "$N_CONTACTS" == "$CONTACTS" ]] || die "expected $CONTACTS contacts, found $N_CONTACTS"

# ---------------------------------------------------------------------------------------------
# 2. Servers.
# ---------------------------------------------------------------------------------------------
SB_PORT=$(free_port)
SB_URL="http://127.0.0.1:$SB_PORT/graphql"
log "starting Switchboard on $SB_PORT"
LISTEN_ADDR="127.0.0.1:$SB_PORT" setsid "$SWITCHBOARD_BIN" serve >"$WORK/switchboard.log" 2>&1 &
SB_PID=$!
wait_http "$SB_URL" switchboard
TOKEN=$("$SWITCHBOARD_BIN" token --email "$ADMIN_EMAIL" 2>>"$WORK/migrate.log" | tail -1 | tr -d '[:space:]')
[[ -n "$TOKEN" ]] || die "switchboard token printed nothing"
AUTH="Bearer $TOKEN"

PG_PORT=$(free_port)
PG_URL="http://127.0.0.1:$PG_PORT/graphql"
PG_ARGS=(-c "$DB_URL" --schema public --host 127.0.0.1 --port "$PG_PORT"
  --disable-default-mutations --dynamic-json --no-setof-functions-contain-nulls
  --simple-collections both --append-plugins postgraphile-plugin-connection-filter
  --disable-query-log)
log "starting PostGraphile on $PG_PORT"
NODE_ENV=production setsid node node_modules/.bin/postgraphile "${PG_ARGS[@]}" >"$WORK/postgraphile.log" 2>&1 &
PG_PID=$!
wait_http "$PG_URL" postgraphile

# ---------------------------------------------------------------------------------------------
# 3. Queries: build the JSON bodies and validate each once on both servers and in SQL.
# ---------------------------------------------------------------------------------------------
body() { # graphql-file -> JSON body on stdout
  sed "s/__ACCOUNT_ID__/$ACCOUNT_ID/g" "$1" | jq -Rs '{query: .}' -c
}
declare -A IDS
for q in "${QUERIES[@]}"; do
  body "graphql/switchboard.$q.graphql" >"$WORK/sb.$q.json"
  body "graphql/postgraphile.$q.graphql" >"$WORK/pg.$q.json"
  curl -sf -XPOST "$SB_URL" -H "authorization: $AUTH" -H 'content-type: application/json' \
    --data-binary @"$WORK/sb.$q.json" >"$WORK/sb.$q.out" || die "$q: Switchboard request failed"
  curl -sf -XPOST "$PG_URL" -H 'content-type: application/json' \
    --data-binary @"$WORK/pg.$q.json" >"$WORK/pg.$q.out" || die "$q: PostGraphile request failed"
  psql -X -At -v ON_ERROR_STOP=1 -v acct="$ACCOUNT_ID" -f "sql/$q.sql" "$DB_URL" >"$WORK/sql.$q.out"
  IDS[$q]=$(node compare.js "$WORK/sb.$q.out" "$WORK/pg.$q.out" "$WORK/sql.$q.out") \
    || die "$q: validation failed (responses in $WORK)"
  log "validated $q: 20 identical rows on Switchboard, PostGraphile and SQL (ids ${IDS[$q]:0:40}…)"
done

# ---------------------------------------------------------------------------------------------
# 4. Load, alternating the peers.
# ---------------------------------------------------------------------------------------------
# Each run appends one line to $WORK/runs.tsv: query round peer rps p50_ms p99_ms requests.
: >"$WORK/runs.tsv"

run_wrk() { # query round peer duration record
  local q=$1 round=$2 peer=$3 dur=$4 record=$5 url auth="" out line
  if [[ $peer == switchboard ]]; then url=$SB_URL; auth=$AUTH; else url=$PG_URL; fi
  local file="$WORK/pg.$q.json"
  [[ $peer == switchboard ]] && file="$WORK/sb.$q.json"
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$dur" --timeout 10s -s post.lua "$url" -- \
    "$file" 20 '"createdAt"' "$auth")
  echo "$out" >>"$WORK/wrk.log"
  line=$(grep '^RESULT ' <<<"$out") || die "$q/$peer: no RESULT line from wrk"
  local kv; declare -A r
  for kv in ${line#RESULT }; do r[${kv%%=*}]=${kv#*=}; done
  if (( r[non2xx] + r[sock_errors] + r[gql_errors] + r[bad_rows] + r[bad_status] > 0 )) || (( r[requests] == 0 )); then
    die "$q/$peer round $round: invalid responses: $line"
  fi
  if [[ $record == 1 ]]; then
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$q" "$round" "$peer" "${r[rps]}" "${r[p50_ms]}" "${r[p99_ms]}" "${r[requests]}" >>"$WORK/runs.tsv"
    log "$q round $round $peer: ${r[rps]} req/s, p50 ${r[p50_ms]} ms, p99 ${r[p99_ms]} ms (${r[requests]} requests, all valid)"
  fi
}

run_pgbench() { # query round
  local q=$1 round=$2 out tps failed txs
  out=$(pgbench -n -M prepared -c"$CONNECTIONS" -j"$THREADS" -T"${DURATION%s}" -D acct="$ACCOUNT_ID" \
    -f "sql/$q.sql" "$DB_URL" 2>&1) || die "$q: pgbench failed: $out"
  echo "$out" >>"$WORK/pgbench.log"
  tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' <<<"$out")
  failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' <<<"$out")
  txs=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
  [[ -n "$tps" ]] || die "$q: no tps in pgbench output: $out"
  [[ "${failed:-0}" == 0 ]] || die "$q: pgbench reported $failed failed transactions"
  local lat; lat=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' <<<"$out")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$q" "$round" pgbench "$tps" "${lat:-}" "" "$txs" >>"$WORK/runs.tsv"
  log "$q round $round pgbench: $tps tps (avg latency ${lat:-?} ms, $txs transactions)"
}

# Checks one response of a server with the query's body: status 200, no "errors", 20 rows.
check_one() { # query peer when
  local q=$1 peer=$2 when=$3 url file out n auth=()
  if [[ $peer == switchboard ]]; then url=$SB_URL; file="$WORK/sb.$q.json"; auth=(-H "authorization: $AUTH")
  else url=$PG_URL; file="$WORK/pg.$q.json"; fi
  out=$(curl -sf -XPOST "$url" "${auth[@]}" -H 'content-type: application/json' --data-binary @"$file") \
    || die "$q/$peer: validation request $when the open-loop run failed"
  n=$(grep -o '"createdAt"' <<<"$out" | wc -l)
  if grep -q '"errors"' <<<"$out" || [[ $n != 20 ]]; then
    die "$q/$peer: bad response $when the open-loop run ($n rows): ${out:0:300}"
  fi
}

# Each run appends one line to $WORK/open.tsv:
# query round peer rate requests rps p50_ms p90_ms p99_ms max_ms errors.
: >"$WORK/open.tsv"

run_oha() { # query round peer rate
  local q=$1 round=$2 peer=$3 rate=$4 url file hdr=() out
  if [[ $peer == switchboard ]]; then url=$SB_URL; file="$WORK/sb.$q.json"; hdr=(-H "authorization: $AUTH")
  else url=$PG_URL; file="$WORK/pg.$q.json"; fi
  check_one "$q" "$peer" before
  out="$WORK/oha.$q.$round.$peer.json"
  "$OHA" --no-tui --output-format json -z "$OPEN_DURATION" -q "$rate" --latency-correction \
    -c "$OPEN_CONNECTIONS" -t 10s -m POST -T application/json "${hdr[@]}" -D "$file" "$url" >"$out" 2>>"$WORK/oha.log" \
    || die "$q/$peer: oha failed; see $WORK/oha.log"
  check_one "$q" "$peer" after
  # Requests that the -z deadline cut short are not failures (oha counts them apart).
  local line
  line=$(jq -r --arg q "$q" --arg round "$round" --arg peer "$peer" --arg rate "$rate" '
    def ms: if . == null then "" else . * 1000 * 1000 | round / 1000 | tostring end;
    [ (.statusCodeDistribution // {} | to_entries | map(.value) | add // 0) ] as [$responses]
    | [ (.statusCodeDistribution // {} | to_entries | map(select(.key != "200") | .value) | add // 0) ] as [$non200]
    | [ (.errorDistribution // {} | to_entries | map(select(.key | test("deadline") | not) | .value) | add // 0) ] as [$errors]
    | [$q, $round, $peer, $rate, $responses, (.summary.requestsPerSec * 10 | round / 10),
       (.latencyPercentiles.p50 | ms), (.latencyPercentiles.p90 | ms), (.latencyPercentiles.p99 | ms),
       (.summary.slowest | ms), ($non200 + $errors)] | map(tostring) | join("\t")' "$out") \
    || die "$q/$peer: cannot read oha output $out"
  echo "$line" >>"$WORK/open.tsv"
  local -a f; IFS=$'\t' read -r -a f <<<"$line"
  (( f[4] > 0 )) || die "$q/$peer round $round: oha completed no request ($out)"
  (( f[10] == 0 )) || die "$q/$peer round $round: ${f[10]} failed or non-200 requests ($out)"
  log "$q open loop round $round $peer at $rate req/s: p50 ${f[6]} ms, p90 ${f[7]} ms, p99 ${f[8]} ms, max ${f[9]} ms (${f[4]} requests, ${f[5]} req/s, 0 errors)"
}

declare -A OPEN_RATE
for q in "${QUERIES[@]}"; do
  log "$q: warm-up ($WARMUP each, not recorded)"
  run_wrk "$q" 0 switchboard "$WARMUP" 0
  run_wrk "$q" 0 postgraphile "$WARMUP" 0
  for round in $(seq 1 "$ROUNDS"); do
    run_wrk "$q" "$round" switchboard "$DURATION" 1
    sleep 1
    run_wrk "$q" "$round" postgraphile "$DURATION" 1
    sleep 1
    run_pgbench "$q" "$round"
    sleep 1
  done
  (( OPEN_ROUNDS > 0 )) || continue
  if [[ $RATE == auto ]]; then
    # Half (OPEN_FRACTION) the slower server's mean closed-loop rate, rounded down to 10.
    OPEN_RATE[$q]=$(awk -F'\t' -v q="$q" -v f="$OPEN_FRACTION" '
      $1==q && $3!="pgbench" {s[$3]+=$4; n[$3]++}
      END {m=-1; for (p in s) {r=s[p]/n[p]; if (m<0 || r<m) m=r}; r=int(m*f/10)*10; print (r<10 ? 10 : r)}' "$WORK/runs.tsv")
  else
    OPEN_RATE[$q]=$RATE
  fi
  log "$q: open loop at ${OPEN_RATE[$q]} req/s, $OPEN_DURATION per run"
  for round in $(seq 1 "$OPEN_ROUNDS"); do
    run_oha "$q" "$round" switchboard "${OPEN_RATE[$q]}"
    sleep 1
    run_oha "$q" "$round" postgraphile "${OPEN_RATE[$q]}"
    sleep 1
  done
done

# ---------------------------------------------------------------------------------------------
# 5. RESULTS.md
# ---------------------------------------------------------------------------------------------
mean() { # query peer column(4=rps,5=p50,6=p99)
  awk -F'\t' -v q="$1" -v p="$2" -v c="$3" '$1==q && $3==p {s+=$c; n++} END {if (n) printf "%.1f", s/n; else print "n/a"}' "$WORK/runs.tsv"
}
meanf() { awk -F'\t' -v q="$1" -v p="$2" -v c="$3" '$1==q && $3==p {s+=$c; n++} END {if (n) printf "%.2f", s/n}' "$WORK/runs.tsv"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a/b}'; }
verdict() { awk -v x="$1" -v t="$2" 'BEGIN {print (x >= t) ? "**met**" : "**missed**"}'; }

PG_VERSION=$(psql -X -At "$DB_URL" -c 'SHOW server_version')
PGBENCH_VERSION=$(pgbench --version)
WRK_VERSION=$( (wrk --version 2>&1 || true) | head -1 | awk '{print $1, $2}')
POSTGRAPHILE_VERSION=$(node -p 'require("./node_modules/postgraphile/package.json").version')
FILTER_PLUGIN_VERSION=$(node -p 'require("./node_modules/postgraphile-plugin-connection-filter/package.json").version')
OHA_VERSION_RUN=$( [[ -n "$OHA" ]] && "$OHA" --version 2>/dev/null | head -1 || echo "oha not used")
SB_VERSION=$("$SWITCHBOARD_BIN" --version)
TOTAL_SECS=$(( $(date +%s) - START_TS ))
GIT_REV=$(git -C "$HERE" rev-parse --short HEAD 2>/dev/null || echo unknown)

{
  echo "# Queries vs PostGraphile (issue 6, benchmark 1)"
  echo
  echo "Written by \`bench/peers/queries/run.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC') (total run time ${TOTAL_SECS}s)."
  echo
  echo "## Machine and versions"
  echo
  echo "- $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) RAM; load average at the start: $LOAD_AT_START, at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  if awk -v l="${LOAD_AT_START%% *}" -v n="$(nproc)" 'BEGIN {exit !(l > n / 2)}'; then
    echo "- **The machine was not idle**: load average ${LOAD_AT_START%% *} on $(nproc) cores when the run started (busiest processes then, by CPU share over their lifetime: $BUSY_AT_START). All figures are noisy; the ratios, measured side by side and alternated, are the less affected."
  fi
  echo "- Everything on this one machine: PostgreSQL, both servers, wrk and pgbench share the $(nproc) cores."
  echo "- Switchboard: \`$SB_VERSION\` (release binary \`$SWITCHBOARD_BIN\`, git $GIT_REV, working tree may have uncommitted changes), pool size 10 (default)"
  echo "- PostGraphile $POSTGRAPHILE_VERSION + postgraphile-plugin-connection-filter $FILTER_PLUGIN_VERSION, Node $(node --version), \`NODE_ENV=production\`, one process, pg pool default (10)"
  echo "- $WRK_VERSION; $PGBENCH_VERSION; PostgreSQL $PG_VERSION"
  echo
  echo "## Data"
  echo
  echo "Database \`$BENCH_DB\`, migrated with \`switchboard migrate\`, one account (id $ACCOUNT_ID) with $N_CONTACTS contacts"
  echo "(all with name, email, phone number; distinct \`created_at\`), $N_LABELS contact labels (5 labels) and"
  echo "$N_INBOXES contact inboxes (2 API inboxes); seeded with \`sql/seed.sql\` in ${SEED_SECS}s, then \`VACUUM ANALYZE\`."
  echo
  echo "## Queries"
  echo
  echo "All three are sorted by \`created_at\`, then id, so the three sides return the same 20 rows in the same order;"
  echo "the run checked this once before loading (every field of every row, Switchboard vs PostGraphile; ids vs the SQL)."
  echo
  echo "| query | Switchboard | PostGraphile | SQL (pgbench) |"
  echo "|---|---|---|---|"
  echo "| page | \`contacts(first: 20, sort: CREATED_AT ASC)\`, 8 fields | \`allContacts(first: 20, orderBy: [CREATED_AT_ASC, ID_ASC], condition: {accountId})\`, same 8 fields | \`sql/page.sql\` |"
  echo "| page_related | the same + \`contactInboxes { inbox { name } } labels\` | the same + \`contactInboxesByContactIdList(orderBy: ID_ASC) { inboxByInboxId { name } }\`, \`contactLabelsByContactIdList(orderBy: NAME_ASC) { name }\` | \`sql/page_related.sql\` (two correlated \`array_agg\` subqueries) |"
  echo "| filter | \`filterContacts(first: 20, sort: CREATED_AT ASC, filter: [{attributeKey: \"email\", filterOperator: CONTAINS, values: [\"77\"]}])\` | \`allContacts(…, filter: {email: {includesInsensitive: \"77\"}})\` (connection-filter plugin) | \`sql/filter.sql\` (\`email ILIKE '%77%'\`) |"
  echo
  echo "The exact texts are in \`graphql/\` and \`sql/\`. The 8 fields: id name email phoneNumber createdAt updatedAt blocked contactType."
  echo "Switchboard needs a bearer token (every request is authenticated and scoped to the token's account);"
  echo "PostGraphile runs without auth and is scoped by the \`condition: {accountId}\` argument instead."
  echo
  echo "## Commands"
  echo
  echo '```'
  echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION --timeout 10s -s post.lua <url> -- <body.json> 20 '\"createdAt\"' [<authorization>]"
  echo "pgbench -n -M prepared -c$CONNECTIONS -j$THREADS -T${DURATION%s} -D acct=$ACCOUNT_ID -f sql/<query>.sql $DB_URL"
  echo "NODE_ENV=production postgraphile ${PG_ARGS[*]}"
  echo "oha --no-tui --output-format json -z $OPEN_DURATION -q <rate> --latency-correction -c $OPEN_CONNECTIONS -t 10s -m POST -T application/json [-H 'authorization: …'] -D <body.json> <url>"
  echo '```'
  echo
  echo "Order: for each query a ${WARMUP} warm-up of each server (not recorded), then $ROUNDS round(s) of"
  echo "Switchboard → PostGraphile → pgbench (A B C A B C …), 1 s apart. \`post.lua\` checks every response"
  echo "(status 200, no \`\"errors\"\`, exactly 20 rows); any bad response, socket error or pgbench failure fails the run."
  echo "Every run below had 0 bad responses."
  echo
  echo "## Results"
  echo
  echo "Closed loop, $CONNECTIONS connections, mean of $ROUNDS round(s). Ratios use the means."
  echo
  echo "| query | Switchboard req/s | PostGraphile req/s | pgbench tps | Switchboard / PostGraphile (target ≥ ${TARGET_VS_PEER}×) | Switchboard / pgbench (target ≥ 15 %) | Switchboard p50 / p99 ms | PostGraphile p50 / p99 ms |"
  echo "|---|---:|---:|---:|---|---|---|---|"
  for q in "${QUERIES[@]}"; do
    sb=$(mean "$q" switchboard 4); pg=$(mean "$q" postgraphile 4); pb=$(mean "$q" pgbench 4)
    r1=$(ratio "$sb" "$pg"); r2=$(awk -v a="$sb" -v b="$pb" 'BEGIN {printf "%.4f", a/b}')
    pct=$(awk -v r="$r2" 'BEGIN {printf "%.1f %%", r*100}')
    echo "| $q | $sb | $pg | $pb | ${r1}× $(verdict "$r1" "$TARGET_VS_PEER") | $pct $(verdict "$r2" "$TARGET_VS_PGBENCH") | $(meanf "$q" switchboard 5) / $(meanf "$q" switchboard 6) | $(meanf "$q" postgraphile 5) / $(meanf "$q" postgraphile 6) |"
  done
  echo
  echo "### Every run"
  echo
  echo "| query | round | peer | req/s (tps) | p50 ms | p99 ms | requests |"
  echo "|---|---:|---|---:|---:|---:|---:|"
  awk -F'\t' '{ if ($3 == "pgbench") printf "| %s | %s | %s | %.1f | avg %s | | %s |\n", $1, $2, $3, $4, $5, $7;
                else printf "| %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7 }' "$WORK/runs.tsv"
  echo
  echo "## Open loop"
  echo
  if [[ ! -s "$WORK/open.tsv" ]]; then
    echo "Not measured in this run (OPEN_ROUNDS=0). The latencies above are wrk's **closed-loop** distribution:"
    echo "each connection waits for its response before sending the next, so they are each server's latency at"
    echo "its own saturation rate, with coordinated omission."
  else
    echo "$OHA_VERSION_RUN at one fixed rate per query for both servers (\`-q\`), $OPEN_CONNECTIONS connections,"
    echo "$OPEN_DURATION per run, $OPEN_ROUNDS round(s) alternating Switchboard → PostGraphile after that query's closed-loop"
    echo "rounds. \`--latency-correction\` measures each request from the moment the schedule says it should have"
    echo "been sent, so a slow response also counts against the requests queued behind it (no coordinated"
    echo "omission). The rate is $( [[ $RATE == auto ]] && echo "$OPEN_FRACTION × the slower server's mean closed-loop rate in this run, rounded down to 10" || echo "RATE=$RATE for every query" ), a load both can sustain."
    echo "oha does not read bodies: one request before and one after each oha run was checked (status 200, no"
    echo "\`\"errors\"\`, 20 rows), and every oha request had to return 200 without error (requests cut short by the"
    echo "end of the run are not counted). Mean of the rounds; the ratio is Switchboard / PostGraphile (lower is better)."
    echo
    echo "| query | rate req/s | Switchboard p50 / p90 / p99 / max ms | PostGraphile p50 / p90 / p99 / max ms | p50 ratio | p99 ratio | errors |"
    echo "|---|---:|---|---|---:|---:|---:|"
    for q in "${QUERIES[@]}"; do
      awk -F'\t' -v q="$q" '
        $1==q {n[$3]++; for (c=7; c<=10; c++) v[$3,c]+=$c; e+=$11; rate=$4}
        END {
          if (!n["switchboard"] || !n["postgraphile"]) exit
          for (c=7; c<=10; c++) {sb[c]=v["switchboard",c]/n["switchboard"]; pg[c]=v["postgraphile",c]/n["postgraphile"]}
          printf "| %s | %s | %.2f / %.2f / %.2f / %.2f | %.2f / %.2f / %.2f / %.2f | %.2f× | %.2f× | %d |\n",
            q, rate, sb[7], sb[8], sb[9], sb[10], pg[7], pg[8], pg[9], pg[10], sb[7]/pg[7], sb[9]/pg[9], e
        }' "$WORK/open.tsv"
    done
    echo
    echo "| query | round | peer | rate req/s | requests | achieved req/s | p50 ms | p90 ms | p99 ms | max ms | errors |"
    echo "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    awk -F'\t' '{printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11}' "$WORK/open.tsv"
  fi
  echo
  echo "pgbench's figure in the closed-loop tables is its average latency, for reference only."
} >"$HERE/RESULTS.md"

log "wrote $HERE/RESULTS.md (total ${TOTAL_SECS}s)"

# ---------------------------------------------------------------------------------------------
# 6. bench/results/queries.json, for `report` (the same runs, machine, versions and commands).
# ---------------------------------------------------------------------------------------------
mkdir -p "$(dirname "$RESULTS_JSON")"
MACHINE="$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) RAM, Linux $(uname -r); load average at the start $LOAD_AT_START, at the end $(cut -d' ' -f1-3 /proc/loadavg)" \
SB_VERSION="$SB_VERSION" GIT_REV="$GIT_REV" POSTGRAPHILE_VERSION="$POSTGRAPHILE_VERSION" \
FILTER_PLUGIN_VERSION="$FILTER_PLUGIN_VERSION" WRK_VERSION="$WRK_VERSION" PGBENCH_VERSION="$PGBENCH_VERSION" \
PG_VERSION="$PG_VERSION" OHA_VERSION_RUN="$OHA_VERSION_RUN" TOTAL_SECS="$TOTAL_SECS" \
CONTACTS="$N_CONTACTS" ROUNDS="$ROUNDS" OPEN_ROUNDS="$OPEN_ROUNDS" OPEN_RATE_RULE="$( [[ $RATE == auto ]] && echo "$OPEN_FRACTION × the slower server's closed-loop rate" || echo "RATE=$RATE" )" \
CMD_WRK="wrk -t$THREADS -c$CONNECTIONS -d$DURATION --timeout 10s -s post.lua <url> -- <body.json> 20 '\"createdAt\"' [<authorization>]" \
CMD_PGBENCH="pgbench -n -M prepared -c$CONNECTIONS -j$THREADS -T${DURATION%s} -D acct=$ACCOUNT_ID -f sql/<query>.sql $DB_URL" \
CMD_POSTGRAPHILE="NODE_ENV=production postgraphile ${PG_ARGS[*]}" \
CMD_OHA="oha --no-tui --output-format json -z $OPEN_DURATION -q <rate> --latency-correction -c $OPEN_CONNECTIONS -t 10s -m POST -T application/json [-H 'authorization: …'] -D <body.json> <url>" \
CMD_RUN="CONTACTS=$CONTACTS ROUNDS=$ROUNDS DURATION=$DURATION WARMUP=$WARMUP CONNECTIONS=$CONNECTIONS RATE=$RATE OPEN_DURATION=$OPEN_DURATION OPEN_ROUNDS=$OPEN_ROUNDS bench/peers/queries/run.sh" \
  node results.js "$WORK/runs.tsv" "$WORK/open.tsv" "$RESULTS_JSON" || die "writing $RESULTS_JSON failed"
log "wrote $RESULTS_JSON"
