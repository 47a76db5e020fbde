-- common_expire.lua: set a collection key's time to live, unless it holds
-- another type.
--
-- KEYS[1]: the key
-- KEYS[2]: (optional) its syncable version key "<key>:syncver", which gets
--          the same time to live when it exists
-- ARGV[1]: the Redis type it must hold ("hash", "set", "list", "zset")
-- ARGV[2]: the time to live in milliseconds
--
-- Returns 1 when the key exists (its TTL is set), 0 when it does not. Raises
-- WRONGTYPE, changing nothing, when the key holds another type.
local t = redis.call('TYPE', KEYS[1])['ok']
if t == 'none' then
  return 0
end
if t ~= ARGV[1] then
  return redis.error_reply('WRONGTYPE ' .. KEYS[1] .. ' holds a ' .. t .. ', not a ' .. ARGV[1])
end
if KEYS[2] then
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
