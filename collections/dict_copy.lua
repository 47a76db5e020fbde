-- dict_copy.lua: copy a Dict's hash to a new key on the same server (or
-- slot) with COPY, unless the new key exists, once per request.
--
-- KEYS[1]: the source hash
-- KEYS[2]: the destination key
-- KEYS[3]: this request's dedupe record (a string in the destination's slot)
-- ARGV[1]: the dedupe window in milliseconds (the record's time to live)
--
-- Returns 1 when the copy is made (an absent source is an empty dict: then
-- nothing is written but the record), 0 when the destination exists, of
-- any type (nothing is written). A request that already ran (its record
-- exists: go-redis sent it again after losing the reply) returns 1 and
-- changes nothing. Raises WRONGTYPE, writing nothing, when the source holds
-- another type. COPY keeps the source's time to live.
if redis.call('EXISTS', KEYS[3]) == 1 then
  return 1
end
local t = redis.call('TYPE', KEYS[1]).ok
if t ~= 'hash' and t ~= 'none' then
  return redis.error_reply('WRONGTYPE copy source ' .. KEYS[1] .. ' holds a ' .. t)
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  return 0
end
if t == 'hash' then
  redis.call('COPY', KEYS[1], KEYS[2])
end
redis.call('SET', KEYS[3], 1, 'PX', ARGV[1])
return 1
