-- queue_settle.lua: settle a ReliableQueue delivery that is still in
-- flight, or extend its deadline; once per delivery and action.
--
-- KEYS[1]: the queue's list
-- KEYS[2]: the in-flight sorted set: delivery id -> deadline (unix ms)
-- KEYS[3]: the deliveries hash: delivery id -> item
-- KEYS[4]: the dead-letter list
-- KEYS[5]: the dedupe record of this delivery's settlement (a string in
--          the queue's slot)
-- ARGV[1]: the delivery id
-- ARGV[2]: "ack" (drop the item), "nack" (return it to the front of the
--          queue), "bury" (move it to the dead-letter list) or "extend"
--          (move its deadline)
-- ARGV[3]: the dedupe window in milliseconds (the record's time to live)
-- ARGV[4]: for "extend", the new visibility timeout in milliseconds
--
-- Returns 1 when the delivery was in flight and is settled (or extended),
-- 0 when it is not in flight any more (its timeout ended and a claim
-- returned it to the queue, or it was settled already). A settlement run
-- again (its record holds the same action: go-redis sent it again after
-- losing the reply) returns 1 and changes nothing; another action on a
-- settled delivery returns 0. Time is the server's (TIME).
--
-- A key of another type raises WRONGTYPE, changing nothing: every key this
-- run writes is read first (LLEN for the lists).
if ARGV[2] == 'extend' then
  -- Setting a deadline twice is harmless: no record.
  if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then
    return 0
  end
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  redis.call('ZADD', KEYS[2], 'XX', now + tonumber(ARGV[4]), ARGV[1])
  return 1
end
local done = redis.call('GET', KEYS[5])
if done then
  if done == ARGV[2] then
    return 1
  end
  return 0
end
local item = redis.call('HGET', KEYS[3], ARGV[1])
if ARGV[2] == 'nack' then
  redis.call('LLEN', KEYS[1])
elseif ARGV[2] == 'bury' then
  redis.call('LLEN', KEYS[4])
end
if redis.call('ZREM', KEYS[2], ARGV[1]) == 0 then
  return 0
end
redis.call('HDEL', KEYS[3], ARGV[1])
if item and ARGV[2] == 'nack' then
  redis.call('RPUSH', KEYS[1], item)
elseif item and ARGV[2] == 'bury' then
  redis.call('LPUSH', KEYS[4], item)
end
redis.call('SET', KEYS[5], ARGV[2], 'PX', ARGV[3])
return 1
