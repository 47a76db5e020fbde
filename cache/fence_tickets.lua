-- Takes a ticket on the fence of each of a batch of entries, so that the
-- values a load is about to produce can later be written with fence_fill.lua.
-- KEYS: the fences (one hash slot on Cluster).
-- ARGV[1]: the ticket token. ARGV[2]: the tickets' time to live in ms.
-- A fence's life is only ever extended. Returns the number of tickets.
for _, key in ipairs(KEYS) do
  redis.call('HSET', key, ARGV[1], '1')
  if redis.call('PTTL', key) < tonumber(ARGV[2]) then
    redis.call('PEXPIRE', key, ARGV[2])
  end
end
return #KEYS
