-- dict_pop.lua: remove one field of a Dict's hash and return its value,
-- once per request.
--
-- KEYS[1]: the hash
-- KEYS[2]: this request's dedupe record (a string in the hash's slot)
-- ARGV[1]: the field
-- ARGV[2]: the dedupe window in milliseconds (the record's time to live)
-- ARGV[3]: (optional) "check": remove nothing, only return the value this
--          request removed, if any
--
-- Returns the value, or nil (nothing removed) when the field is absent. A
-- request that already removed it (its record exists, holding a copy of
-- the value: go-redis sent it again after losing the reply) returns that
-- value again and changes nothing. Raises WRONGTYPE when the key holds
-- another type.
local prev = redis.call('GET', KEYS[2])
if prev or ARGV[3] == 'check' then
  return prev
end
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('SET', KEYS[2], v, 'PX', ARGV[2])
end
return v
