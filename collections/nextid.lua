-- Proposes the next id of a NextID to one master.
--
-- KEYS[1] the counter: the highest id this master has accepted
-- ARGV[1] the proposed id
--
-- Returns {1, ARGV[1]} if the proposal was above the counter and is now the
-- counter, or {0, counter} if the counter is already at or above it (nothing
-- is written then).
local cur = redis.call('GET', KEYS[1])
local n = 0
if cur then
  n = tonumber(cur)
  if not n then
    return redis.error_reply('WRONGTYPE id counter is not an integer')
  end
end
local proposed = tonumber(ARGV[1])
if n < proposed then
  redis.call('SET', KEYS[1], ARGV[1])
  return {1, proposed}
end
return {0, n}
