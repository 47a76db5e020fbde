-- Releases a load lease if the caller still holds it.
-- KEYS[1]: the lease key.
-- ARGV[1]: the holder's token.
-- Returns 1 when released, 0 when the lease had expired or another holds it.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
