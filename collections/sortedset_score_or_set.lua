-- sortedset_score_or_set.lua: the score of a member, adding it with a
-- given score when it is absent (get-or-set), once per request.
--
-- KEYS[1]: the sorted set
-- KEYS[2]: this request's dedupe record (a string in the set's slot)
-- ARGV[1]: the member
-- ARGV[2]: the score to add it with when absent
-- ARGV[3]: the dedupe window in milliseconds (the record's time to live)
--
-- Returns {score, added}: the member's score (as ZSCORE formats it) and 1
-- when this request added the member, 0 when it was there already. A
-- request that already added it (its record exists, holding the score:
-- go-redis sent it again after losing the reply) returns {that score, 1}
-- and changes nothing. Raises WRONGTYPE when the key holds another type.
local done = redis.call('GET', KEYS[2])
if done then
  return {done, 1}
end
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if s then
  return {s, 0}
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
s = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], s, 'PX', ARGV[3])
return {s, 1}
