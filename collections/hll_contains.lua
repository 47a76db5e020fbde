-- Tests elements against a HyperLogLog without changing it, by adding each
-- to a copy and checking whether the copy changed.
--
-- KEYS[1] the HyperLogLog
-- KEYS[2] a scratch key in the same slot, deleted before the script returns
-- ARGV    the encoded elements
--
-- Returns one integer per element: 1 if adding it would change nothing (it
-- was probably added), 0 if it would (it certainly was not). Raises
-- WRONGTYPE if KEYS[1] is not a HyperLogLog.
local result = {}
if redis.call('EXISTS', KEYS[1]) == 0 then
  for i = 1, #ARGV do
    result[i] = 0
  end
  return result
end
redis.call('DEL', KEYS[2])
redis.call('PFMERGE', KEYS[2], KEYS[1]) -- validates KEYS[1] before writing
for i = 1, #ARGV do
  if redis.call('PFADD', KEYS[2], ARGV[i]) == 1 then
    result[i] = 0
    -- The copy changed: start the next element from a fresh copy.
    redis.call('DEL', KEYS[2])
    redis.call('PFMERGE', KEYS[2], KEYS[1])
  else
    result[i] = 1
  end
end
redis.call('DEL', KEYS[2])
return result
