-- lru_len.lua: count what an LRUDict holds in Redis.
--
-- KEYS[1]: the hash
-- ARGV:    the fields the LRUDict holds in memory
--
-- Returns {length, present}: the hash's length and how many of the fields
-- it holds, so that length - present + #ARGV counts the keys held in
-- either place once. Raises WRONGTYPE when KEYS[1] holds another type.
local n = redis.call('HLEN', KEYS[1])
local present = 0
for i = 1, #ARGV do
  present = present + redis.call('HEXISTS', KEYS[1], ARGV[i])
end
return {n, present}
