-- deque_push.lua: push values at one end of a Deque and trim it to its
-- maximum length from the other end, in one step, so that no reader ever
-- sees it longer.
--
-- KEYS[1]:    the list
-- ARGV[1]:    "left" or "right": the end to push at
-- ARGV[2]:    the maximum length; 0 for none
-- ARGV[3..n]: the values, pushed one after the other
--
-- Returns the new length. Raises WRONGTYPE when the key holds another type.
local key, maxlen = KEYS[1], tonumber(ARGV[2])
local cmd = 'RPUSH'
if ARGV[1] == 'left' then
  cmd = 'LPUSH'
end
local n = 0
for i = 3, #ARGV, 1000 do
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
return n
