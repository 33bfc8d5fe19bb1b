// node results.js <runs.tsv> <open.tsv> <out.json>
// Writes run.sh's measurements as JSON for the `report` binary (bench/src/bin/report.rs): every
// closed-loop run (wrk; pgbench), every open-loop run (oha), and the machine, versions and
// commands, which run.sh passes in the environment.
const fs = require("fs");
const [runsFile, openFile, out] = process.argv.slice(2);
const rows = (file) =>
  fs.existsSync(file)
    ? fs.readFileSync(file, "utf8").split("\n").filter((l) => l.trim()).map((l) => l.split("\t"))
    : [];
const num = (s) => (s === undefined || s === "" ? null : Number(s));
const env = process.env;
const result = {
  written_at: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
  machine: env.MACHINE,
  command: env.CMD_RUN,
  total_secs: num(env.TOTAL_SECS),
  contacts: num(env.CONTACTS),
  rounds: num(env.ROUNDS),
  versions: {
    switchboard: `${env.SB_VERSION} (git ${env.GIT_REV})`,
    postgraphile: `${env.POSTGRAPHILE_VERSION} + postgraphile-plugin-connection-filter ${env.FILTER_PLUGIN_VERSION}`,
    node: process.version,
    wrk: env.WRK_VERSION,
    pgbench: env.PGBENCH_VERSION,
    postgresql: env.PG_VERSION,
    oha: env.OHA_VERSION_RUN,
  },
  commands: [env.CMD_WRK, env.CMD_PGBENCH, env.CMD_POSTGRAPHILE, env.CMD_OHA],
  // Closed loop. pgbench reports no percentiles: its p50/p99 are null, avg_ms its mean latency.
  runs: rows(runsFile).map(([query, round, peer, rps, p50, p99, requests]) => ({
    query,
    round: num(round),
    peer,
    req_per_s: num(rps),
    p50_ms: peer === "pgbench" ? null : num(p50),
    p99_ms: peer === "pgbench" ? null : num(p99),
    avg_ms: peer === "pgbench" ? num(p50) : null,
    requests: num(requests),
  })),
  open_loop_rate_rule: env.OPEN_RATE_RULE,
  open_loop_rounds: num(env.OPEN_ROUNDS),
  open_loop: rows(openFile).map(([query, round, peer, rate, requests, rps, p50, p90, p99, max, errors]) => ({
    query,
    round: num(round),
    peer,
    rate: num(rate),
    requests: num(requests),
    req_per_s: num(rps),
    p50_ms: num(p50),
    p90_ms: num(p90),
    p99_ms: num(p99),
    max_ms: num(max),
    errors: num(errors),
  })),
};
fs.writeFileSync(out, JSON.stringify(result, null, 2) + "\n");
