-- common_clear.lua: delete a collection's keys, unless one holds another type.
--
-- KEYS[1..n]: the keys to delete
-- ARGV[1..n]: the Redis type each key must hold ("hash", "set", "list",
--             "zset"); a missing key is fine
--
-- Returns the number of keys deleted. Raises WRONGTYPE, deleting nothing,
-- when any key holds another type.
for i, key in ipairs(KEYS) do
  local t = redis.call('TYPE', key)['ok']
  if t ~= 'none' and t ~= ARGV[i] then
    return redis.error_reply('WRONGTYPE ' .. key .. ' holds a ' .. t .. ', not a ' .. ARGV[i])
  end
end
return redis.call('UNLINK', unpack(KEYS))
