-- dict_restore.lua: the second half of a Dict's copy to another slot:
-- RESTORE a payload of dict_dump.lua at a new key unless it exists, once
-- per request.
--
-- KEYS[1]: the destination key
-- KEYS[2]: this request's dedupe record (a string in the destination's slot)
-- ARGV[1]: DUMP's payload, or "" for an absent (empty) source
-- ARGV[2]: the time to live in milliseconds (0: none)
-- ARGV[3]: the dedupe window in milliseconds (the record's time to live)
--
-- Returns 1 when the copy is made (for an empty source, nothing is written
-- but the record), 0 when the destination exists, of any type (nothing is
-- written). A request that already ran (its record exists) returns 1 and
-- changes nothing.
if redis.call('EXISTS', KEYS[2]) == 1 then
  return 1
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
if ARGV[1] ~= '' then
  redis.call('RESTORE', KEYS[1], ARGV[2], ARGV[1])
end
redis.call('SET', KEYS[2], 1, 'PX', ARGV[3])
return 1
