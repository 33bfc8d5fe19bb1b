//! The Lua scripts of the Redis history (docs/design.md §3). Each runs atomically, so a
//! position is assigned, the event appended to the account's stream and published in one step:
//! an event is in the history if and only if it was published.
//!
//! Keys (hash-tagged by account, so both live on one Redis Cluster slot):
//! - `<prefix>:{a<account>}:meta`, a hash: `epoch` (hex; a new one whenever the hash is missing,
//!   i.e. the history was lost) and `offset` (the latest event's);
//! - `<prefix>:{a<account>}:log`, a stream whose entry ids are `<offset>-0` and whose entries hold
//!   `t` (Redis time, ms) and `e` (the event's JSON);
//! - `<prefix>:{a<account>}:sent:<publish id>`, the position an event was given, kept as long as
//!   the history keeps events: publishing the same event again (a retry after an answer that
//!   never came, an outbox row drained twice) returns that position and appends nothing.

/// KEYS: meta, log, sent. ARGV: event JSON, length, TTL ms, metadata TTL ms, channel, account
/// id, `~` or `=` (approximate trimming for long histories). Returns the position: the one given
/// earlier, with nothing appended or published, when `sent` names this event already.
pub const PUBLISH: &str = r#"
local meta, log, sent = KEYS[1], KEYS[2], KEYS[3]
local earlier = redis.call('GET', sent)
if earlier then return earlier end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local epoch = redis.call('HGET', meta, 'epoch')
if not epoch then
  epoch = string.format('%x%05x', tonumber(t[1]), tonumber(t[2]))
  redis.call('HSET', meta, 'epoch', epoch, 'offset', 0)
  redis.call('DEL', log)
end
local offset = redis.call('HINCRBY', meta, 'offset', 1)
redis.call('XADD', log, 'MAXLEN', ARGV[7], ARGV[2], offset .. '-0', 't', now, 'e', ARGV[1])
local cutoff = now - tonumber(ARGV[3])
for _ = 1, 64 do
  local oldest = redis.call('XRANGE', log, '-', '+', 'COUNT', 1)
  if #oldest == 0 or tonumber(oldest[1][2][2]) >= cutoff then break end
  redis.call('XDEL', log, oldest[1][1])
end
redis.call('PEXPIRE', log, ARGV[3])
redis.call('PEXPIRE', meta, ARGV[4])
local position = ARGV[6] .. ':' .. epoch .. ':' .. offset
redis.call('SET', sent, position, 'PX', ARGV[3])
redis.call('PUBLISH', ARGV[5], '{"position":"' .. position .. '",' .. string.sub(ARGV[1], 2))
return position
"#;

/// KEYS: meta, log. ARGV: metadata TTL ms. Returns `{epoch, offset}`, starting an epoch if the
/// account has none (so that a subscriber always holds a position it can resume from).
pub const HEAD: &str = r#"
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  local t = redis.call('TIME')
  epoch = string.format('%x%05x', tonumber(t[1]), tonumber(t[2]))
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'offset', 0)
  redis.call('DEL', KEYS[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return {epoch, tostring(redis.call('HGET', KEYS[1], 'offset'))}
"#;

/// KEYS: meta, log. ARGV: epoch, offset after which to read, count. Returns `{'expired'}`,
/// `{'unknown'}` (an offset beyond the head), or `{'ok', head, offset1, json1, offset2, …}`.
pub const READ: &str = r#"
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if epoch ~= ARGV[1] then return {'expired'} end
local head = tonumber(redis.call('HGET', KEYS[1], 'offset'))
local after = tonumber(ARGV[2])
if after > head then return {'unknown'} end
if after == head then return {'ok', tostring(head)} end
local entries = redis.call('XRANGE', KEYS[2], '(' .. ARGV[2] .. '-0', '+', 'COUNT', ARGV[3])
if #entries == 0 then return {'expired'} end
if tonumber(string.match(entries[1][1], '^%d+')) ~= after + 1 then return {'expired'} end
local out = {'ok', tostring(head)}
for _, entry in ipairs(entries) do
  out[#out + 1] = string.match(entry[1], '^%d+')
  out[#out + 1] = entry[2][4]
end
return out
"#;
