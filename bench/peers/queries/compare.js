// node compare.js <switchboard.json> <postgraphile.json> <psql-ids.txt>
// Validates one response of each server and the pgbench SQL's rows: no "errors", 20 rows,
// and the same rows on all three (Switchboard vs PostGraphile: every requested field, with
// contactType lower-cased, inbox names in contact-inbox id order, label names sorted;
// SQL: the same ids in the same order). Prints the ids; exits 1 on any difference.
const fs = require("fs");
const [sbFile, pgFile, sqlFile] = process.argv.slice(2);
const fail = (m) => { console.error("VALIDATION FAILED: " + m); process.exit(1); };
const sb = JSON.parse(fs.readFileSync(sbFile, "utf8"));
const pg = JSON.parse(fs.readFileSync(pgFile, "utf8"));
if (sb.errors) fail("switchboard errors: " + JSON.stringify(sb.errors));
if (pg.errors) fail("postgraphile errors: " + JSON.stringify(pg.errors));
const sbConn = Object.values(sb.data)[0];
const sbRows = sbConn.edges.map((e) => e.node).map((n) => ({
  ...n, contactType: n.contactType.toLowerCase(),
  ...(n.contactInboxes ? { inboxes: n.contactInboxes.map((ci) => ci.inbox.name) } : {}),
  contactInboxes: undefined,
}));
const pgRows = pg.data.allContacts.nodes.map((n) => {
  const r = { ...n };
  if (n.contactInboxesByContactIdList) r.inboxes = n.contactInboxesByContactIdList.map((ci) => ci.inboxByInboxId.name);
  if (n.contactLabelsByContactIdList) r.labels = n.contactLabelsByContactIdList.map((l) => l.name);
  delete r.contactInboxesByContactIdList; delete r.contactLabelsByContactIdList;
  return r;
});
const norm = (rows) => rows.map((r) => JSON.stringify(Object.keys(r).filter((k) => r[k] !== undefined).sort().map((k) => [k, r[k]])));
if (sbRows.length !== 20) fail(`switchboard returned ${sbRows.length} rows, not 20`);
if (pgRows.length !== 20) fail(`postgraphile returned ${pgRows.length} rows, not 20`);
const a = norm(sbRows), b = norm(pgRows);
for (let i = 0; i < 20; i++) if (a[i] !== b[i]) fail(`row ${i} differs:\n  switchboard  ${a[i]}\n  postgraphile ${b[i]}`);
const sqlIds = fs.readFileSync(sqlFile, "utf8").trim().split("\n").map((l) => l.split("|")[0]);
const ids = sbRows.map((r) => r.id);
if (sqlIds.join(",") !== ids.join(",")) fail(`SQL ids ${sqlIds.join(",")} differ from ${ids.join(",")}`);
console.log(ids.join(","));
