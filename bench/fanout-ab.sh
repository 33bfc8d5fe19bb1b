#!/usr/bin/env bash
# Fan-out p99 of two (or more) server binaries, alternating: A B A B … (each run a fresh server
# and database), so that a change of the machine's load hits all of them alike.
#
#   ROUNDS=3 SUBSCRIBERS=1000 bash bench/fanout-ab.sh BEFORE_BIN AFTER_BIN [MORE_BINS…]
#
# Runs `fanout --subscribers SUBSCRIBERS --server BIN` (PostgreSQL + Redis; FANOUT_ARGS adds
# options) ROUNDS times for each binary, prints every run's row (named by the binary's file
# name) with the load average, then each binary's median p99 and server CPU per message.
# Needs a release `fanout` in $CARGO_TARGET_DIR (or target/).
set -euo pipefail
[ $# -ge 2 ] || { sed -n 2,10p "$0" >&2; exit 2; }
rounds=${ROUNDS:-3}
subscribers=${SUBSCRIBERS:-1000}
target=${CARGO_TARGET_DIR:-target}
fanout="$target/release/fanout"
[ -x "$fanout" ] || { echo "$fanout missing: cargo build --release -p switchboard-bench --bin fanout" >&2; exit 1; }
for bin in "$@"; do [ -x "$bin" ] || { echo "$bin is not an executable" >&2; exit 1; }; done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| round | server | subscribers | deliveries | p50 ms | p99 ms | max ms | lost | KiB per idle subscriber | server CPU ms per message | load (1 min) |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for round in $(seq 1 "$rounds"); do
  for bin in "$@"; do
    name=$(basename "$bin")
    # shellcheck disable=SC2086
    row=$("$fanout" --subscribers "$subscribers" --server "$bin" --out "$out/run.md" ${FANOUT_ARGS:-} \
      | grep "^| $subscribers |")
    echo "| $round | $name ${row} $(cut -d' ' -f1 /proc/loadavg) |"
    echo "$name $(echo "$row" | awk -F'|' '{gsub(/ /, "", $5); gsub(/ /, "", $9); print $5, $9}')" >> "$out/p99"
  done
done
median() { # column $2 of the rows of binary $1
  awk -v w="$1" -v c="$2" '$1 == w { print $c }' "$out/p99" | sort -g \
    | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
for bin in "$@"; do
  name=$(basename "$bin")
  echo "median $name: p99 $(median "$name" 2) ms, server CPU $(median "$name" 3) ms per message"
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
