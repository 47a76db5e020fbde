-- Raises a lock's fencing counter on one master to the token just handed to
-- the holder, while that master still holds the holder's lock key.
--
-- KEYS[1] the lock key
-- KEYS[2] the lock's fencing counter
-- ARGV[1] the holder's token
-- ARGV[2] the fencing token given to the holder
--
-- Returns 1 if the counter is now at least ARGV[2], 0 if the master no longer
-- holds ARGV[1] (nothing is written then).
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
local cur = tonumber(redis.call('GET', KEYS[2]) or '0')
if not cur then
  return redis.error_reply('WRONGTYPE fencing counter is not an integer')
end
if cur < tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], ARGV[2])
end
return 1
