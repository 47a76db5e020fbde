-- multimap_get.lua: read the live values of MultiMapTTL keys.
--
-- KEYS[1..n]: the sorted sets (one per map key), scored by expiry in unix
--             milliseconds
--
-- Returns n+1 elements: for each key in order, a flat array of pairs
-- (value, expiry): the values whose expiry is after now (the server's
-- TIME), soonest expiry first; then now, in unix milliseconds (local
-- copies judge expiry by it: see local_multimap.go). Writes nothing.
-- Raises WRONGTYPE when a key holds another type.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local from = '(' .. string.format('%.0f', now)
local out = {}
for i, key in ipairs(KEYS) do
  out[i] = redis.call('ZRANGE', key, from, '+inf', 'BYSCORE', 'WITHSCORES')
end
out[#KEYS + 1] = now
return out
