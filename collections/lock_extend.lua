-- Extends a lock on one master if, and only if, it is held by the token.
--
-- KEYS[1] the lock key
-- ARGV[1] the holder's token
-- ARGV[2] the new time to live in milliseconds
--
-- Returns 1 if the time to live was set, 0 if the key holds another token or
-- nothing.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
