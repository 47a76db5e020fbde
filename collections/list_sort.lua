-- list_sort.lua: replace a List's elements with a sorted copy, unless the
-- list changed since the copy was read (compare and swap).
--
-- KEYS[1]:    the list
-- ARGV[1]:    the SHA-1 (hex) of the list as read: the concatenation, for
--             each element, of its length in decimal, ':' and its bytes
-- ARGV[2..n]: the new elements, in order
--
-- Returns 1 when the list was replaced (keeping its TTL), 0 when it changed
-- meanwhile (nothing written). Raises WRONGTYPE when the key holds another
-- type.
local key = KEYS[1]
local cur = redis.call('LRANGE', key, 0, -1)
local parts = {}
for i, e in ipairs(cur) do
  parts[i] = #e .. ':' .. e
end
if redis.sha1hex(table.concat(parts)) ~= ARGV[1] then
  return 0
end
local ttl = redis.call('PTTL', key)
redis.call('DEL', key)
for i = 2, #ARGV, 1000 do
  redis.call('RPUSH', key, unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
if ttl > 0 then
  redis.call('PEXPIRE', key, ttl)
end
return 1
