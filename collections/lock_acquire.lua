-- Takes a Redlock lock on one master and counts the acquisition for fencing.
--
-- KEYS[1] the lock key, holding the holder's token while the lock is held
-- KEYS[2] the lock's fencing counter (an integer string, never expires)
-- ARGV[1] the new holder's random token
-- ARGV[2] the lock's time to live in milliseconds
--
-- Returns the fencing counter after its increment if the lock was taken, or 0
-- if another token holds it. If ARGV[1] already holds it (the client sent
-- this call again after losing the reply), returns the counter as it is.
-- Raises WRONGTYPE, having changed nothing, if a key holds something else.
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  local ok, fence = pcall(redis.call, 'INCR', KEYS[2])
  if not ok then
    redis.call('DEL', KEYS[1])
    return redis.error_reply('WRONGTYPE fencing counter is not an integer')
  end
  return fence
end
-- Raises WRONGTYPE if the lock key is not a string.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return tonumber(redis.call('GET', KEYS[2])) or 0
end
return 0
