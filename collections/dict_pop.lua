-- dict_pop.lua: remove one field of a Dict's hash and return its value.
--
-- KEYS[1]: the hash
-- ARGV[1]: the field
--
-- Returns the value, or nil (nothing removed) when the field is absent.
-- Raises WRONGTYPE when the key holds another type.
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v then
  redis.call('HDEL', KEYS[1], ARGV[1])
end
return v
