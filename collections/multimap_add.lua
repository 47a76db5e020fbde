-- multimap_add.lua: add values with expiries to the sorted sets of a
-- MultiMapTTL, drop the values that have expired, and make each key expire
-- with its longest-lived value.
--
-- KEYS[1..n]: the sorted sets (one per map key), scored by expiry in unix
--             milliseconds
-- ARGV[1]:    "ttl" when the expiries below are durations in milliseconds
--             from now, "at" when they are unix milliseconds
-- ARGV[2..]:  for each key, in order: the number c of its values, then c
--             pairs (expiry, value): the expiry first, then the value
--
-- Time is the server's (TIME). A value whose expiry is not after now is
-- not added; a value already present gets the new expiry. Returns the
-- number of values added or updated. Raises WRONGTYPE, changing nothing,
-- when a key holds another type.
for _, key in ipairs(KEYS) do
  local t = redis.call('TYPE', key)['ok']
  if t ~= 'none' and t ~= 'zset' then
    return redis.error_reply('WRONGTYPE ' .. key .. ' holds a ' .. t .. ', not a zset')
  end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nowArg = string.format('%.0f', now)
local relative = ARGV[1] == 'ttl'
local written = 0
local a = 2
for _, key in ipairs(KEYS) do
  local c = tonumber(ARGV[a])
  a = a + 1
  redis.call('ZREMRANGEBYSCORE', key, '-inf', nowArg)
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
  for i = 1, #args, 1000 do
    redis.call('ZADD', key, unpack(args, i, math.min(i + 999, #args)))
  end
  written = written + #args / 2
  local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if last[2] then
    redis.call('PEXPIREAT', key, string.format('%.0f', math.ceil(tonumber(last[2]))))
  end
end
return written
