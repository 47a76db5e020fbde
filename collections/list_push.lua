-- list_push.lua: push values at one end of a list (List, Deque, Queue) and
-- trim it to a maximum length from the other end, in one step, so that no
-- reader ever sees it longer; once per request.
--
-- KEYS[1]:    the list
-- KEYS[2]:    this request's dedupe record (a string in the list's slot)
-- ARGV[1]:    "left" or "right": the end to push at
-- ARGV[2]:    the maximum length; 0 for none
-- ARGV[3]:    the dedupe window in milliseconds (the record's time to live)
-- ARGV[4..n]: the values, pushed one after the other
--
-- Returns the new length. A request that already ran (its record exists:
-- go-redis sent it again after losing the reply) returns the length it
-- returned then and pushes nothing. Raises WRONGTYPE when the key holds
-- another type.
local prev = redis.call('GET', KEYS[2])
if prev then
  return tonumber(prev)
end
local key, maxlen = KEYS[1], tonumber(ARGV[2])
local cmd = 'RPUSH'
if ARGV[1] == 'left' then
  cmd = 'LPUSH'
end
local n = 0
for i = 4, #ARGV, 1000 do
  n = redis.call(cmd, key, unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
if maxlen > 0 and n > maxlen then
  if cmd == 'LPUSH' then
    redis.call('LTRIM', key, 0, maxlen - 1)
  else
    redis.call('LTRIM', key, -maxlen, -1)
  end
  n = maxlen
end
redis.call('SET', KEYS[2], n, 'PX', ARGV[3])
return n
