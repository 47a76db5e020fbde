-- Reports how long one master will keep holding a lock for the token.
--
-- KEYS[1] the lock key
-- ARGV[1] the holder's token
--
-- Returns the key's remaining time to live in milliseconds if it holds the
-- token, or 0 if it holds another token or nothing.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl > 0 then
    return ttl
  end
end
return 0
