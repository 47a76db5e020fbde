-- Renews a sliding entry: gives it a new header (its expiries) and a new
-- TTL, only while Redis still holds the envelope that was read, so that a
-- renewal never brings back, nor prolongs, a value written or deleted
-- since. The payload is the one Redis holds: a renewal never sends one.
-- KEYS[1]: the entry.
-- ARGV[1]: PUBLISH or SPUBLISH to announce the key after writing, or ''.
-- ARGV[2]: the channel to announce on.
-- ARGV[3]: the envelope's header as it was read.
-- ARGV[4]: the new header, as long. ARGV[5]: the new TTL in milliseconds.
-- Run twice (a client resending after a lost reply), the second run finds
-- the new header and refuses. Returns 1 renewed, 0 refused (absent,
-- another type, or another envelope).
if redis.call('TYPE', KEYS[1])['ok'] ~= 'string' then
  return 0
end
local v = redis.call('GET', KEYS[1])
local n = #ARGV[3]
if #v < n or string.sub(v, 1, n) ~= ARGV[3] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[4] .. string.sub(v, n + 1), 'PX', ARGV[5])
if ARGV[1] ~= '' then
  redis.call(ARGV[1], ARGV[2], KEYS[1])
end
return 1
