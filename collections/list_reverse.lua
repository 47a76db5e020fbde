-- list_reverse.lua: reverse a List or Deque in place, like Python's
-- list.reverse and deque.reverse.
--
-- KEYS[1]: the list
--
-- Returns the length. Raises WRONGTYPE when the key holds another type.
-- The elements are read, the key deleted and the elements pushed back at
-- the left end in their order (which reverses them); the list keeps its
-- TTL.
local key = KEYS[1]
local all = redis.call('LRANGE', key, 0, -1)
if #all < 2 then
  return #all
end
local ttl = redis.call('PTTL', key)
redis.call('DEL', key)
for j = 1, #all, 1000 do
  redis.call('LPUSH', key, unpack(all, j, math.min(j + 999, #all)))
end
if ttl > 0 then
  redis.call('PEXPIRE', key, ttl)
end
return #all
