-- Gives back a lease or ticket on an entry's fence if the caller still holds it.
-- KEYS[1]: the fence.
-- ARGV[1]: the field ('L' for the lease, else a ticket token).
-- ARGV[2]: the value it holds for the caller.
-- Returns 1 when given back, 0 when it had expired or another holds it.
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
