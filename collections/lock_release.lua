-- Releases a lock on one master if, and only if, it is held by the token.
--
-- KEYS[1] the lock key
-- ARGV[1] the holder's token
--
-- Returns 1 if the key was deleted, 0 if it holds another token or nothing.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
