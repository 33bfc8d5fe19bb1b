-- wrk script: POSTs one GraphQL JSON body and validates every response.
--   wrk -t2 -c10 -d10s -s post.lua URL -- <body.json> <expected-rows> <row-marker> [authorization-header-value]
-- A response is bad if its status is not 200, if its body contains "errors", or if the
-- row marker (a field name that occurs once per row, e.g. "createdAt") does not occur
-- exactly <expected-rows> times. done() prints one RESULT line that run.sh parses.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(args[1], "rb"))
  local body = f:read("*a")
  f:close()
  expected = tonumber(args[2])
  marker = args[3]
  local headers = { ["Content-Type"] = "application/json" }
  if args[4] ~= nil and args[4] ~= "" then
    headers["Authorization"] = args[4]
  end
  req = wrk.format("POST", nil, headers, body)
  gql_errors = 0
  bad_rows = 0
  bad_status = 0
end

function request()
  return req
end

function response(status, headers, body)
  if status ~= 200 then
    bad_status = bad_status + 1
  end
  if body:find('"errors"', 1, true) then
    gql_errors = gql_errors + 1
  end
  local n, pos = 0, 1
  while true do
    local s, e = body:find(marker, pos, true)
    if not s then break end
    n = n + 1
    pos = e + 1
  end
  if n ~= expected then
    bad_rows = bad_rows + 1
  end
end

function done(summary, latency, requests)
  local ge, br, bs = 0, 0, 0
  for _, t in ipairs(threads) do
    ge = ge + t:get("gql_errors")
    br = br + t:get("bad_rows")
    bs = bs + t:get("bad_status")
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f non2xx=%d sock_errors=%d gql_errors=%d bad_rows=%d bad_status=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, e.status, e.connect + e.read + e.write + e.timeout, ge, br, bs))
end
