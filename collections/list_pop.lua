-- list_pop.lua: remove the element at an index of a List and return it.
--
-- KEYS[1]: the list
-- ARGV[1]: the index; negative counts from the end
-- ARGV[2]: a sentinel no element can equal (a fresh random token)
--
-- Returns the element, or nil (nothing removed) when the index is out of
-- range. Raises WRONGTYPE when the key holds another type. An inner element
-- is overwritten with the sentinel and the sentinel removed, searching from
-- the nearer end, so no real element is ever mistaken for it.
local key = KEYS[1]
local n = redis.call('LLEN', key)
local i = tonumber(ARGV[1])
if i < 0 then
  i = i + n
end
if i < 0 or i >= n then
  return false
end
if i == 0 then
  return redis.call('LPOP', key)
end
if i == n - 1 then
  return redis.call('RPOP', key)
end
local v = redis.call('LINDEX', key, i)
redis.call('LSET', key, i, ARGV[2])
if i <= n - 1 - i then
  redis.call('LREM', key, 1, ARGV[2])
else
  redis.call('LREM', key, -1, ARGV[2])
end
return v
