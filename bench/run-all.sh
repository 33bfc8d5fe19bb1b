#!/usr/bin/env bash
# Issue 6: every benchmark in one command, then the report.
#
#     bash bench/run-all.sh
#
# 1. starts PostgreSQL and Redis when they are down (as .ci/run does) and raises the open-files
#    limit for `peers` (10,000 client sockets in its process, as many in the server's);
# 2. builds the release binaries once: cargo build --release --workspace --locked;
# 3. runs, one after another (never two at once: they share the machine's cores):
#    queries  bench/peers/queries/run.sh   (Switchboard vs PostGraphile vs pgbench, closed and
#             open loop)                    → peers/queries/RESULTS.md, results/queries.json
#    import   the `import` binary           → RESULTS-import.md, results/import.json
#    peers    the `peers` binary, every phase (memory, storm, fanout, interference)
#                                           → RESULTS-peers.md, results/peers.json
# 4. writes results/run-all.json (when, how long, which parts passed) and runs `report`, which
#    draws charts/*.svg and writes RESULTS.md from the JSON files.
#
# A part that fails does not stop the others; the script exits 1 at the end if one failed, and
# RESULTS.md marks figures older than this run.
#
# Knobs (environment):
#   ONLY=queries,import,peers   the parts to run (the build and the report always run, unless
#                               SKIP_BUILD=1; ONLY=report only redraws from the JSON files)
#   SKIP_BUILD=1                use the release binaries already built
#   QUERIES_ENV="ROUNDS=3 RATE=400"   extra environment for run.sh (its knobs: see run.sh)
#   IMPORT_ARGS="--rows 100000"       extra arguments for `import`
#   PEERS_ARGS="--rounds 2"           extra arguments for `peers`
#   PEERS_PHASES=memory,storm,fanout,interference
#   PEERS_CONNECTIONS=10000           --connections for `peers` (the open-files limit must exceed
#                                     it by 1,000)
#   BENCH_DATABASE_URL (postgres://postgres@localhost/test), REDIS_URL (redis://127.0.0.1:6379)
set -uo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/switchboard-target}"
unset RUST_BACKTRACE RUST_LIB_BACKTRACE
export CARGO_TERM_COLOR=never
ONLY="${ONLY:-queries,import,peers}"
PG_URL="${BENCH_DATABASE_URL:-postgres://postgres@localhost/test}"
REDIS="${REDIS_URL:-redis://127.0.0.1:6379}"
PEERS_PHASES="${PEERS_PHASES:-memory,storm,fanout,interference}"
PEERS_CONNECTIONS="${PEERS_CONNECTIONS:-10000}"
RELEASE="$CARGO_TARGET_DIR/release"
RESULTS="$ROOT/bench/results"
STARTED_AT=$(date -u +%Y-%m-%dT%H:%M:%SZ)
START=$SECONDS
LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)

log() { printf '\n== [%s, %ss] %s\n' "$(date +%H:%M:%S)" "$((SECONDS - START))" "$*"; }
wants() { [[ ",$ONLY," == *",$1,"* ]]; }

for part in ${ONLY//,/ }; do
  case $part in queries | import | peers | report) ;; *)
    echo "ONLY: unknown part '$part' (queries, import, peers, report)" >&2
    exit 2
    ;;
  esac
done

# --- services, as .ci/run starts them -----------------------------------------------------------
if wants queries || wants import || wants peers; then
  log "services"
  if ! pg_isready -q -h localhost; then
    echo "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
  fi
  if ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
    echo "starting Redis"
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log
  fi
  for _ in $(seq 1 30); do
    pg_isready -q -h localhost && redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break
    sleep 1
  done
  pg_isready -h localhost || exit 1
  redis-cli -h 127.0.0.1 ping || exit 1
fi

# --- open files, for peers ----------------------------------------------------------------------
if wants peers; then
  need=$((PEERS_CONNECTIONS + 1000))
  hard=$(ulimit -Hn)
  if [[ $hard != unlimited && $hard -lt 65536 ]]; then
    # Root may raise the hard limit; elsewhere this fails quietly and the check below speaks.
    ulimit -Hn 65536 2>/dev/null && hard=65536
  fi
  ulimit -Sn "$hard" 2>/dev/null || true
  soft=$(ulimit -Sn)
  echo "open files limit: $soft (peers needs $need for --connections $PEERS_CONNECTIONS)"
  if [[ $soft != unlimited && $soft -lt $need ]]; then
    echo "warning: the open-files limit $soft is below $need; peers will refuse to run" \
      "(run as root, or lower PEERS_CONNECTIONS)" >&2
  fi
fi

# --- build --------------------------------------------------------------------------------------
BUILD_SECS=null
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  log "cargo build --release --workspace --locked"
  build_start=$SECONDS
  cargo build --release --workspace --locked || {
    echo "the build failed" >&2
    exit 1
  }
  BUILD_SECS=$((SECONDS - build_start))
fi

# --- the benchmarks -----------------------------------------------------------------------------
PARTS_JSON=""
FAILED=0
run_part() { # name command...
  local name=$1 part_start=$SECONDS status=ok
  shift
  log "$name: $*"
  if ! "$@"; then
    status=failed
    FAILED=1
    echo "$name failed; continuing with the other parts" >&2
  fi
  local secs=$((SECONDS - part_start))
  log "$name: $status in ${secs}s"
  PARTS_JSON+="${PARTS_JSON:+,}{\"name\":\"$name\",\"status\":\"$status\",\"secs\":$secs}"
}

if wants queries; then
  # shellcheck disable=SC2086 # QUERIES_ENV is a list of NAME=value words
  run_part queries env SWITCHBOARD_BIN="$RELEASE/switchboard" PGURL_BASE="${PG_URL%/*}" \
    ${QUERIES_ENV:-} bash bench/peers/queries/run.sh
fi
if wants import; then
  # shellcheck disable=SC2086 # IMPORT_ARGS is a list of arguments
  run_part import "$RELEASE/import" --server "$PG_URL" ${IMPORT_ARGS:-}
fi
if wants peers; then
  # shellcheck disable=SC2086 # PEERS_ARGS is a list of arguments
  run_part peers "$RELEASE/peers" --phases "$PEERS_PHASES" --connections "$PEERS_CONNECTIONS" \
    --postgres "$PG_URL" --redis "$REDIS" ${PEERS_ARGS:-}
fi

# --- run-all.json and the report ----------------------------------------------------------------
TOTAL_SECS=$((SECONDS - START))
if wants queries || wants import || wants peers; then
  mkdir -p "$RESULTS"
  MACHINE="$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) RAM, Linux $(uname -r); load average at the start $LOAD_AT_START, at the end $(cut -d' ' -f1-3 /proc/loadavg)"
  jq -n --arg started "$STARTED_AT" --arg finished "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    --arg command "ONLY=$ONLY bench/run-all.sh" --arg machine "$MACHINE" \
    --arg git "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . 2>/dev/null || echo ' + uncommitted changes')" \
    --argjson total "$TOTAL_SECS" --argjson build "$BUILD_SECS" --argjson parts "[$PARTS_JSON]" \
    '{started_at: $started, finished_at: $finished, command: $command, machine: $machine,
      git: $git, total_secs: $total, build_secs: $build, parts: $parts}' >"$RESULTS/run-all.json"
fi
log "report"
"$RELEASE/report" || FAILED=1
log "done: ${TOTAL_SECS}s for the benchmarks (parts: ${ONLY}), report in bench/RESULTS.md"
exit $FAILED
