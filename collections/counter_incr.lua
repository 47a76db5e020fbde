-- counter_incr.lua: HINCRBY that a resend does not apply twice.
--
-- KEYS[1]: the counter's hash
-- KEYS[2]: this request's dedupe record (a string in the hash's slot)
-- ARGV[1]: the field
-- ARGV[2]: the integer to add
-- ARGV[3]: the dedupe window in milliseconds (the record's time to live)
--
-- Returns the field's new count. A request that already ran (its record
-- exists: go-redis sent it again after losing the reply) returns the count
-- it returned then and changes nothing. Raises HINCRBY's errors (WRONGTYPE,
-- a count that is not an integer, an overflow), changing nothing.
local done = redis.call('GET', KEYS[2])
if done then
  return tonumber(done)
end
local n = redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
redis.call('SET', KEYS[2], n, 'PX', ARGV[3])
return n
