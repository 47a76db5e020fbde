-- multimap_fill.lua: fill map keys of a MultiMapTTL with their whole sets
-- of values, in one step: "create" only when none of the keys holds a live
-- value, "replace" whatever they held. The expiry rules are those of
-- multimap_add.lua: the server's clock, no value added whose expiry is not
-- after now, each key expiring with its longest-lived value.
--
-- create:
--   KEYS[1]:     this request's dedupe record (a string in the map's slot)
--   KEYS[2..n]:  the sorted sets (one per map key)
-- replace:
--   KEYS[1..n]:  the sorted sets (one per map key)
-- ARGV[1]:    "create" or "replace"
-- ARGV[2]:    "ttl" when the expiries below are durations in milliseconds
--             from now, "at" when they are unix milliseconds
-- ARGV[3]:    create: the dedupe window in milliseconds (the record's time
--             to live); replace: unused
-- ARGV[4..]:  for each sorted set, in order: the number c of its values,
--             then c pairs (expiry, value)
--
-- A key "exists" when it holds a value whose expiry is after now (expired
-- values a write has not removed yet do not count). Returns 0 when it
-- wrote; create returns i > 0, changing nothing, when the i-th sorted set
-- exists. A create that already ran (its record exists: go-redis sent it
-- again after losing the reply) returns what it returned then and changes
-- nothing. Raises WRONGTYPE, changing nothing, when a key holds another
-- type.
--
-- When it writes, each key is deleted (its expired values and its TTL
-- with it) and gets its live values; a key left without one stays
-- deleted (Redis holds no empty sorted set).
local create = ARGV[1] == 'create'
local first = 1
if create then
  first = 2
  local prev = redis.call('GET', KEYS[1])
  if prev then
    return tonumber(prev)
  end
end
for i = first, #KEYS do
  local t = redis.call('TYPE', KEYS[i])['ok']
  if t ~= 'none' and t ~= 'zset' then
    return redis.error_reply('WRONGTYPE ' .. KEYS[i] .. ' holds a ' .. t .. ', not a zset')
  end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nowArg = string.format('%.0f', now)

local result = 0
if create then
  for i = first, #KEYS do
    if redis.call('ZCOUNT', KEYS[i], '(' .. nowArg, '+inf') > 0 then
      result = i - first + 1
      break
    end
  end
end
if result == 0 then
  local relative = ARGV[2] == 'ttl'
  local a = 4
  for i = first, #KEYS do
    local key = KEYS[i]
    local c = tonumber(ARGV[a])
    a = a + 1
    local args = {}
    for _ = 1, c do
      local expiry = tonumber(ARGV[a])
      if relative then
        expiry = now + expiry
      end
      if expiry > now then
        args[#args + 1] = string.format('%.0f', expiry)
        args[#args + 1] = ARGV[a + 1]
      end
      a = a + 2
    end
    redis.call('DEL', key)
    for j = 1, #args, 1000 do
      redis.call('ZADD', key, unpack(args, j, math.min(j + 999, #args)))
    end
    local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
    if last[2] then -- a value given twice has its last expiry, maybe not its longest
      redis.call('PEXPIREAT', key, string.format('%.0f', math.ceil(tonumber(last[2]))))
    end
  end
end
if create then
  redis.call('SET', KEYS[1], result, 'PX', ARGV[3])
end
return result
